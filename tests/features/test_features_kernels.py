"""Each numba kernel against a plain NumPy / SciPy / scikit-image computation."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage
from skimage.feature import graycomatrix, graycoprops
from skimage.filters import sobel, threshold_otsu
from skimage.measure import label, perimeter, regionprops
from skimage.morphology import convex_hull_image

from _references.features import drawn_cell, frequency_features, quantize, varied_images
from qbloodcell.features import _kernels
from qbloodcell.features._fft import frequency_features as fast_frequency_features
from qbloodcell.features._transformer import GLCM_ANGLES, glcm_offsets


@pytest.fixture(scope="module")
def images() -> np.ndarray:
    return varied_images(seed=11, n_drawn=25, size=32)


def random_masks(seed: int, n: int = 30, size: int = 24) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    masks = [rng.random((size, size)) < p for p in rng.uniform(0.1, 0.7, n)]
    masks += [drawn_cell(rng, size) < 0.5 for _ in range(n)]
    masks.append(np.ones((size, size), dtype=bool))
    single = np.zeros((size, size), dtype=bool)
    single[3, 5] = True
    masks.append(single)
    line = np.zeros((size, size), dtype=bool)
    line[4, 2:20] = True
    masks.append(line)
    return [mask for mask in masks if mask.any()]


def test_intensity_statistics(images):
    out = np.empty(5)
    for image in images:
        _kernels.intensity_statistics(image, np.empty(image.size), out)
        expected = [image.mean(), image.std(), image.min(), image.max(), np.median(image)]
        np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("n", [1, 2, 3, 7, 64, 101, 4096])
def test_median_with_ties(n):
    rng = np.random.default_rng(n)
    for values in (rng.random(n), rng.integers(0, 4, n).astype(float), np.sort(rng.random(n))):
        assert _kernels._median_inplace(values.copy()) == np.median(values)


@pytest.mark.parametrize("n", [2, 3, 7, 64, 101, 4096])
def test_median_by_buckets(n):
    rng = np.random.default_rng(n)
    samples = (
        rng.random(n),
        rng.integers(0, 4, n).astype(float),
        np.sort(rng.random(n)),
        # nearly all values in one bucket, a few far away
        np.concatenate([0.5 + 1e-9 * rng.random(n - 1), [1.0]]),
        # the two middle values in different buckets
        np.concatenate([np.zeros(n // 2), np.ones(n - n // 2)]),
        rng.normal(size=n) ** 3,
    )
    for values in samples:
        if values.min() == values.max():
            continue
        got = _kernels._median(values, values.min(), values.max(), np.empty(n))
        assert got == np.median(values)


@pytest.mark.parametrize("spread", [3e-306, 1e-310, 5e-324])
def test_median_of_a_tiny_range(spread):
    # 1024 / spread overflows: the median is selected among all the values
    values = np.zeros(256)
    values[40:120] = spread
    values[7] = spread
    got = _kernels._median(values, 0.0, spread, np.empty(values.size))
    assert got == np.median(values)


def test_quantize(images):
    for levels in (2, 16, 256):
        out = np.empty(images[0].shape, dtype=np.int64)
        for image in images:
            _kernels.quantize(image, levels, out)
            np.testing.assert_array_equal(out, quantize(image, levels))


@pytest.mark.parametrize("distance", [1, 2, 5])
@pytest.mark.parametrize("levels", [8, 256])
def test_glcm_properties_per_offset(images, distance, levels):
    names = ("contrast", "dissimilarity", "homogeneity", "ASM", "correlation")
    offsets = glcm_offsets(distance)
    pair_counts = _kernels.pair_count_buffer(levels)
    terms = _kernels.homogeneity_table(levels)
    out = np.empty(5)
    for image in images[::3]:
        q = quantize(image, levels)
        glcm = graycomatrix(q, [distance], list(GLCM_ANGLES), levels, symmetric=True, normed=True)
        for angle_index, (row_offset, col_offset) in enumerate(offsets):
            # the buffer is reused across calls, as in the batch kernel
            _kernels.glcm_offset_properties(
                q.astype(np.int64), row_offset, col_offset, levels, pair_counts, terms, out
            )
            expected = [graycoprops(glcm, name)[0, angle_index] for name in names]
            np.testing.assert_allclose(out, expected, rtol=1e-10, atol=1e-12)


def test_glcm_pair_counts_survive_generation_wraparound(images):
    q = quantize(images[0], 256).astype(np.int64)
    terms = _kernels.homogeneity_table(256)
    expected = np.empty(5)
    _kernels.glcm_offset_properties(q, 1, 1, 256, _kernels.pair_count_buffer(256), terms, expected)
    pair_counts = _kernels.pair_count_buffer(256)
    pair_counts[-1] = _kernels._MAX_GENERATION - 2
    out = np.empty(5)
    for _ in range(4):  # the last calls restart the generations from a cleared buffer
        _kernels.glcm_offset_properties(q, 1, 1, 256, pair_counts, terms, out)
        np.testing.assert_array_equal(out, expected)
    assert pair_counts[-1] < 4


def test_glcm_offsets_follow_scikit_image():
    # the directed (not symmetric) co-occurrence counts reveal graycomatrix's offsets
    rng = np.random.default_rng(7)
    image = rng.integers(0, 4, (9, 9)).astype(np.uint8)
    for distance in (1, 2, 3):
        glcm = graycomatrix(image, [distance], list(GLCM_ANGLES), levels=4)
        for angle_index, (dr, dc) in enumerate(glcm_offsets(distance)):
            first = image[max(0, -dr) : 9 - max(0, dr), max(0, -dc) : 9 - max(0, dc)]
            second = image[max(0, dr) : 9 - max(0, -dr), max(0, dc) : 9 - max(0, -dc)]
            counts = np.zeros((4, 4), dtype=np.int64)
            np.add.at(counts, (first.ravel(), second.ravel()), 1)
            np.testing.assert_array_equal(glcm[:, :, 0, angle_index], counts)


def test_otsu_threshold_is_bit_identical(images):
    histogram = np.empty(256, dtype=np.int64)
    for image in images:
        if image.min() == image.max():
            continue
        threshold = _kernels.otsu_threshold(image, image.min(), image.max(), histogram)
        assert threshold == threshold_otsu(image)
        counts, _ = np.histogram(image, bins=256)
        np.testing.assert_array_equal(histogram, counts)


def test_largest_component():
    for mask in random_masks(seed=1):
        out = np.empty(mask.shape, dtype=np.uint8)
        n = mask.size
        area = _kernels.largest_component(mask, np.empty(n, np.int64), np.empty(n, np.int64), out)
        labels = label(mask, connectivity=2)
        areas = np.bincount(labels.ravel())[1:]
        best = 1 + int(np.argmax(areas))  # labels are numbered in raster order
        assert area == areas.max()
        np.testing.assert_array_equal(out, labels == best)


def test_fill_holes():
    for mask in random_masks(seed=2):
        region = mask.astype(np.uint8)
        area = _kernels.fill_holes(region, np.empty(mask.size, np.int64))
        expected = ndimage.binary_fill_holes(mask)
        np.testing.assert_array_equal(region, expected)
        assert area == expected.sum()


def test_perimeter():
    for mask in random_masks(seed=3):
        border = np.empty((mask.shape[0] + 2, mask.shape[1] + 2), dtype=np.uint8)
        actual = _kernels.perimeter(mask.astype(np.uint8), _kernels.PERIMETER_WEIGHTS, border)
        assert actual == pytest.approx(perimeter(mask, 4), rel=1e-12)


def test_eccentricity():
    for mask in random_masks(seed=4):
        # regionprops measures one labelled region; take the largest component
        labels = label(mask, connectivity=2)
        region = labels == 1 + np.argmax(np.bincount(labels.ravel())[1:])
        (props,) = regionprops(region.astype(np.uint8))
        actual = _kernels.eccentricity(region.astype(np.uint8))
        assert actual == pytest.approx(props.eccentricity, rel=1e-9, abs=1e-9)


def test_convex_area():
    for mask in random_masks(seed=5):
        size = mask.shape[0]
        points = np.empty((4 * size + 4, 2), dtype=np.int64)
        hull = np.empty((4 * size + 4, 2), dtype=np.int64)
        actual = _kernels.convex_area(mask.astype(np.uint8), points, hull)
        assert actual == convex_hull_image(mask).sum()


def test_sobel_magnitude_is_bit_identical(images):
    out = np.empty(images[0].shape)
    for image in images:
        _kernels.sobel_magnitude(image, out)
        np.testing.assert_array_equal(out, sobel(image))


def test_edge_statistics(images):
    out = np.empty(3)
    for image in images:
        magnitude = sobel(image)
        for threshold in (0.0, 0.05, 0.1):
            _kernels.edge_statistics(magnitude, threshold, out)
            expected = [np.mean(magnitude > threshold), magnitude.mean(), magnitude.std()]
            np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("shape", [(32, 32), (31, 31), (20, 33)])
def test_frequency_features(shape):
    rng = np.random.default_rng(6)
    images = np.stack([drawn_cell(rng, max(shape))[: shape[0], : shape[1]] for _ in range(6)])
    images[0] = 0.5  # constant: defined as zeros
    constant = images.min(axis=(1, 2)) == images.max(axis=(1, 2))
    actual = fast_frequency_features(images, constant, low_cutoff=0.125, high_cutoff=0.5, workers=1)
    expected = np.stack([frequency_features(image) for image in images])
    np.testing.assert_allclose(actual, expected, rtol=1e-11, atol=1e-13)
