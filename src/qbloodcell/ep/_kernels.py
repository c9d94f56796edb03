"""Numba kernels for Equilibrium Propagation (relaxation and the EP update).

The network parameters live in two flat float64 buffers so that one compiled kernel
serves every architecture:

- ``weights`` holds ``W_0, ..., W_{L-1}`` one after the other, ``W_l`` of shape
  ``(n_l, n_{l+1})`` in C order, starting at ``weight_offsets[l]``;
- ``biases`` holds ``b_1, ..., b_L`` (``b_l`` of length ``n_l``), ``b_l`` starting at
  ``bias_offsets[l - 1]``.

``layer_sizes = (n_0, ..., n_L)``: ``n_0`` input features (clamped), ``n_L`` output units.
The free states of a batch of ``B`` samples live in one flat buffer too: layer ``l >= 1``
occupies ``states[B * state_offsets[l - 1] : B * state_offsets[l]]`` as a C-ordered
``(B, n_l)`` block. Blocks are contiguous so that ``np.dot`` goes to BLAS.

Every kernel takes contiguous float64 arrays and is deterministic: there is no random
number generation here (all randomness is drawn in Python from ``check_random_state``).
No ``fastmath``: NaN and inf must propagate so that divergence is detected. The kernels
use NumPy's error model (a division by zero gives inf, as in NumPy) so that the loops that
evaluate the activation are free of Python's zero-division checks and can be vectorised.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

#: activation codes understood by the kernels
TANH = 0
HARD_SIGMOID = 1

# below this many rows still moving, matrix products are computed row by row (see relax)
_FEW_ROWS = 5

# tanh by table and addition formula: |x| = c + d with c on a grid of step 1/32 and
# |d| <= 1/64, tanh(c) from the table, tanh(d) from its Taylor series, and
# tanh(c + d) = (tanh c + tanh d) / (1 + tanh c tanh d). The series' first omitted term,
# 1382 d^11 / 155925, is below 1e-20 of tanh(d); tanh(20) rounds to 1.0 in float64.
_TANH_GRID = 32.0
_TANH_CAP = 20.0
_TANH_TABLE = np.tanh(np.arange(int(_TANH_CAP * _TANH_GRID) + 1) / _TANH_GRID)
_TANH_C3 = -1.0 / 3.0
_TANH_C5 = 2.0 / 15.0
_TANH_C7 = -17.0 / 315.0
_TANH_C9 = 62.0 / 2835.0


@njit(cache=True, inline="always", error_model="numpy")
def _tanh(x):
    """tanh(x) within a few ulp of ``np.tanh``; branch-free so that loops vectorise.

    NaN gives NaN, +-inf gives +-1, and the sign of zero is kept.
    """
    magnitude = abs(x)
    # NaN and inf go to the cap (a valid table index); NaN is restored at the end
    clipped = magnitude if magnitude < _TANH_CAP else _TANH_CAP
    # int32: AVX2 converts packed doubles to 32-bit integers, not to 64-bit ones
    index = np.int32(clipped * _TANH_GRID + 0.5)
    rest = clipped - index / _TANH_GRID
    square = rest * rest
    tanh_rest = rest + rest * square * (
        _TANH_C3 + square * (_TANH_C5 + square * (_TANH_C7 + square * _TANH_C9))
    )
    tanh_grid = _TANH_TABLE[index]
    value = math.copysign((tanh_grid + tanh_rest) / (1.0 + tanh_grid * tanh_rest), x)
    return value if x == x else x


@njit(cache=True, nogil=True, error_model="numpy")
def _tanh_row(values):
    """``values[:] = tanh(values)`` for a contiguous 1-d array (a vectorised loop)."""
    for j in range(values.shape[0]):
        values[j] = _tanh(values[j])


@njit(cache=True)
def _weight_view(weights, weight_offsets, layer_sizes, layer):
    start = weight_offsets[layer]
    n_rows = layer_sizes[layer]
    n_cols = layer_sizes[layer + 1]
    return weights[start : start + n_rows * n_cols].reshape((n_rows, n_cols))


@njit(cache=True)
def _transposed_view(transposed, weight_offsets, layer_sizes, layer):
    start = weight_offsets[layer]
    n_rows = layer_sizes[layer + 1]
    n_cols = layer_sizes[layer]
    return transposed[start : start + n_rows * n_cols].reshape((n_rows, n_cols))


@njit(cache=True, nogil=True)
def _transpose_weights(weights, weight_offsets, layer_sizes, transposed):
    for layer in range(layer_sizes.shape[0] - 1):
        matrix = _weight_view(weights, weight_offsets, layer_sizes, layer)
        target = _transposed_view(transposed, weight_offsets, layer_sizes, layer)
        for i in range(matrix.shape[0]):
            for j in range(matrix.shape[1]):
                target[j, i] = matrix[i, j]


@njit(cache=True, nogil=True)
def _add_row_products(out, left, rows, matrix):
    """``out[k] += left[rows[k]] @ matrix`` for each k, reading ``matrix`` once.

    ``matrix`` is C-ordered, so each of its rows is added to every output row with a
    multiple of it (a vectorised loop); for the few rows this is used for, it is several
    times faster than a BLAS call.
    """
    for m in range(matrix.shape[0]):
        matrix_row = matrix[m]
        for k in range(rows.shape[0]):
            factor = left[rows[k], m]
            out_row = out[k]
            for j in range(matrix_row.shape[0]):
                out_row[j] += factor * matrix_row[j]


@njit(cache=True)
def _state_view(states, state_offsets, layer_sizes, n_samples, layer):
    # layer >= 1
    start = n_samples * state_offsets[layer - 1]
    return states[start : start + n_samples * layer_sizes[layer]].reshape(
        (n_samples, layer_sizes[layer])
    )


@njit(cache=True, nogil=True, error_model="numpy")
def relax(
    inputs,
    weights,
    biases,
    layer_sizes,
    weight_offsets,
    bias_offsets,
    state_offsets,
    states,
    targets,
    beta,
    activation,
    max_steps,
    tol,
    omega,
    n_plain,
    late_omega,
    n_early,
):
    """Relax the states of a batch to a fixed point of ``E + beta * C``, in place.

    Each step is one sweep over the layers: the odd layers ``1, 3, ...`` first, then the
    even layers ``2, 4, ...`` (red-black order; a layer only interacts with its two
    neighbours, which have the other parity). Layer ``l`` is set to the exact minimiser of
    the energy over that layer with its neighbours held fixed, ``s_l = rho(s_{l-1} W_{l-1} + s_{l+1} W_l^T + b_l)``
    (block coordinate descent: the layers of a layered network do not interact within a
    layer). The output layer is updated with the fixed-point map
    ``s_L = rho(s_{L-1} W_{L-1} + b_L + beta * (targets - s_L))``, whose fixed point is
    the stationary point of ``E + beta * C`` with ``C = 1/2 ||s_L - targets||^2``.

    After the first ``n_plain`` sweeps, each update is over-relaxed (successive
    over-relaxation): ``s_l <- s_l + omega * (rho(...) - s_l)``, clipped to the range of
    the activation; from sweep ``n_early + 1`` on, the factor is ``late_omega``. The
    nudged output layer always takes the plain step (over-relaxing its fixed-point map,
    which contains ``-beta s_L``, makes it oscillate). The fixed points are the same for
    any factor; ``1 < omega < 2`` reaches them in fewer sweeps once the states are near
    one (``omega = 1`` is plain block Gauss-Seidel). The plain sweeps first keep a
    relaxation from a distant start (zero states) in the basin that plain sweeps would
    reach. The samples still moving after ``n_early`` sweeps are the slowly converging
    ones, for which the best factor is larger (it grows with the convergence rate of the
    plain sweeps).

    A sample's residual in a sweep is the largest ``|rho(...) - s_l|`` over its units: the
    change a plain update would make. Each sample stops being updated once its residual is
    at most ``tol``; the relaxation ends when all samples have stopped or after
    ``max_steps`` sweeps.

    Red-black order needs fewer sweeps than alternating forward and backward sweeps
    (symmetric Gauss-Seidel) for the same tolerance: on a trained (256, 128, 64) network,
    15 instead of 22 sweeps per sample on average, 18 % fewer multiply-adds.

    Parameters
    ----------
    inputs : ndarray of shape (B, n_0)
        Clamped input layer.
    weights, biases : ndarray
        Flat parameter buffers (see the module docstring).
    layer_sizes, weight_offsets, bias_offsets, state_offsets : ndarray of int64
        Architecture description.
    states : ndarray
        Flat state buffer of the batch, updated in place (starting point in, fixed point out).
    targets : ndarray of shape (B, n_L)
        Output targets; unused when ``beta == 0``.
    beta : float
        Nudging strength (0 for the free phase; may be negative).
    activation : int
        ``TANH`` or ``HARD_SIGMOID``.
    max_steps : int
        Cap on the number of sweeps.
    tol : float
        A sample has converged when its residual in a sweep is at most ``tol``.
    omega : float
        Over-relaxation factor, in ``(0, 2)``.
    n_plain : int
        Number of sweeps done with ``omega = 1`` before over-relaxing.
    late_omega : float
        Over-relaxation factor after ``n_early`` sweeps, in ``(0, 2)``.
    n_early : int
        Number of sweeps before ``late_omega`` replaces ``omega``.

    Returns
    -------
    n_steps : int
        Number of sweeps done.
    max_change : float
        Largest residual in the last sweep of the samples still moving (``<= tol`` when
        every sample converged; NaN when the states became NaN).
    """
    n_samples = inputs.shape[0]
    n_layers = layer_sizes.shape[0] - 1
    n_odd = (n_layers + 1) // 2
    # the drive from the clamped input does not change during relaxation
    first_weights = _weight_view(weights, weight_offsets, layer_sizes, 0)
    input_drive = np.dot(inputs, first_weights)
    # each sample stops moving once its own sweep changed nothing by more than tol, so
    # that a sample's fixed point does not depend on the rest of the batch
    active = np.ones(n_samples, dtype=np.bool_)
    rows = np.arange(n_samples)
    sample_change = np.zeros(n_samples)
    # W_l^T in C order, made when the rows still moving first become few
    transposed = np.empty(0)
    max_change = np.inf
    # states stay in the range of the activation when over-relaxed
    low = -1.0 if activation == TANH else 0.0
    n_steps = 0
    while n_steps < max_steps:
        n_steps += 1
        factor = omega if n_steps <= n_early else late_omega
        over = factor != 1.0 and n_steps > n_plain
        # only the samples still moving are updated: gather their rows so that the matrix
        # products cost in proportion to them (converged samples keep their states)
        n_rows = rows.shape[0]
        compact = n_rows < n_samples
        for k in range(n_rows):
            sample_change[rows[k]] = 0.0
        for position in range(n_layers):
            # odd layers first, then even layers (red-black ordering): a layer only
            # interacts with its two neighbours, which have the other parity, so each half
            # of the sweep updates layers that are independent of one another
            layer = 2 * position + 1 if position < n_odd else 2 * (position - n_odd) + 2
            nudge = layer == n_layers and beta != 0.0
            n_units = layer_sizes[layer]
            bias = biases[bias_offsets[layer - 1] : bias_offsets[layer - 1] + n_units]
            current = _state_view(states, state_offsets, layer_sizes, n_samples, layer)
            # BLAS packs the whole weight matrix on every call, which costs more than the
            # product itself for a few rows: few rows take the row-by-row loops instead
            few = n_rows < _FEW_ROWS
            if few and transposed.size == 0:
                transposed = np.empty_like(weights)
                _transpose_weights(weights, weight_offsets, layer_sizes, transposed)
            if layer == 1:
                drive = input_drive[rows] if compact else input_drive.copy()
            else:
                below = _state_view(states, state_offsets, layer_sizes, n_samples, layer - 1)
                lower_weights = _weight_view(weights, weight_offsets, layer_sizes, layer - 1)
                if few:
                    drive = np.zeros((n_rows, n_units))
                    _add_row_products(drive, below, rows, lower_weights)
                else:
                    if compact:
                        below = below[rows]
                    drive = np.dot(below, lower_weights)
            if layer < n_layers:
                above = _state_view(states, state_offsets, layer_sizes, n_samples, layer + 1)
                if few:
                    _add_row_products(
                        drive,
                        above,
                        rows,
                        _transposed_view(transposed, weight_offsets, layer_sizes, layer),
                    )
                else:
                    if compact:
                        above = above[rows]
                    upper_weights = _weight_view(weights, weight_offsets, layer_sizes, layer)
                    drive += np.dot(above, upper_weights.T)
            for k in range(n_rows):
                i = rows[k]
                # the new values are computed in place in drive[k] by loops without
                # branches (vectorised), then compared with the current states
                if nudge:
                    for j in range(n_units):
                        drive[k, j] += bias[j] + beta * (targets[i, j] - current[i, j])
                else:
                    for j in range(n_units):
                        drive[k, j] += bias[j]
                if activation == TANH:
                    _tanh_row(drive[k])
                else:
                    for j in range(n_units):
                        drive[k, j] = min(max(drive[k, j], 0.0), 1.0)
                change_i = sample_change[i]
                for j in range(n_units):
                    value = drive[k, j]
                    change = abs(value - current[i, j])
                    # NaN compares False: make it stick so that the caller sees it
                    if change > change_i or change != change:
                        change_i = change
                    if over and not nudge:
                        # branch-free clip to [low, 1] that keeps NaN
                        value = current[i, j] + factor * (value - current[i, j])
                        value = 1.0 if value > 1.0 else value
                        value = low if value < low else value
                    current[i, j] = value
                sample_change[i] = change_i
        max_change = 0.0
        n_active = 0
        for i in range(n_samples):
            if active[i]:
                change_i = sample_change[i]
                if change_i > max_change or change_i != change_i:
                    max_change = change_i
                if change_i > tol or change_i != change_i:
                    n_active += 1
                else:
                    active[i] = False
        if n_active == 0:
            break
        if n_active < n_rows:
            rows = np.nonzero(active)[0]
        if max_change != max_change:
            break
    return n_steps, max_change


@njit(cache=True)
def ep_gradient(
    inputs,
    layer_sizes,
    weight_offsets,
    bias_offsets,
    state_offsets,
    states_plus,
    states_minus,
    scale,
    weight_gradient,
    bias_gradient,
):
    """Write the EP estimate of the gradient of the mean cost into the gradient buffers.

    ``dE/dW_l = -s_l s_{l+1}^T`` and ``dE/db_l = -s_l``, so the EP estimate is
    ``grad W_l = -(s_l^+ s_{l+1}^{+T} - s_l^- s_{l+1}^{-T}) / (scale * B)`` (summed over
    the batch of ``B``), with ``(+, -) = (+beta, -beta)`` and ``scale = 2 beta`` for
    symmetric nudging, or ``(+, -) = (+beta, free)`` and ``scale = beta`` for one-sided
    nudging. The input layer is clamped, so ``s_0 = inputs`` in both phases.
    """
    n_samples = inputs.shape[0]
    n_layers = layer_sizes.shape[0] - 1
    factor = -1.0 / (scale * n_samples)
    for layer in range(n_layers):
        n_rows = layer_sizes[layer]
        n_cols = layer_sizes[layer + 1]
        upper_plus = _state_view(states_plus, state_offsets, layer_sizes, n_samples, layer + 1)
        upper_minus = _state_view(states_minus, state_offsets, layer_sizes, n_samples, layer + 1)
        if layer == 0:
            block = np.dot(inputs.T, upper_plus - upper_minus)
        else:
            lower_plus = _state_view(states_plus, state_offsets, layer_sizes, n_samples, layer)
            lower_minus = _state_view(states_minus, state_offsets, layer_sizes, n_samples, layer)
            block = np.dot(lower_plus.T, upper_plus) - np.dot(lower_minus.T, upper_minus)
        start = weight_offsets[layer]
        for i in range(n_rows):
            for j in range(n_cols):
                weight_gradient[start + i * n_cols + j] = factor * block[i, j]
        bias_start = bias_offsets[layer]
        for j in range(n_cols):
            total = 0.0
            for i in range(n_samples):
                total += upper_plus[i, j] - upper_minus[i, j]
            bias_gradient[bias_start + j] = factor * total
