"""``BloodCellFeatures(feature_set="study-code")`` against a plain scikit-image reference."""

from __future__ import annotations

import numpy as np
import pytest

from _references.features import study_code_reference, varied_images
from qbloodcell.datasets import make_blood_cells
from qbloodcell.features import FEATURE_NAMES, STUDY_CODE_FEATURE_NAMES, BloodCellFeatures


def relative_error(actual: np.ndarray, expected: np.ndarray) -> np.ndarray:
    return np.abs(actual - expected) / np.maximum(1.0, np.abs(expected))


@pytest.mark.parametrize("distance", [1, 3])
def test_study_code_features_match_the_reference(distance):
    images = varied_images(seed=1, n_drawn=40)
    expected = np.stack([study_code_reference(image, distance=distance) for image in images])
    actual = BloodCellFeatures(feature_set="study-code", glcm_distance=distance).transform(images)
    assert actual.shape == (len(images), 20)
    worst = relative_error(actual, expected).max(axis=0)
    mismatched = [
        f"{name}: {value:.3g}"
        for name, value in zip(STUDY_CODE_FEATURE_NAMES, worst, strict=True)
        if value > 1e-9
    ]
    assert not mismatched, mismatched


def test_study_code_features_on_smears_match_the_reference():
    X, _ = make_blood_cells(6, random_state=3, return_X_y=True)
    transformer = BloodCellFeatures(feature_set="study-code")
    gray = transformer._load(X)
    expected = np.stack([study_code_reference(image) for image in gray])
    assert relative_error(transformer.transform(X), expected).max() < 1e-9


def test_study_code_set_differs_from_table1_and_is_named():
    X, _ = make_blood_cells(4, random_state=0, return_X_y=True)
    table1 = BloodCellFeatures().fit(X)
    study = BloodCellFeatures(feature_set="study-code").fit(X)
    assert study.n_features_out_ == 20
    assert list(study.get_feature_names_out()) == list(STUDY_CODE_FEATURE_NAMES)
    assert list(table1.get_feature_names_out()) == list(FEATURE_NAMES)
    assert len(set(STUDY_CODE_FEATURE_NAMES)) == 20
    a, b = table1.transform(X), study.transform(X)
    # the mean and std agree only up to the min-max normalisation: never equal here
    assert not np.allclose(a, b)


def test_study_code_features_are_invariant_to_contrast_stretch():
    # min-max normalisation first: an affine change of the gray values changes nothing
    images = varied_images(seed=2, n_drawn=10)[:10]
    transformer = BloodCellFeatures(feature_set="study-code", image_size=None)
    stretched = 0.2 + 0.5 * images
    np.testing.assert_allclose(
        transformer.transform(stretched), transformer.transform(images), atol=1e-9
    )


def test_constant_image_gives_zeros_where_defined():
    features = BloodCellFeatures(feature_set="study-code").transform(np.full((1, 64, 64), 0.4))
    assert np.isfinite(features).all()
    assert features[0, 10:14].tolist() == [0.0, 0.0, 0.0, 0.0]


@pytest.mark.parametrize(
    ("value", "error"), [("study", ValueError), ("TABLE1", ValueError), (1, TypeError)]
)
def test_bad_feature_set_is_rejected(value, error):
    with pytest.raises(error, match="feature_set"):
        BloodCellFeatures(feature_set=value).fit(np.zeros((1, 16, 16)))
