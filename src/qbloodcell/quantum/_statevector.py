"""A small, batched, exact statevector simulator for parameterised Qiskit circuits.

:class:`CompiledCircuit` walks a :class:`~qiskit.circuit.QuantumCircuit` once and schedules
it as a short list of steps, each a few NumPy/BLAS operations on a whole batch of states:

* a **layer** of single-qubit gates (consecutive gates on one qubit are multiplied first),
  applied as Kronecker products over blocks of up to ``_BLOCK_QUBITS`` adjacent qubits, each
  one batched matrix product on a reshaped view of the states (real matrices, such as RY
  layers, on the float view of the complex states);
* a **run** of gates that map basis states to basis states (CX, SWAP, X, CZ, ...) and of
  parameterised diagonal gates (P, RZ, CP, RZZ, ...): one permutation of the amplitudes and
  one vector of phases per row, from precomputed phase patterns and the gate angles (built
  bit by bit when the phase is quadratic in the bits, as the ZZ feature map's);
* any other multi-qubit gate, applied on strided views of the states.

:class:`ZExpectation`, the classifier's objective, leaves out the ansatz's trailing gates
that cannot change <Z>, and up to ``_MAX_QUBITS_FOR_UNITARY`` qubits forms the ansatz
unitary as a product of its layers' full matrices (:class:`_UnitaryProduct`).

Gate angles are functions of a parameter vector, evaluated for every parameter row at once
(one row per sample for a feature map, one shared row for a trainable ansatz).

Inside, a batch of states is stored column-major, shape (2**n_qubits, n_rows): a gate acting
on qubits ``a .. a+k-1`` is then a matrix product with the view of shape
(2**(n-a-k), 2**k, 2**a * n_rows), whose last axis is long and contiguous, and a real matrix
acts on the real and imaginary parts (the float64 view, twice as many columns) at once.
Public methods take and return arrays of shape (n_rows, 2**n_qubits).

Conventions follow Qiskit: qubit ``q`` is bit ``q`` of a basis-state index (little-endian), so
``state[i]`` is the amplitude of the basis state whose qubit 0 is ``i & 1``. A gate's matrix is
in Qiskit's convention too: its first qubit argument is the least significant bit.

Every exact state of the package (the variational classifiers, the re-uploading classifier
and the quantum kernels) comes from this one simulator.

Why this module is over 500 lines: it is one simulator, whose parts (angle evaluation, gate
formulas, the scheduler, the prepared steps and the ansatz-unitary product) share private
data structures (``_Gate``, the step classes, ``_Workspace``) and are tuned together;
splitting them would spread one hot loop's invariants over several files.
"""

from __future__ import annotations

import functools
import math
import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray
from qiskit.circuit import Parameter, ParameterExpression, QuantumCircuit

FloatArray = NDArray[np.float64]
ComplexArray = NDArray[np.complex128]
IndexArray = NDArray[np.intp]

# Up to this many qubits the trainable unitary is formed explicitly and <Z> is read from
# precomputed quadratic features of the inputs; above, the ansatz is applied to the batch of
# states (a (2**n, 2**n) matrix per step would dominate the cost).
_MAX_QUBITS_FOR_UNITARY = 6
# A parameter expression that is a polynomial of at most this degree is evaluated in closed
# form over the batch; anything else is bound sample by sample.
_MAX_POLYNOMIAL_DEGREE = 4
# Instructions that do nothing to a statevector.
_IGNORED_INSTRUCTIONS = frozenset({"barrier", "delay"})
_NON_UNITARY_INSTRUCTIONS = frozenset({"measure", "reset", "initialize", "store"})
# Largest block of adjacent qubits whose single-qubit gates are applied as one Kronecker
# product. A block of k qubits costs 2**k multiply-adds per amplitude in one pass over the
# states: fewer, larger blocks save passes over memory but add arithmetic; 4 was chosen by
# timing the block sizes 1 to 6 on 12-qubit batches.
_BLOCK_QUBITS = 4
# Largest matrix product (multiply-adds) made in one BLAS call (see _panel_width): OpenBLAS
# multi-threads products above 2**18.
_MAX_PRODUCT_SIZE = 2**18
# Rows are simulated in groups of at most this many amplitudes (2**n_qubits * rows), which
# bounds the working memory (a few arrays of this size) whatever the number of rows.
_MAX_CHUNK_AMPLITUDES = 2**22


# --------------------------------------------------------------------------------------------
# parameter expressions -> vectorised functions of a (n_rows, n_parameters) array
# --------------------------------------------------------------------------------------------
class _AngleFunction:
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
        free = derivative.parameters if isinstance(derivative, ParameterExpression) else ()
        value = complex(derivative.bind_all(zero)) if free else complex(derivative)
        if not np.isfinite(value) or abs(value.imag) > 1e-12 * max(1.0, abs(value.real)):
            return False
        if value.real != 0.0:
            multiplicity = math.prod(math.factorial(columns.count(c)) for c in set(columns))
            terms.append((value.real / multiplicity, columns))
        if not free:
            return True
        if len(columns) == _MAX_POLYNOMIAL_DEGREE:
            return False
        first = columns[-1] if columns else 0
        by_column = {column_of[p]: p for p in free}
        for column in sorted(by_column):
            if column < first:
                continue
            if not visit(derivative.gradient(by_column[column]), (*columns, column)):
                return False
        return True

    if not visit(expression, ()):
        return None
    return tuple(terms)


# Polynomial expansions by (expression text, its parameters' names): the symbolic expansion
# costs far more than the simulation of a small circuit, and the same circuits are compiled
# for every fit. Terms refer to the expression's own parameters, in the key's order.
_EXPANSIONS: dict[
    tuple[str, tuple[str, ...]], tuple[tuple[float, tuple[int, ...]], ...] | None
] = {}
_MAX_EXPANSIONS = 4096
_NOT_EXPANDED: Any = object()


def compile_angle(
    angle: Any,
    parameters: Sequence[Parameter],
    *,
    column_of: dict[Parameter, int] | None = None,
) -> _AngleFunction:
    """Turn a gate angle (a number, a Parameter or a ParameterExpression) into an evaluator.

    ``column_of`` (each parameter's position in ``parameters``) may be passed when compiling
    many angles over the same parameters.
    """
    # (each access to ``.parameters`` builds a new set)
    free = angle.parameters if isinstance(angle, ParameterExpression) else ()
    if not free:
        return _AngleFunction("constant", constant=_real_number(angle, angle))
    if column_of is None:
        column_of = {parameter: column for column, parameter in enumerate(parameters)}
    unknown = [p for p in free if p not in column_of]
    if unknown:
        raise ValueError(
            f"Gate angle {angle} uses parameter(s) {sorted(str(p) for p in unknown)} that are "
            f"not among the circuit parameters being bound ({[str(p) for p in parameters]})."
        )
    if isinstance(angle, Parameter):
        return _AngleFunction("polynomial", terms=((1.0, (column_of[angle],)),))
    present = sorted(free, key=column_of.__getitem__)
    key = (str(angle), tuple(str(p) for p in present))
    # one lookup (another thread may empty the cache between two)
    local_terms = _EXPANSIONS.get(key, _NOT_EXPANDED)
    if local_terms is _NOT_EXPANDED:
        local_terms = _polynomial_terms(angle, {p: j for j, p in enumerate(present)})
        if local_terms is not None and not _polynomial_matches(angle, local_terms, present):
            local_terms = None
        if len(_EXPANSIONS) >= _MAX_EXPANSIONS:
            _EXPANSIONS.clear()
        _EXPANSIONS[key] = local_terms
    if local_terms is None:
        return _AngleFunction("bind", expression=angle, parameters=parameters)
    columns = [column_of[p] for p in present]
    terms = tuple(
        (coefficient, tuple(columns[j] for j in local)) for coefficient, local in local_terms
    )
    return _AngleFunction("polynomial", terms=terms)


