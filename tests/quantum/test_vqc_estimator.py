"""VQCClassifier with shots, noise models and user-supplied Qiskit EstimatorV2 primitives."""

from __future__ import annotations

import pickle
import threading

import numpy as np
import pytest
from qiskit.primitives import BackendEstimatorV2, BaseEstimatorV2, StatevectorEstimator
from qiskit.providers.fake_provider import GenericBackendV2
from qiskit_aer.noise import NoiseModel, depolarizing_error
from qiskit_aer.primitives import EstimatorV2 as AerEstimator
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

from qbloodcell.quantum import STUDY_VQC_SETTINGS, VQCClassifier

# The study's model (its circuit, its [0, 2] angles taken as given, SciPy's COBYLA). These
# tests check the simulation and API machinery on it; the defaults are tested in
# test_vqc_defaults.py.
STUDY = STUDY_VQC_SETTINGS


def study_vqc(**params):
    return VQCClassifier(**{**STUDY, **params})


class CountingEstimator(BaseEstimatorV2):
    """Forwards to another estimator and records every call."""

    def __init__(self, inner=None):
        self.inner = StatevectorEstimator() if inner is None else inner
        self.calls = []

    def run(self, pubs, *, precision=None):
        pubs = list(pubs)
        self.calls.append({"shapes": [np.shape(pub[2]) for pub in pubs], "precision": precision})
        return self.inner.run(pubs, precision=precision)


class UnpicklableEstimator(CountingEstimator):
    """An estimator holding a live resource (like a hardware session)."""

    def __init__(self, inner=None):
        super().__init__(inner)
        self.lock = threading.Lock()

    def __deepcopy__(self, memo):
        raise TypeError("cannot copy a live session")


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 2, size=(24, 4))
    y = (X[:, 0] > X[:, 1]).astype(int)
    return X, y


@pytest.fixture(scope="module")
def exact(data):
    X, y = data
    return study_vqc(max_iter=15, random_state=0).fit(X, y)


def _noise_model():
    noise = NoiseModel()
    noise.add_all_qubit_quantum_error(depolarizing_error(0.05, 2), ["cx"])
    return noise


def test_one_batched_pub_per_optimizer_step(data, exact):
    X, y = data
    estimator = CountingEstimator()
    classifier = study_vqc(max_iter=15, random_state=0, estimator=estimator).fit(X, y)
    assert len(estimator.calls) == classifier.n_iter_ == 15
    # one PUB per call, holding every sample: (n_samples, 4 features + 8 weights)
    assert all(call["shapes"] == [(24, 12)] for call in estimator.calls)
    assert all(call["precision"] is None for call in estimator.calls)
    # same circuit, same parameter binding: the same losses as the exact simulator while
    # COBYLA's steps coincide (its first 9 points depend only on the start and rhobeg)
    np.testing.assert_allclose(classifier.loss_curve_[:9], exact.loss_curve_[:9], rtol=1e-12)
    estimator.calls.clear()
    scores = classifier.decision_function(X)
    assert len(estimator.calls) == 1
    exact_scores = pickle.loads(pickle.dumps(classifier)).set_params(estimator=None)
    np.testing.assert_allclose(scores, exact_scores.decision_function(X), atol=1e-12)


def test_estimator_scores_match_the_exact_simulator(data, exact):
    X, _ = data
    with_estimator = pickle.loads(pickle.dumps(exact)).set_params(estimator=StatevectorEstimator())
    np.testing.assert_allclose(
        with_estimator.decision_function(X), exact.decision_function(X), atol=1e-12
    )


def test_multiclass_prediction_is_one_call(data):
    X = data[0][:12]
    y = np.arange(12) % 3
    estimator = CountingEstimator()
    classifier = study_vqc(max_iter=10, random_state=0, estimator=estimator).fit(X, y)
    assert len(estimator.calls) == classifier.n_iter_.sum() == 30
    estimator.calls.clear()
    scores = classifier.decision_function(X)
    assert scores.shape == (12, 3)
    assert estimator.calls == [{"shapes": [(3, 12, 12)], "precision": None}]


def test_shots_with_estimator_set_the_precision(data):
    X, y = data
    estimator = CountingEstimator()
    study_vqc(max_iter=10, shots=400, estimator=estimator, random_state=0).fit(X, y)
    assert len(estimator.calls) == 10
    np.testing.assert_allclose([call["precision"] for call in estimator.calls], 0.05)


