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
No ``fastmath``: NaN and inf must propagate so that divergence is detected.
"""

from __future__ import annotations

import numpy as np
from numba import njit

#: activation codes understood by the kernels
TANH = 0
HARD_SIGMOID = 1


@njit(cache=True)
def _weight_view(weights, weight_offsets, layer_sizes, layer):
    start = weight_offsets[layer]
    n_rows = layer_sizes[layer]
    n_cols = layer_sizes[layer + 1]
    return weights[start : start + n_rows * n_cols].reshape((n_rows, n_cols))


@njit(cache=True)
def _state_view(states, state_offsets, layer_sizes, n_samples, layer):
    # layer >= 1
    start = n_samples * state_offsets[layer - 1]
    return states[start : start + n_samples * layer_sizes[layer]].reshape(
        (n_samples, layer_sizes[layer])
    )


@njit(cache=True)
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
):
    """Relax the states of a batch to a fixed point of ``E + beta * C``, in place.

    Each step is one sweep over the layers, from the first hidden layer to the output
    layer on odd steps and back on even steps; layer ``l`` is set to the exact minimiser of the energy over that layer with
    its neighbours held fixed, ``s_l = rho(s_{l-1} W_{l-1} + s_{l+1} W_l^T + b_l)``
    (block coordinate descent: the layers of a layered network do not interact within a
    layer). The output layer is updated with the fixed-point map
    ``s_L = rho(s_{L-1} W_{L-1} + b_L + beta * (targets - s_L))``, whose fixed point is
    the stationary point of ``E + beta * C`` with ``C = 1/2 ||s_L - targets||^2``.

    Each sample stops being updated once no unit of it moved by more than ``tol`` in a
    sweep; the relaxation ends when all samples have stopped or after ``max_steps`` sweeps.

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
        The relaxation has converged when no state moved by more than ``tol`` in a sweep.

    Returns
    -------
    n_steps : int
        Number of sweeps done.
    max_change : float
        Largest state change in the last sweep of the samples still moving (``<= tol``
        when every sample converged; NaN when the states became NaN).
    """
    n_samples = inputs.shape[0]
    n_layers = layer_sizes.shape[0] - 1
    # the drive from the clamped input does not change during relaxation
    first_weights = _weight_view(weights, weight_offsets, layer_sizes, 0)
    input_drive = np.dot(inputs, first_weights)
    # each sample stops moving once its own sweep changed nothing by more than tol, so
    # that a sample's fixed point does not depend on the rest of the batch
    active = np.ones(n_samples, dtype=np.bool_)
    rows = np.arange(n_samples)
    sample_change = np.zeros(n_samples)
    max_change = np.inf
    n_steps = 0
    while n_steps < max_steps:
        n_steps += 1
        # only the samples still moving are updated: gather their rows so that the matrix
        # products cost in proportion to them (converged samples keep their states)
        n_rows = rows.shape[0]
        compact = n_rows < n_samples
        for k in range(n_rows):
            sample_change[rows[k]] = 0.0
        for position in range(n_layers):
            # alternate the sweep direction so that a nudge of the output layer reaches the
            # first hidden layer within one sweep (symmetric Gauss-Seidel)
            layer = position + 1 if n_steps % 2 == 1 else n_layers - position
            n_units = layer_sizes[layer]
            bias = biases[bias_offsets[layer - 1] : bias_offsets[layer - 1] + n_units]
            current = _state_view(states, state_offsets, layer_sizes, n_samples, layer)
            if layer == 1:
                drive = input_drive[rows] if compact else input_drive.copy()
            else:
                below = _state_view(states, state_offsets, layer_sizes, n_samples, layer - 1)
                if compact:
                    below = below[rows]
                drive = np.dot(below, _weight_view(weights, weight_offsets, layer_sizes, layer - 1))
            if layer < n_layers:
                above = _state_view(states, state_offsets, layer_sizes, n_samples, layer + 1)
                if compact:
                    above = above[rows]
                upper_weights = _weight_view(weights, weight_offsets, layer_sizes, layer)
                drive += np.dot(above, upper_weights.T)
            for k in range(n_rows):
                i = rows[k]
                change_i = sample_change[i]
                for j in range(n_units):
                    value = drive[k, j] + bias[j]
                    if layer == n_layers and beta != 0.0:
                        value += beta * (targets[i, j] - current[i, j])
                    value = np.tanh(value) if activation == TANH else min(max(value, 0.0), 1.0)
                    change = abs(value - current[i, j])
                    # NaN compares False: make it stick so that the caller sees it
                    if change > change_i or change != change:
                        change_i = change
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
