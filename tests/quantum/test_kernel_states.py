"""The kernels' feature-map states against qiskit.quantum_info.Statevector.

The quantum kernels prepare their states with the package's one simulator
(``quantum._statevector.CompiledCircuit``, ``role="kernel"``); these are the kernel cases.
"""

from __future__ import annotations

import numpy as np
import pytest
from qiskit.circuit import Gate, Parameter, ParameterVector, QuantumCircuit
from qiskit.circuit.library import (
    CPhaseGate,
    CRZGate,
    PhaseGate,
    RZGate,
    RZZGate,
    U1Gate,
    pauli_feature_map,
    z_feature_map,
    zz_feature_map,
)
from qiskit.quantum_info import Statevector

from qbloodcell.quantum import FidelityQuantumKernel
from qbloodcell.quantum._statevector import CompiledCircuit

# the phase of each diagonal gate on its local basis states (first qubit least significant),
# as multiples of the angle: what the simulator's run steps must reproduce
_DIAGONAL_PHASES = {
    "p": (0.0, 1.0),
    "u1": (0.0, 1.0),
    "rz": (-0.5, 0.5),
    "cp": (0.0, 0.0, 0.0, 1.0),
    "cu1": (0.0, 0.0, 0.0, 1.0),
    "crz": (0.0, -0.5, 0.0, 0.5),
    "rzz": (-0.5, 0.5, 0.5, -0.5),
}


def _simulator(circuit, parameters=None):
    parameters = tuple(circuit.parameters) if parameters is None else parameters
    return CompiledCircuit(circuit, parameters, role="kernel")


def _reference(circuit, values, initial=None):
    parameters = tuple(circuit.parameters)
    states = []
    for row, value in enumerate(values):
        bound = circuit.assign_parameters(dict(zip(parameters, value, strict=True)))
        start = Statevector.from_label("0" * circuit.num_qubits) if initial is None else None
        state = (start if initial is None else Statevector(initial[row])).evolve(bound)
        states.append(state.data)
    return np.array(states)


def _check(circuit, n_rows=5, seed=0, initial=None):
    rng = np.random.default_rng(seed)
    values = rng.uniform(-np.pi, np.pi, size=(n_rows, circuit.num_parameters))
    simulator = _simulator(circuit)
    np.testing.assert_allclose(
        simulator.evolve(values, initial), _reference(circuit, values, initial), atol=1e-12, rtol=0
    )
    return simulator


@pytest.mark.parametrize("n_qubits", [2, 3, 4, 7, 8])
@pytest.mark.parametrize("entanglement", ["full", "linear", "circular"])
@pytest.mark.parametrize("reps", [1, 2])
def test_zz_feature_map_matches_statevector(n_qubits, entanglement, reps):
    circuit = zz_feature_map(n_qubits, reps=reps, entanglement=entanglement)
    simulator = _check(circuit, seed=n_qubits)
    # Hadamard layers and diagonal runs (the CX sandwiches fused away), nothing else
    kinds = [type(step).__name__ for step in simulator._schedule(per_row=True)]
    assert kinds == ["_LayerStep", "_RunStep"] * reps


def test_other_library_feature_maps_match_statevector():
    _check(z_feature_map(3, reps=2))
    _check(pauli_feature_map(3, reps=2, paulis=["Z", "XX", "YZ"]))