def _polynomial_matches(
    angle: ParameterExpression,
    terms: tuple[tuple[float, tuple[int, ...]], ...],
    present: Sequence[Parameter],
) -> bool:
    # guards the symbolic expansion against expressions whose derivatives simplify oddly
    rng = np.random.default_rng(0)
    points = rng.uniform(-2.0, 2.0, size=(2, len(present)))
    evaluator = _AngleFunction("polynomial", terms=terms)
    expected = np.array(
        [
            complex(angle.bind_all(dict(zip(present, row, strict=True)))).real
            for row in points.tolist()
        ]
    )
    # the same test as np.allclose(rtol=atol=1e-12), without its overhead
    difference = np.abs(evaluator(points) - expected)
    return bool(np.all(difference <= 1e-12 + 1e-12 * np.abs(expected)))


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


def _fill_ry_real(out: FloatArray, theta: FloatArray) -> None:
    """RY matrices written into ``out`` (float64, shape (n, 2, 2))."""
    half = theta / 2
    c, s = np.cos(half), np.sin(half)
    out[:, 0, 0] = c
    out[:, 1, 1] = c
    out[:, 1, 0] = s
    np.negative(s, out=out[:, 0, 1])


def _fill_with(build: Callable[..., ComplexArray], real: bool, out: Any, *angles: Any) -> None:
    matrices = build(*angles)
    out[...] = matrices.real if real else matrices


# real matrices written in place, for products computed in real arithmetic
_REAL_FILLS: dict[str, Callable[..., None]] = {"ry": _fill_ry_real}


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

# Parameterised diagonal gates as diag(exp(1j * angle * pattern)): the pattern over the gate's
# local basis states (first qubit argument least significant). They join runs of basis-state
# permutations, where all their phases are added up at once.
_PHASE_PATTERNS: dict[str, FloatArray] = {
    "p": np.array([0.0, 1.0]),
    "u1": np.array([0.0, 1.0]),
    "rz": np.array([-0.5, 0.5]),
    "cp": np.array([0.0, 0.0, 0.0, 1.0]),
    "cu1": np.array([0.0, 0.0, 0.0, 1.0]),
    "crz": np.array([0.0, -0.5, 0.0, 0.5]),
    "rzz": np.array([-0.5, 0.5, 0.5, -0.5]),
}
# Parameterised gates whose matrix is real for real angles.
_REAL_PARAMETERISED_GATES = frozenset({"ry", "cry"})

#: Names of the parameterised gates simulated natively; gates without free parameters are
#: simulated through their matrix whatever their name, and other parameterised gates are
#: first decomposed by Qiskit.
SUPPORTED_PARAMETERISED_GATES = frozenset(_PARAMETERISED_GATES)


class _AngleTable:
    """Every gate angle of a circuit as one vectorised function of the parameter rows.

    The polynomial angles are evaluated together: their linear parts as one matrix product,
    and the monomials of each higher degree as products of gathered parameter columns,
    added into their angles by one more matrix product. Other expressions are bound row by
    row by their evaluator. Identical polynomials share one column.
    """

    def __init__(self, n_parameters: int) -> None:
        self.n_parameters = n_parameters
        self.evaluators: list[_AngleFunction] = []
        self._column_of: dict[Any, int] = {}

    def add(self, evaluator: _AngleFunction) -> int:
        """The column of ``evaluator``'s values in the table's output."""
        if evaluator.kind == "constant":
            key: Any = ("constant", evaluator.constant)
        elif evaluator.kind == "polynomial":
            key = ("polynomial", evaluator.terms)
        else:
            key = ("bind", id(evaluator))
        column = self._column_of.get(key)
        if column is None:
            column = self._column_of[key] = len(self.evaluators)
            self.evaluators.append(evaluator)
        return column

    def build(self) -> None:
        """Prepare the vectorised evaluation, once every angle has been added."""
        n_angles = len(self.evaluators)
        self.linear = np.zeros((self.n_parameters, n_angles))
        self.constant = np.zeros(n_angles)
        by_degree: dict[int, list[tuple[tuple[int, ...], int, float]]] = {}
        self.bound: list[tuple[int, _AngleFunction]] = []
        for angle, evaluator in enumerate(self.evaluators):
            if evaluator.kind == "constant":
                self.constant[angle] = evaluator.constant
            elif evaluator.kind == "polynomial":
                for coefficient, columns in evaluator.terms:
                    if not columns:
                        self.constant[angle] += coefficient
                    elif len(columns) == 1:
                        self.linear[columns[0], angle] += coefficient
                    else:
                        by_degree.setdefault(len(columns), []).append((columns, angle, coefficient))
            else:
                self.bound.append((angle, evaluator))
        self.monomials: list[tuple[IndexArray, FloatArray]] = []
        for _, terms in sorted(by_degree.items()):
            factors = np.array([term[0] for term in terms], dtype=np.intp).T.copy()
            scatter = np.zeros((len(terms), n_angles))
            for row, (_, angle, coefficient) in enumerate(terms):
                scatter[row, angle] = coefficient
            self.monomials.append((factors, scatter))

    def __call__(self, values: FloatArray) -> FloatArray:
        """Angles of shape (n_rows, n_angles) for ``values`` of shape (n_rows, n_parameters)."""
        angles = _matmul(values, self.linear)
        angles += self.constant
        for columns, scatter in self.monomials:
            product = values[:, columns[0]]
            for column in columns[1:]:
                product *= values[:, column]
            angles += _matmul(product, scatter)
        for angle, evaluator in self.bound:
            angles[:, angle] = evaluator(values)
        return angles


# --------------------------------------------------------------------------------------------
# compiled gates and their schedule
# --------------------------------------------------------------------------------------------
class _Gate:
    """One instruction: its qubits and either a fixed matrix or a formula of its angles.

    ``monomial`` is set for fixed gates with one non-zero entry per row (permutations of the
    basis states with phases: X, CX, SWAP, CZ, S, ...): per row, the column of that entry and
    its value. ``pattern`` is set for parameterised diagonal gates (``_PHASE_PATTERNS``).
    ``matrix_index`` places a single-qubit gate's matrix in the stack that
    :meth:`CompiledCircuit._single_qubit_matrices` fills.
    """

    __slots__ = (
        "angle_columns",
        "angles",
        "build",
        "matrix",
        "matrix_index",
        "monomial",
        "name",
        "pattern",
        "qubits",
        "real",
        "varies",
    )

    def __init__(
        self,
        name: str,
        qubits: tuple[int, ...],
        *,
        matrix: ComplexArray | None = None,
        build: Callable[..., ComplexArray] | None = None,
        angles: tuple[_AngleFunction, ...] = (),
        angle_columns: Sequence[int] = (),
    ) -> None:
        self.name = name
        self.qubits = qubits
        self.matrix = matrix
        self.build = build
        self.angles = angles
        self.angle_columns = tuple(angle_columns)
        self.varies = any(angle.kind != "constant" for angle in angles)
        self.matrix_index = 0
        self.monomial: tuple[IndexArray, ComplexArray] | None = None
        self.pattern: FloatArray | None = None
        if matrix is not None:
            self.real, self.monomial = _fixed_gate_structure(matrix.tobytes(), matrix.shape[0])
        else:
            self.real = name in _REAL_PARAMETERISED_GATES
            self.pattern = _PHASE_PATTERNS.get(name)

    @property
    def joins_runs(self) -> bool:
        return self.monomial is not None or self.pattern is not None

    def matrices(self, angles: FloatArray) -> ComplexArray:
        """The gate's matrix per row of ``angles``, shape (n_rows or 1, 2**k, 2**k)."""
        if self.matrix is not None:
            return self.matrix[None]
        assert self.build is not None
        matrices = self.build(*(angles[:, column] for column in self.angle_columns))
        return matrices if self.varies else matrices[:1]


