"""The 20 features of the study's published code, which are not those of its Table I.

Selected by ``BloodCellFeatures(feature_set="study-code")`` and used by the protocol audit
(:mod:`qbloodcell.benchmark._protocol`). The GLCM, eccentricity, convex-area and Sobel
kernels are the tested ones of :mod:`qbloodcell.features._kernels`; the region labelling
is :func:`scipy.ndimage.label`.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from qbloodcell.features._edges import sobel_magnitude
from qbloodcell.features._glcm import (
    glcm_properties,
    homogeneity_table,
    pair_count_buffer,
    quantize,
)
from qbloodcell.features._layout import (
    STUDY_CODE_FEATURE_GROUPS,
    STUDY_CODE_FEATURE_NAMES,
    group_slice,
)
from qbloodcell.features._morphology import convex_area, eccentricity

INTENSITY = group_slice(STUDY_CODE_FEATURE_GROUPS, "intensity")
GLCM = group_slice(STUDY_CODE_FEATURE_GROUPS, "glcm")
MORPHOLOGY = group_slice(STUDY_CODE_FEATURE_GROUPS, "morphology")
EDGES = group_slice(STUDY_CODE_FEATURE_GROUPS, "edges")
FREQUENCY = group_slice(STUDY_CODE_FEATURE_GROUPS, "frequency")


# 8-connectivity, as skimage.measure.label's default for 2-D images
_EIGHT_CONNECTED = np.ones((3, 3), dtype=bool)


def minmax_normalise(image: np.ndarray) -> np.ndarray:
    """``(x - min(x)) / (max(x) - min(x))``; a constant image becomes all zeros."""
    low = image.min()
    span = image.max() - low
    if span <= 0:
        return np.zeros_like(image)
    return (image - low) / span


def study_code_features(images: np.ndarray, *, glcm_levels: int, glcm_distance: int) -> np.ndarray:
    """The 20 study-code features of a float64 batch ``(n, H, W)`` in [0, 1].

    See the ``feature_set`` parameter of :class:`qbloodcell.BloodCellFeatures` for the
    definitions.
    """
    n_images, height, width = images.shape
    out = np.empty((n_images, len(STUDY_CODE_FEATURE_NAMES)))
    offsets = np.array([[0, glcm_distance]], dtype=np.int64)
    terms = homogeneity_table(glcm_levels)
    pair_counts = pair_count_buffer(glcm_levels)
    quantized = np.empty((height, width), dtype=np.int64)
    magnitude = np.empty((height, width))
    points = np.empty((4 * height + 4, 2), dtype=np.int64)
    hull = np.empty((4 * height + 4, 2), dtype=np.int64)
    for index in range(n_images):
        x = np.ascontiguousarray(minmax_normalise(images[index]))
        row = out[index]
        p25, median, p75 = np.percentile(x, [25.0, 50.0, 75.0])
        row[INTENSITY] = (x.mean(), x.std(), p25, p75, median)
        quantize(x, glcm_levels, quantized)
        glcm_properties(quantized, offsets, glcm_levels, pair_counts, terms, row[GLCM])
        row[MORPHOLOGY] = _bright_region(x, points, hull)
        sobel_magnitude(x, magnitude)
        row[EDGES] = (magnitude.mean(), magnitude.std(), magnitude.max())
        spectrum = np.abs(np.fft.fft2(x))
        row[FREQUENCY] = (spectrum.mean(), spectrum.std(), spectrum.max())
    return out


def _bright_region(x: np.ndarray, points: np.ndarray, hull: np.ndarray) -> tuple[float, ...]:
    """Area fraction, extent, eccentricity and solidity of region 1 of ``x > mean(x)``."""
    labels, n_regions = ndimage.label(x > x.mean(), structure=_EIGHT_CONNECTED)
    if n_regions == 0:
        return (0.0, 0.0, 0.0, 0.0)
    # scipy numbers the regions in raster order of their first pixel, as skimage does
    region = (labels == 1).astype(np.uint8)
    area = int(region.sum())
    rows = np.flatnonzero(region.any(axis=1))
    cols = np.flatnonzero(region.any(axis=0))
    box = (rows[-1] - rows[0] + 1) * (cols[-1] - cols[0] + 1)
    return (
        area / x.size,
        area / box,
        eccentricity(region),
        area / convex_area(region, points, hull),
    )
