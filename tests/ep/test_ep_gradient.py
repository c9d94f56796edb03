"""The EP update is the gradient of the cost at the free fixed point as beta -> 0.

The true gradient is computed independently of EP: by central finite differences of the
cost of the (tightly relaxed) free fixed point with respect to every parameter, and with
torch autograd through the fixed-point iteration (skipped without torch).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from qbloodcell.ep import _kernels
from qbloodcell.ep._network import Network

LAYER_SIZES = (5, 8, 6, 3)
N_SAMPLES = 4
STEPS = 5000
TOL = 1e-14


@pytest.fixture(scope="module")
def problem():
    rng = np.random.RandomState(0)
    arch = Network(LAYER_SIZES)
    weights = rng.uniform(-1, 1, size=arch.n_weights) / np.sqrt(
        np.repeat(arch.layer_sizes[:-1], np.diff(arch.weight_offsets))
    )
    biases = rng.normal(scale=0.2, size=arch.n_units)
    inputs = rng.normal(size=(N_SAMPLES, LAYER_SIZES[0]))
    targets = -np.ones((N_SAMPLES, LAYER_SIZES[-1]))
    targets[np.arange(N_SAMPLES), rng.randint(0, LAYER_SIZES[-1], N_SAMPLES)] = 1.0
    return arch, weights, biases, inputs, targets


def _free_state(arch, weights, biases, inputs, targets):
    states = np.zeros(N_SAMPLES * arch.n_units)
    _, change = arch.relax(inputs, weights, biases, states, targets, 0.0, _kernels.TANH, STEPS, TOL)
    assert change <= TOL
    return states


def _cost(arch, weights, biases, inputs, targets):
    states = _free_state(arch, weights, biases, inputs, targets)
    return 0.5 * np.sum((arch.outputs(states, N_SAMPLES) - targets) ** 2) / N_SAMPLES


def _ep_estimate(arch, weights, biases, inputs, targets, beta, symmetric):
    free = _free_state(arch, weights, biases, inputs, targets)
    plus = free.copy()
    _, change = arch.relax(inputs, weights, biases, plus, targets, beta, _kernels.TANH, STEPS, TOL)
    assert change <= TOL
    if symmetric:
        minus = free.copy()
        arch.relax(inputs, weights, biases, minus, targets, -beta, _kernels.TANH, STEPS, TOL)
        scale = 2 * beta
    else:
        minus, scale = free, beta
    weight_grad = np.empty(arch.n_weights)
    bias_grad = np.empty(arch.n_units)
    _kernels.ep_gradient(
        inputs,
        arch.layer_sizes,
        arch.weight_offsets,
        arch.unit_offsets,
        arch.unit_offsets,
        plus,
        minus,
        scale,
        weight_grad,
        bias_grad,
    )
    return np.concatenate([weight_grad, bias_grad])


@pytest.fixture(scope="module")
def finite_difference_gradient(problem):
    arch, weights, biases, inputs, targets = problem
    params = np.concatenate([weights, biases])
    step = 1e-6
    grad = np.empty_like(params)
    for k in range(params.size):
        shifted = []
        for sign in (1.0, -1.0):
            p = params.copy()
            p[k] += sign * step
            shifted.append(_cost(arch, p[: arch.n_weights], p[arch.n_weights :], inputs, targets))
        grad[k] = (shifted[0] - shifted[1]) / (2 * step)
    return grad


def _cosine(a, b):
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


@pytest.mark.parametrize("symmetric", [True, False])
def test_ep_update_matches_finite_difference_gradient(
    problem, finite_difference_gradient, symmetric
):
    arch, weights, biases, inputs, targets = problem
    true = finite_difference_gradient
    assert np.linalg.norm(true) > 1e-3  # a non-trivial gradient
    errors = []
    for beta in (0.5, 0.05, 0.001):
        estimate = _ep_estimate(arch, weights, biases, inputs, targets, beta, symmetric)
        errors.append(np.linalg.norm(estimate - true) / np.linalg.norm(true))
    small_beta = _ep_estimate(arch, weights, biases, inputs, targets, 0.001, symmetric)
    assert _cosine(small_beta, true) > 0.999
    # one-sided nudging keeps a bias of order beta
    tolerance = (1e-3 if symmetric else 1e-2) * np.abs(true).max()
    np.testing.assert_allclose(small_beta, true, rtol=0, atol=tolerance)
    # the estimate converges to the gradient as beta -> 0
    assert errors[0] > errors[1] > errors[2]


def test_symmetric_nudging_has_smaller_bias(problem, finite_difference_gradient):
    arch, weights, biases, inputs, targets = problem
    true = finite_difference_gradient
    symmetric = _ep_estimate(arch, weights, biases, inputs, targets, 0.2, True)
    one_sided = _ep_estimate(arch, weights, biases, inputs, targets, 0.2, False)
    assert np.linalg.norm(symmetric - true) < 0.5 * np.linalg.norm(one_sided - true)


def test_ep_update_matches_torch_autograd(problem):
    torch = pytest.importorskip("torch")
    arch, weights, biases, inputs, targets = problem
    free = _free_state(arch, weights, biases, inputs, targets)
    w = torch.tensor(weights, requires_grad=True)
    b = torch.tensor(biases, requires_grad=True)
    x = torch.tensor(inputs)
    sizes = [int(n) for n in arch.layer_sizes]
    w_list, b_list, start_w, start_b = [], [], 0, 0
    for n_in, n_out in itertools.pairwise(sizes):
        w_list.append(w[start_w : start_w + n_in * n_out].reshape(n_in, n_out))
        b_list.append(b[start_b : start_b + n_out])
        start_w += n_in * n_out
        start_b += n_out
    # start at the fixed point and unroll the same sweeps; autograd through a contracting
    # fixed-point iteration converges to the implicit-function gradient
    states = [torch.tensor(s) for s in _split(free, sizes)]
    for _ in range(300):
        for layer in range(1, len(sizes)):
            below = x if layer == 1 else states[layer - 2]
            drive = below @ w_list[layer - 1] + b_list[layer - 1]
            if layer < len(sizes) - 1:
                drive = drive + states[layer] @ w_list[layer].T
            states[layer - 1] = torch.tanh(drive)
    cost = 0.5 * ((states[-1] - torch.tensor(targets)) ** 2).sum() / N_SAMPLES
    cost.backward()
    true = np.concatenate([w.grad.numpy(), b.grad.numpy()])
    estimate = _ep_estimate(arch, weights, biases, inputs, targets, 0.001, True)
    assert _cosine(estimate, true) > 0.999


def _split(states, sizes):
    out, start = [], 0
    for n in sizes[1:]:
        out.append(states[start : start + N_SAMPLES * n].reshape(N_SAMPLES, n))
        start += N_SAMPLES * n
    return out
