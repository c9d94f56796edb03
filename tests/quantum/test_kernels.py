"""Quantum kernels against Qiskit (Statevector, partial traces, qiskit-machine-learning)."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from qiskit.circuit import ParameterVector, QuantumCircuit
from qiskit.circuit.library import z_feature_map, zz_feature_map
from qiskit.primitives import StatevectorSampler
from qiskit.quantum_info import Statevector, partial_trace
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV
from sklearn.svm import SVC

from qbloodcell.quantum import (
    FidelityQuantumKernel,
    ProjectedQuantumKernel,
    TrainableQuantumKernel,
)
from qbloodcell.quantum._trainable import (
    _alignment_target,
    _AlignmentObjective,
    _trained_circuit,
)

# shot-noise tolerance: a probability estimated from 20000 shots has a standard deviation
# of at most 0.0035, so 0.025 is more than 7 of them
_SHOTS = 20_000
_SHOT_TOLERANCE = 0.025


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    return rng.uniform(0, 2, size=(25, 4)), rng.uniform(0, 2, size=(9, 4))


def _states(circuit, angles):
    parameters = tuple(circuit.parameters)
    return np.array(
        [
            Statevector(circuit.assign_parameters(dict(zip(parameters, row, strict=True)))).data
            for row in angles
        ]
    )


def _reference_fidelity(circuit, A, B):
    return np.abs(_states(circuit, A).conj() @ _states(circuit, B).T) ** 2


# --------------------------------------------------------------------------------------------
# fidelity kernel, exact
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("bandwidth", [1.0, 0.3])
def test_fidelity_kernel_matches_statevector(data, bandwidth):
    X, Y = data
    kernel = FidelityQuantumKernel(bandwidth=bandwidth)
    circuit = zz_feature_map(4, reps=2, entanglement="full")
    np.testing.assert_allclose(
        kernel(X, Y), _reference_fidelity(circuit, bandwidth * X, bandwidth * Y), atol=1e-12
    )
    gram = kernel.evaluate(X)
    np.testing.assert_allclose(
        gram, _reference_fidelity(circuit, bandwidth * X, bandwidth * X), atol=1e-12
    )
    np.testing.assert_allclose(np.diag(gram), 1.0, atol=1e-12)


@pytest.mark.parametrize(("reps", "entanglement"), [(2, "full"), (1, "linear"), (3, "circular")])
def test_fidelity_kernel_matches_qiskit_machine_learning(data, reps, entanglement):
    kernels = pytest.importorskip("qiskit_machine_learning.kernels")
    X, Y = data
    circuit = zz_feature_map(4, reps=reps, entanglement=entanglement)
    reference = kernels.FidelityStatevectorKernel(feature_map=circuit)
    ours = FidelityQuantumKernel(feature_map_reps=reps, entanglement=entanglement)
    np.testing.assert_allclose(ours.evaluate(X), reference.evaluate(X), atol=1e-12, rtol=0)
    np.testing.assert_allclose(ours.evaluate(X, Y), reference.evaluate(X, Y), atol=1e-12, rtol=0)
    # a user circuit is used as given
    custom = FidelityQuantumKernel(feature_map=z_feature_map(4, reps=2))
    np.testing.assert_allclose(
        custom.evaluate(X, Y),
        kernels.FidelityStatevectorKernel(feature_map=z_feature_map(4, reps=2)).evaluate(X, Y),
        atol=1e-12,
        rtol=0,
    )


def test_statevectors_are_qiskit_little_endian(data):
    X, _ = data
    kernel = FidelityQuantumKernel(feature_map_reps=1, entanglement="linear", bandwidth=0.5)
    np.testing.assert_allclose(
        kernel.statevectors(X[:4]),
        _states(zz_feature_map(4, reps=1, entanglement="linear"), 0.5 * X[:4]),
        atol=1e-12,
    )


def test_kernel_inside_svc_clones_grid_searches_and_pickles(data):
    X, _ = data
    y = (X[:, 0] + X[:, 1] > 2).astype(int)
    svc = SVC(kernel=FidelityQuantumKernel(bandwidth=0.5)).fit(X, y)
    copy = clone(svc)
    assert copy.kernel is not svc.kernel
    assert copy.kernel.get_params() == svc.kernel.get_params()
    search = GridSearchCV(
        SVC(kernel=FidelityQuantumKernel()), {"kernel__bandwidth": [0.2, 0.5]}, cv=3
    ).fit(X, y)
    assert search.best_params_["kernel__bandwidth"] in (0.2, 0.5)
    loaded = pickle.loads(pickle.dumps(svc))
    np.testing.assert_array_equal(loaded.decision_function(X), svc.decision_function(X))
    # SVC's decision function on the callable kernel equals the precomputed route
    gram = FidelityQuantumKernel(bandwidth=0.5)(X)
    precomputed = SVC(kernel="precomputed").fit(gram, y)
    np.testing.assert_allclose(
        svc.decision_function(X), precomputed.decision_function(gram), atol=1e-10
    )


def test_cached_circuit_follows_set_params(data):
    X, Y = data
    kernel = FidelityQuantumKernel()
    first = kernel(X, Y)
    kernel.set_params(feature_map_reps=1)
    np.testing.assert_allclose(
        kernel(X, Y), _reference_fidelity(zz_feature_map(4, reps=1), X, Y), atol=1e-12
    )
    kernel.set_params(feature_map=zz_feature_map(4, reps=2))
    np.testing.assert_allclose(kernel(X, Y), first, atol=1e-12)


# --------------------------------------------------------------------------------------------
# fidelity kernel, sampled
# --------------------------------------------------------------------------------------------
def test_sampler_route_estimates_the_exact_kernel(data):
    X, Y = data
    exact = FidelityQuantumKernel()
    sampled = FidelityQuantumKernel(sampler=StatevectorSampler(default_shots=_SHOTS, seed=3))
    symmetric = sampled(X[:6])
    np.testing.assert_array_equal(np.diag(symmetric), 1.0)
    np.testing.assert_array_equal(symmetric, symmetric.T)
    np.testing.assert_allclose(symmetric, exact(X[:6]), atol=_SHOT_TOLERANCE)
    assert not np.allclose(symmetric, exact(X[:6]), atol=1e-6)  # it is really sampled
    np.testing.assert_allclose(sampled(X[:4], Y[:3]), exact(X[:4], Y[:3]), atol=_SHOT_TOLERANCE)


def test_shots_use_aer_reproducibly(data):
    X, _ = data
    kernel = FidelityQuantumKernel(shots=_SHOTS, random_state=0)
    first = kernel(X[:5])
    np.testing.assert_array_equal(kernel(X[:5]), first)
    np.testing.assert_allclose(first, FidelityQuantumKernel()(X[:5]), atol=_SHOT_TOLERANCE)
    assert not np.array_equal(FidelityQuantumKernel(shots=_SHOTS, random_state=1)(X[:5]), first)


def test_sampler_route_matches_qiskit_machine_learning_within_shot_noise(data):
    kernels = pytest.importorskip("qiskit_machine_learning.kernels")
    fidelities = pytest.importorskip("qiskit_machine_learning.state_fidelities")
    X, Y = data
    circuit = zz_feature_map(4, reps=2)
    reference = kernels.FidelityQuantumKernel(
        feature_map=circuit,
        fidelity=fidelities.ComputeUncompute(StatevectorSampler(default_shots=_SHOTS, seed=5)),
        enforce_psd=False,
    )
    ours = FidelityQuantumKernel(sampler=StatevectorSampler(default_shots=_SHOTS, seed=6))
    np.testing.assert_allclose(
        ours(X[:3], Y[:3]), reference.evaluate(X[:3], Y[:3]), atol=2 * _SHOT_TOLERANCE
    )


def test_sampler_with_a_backend_gets_transpiled_circuits(data):
    from qiskit.primitives import BackendSamplerV2
    from qiskit.providers.fake_provider import GenericBackendV2

    X, _ = data
    backend = GenericBackendV2(num_qubits=5, basis_gates=["rz", "sx", "x", "cx"], seed=0)
    sampler = BackendSamplerV2(backend=backend, options={"seed_simulator": 0})
    gram = FidelityQuantumKernel(sampler=sampler, shots=4000)(X[:3])
    # the generic backend's noise lowers fidelities a little; the structure stays
    np.testing.assert_allclose(gram, FidelityQuantumKernel()(X[:3]), atol=0.15)


# --------------------------------------------------------------------------------------------
# projected kernel
# --------------------------------------------------------------------------------------------
def test_projected_kernel_matches_partial_traces(data):
    X, Y = data
    gamma, bandwidth = 0.7, 0.8
    circuit = zz_feature_map(4, reps=2)
    kernel = ProjectedQuantumKernel(gamma=gamma, bandwidth=bandwidth)

    def bound(x):
        return circuit.assign_parameters(dict(zip(circuit.parameters, x, strict=True)))

    def reduced(x):
        state = Statevector(bound(x))
        return [partial_trace(state, [o for o in range(4) if o != q]).data for q in range(4)]

    rho_x = [reduced(bandwidth * x) for x in X[:6]]
    rho_y = [reduced(bandwidth * y) for y in Y[:5]]
    expected = np.array(
        [
            [
                np.exp(
                    -gamma * sum(np.linalg.norm(a - b) ** 2 for a, b in zip(rx, ry, strict=True))
                )
                for ry in rho_y
            ]
            for rx in rho_x
        ]
    )
    np.testing.assert_allclose(kernel(X[:6], Y[:5]), expected, atol=1e-12)
    symmetric = kernel(X[:6])
    np.testing.assert_array_equal(np.diag(symmetric), 1.0)
    np.testing.assert_allclose(symmetric, symmetric.T, atol=1e-15)
    # Bloch vectors: <X>, <Y>, <Z> of each qubit
    state = Statevector(bound(bandwidth * X[0]))
    for q in range(4):
        rho = partial_trace(state, [o for o in range(4) if o != q]).data
        expected_vector = [2 * rho[0, 1].real, -2 * rho[0, 1].imag, (rho[0, 0] - rho[1, 1]).real]
        np.testing.assert_allclose(kernel.bloch_vectors(X[:1])[0, q], expected_vector, atol=1e-12)


def test_projected_kernel_sampled_bloch_vectors(data):
    X, Y = data
    exact = ProjectedQuantumKernel()
    sampled = ProjectedQuantumKernel(sampler=StatevectorSampler(default_shots=_SHOTS, seed=2))
    # a Pauli expectation from 20000 shots has a standard deviation of at most 0.007
    np.testing.assert_allclose(sampled.bloch_vectors(X[:4]), exact.bloch_vectors(X[:4]), atol=0.05)
    assert sampled(X[:4], Y[:2]).shape == (4, 2)


# --------------------------------------------------------------------------------------------
# trainable kernel
# --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def labelled(data):
    X, _ = data
    return X, np.where(X[:, 0] * X[:, 2] > 1.0, "AML", "healthy")


def test_alignment_gradient_matches_finite_differences(labelled):
    X, y = labelled
    kernel = TrainableQuantumKernel(bandwidth=0.7)
    _, y_index = np.unique(y, return_inverse=True)
    objective = _AlignmentObjective(
        kernel._simulator(4), kernel._inverse_simulator(4), 0.7 * X, _alignment_target(y_index, 2)
    )
    weights = np.random.default_rng(2).uniform(-np.pi, np.pi, 8)
    value, gradient = objective(weights)
    step = 1e-6
    numeric = [
        (objective(weights + step * e)[0] - objective(weights - step * e)[0]) / (2 * step)
        for e in np.eye(8)
    ]
    np.testing.assert_allclose(gradient, numeric, atol=1e-8)
    assert np.abs(gradient).max() > 1e-4  # not trivially zero
    # the value is minus the alignment of the kernel the weights define
    states = _states(_trained_circuit(zz_feature_map(4, reps=2), weights), 0.7 * X)
    gram = np.abs(states.conj() @ states.T) ** 2
    target = np.where(y[:, None] == y[None, :], 1.0, -1.0)
    expected = np.sum(gram * target) / (np.linalg.norm(gram) * np.linalg.norm(target))
    assert value == pytest.approx(-expected, abs=1e-12)


def test_trainable_kernel_improves_alignment_and_is_a_kernel_after_fit(labelled):
    X, y = labelled
    kernel = TrainableQuantumKernel(max_iter=30).fit(X, y)
    assert kernel.alignment_ > kernel.initial_alignment_ + 0.01
    assert kernel.alignment_curve_[-1] == pytest.approx(kernel.alignment_)
    assert 1 <= kernel.n_iter_ <= 30
    # zero initial weights: the untrained kernel is the plain fidelity kernel
    untrained = FidelityQuantumKernel()(X)
    target = np.where(y[:, None] == y[None, :], 1.0, -1.0)
    expected = np.sum(untrained * target) / (np.linalg.norm(untrained) * np.linalg.norm(target))
    assert kernel.initial_alignment_ == pytest.approx(expected, abs=1e-12)
    # the trained kernel is the fidelity kernel of trained_feature_map_
    np.testing.assert_allclose(
        kernel(X[:5], X[5:9]),
        _reference_fidelity(kernel.trained_feature_map_, X[:5], X[5:9]),
        atol=1e-12,
    )
    svc = SVC(kernel=kernel).fit(X, y)
    assert svc.score(X, y) > 0.8
    loaded = pickle.loads(pickle.dumps(kernel))
    np.testing.assert_allclose(loaded(X[:3]), kernel(X[:3]), atol=0)


def test_trainable_kernel_multiclass_target_and_errors(labelled):
    X, _ = labelled
    y = np.arange(X.shape[0]) % 3
    kernel = TrainableQuantumKernel(max_iter=3).fit(X, y)
    assert kernel.weights_.shape == (8,)
    np.testing.assert_allclose(
        _alignment_target(y, 3)[:3, :3], [[1, -0.5, -0.5], [-0.5, 1, -0.5], [-0.5, -0.5, 1]]
    )
    with pytest.raises(NotFittedError):
        TrainableQuantumKernel()(X)
    with pytest.raises(ValueError, match="1 class"):
        TrainableQuantumKernel().fit(X, np.zeros(X.shape[0]))
    with pytest.raises(ValueError, match=r"initial_point must have shape \(8,\)"):
        TrainableQuantumKernel(initial_point=[0.0, 1.0]).fit(X, y)
    with pytest.raises(ValueError, match="fitted with 4"):
        kernel(X[:, :3])
    with pytest.raises(ValueError, match="fitted with 4"):
        kernel.set_params(shots=10)(np.hstack([X, X]))
    with pytest.raises(ValueError, match="fitted with 4"):
        kernel.statevectors(X[:, :2])


def test_trainable_kernel_on_eight_qubits():
    rng = np.random.default_rng(4)
    X = rng.uniform(0, 1, size=(60, 8))
    y = (X[:, 0] + X[:, 3] > 1).astype(int)
    kernel = TrainableQuantumKernel(bandwidth=0.5, max_iter=10).fit(X, y)
    assert kernel.weights_.shape == (16,)
    assert kernel.alignment_ > kernel.initial_alignment_
    assert kernel(X[:4], X).shape == (4, 60)


# --------------------------------------------------------------------------------------------
# input and parameter errors
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kernel_class", [FidelityQuantumKernel, ProjectedQuantumKernel])
def test_bad_input_raises_clear_errors(kernel_class, data):
    X, Y = data
    kernel = kernel_class()
    bad = X.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        kernel(bad)
    with pytest.raises(ValueError, match="Input Y contains infinity"):
        kernel(X, np.full((2, 4), np.inf))
    with pytest.raises(ValueError, match="X has 4 features but Y has 3"):
        kernel(X, Y[:, :3])
    with pytest.raises(ValueError, match="at least 2"):
        kernel(X[:, :1])
    with pytest.raises(ValueError, match="supports at most 12"):
        kernel(np.zeros((2, 13)))
    with pytest.raises(ValueError, match=r"feature_map has 3 parameter\(s\) but X has 4"):
        kernel_class(feature_map=zz_feature_map(3))(X)


@pytest.mark.parametrize(
    ("params", "error", "message"),
    [
        ({"bandwidth": 0.0}, ValueError, "bandwidth must be a finite real number > 0"),
        ({"bandwidth": "wide"}, TypeError, "bandwidth must be"),
        ({"feature_map_reps": 1.5}, TypeError, "feature_map_reps must be an integer"),
        ({"entanglement": "star"}, ValueError, "entanglement must be one of"),
        ({"shots": 0}, ValueError, "shots must be None or an integer >= 1"),
        ({"sampler": "aer"}, TypeError, "sampler must be None or a Qiskit SamplerV2"),
        ({"feature_map": "zz"}, TypeError, "feature_map must be None or a qiskit"),
    ],
)
def test_parameters_are_validated(params, error, message, data):
    X, _ = data
    with pytest.raises(error, match=message):
        FidelityQuantumKernel(**params)(X)


def test_non_unitary_feature_map_is_rejected_before_qiskit(data):
    X, _ = data
    x = ParameterVector("x", 4)
    circuit = QuantumCircuit(4, 1)
    for q in range(4):
        circuit.ry(x[q], q)
    circuit.measure(0, 0)
    with pytest.raises(ValueError, match="non-unitary instruction 'measure'"):
        FidelityQuantumKernel(feature_map=circuit)(X)


def test_unpicklable_sampler_is_left_out_with_a_warning(data):
    X, _ = data

    class LocalSampler(StatevectorSampler):
        pass

    kernel = FidelityQuantumKernel(sampler=LocalSampler(default_shots=10))
    assert clone(kernel).sampler is kernel.sampler  # shared, not copied
    with pytest.warns(UserWarning, match="cannot be pickled"):
        loaded = pickle.loads(pickle.dumps(kernel))
    assert loaded.sampler is None
    np.testing.assert_allclose(loaded(X[:3]), FidelityQuantumKernel()(X[:3]), atol=1e-12)


# ---------------------------------------------------------------------------------------
# zero-noise extrapolation of the sampled fidelity kernel
def _noisy_sampler(seed):
    noise_module = pytest.importorskip("qiskit_aer.noise")
    from qiskit_aer.primitives import SamplerV2 as AerSampler

    noise = noise_module.NoiseModel()
    noise.add_all_qubit_quantum_error(noise_module.depolarizing_error(0.03, 2), ["cx"])
    return AerSampler(seed=seed, options={"backend_options": {"noise_model": noise}})


@pytest.mark.parametrize("seed", [0, 1])
def test_mitigation_brings_the_noisy_gram_matrix_closer_to_the_exact_one(seed):
    from qbloodcell.quantum import ZeroNoiseExtrapolation

    X = np.random.default_rng(0).uniform(0, 1, size=(6, 3))
    settings = {"feature_map_reps": 1, "shots": _SHOTS}
    exact = FidelityQuantumKernel(feature_map_reps=1).evaluate(X)
    sampler = _noisy_sampler(seed)
    noisy = FidelityQuantumKernel(sampler=sampler, **settings).evaluate(X)
    errors = {"noisy": np.abs(noisy - exact).mean()}
    for extrapolation in ("richardson", "linear"):
        zne = ZeroNoiseExtrapolation((1, 3, 5), extrapolation)
        mitigated = FidelityQuantumKernel(sampler=sampler, mitigation=zne, **settings).evaluate(X)
        assert np.all((mitigated >= 0) & (mitigated <= 1))
        assert np.allclose(mitigated, mitigated.T)
        assert np.allclose(np.diag(mitigated), 1)
        errors[extrapolation] = np.abs(mitigated - exact).mean()
    # measured (seeds 0-4): noisy 0.024-0.025, richardson 0.0045-0.0065, linear 0.015-0.017
    assert errors["richardson"] < 0.5 * errors["noisy"], errors
    assert errors["linear"] < 0.85 * errors["noisy"], errors


class _RecordingSampler:
    """A sampler that keeps the PUBs it runs (and runs them on a noiseless sampler)."""

    def __init__(self):
        self.pubs = []
        self._sampler = StatevectorSampler(seed=0)

    def run(self, pubs, shots=None):
        self.pubs.extend(pubs)
        return self._sampler.run(pubs, shots=shots)


def test_mitigation_runs_the_folded_circuits_in_one_job():
    from qbloodcell.quantum import ZeroNoiseExtrapolation

    X = np.random.default_rng(1).uniform(0, 1, size=(4, 2))
    zne = ZeroNoiseExtrapolation((1, 3, 7), "linear")
    sampler = _RecordingSampler()
    gram = FidelityQuantumKernel(sampler=sampler, shots=_SHOTS, mitigation=zne).evaluate(X)
    assert len(sampler.pubs) == 3
    base = sampler.pubs[0][0]
    for (circuit, values), factor in zip(sampler.pubs, zne.scale_factors, strict=True):
        assert values.shape == (6, 4)  # the pairs above the diagonal, both samples' angles
        assert circuit.count_ops()["cx"] == factor * base.count_ops()["cx"]
        # folding barriers, plus the one measure_all puts before the measurements
        assert circuit.count_ops().get("barrier", 0) == factor
        assert circuit.count_ops()["measure"] == 2
    # without noise every fold prepares the same state: the kernel is still the exact one
    exact = FidelityQuantumKernel().evaluate(X)
    spread = np.sqrt(np.sum(zne.coefficients**2))
    np.testing.assert_allclose(gram, exact, atol=spread * _SHOT_TOLERANCE)


def test_mitigation_on_the_built_in_sampler_uses_a_seed_per_scale_factor():
    from qbloodcell.quantum import ZeroNoiseExtrapolation

    X = np.random.default_rng(2).uniform(0, 1, size=(4, 2))
    zne = ZeroNoiseExtrapolation()
    kernel = FidelityQuantumKernel(shots=_SHOTS, mitigation=zne, random_state=0)
    first = kernel.evaluate(X)
    np.testing.assert_array_equal(first, kernel.evaluate(X))
    exact = FidelityQuantumKernel().evaluate(X)
    spread = np.sqrt(np.sum(zne.coefficients**2))
    np.testing.assert_allclose(first, exact, atol=spread * _SHOT_TOLERANCE)


def test_mitigation_needs_the_sampled_kernel():
    from qbloodcell.quantum import ZeroNoiseExtrapolation

    X = np.random.default_rng(3).uniform(0, 1, size=(3, 2))
    kernel = FidelityQuantumKernel(mitigation=ZeroNoiseExtrapolation())
    with pytest.raises(ValueError, match="mitigation applies only to the sampled kernel"):
        kernel.evaluate(X)
    with pytest.raises(TypeError, match="mitigation must be None or a qbloodcell"):
        FidelityQuantumKernel(shots=10, mitigation=(1, 3, 5)).evaluate(X)
