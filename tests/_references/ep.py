"""Plain NumPy Equilibrium Propagation: the reference of the tests and of benchmarks/.

One relaxation loop (:func:`relax_reference`), the EP gradient estimate
(:func:`ep_gradient_reference`) and a whole training run (:func:`fit_reference`), written
with per-layer array operations where the package has numba kernels. The kernel tests
compare the kernels with the first two; ``benchmarks/bench_ep.py`` times the classifier
against the third, which takes the same steps and the same random draws.

Parameters are lists of per-layer arrays here, not the flat buffers of the kernels, so the
tests also check the kernels' buffer layout. The sweep schedule (plain sweeps at the start
of a free phase, the later over-relaxation factor) is a setting of the classifier, not part
of the algorithm under test: it is imported from it rather than copied.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state

from qbloodcell.ep._network import _EARLY_SWEEPS, _PLAIN_SWEEPS, _late_factor


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
    to the range of ``rho``. A sample's residual in a sweep is its largest
    ``|rho(...) - s|``; as in the kernel, each sample stops being updated once its
    residual is at most ``tol``, and the sweeps end when every sample has stopped (or after
    ``max_steps``). ``targets`` may be None when ``beta`` is 0. ``states`` is a list of
    per-layer arrays, updated in place. Returns (sweeps, the largest residual of the last
    sweep over the samples that were still moving in it).
    """
    n_layers = len(weight_list)
    low = -1.0 if activation == "tanh" else 0.0
    moving = np.ones(inputs.shape[0], dtype=bool)
    # the drive from the clamped inputs is the same in every sweep
    input_drive = inputs @ weight_list[0]
    # odd layers, then even layers (the kernel's red-black order), numbered from 1
    order = [*range(1, n_layers + 1, 2), *range(2, n_layers + 1, 2)]
    residual = np.inf
    step = 0
    while step < max_steps and moving.any():
        step += 1
        change = np.zeros(inputs.shape[0])
        factor = late_omega if n_early is not None and step > n_early else omega
        for layer in order:
            below = input_drive if layer == 1 else states[layer - 2] @ weight_list[layer - 1]
            drive = below + bias_list[layer - 1]
            nudged = layer == n_layers and beta != 0.0
            if layer < n_layers:
                drive = drive + states[layer] @ weight_list[layer].T
            elif nudged:
                drive = drive + beta * (targets - states[layer - 1])
            old = states[layer - 1]
            new = rho(drive, activation)
            change = np.maximum(change, np.abs(new - old).max(axis=1))
            if step > n_plain and factor != 1.0 and not nudged:
                new = np.clip(old + factor * (new - old), low, 1.0)
            states[layer - 1] = np.where(moving[:, None], new, old)
        residual = float(change[moving].max())
        moving &= change > tol
    return step, residual


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


def fit_reference(
    X,
    y,
    *,
    hidden_layer_sizes=(256, 128, 64),
    beta=0.5,
    n_free_steps=400,
    n_nudged_steps=400,
    relax_tol=1e-3,
    over_relaxation=1.4,
    learning_rate_init=0.005,
    momentum=0.9,
    batch_size=32,
    max_iter=100,
    tol=1e-4,
    early_stopping=True,
    validation_fraction=0.2,
    n_iter_no_change=15,
    random_state=None,
):
    """Train a tanh EP network with symmetric nudging; return (weights, biases, epochs).

    The algorithm of :class:`qbloodcell.ep.EquilibriumPropagationClassifier` with the same
    steps: same initialisation, validation split and batch order (same random draws), the
    same layer sweeps with per-sample convergence, the same symmetric-nudging EP update,
    momentum SGD and cosine schedule.
    """
    rng = check_random_state(random_state)
    classes, encoded = np.unique(y, return_inverse=True)
    sizes = (X.shape[1], *hidden_layer_sizes, classes.size)
    n_layers = len(sizes) - 1
    rates = np.broadcast_to(np.asarray(learning_rate_init, dtype=float), (n_layers,))
    targets = np.full((X.shape[0], classes.size), -1.0)
    targets[np.arange(X.shape[0]), encoded] = 1.0
    flat = np.concatenate(
        [
            rng.uniform(-1, 1, size=sizes[i] * sizes[i + 1]) / math.sqrt(sizes[i])
            for i in range(n_layers)
        ]
    )
    weights, start = [], 0
    for i in range(n_layers):
        weights.append(
            flat[start : start + sizes[i] * sizes[i + 1]].reshape(sizes[i], sizes[i + 1])
        )
        start += sizes[i] * sizes[i + 1]
    biases = [np.zeros(n) for n in sizes[1:]]
    if early_stopping:
        train_idx, valid_idx = train_test_split(
            np.arange(X.shape[0]),
            test_size=validation_fraction,
            stratify=encoded,
            random_state=rng,
        )
        X_train, t_train = X[train_idx], targets[train_idx]
        X_valid, y_valid = X[valid_idx], encoded[valid_idx]
        best_score, best, waited = -np.inf, None, 0
    else:
        X_train, t_train = X, targets
    w_velocity = [np.zeros_like(w) for w in weights]
    b_velocity = [np.zeros_like(b) for b in biases]
    n_train = X_train.shape[0]
    batch_size = min(batch_size, n_train)
    schedule_of_sweeps = {"late_omega": _late_factor(over_relaxation), "n_early": _EARLY_SWEEPS}

    def free_phase(inputs):
        states = [np.zeros((inputs.shape[0], n)) for n in sizes[1:]]
        relax_reference(
            inputs,
            weights,
            biases,
            states,
            None,
            0.0,
            "tanh",
            n_free_steps,
            relax_tol,
            over_relaxation,
            _PLAIN_SWEEPS,
            **schedule_of_sweeps,
        )
        return states

    def nudged_phase(inputs, batch_targets, start_states, nudge):
        states = [s.copy() for s in start_states]
        relax_reference(
            inputs,
            weights,
            biases,
            states,
            batch_targets,
            nudge,
            "tanh",
            n_nudged_steps,
            relax_tol,
            over_relaxation,
            0,
            **schedule_of_sweeps,
        )
        return states

    epochs = 0
    for epoch in range(max_iter):
        schedule = 0.5 * (1.0 + math.cos(math.pi * epoch / max_iter))
        order = rng.permutation(n_train)
        for start in range(0, n_train, batch_size):
            batch = order[start : start + batch_size]
            inputs, batch_targets = X_train[batch], t_train[batch]
            free = free_phase(inputs)
            plus = nudged_phase(inputs, batch_targets, free, beta)
            minus = nudged_phase(inputs, batch_targets, free, -beta)
            grad_w, grad_b = ep_gradient_reference(inputs, plus, minus, 2 * beta)
            for layer in range(n_layers):
                w_velocity[layer] = (
                    momentum * w_velocity[layer] - schedule * rates[layer] * grad_w[layer]
                )
                b_velocity[layer] = (
                    momentum * b_velocity[layer] - schedule * rates[layer] * grad_b[layer]
                )
                weights[layer] += w_velocity[layer]
                biases[layer] += b_velocity[layer]
        epochs += 1
        if early_stopping:
            score = float(np.mean(free_phase(X_valid)[-1].argmax(axis=1) == y_valid))
            if score > best_score + tol:
                best_score, best, waited = (
                    score,
                    ([w.copy() for w in weights], [b.copy() for b in biases]),
                    0,
                )
            else:
                waited += 1
            if waited >= n_iter_no_change:
                break
    if early_stopping:
        weights, biases = best
    return weights, biases, epochs
