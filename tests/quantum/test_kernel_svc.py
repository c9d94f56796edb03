"""QuantumKernelSVC: learning, the precomputed route, scaling, scikit-learn API, errors."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.decomposition import PCA
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.svm import SVC

from qbloodcell.quantum import FidelityQuantumKernel, QuantumKernelSVC
from qbloodcell.quantum._scaling import InputScaling


@pytest.fixture(scope="module")
def problem():
    X, y = make_classification(
        n_samples=160, n_features=4, n_redundant=0, class_sep=1.5, random_state=0
    )
    return X[:120], y[:120], X[120:], y[120:]


@pytest.fixture(scope="module")
def fitted(problem):
    X, y, _, _ = problem
    return QuantumKernelSVC(bandwidth=0.8).fit(X, y)


@pytest.mark.parametrize(
    ("kernel", "bandwidth"), [("fidelity", 0.8), ("projected", 0.5), ("trainable", 0.8)]
)
def test_learns_a_separable_problem(problem, kernel, bandwidth):
    X, y, X_test, y_test = problem
    clf = QuantumKernelSVC(kernel=kernel, bandwidth=bandwidth, gamma=2.0, alignment_max_iter=10)
    clf.fit(X, y)
    assert clf.score(X_test, y_test) >= 0.8
    assert clf.predict(X_test).dtype == y.dtype


def test_equals_svc_on_the_full_precomputed_gram_matrix(problem, fitted):
    X, y, X_test, _ = problem
    scaling = InputScaling.fit(X, "minmax", 0.8)
    kernel = FidelityQuantumKernel(feature_map_reps=fitted.feature_map_reps)
    angles, test_angles = scaling.transform(X), scaling.transform(X_test)
    reference = SVC(kernel="precomputed").fit(kernel(angles), y)
    test_gram = kernel(test_angles, angles)
    # support-vector columns only, the same decision values
    np.testing.assert_allclose(
        fitted.decision_function(X_test), reference.decision_function(test_gram), atol=1e-10
    )
    np.testing.assert_array_equal(fitted.support_, reference.support_)
    np.testing.assert_array_equal(fitted.predict(X_test), reference.predict(test_gram))
    assert fitted.support_.size < X.shape[0]


def test_input_scaling_none_uses_the_features_as_angles(problem):
    X, y, X_test, _ = problem
    scaled = (X - X.min(0)) / (X.max(0) - X.min(0))
    scaled_test = np.clip((X_test - X.min(0)) / (X.max(0) - X.min(0)), 0, 1)
    raw = QuantumKernelSVC(input_scaling=None, bandwidth=5.0).fit(scaled, y)
    minmax = QuantumKernelSVC(bandwidth=1.0).fit(X, y)
    np.testing.assert_allclose(
        raw.decision_function(scaled_test), minmax.decision_function(X_test), atol=1e-9
    )
    standard = QuantumKernelSVC(input_scaling="standard", bandwidth=0.5).fit(X, y)
    assert not np.allclose(standard.decision_function(X_test), minmax.decision_function(X_test))


def test_bandwidth_changes_the_kernel(problem):
    X, y, X_test, _ = problem
    narrow = QuantumKernelSVC(bandwidth=0.2).fit(X, y)
    wide = QuantumKernelSVC(bandwidth=3.0).fit(X, y)
    assert not np.allclose(narrow.decision_function(X_test), wide.decision_function(X_test))
    # wide angles: kernel values of distinct samples fall towards 1 / 2**n_qubits
    angles = wide.input_scaling_.transform(X)
    off_diagonal = wide.kernel_(angles)[~np.eye(X.shape[0], dtype=bool)]
    assert off_diagonal.mean() < 0.2


def test_probabilities_only_when_asked(problem, fitted):
    X, y, X_test, _ = problem
    assert not hasattr(fitted, "predict_proba")
    assert fitted.calibrated_ is None
    clf = QuantumKernelSVC(bandwidth=0.8, probability=True).fit(X, y)
    proba = clf.predict_proba(X_test)
    assert proba.shape == (X_test.shape[0], 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_allclose(np.log(proba), clf.predict_log_proba(X_test))
    # the probabilities order the samples as the decision function does
    scores = clf.decision_function(X_test)
    assert np.corrcoef(scores, proba[:, 1])[0, 1] > 0.9


def test_multiclass(problem):
    X, y, X_test, _ = problem
    y3 = np.where(X[:, 0] > np.median(X[:, 0]), 2, y)
    clf = QuantumKernelSVC(bandwidth=0.8).fit(X, y3)
    assert clf.classes_.tolist() == [0, 1, 2]
    assert clf.decision_function(X_test).shape == (X_test.shape[0], 3)
    assert clf.score(X, y3) > 0.8


def test_clone_pickle_grid_search_and_pipeline(problem, fitted):
    X, y, X_test, _ = problem
    copy = clone(fitted)
    assert copy.get_params() == fitted.get_params()
    assert not hasattr(copy, "svc_")
    loaded = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(
        loaded.decision_function(X_test), fitted.decision_function(X_test)
    )
    search = GridSearchCV(
        QuantumKernelSVC(), {"bandwidth": [0.3, 1.0], "C": [1.0, 10.0]}, cv=3
    ).fit(X, y)
    assert set(search.best_params_) == {"bandwidth", "C"}
    rng = np.random.default_rng(0)
    wide = np.hstack([X, rng.normal(size=(X.shape[0], 6))])
    model = make_pipeline(PCA(n_components=4), QuantumKernelSVC()).fit(wide, y)
    assert model[-1].n_features_in_ == 4


def test_sampler_route(problem):
    from qiskit_aer.primitives import SamplerV2

    X, y, X_test, _ = problem
    sampler = SamplerV2(default_shots=2000, seed=0)
    clf = QuantumKernelSVC(bandwidth=0.8, sampler=sampler).fit(X[:12], y[:12])
    exact = QuantumKernelSVC(bandwidth=0.8).fit(X[:12], y[:12])
    np.testing.assert_allclose(
        clf.decision_function(X_test[:6]), exact.decision_function(X_test[:6]), atol=0.3
    )
    assert clone(clf).sampler is sampler
    settings = {"bandwidth": 0.8, "shots": 500, "random_state": 0}
    shots = QuantumKernelSVC(**settings).fit(X[:8], y[:8])
    again = QuantumKernelSVC(**settings).fit(X[:8], y[:8])
    np.testing.assert_array_equal(
        shots.decision_function(X_test[:4]), again.decision_function(X_test[:4])
    )


@pytest.mark.parametrize(
    ("params", "error", "message"),
    [
        ({"kernel": "rbf"}, ValueError, "kernel must be one of"),
        ({"C": 0}, ValueError, "C must be a finite real number > 0"),
        ({"gamma": -1.0}, ValueError, "gamma must be"),
        ({"input_scaling": "robust"}, ValueError, "input_scaling must be None or one of"),
        ({"probability": "yes"}, TypeError, "probability must be True or False"),
        ({"alignment_max_iter": 0}, ValueError, "alignment_max_iter must be an integer >= 1"),
        ({"class_weight": "equal"}, ValueError, "class_weight must be"),
        ({"bandwidth": np.nan}, ValueError, "bandwidth must be"),
    ],
)
def test_parameters_are_validated(problem, params, error, message):
    X, y, _, _ = problem
    with pytest.raises(error, match=message):
        QuantumKernelSVC(**params).fit(X, y)


def test_input_errors(problem, fitted):
    X, y, X_test, _ = problem
    with pytest.raises(ValueError, match="1 class"):
        QuantumKernelSVC().fit(X, np.zeros(X.shape[0]))
    with pytest.raises(ValueError, match="at least 2"):
        QuantumKernelSVC().fit(X[:, :1], y)
    with pytest.raises(ValueError, match="X has 3 features, but QuantumKernelSVC is expecting 4"):
        fitted.predict(X_test[:, :3])
    bad = X_test.copy()
    bad[0, 1] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        fitted.predict(bad)


def test_benchmark_method():
    from sklearn.decomposition import PCA

    from qbloodcell.benchmark._methods import DEFAULT_METHODS, resolve_methods
    from qbloodcell.features import BloodCellFeatures

    (spec,) = resolve_methods(["qsvc"], quick=True)
    model = spec.build(3)
    assert [type(step) for _, step in model.steps] == [
        BloodCellFeatures,
        PCA,
        QuantumKernelSVC,
    ]
    assert model[-1].get_params() == QuantumKernelSVC(random_state=3).get_params()
    assert "QuantumKernelSVC" in DEFAULT_METHODS["qsvc"].pipeline


def test_default_bandwidth_and_gamma_follow_the_kernel(problem):
    from qbloodcell.quantum._kernel_svc import KERNEL_DEFAULTS

    X, y, _, _ = problem
    for kernel in ("fidelity", "projected"):
        clf = QuantumKernelSVC(kernel=kernel).fit(X[:40], y[:40])
        assert clf.bandwidth_ == KERNEL_DEFAULTS[kernel]["bandwidth"]
        # the fitted scaling holds the bandwidth: the angles span [0, bandwidth_]
        angles = clf.input_scaling_.transform(X[:40])
        np.testing.assert_allclose(angles.max(axis=0), clf.bandwidth_)
    assert clf.kernel_.gamma == clf.gamma_ == KERNEL_DEFAULTS["projected"]["gamma"]
    given = QuantumKernelSVC(kernel="projected", bandwidth=0.2, gamma=3.0).fit(X[:40], y[:40])
    assert (given.bandwidth_, given.gamma_, given.kernel_.gamma) == (0.2, 3.0, 3.0)


def test_mitigation_passes_to_the_fidelity_kernel():
    from qiskit.primitives import StatevectorSampler

    from qbloodcell.quantum import ZeroNoiseExtrapolation

    class Counting:
        def __init__(self):
            self.n_pubs = 0
            self._sampler = StatevectorSampler(seed=0)

        def run(self, pubs, shots=None):
            self.n_pubs += len(pubs)
            return self._sampler.run(pubs, shots=shots)

    X = np.random.default_rng(0).uniform(0, 1, size=(8, 2))
    y = np.repeat([0, 1], 4)
    zne = ZeroNoiseExtrapolation((1, 3, 5))
    sampler = Counting()
    clf = QuantumKernelSVC(sampler=sampler, shots=1000, mitigation=zne, random_state=0)
    clf.fit(X, y)
    assert clf.kernel_.mitigation is zne
    assert sampler.n_pubs == 3  # one PUB per scale factor for the training Gram matrix
    clf.decision_function(X[:3])
    assert sampler.n_pubs == 6


@pytest.mark.parametrize(
    ("settings", "match"),
    [
        ({}, "mitigation applies only to the sampled kernel"),
        ({"kernel": "projected", "shots": 100}, "mitigation applies only to kernel='fidelity'"),
        ({"kernel": "trainable", "shots": 100}, "mitigation applies only to kernel='fidelity'"),
    ],
)
def test_mitigation_needs_the_sampled_fidelity_kernel(settings, match):
    from qbloodcell.quantum import ZeroNoiseExtrapolation

    X = np.random.default_rng(0).uniform(0, 1, size=(8, 2))
    clf = QuantumKernelSVC(mitigation=ZeroNoiseExtrapolation(), **settings)
    with pytest.raises(ValueError, match=match):
        clf.fit(X, np.repeat([0, 1], 4))