def test_mixed_circuit_with_every_segment_kind_matches_statevector():
    x = ParameterVector("x", 3)
    circuit = QuantumCircuit(3)
    circuit.h(0)
    circuit.ry(x[0], 1)  # data-dependent, not diagonal: the batched simulator
    circuit.cx(0, 2)
    circuit.rzz(x[1] * x[2], 0, 2)
    circuit.crz(x[2], 1, 0)
    circuit.s(2)
    circuit.swap(0, 1)
    circuit.ccx(0, 1, 2)  # constant, one non-zero per row: absorbed as a permutation
    circuit.cp(np.sin(x[0]), 2, 1)  # not a polynomial: bound row by row
    circuit.t(1)
    circuit.sx(0)
    circuit.rx(0.3, 2)
    circuit.rxx(0.4, 0, 2)  # constant, dense on two qubits: the batched simulator
    circuit.cp(x[1], 0, 1, ctrl_state=0)  # open control: decomposed first
    circuit.global_phase = x[0] / 3
    simulator = _check(circuit, n_rows=7)
    kinds = {type(step).__name__ for step in simulator._schedule(per_row=True)}
    assert kinds == {"_LayerStep", "_RunStep", "_DenseStep"}


def test_initial_states_are_evolved():
    circuit = zz_feature_map(3, reps=2)
    rng = np.random.default_rng(3)
    initial = rng.normal(size=(4, 8)) + 1j * rng.normal(size=(4, 8))
    initial /= np.linalg.norm(initial, axis=1, keepdims=True)
    _check(circuit, n_rows=4, initial=initial)


@pytest.mark.parametrize("n_qubits", [8, 10])
def test_kernel_states_match_statevector_on_large_registers(n_qubits):
    # above six qubits the Hadamard layers run in blocks of four qubits
    circuit = zz_feature_map(n_qubits, reps=2, entanglement="linear")
    values = np.random.default_rng(1).uniform(0, 2, size=(6, n_qubits))
    kernel = FidelityQuantumKernel(feature_map=circuit, bandwidth=1.0)
    states = kernel.statevectors(values)
    assert states.flags.c_contiguous
    np.testing.assert_allclose(states, _reference(circuit, values), atol=1e-12, rtol=0)


@pytest.mark.parametrize(
    ("name", "gate", "n_qubits"),
    [
        ("p", PhaseGate, 1),
        ("u1", U1Gate, 1),
        ("rz", RZGate, 1),
        ("cp", CPhaseGate, 2),
        ("cu1", None, 2),
        ("crz", CRZGate, 2),
        ("rzz", RZZGate, 2),
    ],
)
def test_diagonal_phase_table_matches_qiskit(name, gate, n_qubits):
    angle = 0.7
    if gate is None:
        from qiskit.circuit.library import CU1Gate as gate
    matrix = gate(angle).to_matrix()
    np.testing.assert_allclose(matrix, np.diag(np.diag(matrix)), atol=1e-15)
    np.testing.assert_allclose(
        np.diag(matrix), np.exp(1j * angle * np.asarray(_DIAGONAL_PHASES[name])), atol=1e-14
    )
    assert len(_DIAGONAL_PHASES[name]) == 2**n_qubits
    # the simulator's diagonal run of this gate at a data-dependent angle
    x = Parameter("x")
    circuit = QuantumCircuit(n_qubits)
    circuit.append(gate(x), range(n_qubits))
    np.testing.assert_allclose(_simulator(circuit).unitary([[angle]]), matrix, atol=1e-14)


def test_rejects_measurements_and_unbound_parameters():
    circuit = QuantumCircuit(2, 2)
    circuit.rz(Parameter("a"), 0)
    circuit.measure(0, 0)
    with pytest.raises(ValueError, match=r"non-unitary instruction 'measure'.*quantum kernel"):
        _simulator(circuit)
    free = QuantumCircuit(1)
    free.rz(Parameter("a") + Parameter("b"), 0)
    with pytest.raises(ValueError, match=r"parameters \['b'\].*kernel's features"):
        _simulator(free, (free.parameters[0],))
    simulator = _simulator(free)
    with pytest.raises(ValueError, match=r"shape \(n_rows, 2\)"):
        simulator.evolve(np.zeros((3, 3)))
    opaque = QuantumCircuit(1)
    opaque.append(Gate("mystery", 1, [Parameter("t")]), [0])
    with pytest.raises(NotImplementedError, match=r"mystery.*sampler=\.\.\. or shots=\.\.\."):
        _simulator(opaque)
