"""The layered network of Equilibrium Propagation: buffer layout, relaxation, gradient.

:class:`Network` holds the flat-buffer layout of the compiled kernels (``_kernels``), runs
their relaxation on groups of rows in threads (``qbloodcell._threads``), and offers the
three steps of an EP update: the free phase, the nudged phases and the gradient estimate.
:class:`Dynamics` holds the relaxation settings of one estimator, :class:`RelaxStats` the
sweep counts of a ``fit`` or a ``predict`` and the convergence warning drawn from them.
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from qbloodcell import _threads
from qbloodcell.ep import _kernels

#: the activations of the estimator's ``activation`` parameter, as the kernels' codes
ACTIVATIONS = {"tanh": _kernels.TANH, "hard_sigmoid": _kernels.HARD_SIGMOID}
# a batch is relaxed in groups of rows on several threads only when each group has at
# least this many samples (below it, one multi-threaded BLAS call is as fast)
_MIN_ROWS_PER_THREAD = 40
# sweeps without over-relaxation at the start of a free phase (from zero states): the
# states first move into the basin of the fixed point that plain sweeps reach
_PLAIN_SWEEPS = 3
# samples still moving after this many sweeps converge slowly: they continue with a
# larger over-relaxation factor (see _late_factor)
_EARLY_SWEEPS = 15
# relaxation warning: more than this fraction of phases at the step cap, or one phase
# whose last sweep left a unit further than this many times relax_tol from its plain update
_NOT_CONVERGED_FRACTION = 0.02
_NOT_CONVERGED_FACTOR = 10.0


class Network:
    """Flat-buffer layout of a layered network (see ``_kernels``) and its relaxation.

    Layer ``l >= 1`` has one bias and one state per unit, so biases and states share one
    offset table, ``unit_offsets`` (the kernels' ``bias_offsets`` and ``state_offsets``).
    """

    def __init__(self, layer_sizes: Sequence[int]) -> None:
        sizes = np.asarray(layer_sizes, dtype=np.int64)
        self.layer_sizes = sizes
        self.weight_offsets = np.concatenate(([0], np.cumsum(sizes[:-1] * sizes[1:]))).astype(
            np.int64
        )
        self.unit_offsets = np.concatenate(([0], np.cumsum(sizes[1:]))).astype(np.int64)
        self.n_weights = int(self.weight_offsets[-1])
        self.n_units = int(self.unit_offsets[-1])
        self.n_outputs = int(sizes[-1])

    # ------------------------------------------------------------------ parameters
    def initial_parameters(self, rng: np.random.RandomState) -> tuple[np.ndarray, np.ndarray]:
        """Uniform weights in ``+-1/sqrt(fan_in)`` and zero biases."""
        sizes = self.layer_sizes
        blocks = [
            rng.uniform(-1.0, 1.0, size=int(sizes[i] * sizes[i + 1])) / math.sqrt(sizes[i])
            for i in range(len(sizes) - 1)
        ]
        return np.concatenate(blocks), np.zeros(self.n_units)

    def flatten(
        self, coefs: Sequence[np.ndarray], intercepts: Sequence[np.ndarray]
    ) -> tuple[np.ndarray, np.ndarray]:
        """The flat weight and bias buffers of ``coefs_`` and ``intercepts_``."""
        weights = np.concatenate([np.asarray(w, dtype=np.float64).ravel() for w in coefs])
        biases = np.concatenate([np.asarray(b, dtype=np.float64).ravel() for b in intercepts])
        return weights, biases

    def unflatten(
        self, weights: np.ndarray, biases: np.ndarray
    ) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """``coefs_`` and ``intercepts_`` (copies) of the flat buffers."""
        sizes = self.layer_sizes
        n_matrices = len(sizes) - 1
        coefs = [
            weights[self.weight_offsets[i] : self.weight_offsets[i + 1]]
            .reshape(int(sizes[i]), int(sizes[i + 1]))
            .copy()
            for i in range(n_matrices)
        ]
        intercepts = [
            biases[self.unit_offsets[i] : self.unit_offsets[i + 1]].copy()
            for i in range(n_matrices)
        ]
        return coefs, intercepts

    # ------------------------------------------------------------------ relaxation
    def relax(
        self,
        inputs: np.ndarray,
        weights: np.ndarray,
        biases: np.ndarray,
        states: np.ndarray,
        targets: np.ndarray,
        beta: float,
        activation: int,
        max_steps: int,
        tol: float,
        omega: float = 1.0,
        n_plain: int = 0,
    ) -> tuple[int, float]:
        """Relax ``states`` in place (see ``_kernels.relax``); the most sweeps and change."""
        # the kernel indexes these without bounds checks
        n_samples = inputs.shape[0]
        if inputs.ndim != 2 or inputs.shape[1] != self.layer_sizes[0]:
            raise ValueError(
                f"inputs of shape {inputs.shape} for {self.layer_sizes[0]} input units"
            )
        if targets.shape != (n_samples, self.n_outputs):
            raise ValueError(
                f"targets of shape {targets.shape} for {n_samples} samples and "
                f"{self.n_outputs} output units"
            )
        if states.shape != (n_samples * self.n_units,):
            raise ValueError(f"states of shape {states.shape} for {n_samples} samples")
        n_groups = n_samples // _MIN_ROWS_PER_THREAD
        if n_groups > 1:
            n_groups = min(n_groups, _threads.blas_threads())
        # samples relax independently of one another: groups of rows of the one state
        # buffer relax in threads, BLAS on one thread meanwhile, each kernel call writing
        # only its own rows (a single group runs in the calling thread)
        bounds = np.linspace(0, n_samples, max(n_groups, 1) + 1).astype(np.int64)
        results = _threads.run_concurrently(
            [
                functools.partial(
                    self._relax_rows,
                    np.ascontiguousarray(inputs[a:b]),
                    weights,
                    biases,
                    states,
                    np.ascontiguousarray(targets[a:b]),
                    beta,
                    activation,
                    max_steps,
                    tol,
                    omega,
                    n_plain,
                    int(a),
                )
                for a, b in pairwise(bounds)
            ]
        )
        steps = max(result[0] for result in results)
        changes = [result[1] for result in results]
        change = math.nan if any(math.isnan(c) for c in changes) else max(changes)
        return steps, change

    def _relax_rows(
        self,
        inputs: np.ndarray,
        weights: np.ndarray,
        biases: np.ndarray,
        states: np.ndarray,
        targets: np.ndarray,
        beta: float,
        activation: int,
        max_steps: int,
        tol: float,
        omega: float = 1.0,
        n_plain: int = 0,
        first_row: int = 0,
    ) -> tuple[int, float]:
        steps, change = _kernels.relax(
            inputs,
            weights,
            biases,
            self.layer_sizes,
            self.weight_offsets,
            self.unit_offsets,
            self.unit_offsets,
            states,
            targets,
            float(beta),
            activation,
            int(max_steps),
            float(tol),
            float(omega),
            int(n_plain),
            _late_factor(omega),
            _EARLY_SWEEPS,
            int(first_row),
        )
        return int(steps), float(change)

    def outputs(self, states: np.ndarray, n_samples: int) -> np.ndarray:
        """The output-layer block of a batch's states, as a ``(n_samples, n_outputs)`` view."""
        start = n_samples * (self.n_units - self.n_outputs)
        return states[start:].reshape(n_samples, self.n_outputs)

    # ------------------------------------------------------------------ EP steps
    def free_phase(
        self,
        inputs: np.ndarray,
        weights: np.ndarray,
        biases: np.ndarray,
        dynamics: Dynamics,
        stats: RelaxStats,
    ) -> np.ndarray:
        """States of the free fixed point, relaxed from zero (the prediction)."""
        n_samples = inputs.shape[0]
        states = np.zeros(n_samples * self.n_units)
        stats.add_free(
            self.relax(
                inputs,
                weights,
                biases,
                states,
                np.zeros((n_samples, self.n_outputs)),  # unused without nudging
                0.0,
                dynamics.activation,
                dynamics.n_free_steps,
                dynamics.tol,
                dynamics.over_relaxation,
                _PLAIN_SWEEPS,
            )
        )
        return states

    def free_outputs(
        self,
        inputs: np.ndarray,
        weights: np.ndarray,
        biases: np.ndarray,
        dynamics: Dynamics,
        stats: RelaxStats | None = None,
    ) -> np.ndarray:
        """Output activity at the free fixed point; FloatingPointError if not finite.

        Without ``stats`` the relaxation is not counted (the validation set's, in ``fit``).
        """
        counted = RelaxStats(dynamics.tol) if stats is None else stats
        states = self.free_phase(inputs, weights, biases, dynamics, counted)
        if not np.isfinite(counted.last_change):
            raise FloatingPointError(
                "The free phase produced non-finite states: the weights are not finite."
            )
        return self.outputs(states, inputs.shape[0]).copy()

    def nudged_phase(
        self,
        inputs: np.ndarray,
        weights: np.ndarray,
        biases: np.ndarray,
        free: np.ndarray,
        targets: np.ndarray,
        beta: float,
        dynamics: Dynamics,
        stats: RelaxStats,
    ) -> np.ndarray:
        """States of the fixed point of ``E + beta * C``, relaxed from the free states."""
        states = free.copy()
        stats.add_nudged(
            self.relax(
                inputs,
                weights,
                biases,
                states,
                targets,
                beta,
                dynamics.activation,
                dynamics.n_nudged_steps,
                dynamics.tol,
                dynamics.over_relaxation,
            )
        )
        return states

    def cost(self, states: np.ndarray, targets: np.ndarray) -> float:
        """Summed cost ``C = 1/2 ||s_L - t||^2`` of a batch."""
        outputs = self.outputs(states, targets.shape[0])
        return 0.5 * float(np.sum((outputs - targets) ** 2))

    def gradient(
        self,
        inputs: np.ndarray,
        plus: np.ndarray,
        minus: np.ndarray,
        scale: float,
        weight_gradient: np.ndarray,
        bias_gradient: np.ndarray,
    ) -> None:
        """Write the EP estimate of the gradient of the mean cost (``_kernels.ep_gradient``)."""
        _kernels.ep_gradient(
            inputs,
            self.layer_sizes,
            self.weight_offsets,
            self.unit_offsets,
            self.unit_offsets,
            plus,
            minus,
            scale,
            weight_gradient,
            bias_gradient,
        )


@dataclass(frozen=True)
class Dynamics:
    """Relaxation settings of an estimator (its parameters of the same names)."""

    activation: int
    tol: float
    over_relaxation: float
    n_free_steps: int
    n_nudged_steps: int

    @classmethod
    def of(cls, estimator: Any) -> Dynamics:
        """The settings of an ``EquilibriumPropagationClassifier``'s parameters."""
        return cls(
            activation=ACTIVATIONS[estimator.activation],
            tol=float(estimator.relax_tol),
            over_relaxation=float(estimator.over_relaxation),
            n_free_steps=int(estimator.n_free_steps),
            n_nudged_steps=int(estimator.n_nudged_steps),
        )


class RelaxStats:
    """Counts relaxation sweeps and relaxations that did not converge."""

    def __init__(self, tol: float) -> None:
        self.tol = tol
        self.free_steps = 0
        self.free_phases = 0
        self.nudged_steps = 0
        self.nudged_phases = 0
        self.not_converged = 0
        self.worst_change = 0.0
        self.last_change = 0.0

    def _add(self, change: float) -> None:
        self.last_change = change
        if not change <= self.tol:
            self.not_converged += 1
            self.worst_change = max(self.worst_change, change)

    def add_free(self, result: tuple[int, float]) -> None:
        self.free_steps += result[0]
        self.free_phases += 1
        self._add(result[1])

    def add_nudged(self, result: tuple[int, float]) -> None:
        self.nudged_steps += result[0]
        self.nudged_phases += 1
        self._add(result[1])

    def mean_free(self) -> float:
        return self.free_steps / max(self.free_phases, 1)

    def mean_nudged(self) -> float:
        return self.nudged_steps / max(self.nudged_phases, 1)

    def warn(self, stacklevel: int = 3) -> None:
        # A few phases ending just above the tolerance are harmless; warn when they are
        # more than a sliver of all phases or when one stopped far from its fixed point.
        total = self.free_phases + self.nudged_phases
        if self.not_converged > _NOT_CONVERGED_FRACTION * total or (
            self.worst_change > _NOT_CONVERGED_FACTOR * self.tol
        ):
            warnings.warn(
                f"Relaxation did not converge in {self.not_converged} of {total} phases: "
                "the largest residual |rho(drive) - s| in the last sweep was "
                f"{self.worst_change:.3g} "
                f"(relax_tol={self.tol:g}). Increase n_free_steps / n_nudged_steps or "
                "relax_tol.",
                ConvergenceWarning,
                stacklevel=stacklevel,
            )


def _late_factor(omega: float) -> float:
    """Over-relaxation factor for the samples still moving after ``_EARLY_SWEEPS``.

    The best factor of successive over-relaxation, ``2 / (1 + sqrt(1 - r))`` for plain
    sweeps that shrink the error by ``r`` per sweep, grows as ``r`` nears 1: the slow
    samples get ``1 + 1.5 (omega - 1)``, at most 1.9 and never less than ``omega``. Plain
    sweeps (``omega = 1``) and under-relaxation (``omega < 1``) are kept as they are.
    """
    if omega <= 1.0:
        return float(omega)
    return float(max(omega, min(1.0 + 1.5 * (float(omega) - 1.0), 1.9)))