@functools.lru_cache(maxsize=1024)
def _fixed_gate_structure(
    data: bytes, size: int
) -> tuple[bool, tuple[IndexArray, ComplexArray] | None]:
    """Whether a fixed matrix is real, and its non-zero entries if one per row (cached: the
    same few gates recur many times in a circuit)."""
    matrix = np.frombuffer(data, dtype=complex).reshape(size, size)
    real = not np.any(matrix.imag)
    nonzero = np.abs(matrix) > 1e-14
    if not np.all(nonzero.sum(axis=1) == 1):
        return real, None
    column = np.argmax(nonzero, axis=1)
    return real, (column, matrix[np.arange(size), column].copy())


def _local_index(index: IndexArray, qubits: Sequence[int]) -> IndexArray:
    """The bits of each basis-state index at ``qubits`` (the first one least significant)."""
    local = np.zeros_like(index)
    for bit, qubit in enumerate(qubits):
        local |= ((index >> qubit) & 1) << bit
    return local


def _spread(qubits: Sequence[int]) -> IndexArray:
    """For each local basis state of ``qubits``, its bits placed at those qubits."""
    local = np.arange(2 ** len(qubits))
    spread = np.zeros_like(local)
    for bit, qubit in enumerate(qubits):
        spread |= ((local >> bit) & 1) << qubit
    return spread


