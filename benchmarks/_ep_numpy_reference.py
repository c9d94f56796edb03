"""Straightforward vectorised NumPy Equilibrium Propagation (the speed reference).

The same algorithm as :class:`qbloodcell.ep.EquilibriumPropagationClassifier` with the
same steps: same initialisation, validation split and batch order (same random draws),
the same layer sweeps with per-sample convergence, the same symmetric-nudging EP update,
momentum SGD and cosine schedule. Only the relaxation and the update are written with
per-layer NumPy array operations instead of the numba kernels.
"""

from __future__ import annotations

import math

import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state

# plain sweeps before over-relaxing, in the free phases (from zero states)
_PLAIN_SWEEPS = 3
_EARLY_SWEEPS = 15


def _relax(inputs, weights, biases, states, targets, beta, max_steps, tol, omega, n_plain):
    n_layers = len(weights)
    n_samples = inputs.shape[0]
    active = np.ones(n_samples, dtype=bool)
    input_drive = inputs @ weights[0]
    late_omega = min(1.0 + 1.5 * (omega - 1.0), 1.9) if omega > 1.0 else omega
    steps = 0
    while steps < max_steps:
        steps += 1
        change = np.zeros(n_samples)
        # odd layers, then even layers (0-based: indices 0, 2, ... then 1, 3, ...)
        order = [*range(0, n_layers, 2), *range(1, n_layers, 2)]
        for layer in order:
            drive = input_drive if layer == 0 else states[layer - 1] @ weights[layer]
            if layer < n_layers - 1:
                drive = drive + states[layer + 1] @ weights[layer + 1].T
            drive = drive + biases[layer]
            nudged = layer == n_layers - 1 and beta != 0.0
            if nudged:
                drive = drive + beta * (targets - states[layer])
            new = np.tanh(drive)
            change = np.maximum(change, np.abs(new - states[layer]).max(axis=1))
            # over-relaxation after the plain sweeps, except the nudged output layer; a
            # larger factor for the samples still moving after _EARLY_SWEEPS sweeps
            factor = omega if steps <= _EARLY_SWEEPS else late_omega
            if steps > n_plain and factor != 1.0 and not nudged:
                new = np.clip(states[layer] + factor * (new - states[layer]), -1.0, 1.0)
            new[~active] = states[layer][~active]
            states[layer] = new
        active &= change > tol
        if not active.any():
            break
    return steps


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
    """Train a tanh EP network with symmetric nudging; return (weights, biases, epochs)."""
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
    epochs = 0
    for epoch in range(max_iter):
        schedule = 0.5 * (1.0 + math.cos(math.pi * epoch / max_iter))
        order = rng.permutation(n_train)
        for start in range(0, n_train, batch_size):
            batch = order[start : start + batch_size]
            inputs, batch_targets = X_train[batch], t_train[batch]
            free = [np.zeros((inputs.shape[0], n)) for n in sizes[1:]]
            relax = (over_relaxation, 0)
            _relax(
                inputs,
                weights,
                biases,
                free,
                batch_targets,
                0.0,
                n_free_steps,
                relax_tol,
                over_relaxation,
                _PLAIN_SWEEPS,
            )
            plus = [s.copy() for s in free]
            _relax(
                inputs,
                weights,
                biases,
                plus,
                batch_targets,
                beta,
                n_nudged_steps,
                relax_tol,
                *relax,
            )
            minus = [s.copy() for s in free]
            _relax(
                inputs,
                weights,
                biases,
                minus,
                batch_targets,
                -beta,
                n_nudged_steps,
                relax_tol,
                *relax,
            )
            factor = -1.0 / (2 * beta * inputs.shape[0])
            lower_plus, lower_minus = [inputs, *plus[:-1]], [inputs, *minus[:-1]]
            for layer in range(n_layers):
                grad_w = factor * (
                    lower_plus[layer].T @ plus[layer] - lower_minus[layer].T @ minus[layer]
                )
                grad_b = factor * (plus[layer] - minus[layer]).sum(axis=0)
                w_velocity[layer] = momentum * w_velocity[layer] - schedule * rates[layer] * grad_w
                b_velocity[layer] = momentum * b_velocity[layer] - schedule * rates[layer] * grad_b
                weights[layer] += w_velocity[layer]
                biases[layer] += b_velocity[layer]
        epochs += 1
        if early_stopping:
            states = [np.zeros((X_valid.shape[0], n)) for n in sizes[1:]]
            _relax(
                X_valid,
                weights,
                biases,
                states,
                None,
                0.0,
                n_free_steps,
                relax_tol,
                over_relaxation,
                _PLAIN_SWEEPS,
            )
            score = float(np.mean(states[-1].argmax(axis=1) == y_valid))
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
