"""The IBM Runtime route: qiskit-ibm-runtime's EstimatorV2 in local testing mode (no network).

Local testing mode runs the primitives of qiskit-ibm-runtime on a fake backend, with the
backend's noise, through qiskit's ``BackendEstimatorV2``; it checks the circuits against the
backend's instruction set as the service does. Every mode (job mode on a backend, Session,
Batch) goes through the same code as on hardware.
"""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

runtime = pytest.importorskip("qiskit_ibm_runtime")

from qiskit.primitives import BackendEstimatorV2, StatevectorEstimator  # noqa: E402
from qiskit.providers.fake_provider import GenericBackendV2  # noqa: E402
from qiskit.quantum_info import SparsePauliOp  # noqa: E402
from qiskit.transpiler import CouplingMap, generate_preset_pass_manager  # noqa: E402
from qiskit_ibm_runtime.fake_provider import FakeManilaV2  # noqa: E402
from qiskit_ibm_runtime.fake_provider.local_service import QiskitRuntimeLocalService  # noqa: E402

from qbloodcell.quantum import STUDY_VQC_SETTINGS, DataReuploadingClassifier, VQCClassifier  # noqa: E402
from qbloodcell.quantum._estimators import (  # noqa: E402
    EstimatorExpectations,
    backend_with_target,
)

# qiskit-ibm-runtime 0.50 deprecated EstimatorV2 in favour of a client-side Estimator; both
# are supported, and EstimatorV2 is what users of the service call today
pytestmark = pytest.mark.filterwarnings(
    "ignore:The EstimatorV2 class is deprecated:DeprecationWarning"
)

SEED = 11


def study_vqc(**params):
    return VQCClassifier(**{**STUDY_VQC_SETTINGS, **params})


@pytest.fixture(scope="module")
def backend():
    return FakeManilaV2()


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 2, size=(8, 4))
    y = (X[:, 0] > X[:, 1]).astype(int)
    return X, y


@pytest.fixture(scope="module")
def exact(data):
    X, y = data
    return study_vqc(max_iter=12, random_state=0).fit(X, y)


def _mode(kind, backend):
    if kind == "backend":
        return backend
    return {"session": runtime.Session, "batch": runtime.Batch}[kind](backend=backend)


def _runtime_estimator(kind, backend):
    estimator = runtime.EstimatorV2(mode=_mode(kind, backend))
    estimator.options.simulator.seed_simulator = SEED
    return estimator


class CountingPassManager:
    """Forwards to a pass manager and counts its runs (shared by copies of it)."""

    def __init__(self, inner, runs=None):
        self.inner = inner
        self.runs = [] if runs is None else runs

    def run(self, circuits):
        self.runs.append(len(circuits) if isinstance(circuits, list) else 1)
        return self.inner.run(circuits)


@pytest.mark.parametrize("kind", ["backend", "session", "batch"])
def test_the_backend_is_found_in_every_mode(kind, backend):
    # EstimatorV2.backend is a method there, and mode is a Session, a Batch or None
    assert backend_with_target(_runtime_estimator(kind, backend)) is backend


def test_the_client_side_estimator_is_found_too(backend):
    executor_estimator = pytest.importorskip("qiskit_ibm_runtime.executor_estimator")
    assert backend_with_target(executor_estimator.Estimator(mode=backend)) is backend


def test_estimators_without_a_backend_get_none():
    assert backend_with_target(StatevectorEstimator()) is None

    class Broken:
        def backend(self):
            raise ConnectionError("offline")

        @property
        def mode(self):
            raise ConnectionError("offline")

    assert backend_with_target(Broken()) is None


@pytest.mark.parametrize("kind", ["backend", "session", "batch"])
def test_runtime_estimator_predicts_as_the_backend_estimator(kind, backend, data, exact):
    X, _ = data
    classifier = pickle.loads(pickle.dumps(exact))
    classifier.set_params(estimator=_runtime_estimator(kind, backend), shots=2000)
    scores = classifier.decision_function(X)
    # local testing mode runs BackendEstimatorV2 on the fake backend with the given seed:
    # the same ISA circuit, observable and seed give the same values
    reference = BackendEstimatorV2(backend=backend, options={"seed_simulator": SEED})
    expected = classifier.set_params(estimator=reference).decision_function(X)
    np.testing.assert_array_equal(scores, expected)
    # the device's noise shrinks <Z0>, but the model is still the same function
    exact_scores = exact.decision_function(X)
    assert np.corrcoef(scores, exact_scores)[0, 1] > 0.9
    assert np.mean(np.abs(scores - exact_scores)) < 0.3


