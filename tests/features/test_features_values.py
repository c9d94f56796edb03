"""The 20 features of BloodCellFeatures against the plain scikit-image reference."""

from __future__ import annotations

import numpy as np
import pytest
from skimage.filters import threshold_otsu

from _references.features import reference_batch, varied_images
from qbloodcell._images import check_images
from qbloodcell.features import FEATURE_NAMES, BloodCellFeatures

# relative to max(1, |reference|): absolute for features in [0, 1], relative for GLCM
# contrast, area and perimeter, which reach thousands
TOLERANCE = 1e-9


def assert_features_match(actual: np.ndarray, expected: np.ndarray) -> None:
    assert actual.shape == expected.shape
    assert actual.dtype == np.float64
    assert np.isfinite(actual).all()
    error = np.abs(actual - expected) / np.maximum(1.0, np.abs(expected))
    worst = error.max(axis=0)
    mismatched = [
        f"{name}: {value:.3g}"
        for name, value in zip(FEATURE_NAMES, worst, strict=True)
        if value > TOLERANCE
    ]
    assert not mismatched, f"features differ from the reference: {mismatched}"


@pytest.fixture(scope="module")
def images() -> np.ndarray:
    return varied_images(seed=0, n_drawn=60)


@pytest.fixture(scope="module")
def reference(images: np.ndarray) -> np.ndarray:
    return reference_batch(images)


def test_each_feature_matches_reference(images, reference):
    assert_features_match(BloodCellFeatures().fit_transform(images), reference)


def test_features_cover_varied_values(images, reference):
    # the image set exercises each feature: no feature is the same on all images
    spread = reference.max(axis=0) - reference.min(axis=0)
    assert (spread > 0).all(), [n for n, s in zip(FEATURE_NAMES, spread, strict=True) if s == 0]


def test_constant_image_has_defined_features():
    features = BloodCellFeatures().transform(np.full((1, 64, 64), 0.37))[0]
    expected = np.zeros(20)
    expected[[0, 2, 3, 4]] = 0.37
    # no texture: the GLCM is concentrated on one diagonal cell
    expected[[7, 8, 9]] = 1.0
    # the Sobel sums of a constant leave rounding residues of ~1e-17 (as in scikit-image)
    np.testing.assert_allclose(features, expected, rtol=0, atol=1e-15)
    assert features[14] == 0.0  # no edge pixel


def _flat_image(low, spread):
    image = np.full((1, 32, 32), low)
    image[0, 8:20, 10:22] = low + spread
    image[0, 0, 0] = low + spread / 3
    return image


@pytest.mark.parametrize(("low", "spread"), [(0.5, 1e-15), (0.5, 1e-14), (0.0, 5e-324)])
def test_nearly_flat_image_is_treated_as_constant(low, spread):
    # too flat for Otsu's 256 bins (scikit-image raises "Too many bins for data range"):
    # no cell is segmented, and nothing is NaN or out of range
    image = _flat_image(low, spread)
    with pytest.raises(ValueError, match="Too many bins"):
        threshold_otsu(image[0])
    features = BloodCellFeatures(image_size=None).transform(image)[0]
    assert np.isfinite(features).all()
    np.testing.assert_array_equal(features[10:14], 0.0)
    assert features[4] == np.median(image[0])
    assert low <= features[0] <= low + spread


@pytest.mark.parametrize("spread", [3e-306, 1e-300, 1e-310])
def test_tiny_value_range_gives_finite_features(spread):
    # ranges so small that 1024 / range overflows (the median's buckets); the plain
    # reference itself divides 0 by 0 on these (the spectrum's energy underflows)
    image = _flat_image(0.0, spread)
    features = BloodCellFeatures(image_size=None).transform(image)[0]
    assert np.isfinite(features).all()
    flat = image[0]
    expected = [flat.mean(), flat.std(), flat.min(), flat.max(), np.median(flat)]
    np.testing.assert_allclose(features[:5], expected, rtol=1e-12, atol=0)


def test_non_default_parameters_match_reference(images):
    params = {
        "glcm_levels": 16,
        "glcm_distance": 3,
        "edge_threshold": 0.03,
        "low_frequency_cutoff": 0.3,
        "high_frequency_cutoff": 0.3,
    }
    subset = images[::4]
    actual = BloodCellFeatures(**params).fit_transform(subset)
    assert_features_match(actual, reference_batch(subset, **params))


def test_tiny_images_match_reference():
    images = varied_images(seed=3, n_drawn=10, size=8)
    actual = BloodCellFeatures(image_size=8).fit_transform(images)
    assert_features_match(actual, reference_batch(images))


def test_image_size_none_keeps_size():
    images = varied_images(seed=4, n_drawn=3, size=24)
    actual = BloodCellFeatures(image_size=None).fit_transform(images)
    assert_features_match(actual, reference_batch(images))


@pytest.mark.parametrize(
    "form",
    ["gray_float", "gray_uint8", "gray_uint16", "rgb_uint8", "rgba_float", "list", "non_square"],
)
def test_input_forms_match_reference_on_converted_images(form):
    rng = np.random.default_rng(5)
    gray = varied_images(seed=5, n_drawn=4, size=48)
    if form == "gray_float":
        X = gray
    elif form == "gray_uint8":
        X = np.round(gray * 255).astype(np.uint8)
    elif form == "gray_uint16":
        X = np.round(gray * 65535).astype(np.uint16)
    elif form == "rgb_uint8":
        X = rng.integers(0, 256, (3, 40, 40, 3), dtype=np.uint8)
    elif form == "rgba_float":
        X = rng.random((3, 40, 40, 4))
    elif form == "list":
        X = [gray[0], rng.integers(0, 256, (70, 50, 3), dtype=np.uint8), gray[1][:30, :20]]
    else:
        X = rng.random((2, 50, 80))
    actual = BloodCellFeatures().fit_transform(X)
    converted = check_images(X, image_size=64)
    assert actual.shape == (len(converted), 20)
    assert_features_match(actual, reference_batch(converted))


def test_result_does_not_depend_on_n_jobs_or_batching(images):
    whole = BloodCellFeatures(n_jobs=None).transform(images)
    one_thread = BloodCellFeatures(n_jobs=1).transform(images)
    one_by_one = np.concatenate([BloodCellFeatures().transform(image[None]) for image in images])
    np.testing.assert_array_equal(whole, one_thread)
    np.testing.assert_allclose(whole, one_by_one, rtol=1e-12, atol=1e-14)
