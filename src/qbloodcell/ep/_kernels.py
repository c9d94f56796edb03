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
No ``fastmath`` flag that assumes there are no NaN or inf: they must propagate so that
divergence is detected. The one flag used, in the tanh update loop (``_update_tanh``, every
sweep but the last one allowed, except for the nudged output layer), lets a multiply and
an add become one fused multiply-add (``contract``, one rounding instead of two), which
makes that loop faster (``benchmarks/bench_ep_kernel.py`` measures it; figures in the EP
user guide). The kernels use NumPy's error model (a division by zero gives inf, as in
NumPy) so that the loops that evaluate the activation are free of Python's zero-division
checks and can be vectorised.

Why this module is over 500 lines: it holds the compiled kernels only, and numba inlines
the small helpers (``_tanh``, the views, the layer updates) into ``relax`` when they live
in the same module with ``inline="always"``; one file also keeps one ``cache=True`` cache
per kernel set, so a change to a helper recompiles every kernel that uses it.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

#: activation codes understood by the kernels
TANH = 0
HARD_SIGMOID = 1

# below this many rows still moving, the matrix products are computed by _add_row_products
# instead of BLAS (see relax): about where both take as long on the study's network
# (benchmarks/bench_ep_kernel.py prints both)
_FEW_ROWS = 12

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
def _add_row_products(out, left, matrix):
    """``out += left @ matrix`` for a few rows, reading ``matrix`` once.

    ``matrix`` is C-ordered: four of its rows at a time are added to every output row,
    each with its factor (a vectorised loop over the columns; one load and store of the
    output row per four rows of ``matrix``). For the few rows this is used for, it is
    faster than a BLAS call, which packs the whole matrix first.
    """
    n_inner = matrix.shape[0]
    n_cols = matrix.shape[1]
    m = 0
    while m + 4 <= n_inner:
        row0 = matrix[m]
        row1 = matrix[m + 1]
        row2 = matrix[m + 2]
        row3 = matrix[m + 3]
        for k in range(out.shape[0]):
            f0 = left[k, m]
            f1 = left[k, m + 1]
            f2 = left[k, m + 2]
            f3 = left[k, m + 3]
            out_row = out[k]
            for j in range(n_cols):
                out_row[j] += (f0 * row0[j] + f1 * row1[j]) + (f2 * row2[j] + f3 * row3[j])
        m += 4
    while m < n_inner:
        matrix_row = matrix[m]
        for k in range(out.shape[0]):
            factor = left[k, m]
            out_row = out[k]
            for j in range(n_cols):
                out_row[j] += factor * matrix_row[j]
        m += 1


@njit(cache=True)
def _state_view(states, state_offsets, layer_sizes, n_samples, layer):
    # layer >= 1
    start = n_samples * state_offsets[layer - 1]
    return states[start : start + n_samples * layer_sizes[layer]].reshape(
        (n_samples, layer_sizes[layer])
    )


@njit(cache=True, nogil=True, error_model="numpy", fastmath={"contract"})
def _update_tanh(current, first, second, bias, factor, over, low, tol, exceed):
    """The hot path of a sweep: ``current <- tanh(first + second + bias)`` row by row.

    Over-relaxed (``current + factor * (new - current)``, clipped to ``[low, 1]``) when
    ``over``. Adds to ``exceed[k]`` the number of units of row ``k`` whose residual
    ``|new - current|`` is above ``tol`` or NaN, and returns the number of NaN values
    written. Only integer counts are carried from unit to unit, so that both loops are
    vectorised (a floating-point maximum that keeps NaN is not).
    """
    n_nan = 0
    for k in range(current.shape[0]):
        row = current[k]
        a = first[k]
        b = second[k]
        count = 0
        nans = 0
        if over:
            for j in range(row.shape[0]):
                value = _tanh(a[j] + b[j] + bias[j])
                old = row[j]
                count += not (abs(value - old) <= tol)
                value = old + factor * (value - old)
                # branch-free clip to [low, 1] that keeps NaN
                value = 1.0 if value > 1.0 else value
                value = low if value < low else value
                nans += value != value
                row[j] = value
        else:
            for j in range(row.shape[0]):
                value = _tanh(a[j] + b[j] + bias[j])
                count += not (abs(value - row[j]) <= tol)
                nans += value != value
                row[j] = value
        exceed[k] += count
        n_nan += nans
    return n_nan


