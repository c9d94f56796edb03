"""Reference for tests and benchmarks: qbloodcell's statevector simulator as of commit 7e42c47.

A frozen copy of ``qbloodcell.quantum._statevector`` before it applied gates as fused layers
and permutations (each gate was one gather over index tables). It is not used by the
package; ``tests/quantum/test_vqc_statevector.py`` checks the current simulator against it
and ``benchmarks/bench_statevector.py`` times both in one run.

The original description follows.

A small, batched, exact statevector simulator for parameterised Qiskit circuits.

:class:`CompiledCircuit` walks a :class:`~qiskit.circuit.QuantumCircuit` once and turns it into
a list of NumPy gate applications whose angles are functions of a parameter vector. Those
functions are evaluated for a whole batch of parameter rows at once (one row per sample), so a
feature-map circuit is simulated for every sample with a handful of array operations, and the
trainable part of a classifier becomes one small unitary per optimizer step.

Conventions follow Qiskit: qubit ``q`` is bit ``q`` of a basis-state index (little-endian), so
``state[i]`` is the amplitude of the basis state whose qubit 0 is ``i & 1``. A gate's matrix is
in Qiskit's convention too: its first qubit argument is the least significant bit.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray
from qiskit.circuit import Parameter, ParameterExpression, QuantumCircuit

FloatArray = NDArray[np.float64]
ComplexArray = NDArray[np.complex128]

# Above this many qubits the trainable unitary is not formed explicitly: its gates are applied
# to the batch of states directly (a (2**n, 2**n) matrix per step would dominate the cost).
_MAX_QUBITS_FOR_UNITARY = 6
# A parameter expression that is a polynomial of at most this degree is evaluated in closed
# form over the batch; anything else is bound sample by sample.
_MAX_POLYNOMIAL_DEGREE = 4
# Instructions that do nothing to a statevector.
_IGNORED_INSTRUCTIONS = frozenset({"barrier", "delay"})
_NON_UNITARY_INSTRUCTIONS = frozenset({"measure", "reset", "initialize", "store"})


# --------------------------------------------------------------------------------------------
# parameter expressions -> vectorised functions of a (n_rows, n_parameters) array
# --------------------------------------------------------------------------------------------
class _Evaluator:
    """A gate angle as a function of the parameter array ``values`` of shape (n_rows, n_params).

    ``kind`` is "constant" (``constant``), "polynomial" (``terms``: pairs of a coefficient and
    the tuple of parameter columns whose product it multiplies) or "bind" (``expression``
    bound row by row, for expressions that are not low-degree polynomials, e.g. ``sin(x)``).
    """

    __slots__ = ("constant", "expression", "kind", "parameters", "terms")

    def __init__(
        self,
        kind: str,
        *,
        constant: float = 0.0,
        terms: tuple[tuple[float, tuple[int, ...]], ...] = (),
        expression: Any = None,
        parameters: Sequence[Parameter] = (),
    ) -> None:
        self.kind = kind
        self.constant = constant
        self.terms = terms
        self.expression = expression
        self.parameters = tuple(parameters)

    def __call__(self, values: FloatArray) -> FloatArray:
        n_rows = values.shape[0]
        if self.kind == "constant":
            return np.full(n_rows, self.constant)
        if self.kind == "polynomial":
            out = np.zeros(n_rows)
            for coefficient, columns in self.terms:
                if not columns:
                    out += coefficient
                    continue
                product = values[:, columns[0]].copy()
                for column in columns[1:]:
                    product *= values[:, column]
                out += coefficient * product
            return out
        out = np.empty(n_rows)
        for row in range(n_rows):
            bindings = dict(zip(self.parameters, values[row].tolist(), strict=True))
            out[row] = _real_number(self.expression.bind_all(bindings), self.expression)
        return out


def _real_number(value: Any, expression: Any) -> float:
    number = complex(value)
    if abs(number.imag) > 1e-12 * max(1.0, abs(number.real)):
        raise ValueError(
            f"Gate angle {expression} evaluates to the complex number {number}; gate angles "
            "must be real."
        )
    return number.real


def _polynomial_terms(
    expression: ParameterExpression, column_of: dict[Parameter, int]
) -> tuple[tuple[float, tuple[int, ...]], ...] | None:
    """Taylor coefficients at zero of a polynomial expression, or None if it is not one.

    Partial derivatives are taken symbolically (``ParameterExpression.gradient``) over
    non-decreasing sequences of parameter columns, so each monomial is visited once. The
    expression is a polynomial of degree d exactly when every derivative of order d is a
    plain number.
    """
    zero = dict.fromkeys(column_of, 0.0)
    terms: list[tuple[float, tuple[int, ...]]] = []

    def visit(derivative: Any, columns: tuple[int, ...]) -> bool:
        if isinstance(derivative, ParameterExpression) and derivative.parameters:
            value = complex(derivative.bind_all(zero))
        else:
            value = complex(derivative)
        if not np.isfinite(value) or abs(value.imag) > 1e-12 * max(1.0, abs(value.real)):
            return False
        if value.real != 0.0:
            multiplicity = math.prod(math.factorial(columns.count(c)) for c in set(columns))
            terms.append((value.real / multiplicity, columns))
        if not isinstance(derivative, ParameterExpression) or not derivative.parameters:
            return True
        if len(columns) == _MAX_POLYNOMIAL_DEGREE:
            return False
        first = columns[-1] if columns else 0
        present = sorted(column_of[p] for p in derivative.parameters)
        by_column = {column_of[p]: p for p in derivative.parameters}
        for column in present:
            if column < first:
                continue
            if not visit(derivative.gradient(by_column[column]), (*columns, column)):
                return False
        return True

    if not visit(expression, ()):
        return None
    return tuple(terms)


def compile_angle(angle: Any, parameters: Sequence[Parameter]) -> _Evaluator:
    """Turn a gate angle (a number, a Parameter or a ParameterExpression) into an evaluator."""
    if not isinstance(angle, ParameterExpression) or not angle.parameters:
        return _Evaluator("constant", constant=_real_number(angle, angle))
    column_of = {parameter: column for column, parameter in enumerate(parameters)}
    unknown = [p for p in angle.parameters if p not in column_of]
    if unknown:
        raise ValueError(
            f"Gate angle {angle} uses parameter(s) {sorted(str(p) for p in unknown)} that are "
            f"not among the circuit parameters being bound ({[str(p) for p in parameters]})."
        )
    if isinstance(angle, Parameter):
        return _Evaluator("polynomial", terms=((1.0, (column_of[angle],)),))
    terms = _polynomial_terms(angle, {p: column_of[p] for p in angle.parameters})
    if terms is not None and _polynomial_matches(angle, terms, column_of, len(parameters)):
        return _Evaluator("polynomial", terms=terms)
    return _Evaluator("bind", expression=angle, parameters=parameters)


def _polynomial_matches(
    angle: ParameterExpression,
    terms: tuple[tuple[float, tuple[int, ...]], ...],
    column_of: dict[Parameter, int],
    n_parameters: int,
) -> bool:
    # guards the symbolic expansion against expressions whose derivatives simplify oddly
    rng = np.random.default_rng(0)
    points = rng.uniform(-2.0, 2.0, size=(2, n_parameters))
    evaluator = _Evaluator("polynomial", terms=terms)
    expected = [
        complex(angle.bind_all({p: points[row, c] for p, c in column_of.items()})).real
        for row in range(points.shape[0])
    ]
    return bool(np.allclose(evaluator(points), expected, rtol=1e-12, atol=1e-12))


# --------------------------------------------------------------------------------------------
# gate matrices, vectorised over a batch of angles: each returns (n_rows, 2**k, 2**k)
# --------------------------------------------------------------------------------------------
def _rx(theta: FloatArray) -> ComplexArray:
    c, s = np.cos(theta / 2), np.sin(theta / 2)
    out = np.empty((theta.size, 2, 2), dtype=complex)
    out[:, 0, 0] = c
    out[:, 0, 1] = -1j * s
    out[:, 1, 0] = -1j * s
    out[:, 1, 1] = c
    return out


def _ry(theta: FloatArray) -> ComplexArray:
    c, s = np.cos(theta / 2), np.sin(theta / 2)
    out = np.empty((theta.size, 2, 2), dtype=complex)
    out[:, 0, 0] = c
    out[:, 0, 1] = -s
    out[:, 1, 0] = s
    out[:, 1, 1] = c
    return out


def _rz(phi: FloatArray) -> ComplexArray:
    out = np.zeros((phi.size, 2, 2), dtype=complex)
    out[:, 0, 0] = np.exp(-0.5j * phi)
    out[:, 1, 1] = np.exp(0.5j * phi)
    return out


def _phase(lam: FloatArray) -> ComplexArray:
    out = np.zeros((lam.size, 2, 2), dtype=complex)
    out[:, 0, 0] = 1.0
    out[:, 1, 1] = np.exp(1j * lam)
    return out


def _u(theta: FloatArray, phi: FloatArray, lam: FloatArray) -> ComplexArray:
    c, s = np.cos(theta / 2), np.sin(theta / 2)
    out = np.empty((theta.size, 2, 2), dtype=complex)
    out[:, 0, 0] = c
    out[:, 0, 1] = -np.exp(1j * lam) * s
    out[:, 1, 0] = np.exp(1j * phi) * s
    out[:, 1, 1] = np.exp(1j * (phi + lam)) * c
    return out


def _u2(phi: FloatArray, lam: FloatArray) -> ComplexArray:
    return _u(np.full(phi.size, np.pi / 2), phi, lam)


def _r(theta: FloatArray, phi: FloatArray) -> ComplexArray:
    c, s = np.cos(theta / 2), np.sin(theta / 2)
    out = np.empty((theta.size, 2, 2), dtype=complex)
    out[:, 0, 0] = c
    out[:, 0, 1] = -1j * np.exp(-1j * phi) * s
    out[:, 1, 0] = -1j * np.exp(1j * phi) * s
    out[:, 1, 1] = c
    return out


def _controlled(single: ComplexArray) -> ComplexArray:
    # control is the first qubit argument, i.e. the least significant bit of the 4x4 index
    out = np.zeros((single.shape[0], 4, 4), dtype=complex)
    out[:, 0, 0] = 1.0
    out[:, 2, 2] = 1.0
    out[:, 1, 1] = single[:, 0, 0]
    out[:, 1, 3] = single[:, 0, 1]
    out[:, 3, 1] = single[:, 1, 0]
    out[:, 3, 3] = single[:, 1, 1]
    return out


_PAULI_X = np.array([[0, 1], [1, 0]], dtype=complex)
_PAULI_Y = np.array([[0, -1j], [1j, 0]], dtype=complex)
_PAULI_Z = np.array([[1, 0], [0, -1]], dtype=complex)


def _two_qubit_rotation(pauli_low: ComplexArray, pauli_high: ComplexArray) -> Callable[..., Any]:
    # exp(-i theta/2 P_high (x) P_low): the first qubit argument is the low (right) factor
    generator = np.kron(pauli_high, pauli_low)

    def rotation(theta: FloatArray) -> ComplexArray:
        c = np.cos(theta / 2)[:, None, None]
        s = np.sin(theta / 2)[:, None, None]
        return c * np.eye(4, dtype=complex) - 1j * s * generator

    return rotation


_PARAMETERISED_GATES: dict[str, tuple[int, Callable[..., ComplexArray]]] = {
    "p": (1, _phase),
    "u1": (1, _phase),
    "rz": (1, _rz),
    "rx": (1, _rx),
    "ry": (1, _ry),
    "u": (3, _u),
    "u3": (3, _u),
    "u2": (2, _u2),
    "r": (2, _r),
    "cp": (1, lambda lam: _controlled(_phase(lam))),
    "cu1": (1, lambda lam: _controlled(_phase(lam))),
    "crx": (1, lambda theta: _controlled(_rx(theta))),
    "cry": (1, lambda theta: _controlled(_ry(theta))),
    "crz": (1, lambda phi: _controlled(_rz(phi))),
    "rxx": (1, _two_qubit_rotation(_PAULI_X, _PAULI_X)),
    "ryy": (1, _two_qubit_rotation(_PAULI_Y, _PAULI_Y)),
    "rzz": (1, _two_qubit_rotation(_PAULI_Z, _PAULI_Z)),
    # RZX(theta) = exp(-i theta/2 X (x) Z): Z on the first argument, X on the second
    "rzx": (1, _two_qubit_rotation(_PAULI_Z, _PAULI_X)),
}

#: Names of the parameterised gates simulated natively; gates without free parameters are
#: simulated through their matrix whatever their name, and other parameterised gates are
#: first decomposed by Qiskit.
SUPPORTED_PARAMETERISED_GATES = frozenset(_PARAMETERISED_GATES)


# --------------------------------------------------------------------------------------------
# applying a gate to a batch of states
# --------------------------------------------------------------------------------------------
# Every gate is applied in the full 2**n space by gathering columns: for a k-qubit gate G on
# qubits (q_0, ..., q_{k-1}), amplitude i of the result is sum_c G[l(i), c] * state[s_c(i)],
# where l(i) collects the bits of i at those qubits (q_0 least significant, Qiskit's gate
# convention) and s_c(i) is i with those bits replaced by c. Gates with one non-zero entry
# per row (CX, SWAP, X, CZ, S, ...) need a single gather, diagonal gates a single product.
_DIAGONAL_PARAMETERISED_GATES = frozenset({"p", "u1", "rz", "cp", "cu1", "crz", "rzz"})


def _gate_indices(qubits: tuple[int, ...], n_qubits: int) -> tuple[NDArray[np.intp], ...]:
    """(local index l(i), then the source index s_c(i) for every local column c)."""
    index = np.arange(2**n_qubits)
    local = np.zeros_like(index)
    mask = 0
    for bit, qubit in enumerate(qubits):
        local |= ((index >> qubit) & 1) << bit
        mask |= 1 << qubit
    base = index & ~mask
    sources = []
    for column in range(2 ** len(qubits)):
        spread = 0
        for bit, qubit in enumerate(qubits):
            spread |= ((column >> bit) & 1) << qubit
        sources.append(base | spread)
    return (local, *sources)


class _Operation:
    """One gate, ready to act on a batch of statevectors of shape (n_rows, 2**n_qubits)."""

    __slots__ = ("angles", "build", "coefficients", "kind", "local", "name", "sources")

    def __init__(
        self,
        name: str,
        qubits: tuple[int, ...],
        n_qubits: int,
        *,
        matrix: ComplexArray | None = None,
        build: Callable[..., ComplexArray] | None = None,
        angles: tuple[_Evaluator, ...] = (),
    ) -> None:
        self.name = name
        self.build = build
        self.angles = angles
        local, *sources = _gate_indices(qubits, n_qubits)
        self.local = local
        self.sources: tuple[NDArray[np.intp], ...] = tuple(sources)
        self.coefficients: ComplexArray | None = None
        if matrix is None:
            self.kind = "diagonal" if name in _DIAGONAL_PARAMETERISED_GATES else "dense"
            return
        nonzero = np.abs(matrix) > 1e-14
        if np.all(nonzero.sum(axis=1) == 1):
            # one entry per row: a permutation of amplitudes, possibly with phases
            column = np.argmax(nonzero, axis=1)
            value = matrix[np.arange(matrix.shape[0]), column]
            self.kind = "monomial"
            self.sources = (np.stack(sources)[column[local], np.arange(local.size)],)
            coefficients = value[local]
            self.coefficients = None if np.all(coefficients == 1.0) else coefficients
        else:
            self.kind = "dense"
            self.coefficients = matrix[local, :].T.copy()  # (2**k, 2**n): G[l(i), c]

    def __call__(self, states: ComplexArray, values: FloatArray) -> ComplexArray:
        if self.kind == "monomial":
            out = states[:, self.sources[0]]
            if self.coefficients is not None:
                out *= self.coefficients
            return out
        if self.coefficients is not None:
            coefficients = self.coefficients
        else:
            assert self.build is not None
            matrices = self.build(*(angle(values) for angle in self.angles))
            if self.kind == "diagonal":
                diagonal = np.diagonal(matrices, axis1=1, axis2=2)[:, self.local]
                return states * (diagonal[0] if diagonal.shape[0] == 1 else diagonal)
            # (n_rows or 1, 2**k columns, 2**n) -> per column c the coefficients G[l(i), c]
            coefficients = np.swapaxes(matrices[:, self.local, :], 1, 2)
            if coefficients.shape[0] == 1:
                coefficients = coefficients[0]
            else:
                coefficients = np.swapaxes(coefficients, 0, 1)
        out = coefficients[0] * states[:, self.sources[0]]
        for column in range(1, len(self.sources)):
            out += coefficients[column] * states[:, self.sources[column]]
        return out


def _expand_unsupported(circuit: QuantumCircuit) -> QuantumCircuit:
    """Decompose parameterised gates that have no native formula, until none is left."""
    for _ in range(10):
        unsupported = set()
        for instruction in circuit.data:
            operation = instruction.operation
            name = operation.name
            if name in _IGNORED_INSTRUCTIONS or name in _PARAMETERISED_GATES:
                continue
            if name in _NON_UNITARY_INSTRUCTIONS or instruction.clbits:
                raise ValueError(
                    f"The circuit contains the non-unitary instruction {name!r}; the feature map "
                    "and ansatz must be unitary circuits without measurements (the classifier "
                    "measures <Z> on qubit 0 itself)."
                )
            if _is_parameterised(operation) or not _has_matrix(operation):
                unsupported.add(name)
        if not unsupported:
            return circuit
        expanded = circuit.decompose(gates_to_decompose=sorted(unsupported))
        if [i.operation.name for i in expanded.data] == [i.operation.name for i in circuit.data]:
            raise NotImplementedError(
                f"The exact simulator cannot simulate the gate(s) {sorted(unsupported)}: they "
                "have free parameters, no native formula here "
                f"(supported: {sorted(SUPPORTED_PARAMETERISED_GATES)}) and Qiskit cannot "
                "decompose them further. Decompose them into standard gates, or use shots= "
                "or estimator= to simulate with Qiskit Aer."
            )
        circuit = expanded
    raise NotImplementedError("The circuit could not be decomposed into supported gates.")


def _has_matrix(operation: Any) -> bool:
    """Whether Qiskit can give the gate's matrix (every Gate has ``to_matrix``; composite
    gates such as ``QuantumCircuit.to_gate()`` raise in it)."""
    try:
        operation.to_matrix()
    except Exception:
        return False
    return True


def _is_parameterised(operation: Any) -> bool:
    return any(
        isinstance(param, ParameterExpression) and param.parameters for param in operation.params
    )


class CompiledCircuit:
    """A parameterised circuit compiled for batched exact simulation.

    Parameters
    ----------
    circuit : qiskit.circuit.QuantumCircuit
        A unitary circuit (no measurements or resets).
    parameters : sequence of qiskit.circuit.Parameter
        Every free parameter of ``circuit``, in the column order of the ``values`` arrays
        passed to :meth:`evolve` and :meth:`unitary`.
    """

    def __init__(self, circuit: QuantumCircuit, parameters: Sequence[Parameter]) -> None:
        parameters = tuple(parameters)
        missing = set(circuit.parameters) - set(parameters)
        if missing:
            raise ValueError(
                f"The circuit has parameters {sorted(str(p) for p in missing)} that are not "
                "bound by the classifier."
            )
        circuit = _expand_unsupported(circuit)
        self.n_qubits = circuit.num_qubits
        self.n_parameters = len(parameters)
        self.global_phase = compile_angle(circuit.global_phase, parameters)
        index_of = {qubit: index for index, qubit in enumerate(circuit.qubits)}
        operations: list[_Operation] = []
        for instruction in circuit.data:
            operation = instruction.operation
            if operation.name in _IGNORED_INSTRUCTIONS:
                continue
            qubits = tuple(index_of[q] for q in instruction.qubits)
            if operation.name in _PARAMETERISED_GATES and _is_parameterised(operation):
                n_angles, build = _PARAMETERISED_GATES[operation.name]
                angles = tuple(compile_angle(a, parameters) for a in operation.params)
                if len(angles) != n_angles:  # pragma: no cover - Qiskit guarantees the arity
                    raise ValueError(f"Gate {operation.name!r} has {len(angles)} angles.")
                operations.append(
                    _Operation(operation.name, qubits, self.n_qubits, build=build, angles=angles),
                )
            else:
                matrix = np.asarray(operation.to_matrix(), dtype=complex)
                operations.append(_Operation(operation.name, qubits, self.n_qubits, matrix=matrix))
        self.operations = tuple(operations)

    def _check_values(self, values: Any) -> FloatArray:
        values = np.asarray(values, dtype=float)
        if values.ndim == 1:
            values = values[None, :]
        if values.ndim != 2 or values.shape[1] != self.n_parameters:
            raise ValueError(
                f"values must have shape (n_rows, {self.n_parameters}); got {values.shape}."
            )
        return values

    def _run(self, states: ComplexArray, values: FloatArray) -> ComplexArray:
        for operation in self.operations:
            states = operation(states, values)
        phase = self.global_phase(values)
        if self.global_phase.kind != "constant" or phase[0] != 0.0:
            factor = np.exp(1j * phase)
            states = states * (factor[:, None] if factor.size == states.shape[0] else factor[0])
        return states

    def evolve(self, values: Any, states: ComplexArray | None = None) -> ComplexArray:
        """Final statevectors, one per row of ``values``, shape (n_rows, 2**n_qubits).

        ``states`` (shape (n_rows, 2**n_qubits)) are the initial states; by default |0...0>.
        """
        values = self._check_values(values)
        n_rows = values.shape[0]
        if states is None:
            states = np.zeros((n_rows, 2**self.n_qubits), dtype=complex)
            states[:, 0] = 1.0
        return self._run(np.asarray(states, dtype=complex), values)

    def unitary(self, values: Any) -> ComplexArray:
        """The circuit's unitary for one parameter row, shape (2**n_qubits, 2**n_qubits)."""
        values = self._check_values(values)
        if values.shape[0] != 1:
            raise ValueError("unitary() takes a single parameter row.")
        basis = np.eye(2**self.n_qubits, dtype=complex)
        # row j of the result is U e_j, i.e. column j of U
        return self._run(basis, values).T

    def apply(self, states: ComplexArray, values: Any) -> ComplexArray:
        """Apply the circuit, with one shared parameter row, to a batch of states."""
        values = self._check_values(values)
        if self.n_qubits <= _MAX_QUBITS_FOR_UNITARY and states.shape[0] > 2**self.n_qubits:
            return states @ self.unitary(values).T
        return self._run(np.asarray(states, dtype=complex), values)