class _LayerStep:
    """Single-qubit gates on distinct qubits, applied together.

    ``slots[s]`` holds, for each qubit of ``qubits``, the matrix index of its s-th gate (0,
    the identity, once a qubit has no more gates); a qubit's matrix is the product over the
    slots.
    """

    def __init__(self, gates_by_qubit: dict[int, list[_Gate]]) -> None:
        self.gates_by_qubit = {q: list(gates_by_qubit[q]) for q in sorted(gates_by_qubit)}
        self.qubits = tuple(self.gates_by_qubit)
        gate_lists = list(self.gates_by_qubit.values())
        depth = max(len(gates) for gates in gate_lists)
        self.slots = [
            np.array([gates[s].matrix_index if s < len(gates) else 0 for gates in gate_lists])
            for s in range(depth)
        ]
        self.varies = np.array([any(g.varies for g in gates) for gates in gate_lists])
        self.real = np.array([all(g.real for g in gates) for gates in gate_lists])
        self.any_varies = bool(self.varies.any())
        self._blocks: dict[tuple[bool, ...], list[tuple[int, IndexArray]]] = {}

    def restricted(self, qubits: set[int]) -> _LayerStep | None:
        kept = {q: gates for q, gates in self.gates_by_qubit.items() if q in qubits}
        return _LayerStep(kept) if kept else None

    def blocks(self, per_row: NDArray[np.bool_]) -> list[tuple[int, IndexArray]]:
        """Blocks of adjacent qubits whose matrices are shared by all rows.

        Each block is (its lowest qubit, positions in ``qubits`` from its highest qubit down).
        """
        key = tuple(per_row.tolist())
        blocks = self._blocks.get(key)
        if blocks is None:
            shared = [j for j in range(len(self.qubits)) if not per_row[j]]
            runs: list[list[int]] = []
            for j in shared:
                if runs and self.qubits[j] == self.qubits[runs[-1][-1]] + 1:
                    runs[-1].append(j)
                else:
                    runs.append([j])
            blocks = []
            for run in runs:
                n_blocks = -(-len(run) // _BLOCK_QUBITS)
                size, extra = divmod(len(run), n_blocks)
                start = 0
                for b in range(n_blocks):
                    stop = start + size + (1 if b < extra else 0)
                    positions = run[start:stop]
                    blocks.append((self.qubits[positions[0]], np.array(positions[::-1])))
                    start = stop
            self._blocks[key] = blocks
        return blocks


def _matmul(left: Any, right: Any) -> Any:
    """``left @ right`` (2-d) as products of at most ``_MAX_PRODUCT_SIZE`` multiply-adds each.

    Blocks of rows of ``left``; see ``_panel_width`` for why the products are kept small.
    """
    n_rows, inner = left.shape
    rows = max(1, _MAX_PRODUCT_SIZE // max(1, inner * right.shape[1]))
    if rows >= n_rows:
        return left @ right
    rows = 1 << (rows.bit_length() - 1)
    if n_rows % rows == 0:
        # one call, NumPy looping over the blocks
        out = np.matmul(left.reshape(n_rows // rows, rows, inner), right)
        return out.reshape(n_rows, right.shape[1])
    out = np.empty((n_rows, right.shape[1]), dtype=np.result_type(left, right))
    for start in range(0, n_rows, rows):
        np.matmul(left[start : start + rows], right, out=out[start : start + rows])
    return out


class _RunStep:
    """Gates that map basis states to basis states, with phases: ``factor * states[permutation]``.

    ``factor`` is the product of the fixed gates' non-zero entries (``coefficients``) times
    ``exp(1j * patterns @ angles[angle_columns])``: every parameterised diagonal gate's phase
    pattern, carried to the end of the run through the permutations that follow it.
    """

    def __init__(self, gates: Sequence[_Gate], n_qubits: int) -> None:
        index = np.arange(2**n_qubits)
        # where, at the time of each gate (walking backwards), the amplitude sits that the
        # run finally puts at each index
        source = index.copy()
        coefficients = np.ones(index.size, dtype=complex)
        patterns: dict[int, FloatArray] = {}
        for gate in reversed(gates):
            local = _local_index(source, gate.qubits)
            if gate.pattern is not None:
                column = gate.angle_columns[0]
                term = gate.pattern[local]
                patterns[column] = patterns[column] + term if column in patterns else term
            else:
                assert gate.monomial is not None
                column_of, value = gate.monomial
                coefficients *= value[local]
                mask = sum(1 << q for q in gate.qubits)
                source = (source & ~mask) | _spread(gate.qubits)[column_of[local]]
        self.permutation: IndexArray | None = None if np.array_equal(source, index) else source
        self.coefficients: ComplexArray | FloatArray | None = None
        if not np.all(coefficients == 1.0):
            self.coefficients = (
                coefficients.real.copy() if not np.any(coefficients.imag) else coefficients
            )
        self.angle_columns = np.array(list(patterns), dtype=np.intp)
        self.patterns: FloatArray | None = (
            np.ascontiguousarray(np.stack(list(patterns.values()), axis=1)) if patterns else None
        )
        self.quadratic = (
            None if self.patterns is None else _QuadraticPhase.of(self.patterns, n_qubits)
        )

    def factor(self, angles: FloatArray) -> ComplexArray | FloatArray | None:
        """The factor per basis state and row of ``angles``: shape (2**n, n_rows or 1)."""
        if self.patterns is None:
            return None if self.coefficients is None else self.coefficients[:, None]
        if self.quadratic is not None:
            factor = self.quadratic(angles[:, self.angle_columns])
        else:
            phases = _matmul(self.patterns, angles[:, self.angle_columns].T)
            factor = _unit(phases)
        if self.coefficients is not None:
            factor *= self.coefficients[:, None]
        return factor


def _unit(phases: FloatArray) -> ComplexArray:
    """exp(1j * phases)."""
    out = np.empty(phases.shape, dtype=complex)
    np.cos(phases, out=out.real)
    np.sin(phases, out=out.imag)
    return out


class _QuadraticPhase:
    """exp(1j * phase(b)) for a phase that is a quadratic function of the bits of b.

    The runs of the ZZ feature map (and any run of P, RZ, CP, CRZ, RZZ gates and CX pairs
    around them) have such phases: sum_g angle_g * pattern_g(b) with every pattern a
    polynomial of degree at most 2 in the bits (b_i XOR b_j = b_i + b_j - 2 b_i b_j).
    Then exp(1j * phase) needs no trigonometric function per amplitude: adding bit m to
    the bits below it multiplies by exp(1j * (linear_m + sum_{j<m} pair_jm b_j)), a product
    of one factor per lower bit. Building the vector bit by bit costs a few complex
    products per amplitude and 1 + n + n(n-1)/2 cosines and sines per row, instead of one
    of each per amplitude.
    """

    def __init__(
        self,
        constant: FloatArray,
        linear: FloatArray,
        pairs: list[tuple[int, int]],
        quadratic: FloatArray,
        n_qubits: int,
    ) -> None:
        self.constant = constant  # (n_patterns,)
        self.linear = linear  # (n_qubits, n_patterns)
        self.quadratic = quadratic  # (n_pairs, n_patterns)
        self.n_qubits = n_qubits
        # for each bit m: the rows of ``quadratic`` coupling it to each lower bit j (or -1)
        self.partners = np.full((n_qubits, n_qubits), -1, dtype=np.intp)
        for row, (low, high) in enumerate(pairs):
            self.partners[high, low] = row

    @classmethod
    def of(cls, patterns: FloatArray, n_qubits: int) -> _QuadraticPhase | None:
        """The expansion of ``patterns`` (2**n, n_patterns) if each is at most quadratic."""
        # multilinear (Moebius) coefficients: pattern(b) = sum over subsets S of b of c_S
        coefficients = patterns.copy()
        for qubit in range(n_qubits):
            view = coefficients.reshape(2 ** (n_qubits - qubit - 1), 2, 2**qubit, -1)
            view[:, 1] -= view[:, 0]
        index = np.arange(coefficients.shape[0])
        degree = np.zeros_like(index)
        for qubit in range(n_qubits):
            degree += (index >> qubit) & 1
        if np.any(np.abs(coefficients[degree > 2]) > 1e-12):
            return None
        pairs = [
            (low, high)
            for high in range(n_qubits)
            for low in range(high)
            if np.any(coefficients[(1 << low) | (1 << high)] != 0.0)
        ]
        quadratic = np.zeros((len(pairs), coefficients.shape[1]))
        for row, (low, high) in enumerate(pairs):
            quadratic[row] = coefficients[(1 << low) | (1 << high)]
        linear = coefficients[1 << np.arange(n_qubits)]
        return cls(coefficients[0].copy(), linear, pairs, quadratic, n_qubits)

    def __call__(self, angles: FloatArray) -> ComplexArray:
        """exp(1j * phase) per basis state and row of ``angles`` (n_rows, n_patterns)."""
        n_rows = angles.shape[0]
        angles_t = angles.T
        linear = _unit(_matmul(self.linear, angles_t))  # (n_qubits, n_rows)
        quadratic = _unit(_matmul(self.quadratic, angles_t))  # (n_pairs, n_rows)
        # both vectors grow in place by doubling: the entries with bit k set are the
        # entries below them times that bit's factor (bit 0 varies fastest)
        out = np.empty((2**self.n_qubits, n_rows), dtype=complex)
        out[0] = _unit(self.constant @ angles_t)
        factor = np.empty((max(1, 2 ** (self.n_qubits - 1)), n_rows), dtype=complex)
        for high in range(self.n_qubits):
            # the factor of bit ``high`` set, as a function of the bits below it
            factor[0] = linear[high]
            for low in range(high):
                size = 1 << low
                row = self.partners[high, low]
                if row < 0:
                    factor[size : 2 * size] = factor[:size]
                else:
                    np.multiply(factor[:size], quadratic[row], out=factor[size : 2 * size])
            size = 1 << high
            np.multiply(out[:size], factor[:size], out=out[size : 2 * size])
        return out


class _DenseStep:
    """A multi-qubit gate that is neither a basis-state permutation nor diagonal."""

    def __init__(self, gate: _Gate) -> None:
        self.gate = gate


_Step = _LayerStep | _RunStep | _DenseStep


def _schedule(gates: Sequence[_Gate], n_qubits: int, *, per_row: bool) -> list[_Step]:
    """Group the gates into layers, runs and dense gates, keeping the circuit's action.

    The circuit so far always equals: the emitted steps, then the open run, then the pending
    single-qubit gates. A gate is added to the run when it commutes with every pending gate
    (it acts on other qubits); otherwise the run and the pending layer are emitted first.
    With ``per_row`` (one parameter row per state), parameterised diagonal gates always go to
    runs: there their phases cost one matrix product for all of them, whereas in a layer
    they would make its matrices differ from row to row.
    """
    steps: list[_Step] = []
    pending: dict[int, list[_Gate]] = {}
    run: list[_Gate] = []

    def emit_run() -> None:
        if run:
            steps.append(_RunStep(run, n_qubits))
            run.clear()

    def emit_all() -> None:
        emit_run()
        if pending:
            steps.append(_LayerStep(pending))
            pending.clear()

    for gate in gates:
        touches_pending = any(q in pending for q in gate.qubits)
        if len(gate.qubits) == 1 and not (per_row and gate.pattern is not None):
            if gate.joins_runs and run and not touches_pending:
                run.append(gate)
            else:
                pending.setdefault(gate.qubits[0], []).append(gate)
        elif gate.joins_runs:
            if touches_pending:
                emit_all()
            run.append(gate)
        else:
            if touches_pending:
                emit_all()
            else:
                emit_run()
            steps.append(_DenseStep(gate))
    emit_all()
    return steps


def _support(observable: FloatArray, n_qubits: int) -> set[int]:
    """The qubits a diagonal observable depends on."""
    index = np.arange(observable.size)
    return {
        q for q in range(n_qubits) if not np.array_equal(observable, observable[index ^ (1 << q)])
    }


# --------------------------------------------------------------------------------------------
# applying steps to a batch of column-major states (2**n_qubits, n_columns)
# --------------------------------------------------------------------------------------------
class _Workspace:
    """Two reusable buffers per shape: each step writes into the one it does not read.

    Reusing them across calls spares the page faults of fresh large allocations; the caller's
    input states are never written to.
    """

    def __init__(self) -> None:
        self._buffers: dict[tuple[int, ...], tuple[ComplexArray, ComplexArray]] = {}

    def target(self, reading: ComplexArray) -> ComplexArray:
        pair = self._buffers.get(reading.shape)
        if pair is None:
            pair = (np.empty(reading.shape, dtype=complex), np.empty(reading.shape, dtype=complex))
            self._buffers[reading.shape] = pair
        return pair[1] if pair[0] is reading else pair[0]

    def owns(self, array: ComplexArray) -> bool:
        return any(array is buffer for buffer in self._buffers.get(array.shape, ()))


def _zero_state(n_qubits: int) -> ComplexArray:
    state = np.zeros((2**n_qubits, 1), dtype=complex)
    state[0] = 1.0
    return state


def _widen(states: ComplexArray, n_columns: int) -> ComplexArray:
    """Shared states (one column) repeated for ``n_columns`` rows with their own parameters."""
    if states.shape[1] >= n_columns:
        return states
    return np.ascontiguousarray(np.broadcast_to(states, (states.shape[0], n_columns)))


def _kron(matrices: Any) -> Any:
    """Kronecker product of a stack of 2 x 2 matrices, the first being the highest qubit."""
    out = matrices[0]
    for matrix in matrices[1:]:
        size = out.shape[0]
        out = (out[:, None, :, None] * matrix[None, :, None, :]).reshape(2 * size, 2 * size)
    return out


@functools.lru_cache(maxsize=256)
def _panel_width(width: int, size: int) -> int:
    """Width of the column panels in which a (size x size) matrix multiplies ``width`` columns.

    Products of at most ``_MAX_PRODUCT_SIZE`` multiply-adds are done in one BLAS call each:
    they are efficient on one core, and OpenBLAS runs them on one thread (a larger product
    on its threads can wait for a time slice on busy cores, many times slower). The panel is
    the largest divisor of ``width`` within that size, or the whole width if the divisors
    are all much smaller.
    """
    limit = max(1, _MAX_PRODUCT_SIZE // (size * size))
    if width <= limit:
        return width
    for panel in range(limit, limit // 4, -1):
        if width % panel == 0:
            return panel
    return width


def _apply_block(
    states: ComplexArray, matrix: Any, low: int, n_qubits: int, workspace: _Workspace
) -> ComplexArray:
    """Apply a 2**k x 2**k matrix to the k adjacent qubits starting at qubit ``low``."""
    out = workspace.target(states)
    source: Any = states
    target: Any = out
    if matrix.dtype != complex:
        # a real matrix acts on real and imaginary parts alike: the float view, twice as wide
        source, target = states.view(np.float64), out.view(np.float64)
    size = matrix.shape[0]
    width = source.shape[1] << low
    batches = 2**n_qubits // (size << low)
    panel = _panel_width(width, size)
    if panel == width:
        shape: tuple[int, ...] = (batches, size, width)
        np.matmul(matrix, source.reshape(shape), out=target.reshape(shape))
    else:
        shape = (batches, size, width // panel, panel)
        np.matmul(
            matrix,
            source.reshape(shape).transpose(0, 2, 1, 3),
            out=target.reshape(shape).transpose(0, 2, 1, 3),
        )
    return out


def _apply_single_per_row(
    states: ComplexArray, matrices: Any, qubit: int, n_qubits: int, workspace: _Workspace
) -> ComplexArray:
    """Apply one 2 x 2 matrix per row (column of ``states``) to ``qubit``."""
    out = workspace.target(states)
    source: Any = states
    target: Any = out
    if matrices.dtype != complex:
        source, target = states.view(np.float64), out.view(np.float64)
        matrices = np.repeat(matrices, 2, axis=0)
    shape = (2 ** (n_qubits - qubit - 1), 2, 2**qubit, source.shape[1])
    source, target = source.reshape(shape), target.reshape(shape)
    for row in (0, 1):
        np.multiply(source[:, 0], matrices[:, row, 0], out=target[:, row])
        target[:, row] += source[:, 1] * matrices[:, row, 1]
    return out


def _product_state(columns: Sequence[Any]) -> ComplexArray:
    """The product of single-qubit states (``columns[q]`` of shape (n_rows or 1, 2))."""
    state = columns[-1].T
    for column in columns[-2::-1]:
        right = column.T
        state = (state[:, None, :] * right[None, :, :]).reshape(
            -1, max(state.shape[1], right.shape[1])
        )
    return np.ascontiguousarray(state, dtype=complex)


class _PreparedLayer:
    """A layer's Kronecker blocks (matrices shared by all rows) and per-row gates."""

    def __init__(self, step: _LayerStep, matrices: Any, n_qubits: int) -> None:
        self.step = step
        self.n_qubits = n_qubits
        self.matrices = matrices  # (n_rows or 1, len(step.qubits), 2, 2)
        self.n_rows = matrices.shape[0]
        per_row = step.varies & (self.n_rows > 1)
        self.blocks = []
        for low, positions in step.blocks(per_row):
            block = matrices[0, positions]
            self.blocks.append((low, _kron(block.real if step.real[positions].all() else block)))
        self.per_row = [
            (step.qubits[j], matrices[:, j].real if step.real[j] else matrices[:, j])
            for j in np.flatnonzero(per_row)
        ]

    def apply(self, states: ComplexArray | None, workspace: _Workspace) -> ComplexArray:
        n_qubits = self.n_qubits
        if states is None:
            # from |0...0>: a product of single-qubit states, built without any gate
            first = np.zeros((1, 2), dtype=complex)
            first[0, 0] = 1.0
            columns: list[Any] = [first] * n_qubits
            for j, qubit in enumerate(self.step.qubits):
                columns[qubit] = (
                    self.matrices[:, j, :, 0] if self.step.varies[j] else self.matrices[:1, j, :, 0]
                )
            return _product_state(columns)
        if self.per_row:
            states = _widen(states, self.n_rows)
        for low, matrix in self.blocks:
            states = _apply_block(states, matrix, low, n_qubits, workspace)
        for qubit, matrices in self.per_row:
            states = _apply_single_per_row(states, matrices, qubit, n_qubits, workspace)
        return states


class _PreparedRun:
    """A run's permutation and its factor for the given angles."""

    def __init__(self, step: _RunStep, angles: FloatArray, n_qubits: int) -> None:
        self.permutation = step.permutation
        self.factor = step.factor(angles)
        self.n_qubits = n_qubits

    def apply(self, states: ComplexArray | None, workspace: _Workspace) -> ComplexArray:
        if states is None:
            states = _zero_state(self.n_qubits)
        if self.permutation is not None:
            out = workspace.target(states)
            # mode="clip" (the indices are valid) spares the temporary copy that "raise" makes
            np.take(states, self.permutation, axis=0, out=out, mode="clip")
            states = out
        factor = self.factor
        if factor is not None:
            if factor.shape[1] > states.shape[1]:
                states = states * factor
            elif workspace.owns(states):
                states *= factor
            else:
                states = np.multiply(states, factor, out=workspace.target(states))
        return states


class _PreparedDense:
    """A dense multi-qubit gate's matrix (per row, or shared) for the given angles."""

    def __init__(self, step: _DenseStep, angles: FloatArray, n_qubits: int) -> None:
        self.qubits = step.gate.qubits
        self.matrices = step.gate.matrices(angles)
        self.n_qubits = n_qubits

    def apply(self, states: ComplexArray | None, workspace: _Workspace) -> ComplexArray:
        n_qubits = self.n_qubits
        if states is None:
            states = _zero_state(n_qubits)
        matrices = self.matrices
        per_row = matrices.shape[0] > 1
        if per_row:
            states = _widen(states, matrices.shape[0])
        out = workspace.target(states)
        shape = (2,) * n_qubits + (states.shape[1],)
        source, target = states.reshape(shape), out.reshape(shape)
        # the amplitudes whose bits at the gate's qubits are each local basis state
        views = []
        for local in range(matrices.shape[1]):
            view: list[Any] = [slice(None)] * (n_qubits + 1)
            for bit, qubit in enumerate(self.qubits):
                view[n_qubits - 1 - qubit] = (local >> bit) & 1
            views.append(tuple(view))
        for row, row_view in enumerate(views):
            destination = target[row_view]
            first = True
            for column, column_view in enumerate(views):
                coefficient = matrices[:, row, column] if per_row else matrices[0, row, column]
                if not per_row and coefficient == 0:
                    continue
                if first:
                    np.multiply(source[column_view], coefficient, out=destination)
                    first = False
                else:
                    destination += coefficient * source[column_view]
            if first:  # pragma: no cover - a unitary has no zero row
                destination[...] = 0.0
        return out


_Prepared = _PreparedLayer | _PreparedRun | _PreparedDense


def _pure_permutation(step: _Step) -> IndexArray | None:
    """A run's permutation when it has no phases (then it folds into a matrix's columns)."""
    if isinstance(step, _RunStep) and step.patterns is None and step.coefficients is None:
        return step.permutation
    return None


class _UnitaryProduct:
    """The unitary of a schedule on a few qubits, as a product of full matrices.

    The full matrices of all layers (the Kronecker product of a layer's qubit matrices and
    the identity on the other qubits) are built together by one gather and one product:
    entry (i, j) of a layer's matrix is the product over the qubits q of their matrices'
    entries at (bit q of i, bit q of j). A run that only permutes basis states (a CX chain)
    is folded into the gather of the layer after it (K P is K with permuted columns); other
    runs and dense gates act on the running product. Forming the unitary thus costs a few
    NumPy calls plus one small matrix product per layer, whatever the number of gates, in
    real arithmetic when every step is real (RealAmplitudes).
    """

    def __init__(self, steps: Sequence[_Step], n_qubits: int) -> None:
        self.steps = list(steps)
        self.n_qubits = n_qubits
        layers = [step for step in self.steps if isinstance(step, _LayerStep)]
        self.n_layers = len(layers)
        self.real = all(bool(step.real.all()) for step in layers) and all(
            isinstance(step, _RunStep)
            and step.patterns is None
            and (step.coefficients is None or step.coefficients.dtype != complex)
            for step in self.steps
            if not isinstance(step, _LayerStep)
        )
        self.dtype = np.float64 if self.real else np.complex128
        # the layers' distinct single-qubit gates: fixed matrices, then the parameterised
        # ones grouped by formula, then the identity
        pair_gates = [gates for step in layers for gates in step.gates_by_qubit.values()]
        fixed: list[Any] = []
        groups: dict[str, list[_Gate]] = {}
        index_of: dict[int, int] = {}
        for gates in pair_gates:
            for gate in gates:
                if id(gate) in index_of:
                    continue
                if gate.matrix is None:
                    groups.setdefault(gate.name, []).append(gate)
                    index_of[id(gate)] = -1  # placed after the fixed ones, below
                else:
                    index_of[id(gate)] = len(fixed)
                    fixed.append(gate.matrix.real if self.real else gate.matrix)
        next_index = len(fixed)
        # per formula: the function filling its gates' slice of the matrices, the angle
        # columns of each of its arguments, and the slice
        self.formulas: list[tuple[Callable[..., None], list[IndexArray], slice]] = []
        for name, members in groups.items():
            start = next_index
            for gate in members:
                index_of[id(gate)] = next_index
                next_index += 1
            build = members[0].build
            assert build is not None
            fill = _REAL_FILLS.get(name) if self.real else None
            if fill is None:
                fill = functools.partial(_fill_with, build, self.real)
            columns = np.array([gate.angle_columns for gate in members], dtype=np.intp)
            arguments = [columns[:, j].copy() for j in range(columns.shape[1])]
            self.formulas.append((fill, arguments, slice(start, next_index)))
        identity = next_index
        # the fixed matrices and the identity in place; the formulas' slices are filled per call
        self.template = np.empty((identity + 1, 2, 2), dtype=self.dtype)
        self.template[: len(fixed)] = np.array(fixed, dtype=self.dtype).reshape(-1, 2, 2)
        self.template[identity] = np.eye(2)
        self.identity = self.template[identity:]
        depth = max((len(gates) for gates in pair_gates), default=0)
        # the matrix of every (layer, qubit) pair, slot by slot
        self.slots = [
            np.array(
                [index_of[id(gates[s])] if s < len(gates) else identity for gates in pair_gates],
                dtype=np.intp,
            )
            for s in range(depth)
        ]
        # where each (layer, qubit) matrix sits among the pairs; just past them: the identity
        self.positions = np.full((len(layers), n_qubits), len(pair_gates), dtype=np.intp)
        offset = 0
        for layer, step in enumerate(layers):
            self.positions[layer, list(step.qubits)] = offset + np.arange(len(step.qubits))
            offset += len(step.qubits)
        # one gate per pair (the usual case): each (layer, qubit) reads its matrix directly
        self.direct = np.append(self.slots[0], identity)[self.positions] if depth == 1 else None
        # the chain of products; pure permutations folded into the next layer's columns
        self.chain: list[tuple[str, Any]] = []
        index = np.arange(2**n_qubits)
        columns_of_layer: list[IndexArray] = []
        for position, current in enumerate(self.steps):
            if isinstance(current, _LayerStep):
                self.chain.append(("layer", len(columns_of_layer)))
                before = _pure_permutation(self.steps[position - 1]) if position else None
                columns_of_layer.append(index if before is None else np.argsort(before))
                continue
            following = self.steps[position + 1] if position + 1 < len(self.steps) else None
            if _pure_permutation(current) is None or not isinstance(following, _LayerStep):
                self.chain.append(("run" if isinstance(current, _RunStep) else "dense", current))
        # flat positions, in the stacked (layer, qubit, row, column) matrices, of the factors
        # of every entry: shape (n_layers, n_qubits, 2**n, 2**n)
        bits = (index[None, :] >> np.arange(n_qubits)[:, None]) & 1
        self.kron_index = np.empty((len(layers), n_qubits, index.size, index.size), np.intp)
        for layer, columns in enumerate(columns_of_layer):
            pair = layer * n_qubits + np.arange(n_qubits)
            self.kron_index[layer] = (pair[:, None, None] * 2 + bits[:, :, None]) * 2 + bits[
                :, columns
            ][:, None, :]

    def __call__(self, angles: FloatArray) -> Any:
        """The unitary for one row of ``angles`` (float64 when it is real)."""
        size = 2**self.n_qubits
        full: Any = None
        if self.n_layers:
            row = angles[0]
            matrices = self.template.copy()
            for fill, arguments, place in self.formulas:
                fill(matrices[place], *(row[columns] for columns in arguments))
            if self.direct is not None:
                stacked = matrices[self.direct]
            else:
                pairs: Any = matrices[self.slots[0]]
                for slot in self.slots[1:]:
                    pairs = matrices[slot] @ pairs
                stacked = np.concatenate([pairs, self.identity])[self.positions]
            full = np.prod(stacked.reshape(-1)[self.kron_index], axis=1)
        product: Any = None  # None: the identity so far
        for kind, item in self.chain:
            if kind == "layer":
                product = full[item] if product is None else full[item] @ product
                continue
            if product is None:
                product = np.eye(size, dtype=self.dtype)
            if kind == "run":
                if item.permutation is not None:
                    product = product[item.permutation]
                factor = item.factor(angles)
                if factor is not None:
                    product = product * factor
            else:
                dense = _PreparedDense(item, angles, self.n_qubits)
                product = dense.apply(np.asarray(product, dtype=complex), _Workspace())
        return np.eye(size, dtype=self.dtype) if product is None else product

    def many(self, angles: FloatArray) -> Any:
        """The unitaries for every row of ``angles``, shape (n_rows, 2**n, 2**n).

        The same construction as :meth:`__call__` with a leading axis over the rows; a
        dense multi-qubit step is applied row by row.
        """
        n_rows = angles.shape[0]
        size = 2**self.n_qubits
        full: Any = None
        if self.n_layers:
            matrices = np.repeat(self.template[None], n_rows, axis=0)
            for fill, arguments, place in self.formulas:
                count = place.stop - place.start
                block = np.empty((n_rows * count, 2, 2), dtype=self.dtype)
                fill(block, *(angles[:, columns].reshape(-1) for columns in arguments))
                matrices[:, place] = block.reshape(n_rows, count, 2, 2)
            if self.direct is not None:
                stacked = matrices[:, self.direct]
            else:
                pairs: Any = matrices[:, self.slots[0]]
                for slot in self.slots[1:]:
                    pairs = matrices[:, slot] @ pairs
                identity = np.broadcast_to(self.identity, (n_rows, *self.identity.shape))
                stacked = np.concatenate([pairs, identity], axis=1)[:, self.positions]
            flat: Any = stacked.reshape(n_rows, -1)
            full = np.prod(flat[:, self.kron_index], axis=2)
        product: Any = None
        for kind, item in self.chain:
            if kind == "layer":
                product = full[:, item] if product is None else full[:, item] @ product
                continue
            if product is None:
                product = np.broadcast_to(np.eye(size, dtype=self.dtype), (n_rows, size, size))
            if kind == "run":
                if item.permutation is not None:
                    product = product[:, item.permutation]
                factor = item.factor(angles)
                if factor is not None:
                    product = product * factor.T[:, :, None]
            else:
                rows = [
                    _PreparedDense(item, angles[r : r + 1], self.n_qubits).apply(
                        np.asarray(product[r], dtype=complex), _Workspace()
                    )
                    for r in range(n_rows)
                ]
                product = np.stack(rows)
        if product is None:
            return np.broadcast_to(np.eye(size, dtype=self.dtype), (n_rows, size, size)).copy()
        return product


# What the error messages tell the user of each kind of circuit (see CompiledCircuit's role):
# who binds the parameters, why the circuit must be unitary, and the route that can take
# gates the exact simulator cannot.
_ROLES = {
    "classifier": (
        "the classifier",
        "the feature map and ansatz must be unitary circuits without measurements (the "
        "classifier measures <Z> on qubit 0 itself)",
        "use shots= or estimator= to simulate with Qiskit Aer",
    ),
    "kernel": (
        "the kernel's features",
        "a quantum kernel needs a unitary feature map without measurements or resets (the "
        "kernel adds the measurements it needs itself)",
        "evaluate the kernel with a Qiskit sampler (sampler=... or shots=...)",
    ),
}


def _expand_unsupported(circuit: QuantumCircuit, role: str = "classifier") -> QuantumCircuit:
    """Decompose parameterised gates that have no native formula, until none is left."""
    _, unitary_because, other_route = _ROLES[role]
    for _ in range(10):
        unsupported = set()
        for instruction in circuit.data:
            operation = instruction.operation
            name = operation.name
            if name in _IGNORED_INSTRUCTIONS or name in _PARAMETERISED_GATES:
                continue
            if name in _NON_UNITARY_INSTRUCTIONS or instruction.clbits:
                raise ValueError(
                    f"The circuit contains the non-unitary instruction {name!r}; {unitary_because}."
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
                f"decompose them further. Decompose them into standard gates, or {other_route}."
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
    role : {"classifier", "kernel"}, default="classifier"
        What the circuit is for, named in the error messages (the variational classifiers'
        circuits, or a quantum kernel's feature map).
    """

    def __init__(
        self, circuit: QuantumCircuit, parameters: Sequence[Parameter], *, role: str = "classifier"
    ) -> None:
        parameters = tuple(parameters)
        missing = set(circuit.parameters) - set(parameters)
        if missing:
            raise ValueError(
                f"The circuit has parameters {sorted(str(p) for p in missing)} that are not "
                f"bound by {_ROLES[role][0]}."
            )
        circuit = _expand_unsupported(circuit, role)
        self.n_qubits = circuit.num_qubits
        self.n_parameters = len(parameters)
        column_of = {parameter: column for column, parameter in enumerate(parameters)}
        self.global_phase = compile_angle(circuit.global_phase, parameters, column_of=column_of)
        self._table = _AngleTable(self.n_parameters)
        index_of = {qubit: index for index, qubit in enumerate(circuit.qubits)}
        gates: list[_Gate] = []
        for instruction in circuit.data:
            operation = instruction.operation
            if operation.name in _IGNORED_INSTRUCTIONS:
                continue
            qubits = tuple(index_of[q] for q in instruction.qubits)
            if operation.name in _PARAMETERISED_GATES and _is_parameterised(operation):
                n_angles, build = _PARAMETERISED_GATES[operation.name]
                angles = tuple(
                    compile_angle(a, parameters, column_of=column_of) for a in operation.params
                )
                if len(angles) != n_angles:  # pragma: no cover - Qiskit guarantees the arity
                    raise ValueError(f"Gate {operation.name!r} has {len(angles)} angles.")
                columns = [self._table.add(angle) for angle in angles]
                gates.append(
                    _Gate(operation.name, qubits, build=build, angles=angles, angle_columns=columns)
                )
            else:
                matrix = np.asarray(operation.to_matrix(), dtype=complex)
                gates.append(_Gate(operation.name, qubits, matrix=matrix))
        self._table.build()
        #: The circuit's gates in order (name, qubits, angle evaluators, matrix or formula).
        self.operations = tuple(gates)
        # single-qubit matrices are computed once per call for all gates: the fixed ones
        # (after the identity, index 0) stacked here, the parameterised ones by formula
        fixed = [np.eye(2, dtype=complex)]
        groups: dict[str, list[_Gate]] = {}
        for gate in gates:
            if len(gate.qubits) == 1:
                if gate.matrix is not None:
                    gate.matrix_index = len(fixed)
                    fixed.append(gate.matrix)
                else:
                    groups.setdefault(gate.name, []).append(gate)
        self._fixed_single = np.stack(fixed)[None]
        self._single_groups: list[tuple[Callable[..., ComplexArray], IndexArray]] = []
        next_index = len(fixed)
        for members in groups.values():
            for gate in members:
                gate.matrix_index = next_index
                next_index += 1
            angle_columns = np.array([gate.angle_columns for gate in members], dtype=np.intp)
            assert members[0].build is not None
            self._single_groups.append((members[0].build, angle_columns))
        self._schedules: dict[bool, list[_Step]] = {}
        self._unitary_product: _UnitaryProduct | None = None

    # ----------------------------------------------------------------------------------------
    # internals: schedule, per-call matrices, execution
    # ----------------------------------------------------------------------------------------
    def _schedule(self, *, per_row: bool) -> list[_Step]:
        steps = self._schedules.get(per_row)
        if steps is None:
            steps = self._schedules[per_row] = _schedule(
                self.operations, self.n_qubits, per_row=per_row
            )
        return steps

    def _folded_schedule(self, observable: FloatArray) -> tuple[list[_Step], FloatArray]:
        """Steps and diagonal observable giving the same expectation values, shortened.

        Trailing runs only permute the measured probabilities (their phases drop out), so they
        are moved into the observable; trailing gates on qubits the observable does not
        depend on cannot change it and are left out (for RealAmplitudes: the whole last layer
        but the measured qubit's gate).
        """
        steps = list(self._schedule(per_row=False))
        observable = np.array(observable, dtype=float)
        while steps:
            step = steps[-1]
            if isinstance(step, _RunStep):
                if step.permutation is not None:
                    moved = np.empty_like(observable)
                    moved[step.permutation] = observable
                    observable = moved
                steps.pop()
                continue
            support = _support(observable, self.n_qubits)
            if isinstance(step, _LayerStep):
                steps.pop()
                kept = step.restricted(support)
                if kept is not None:
                    steps.append(kept)
                    break
                continue
            if set(step.gate.qubits) & support:
                break
            steps.pop()
        return steps, observable

    def _single_qubit_matrices(self, angles: FloatArray) -> Any:
        """All single-qubit gate matrices by matrix index, shape (n_rows or 1, n, 2, 2)."""
        n_rows = angles.shape[0]
        parts = [self._fixed_single]
        if n_rows > 1:
            parts[0] = np.broadcast_to(self._fixed_single, (n_rows, *self._fixed_single.shape[1:]))
        for build, columns in self._single_groups:
            arguments = [angles[:, columns[:, j]].reshape(-1) for j in range(columns.shape[1])]
            parts.append(build(*arguments).reshape(n_rows, columns.shape[0], 2, 2))
        return np.concatenate(parts, axis=1)

    def _prepare(self, steps: Sequence[_Step], angles: FloatArray) -> list[_Prepared]:
        """The steps' matrices, permutations and phase factors for these angles."""
        prepared: list[_Prepared] = []
        single: Any = None
        for step in steps:
            if isinstance(step, _LayerStep):
                if step.any_varies:
                    if single is None:
                        single = self._single_qubit_matrices(angles)
                    source = single
                else:
                    source = self._fixed_single
                matrices = source[:, step.slots[0]]
                for slot in step.slots[1:]:
                    matrices = source[:, slot] @ matrices
                prepared.append(_PreparedLayer(step, matrices, self.n_qubits))
            elif isinstance(step, _RunStep):
                prepared.append(_PreparedRun(step, angles, self.n_qubits))
            else:
                prepared.append(_PreparedDense(step, angles, self.n_qubits))
        return prepared

    @staticmethod
    def _execute(
        prepared: Sequence[_Prepared], states: ComplexArray | None, workspace: _Workspace
    ) -> ComplexArray | None:
        """Column-major states after the prepared steps (None: still |0...0>)."""
        out = states
        for step in prepared:
            out = step.apply(out, workspace)
        return out

    def _global_phase_factor(self, values: FloatArray) -> ComplexArray | None:
        if self.global_phase.kind == "constant" and self.global_phase.constant == 0.0:
            return None
        return np.exp(1j * self.global_phase(values))

    def _simulate(
        self, values: FloatArray, states: ComplexArray | None, n_rows: int
    ) -> ComplexArray:
        """Column-major final states of ``n_rows`` rows (``values``: one row or ``n_rows``)."""
        steps = self._schedule(per_row=values.shape[0] > 1)
        prepared = self._prepare(steps, self._table(values))
        out = self._execute(prepared, states, _Workspace())
        if out is None:
            out = _zero_state(self.n_qubits)
        if out is states:  # no gates at all: never hand back (or scale) the input
            out = out.copy()
        out = _widen(out, n_rows)
        factor = self._global_phase_factor(values)
        if factor is not None:
            out = out * factor[None, :]
        return out

    def _check_values(self, values: Any) -> FloatArray:
        values = np.asarray(values, dtype=float)
        if values.ndim == 1:
            values = values[None, :]
        if values.ndim != 2 or values.shape[1] != self.n_parameters:
            raise ValueError(
                f"values must have shape (n_rows, {self.n_parameters}); got {values.shape}."
            )
        return values

    # ----------------------------------------------------------------------------------------
    # public interface: arrays of shape (n_rows, 2**n_qubits)
    # ----------------------------------------------------------------------------------------
    def evolve(self, values: Any, states: ComplexArray | None = None) -> ComplexArray:
        """Final statevectors, one per row of ``values``, shape (n_rows, 2**n_qubits).

        ``states`` (shape (n_rows, 2**n_qubits)) are the initial states; by default |0...0>.
        With ``states``, ``values`` may also be a single row shared by all of them. The
        result is the transpose of a C-contiguous (2**n_qubits, n_rows) array.
        """
        values = self._check_values(values)
        size = 2**self.n_qubits
        if states is None:
            n_rows = values.shape[0]
        else:
            states = np.asarray(states, dtype=complex)
            if states.ndim != 2 or states.shape[1] != size:
                raise ValueError(f"states must have shape (n_rows, {size}); got {states.shape}.")
            n_rows = states.shape[0]
            if values.shape[0] not in (1, n_rows):
                raise ValueError(
                    f"values has {values.shape[0]} rows for {n_rows} states; pass one row "
                    "per state or a single shared row."
                )
        chunk = max(1, _MAX_CHUNK_AMPLITUDES // size)
        if n_rows <= chunk:
            columns = None if states is None else np.ascontiguousarray(states.T)
            return self._simulate(values, columns, n_rows).T
        out = np.empty((size, n_rows), dtype=complex)
        for start in range(0, n_rows, chunk):
            stop = min(n_rows, start + chunk)
            rows = values if values.shape[0] == 1 else values[start:stop]
            columns = None if states is None else np.ascontiguousarray(states[start:stop].T)
            out[:, start:stop] = self._simulate(rows, columns, stop - start)
        return out.T

    def unitary(self, values: Any) -> ComplexArray:
        """The circuit's unitary for one parameter row, shape (2**n_qubits, 2**n_qubits)."""
        values = self._check_values(values)
        if values.shape[0] != 1:
            raise ValueError("unitary() takes a single parameter row.")
        size = 2**self.n_qubits
        if self.n_qubits > _MAX_QUBITS_FOR_UNITARY:
            # column j of the result is U e_j
            return self._simulate(values, np.eye(size, dtype=complex), size)
        if self._unitary_product is None:
            self._unitary_product = _UnitaryProduct(self._schedule(per_row=False), self.n_qubits)
        unitary = np.asarray(self._unitary_product(self._table(values)), dtype=complex)
        factor = self._global_phase_factor(values)
        return unitary if factor is None else unitary * factor[0]

    def apply(self, states: ComplexArray, values: Any) -> ComplexArray:
        """Apply the circuit, with one shared parameter row, to a batch of states."""
        values = self._check_values(values)
        states = np.asarray(states, dtype=complex)
        if (
            self.n_qubits <= _MAX_QUBITS_FOR_UNITARY
            and values.shape[0] == 1
            and states.shape[0] > 2**self.n_qubits
        ):
            return _matmul(states, self.unitary(values).T)
        return self.evolve(values, states)


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
    matrix-vector product. Larger registers apply the ansatz to the states directly, stored
    column-major in groups of rows. Either way the ansatz's trailing gates that cannot change
    the result are left out first (:meth:`CompiledCircuit._folded_schedule`).

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
        use_quadratic = (
            ansatz.n_qubits <= _MAX_QUBITS_FOR_UNITARY
            and states.shape[0] * dimension**2 <= self._MAX_QUADRATIC_FEATURES
            and states.shape[0] > dimension
        )
        self._steps, self._observable = ansatz._folded_schedule(self.signs)
        # one evaluation at a time reuses the buffers
        self._workspace = _Workspace()
        self._lock = threading.Lock()
        self.states: ComplexArray | None = None
        self.features: FloatArray | None = None
        if use_quadratic:
            self._product = _UnitaryProduct(self._steps, ansatz.n_qubits)
            self.upper = np.triu_indices(dimension, k=1)
            rows, columns = self.upper
            products = np.conj(states[:, rows]) * states[:, columns]
            # <Z> = sum_j |psi_j|^2 M_jj + 2 sum_{j<k} Re(conj(psi_j) psi_k M_jk): the factors
            # 2 (and the sign of the imaginary parts) go into the features, and each
            # evaluation picks the needed entries of M with one gather
            parts = [states.real**2 + states.imag**2, 2.0 * products.real]
            flat = rows * dimension + columns
            diagonal = np.arange(dimension) * (dimension + 1)
            if self._product.real:
                # a real observable U^T Z U: no imaginary parts to pair with
                self._entries = np.concatenate([diagonal, flat])
            else:
                parts.append(-2.0 * products.imag)
                # positions in the float64 view of the complex observable
                self._entries = np.concatenate([2 * diagonal, 2 * flat, 2 * flat + 1])
            self.features = np.ascontiguousarray(np.concatenate(parts, axis=1))
        else:
            self.states = states
            chunk = max(1, _MAX_CHUNK_AMPLITUDES // dimension)
            self._groups = [
                np.ascontiguousarray(np.asarray(states[start : start + chunk], dtype=complex).T)
                for start in range(0, states.shape[0], chunk)
            ]

    def _measure(self, states: ComplexArray) -> FloatArray:
        floats = states.view(np.float64)
        per_part = np.einsum("i,ij,ij->j", self._observable, floats, floats)
        return per_part[0::2] + per_part[1::2]

    def __call__(self, weights: Any) -> FloatArray:
        values = self.ansatz._check_values(weights)
        if values.shape[0] != 1:
            raise ValueError("ZExpectation takes a single weight row.")
        angles = self.ansatz._table(values)
        if self.features is None:
            with self._lock:
                prepared = self.ansatz._prepare(self._steps, angles)
                parts = []
                for group in self._groups:
                    out = self.ansatz._execute(prepared, group, self._workspace)
                    assert out is not None  # the input states are given
                    parts.append(self._measure(out))
                return np.concatenate(parts)
        unitary = self._product(angles)
        if self._product.real:
            observable = (unitary.T * self._observable) @ unitary
        else:
            observable = ((unitary.conj().T * self._observable) @ unitary).view(np.float64)
        return self.features @ observable.take(self._entries)

    def many(self, weight_rows: Any) -> FloatArray:
        """<Z> for several weight rows at once, shape (n_weight_rows, n_states).

        With the precomputed quadratic features, all observables are formed first and the
        expectation values are one matrix product; otherwise rows are evaluated in turn.
        """
        rows = self.ansatz._check_values(weight_rows)
        if self.features is None:
            return np.stack([self(row[None, :]) for row in rows])
        unitaries = self._product.many(self.ansatz._table(rows))
        if self._product.real:
            observables = (unitaries.transpose(0, 2, 1) * self._observable) @ unitaries
        else:
            adjoints = unitaries.conj().transpose(0, 2, 1)
            observables = ((adjoints * self._observable) @ unitaries).view(np.float64)
        gathered = observables.reshape(rows.shape[0], -1)[:, self._entries]
        return np.ascontiguousarray(_matmul(self.features, gathered.T).T, dtype=float)