@njit(cache=True, nogil=True, error_model="numpy")
def _update_general(
    current,
    first,
    second,
    bias,
    targets,
    beta,
    nudge,
    activation,
    factor,
    over,
    low,
    tol,
    exceed,
    residual,
):
    """Every other case of a layer update (see :func:`_update_tanh`), unit by unit.

    Used for the hard sigmoid, the nudged output layer and the last sweep a relaxation may
    make, in which ``residual[k]`` (the largest ``|new - current|`` of row ``k``, NaN if
    any) is kept because the caller reports it.
    """
    n_nan = 0
    for k in range(current.shape[0]):
        row = current[k]
        count = 0
        largest = residual[k]
        for j in range(row.shape[0]):
            drive = first[k, j] + second[k, j] + bias[j]
            old = row[j]
            if nudge:
                drive += beta * (targets[k, j] - old)
            value = _tanh(drive) if activation == TANH else min(max(drive, 0.0), 1.0)
            change = abs(value - old)
            count += not (change <= tol)
            # NaN compares False: make it stick
            if change > largest or change != change:
                largest = change
            if over:
                value = old + factor * (value - old)
                value = 1.0 if value > 1.0 else value
                value = low if value < low else value
            n_nan += value != value
            row[j] = value
        exceed[k] += count
        residual[k] = largest
    return n_nan


@njit(cache=True, nogil=True)
def _all_zero(values):
    """Whether every value of the 1-d array ``values`` is zero (NaN is not)."""
    # an explicit loop: numba does not compile all() over a generator
    for j in range(values.shape[0]):  # noqa: SIM110
        if values[j] != 0.0:
            return False
    return True


@njit(cache=True, nogil=True)
def _all_finite(values):
    """Whether no value of the 1-d array ``values`` is inf or NaN."""
    # counted without an early exit, so that the loop is vectorised
    n_finite = 0
    for j in range(values.shape[0]):
        n_finite += abs(values[j]) < math.inf
    return n_finite == values.shape[0]