def z_expectation(states: ComplexArray, qubit: int = 0) -> FloatArray:
    """<Z> on ``qubit`` for each row of ``states`` (Qiskit's little-endian qubit order)."""
    probabilities = states.real**2 + states.imag**2
    return probabilities @ _z_signs(states.shape[1], qubit)


def _z_signs(dimension: int, qubit: int) -> FloatArray:
    return np.asarray(1.0 - 2.0 * ((np.arange(dimension) >> qubit) & 1), dtype=np.float64)


class ZExpectation:
    """<Z on ``qubit``> after ``ansatz(weights)`` for a fixed batch of input states.

    With U the ansatz unitary, <psi|U^dagger Z U|psi> = sum_jk conj(psi_j) psi_k M_jk for the
    Hermitian M = U^dagger Z U. The products conj(psi_j) psi_k depend only on the inputs, so
    for small registers they are computed once (``n_rows x 4**n_qubits`` real numbers, using
    the symmetry of M) and every evaluation is one small matrix product plus one
    matrix-vector product. Larger registers apply the ansatz to the states directly.

    Parameters
    ----------
    ansatz : CompiledCircuit
        The trainable circuit; its parameters are the weights.
    states : ndarray of shape (n_rows, 2**n_qubits)
        The input states (the feature map applied to each sample).
    qubit : int, default=0
        The measured qubit, in Qiskit's little-endian order.
    """

    # above this many stored products (float64), use the direct path to bound memory
    _MAX_QUADRATIC_FEATURES = 2**24

    def __init__(self, ansatz: CompiledCircuit, states: ComplexArray, qubit: int = 0) -> None:
        self.ansatz = ansatz
        self.signs = _z_signs(states.shape[1], qubit)
        dimension = states.shape[1]
        self.upper = np.triu_indices(dimension, k=1)
        use_quadratic = (
            ansatz.n_qubits <= _MAX_QUBITS_FOR_UNITARY
            and states.shape[0] * dimension**2 <= self._MAX_QUADRATIC_FEATURES
            and states.shape[0] > dimension
        )
        self.states: ComplexArray | None = None
        self.features: FloatArray | None = None
        if use_quadratic:
            rows, columns = self.upper
            products = np.conj(states[:, rows]) * states[:, columns]
            self.features = np.ascontiguousarray(
                np.concatenate(
                    [states.real**2 + states.imag**2, products.real, products.imag], axis=1
                )
            )
        else:
            self.states = states

    def __call__(self, weights: Any) -> FloatArray:
        if self.features is None:
            assert self.states is not None
            out = self.ansatz.apply(self.states, weights)
            return (out.real**2 + out.imag**2) @ self.signs
        unitary = self.ansatz.unitary(weights)
        observable = (unitary.conj().T * self.signs) @ unitary
        upper = observable[self.upper]
        coefficients = np.concatenate(
            [observable.diagonal().real, 2.0 * upper.real, -2.0 * upper.imag]
        )
        return self.features @ coefficients
