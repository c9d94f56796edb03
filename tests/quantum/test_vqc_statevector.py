"""The batched exact simulator against qiskit.quantum_info.Statevector."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from qiskit.circuit import Gate, Parameter, ParameterVector, QuantumCircuit
from qiskit.circuit.library import (
    GlobalPhaseGate,
    UnitaryGate,
    efficient_su2,
    real_amplitudes,
    zz_feature_map,
)
from qiskit.quantum_info import Operator, SparsePauliOp, Statevector, random_unitary

from qbloodcell.quantum import _statevector
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


# --------------------------------------------------------------------------------------------
# layers, runs and dense gates: every path against Statevector and the previous simulator
# --------------------------------------------------------------------------------------------
# the simulator as it was before gates were fused (each gate one gather), kept beside the
# tests (pytest runs with --import-mode=importlib)
sys.path.insert(0, str(Path(__file__).parent))
import _statevector_reference as reference  # noqa: E402

EXACT = 1e-12
_FIXED_ONE = ("h", "x", "y", "z", "s", "sdg", "t", "tdg", "sx", "sxdg")
_FIXED_TWO = ("cx", "cz", "cy", "swap", "ch", "iswap", "ecr", "dcx", "csx")
_ROTATIONS_ONE = ("rx", "ry", "rz", "p")
_ROTATIONS_TWO = ("crx", "cry", "crz", "cp", "rxx", "ryy", "rzz", "rzx")


def _random_angle(rng, parameters):
    a, b = (parameters[j] for j in rng.choice(len(parameters), size=2))
    choices = (
        lambda: a,
        lambda: 2 * a + 0.3,
        lambda: a * b,
        lambda: a**2 - b,
        lambda: float(rng.uniform(-3, 3)),
        lambda: (np.pi - a) * (np.pi - b) * 2,
        lambda: a.sin() * b,  # not a polynomial: bound row by row
    )
    return choices[rng.integers(len(choices))]()


def random_circuit(n_qubits, n_gates, seed, *, n_parameters=5):
    """Random gates of every kind the simulator distinguishes, with parameter expressions and
    a parameterised global phase."""
    rng = np.random.default_rng(seed)
    parameters = ParameterVector("p", n_parameters)
    qc = QuantumCircuit(n_qubits, global_phase=0.4 + parameters[0] / 2)
    for _ in range(n_gates):
        kind = rng.integers(9 if n_qubits >= 3 else 8)
        qubits = [int(q) for q in rng.permutation(n_qubits)[:3]]
        if kind == 0:
            getattr(qc, _FIXED_ONE[rng.integers(len(_FIXED_ONE))])(qubits[0])
        elif kind in (1, 2):
            name = _ROTATIONS_ONE[rng.integers(len(_ROTATIONS_ONE))]
            getattr(qc, name)(_random_angle(rng, parameters), qubits[0])
        elif kind == 3:
            angles = [_random_angle(rng, parameters) for _ in range(3)]
            qc.u(*angles, qubits[0])
        elif kind == 4 and n_qubits >= 2:
            getattr(qc, _FIXED_TWO[rng.integers(len(_FIXED_TWO))])(*qubits[:2])
        elif kind == 5 and n_qubits >= 2:
            name = _ROTATIONS_TWO[rng.integers(len(_ROTATIONS_TWO))]
            getattr(qc, name)(_random_angle(rng, parameters), *qubits[:2])
        elif kind == 6 and n_qubits >= 2:
            qc.append(UnitaryGate(random_unitary(4, seed=int(rng.integers(1000)))), qubits[:2])
        elif kind == 7 and n_qubits >= 2:
            qc.cx(*qubits[:2])
        elif kind == 8:
            qc.ccx(*qubits)
    return qc, tuple(parameters)


def _statevectors(circuit, parameters, values, states=None):
    out = []
    for row, value in enumerate(values):
        bound = circuit.assign_parameters(dict(zip(parameters, value, strict=True)))
        start = (
            Statevector(states[row])
            if states is not None
            else Statevector.from_int(0, 2**circuit.num_qubits)
        )
        out.append(start.evolve(bound).data)
    return np.array(out)


def _random_states(n_rows, n_qubits, rng):
    states = rng.normal(size=(n_rows, 2**n_qubits)) + 1j * rng.normal(size=(n_rows, 2**n_qubits))
    return states / np.linalg.norm(states, axis=1, keepdims=True)


@pytest.mark.parametrize(
    ("n_qubits", "n_gates"), [(1, 12), (2, 30), (4, 60), (7, 60), (8, 50), (12, 40)]
)
def test_random_circuits_match_statevector_and_reference(n_qubits, n_gates):
    circuit, parameters = random_circuit(n_qubits, n_gates, seed=n_qubits)
    rng = np.random.default_rng(n_qubits)
    values = rng.uniform(-2, 2, size=(3, len(parameters)))
    compiled = CompiledCircuit(circuit, parameters)
    expected = _statevectors(circuit, parameters, values)
    states = compiled.evolve(values)
    np.testing.assert_allclose(states, expected, rtol=0, atol=EXACT)
    old = reference.CompiledCircuit(circuit, parameters)
    np.testing.assert_allclose(states, old.evolve(values), rtol=0, atol=EXACT)
    # one shared row applied to given states
    inputs = _random_states(4, n_qubits, rng)
    shared = values[:1]
    applied = compiled.apply(inputs, shared)
    np.testing.assert_allclose(
        applied, _statevectors(circuit, parameters, np.repeat(shared, 4, 0), inputs), atol=EXACT
    )
    np.testing.assert_allclose(applied, old.apply(inputs, shared), rtol=0, atol=EXACT)
    # one row per given state
    np.testing.assert_allclose(
        compiled.evolve(values, inputs[:3]),
        _statevectors(circuit, parameters, values, inputs[:3]),
        rtol=0,
        atol=EXACT,
    )
    if n_qubits <= 8:
        unitary = compiled.unitary(shared)
        bound = circuit.assign_parameters(dict(zip(parameters, shared[0], strict=True)))
        np.testing.assert_allclose(unitary, Operator(bound).data, rtol=0, atol=EXACT)
        np.testing.assert_allclose(unitary, old.unitary(shared), rtol=0, atol=EXACT)
    # <Z0> after the circuit as an ansatz, on few and on many input states
    for n_rows in (3, max(3, 2**n_qubits + 5) if n_qubits <= 6 else 3):
        inputs = _random_states(n_rows, n_qubits, rng)
        expected_z = z_expectation(
            _statevectors(circuit, parameters, np.repeat(shared, n_rows, 0), inputs)
        )
        z = ZExpectation(compiled, inputs)(shared[0])
        np.testing.assert_allclose(z, expected_z, rtol=0, atol=EXACT)
        np.testing.assert_allclose(
            z, reference.ZExpectation(old, inputs)(shared[0]), rtol=0, atol=EXACT
        )


@pytest.mark.parametrize("n_qubits", [2, 4, 7, 8, 12])
@pytest.mark.parametrize(
    ("feature_map_reps", "ansatz_reps", "entanglement"),
    [(1, 3, "full"), (2, 1, "full"), (2, 2, "linear"), (1, 1, "circular")],
)
def test_classifier_circuits_match_reference(n_qubits, feature_map_reps, ansatz_reps, entanglement):
    circuits = make_circuits(
        n_qubits,
        feature_map_reps=feature_map_reps,
        ansatz_reps=ansatz_reps,
        entanglement=entanglement,
    )
    rng = np.random.default_rng(n_qubits)
    n_rows = 40 if n_qubits <= 8 else 6
    X = rng.uniform(0, 2, size=(n_rows, n_qubits))
    weights = rng.uniform(-np.pi, np.pi, size=len(circuits.weight_parameters))
    feature_map = CompiledCircuit(circuits.feature_map, circuits.feature_parameters)
    ansatz = CompiledCircuit(circuits.ansatz, circuits.weight_parameters)
    old_map = reference.CompiledCircuit(circuits.feature_map, circuits.feature_parameters)
    old_ansatz = reference.CompiledCircuit(circuits.ansatz, circuits.weight_parameters)
    states = feature_map.evolve(X)
    np.testing.assert_allclose(states, old_map.evolve(X), rtol=0, atol=EXACT)
    np.testing.assert_allclose(
        states[:2],
        _statevectors(circuits.feature_map, circuits.feature_parameters, X[:2]),
        rtol=0,
        atol=EXACT,
    )
    z = ZExpectation(ansatz, states)(weights)
    np.testing.assert_allclose(
        z, reference.ZExpectation(old_ansatz, states)(weights), rtol=0, atol=EXACT
    )
    bound = [
        circuits.circuit.assign_parameters(
            dict(zip(circuits.feature_parameters, row, strict=True))
            | dict(zip(circuits.weight_parameters, weights, strict=True))
        )
        for row in X[:2]
    ]
    observable = z0_observable(n_qubits)
    expected = [Statevector(c).expectation_value(observable).real for c in bound]
    np.testing.assert_allclose(z[:2], expected, rtol=0, atol=EXACT)


@pytest.mark.parametrize("n_qubits", [2, 4, 7, 8])
def test_library_ansatze_real_and_complex_paths(n_qubits):
    # RealAmplitudes gives a real unitary (real arithmetic, real features), EfficientSU2 a
    # complex one; both on the quadratic-features path (many rows) and the direct one
    rng = np.random.default_rng(n_qubits)
    for ansatz in (
        real_amplitudes(n_qubits, reps=2),
        real_amplitudes(n_qubits, reps=1, entanglement="full"),
        efficient_su2(n_qubits, reps=2, entanglement="circular"),
    ):
        parameters = tuple(ansatz.parameters)
        compiled = CompiledCircuit(ansatz, parameters)
        old = reference.CompiledCircuit(ansatz, parameters)
        weights = rng.uniform(-np.pi, np.pi, size=len(parameters))
        for n_rows in (5, 2**n_qubits + 20):
            inputs = _random_states(n_rows, n_qubits, rng)
            direct = z_expectation(compiled.apply(inputs, weights))
            z = ZExpectation(compiled, inputs)(weights)
            np.testing.assert_allclose(z, direct, rtol=0, atol=EXACT)
            np.testing.assert_allclose(
                z, reference.ZExpectation(old, inputs)(weights), rtol=0, atol=EXACT
            )


def test_schedule_fuses_layers_and_runs():
    ansatz = real_amplitudes(6, reps=3)
    compiled = CompiledCircuit(ansatz, tuple(ansatz.parameters))
    kinds = [type(step).__name__ for step in compiled._schedule(per_row=False)]
    # RY layers on all qubits and CX chains, one step each
    assert kinds == ["_LayerStep", "_RunStep"] * 3 + ["_LayerStep"]
    # for <Z0>, the last layer shrinks to the gate on qubit 0
    steps, observable = compiled._folded_schedule(_statevector._z_signs(64, 0))
    assert len(steps) == 7
    assert steps[-1].qubits == (0,)
    np.testing.assert_array_equal(observable, _statevector._z_signs(64, 0))
    # a trailing run moves into the observable (Z0 after CX(1, 0) is Z0 Z1 before it)
    with_chain = ansatz.copy()
    with_chain.cx(1, 0)
    compiled = CompiledCircuit(with_chain, tuple(with_chain.parameters))
    steps, observable = compiled._folded_schedule(_statevector._z_signs(64, 0))
    assert _statevector._support(observable, 6) == {0, 1}
    assert steps[-1].qubits == (0, 1)
    # the ZZ feature map, one row per sample: a layer of H, then one run of phases
    feature_map = zz_feature_map(5, reps=1, entanglement="full")
    compiled = CompiledCircuit(feature_map, tuple(feature_map.parameters))
    steps = compiled._schedule(per_row=True)
    assert [type(step).__name__ for step in steps] == ["_LayerStep", "_RunStep"]
    assert steps[1].permutation is None
    assert steps[1].patterns.shape == (32, 5 + 10)
    # its phases are quadratic in the bits: built without a cosine per amplitude
    assert steps[1].quadratic is not None


def test_quadratic_and_general_phases():
    x = ParameterVector("x", 4)
    qc = QuantumCircuit(4)
    qc.h(range(4))
    qc.rzz(x[0] * x[1], 0, 2)
    qc.cp(x[2], 1, 3)
    qc.crz(x[3] - x[0], 3, 0)
    qc.rz(x[1], 2)
    qc.cx(0, 1)
    qc.cx(1, 2)
    qc.p(x[2] ** 2, 2)  # after the two CX: the parity of three bits, a cubic pattern
    qc.cx(1, 2)
    qc.cx(0, 1)
    values = np.random.default_rng(5).uniform(-2, 2, size=(6, 4))
    compiled = CompiledCircuit(qc, tuple(x))
    run = compiled._schedule(per_row=True)[1]
    assert isinstance(run, _statevector._RunStep)
    assert run.quadratic is None
    np.testing.assert_allclose(
        compiled.evolve(values), _statevectors(qc, tuple(x), values), rtol=0, atol=EXACT
    )
    quadratic = qc.copy()
    quadratic.data = quadratic.data[:8]  # before the CX: every pattern is quadratic
    compiled = CompiledCircuit(quadratic, tuple(x))
    assert compiled._schedule(per_row=True)[1].quadratic is not None
    np.testing.assert_allclose(
        compiled.evolve(values), _statevectors(quadratic, tuple(x), values), rtol=0, atol=EXACT
    )


def test_groups_of_rows_bound_memory(monkeypatch):
    circuits = make_circuits(7, feature_map_reps=2, ansatz_reps=2, entanglement="linear")
    rng = np.random.default_rng(3)
    X = rng.uniform(0, 2, size=(13, 7))
    weights = rng.uniform(-np.pi, np.pi, size=len(circuits.weight_parameters))
    feature_map = CompiledCircuit(circuits.feature_map, circuits.feature_parameters)
    ansatz = CompiledCircuit(circuits.ansatz, circuits.weight_parameters)
    states = feature_map.evolve(X)
    z = ZExpectation(ansatz, states)(weights)
    applied = ansatz.apply(states, weights)
    # groups of 3 rows (the last one shorter)
    monkeypatch.setattr(_statevector, "_MAX_CHUNK_AMPLITUDES", 3 * 2**7)
    np.testing.assert_allclose(feature_map.evolve(X), states, rtol=0, atol=EXACT)
    expectation = ZExpectation(ansatz, states)
    assert len(expectation._groups) == 5
    np.testing.assert_allclose(expectation(weights), z, rtol=0, atol=EXACT)
    np.testing.assert_allclose(ansatz.apply(states, weights), applied, rtol=0, atol=EXACT)
    np.testing.assert_allclose(
        ansatz.evolve(np.tile(weights, (13, 1)), states), applied, rtol=0, atol=EXACT
    )


def test_evolve_layouts_and_row_counts():
    circuit, parameters = random_circuit(3, 25, seed=11)
    compiled = CompiledCircuit(circuit, parameters)
    rng = np.random.default_rng(0)
    values = rng.uniform(-2, 2, size=(4, len(parameters)))
    states = compiled.evolve(values)
    assert states.shape == (4, 8)
    # any layout of the input states, and their values untouched
    inputs = _random_states(4, 3, rng)
    for layout in (inputs.copy(), np.asfortranarray(inputs), inputs[:, ::-1][:, ::-1]):
        before = layout.copy()
        np.testing.assert_allclose(
            compiled.evolve(values, layout), compiled.evolve(values, inputs), atol=EXACT
        )
        np.testing.assert_array_equal(layout, before)
    # a circuit without gates returns copies
    empty = CompiledCircuit(QuantumCircuit(2, global_phase=0.5), ())
    given = _random_states(3, 2, rng)
    out = empty.evolve(np.zeros((1, 0)), given)
    np.testing.assert_allclose(out, given * np.exp(0.5j), atol=EXACT)
    assert not np.shares_memory(out, given)
    np.testing.assert_allclose(empty.unitary(np.zeros(0)), np.exp(0.5j) * np.eye(4), atol=EXACT)
    np.testing.assert_allclose(
        empty.evolve(np.zeros((3, 0))), np.tile(np.exp(0.5j) * np.eye(4)[0], (3, 1)), atol=EXACT
    )
    with pytest.raises(ValueError, match="3 rows for 4 states"):
        compiled.evolve(values[:3], inputs)
    with pytest.raises(ValueError, match=r"states must have shape \(n_rows, 8\)"):
        compiled.evolve(values, inputs[:, :4])
    with pytest.raises(ValueError, match="single weight row"):
        ZExpectation(compiled, inputs)(values)


def test_global_phase_gates_and_angle_cache():
    a, b = Parameter("a"), Parameter("b")
    qc = QuantumCircuit(2)
    qc.h(0)
    qc.append(GlobalPhaseGate(0.3), [])
    qc.rzz(a * b + a, 0, 1)
    qc.ry(b, 1)
    # the same expression compiled over parameters in the other order
    for parameters in ((a, b), (b, a)):
        compiled = CompiledCircuit(qc, parameters)
        values = np.array([[0.4, -1.3], [1.1, 0.2]])
        np.testing.assert_allclose(
            compiled.evolve(values), _statevectors(qc, parameters, values), rtol=0, atol=EXACT
        )


def test_matrix_products_stay_small():
    # one BLAS call per panel of at most _MAX_PRODUCT_SIZE multiply-adds
    assert _statevector._panel_width(800, 16) == 800
    assert _statevector._panel_width(256 * 800, 16) == 1024
    assert _statevector._panel_width(2 * 1031, 16) == 2 * 1031  # no divisor near the limit
    rng = np.random.default_rng(0)
    for n_rows in (4096, 4000, 7):
        left, right = rng.normal(size=(n_rows, 30)), rng.normal(size=(30, 50))
        np.testing.assert_allclose(
            _statevector._matmul(left, right), left @ right, rtol=1e-13, atol=1e-12
        )