def test_shots_mode_is_seeded_and_noisy(data, exact, monkeypatch):
    X, y = data
    calls = []
    original_run = AerEstimator.run

    def counting_run(self, pubs, *, precision=None):
        pubs = list(pubs)
        calls.append([np.shape(pub[2]) for pub in pubs])
        return original_run(self, pubs, precision=precision)

    monkeypatch.setattr(AerEstimator, "run", counting_run)
    a = study_vqc(max_iter=15, shots=256, random_state=0).fit(X, y)
    assert calls == [[(24, 12)]] * 15
    b = study_vqc(max_iter=15, shots=256, random_state=0).fit(X, y)
    c = study_vqc(max_iter=15, shots=256, random_state=1).fit(X, y)
    assert a.loss_curve_ == b.loss_curve_
    np.testing.assert_array_equal(a.decision_function(X), b.decision_function(X))
    assert a.loss_curve_ != c.loss_curve_
    # shot noise of about 1/sqrt(256) around the exact value at the same start
    assert a.loss_curve_[0] != exact.loss_curve_[0]
    assert abs(a.loss_curve_[0] - exact.loss_curve_[0]) < 0.2
    exact_scores = pickle.loads(pickle.dumps(a)).set_params(shots=None)
    difference = a.decision_function(X) - exact_scores.decision_function(X)
    assert 0.01 < np.std(difference) < 0.2


def test_noise_model_shrinks_expectation_values(data, exact):
    X, _ = data
    noisy = pickle.loads(pickle.dumps(exact)).set_params(noise_model=_noise_model())
    noisy_scores = noisy.decision_function(X)
    exact_scores = exact.decision_function(X)
    # depolarising noise pulls <Z0> towards 0; the density-matrix simulation is exact
    assert np.mean(np.abs(noisy_scores)) < 0.95 * np.mean(np.abs(exact_scores))
    np.testing.assert_array_equal(noisy.decision_function(X), noisy_scores)


def test_fit_with_noise_model(data):
    X, y = data
    classifier = study_vqc(max_iter=12, noise_model=_noise_model(), random_state=0).fit(X, y)
    assert classifier.n_iter_ == 12
    again = pickle.loads(pickle.dumps(classifier))
    np.testing.assert_array_equal(again.decision_function(X), classifier.decision_function(X))


# GenericBackendV2 simulates through Aer, which notes that a noiseless backend has no T1/T2
@pytest.mark.filterwarnings("ignore:Qiskit backend .* has no QubitProperties:UserWarning")
def test_hardware_like_backend_is_transpiled(data, exact):
    X, _ = data
    backend = GenericBackendV2(num_qubits=5, seed=1, noise_info=False)
    estimator = BackendEstimatorV2(backend=backend, options={"seed_simulator": 7})
    hardware = pickle.loads(pickle.dumps(exact)).set_params(estimator=estimator)
    scores = hardware.decision_function(X[:8])
    # noiseless device, 4096 shots by default: within a few standard errors of the exact values
    np.testing.assert_allclose(scores, exact.decision_function(X[:8]), atol=0.06)


def test_noise_model_and_estimator_are_exclusive(data):
    X, y = data
    with pytest.raises(ValueError, match="cannot be combined with estimator"):
        study_vqc(noise_model=_noise_model(), estimator=StatevectorEstimator()).fit(X, y)


def test_clone_shares_the_estimator_and_grid_search_works(data):
    X, y = data
    estimator = UnpicklableEstimator()
    classifier = study_vqc(max_iter=10, random_state=0, estimator=estimator)
    copy = clone(classifier)
    assert copy.estimator is estimator
    search = GridSearchCV(classifier, {"max_iter": [10, 11]}, cv=2).fit(X[:12], y[:12])
    assert search.best_estimator_.estimator is estimator
    assert len(estimator.calls) > 0


def test_unpicklable_estimator_is_left_out_with_a_warning(data, exact):
    X, y = data
    estimator = UnpicklableEstimator()
    classifier = study_vqc(max_iter=12, random_state=0, estimator=estimator).fit(X, y)
    with pytest.warns(UserWarning, match="UnpicklableEstimator cannot be pickled"):
        payload = pickle.dumps(classifier)
    loaded = pickle.loads(payload)
    assert loaded.estimator is None
    assert classifier.estimator is estimator
    # the loaded model keeps its weights and now simulates exactly
    np.testing.assert_array_equal(loaded.weights_, classifier.weights_)
    reference = pickle.loads(pickle.dumps(exact))
    reference.weights_ = classifier.weights_
    np.testing.assert_allclose(loaded.decision_function(X), reference.decision_function(X))
    np.testing.assert_allclose(
        loaded.decision_function(X), classifier.decision_function(X), atol=1e-12
    )


def test_estimator_errors_are_clear(data):
    X, y = data

    class BrokenEstimator(CountingEstimator):
        def run(self, pubs, *, precision=None):
            job = super().run(pubs, precision=precision)

            class Job:
                def result(self):
                    result = job.result()
                    result[0].data.evs[...] = np.nan
                    return result

            return Job()

    with pytest.raises(FloatingPointError, match="non-finite expectation values"):
        study_vqc(max_iter=12, estimator=BrokenEstimator()).fit(X, y)
