"""Plain NumPy references for the Equilibrium Propagation kernels (tests only).

Parameters are lists of per-layer arrays here, not the flat buffers of the kernels, so the
tests also check the kernels' buffer layout.
"""

from __future__ import annotations

import itertools

import numpy as np


def split_parameters(weights, biases, layer_sizes):
    """Flat buffers -> lists ``[W_0, ...]``, ``[b_1, ...]`` (copies)."""
    weight_list, bias_list = [], []
    w_start = b_start = 0
    for n_in, n_out in itertools.pairwise(layer_sizes):
        weight_list.append(weights[w_start : w_start + n_in * n_out].reshape(n_in, n_out).copy())
        bias_list.append(biases[b_start : b_start + n_out].copy())
        w_start += n_in * n_out
        b_start += n_out
    return weight_list, bias_list


def split_states(states, layer_sizes, n_samples):
    """Flat state buffer -> list of per-layer ``(n_samples, n_l)`` arrays (copies)."""
    out, start = [], 0
    for n_units in layer_sizes[1:]:
        out.append(states[start : start + n_samples * n_units].reshape(n_samples, n_units).copy())
        start += n_samples * n_units
    return out


def rho(values, activation):
    return np.tanh(values) if activation == "tanh" else np.clip(values, 0.0, 1.0)


def relax_reference(
    inputs,
    weight_list,
    bias_list,
    states,
    targets,
    beta,
    activation,
    max_steps,
    tol,
    omega=1.0,
    n_plain=0,
    late_omega=None,
    n_early=None,
):
    """Layer sweeps ``s_l = rho(s_{l-1} W_{l-1} + s_{l+1} W_l^T + b_l)`` (+ nudge on s_L).

    After ``n_plain`` sweeps, hidden layers (and the output layer of the free phase) move
    by ``omega`` times that step (``late_omega`` times after ``n_early`` sweeps), clipped
    to the range of ``rho``. The residual of a sweep
    is the largest ``|rho(...) - s|``; the sweeps stop once it is at most ``tol``.
    ``states`` is a list of per-layer arrays, updated in place. Returns (steps, residual).
    """
    n_layers = len(weight_list)
    low = -1.0 if activation == "tanh" else 0.0
    max_change = np.inf
    step = 0
    while step < max_steps:
        step += 1
        max_change = 0.0
        # odd layers, then even layers (the kernel's red-black ordering)
        order = [*range(1, n_layers + 1, 2), *range(2, n_layers + 1, 2)]
        for layer in order:
            below = inputs if layer == 1 else states[layer - 2]
            drive = below @ weight_list[layer - 1] + bias_list[layer - 1]
            nudged = layer == n_layers and beta != 0.0
            if layer < n_layers:
                drive = drive + states[layer] @ weight_list[layer].T
            else:
                drive = drive + beta * (targets - states[layer - 1])
            new = rho(drive, activation)
            old = states[layer - 1]
            max_change = max(max_change, float(np.max(np.abs(new - old))))
            factor = late_omega if n_early is not None and step > n_early else omega
            if step > n_plain and factor != 1.0 and not nudged:
                new = np.clip(old + factor * (new - old), low, 1.0)
            states[layer - 1] = new
        if max_change <= tol:
            break
    return step, max_change


def ep_gradient_reference(inputs, states_plus, states_minus, scale):
    """EP estimate ``-(s_l^+ s_{l+1}^+T - s_l^- s_{l+1}^-T) / (scale * B)`` per layer."""
    n_samples = inputs.shape[0]
    lower_plus = [inputs, *states_plus[:-1]]
    lower_minus = [inputs, *states_minus[:-1]]
    weight_grads = [
        -(lp.T @ up - lm.T @ um) / (scale * n_samples)
        for lp, up, lm, um in zip(lower_plus, states_plus, lower_minus, states_minus, strict=True)
    ]
    bias_grads = [
        -(up - um).sum(axis=0) / (scale * n_samples)
        for up, um in zip(states_plus, states_minus, strict=True)
    ]
    return weight_grads, bias_grads
