"""Feature-map states with diagonal runs fused: the state preparation of the quantum kernels.

A kernel Gram matrix needs the feature-map state of every sample, and kernel training needs
them again at every optimizer step, so their preparation is the part of a kernel worth
making fast. The common feature maps (ZZ, Z, IQP, Pauli maps over Z strings) are layers of
constant single-qubit gates (Hadamards) between long runs of CX gates and phase gates whose
angles carry the data. :class:`FusedCircuit` rewrites such a circuit into a few *segments*:

- a **diagonal segment** is a run of parameterised diagonal gates (``p``, ``rz``, ``cp``,
  ``crz``, ``rzz``, ...) and constant gates with one non-zero entry per row (``cx``, ``x``,
  ``swap``, ``cz``, ``s``, ...). Such a run is one permutation with phases ``Pi`` times one
  diagonal ``D(x)`` (a diagonal gate behind a permutation is a permuted diagonal), and
  ``D(x)`` is ``exp(i A(x) @ S)`` for the matrix ``A(x)`` of the gate angles of every sample
  and a fixed real matrix ``S``: the whole run costs one small matrix product and one
  complex exponential per sample, however many gates it holds;
- a **local segment** is a run of constant single-qubit gates, multiplied per qubit (one
  2x2 matrix per qubit, or one small Kronecker product on a few qubits);
- anything else (a data-dependent ``ry``, a constant Toffoli, ...) is left to the batched
  simulator of :mod:`qbloodcell.quantum._statevector`.

With the default initial state ``|0...0>`` the leading segments that do not depend on the
data are applied once, to a single vector, and shared by all samples.

Conventions are Qiskit's (little-endian: qubit ``q`` is bit ``q`` of a basis-state index),
as in :mod:`qbloodcell.quantum._statevector`, and the results agree with
:class:`~qbloodcell.quantum._statevector.CompiledCircuit` and with
:class:`qiskit.quantum_info.Statevector`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray
from qiskit.circuit import Parameter, ParameterExpression, QuantumCircuit

from qbloodcell.quantum._statevector import (
    SUPPORTED_PARAMETERISED_GATES,
    CompiledCircuit,
    compile_angle,
)

FloatArray = NDArray[np.float64]
ComplexArray = NDArray[np.complex128]

_IGNORED = frozenset({"barrier", "delay"})
_NON_UNITARY = frozenset({"measure", "reset", "initialize", "store"})
# Up to this many qubits a local segment is one Kronecker-product matrix (one matrix
# product); above it, blocks of _KRON_BLOCK qubits avoid a (2**n, 2**n) matrix while keeping
# each pass a matrix product (a 2x2 product per qubit costs many more passes over the states).
_MAX_QUBITS_FOR_KRON = 6
_KRON_BLOCK = 4

# Parameterised diagonal gates: the phase on local basis state l (the gate's first qubit is
# the least significant bit of l) is angle * _DIAGONAL_PHASES[name][l]; checked against
# Qiskit's matrices in the tests.
_DIAGONAL_PHASES: dict[str, tuple[float, ...]] = {
    "p": (0.0, 1.0),
    "u1": (0.0, 1.0),
    "rz": (-0.5, 0.5),
    "cp": (0.0, 0.0, 0.0, 1.0),
    "cu1": (0.0, 0.0, 0.0, 1.0),
    "crz": (0.0, -0.5, 0.0, 0.5),
    "rzz": (-0.5, 0.5, 0.5, -0.5),
}
#: Names of the parameterised gates a diagonal segment absorbs.
DIAGONAL_GATES = frozenset(_DIAGONAL_PHASES)


def _local_index(qubits: tuple[int, ...], n_qubits: int) -> NDArray[np.intp]:
    """l(i): the bits of basis index i at ``qubits``, ``qubits[0]`` least significant."""
    index = np.arange(2**n_qubits)
    local = np.zeros_like(index)
    for bit, qubit in enumerate(qubits):
        local |= ((index >> qubit) & 1) << bit
    return local


def _monomial(matrix: ComplexArray) -> tuple[NDArray[np.intp], ComplexArray] | None:
    """(column of the non-zero entry of each row, its value), if every row has exactly one."""
    nonzero = np.abs(matrix) > 1e-14
    if not np.all(nonzero.sum(axis=1) == 1):
        return None
    column = np.argmax(nonzero, axis=1)
    return column, matrix[np.arange(matrix.shape[0]), column]


def _is_parameterised(operation: Any) -> bool:
    return any(
        isinstance(param, ParameterExpression) and param.parameters for param in operation.params
    )


def _matrix(operation: Any) -> ComplexArray | None:
    try:
        return np.asarray(operation.to_matrix(), dtype=complex)
    except Exception:  # composite gates and opaque instructions have no matrix
        return None


class _Monomials:
    """The distinct monomials of the parameters that the diagonal gate angles are made of.

    Every angle of a diagonal segment is a polynomial in the parameters (or, rarely, a
    function bound row by row), so the phases of a whole segment are
    ``monomials(values) @ weights`` for one fixed real matrix ``weights``: the angles need
    not be evaluated gate by gate, and monomials shared by several segments (the repetitions
    of a feature map) are computed once per call.
    """

    def __init__(self) -> None:
        self.keys: list[Any] = []
        self.index: dict[Any, int] = {}
        self.functions: dict[int, Any] = {}

    def _column(self, key: Any) -> int:
        if key not in self.index:
            self.index[key] = len(self.keys)
            self.keys.append(key)
        return self.index[key]

    def add(self, angle: Any) -> list[tuple[int, float]]:
        """(monomial column, coefficient) pairs whose sum is ``angle``."""
        if angle.kind == "constant":
            return [(self._column(()), float(angle.constant))]
        if angle.kind == "polynomial":
            return [(self._column(tuple(columns)), float(c)) for c, columns in angle.terms]
        column = self._column(("bind", len(self.functions)))
        self.functions[column] = angle
        return [(column, 1.0)]

    def __call__(self, values: FloatArray) -> FloatArray:
        out = np.empty((values.shape[0], len(self.keys)))
        for column, key in enumerate(self.keys):
            if column in self.functions:
                out[:, column] = self.functions[column](values)
            elif not key:
                out[:, column] = 1.0
            else:
                product = out[:, column]
                np.copyto(product, values[:, key[0]])
                for parameter in key[1:]:
                    product *= values[:, parameter]
        return out


class _DiagonalSegment:
    """``Pi D(x)``: phases ``monomials(x) @ weights``, then ``state[i] <- c[i] state[p[i]]``."""

    def __init__(self, n_qubits: int, monomials: _Monomials) -> None:
        self.n_qubits = n_qubits
        dimension = 2**n_qubits
        self.monomials = monomials
        self.permutation = np.arange(dimension)
        self.inverse = np.arange(dimension)
        self.coefficients = np.ones(dimension, dtype=complex)
        self.signs: dict[int, FloatArray] = {}
        self.weights: FloatArray | None = None

    def add_diagonal(self, phases: FloatArray, angle: Any) -> None:
        # D_g Pi = Pi (Pi^-1 D_g Pi): behind the permutation the diagonal is permuted
        permuted = phases[self.inverse]
        for column, coefficient in self.monomials.add(angle):
            self.signs[column] = self.signs.get(column, 0.0) + coefficient * permuted

    def add_monomial(self, source: NDArray[np.intp], value: ComplexArray) -> None:
        # (g Pi v)[i] = value[i] * (Pi v)[source[i]]
        self.coefficients = value * self.coefficients[source]
        self.permutation = self.permutation[source]
        self.inverse = np.argsort(self.permutation)

    def finish(self) -> None:
        self.identity_permutation = bool(
            np.all(self.permutation == np.arange(self.permutation.size))
        )
        self.unit_coefficients = bool(np.all(self.coefficients == 1.0))

    def build_weights(self) -> None:
        """The phase matrix, once every monomial of the circuit is known."""
        if self.signs:
            weights = np.zeros((len(self.monomials.keys), 2**self.n_qubits))
            for column, signs in self.signs.items():
                weights[column] = signs
            self.weights = weights

    @property
    def constant(self) -> bool:
        return not self.signs

    def __call__(
        self, states: ComplexArray, values: FloatArray, monomials: FloatArray | None
    ) -> ComplexArray:
        if self.weights is not None:
            assert monomials is not None
            phases = monomials @ self.weights
            # cos and sin written into one complex array: cheaper than np.exp(1j * phases)
            rotation = np.empty(phases.shape, dtype=complex)
            np.cos(phases, out=rotation.real)
            np.sin(phases, out=rotation.imag)
            states = states * rotation
        if not self.identity_permutation:
            states = states[:, self.permutation]
        if not self.unit_coefficients:
            states = states * self.coefficients
        return states


class _LocalSegment:
    """Constant single-qubit gates, multiplied per qubit (gates on different qubits commute,
    so the time order matters only per qubit) and applied as Kronecker products over blocks
    of neighbouring qubits: one matrix product per block."""

    constant = True

    def __init__(self, n_qubits: int) -> None:
        self.n_qubits = n_qubits
        self.matrices: dict[int, ComplexArray] = {}

    def add(self, qubit: int, matrix: ComplexArray) -> None:
        self.matrices[qubit] = matrix @ self.matrices.get(qubit, np.eye(2, dtype=complex))

    def finish(self) -> None:
        n = self.n_qubits
        size = n if n <= _MAX_QUBITS_FOR_KRON else _KRON_BLOCK
        identity = np.eye(2, dtype=complex)
        # (first qubit of the block, its Kronecker product) for blocks holding a gate
        self.blocks: list[tuple[int, int, ComplexArray]] = []
        for first in range(0, n, size):
            qubits = range(first, min(first + size, n))
            if not any(q in self.matrices for q in qubits):
                continue
            block = np.ones((1, 1), dtype=complex)
            # Qiskit order: the highest qubit is the leftmost Kronecker factor
            for qubit in reversed(qubits):
                block = np.kron(block, self.matrices.get(qubit, identity))
            self.blocks.append((first, len(qubits), block))

    def __call__(
        self, states: ComplexArray, values: FloatArray, monomials: FloatArray | None
    ) -> ComplexArray:
        n_rows, dimension = states.shape
        for first, size, block in self.blocks:
            outer = n_rows * (dimension >> (first + size))
            if first == 0:
                states = (states.reshape(outer, 2**size) @ block.T).reshape(n_rows, dimension)
            else:
                view = states.reshape(outer, 2**size, 1 << first)
                states = np.matmul(block, view).reshape(n_rows, dimension)
        return states


class _CompiledSegment:
    """Any other run of gates, simulated by :class:`CompiledCircuit`."""

    def __init__(self, circuit: QuantumCircuit, parameters: Sequence[Parameter]) -> None:
        self.compiled = CompiledCircuit(circuit, parameters)
        self.constant = not circuit.parameters

    def __call__(
        self, states: ComplexArray, values: FloatArray, monomials: FloatArray | None
    ) -> ComplexArray:
        return self.compiled.evolve(values, states)


def _expand(circuit: QuantumCircuit, argument: str) -> QuantumCircuit:
    """Decompose instructions that neither segment nor the batched simulator can take."""
    for _ in range(10):
        unsupported = set()
        for instruction in circuit.data:
            operation = instruction.operation
            name = operation.name
            if name in _IGNORED:
                continue
            if name in _NON_UNITARY or instruction.clbits:
                raise ValueError(
                    f"{argument} contains the non-unitary instruction {name!r}; a quantum "
                    "kernel needs a unitary feature map without measurements or resets (the "
                    "kernel adds the measurements it needs itself)."
                )
            if _is_parameterised(operation):
                if name not in SUPPORTED_PARAMETERISED_GATES:
                    unsupported.add(name)
            elif _matrix(operation) is None:
                unsupported.add(name)
        if not unsupported:
            return circuit
        expanded = circuit.decompose(gates_to_decompose=sorted(unsupported))
        if [i.operation.name for i in expanded.data] == [i.operation.name for i in circuit.data]:
            raise NotImplementedError(
                f"{argument} contains the gate(s) {sorted(unsupported)}, which have free "
                "parameters and cannot be decomposed into gates the exact simulator knows "
                f"({sorted(SUPPORTED_PARAMETERISED_GATES)}); decompose them into standard "
                "gates, or evaluate the kernel with a Qiskit sampler (sampler=... or shots=...)."
            )
        circuit = expanded
    raise NotImplementedError(f"{argument} could not be decomposed into supported gates.")


class FusedCircuit:
    """A parameterised unitary circuit compiled into fused segments for batched simulation.

    Parameters
    ----------
    circuit : qiskit.circuit.QuantumCircuit
        A unitary circuit (no measurements or resets).
    parameters : sequence of qiskit.circuit.Parameter
        Every free parameter of ``circuit``, in the column order of the ``values`` passed to
        :meth:`evolve`.
    argument : str, default="feature_map"
        The name given to the circuit in error messages.
    """

    def __init__(
        self,
        circuit: QuantumCircuit,
        parameters: Sequence[Parameter],
        *,
        argument: str = "feature_map",
    ) -> None:
        parameters = tuple(parameters)
        missing = set(circuit.parameters) - set(parameters)
        if missing:
            raise ValueError(
                f"{argument} has parameters {sorted(str(p) for p in missing)} that are not "
                "bound to features."
            )
        circuit = _expand(circuit, argument)
        self.n_qubits = int(circuit.num_qubits)
        self.n_parameters = len(parameters)
        self.global_phase = compile_angle(circuit.global_phase, parameters)
        index_of = {qubit: index for index, qubit in enumerate(circuit.qubits)}
        segments: list[Any] = []
        self._monomials = _Monomials()
        current: Any = None
        pending: QuantumCircuit | None = None

        def close() -> None:
            nonlocal current, pending
            if current is not None:
                current.finish()
                segments.append(current)
                current = None
            if pending is not None:
                segments.append(_CompiledSegment(pending, parameters))
                pending = None

        for instruction in circuit.data:
            operation = instruction.operation
            name = operation.name
            if name in _IGNORED:
                continue
            qubits = tuple(index_of[q] for q in instruction.qubits)
            parameterised = _is_parameterised(operation)
            matrix = None if parameterised else _matrix(operation)
            monomial = None if matrix is None else _monomial(matrix)
            if parameterised and name in DIAGONAL_GATES:
                kind = "diagonal"
            elif monomial is not None:
                kind = "monomial"
            elif matrix is not None and len(qubits) == 1:
                kind = "local"
            else:
                kind = "compiled"
            if kind in ("diagonal", "monomial"):
                if not isinstance(current, _DiagonalSegment):
                    close()
                    current = _DiagonalSegment(self.n_qubits, self._monomials)
                local = _local_index(qubits, self.n_qubits)
                if kind == "diagonal":
                    phases = np.asarray(_DIAGONAL_PHASES[name])[local]
                    current.add_diagonal(phases, compile_angle(operation.params[0], parameters))
                else:
                    assert monomial is not None
                    column, value = monomial
                    source = np.arange(2**self.n_qubits)
                    mask = sum(1 << q for q in qubits)
                    spread = np.zeros(column.size, dtype=np.intp)
                    for bit, qubit in enumerate(qubits):
                        spread |= ((column >> bit) & 1) << qubit
                    current.add_monomial((source & ~mask) | spread[local], value[local])
            elif kind == "local":
                if not isinstance(current, _LocalSegment):
                    close()
                    current = _LocalSegment(self.n_qubits)
                assert matrix is not None
                current.add(qubits[0], matrix)
            else:
                if current is not None:
                    close()
                if pending is None:
                    pending = QuantumCircuit(circuit.num_qubits)
                pending.append(operation, [pending.qubits[q] for q in qubits])
        close()
        for segment in segments:
            if isinstance(segment, _DiagonalSegment):
                segment.build_weights()
        self.segments = tuple(segments)
        # with the default initial state, the leading data-independent segments run once
        self._prefix = 0
        while self._prefix < len(segments) and segments[self._prefix].constant:
            self._prefix += 1
        start = np.zeros((1, 2**self.n_qubits), dtype=complex)
        start[0, 0] = 1.0
        empty = np.zeros((1, self.n_parameters))
        for segment in self.segments[: self._prefix]:
            start = segment(start, empty, None)
        self._start = start

    def check_values(self, values: Any) -> FloatArray:
        values = np.asarray(values, dtype=float)
        if values.ndim != 2 or values.shape[1] != self.n_parameters:
            raise ValueError(
                f"values must have shape (n_rows, {self.n_parameters}); got {values.shape}."
            )
        return values

    def evolve(self, values: Any, states: ComplexArray | None = None) -> ComplexArray:
        """Final statevectors, one per row of ``values``, shape (n_rows, 2**n_qubits).

        ``states`` (shape (n_rows, 2**n_qubits)) are the initial states; by default
        ``|0...0>``.
        """
        values = self.check_values(values)
        n_rows = values.shape[0]
        segments = self.segments
        if states is None:
            states = np.repeat(self._start, n_rows, axis=0)
            segments = segments[self._prefix :]
        else:
            states = np.asarray(states, dtype=complex)
        monomials = self._monomials(values) if self._monomials.keys else None
        for segment in segments:
            states = segment(states, values, monomials)
        if self.global_phase.kind != "constant" or self.global_phase.constant != 0.0:
            phase = self.global_phase(values)
            states = states * np.exp(1j * phase)[:, None]
        return np.ascontiguousarray(states)
