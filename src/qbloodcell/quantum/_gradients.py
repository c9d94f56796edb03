"""Exact parameter-shift gradients of the classifiers' expectation values, and of their losses.

A gate :math:`\\exp(-i\\,\\phi\\,G)` whose generator :math:`G` has eigenvalues
:math:`\\pm 1/2` (RX, RY, RZ, RZZ, the three angles of U, ...) makes any expectation value
:math:`f` a sinusoid of :math:`\\phi` with period :math:`2\\pi`, so

.. math:: \\partial_\\phi f = \\tfrac12\\,[f(\\phi + \\pi/2) - f(\\phi - \\pi/2)]

exactly (the two-term shift rule). The phase gates P and CP have generator eigenvalues
:math:`\\{0, 1\\}` and follow the same rule; the controlled rotations CRX, CRY, CRZ have
:math:`\\{-1/2, 0, 1/2\\}` and need four terms (shifts :math:`\\pm\\pi/2` and
:math:`\\pm 3\\pi/2`).

The shift rule differentiates with respect to one *gate angle*. A weight that enters several
gates, or a gate angle that is an expression of the weights (``2 * θ``, ``w * x + b`` in the
re-uploading circuit), is handled by the chain rule: :func:`gradient_circuit` gives every
weight-dependent gate angle its own parameter :math:`\\phi_g`, records
:math:`\\partial \\phi_g / \\partial w_k` (from Qiskit's symbolic derivative), and the
gradient is :math:`\\sum_g \\partial f / \\partial \\phi_g \\cdot \\partial \\phi_g /
\\partial w_k`. All shifted circuits of one gradient are simulated as one batch.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from qiskit.circuit import Parameter, ParameterExpression, QuantumCircuit

from qbloodcell.quantum._statevector import (
    _MAX_CHUNK_AMPLITUDES,
    CompiledCircuit,
    ZExpectation,
    _AngleFunction,
    _AngleTable,
    _expand_unsupported,
    compile_angle,
    z_expectation,
)

FloatArray = NDArray[np.float64]

_HALF_PI = math.pi / 2
#: (coefficient, shift) pairs: d f / d phi = sum coefficient * f(phi + shift).
_TWO_TERM = ((0.5, _HALF_PI), (-0.5, -_HALF_PI))
_C_PLUS = (math.sqrt(2) + 1) / (4 * math.sqrt(2))
_C_MINUS = (math.sqrt(2) - 1) / (4 * math.sqrt(2))
_FOUR_TERM = (
    (_C_PLUS, _HALF_PI),
    (-_C_PLUS, -_HALF_PI),
    (-_C_MINUS, 3 * _HALF_PI),
    (_C_MINUS, -3 * _HALF_PI),
)
#: Shift rule of each angle (by position) of the gates that have one.
SHIFT_RULES: dict[str, tuple[tuple[tuple[float, float], ...], ...]] = {
    **{name: (_TWO_TERM,) for name in ("rx", "ry", "rz", "p", "u1", "cp", "cu1")},
    **{name: (_TWO_TERM,) for name in ("rxx", "ryy", "rzz", "rzx")},
    "u": (_TWO_TERM, _TWO_TERM, _TWO_TERM),
    "u3": (_TWO_TERM, _TWO_TERM, _TWO_TERM),
    "u2": (_TWO_TERM, _TWO_TERM),
    # R(theta, phi): theta is a rotation angle; phi enters twice (no rule here)
    "r": (_TWO_TERM,),
    **{name: (_FOUR_TERM,) for name in ("crx", "cry", "crz")},
}


class NoShiftRuleError(ValueError):
    """A weight enters a gate angle that has no parameter-shift rule here."""


@dataclass
class GradientCircuit:
    """A circuit whose weight-dependent gate angles are separate parameters ``phi``.

    ``circuit`` binds ``parameters`` = (``inputs``..., ``phi``...). Angle ``g`` is
    ``angles[g](values)`` and its derivative with respect to weight ``k`` is
    ``derivatives[g][k](values)``, where ``values`` rows hold (inputs..., weights...);
    ``rules[g]`` is its shift rule.
    """

    circuit: QuantumCircuit
    parameters: tuple[Parameter, ...]
    n_inputs: int
    n_weights: int
    angles: tuple[_AngleFunction, ...]
    derivatives: tuple[dict[int, _AngleFunction], ...]
    rules: tuple[tuple[tuple[float, float], ...], ...]

    def __post_init__(self) -> None:
        # every angle and every derivative evaluated together, one vectorised table each
        n_parameters = self.n_inputs + self.n_weights
        self._angle_table = _AngleTable(n_parameters)
        self._angle_columns = np.array(
            [self._angle_table.add(angle) for angle in self.angles], dtype=np.intp
        )
        self._angle_table.build()
        self._derivative_table = _AngleTable(n_parameters)
        places = [
            (g, k, self._derivative_table.add(derivative))
            for g, by_weight in enumerate(self.derivatives)
            for k, derivative in by_weight.items()
        ]
        self._derivative_table.build()
        self._derivative_places = tuple(
            np.array([place[i] for place in places], dtype=np.intp) for i in range(3)
        )

    @property
    def n_angles(self) -> int:
        return len(self.angles)

    def angle_values(self, values: FloatArray) -> FloatArray:
        """The angles ``phi``, shape (n_rows, n_angles), for (inputs, weights) rows."""
        return np.ascontiguousarray(self._angle_table(values)[:, self._angle_columns])

    def angle_jacobian(self, values: FloatArray) -> FloatArray:
        """d phi_g / d w_k, shape (n_rows, n_angles, n_weights)."""
        out = np.zeros((values.shape[0], self.n_angles, self.n_weights))
        g, k, column = self._derivative_places
        out[:, g, k] = self._derivative_table(values)[:, column]
        return out

    def shifts(self, which: Sequence[int] | None = None) -> tuple[FloatArray, FloatArray]:
        """The shift table of the angles ``which`` (default all).

        Returns ``offsets`` of shape (n_shifts, n_angles) (row ``r`` shifts one angle) and
        ``coefficients`` of shape (n_angles, n_shifts), so that the derivatives of ``f`` with
        respect to every angle are ``coefficients @ f(phi + offsets)``.
        """
        which = range(self.n_angles) if which is None else which
        rows, columns = [], []
        for g in which:
            for coefficient, shift in self.rules[g]:
                offset = np.zeros(self.n_angles)
                offset[g] = shift
                rows.append(offset)
                columns.append((g, coefficient))
        offsets = np.array(rows).reshape(len(rows), self.n_angles)
        coefficients = np.zeros((self.n_angles, len(rows)))
        for r, (g, coefficient) in enumerate(columns):
            coefficients[g, r] = coefficient
        return offsets, coefficients


def gradient_circuit(
    circuit: QuantumCircuit,
    input_parameters: Sequence[Parameter],
    weight_parameters: Sequence[Parameter],
) -> GradientCircuit:
    """Give each weight-dependent gate angle of ``circuit`` its own parameter.

    Raises :class:`NoShiftRuleError` when a weight enters a gate angle without a shift rule
    (see :data:`SHIFT_RULES`).
    """
    circuit = _expand_unsupported(circuit)
    inputs, weights = tuple(input_parameters), tuple(weight_parameters)
    every = (*inputs, *weights)
    column_of = {p: j for j, p in enumerate(every)}
    weight_set = set(weights)
    out = circuit.copy_empty_like()
    out.global_phase = 0.0  # does not change an expectation value
    phis: list[Parameter] = []
    angles: list[_AngleFunction] = []
    derivatives: list[dict[int, _AngleFunction]] = []
    rules: list[tuple[tuple[float, float], ...]] = []
    for instruction in circuit.data:
        operation = instruction.operation
        params = list(operation.params)
        changed = False
        for position, angle in enumerate(params):
            if not isinstance(angle, ParameterExpression):
                continue
            used = [p for p in angle.parameters if p in weight_set]
            if not used:
                continue
            gate_rules = SHIFT_RULES.get(operation.name, ())
            if position >= len(gate_rules):
                raise NoShiftRuleError(
                    f"The weight(s) {sorted(str(p) for p in used)} enter angle {position} of "
                    f"the gate {operation.name!r}, which has no parameter-shift rule here "
                    f"(gates with one: {sorted(SHIFT_RULES)}). Use a gradient-free optimizer "
                    "(optimizer='nlopt-COBYLA' or 'spsa'), or build the ansatz from those gates."
                )
            phi = Parameter(f"__shift_angle_{len(phis)}")
            phis.append(phi)
            angles.append(compile_angle(angle, every, column_of=column_of))
            derivatives.append(
                {
                    weights.index(p): compile_angle(angle.gradient(p), every, column_of=column_of)
                    for p in used
                }
            )
            rules.append(gate_rules[position])
            params[position] = phi
            changed = True
        if changed:
            operation = type(operation)(*params)
        out.append(operation, instruction.qubits, instruction.clbits)
    leftover = set(out.parameters) - set(inputs) - set(phis)
    if leftover:  # pragma: no cover - every weight-dependent angle was replaced above
        raise ValueError(f"Unexpected parameters {sorted(map(str, leftover))}.")
    return GradientCircuit(
        circuit=out,
        parameters=(*inputs, *phis),
        n_inputs=len(inputs),
        n_weights=len(weights),
        angles=tuple(angles),
        derivatives=tuple(derivatives),
        rules=tuple(rules),
    )


class AnsatzGradient:
    """<Z0> after a weight-only ansatz on fixed input states, and its exact Jacobian.

    The VQC's case: the feature-map states are prepared once; the ansatz angles do not
    depend on the sample, so all shifted ansatz unitaries are formed for one shared row.
    """

    def __init__(self, ansatz: QuantumCircuit, weights: Sequence[Parameter], states: Any) -> None:
        self.gradient = gradient_circuit(ansatz, (), weights)
        compiled = CompiledCircuit(self.gradient.circuit, self.gradient.parameters)
        self._expectation = ZExpectation(compiled, states)
        self._offsets, self._coefficients = self.gradient.shifts()

    def value_and_jacobian(self, weights: FloatArray) -> tuple[FloatArray, FloatArray]:
        """<Z0> per sample, shape (n_samples,), and d<Z0>/dw, shape (n_samples, n_weights)."""
        row = np.asarray(weights, dtype=float)[None, :]
        phi = self.gradient.angle_values(row)
        rows = np.vstack([phi, phi + self._offsets])
        values = self._expectation.many(rows)  # (n_rows, n_samples)
        by_angle = self._coefficients @ values[1:]  # (n_angles, n_samples)
        jacobian = by_angle.T @ self.gradient.angle_jacobian(row)[0]
        return values[0], jacobian


class CircuitGradient:
    """<Z0> of a whole circuit of inputs and weights, and its exact Jacobian (per sample)."""

    def __init__(
        self,
        circuit: QuantumCircuit,
        inputs: Sequence[Parameter],
        weights: Sequence[Parameter],
        X: FloatArray,
    ) -> None:
        self.gradient = gradient_circuit(circuit, inputs, weights)
        self.compiled = CompiledCircuit(self.gradient.circuit, self.gradient.parameters)
        self.X = np.asarray(X, dtype=float)
        self._offsets, self._coefficients = self.gradient.shifts()

    def value_and_jacobian(self, weights: FloatArray) -> tuple[FloatArray, FloatArray]:
        """<Z0> per sample, shape (n_samples,), and d<Z0>/dw, shape (n_samples, n_weights)."""
        n_samples = self.X.shape[0]
        values = np.column_stack(
            [self.X, np.broadcast_to(np.asarray(weights, dtype=float), (n_samples, len(weights)))]
        )
        phi = self.gradient.angle_values(values)
        shifted = shifted_expectations(self.compiled, self.X, phi, self._offsets)
        by_angle = np.einsum("gr,rs->sg", self._coefficients, shifted[1:])
        jacobian = np.einsum("sg,sgk->sk", by_angle, self.gradient.angle_jacobian(values))
        return shifted[0], jacobian


def shifted_expectations(
    compiled: CompiledCircuit, inputs: FloatArray, phi: FloatArray, offsets: FloatArray
) -> FloatArray:
    """<Z0> for every sample at ``phi`` and at each shifted ``phi + offsets[r]``.

    ``inputs`` (n_samples, n_inputs) and ``phi`` (n_samples, n_angles) are the rows; returns
    shape (1 + n_shifts, n_samples). Rows are simulated in batches of bounded memory.
    """
    n_samples = phi.shape[0]
    all_offsets = np.vstack([np.zeros((1, phi.shape[1])), offsets])
    per_batch = max(1, _MAX_CHUNK_AMPLITUDES // (2**compiled.n_qubits * max(n_samples, 1)))
    out = np.empty((all_offsets.shape[0], n_samples))
    for start in range(0, all_offsets.shape[0], per_batch):
        block = all_offsets[start : start + per_batch]
        angles = (phi[None, :, :] + block[:, None, :]).reshape(-1, phi.shape[1])
        rows = np.column_stack([np.tile(inputs, (block.shape[0], 1)), angles])
        states = compiled.evolve(rows)
        out[start : start + block.shape[0]] = z_expectation(states).reshape(block.shape[0], -1)
    return out


# ------------------------------------------------------------------------------------------
# losses of the expectation values, with their derivatives
# ------------------------------------------------------------------------------------------
#: Accepted values of ``loss``.
LOSSES = ("mse", "cross_entropy")
#: Probabilities are clipped to [eps, 1 - eps] in the cross-entropy.
_PROBABILITY_EPS = 1e-7


def loss_value_and_derivative(
    kind: str, expectations: FloatArray, target: FloatArray
) -> tuple[float, FloatArray]:
    """The loss of ``expectations`` (<Z0> per sample) for targets ``±1``, and dloss/d<Z0>.

    ``"mse"``: mean of ``(<Z0> - target)**2``. ``"cross_entropy"``: the binary cross-entropy
    of ``p = (1 + <Z0>) / 2`` (the probability of measuring qubit 0 in ``|0>``, the target
    ``+1``), ``p`` clipped to ``[1e-7, 1 - 1e-7]``.
    """
    n = expectations.size
    if kind == "mse":
        residual = expectations - target
        return float(residual @ residual) / n, 2.0 * residual / n
    positive = (target > 0).astype(float)
    raw = (1.0 + expectations) / 2.0
    p = np.clip(raw, _PROBABILITY_EPS, 1.0 - _PROBABILITY_EPS)
    value = -float(np.sum(positive * np.log(p) + (1.0 - positive) * np.log1p(-p))) / n
    inside = (raw > _PROBABILITY_EPS) & (raw < 1.0 - _PROBABILITY_EPS)
    derivative = -(positive / p - (1.0 - positive) / (1.0 - p)) / (2.0 * n)
    return value, np.where(inside, derivative, 0.0)
