"""Plain reference for the 20 blood-cell features, one image at a time, and test images.

Built only on scikit-image, SciPy and NumPy, in the most direct way, so that it is easy to
check by reading against the definitions in the docstring of
:class:`qbloodcell.BloodCellFeatures`. The fused numba kernels are tested against it.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from skimage.feature import graycomatrix, graycoprops
from skimage.filters import sobel, threshold_otsu
from skimage.measure import label, regionprops

ANGLES = (0.0, np.pi / 4, np.pi / 2, 3 * np.pi / 4)


def reference_features(
    image: np.ndarray,
    *,
    glcm_levels: int = 256,
    glcm_distance: int = 1,
    edge_threshold: float = 0.1,
    low_frequency_cutoff: float = 0.125,
    high_frequency_cutoff: float = 0.5,
) -> np.ndarray:
    """The 20 features of one grayscale float image in [0, 1], in Table I order."""
    image = np.asarray(image, dtype=np.float64)
    return np.concatenate(
        [
            intensity_features(image),
            glcm_features(image, levels=glcm_levels, distance=glcm_distance),
            morphology_features(image),
            edge_features(image, threshold=edge_threshold),
            frequency_features(image, low=low_frequency_cutoff, high=high_frequency_cutoff),
        ]
    )


def reference_batch(images: np.ndarray, **params: float) -> np.ndarray:
    return np.stack([reference_features(image, **params) for image in images])  # type: ignore[arg-type]


def intensity_features(image: np.ndarray) -> np.ndarray:
    return np.array([image.mean(), image.std(), image.min(), image.max(), np.median(image)])


def quantize(image: np.ndarray, levels: int) -> np.ndarray:
    return np.floor(image * (levels - 1) + 0.5).astype(np.uint8)


def glcm_features(image: np.ndarray, *, levels: int = 256, distance: int = 1) -> np.ndarray:
    glcm = graycomatrix(
        quantize(image, levels),
        distances=[distance],
        angles=list(ANGLES),
        levels=levels,
        symmetric=True,
        normed=True,
    )
    names = ("contrast", "dissimilarity", "homogeneity", "energy", "correlation")
    return np.array([graycoprops(glcm, name).mean() for name in names])


def segment(image: np.ndarray) -> np.ndarray:
    """Otsu, darker side, largest 8-connected component (first in raster order on ties), holes filled."""
    if image.min() == image.max():
        return np.zeros(image.shape, dtype=bool)
    mask = image <= threshold_otsu(image)
    labels = label(mask, connectivity=2)
    best, best_key = 0, None
    for region in regionprops(labels):
        first_pixel = np.flatnonzero(labels.ravel() == region.label)[0]
        key = (-region.area, first_pixel)
        if best_key is None or key < best_key:
            best, best_key = region.label, key
    return ndimage.binary_fill_holes(labels == best)


def morphology_features(image: np.ndarray) -> np.ndarray:
    cell = segment(image)
    if not cell.any():
        return np.zeros(4)
    (region,) = regionprops(cell.astype(np.uint8))
    return np.array([region.area, region.perimeter, region.eccentricity, region.solidity])


def edge_features(image: np.ndarray, *, threshold: float = 0.1) -> np.ndarray:
    magnitude = sobel(image)
    return np.array([np.mean(magnitude > threshold), magnitude.mean(), magnitude.std()])


def frequency_radius(height: int, width: int) -> np.ndarray:
    """Frequency radius of each fft2 coefficient, 1 at the Nyquist frequency of an axis."""
    fy = np.fft.fftfreq(height)[:, np.newaxis]
    fx = np.fft.fftfreq(width)[np.newaxis, :]
    return np.sqrt(fy**2 + fx**2) / 0.5


def frequency_features(image: np.ndarray, *, low: float = 0.125, high: float = 0.5) -> np.ndarray:
    if image.min() == image.max():
        return np.zeros(3)
    power = np.abs(np.fft.fft2(image - image.mean())) ** 2
    radius = frequency_radius(*image.shape)
    not_dc = radius > 0
    total = power[not_dc].sum()
    return np.array(
        [
            power[not_dc & (radius <= low)].sum() / total,
            power[radius > high].sum() / total,
            (power * radius)[not_dc].sum() / total,
        ]
    )


def drawn_cell(rng: np.random.Generator, size: int = 64) -> np.ndarray:
    """Dark textured ellipses (some with a pale hole) on a pale background, in [0, 1]."""
    rows, cols = np.mgrid[:size, :size]
    image = np.full((size, size), rng.uniform(0.6, 1.0))
    for _ in range(rng.integers(1, 5)):
        center_r, center_c = rng.uniform(0, size, 2)
        axis_a, axis_b = rng.uniform(1.5, size / 3, 2)
        angle = rng.uniform(0, np.pi)
        u = ((rows - center_r) * np.cos(angle) + (cols - center_c) * np.sin(angle)) / axis_a
        v = (-(rows - center_r) * np.sin(angle) + (cols - center_c) * np.cos(angle)) / axis_b
        inside = u**2 + v**2 < 1
        image[inside] = rng.uniform(0.0, 0.6) + 0.1 * np.sin(rows[inside] / rng.uniform(1, 4))
        if rng.random() < 0.5:
            image[u**2 + v**2 < 0.2] = rng.uniform(0.6, 1.0)
    image = image + rng.normal(0.0, rng.choice([0.0, 0.02, 0.1]), image.shape)
    image = np.clip(image, 0.0, 1.0)
    if rng.random() < 0.3:
        image = np.round(image * 255) / 255  # many exact ties, as 8-bit data has
    return image


def varied_images(seed: int = 0, n_drawn: int = 40, size: int = 64) -> np.ndarray:
    """Drawn cells, uniform noise, a constant image, a gradient, a checkerboard, one dot."""
    rng = np.random.default_rng(seed)
    images = [drawn_cell(rng, size) for _ in range(n_drawn)]
    images += [rng.random((size, size)) for _ in range(3)]
    images.append(np.full((size, size), 0.37))
    rows, cols = np.mgrid[:size, :size]
    images.append((rows + cols) / (2 * size - 2))
    images.append(((rows + cols) % 2).astype(float))
    dot = np.ones((size, size))
    dot[size // 2, size // 3] = 0.0
    images.append(dot)
    two_equal_squares = np.ones((size, size))
    two_equal_squares[2:6, 2:6] = 0.2
    two_equal_squares[size - 6 : size - 2, size - 6 : size - 2] = 0.2
    images.append(two_equal_squares)
    return np.stack(images)


def study_code_reference(image: np.ndarray, *, levels: int = 256, distance: int = 1) -> np.ndarray:
    """The 20 features of the study's published code for one image, with scikit-image.

    The definitions of ``BloodCellFeatures(feature_set="study-code")``: min-max
    normalisation, then intensity percentiles, GLCM at angle 0, the first labelled region
    brighter than the mean, Sobel and FFT-magnitude statistics.
    """
    image = np.asarray(image, dtype=np.float64)
    span = image.max() - image.min()
    x = (image - image.min()) / span if span > 0 else np.zeros_like(image)
    intensity = [x.mean(), x.std(), np.percentile(x, 25), np.percentile(x, 75), np.median(x)]
    glcm = graycomatrix(
        quantize(x, levels),
        distances=[distance],
        angles=[0.0],
        levels=levels,
        symmetric=True,
        normed=True,
    )
    names = ("contrast", "dissimilarity", "homogeneity", "energy", "correlation")
    texture = [graycoprops(glcm, name)[0, 0] for name in names]
    regions = regionprops(label(x > x.mean()))
    if regions:
        first = regions[0]
        assert first.label == 1
        shape = [first.area / x.size, first.extent, first.eccentricity, first.solidity]
    else:
        shape = [0.0, 0.0, 0.0, 0.0]
    magnitude = sobel(x)
    spectrum = np.abs(np.fft.fft2(x))
    return np.array(
        [
            *intensity,
            *texture,
            *shape,
            magnitude.mean(),
            magnitude.std(),
            magnitude.max(),
            spectrum.mean(),
            spectrum.std(),
            spectrum.max(),
        ]
    )
