"""Zero-noise extrapolation: folding, extrapolation, and the classifiers' mitigated route."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.primitives import BaseEstimatorV2, StatevectorEstimator
from qiskit.quantum_info import Operator, SparsePauliOp
from qiskit.transpiler import PassManager, generate_preset_pass_manager
from qiskit_aer.noise import NoiseModel, depolarizing_error
from qiskit_aer.primitives import EstimatorV2 as AerEstimator
from sklearn.base import clone

from qbloodcell.quantum import (
    STUDY_VQC_SETTINGS,
    DataReuploadingClassifier,
    VQCClassifier,
    ZeroNoiseExtrapolation,
)


def study_vqc(**params):
    return VQCClassifier(**{**STUDY_VQC_SETTINGS, **params})


def depolarizing_noise(two_qubit=0.015, one_qubit=0.001):
    """Depolarising errors on CX and on every single-qubit gate the classifiers use."""
    noise = NoiseModel()
    noise.add_all_qubit_quantum_error(depolarizing_error(two_qubit, 2), ["cx", "cz"])
    noise.add_all_qubit_quantum_error(
        depolarizing_error(one_qubit, 1), ["h", "p", "rz", "ry", "sx", "x"]
    )
    return noise


class CountingEstimator(BaseEstimatorV2):
    """Forwards to another estimator and records the PUB shapes of every call."""

    def __init__(self, inner):
        self.inner = inner
        self.calls = []

    def run(self, pubs, *, precision=None):
        pubs = list(pubs)
        self.calls.append([np.shape(pub[2]) for pub in pubs])
        return self.inner.run(pubs, precision=precision)


def noisy_aer(noise):
    return AerEstimator(
        options={
            "default_precision": 0.0,
            "backend_options": {"method": "density_matrix", "noise_model": noise},
        }
    )


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 2, size=(12, 4))
    y = (X[:, 0] > X[:, 1]).astype(int)
    return X, y


@pytest.fixture(scope="module")
def exact(data):
    X, y = data
    return study_vqc(max_iter=30, random_state=0).fit(X, y)


def _bell():
    circuit = QuantumCircuit(2)
    circuit.h(0)
    circuit.cx(0, 1)
    circuit.ry(0.3, 1)
    return circuit


# ---------------------------------------------------------------------------------------
# the object
def test_richardson_is_exact_for_polynomials_of_degree_below_the_number_of_factors():
    rng = np.random.default_rng(1)
    zne = ZeroNoiseExtrapolation(scale_factors=(1, 3, 5, 7))
    factors = np.array(zne.scale_factors, dtype=float)
    coefficients = rng.normal(size=(4, 6))  # six cubic polynomials
    values = np.stack([np.polyval(coefficients[:, j], factors) for j in range(6)], axis=1)
    np.testing.assert_allclose(zne.extrapolate(values), coefficients[-1], atol=1e-12)
    np.testing.assert_allclose(zne.coefficients.sum(), 1.0, atol=1e-12)


def test_linear_is_the_least_squares_intercept():
    rng = np.random.default_rng(2)
    zne = ZeroNoiseExtrapolation(scale_factors=(1, 3, 5, 9), extrapolation="linear")
    factors = np.array(zne.scale_factors, dtype=float)
    values = rng.normal(size=(4, 3, 5))
    expected = np.empty((3, 5))
    for index in np.ndindex(3, 5):
        expected[index] = np.polyfit(factors, values[(slice(None), *index)], 1)[1]
    np.testing.assert_allclose(zne.extrapolate(values), expected, atol=1e-12)
    # with two factors the line passes through both points: the same as Richardson
    np.testing.assert_allclose(
        ZeroNoiseExtrapolation((1, 3), "linear").coefficients,
        ZeroNoiseExtrapolation((1, 3)).coefficients,
    )
    np.testing.assert_allclose(ZeroNoiseExtrapolation((1, 3)).coefficients, [1.5, -0.5])


@pytest.mark.parametrize(
    ("scale_factors", "match"),
    [((1, 2, 3), "be odd"), ((1, 1, 3), "hold at least two"), ((3,), "hold at least two")],
)
def test_bad_scale_factors_are_value_errors(scale_factors, match):
    with pytest.raises(ValueError, match=rf"^scale_factors must {match}"):
        ZeroNoiseExtrapolation(scale_factors=scale_factors)


def test_extrapolate_needs_one_row_per_scale_factor():
    with pytest.raises(ValueError, match=r"one row per scale factor \(3\).*shape \(2, 4\)"):
        ZeroNoiseExtrapolation().extrapolate(np.zeros((2, 4)))


def test_repr_equality_and_copies():
    zne = ZeroNoiseExtrapolation(scale_factors=[1, 5], extrapolation="linear")
    assert repr(zne) == "ZeroNoiseExtrapolation(scale_factors=(1, 5), extrapolation='linear')"
    assert zne == ZeroNoiseExtrapolation((1, 5), "linear") != ZeroNoiseExtrapolation((1, 5))
    assert pickle.loads(pickle.dumps(zne)) == zne
    coefficients = zne.coefficients
    coefficients[0] = 99.0
    assert zne.coefficients[0] != 99.0


# ---------------------------------------------------------------------------------------
# folding
def test_folding_keeps_the_unitary_and_scales_the_gates():
    circuit = _bell()
    folded = ZeroNoiseExtrapolation(scale_factors=(1, 3, 7)).fold(circuit)
    for factor, scaled in zip((1, 3, 7), folded, strict=True):
        assert Operator(scaled).equiv(Operator(circuit))
        counts = scaled.count_ops()
        assert (counts["h"], counts["cx"], counts["ry"]) == (factor,) * 3
        assert counts.get("barrier", 0) == factor - 1
    assert folded[0] == circuit


def test_folding_keeps_free_parameters_and_survives_transpilation(exact):
    folded = ZeroNoiseExtrapolation(scale_factors=(1, 3)).fold(exact.circuit_)
    assert set(folded[1].parameters) == set(exact.circuit_.parameters)
    # the barriers stop the transpiler from cancelling U^dagger U
    pass_manager = generate_preset_pass_manager(
        optimization_level=1, basis_gates=["rz", "sx", "x", "cx"], seed_transpiler=0
    )
    once, three_times = pass_manager.run(folded)
    assert three_times.count_ops()["cx"] == 3 * once.count_ops()["cx"]


def test_only_unitary_circuits_fold():
    measured = _bell()
    measured.measure_all()
    with pytest.raises(ValueError, match="Only unitary circuits can be folded"):
        ZeroNoiseExtrapolation().fold(measured)
    with pytest.raises(TypeError, match="circuit must be a qiskit QuantumCircuit"):
        ZeroNoiseExtrapolation().fold("not a circuit")


def test_folding_and_extrapolation_match_mitiq():
    pytest.importorskip("mitiq")
    pytest.importorskip("ply")  # mitiq converts Qiskit circuits through Cirq's QASM parser
    from mitiq.zne.inference import LinearFactory, RichardsonFactory
    from mitiq.zne.scaling import fold_global

    circuit = _bell()
    zne = ZeroNoiseExtrapolation(scale_factors=(1, 3, 5))
    for factor, scaled in zip(zne.scale_factors, zne.fold(circuit), strict=True):
        # mitiq returns a circuit over a register, with its own gate names; same unitary
        reference = fold_global(circuit, factor)
        assert reference.count_ops()["cx"] == scaled.count_ops()["cx"] == factor
        assert Operator(reference).equiv(Operator(scaled))
    rng = np.random.default_rng(3)
    for _ in range(5):
        values = rng.uniform(-1, 1, size=3)
        assert zne.extrapolate(values) == pytest.approx(
            RichardsonFactory.extrapolate([1, 3, 5], values), abs=1e-12
        )
        linear = ZeroNoiseExtrapolation((1, 3, 5), "linear").extrapolate(values)
        assert linear == pytest.approx(LinearFactory.extrapolate([1, 3, 5], values), abs=1e-12)


# ---------------------------------------------------------------------------------------
# the classifiers' mitigated route
def test_mitigation_cuts_the_error_of_noisy_expectation_values_by_at_least_half(data, exact):
    X, _ = data
    exact_scores = exact.decision_function(X)
    noisy = pickle.loads(pickle.dumps(exact)).set_params(noise_model=depolarizing_noise())
    noisy_scores = noisy.decision_function(X)
    mitigated_scores = noisy.set_params(mitigation=ZeroNoiseExtrapolation()).decision_function(X)
    noisy_error = np.mean(np.abs(noisy_scores - exact_scores))
    mitigated_error = np.mean(np.abs(mitigated_scores - exact_scores))
    assert noisy_error > 0.01  # the noise does matter here
    assert mitigated_error < noisy_error / 2


def test_mitigated_values_are_the_extrapolation_of_the_folded_circuits(data, exact):
    X, _ = data
    noise = depolarizing_noise(0.03, 0.003)
    zne = ZeroNoiseExtrapolation(scale_factors=(1, 3, 5), extrapolation="linear")
    mitigated = pickle.loads(pickle.dumps(exact)).set_params(noise_model=noise, mitigation=zne)
    # the reference, by hand: bind every sample, fold, simulate with noise, extrapolate
    circuit = exact.circuit_
    binding = dict(zip(exact.weight_parameters_, exact.weights_, strict=True))
    estimator = noisy_aer(noise)
    observable = SparsePauliOp("IIIZ")
    values = np.empty((3, len(X)))
    for i, row in enumerate(X):
        bound = circuit.assign_parameters(
            {**binding, **dict(zip(exact.feature_parameters_, row, strict=True))}
        )
        results = estimator.run([(scaled, observable) for scaled in zne.fold(bound)]).result()
        values[:, i] = [float(result.data.evs) for result in results]
    np.testing.assert_allclose(mitigated.decision_function(X), zne.extrapolate(values), atol=1e-10)


def test_without_noise_mitigation_changes_nothing(data, exact):
    X, _ = data
    estimator = CountingEstimator(StatevectorEstimator())
    noiseless = pickle.loads(pickle.dumps(exact)).set_params(
        estimator=estimator, mitigation=ZeroNoiseExtrapolation(scale_factors=(1, 3, 5, 7))
    )
    np.testing.assert_allclose(
        noiseless.decision_function(X), exact.decision_function(X), rtol=0, atol=1e-10
    )
    # one call, one PUB per scale factor, each holding every sample (of the one sub-model)
    assert estimator.calls == [[(1, 12, 12)] * 4]


def test_fit_with_mitigation_is_one_call_per_step_and_reproducible(data):
    X, y = data
    estimator = CountingEstimator(noisy_aer(depolarizing_noise()))
    zne = ZeroNoiseExtrapolation(scale_factors=(1, 3))
    a = study_vqc(max_iter=12, estimator=estimator, mitigation=zne, random_state=0).fit(X, y)
    assert estimator.calls == [[(12, 12)] * 2] * 12
    b = study_vqc(max_iter=12, noise_model=depolarizing_noise(), mitigation=zne, random_state=0)
    b.fit(X, y)
    assert a.loss_curve_ == b.loss_curve_
    c = study_vqc(max_iter=12, noise_model=depolarizing_noise(), random_state=0).fit(X, y)
    assert c.loss_curve_[0] != a.loss_curve_[0]


def test_shot_noise_is_independent_between_scale_factors(data, exact, monkeypatch):
    X, _ = data
    seeds = []
    original_run = AerEstimator.run

    def recording_run(self, pubs, *, precision=None):
        seeds.append(self.options.run_options["seed_simulator"])
        return original_run(self, pubs, precision=precision)

    monkeypatch.setattr(AerEstimator, "run", recording_run)
    classifier = pickle.loads(pickle.dumps(exact)).set_params(
        shots=1000, noise_model=depolarizing_noise(), mitigation=ZeroNoiseExtrapolation()
    )
    first = classifier.decision_function(X)
    # built-in Aer: one call per scale factor, each with its own seed
    assert len(seeds) == 3
    assert len(set(seeds)) == 3
    np.testing.assert_array_equal(classifier.decision_function(X), first)


def test_multiclass_and_reuploading_with_mitigation(data):
    X, _ = data
    y = np.arange(len(X)) % 3
    noise = depolarizing_noise()
    zne = ZeroNoiseExtrapolation(scale_factors=(1, 3))
    estimator = CountingEstimator(noisy_aer(noise))
    vqc = study_vqc(max_iter=10, random_state=0).fit(X, y)
    vqc.set_params(estimator=estimator, mitigation=zne)
    assert vqc.decision_function(X).shape == (len(X), 3)
    assert estimator.calls == [[(3, 12, 12)] * 2]
    reuploading = DataReuploadingClassifier(n_layers=2, max_iter=40, random_state=0)
    reuploading.fit(X, (X[:, 0] > X[:, 1]).astype(int))
    exact_scores = reuploading.decision_function(X)
    noisy_scores = reuploading.set_params(noise_model=noise).decision_function(X)
    mitigated_scores = reuploading.set_params(mitigation=zne).decision_function(X)
    assert np.mean(np.abs(mitigated_scores - exact_scores)) < np.mean(
        np.abs(noisy_scores - exact_scores)
    )


def test_clone_copies_the_mitigation(exact):
    zne = ZeroNoiseExtrapolation((1, 3), "linear")
    copy = clone(study_vqc(mitigation=zne, noise_model=depolarizing_noise()))
    assert copy.mitigation == zne
    assert "ZeroNoiseExtrapolation(scale_factors=(1, 3)" in repr(copy)


def test_pass_manager_and_mitigation_need_the_estimator_route(data):
    X, y = data
    with pytest.raises(ValueError, match=r"^pass_manager apply only to the Estimator route"):
        study_vqc(max_iter=10, pass_manager=PassManager()).fit(X, y)
    with pytest.raises(ValueError, match=r"^mitigation apply only to the Estimator route"):
        study_vqc(max_iter=10, mitigation=ZeroNoiseExtrapolation()).fit(X, y)
