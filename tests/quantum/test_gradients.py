"""Parameter-shift gradients: against finite differences and qiskit-machine-learning."""

from __future__ import annotations

import numpy as np
import pytest
from qiskit.circuit import ParameterVector, QuantumCircuit

from qbloodcell.quantum._circuits import make_circuits, z0_observable
from qbloodcell.quantum._gradients import (
    AnsatzGradient,
    CircuitGradient,
    NoShiftRuleError,
    gradient_circuit,
    loss_value_and_derivative,
)
from qbloodcell.quantum._reuploading import build_reuploading_circuit
from qbloodcell.quantum._statevector import CompiledCircuit, ZExpectation, z_expectation

EPS = 1e-5


def _central_differences(f, w):
    columns = [(f(w + EPS * e) - f(w - EPS * e)) / (2 * EPS) for e in np.eye(w.size)]
    return np.column_stack(columns)


def _whole_circuit(circuit, inputs, weights, X):
    compiled = CompiledCircuit(circuit, (*inputs, *weights))

    def f(w):
        rows = np.column_stack([X, np.broadcast_to(w, (X.shape[0], w.size))])
        return z_expectation(compiled.evolve(rows))

    return f


@pytest.mark.parametrize("ansatz", ["real_amplitudes", "efficient_su2"])
@pytest.mark.parametrize("n_samples", [3, 40])  # direct path, and the quadratic features
def test_vqc_jacobian_matches_finite_differences(ansatz, n_samples):
    rng = np.random.default_rng(0)
    circuits = make_circuits(
        4, feature_map_reps=2, ansatz_reps=2, entanglement="full", ansatz=ansatz
    )
    X = rng.uniform(0, 2, (n_samples, 4))
    states = CompiledCircuit(circuits.feature_map, circuits.feature_parameters).evolve(X)
    forward = ZExpectation(CompiledCircuit(circuits.ansatz, circuits.weight_parameters), states)
    gradient = AnsatzGradient(circuits.ansatz, circuits.weight_parameters, states)
    w = rng.uniform(-np.pi, np.pi, len(circuits.weight_parameters))
    values, jacobian = gradient.value_and_jacobian(w)
    np.testing.assert_allclose(values, forward(w), atol=1e-12)
    assert jacobian.shape == (n_samples, w.size)
    np.testing.assert_allclose(jacobian, _central_differences(forward, w), atol=1e-8)
    assert np.abs(jacobian).max() > 0.1  # not trivially zero


def test_reuploading_jacobian_chain_rule_matches_finite_differences():
    rng = np.random.default_rng(1)
    circuits = build_reuploading_circuit(3, 2, "circular")
    X = rng.uniform(0, 1, (15, 3))
    gradient = CircuitGradient(
        circuits.circuit, circuits.feature_parameters, circuits.weight_parameters, X
    )
    w = rng.normal(size=len(circuits.weight_parameters))
    f = _whole_circuit(circuits.circuit, circuits.feature_parameters, circuits.weight_parameters, X)
    values, jacobian = gradient.value_and_jacobian(w)
    np.testing.assert_allclose(values, f(w), atol=1e-12)
    np.testing.assert_allclose(jacobian, _central_differences(f, w), atol=1e-8)


def test_four_term_rules_shared_weights_and_expressions():
    """Controlled rotations (four-term rule), U, CP, RZZ, a weight in several gates and
    non-linear angle expressions, all by the chain rule."""
    rng = np.random.default_rng(2)
    t, x = ParameterVector("t", 3), ParameterVector("x", 2)
    qc = QuantumCircuit(3)
    qc.ry(x[0], 0)
    qc.rx(x[1], 1)
    qc.h(2)
    qc.cry(t[0], 0, 1)
    qc.ry(2 * t[1], 0)
    qc.rz(t[1], 1)
    qc.u(t[2], t[0], 0.3, 0)
    qc.crx(t[2] * t[1], 1, 0)
    qc.crz(t[0] + x[0], 2, 0)
    qc.rzz(t[0], 0, 2)
    qc.cp(t[1], 0, 1)
    qc.rx(t[2] ** 2, 2)
    qc.cx(2, 0)
    X = rng.uniform(0, 2, (7, 2))
    gradient = CircuitGradient(qc, tuple(x), tuple(t), X)
    assert gradient.gradient.n_angles == 10
    f = _whole_circuit(qc, tuple(x), tuple(t), X)
    w = rng.normal(size=3)
    values, jacobian = gradient.value_and_jacobian(w)
    np.testing.assert_allclose(values, f(w), atol=1e-12)
    np.testing.assert_allclose(jacobian, _central_differences(f, w), atol=1e-7)


