"""VQCClassifier's fitted input scaling (bandwidth) and its defaults."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from qiskit.quantum_info import SparsePauliOp, Statevector
from sklearn.datasets import make_classification
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline

from qbloodcell import BloodCellFeatures, make_blood_cells
from qbloodcell.quantum import STUDY_VQC_SETTINGS, VQCClassifier
from qbloodcell.quantum._scaling import InputScaling


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(
        n_samples=120, n_features=4, n_informative=3, n_redundant=0, random_state=0
    )
    return X * [1.0, 50.0, 1e-3, 7.0] + [0.0, 300.0, -2.0, 1.0], y


def test_minmax_maps_the_training_range_to_the_bandwidth_and_clips():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 3)) * [1, 100, 1e-4]
    scaling = InputScaling.fit(X, "minmax", 0.7)
    angles = scaling.transform(X)
    np.testing.assert_allclose(angles.min(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(angles.max(axis=0), 0.7, atol=1e-12)
    outside = np.vstack([X.min(axis=0) - 10 * X.std(axis=0), X.max(axis=0) + 1e9])
    np.testing.assert_allclose(scaling.transform(outside), [[0.0] * 3, [0.7] * 3], atol=1e-12)


def test_standard_scaling_and_none():
    rng = np.random.default_rng(1)
    X = rng.normal(3.0, 5.0, size=(200, 2))
    angles = InputScaling.fit(X, "standard", 0.4).transform(X)
    np.testing.assert_allclose(angles.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(angles.std(axis=0), 0.4, rtol=1e-12)
    np.testing.assert_array_equal(InputScaling.fit(X, None, 0.4).transform(X + 1e6), X + 1e6)


def test_constant_feature_becomes_angle_zero():
    X = np.column_stack([np.arange(5.0), np.full(5, 3.0)])
    for method in ("minmax", "standard"):
        angles = InputScaling.fit(X, method, 1.0).transform(X)
        assert np.all(np.isfinite(angles))
        np.testing.assert_array_equal(angles[:, 1], 0.0)


def test_decision_function_is_z0_of_the_scaled_angles(data):
    X, y = data
    clf = VQCClassifier(max_iter=40, random_state=0).fit(X, y)
    angles = clf.input_scaling_.transform(X[:6])
    observable = SparsePauliOp("IIIZ")
    expected = []
    for row in angles:
        binding = dict(zip(clf.feature_parameters_, row, strict=True))
        binding |= dict(zip(clf.weight_parameters_, clf.weights_, strict=True))
        state = Statevector(clf.circuit_.assign_parameters(binding))
        expected.append(state.expectation_value(observable).real)
    np.testing.assert_allclose(clf.decision_function(X[:6]), expected, atol=1e-10)


@pytest.mark.parametrize("input_scaling", ["minmax", "standard"])
def test_angles_do_not_depend_on_the_feature_units(data, input_scaling):
    X, y = data
    params = {"input_scaling": input_scaling, "max_iter": 40, "random_state": 0}
    reference = VQCClassifier(**params).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rescaled = VQCClassifier(**params).fit(X * 1e30 + 5e30, y)
    np.testing.assert_allclose(
        rescaled.input_scaling_.transform(X * 1e30 + 5e30),
        reference.input_scaling_.transform(X),
        atol=1e-9,
    )
    # COBYLA's path is chaotic in the last bits of the angles: compare at the same weights
    rescaled.weights_ = reference.weights_
    np.testing.assert_allclose(
        rescaled.decision_function(X * 1e30 + 5e30), reference.decision_function(X), atol=1e-9
    )


def test_unscaled_angles_warn(data):
    X, y = data
    with pytest.warns(UserWarning, match="input_scaling=None.*radians"):
        VQCClassifier(input_scaling=None, max_iter=40, random_state=0).fit(X * 1e30, y)


def test_scaling_parameters_are_validated(data):
    X, y = data
    with pytest.raises(ValueError, match="input_scaling must be None or one of"):
        VQCClassifier(input_scaling="robust").fit(X, y)
    with pytest.raises(ValueError, match="bandwidth must be a finite real number > 0"):
        VQCClassifier(bandwidth=0.0).fit(X, y)
    with pytest.raises(TypeError, match="bandwidth"):
        VQCClassifier(bandwidth="wide").fit(X, y)
    with pytest.raises(ValueError, match="ansatz must be None, one of"):
        VQCClassifier(ansatz="hardware_efficient").fit(X, y)


def test_named_ansatzes(data):
    X, y = data
    real = VQCClassifier(ansatz="real_amplitudes", ansatz_reps=2, max_iter=30).fit(X, y)
    su2 = VQCClassifier(ansatz="efficient_su2", ansatz_reps=2, max_iter=40).fit(X, y)
    assert real.weights_.shape == (4 * 3,)
    assert su2.weights_.shape == (2 * 4 * 3,)
    assert set(real.ansatz_.count_ops()) == {"ry", "cx"}
    assert set(su2.ansatz_.count_ops()) == {"ry", "rz", "cx"}
    assert VQCClassifier(ansatz=None, max_iter=30).fit(X, y).weights_.shape == (
        4 * (VQCClassifier().ansatz_reps + 1),
    )


def test_design_card_learns_on_synthetic_cells_where_the_study_settings_do_not():
    images, y = make_blood_cells(n_samples_per_class=100, random_state=0, return_X_y=True)
    features = BloodCellFeatures().fit_transform(images)
    X_train, X_test, y_train, y_test = train_test_split(
        features, y, test_size=0.25, stratify=y, random_state=0
    )
    card = make_pipeline(PCA(4), VQCClassifier(random_state=0)).fit(X_train, y_train)
    study = make_pipeline(
        PCA(4),
        VQCClassifier(
            **{**STUDY_VQC_SETTINGS, "input_scaling": "minmax", "bandwidth": 2.0}, random_state=0
        ),
    ).fit(X_train, y_train)
    assert card.score(X_train, y_train) >= 0.65
    assert card.score(X_test, y_test) >= 0.6
    assert card.score(X_train, y_train) > study.score(X_train, y_train)
