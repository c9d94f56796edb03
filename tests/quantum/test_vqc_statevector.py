"""The batched exact simulator against qiskit.quantum_info.Statevector."""

from __future__ import annotations

import numpy as np
import pytest
from qiskit.circuit import Gate, Parameter, ParameterVector, QuantumCircuit
from qiskit.circuit.library import UnitaryGate, efficient_su2, real_amplitudes, zz_feature_map
from qiskit.quantum_info import SparsePauliOp, Statevector, random_unitary

from qbloodcell.quantum._circuits import make_circuits, z0_observable
from qbloodcell.quantum._statevector import (
    CompiledCircuit,
    ZExpectation,
    compile_angle,
    z_expectation,
)


def _reference_states(circuit, parameters, values):
    return np.array(
        [
            Statevector(circuit.assign_parameters(dict(zip(parameters, row, strict=True)))).data
            for row in values
        ]
    )


def _check_against_statevector(circuit, n_rows=6, seed=0, scale=np.pi):
    parameters = tuple(circuit.parameters)
    rng = np.random.default_rng(seed)
    values = rng.uniform(-scale, scale, size=(n_rows, len(parameters)))
    compiled = CompiledCircuit(circuit, parameters)
    np.testing.assert_allclose(
        compiled.evolve(values), _reference_states(circuit, parameters, values), atol=1e-10
    )
    return compiled, values


@pytest.mark.parametrize("n_qubits", [2, 3, 4, 5])
@pytest.mark.parametrize("entanglement", ["full", "linear", "circular"])
def test_default_feature_map_and_ansatz_match_statevector(n_qubits, entanglement):
    circuits = make_circuits(n_qubits, feature_map_reps=2, ansatz_reps=1, entanglement=entanglement)
    _check_against_statevector(circuits.circuit, seed=n_qubits)


def test_feature_map_then_ansatz_unitary_matches_full_circuit():
    circuits = make_circuits(4, feature_map_reps=2, ansatz_reps=1, entanglement="full")
    rng = np.random.default_rng(1)
    X = rng.uniform(0, 2, size=(7, 4))
    weights = rng.uniform(-np.pi, np.pi, size=8)
    feature_map = CompiledCircuit(circuits.feature_map, circuits.feature_parameters)
    ansatz = CompiledCircuit(circuits.ansatz, circuits.weight_parameters)
    states = feature_map.evolve(X) @ ansatz.unitary(weights).T
    bound = [
        circuits.circuit.assign_parameters(
            dict(zip(circuits.feature_parameters, row, strict=True))
            | dict(zip(circuits.weight_parameters, weights, strict=True))
        )
        for row in X
    ]
    expected = np.array([Statevector(c).data for c in bound])
    np.testing.assert_allclose(states, expected, atol=1e-10)
    # qubit 0 is the last character of the Pauli label (little-endian)
    observable = SparsePauliOp("IIIZ")
    expected_z = [Statevector(c).expectation_value(observable).real for c in bound]
    np.testing.assert_allclose(z_expectation(states), expected_z, atol=1e-10)
    np.testing.assert_allclose(
        ZExpectation(ansatz, feature_map.evolve(X))(weights), expected_z, atol=1e-10
    )
    assert z0_observable(4) == observable
    # and it is not the big-endian "first" qubit
    other = [Statevector(c).expectation_value(SparsePauliOp("ZIII")).real for c in bound]
    assert not np.allclose(z_expectation(states), other)


@pytest.mark.parametrize("n_rows", [3, 40, 300])
def test_z_expectation_paths_agree(n_rows):
    # quadratic features (many rows), explicit unitary and direct application
    circuits = make_circuits(3, feature_map_reps=1, ansatz_reps=2, entanglement="linear")
    rng = np.random.default_rng(n_rows)
    feature_map = CompiledCircuit(circuits.feature_map, circuits.feature_parameters)
    ansatz = CompiledCircuit(circuits.ansatz, circuits.weight_parameters)
    states = feature_map.evolve(rng.uniform(0, 2, size=(n_rows, 3)))
    weights = rng.uniform(-np.pi, np.pi, size=ansatz.n_parameters)
    direct = z_expectation(ansatz.evolve(np.tile(weights, (n_rows, 1)), states))
    np.testing.assert_allclose(ZExpectation(ansatz, states)(weights), direct, atol=1e-12)
    np.testing.assert_allclose(z_expectation(ansatz.apply(states, weights)), direct, atol=1e-12)