def test_gate_without_a_shift_rule_is_a_clear_value_error():
    t = ParameterVector("t", 2)
    qc = QuantumCircuit(1)
    qc.r(t[0], t[1], 0)  # R's phi enters twice: no two-term rule
    with pytest.raises(NoShiftRuleError, match=r"no parameter-shift rule.*gradient-free"):
        gradient_circuit(qc, (), tuple(t))
    assert issubclass(NoShiftRuleError, ValueError)


def test_vqc_jacobian_matches_qiskit_machine_learning_estimator_qnn():
    qml = pytest.importorskip("qiskit_machine_learning.neural_networks")
    from qiskit.primitives import StatevectorEstimator
    from qiskit_machine_learning.gradients import ParamShiftEstimatorGradient

    rng = np.random.default_rng(3)
    circuits = make_circuits(
        4, feature_map_reps=2, ansatz_reps=1, entanglement="full", ansatz="real_amplitudes"
    )
    X = rng.uniform(0, 2, (6, 4))
    w = rng.uniform(-np.pi, np.pi, len(circuits.weight_parameters))
    estimator = StatevectorEstimator()
    qnn = qml.EstimatorQNN(
        circuit=circuits.circuit,
        estimator=estimator,
        observables=z0_observable(4),
        input_params=list(circuits.feature_parameters),
        weight_params=list(circuits.weight_parameters),
        gradient=ParamShiftEstimatorGradient(estimator),
        default_precision=0.0,
    )
    reference_values = qnn.forward(X, w)[:, 0]
    _, reference_jacobian = qnn.backward(X, w)
    states = CompiledCircuit(circuits.feature_map, circuits.feature_parameters).evolve(X)
    values, jacobian = AnsatzGradient(
        circuits.ansatz, circuits.weight_parameters, states
    ).value_and_jacobian(w)
    np.testing.assert_allclose(values, reference_values, atol=1e-10)
    np.testing.assert_allclose(jacobian, np.asarray(reference_jacobian)[:, 0, :], atol=1e-10)


@pytest.mark.parametrize("kind", ["mse", "cross_entropy"])
def test_loss_derivative_matches_finite_differences(kind):
    rng = np.random.default_rng(4)
    z = rng.uniform(-0.95, 0.95, 30)
    target = rng.choice([-1.0, 1.0], 30)
    value, derivative = loss_value_and_derivative(kind, z, target)
    numeric = [
        (
            loss_value_and_derivative(kind, z + EPS * e, target)[0]
            - loss_value_and_derivative(kind, z - EPS * e, target)[0]
        )
        / (2 * EPS)
        for e in np.eye(z.size)
    ]
    np.testing.assert_allclose(derivative, numeric, atol=1e-8)
    p = (1 + z) / 2
    expected = (
        np.mean((z - target) ** 2)
        if kind == "mse"
        else -np.mean(np.where(target > 0, np.log(p), np.log(1 - p)))
    )
    assert value == pytest.approx(expected)


def test_cross_entropy_is_finite_at_certain_wrong_predictions():
    value, derivative = loss_value_and_derivative(
        "cross_entropy", np.array([1.0, -1.0]), np.array([-1.0, 1.0])
    )
    assert np.isfinite(value)
    assert value > 10
    assert np.all(np.isfinite(derivative))


def test_custom_ansatz_through_the_batched_unitaries():
    """Dense two-qubit gates, phase runs and controlled rotations in the ansatz of the VQC
    path (the batched unitaries of ZExpectation.many), against finite differences."""
    rng = np.random.default_rng(5)
    circuits = make_circuits(3, feature_map_reps=1, ansatz_reps=1, entanglement="full")
    t = ParameterVector("t", 6)
    ansatz = QuantumCircuit(3)
    ansatz.ry(t[0], 0)
    ansatz.rxx(t[1], 0, 1)
    ansatz.cry(t[2], 1, 2)
    ansatz.rzz(t[3], 0, 2)
    ansatz.swap(0, 1)
    ansatz.cp(t[4], 1, 0)
    ansatz.u(t[5], t[0], t[1], 2)
    ansatz.cx(2, 0)
    X = rng.uniform(0, 2, (30, 3))
    states = CompiledCircuit(circuits.feature_map, circuits.feature_parameters).evolve(X)
    forward = ZExpectation(CompiledCircuit(ansatz, tuple(t)), states)
    assert forward.features is not None  # the quadratic-features path
    w = rng.uniform(-np.pi, np.pi, 6)
    values, jacobian = AnsatzGradient(ansatz, tuple(t), states).value_and_jacobian(w)
    np.testing.assert_allclose(values, forward(w), atol=1e-12)
    np.testing.assert_allclose(jacobian, _central_differences(forward, w), atol=1e-8)
    rows = rng.uniform(-np.pi, np.pi, (4, 6))
    np.testing.assert_allclose(
        forward.many(rows), np.stack([forward(row) for row in rows]), atol=1e-12
    )