@njit(cache=True, nogil=True)
def _move_row(
    source, n_source, source_row, target, n_target, target_row, state_offsets, layer_sizes
):
    """Copy the states of row ``source_row`` of ``source`` (a flat buffer of ``n_source``
    samples) to row ``target_row`` of ``target`` (``n_target`` samples)."""
    for layer in range(1, layer_sizes.shape[0]):
        from_block = _state_view(source, state_offsets, layer_sizes, n_source, layer)
        to_block = _state_view(target, state_offsets, layer_sizes, n_target, layer)
        to_block[target_row] = from_block[source_row]


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
    first_row,
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
    at most ``tol`` (so that a sample's fixed point does not depend on the rest of the
    batch); the relaxation ends when all samples have stopped, when a state became NaN,
    or after ``max_steps`` sweeps.

    The samples still moving are kept in the leading rows of a working copy of the states
    (a sample that stops is copied out and the last moving row takes its place), so that
    the matrix products run on contiguous rows and cost in proportion to them. Below
    ``_FEW_ROWS`` rows, the products are computed by :func:`_add_row_products` instead of
    BLAS.

    Red-black order needs fewer sweeps than alternating forward and backward sweeps
    (symmetric Gauss-Seidel) for the same tolerance (the EP user guide has the counts).

    Parameters
    ----------
    inputs : ndarray of shape (B, n_0)
        Clamped input layer.
    weights, biases : ndarray
        Flat parameter buffers (see the module docstring).
    layer_sizes, weight_offsets, bias_offsets, state_offsets : ndarray of int64
        Architecture description.
    states : ndarray
        Flat state buffer of a batch of at least ``first_row + B`` samples; the rows
        ``first_row, ..., first_row + B - 1`` are relaxed in place (starting point in,
        fixed point out), the other rows are left alone (so that groups of rows of one
        buffer can be relaxed at the same time in threads).
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
    first_row : int
        Row of ``states`` that holds the first sample of ``inputs``.

    Returns
    -------
    n_steps : int
        Number of sweeps done.
    max_change : float
        When the step cap ended the relaxation, the largest residual in the last sweep of
        the samples still moving (at most ``tol`` if they all converged in that sweep);
        0.0 when every sample converged before; NaN when a state became NaN.
    """
    n_samples = inputs.shape[0]
    n_layers = layer_sizes.shape[0] - 1
    n_odd = (n_layers + 1) // 2
    n_outputs = layer_sizes[n_layers]
    max_units = 0
    for layer in range(1, n_layers + 1):
        max_units = max(max_units, layer_sizes[layer])
    # the samples still moving occupy rows 0 .. n_rows - 1 of the working copies;
    # sample[k] is the batch index of working row k
    n_total = states.shape[0] // state_offsets[n_layers]
    work = np.empty(n_samples * state_offsets[n_layers])
    for k in range(n_samples):
        _move_row(states, n_total, first_row + k, work, n_samples, k, state_offsets, layer_sizes)
    sample = np.arange(n_samples)
    # the drive from the clamped input does not change during relaxation
    first_weights = _weight_view(weights, weight_offsets, layer_sizes, 0)
    input_drive = np.dot(inputs, first_weights)
    # the targets of the moving rows (only read in nudged phases, where they move with
    # their rows; in the free phase ``targets`` may have any shape)
    nudged = beta != 0.0
    goal = targets.copy() if nudged else np.zeros((0, n_outputs))
    # from zero states (the free phases), the odd layers of the first sweep see even layers
    # that are still zero: their products are skipped, being zero unless a weight is inf or
    # NaN (0 * inf is NaN)
    zero_start = _all_zero(work) and _all_finite(weights)
    first_buffer = np.empty(n_samples * max_units)
    second_buffer = np.empty(n_samples * max_units)
    # the output layer has no layer above it
    no_drive = np.zeros((n_samples, n_outputs))
    exceed = np.zeros(n_samples, dtype=np.int64)
    residual = np.zeros(n_samples)
    # W_l^T in C order, made when the rows still moving first become few
    transposed = np.empty(0)
    # states stay in the range of the activation when over-relaxed
    low = -1.0 if activation == TANH else 0.0
    max_change = np.inf
    n_rows = n_samples
    n_steps = 0
    while n_steps < max_steps:
        n_steps += 1
        factor = omega if n_steps <= n_early else late_omega
        over = factor != 1.0 and n_steps > n_plain
        # the residuals are reported only after the last sweep allowed
        last = n_steps == max_steps
        for k in range(n_rows):
            exceed[k] = 0
            residual[k] = 0.0
        n_nan = 0
        # BLAS packs the whole weight matrix on every call, which costs more than the
        # product itself for a few rows: few rows take the row-by-row loops instead
        few = n_rows < _FEW_ROWS
        if few and transposed.size == 0:
            transposed = np.empty_like(weights)
            _transpose_weights(weights, weight_offsets, layer_sizes, transposed)
        for position in range(n_layers):
            # odd layers first, then even layers (red-black ordering): a layer only
            # interacts with its two neighbours, which have the other parity, so each half
            # of the sweep updates layers that are independent of one another
            layer = 2 * position + 1 if position < n_odd else 2 * (position - n_odd) + 2
            n_units = layer_sizes[layer]
            bias = biases[bias_offsets[layer - 1] : bias_offsets[layer - 1] + n_units]
            current = _state_view(work, state_offsets, layer_sizes, n_samples, layer)[:n_rows]
            first = first_buffer[: n_rows * n_units].reshape((n_rows, n_units))
            second = second_buffer[: n_rows * n_units].reshape((n_rows, n_units))
            if layer == 1:
                first = input_drive[:n_rows]
            else:
                below = _state_view(work, state_offsets, layer_sizes, n_samples, layer - 1)[:n_rows]
                lower_weights = _weight_view(weights, weight_offsets, layer_sizes, layer - 1)
                if few:
                    first[:] = 0.0
                    _add_row_products(first, below, lower_weights)
                elif zero_start and n_steps == 1 and layer % 2 == 1:
                    first[:] = 0.0
                else:
                    np.dot(below, lower_weights, first)
            if layer < n_layers:
                above = _state_view(work, state_offsets, layer_sizes, n_samples, layer + 1)[:n_rows]
                if few:
                    second[:] = 0.0
                    _add_row_products(
                        second,
                        above,
                        _transposed_view(transposed, weight_offsets, layer_sizes, layer),
                    )
                elif zero_start and n_steps == 1 and layer % 2 == 1:
                    second[:] = 0.0
                else:
                    upper_weights = _weight_view(weights, weight_offsets, layer_sizes, layer)
                    np.dot(above, upper_weights.T, second)
            else:
                second = no_drive[:n_rows]
            nudge = layer == n_layers and nudged
            if activation == TANH and not nudge and not last:
                n_nan += _update_tanh(current, first, second, bias, factor, over, low, tol, exceed)
            else:
                n_nan += _update_general(
                    current,
                    first,
                    second,
                    bias,
                    goal,
                    beta,
                    nudge,
                    activation,
                    factor,
                    over and not nudge,
                    low,
                    tol,
                    exceed,
                    residual,
                )
        if n_nan > 0:
            max_change = np.nan
            break
        if last:
            max_change = 0.0
            for k in range(n_rows):
                if residual[k] > max_change or residual[k] != residual[k]:
                    max_change = residual[k]
            break
        # samples that converged leave the working rows: copy their states out and move
        # the last moving row into their place
        k = 0
        while k < n_rows:
            if exceed[k] > 0:
                k += 1
                continue
            _move_row(
                work,
                n_samples,
                k,
                states,
                n_total,
                first_row + sample[k],
                state_offsets,
                layer_sizes,
            )
            n_rows -= 1
            if k < n_rows:
                _move_row(work, n_samples, n_rows, work, n_samples, k, state_offsets, layer_sizes)
                input_drive[k] = input_drive[n_rows]
                if nudged:
                    goal[k] = goal[n_rows]
                sample[k] = sample[n_rows]
                exceed[k] = exceed[n_rows]
        if n_rows == 0:
            max_change = 0.0
            break
    for k in range(n_rows):
        _move_row(
            work, n_samples, k, states, n_total, first_row + sample[k], state_offsets, layer_sizes
        )
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