def test_fit_transpiles_once_and_runs_once_per_step(backend, data, monkeypatch):
    X, y = data
    import qiskit.transpiler

    created = []
    original = qiskit.transpiler.generate_preset_pass_manager

    def counting_preset(*args, **kwargs):
        created.append(kwargs)
        return CountingPassManager(original(*args, **kwargs), runs=runs)

    runs: list[int] = []
    monkeypatch.setattr(qiskit.transpiler, "generate_preset_pass_manager", counting_preset)
    calls = []
    original_run = QiskitRuntimeLocalService._run

    def counting_run(self, *args, **kwargs):
        calls.append(1)
        return original_run(self, *args, **kwargs)

    monkeypatch.setattr(QiskitRuntimeLocalService, "_run", counting_run)
    estimator = _runtime_estimator("batch", backend)
    classifier = study_vqc(max_iter=10, estimator=estimator, shots=1000, random_state=0)
    classifier.fit(X, y)
    assert classifier.n_iter_ == 10
    assert len(calls) == 10
    # one pass-manager run (of one circuit) for the whole fit, the preset of the issue
    assert runs == [1]
    assert created == [{"optimization_level": 1, "backend": backend, "seed_transpiler": 0}]
    classifier.predict(X)
    assert runs == [1, 1]
    assert len(calls) == 11


def test_users_pass_manager_replaces_the_default(backend, data, exact):
    X, _ = data
    # an estimator that does not expose its backend: only the user's pass manager transpiles
    inner = _runtime_estimator("backend", backend)

    class Hidden:
        def run(self, pubs, *, precision=None):
            return inner.run(pubs, precision=precision)

    pass_manager = CountingPassManager(
        generate_preset_pass_manager(optimization_level=0, backend=backend, seed_transpiler=3)
    )
    classifier = pickle.loads(pickle.dumps(exact))
    classifier.set_params(estimator=Hidden(), shots=1000, pass_manager=pass_manager)
    scores = classifier.decision_function(X)
    assert pass_manager.runs == [1]
    assert np.corrcoef(scores, exact.decision_function(X))[0, 1] > 0.9
    # without it the circuit is not in the device's ISA, and the service says so
    classifier.set_params(pass_manager=None)
    with pytest.raises(runtime.exceptions.IBMInputValueError, match="not supported by the target"):
        classifier.decision_function(X)


def test_the_observable_follows_the_layout(data, exact):
    X, _ = data
    # a device with a line of 5 qubits; virtual qubit 0 is placed on physical qubit 4 and
    # routing moves qubits around (final layout): an exact estimator must still match
    target = GenericBackendV2(5, coupling_map=CouplingMap.from_line(5), seed=0).target
    pass_manager = generate_preset_pass_manager(
        optimization_level=1, target=target, initial_layout=[4, 3, 2, 1], seed_transpiler=0
    )
    evaluator = EstimatorExpectations(
        exact.circuit_,
        exact.feature_parameters_,
        exact.weight_parameters_,
        X,
        StatevectorEstimator(),
        precision=None,
        seed_rng=None,
        pass_manager=pass_manager,
    )
    assert evaluator.circuit.num_qubits == 5
    assert evaluator.observable != SparsePauliOp("IIIIZ")
    np.testing.assert_allclose(
        evaluator(exact.weights_), exact.decision_function(X), rtol=0, atol=1e-10
    )


def test_reuploading_classifier_takes_the_runtime_route(backend, data):
    X, y = data
    exact = DataReuploadingClassifier(n_layers=1, max_iter=20, random_state=0).fit(X, y)
    noisy = pickle.loads(pickle.dumps(exact))
    noisy.set_params(estimator=_runtime_estimator("session", backend), shots=2000)
    scores = noisy.decision_function(X)
    assert np.corrcoef(scores, exact.decision_function(X))[0, 1] > 0.9