def test_custom_circuit_with_many_gate_kinds_and_expressions():
    x = ParameterVector("x", 3)
    theta = ParameterVector("t", 6)
    qc = QuantumCircuit(3)
    qc.h(0)
    qc.sx(1)
    qc.rx(x[0] * x[1], 2)
    qc.ry(2 * x[1] + 0.3, 0)
    qc.rz(x[2] ** 2 - x[0], 1)
    qc.p(np.pi - x[2], 2)
    qc.u(x[0], theta[0], x[1] * theta[1], 1)
    qc.cx(0, 2)
    qc.cz(2, 1)
    qc.swap(0, 1)
    qc.rzz(theta[2], 0, 2)
    qc.rxx(theta[3] * x[0], 1, 2)
    qc.ryy(theta[4], 2, 0)
    qc.rzx(theta[5], 1, 0)
    qc.crx(theta[0] - theta[1], 2, 0)
    qc.cry(x[1], 0, 1)
    qc.crz(theta[2], 1, 2)
    qc.cp(x[2] * theta[3], 0, 1)
    qc.r(theta[4], x[0], 2)
    qc.append(UnitaryGate(random_unitary(4, seed=3)), [2, 0])
    qc.ccx(0, 1, 2)
    qc.s(0)
    qc.tdg(1)
    qc.y(2)
    qc.barrier()
    _check_against_statevector(qc)


def test_non_polynomial_expressions_and_parameterised_global_phase():
    a, b = Parameter("a"), Parameter("b")
    qc = QuantumCircuit(2, global_phase=a / 2 + 0.1)
    qc.ry(a.sin() * b, 0)
    qc.rz(b.exp(), 1)
    qc.cx(0, 1)
    qc.rx((a * b).cos() + a**3 * b**2, 1)
    compiled, _ = _check_against_statevector(qc, scale=1.0)
    kinds = [angle.kind for op in compiled.operations for angle in op.angles]
    assert kinds == ["bind", "bind", "bind"]
    assert compiled.global_phase.kind == "polynomial"


def test_polynomial_angles_are_vectorised():
    x = ParameterVector("x", 2)
    evaluator = compile_angle((np.pi - x[0]) * (np.pi - x[1]) * 2, tuple(x))
    assert evaluator.kind == "polynomial"
    values = np.random.default_rng(0).uniform(0, 2, size=(5, 2))
    expected = (np.pi - values[:, 0]) * (np.pi - values[:, 1]) * 2
    np.testing.assert_allclose(evaluator(values), expected, rtol=1e-13)


def test_parameterised_gates_without_formula_are_decomposed():
    theta = Parameter("t")
    inner = QuantumCircuit(2, name="mygate")
    inner.h(0)
    inner.crz(theta, 0, 1)
    inner.ry(theta / 3, 1)
    qc = QuantumCircuit(3)
    qc.append(inner.to_gate(), [2, 0])
    qc.append(efficient_su2(2, reps=1).to_gate(), [0, 1])
    qc.cu(theta, 0.2, 0.3, 0.4, 1, 2)
    _check_against_statevector(qc)


def test_errors_are_clear():
    qc = QuantumCircuit(1, 1)
    qc.h(0)
    qc.measure(0, 0)
    with pytest.raises(ValueError, match="non-unitary instruction 'measure'"):
        CompiledCircuit(qc, ())
    theta = Parameter("t")
    opaque = QuantumCircuit(1)
    opaque.append(Gate("mystery", 1, [theta]), [0])
    with pytest.raises(NotImplementedError, match="mystery"):
        CompiledCircuit(opaque, (theta,))
    ry = QuantumCircuit(1)
    ry.ry(theta, 0)
    with pytest.raises(ValueError, match="not bound"):
        CompiledCircuit(ry, ())
    with pytest.raises(ValueError, match=r"shape \(n_rows, 1\)"):
        CompiledCircuit(ry, (theta,)).evolve(np.zeros((2, 3)))


def test_library_circuits_other_sizes():
    for n_qubits in (1, 2, 6):
        circuit = real_amplitudes(n_qubits, reps=2, entanglement="full")
        _check_against_statevector(circuit, seed=n_qubits)
    _check_against_statevector(zz_feature_map(3, reps=3, entanglement="circular"), seed=9)