# local testing mode warns that these options have no effect there; on the service they do
@pytest.mark.filterwarnings("ignore:The resilience_level option has no effect:UserWarning")
@pytest.mark.filterwarnings("ignore:Options .* have no effect in local testing mode:UserWarning")
def test_options_set_on_the_estimator_reach_every_call(backend, data, monkeypatch):
    X, y = data
    seen = []
    original_run = QiskitRuntimeLocalService._run

    def recording_run(self, program_id, inputs, options, calibration_id, dry_run=False):
        seen.append(copy.deepcopy({key: inputs[key] for key in inputs if key != "pubs"}))
        return original_run(self, program_id, inputs, options, calibration_id, dry_run)

    monkeypatch.setattr(QiskitRuntimeLocalService, "_run", recording_run)
    estimator = _runtime_estimator("session", backend)
    estimator.options.resilience_level = 2
    estimator.options.dynamical_decoupling.enable = True
    estimator.options.dynamical_decoupling.sequence_type = "XpXm"
    estimator.options.twirling.enable_gates = True
    classifier = study_vqc(max_iter=10, estimator=estimator, shots=500, random_state=0)
    classifier.fit(X, y).decision_function(X)
    assert len(seen) == 11
    for inputs in seen:
        assert inputs["resilience_level"] == 2
        assert inputs["options"]["dynamical_decoupling"] == {
            "enable": True,
            "sequence_type": "XpXm",
        }
        assert inputs["options"]["twirling"] == {"enable_gates": True}


def test_a_fitted_classifier_with_a_preset_pass_manager_pickles_with_a_warning(backend, exact):
    pass_manager = generate_preset_pass_manager(optimization_level=1, backend=backend)
    classifier = pickle.loads(pickle.dumps(exact)).set_params(pass_manager=pass_manager)
    with pytest.warns(UserWarning, match="transpiles with the default pass manager"):
        loaded = pickle.loads(pickle.dumps(classifier))
    assert loaded.pass_manager is None
    np.testing.assert_array_equal(loaded.weights_, exact.weights_)


def test_clear_errors_from_a_bad_pass_manager(data, exact):
    X, _ = data
    small = GenericBackendV2(2, seed=0)
    classifier = pickle.loads(pickle.dumps(exact)).set_params(
        estimator=StatevectorEstimator(),
        pass_manager=generate_preset_pass_manager(optimization_level=1, backend=small),
    )
    with pytest.raises(RuntimeError, match=r"Transpiling the classifier's circuit .* failed"):
        classifier.decision_function(X)

    class ReturnsNothing:
        def run(self, circuits):
            return []

    classifier.set_params(pass_manager=ReturnsNothing())
    with pytest.raises(TypeError, match="one QuantumCircuit per input circuit"):
        classifier.decision_function(X)


def test_mitigation_on_the_runtime_route(backend, data, exact, monkeypatch):
    from qbloodcell.quantum import ZeroNoiseExtrapolation

    X, _ = data
    pubs_per_call = []
    original_run = QiskitRuntimeLocalService._run

    def counting_run(self, program_id, inputs, *args, **kwargs):
        pubs_per_call.append(len(inputs["pubs"]))
        return original_run(self, program_id, inputs, *args, **kwargs)

    monkeypatch.setattr(QiskitRuntimeLocalService, "_run", counting_run)
    zne = ZeroNoiseExtrapolation(scale_factors=(1, 3))
    estimator = _runtime_estimator("batch", backend)
    evaluator = EstimatorExpectations(
        exact.circuit_,
        exact.feature_parameters_,
        exact.weight_parameters_,
        X,
        estimator,
        precision=1 / np.sqrt(1000),
        seed_rng=None,
        mitigation=zne,
    )
    # the folds are transpiled to the device with their barriers: three times the CX gates
    # (routing may add a few SWAPs of its own to each part)
    once, three_times = (circuit.count_ops()["cx"] for circuit in evaluator.circuits)
    assert 2.5 * once <= three_times <= 3.5 * once
    scores = evaluator(exact.weights_)
    assert pubs_per_call == [2]
    assert scores.shape == (len(X),)
    assert np.corrcoef(scores, exact.decision_function(X))[0, 1] > 0.9
