"""Each numba kernel against the plain NumPy reference in ``_references.ep``."""

from __future__ import annotations

import numpy as np
import pytest

from _references import ep as ref
from qbloodcell.ep import _kernels
from qbloodcell.ep._network import _EARLY_SWEEPS, Network, _late_factor

LAYER_SIZES = (5, 8, 6, 3)
ACTIVATIONS = {"tanh": _kernels.TANH, "hard_sigmoid": _kernels.HARD_SIGMOID}


def _problem(seed, n_samples=7, scale=0.8):
    rng = np.random.RandomState(seed)
    arch = Network(LAYER_SIZES)
    weights = rng.normal(scale=scale, size=arch.n_weights)
    biases = rng.normal(scale=0.3, size=arch.n_units)
    inputs = rng.normal(size=(n_samples, LAYER_SIZES[0]))
    targets = rng.uniform(-1, 1, size=(n_samples, LAYER_SIZES[-1]))
    states = rng.uniform(0, 1, size=n_samples * arch.n_units)
    return arch, weights, biases, inputs, targets, states


# (omega, n_plain): plain sweeps, and over-relaxed sweeps after two plain ones
OVER_RELAXATION = [(1.0, 0), (1.4, 2)]


def _relax_kernel_and_reference(
    seed, n_samples, beta, activation, omega, n_plain, zero_start=False
):
    """Run the kernel and the NumPy reference for the same fixed number of sweeps.

    ``tol=0`` runs ``_EARLY_SWEEPS + 3`` sweeps in both (past the switch to the late
    factor), unless hard-sigmoid units reach an exact fixed point (change 0) earlier.
    ``zero_start`` starts from zero states, as the free phases do (the kernel then skips
    the products of zeros in the first sweep).
    Checks that both end in the same states; returns the two ``(steps, change)`` results.
    """
    arch, weights, biases, inputs, targets, states = _problem(seed, n_samples=n_samples)
    if zero_start:
        states[:] = 0.0
    expected = ref.split_states(states, LAYER_SIZES, n_samples)
    weight_list, bias_list = ref.split_parameters(weights, biases, LAYER_SIZES)
    n_steps = _EARLY_SWEEPS + 3
    reference = ref.relax_reference(
        inputs,
        weight_list,
        bias_list,
        expected,
        targets,
        beta,
        activation,
        n_steps,
        0.0,
        omega,
        n_plain,
        _late_factor(omega),
        _EARLY_SWEEPS,
    )
    kernel = arch.relax(
        inputs,
        weights,
        biases,
        states,
        targets,
        beta,
        ACTIVATIONS[activation],
        n_steps,
        0.0,
        omega,
        n_plain,
    )
    got = ref.split_states(states, LAYER_SIZES, n_samples)
    for layer_got, layer_expected in zip(got, expected, strict=True):
        np.testing.assert_allclose(layer_got, layer_expected, rtol=0, atol=1e-12)
    return kernel, reference


@pytest.mark.parametrize("activation", ["tanh", "hard_sigmoid"])
@pytest.mark.parametrize("beta", [0.0, 0.5, -0.3])
@pytest.mark.parametrize(("omega", "n_plain"), OVER_RELAXATION)
@pytest.mark.parametrize("zero_start", [False, True])
def test_relax_matches_numpy_reference(activation, beta, omega, n_plain, zero_start):
    # enough rows for the BLAS products (fewer take the row loops, tested below)
    (steps, change), (ref_steps, ref_change) = _relax_kernel_and_reference(
        0, _kernels._FEW_ROWS + 3, beta, activation, omega, n_plain, zero_start
    )
    assert steps == ref_steps
    if activation == "tanh":
        assert steps == _EARLY_SWEEPS + 3
    assert change == pytest.approx(ref_change, abs=1e-12)


def test_relax_stops_at_tolerance_like_reference():
    arch, weights, biases, inputs, targets, states = _problem(1, scale=0.3)
    expected = ref.split_states(states, LAYER_SIZES, inputs.shape[0])
    weight_list, bias_list = ref.split_parameters(weights, biases, LAYER_SIZES)
    ref_steps, ref_change = ref.relax_reference(
        inputs, weight_list, bias_list, expected, targets, 0.0, "tanh", 500, 1e-9
    )
    steps, change = arch.relax(
        inputs, weights, biases, states, targets, 0.0, _kernels.TANH, 500, 1e-9
    )
    assert 1 < steps == ref_steps < 500
    assert change <= 1e-9
    assert ref_change <= 1e-9


@pytest.mark.parametrize("max_steps", [3, 50])
def test_relax_rows_of_a_larger_buffer(max_steps):
    # first_row: the kernel relaxes rows 3..8 of a 10-sample buffer in place, as if they
    # were a batch of their own, and leaves the other rows alone (threads relax groups of
    # rows of one buffer this way); rows that stop at the cap (3 sweeps) and rows that
    # converge (50) are written back by different code
    arch, weights, biases, inputs, targets, states = _problem(8, n_samples=10)
    alone = np.concatenate(
        [layer[3:9].ravel() for layer in ref.split_states(states, LAYER_SIZES, 10)]
    )
    rows_inputs = inputs[3:9].copy()
    rest = (targets[3:9].copy(), 0.5, _kernels.TANH, max_steps, 1e-9)
    expected = arch._relax_rows(rows_inputs, weights, biases, alone, *rest)
    before = states.copy()
    got = arch._relax_rows(rows_inputs, weights, biases, states, *rest, first_row=3)
    assert got == expected
    for layer_got, layer_before, layer_alone in zip(
        ref.split_states(states, LAYER_SIZES, 10),
        ref.split_states(before, LAYER_SIZES, 10),
        ref.split_states(alone, LAYER_SIZES, 6),
        strict=True,
    ):
        np.testing.assert_array_equal(layer_got[3:9], layer_alone)
        np.testing.assert_array_equal(layer_got[:3], layer_before[:3])
        np.testing.assert_array_equal(layer_got[9:], layer_before[9:])
        assert not np.array_equal(layer_got[3:9], layer_before[3:9])


@pytest.mark.parametrize("bad", [np.inf, np.nan])
@pytest.mark.parametrize("rows", ["few", "blas"])
@pytest.mark.parametrize("index", [5 * 8 + 7, 5 * 8 + 8 * 6 + 2])
def test_relax_from_zero_states_propagates_non_finite_weights(bad, rows, index):
    # from zero states the first sweep skips products of zero layers, but not when a
    # weight is inf or NaN (0 * inf is NaN): the reference gives NaN states, and so must
    # the kernel, on both product paths; index: a weight of W_1 or of W_2
    n_samples = 5 if rows == "few" else _kernels._FEW_ROWS + 3
    arch, weights, biases, inputs, targets, states = _problem(2, n_samples=n_samples)
    weights[index] = bad
    states[:] = 0.0
    expected = ref.split_states(states, LAYER_SIZES, n_samples)
    weight_list, bias_list = ref.split_parameters(weights, biases, LAYER_SIZES)
    with np.errstate(invalid="ignore"):
        ref.relax_reference(inputs, weight_list, bias_list, expected, targets, 0.0, "tanh", 5, 1e-6)
    assert any(np.isnan(layer).any() for layer in expected)
    _, change = arch.relax(inputs, weights, biases, states, targets, 0.0, _kernels.TANH, 5, 1e-6)
    assert np.isnan(change)
    assert np.isnan(states).any()


def test_relax_checks_the_shapes_of_inputs_and_targets():
    # the kernel indexes these arrays without bounds checks: the wrapper refuses others
    arch, weights, biases, inputs, targets, states = _problem(7, n_samples=6)
    with pytest.raises(ValueError, match="targets"):
        arch.relax(inputs, weights, biases, states, targets[:1], 0.0, _kernels.TANH, 5, 1e-8)
    with pytest.raises(ValueError, match="targets"):
        arch.relax(inputs, weights, biases, states, targets[:, :2], 0.5, _kernels.TANH, 5, 1e-8)
    with pytest.raises(ValueError, match="inputs"):
        arch.relax(inputs[:, :4], weights, biases, states, targets, 0.0, _kernels.TANH, 5, 1e-8)
    with pytest.raises(ValueError, match="states"):
        arch.relax(inputs, weights, biases, states[:-1], targets, 0.0, _kernels.TANH, 5, 1e-8)


def test_relax_propagates_nan():
    arch, weights, biases, inputs, targets, states = _problem(2)
    weights[3] = np.nan
    _, change = arch.relax(inputs, weights, biases, states, targets, 0.0, _kernels.TANH, 5, 1e-6)
    assert np.isnan(change)


@pytest.mark.parametrize("scale", [1.0, 0.25])
def test_ep_gradient_matches_numpy_reference(scale):
    arch, _weights, _biases, inputs, _, states = _problem(3)
    n_samples = inputs.shape[0]
    other = np.random.RandomState(4).uniform(-1, 1, size=states.shape)
    weight_grad = np.empty(arch.n_weights)
    bias_grad = np.empty(arch.n_units)
    _kernels.ep_gradient(
        inputs,
        arch.layer_sizes,
        arch.weight_offsets,
        arch.unit_offsets,
        arch.unit_offsets,
        states,
        other,
        scale,
        weight_grad,
        bias_grad,
    )
    expected_w, expected_b = ref.ep_gradient_reference(
        inputs,
        ref.split_states(states, LAYER_SIZES, n_samples),
        ref.split_states(other, LAYER_SIZES, n_samples),
        scale,
    )
    got_w, got_b = ref.split_parameters(weight_grad, bias_grad, LAYER_SIZES)
    for got, expected in zip(got_w + got_b, expected_w + expected_b, strict=True):
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)


def _tanh_values(values):
    # tanh as the relaxation evaluates it: the update loop of the hidden layers, plain step,
    # with the other drive and the bias at -0.0 (x + -0.0 == x, the sign of zero included)
    n_values = values.shape[0]
    out = np.zeros((1, n_values))
    _kernels._update_tanh(
        out,
        values[None, :].copy(),
        np.full((1, n_values), -0.0),
        np.full(n_values, -0.0),
        1.0,
        False,
        -1.0,
        0.0,
        np.zeros(1, dtype=np.int64),
    )
    return out[0]


def test_tanh_within_four_ulp_of_numpy():
    rng = np.random.RandomState(5)
    values = np.concatenate(
        [
            rng.normal(scale=3.0, size=20000),
            rng.uniform(-25.0, 25.0, size=20000),
            rng.uniform(-1e-3, 1e-3, size=2000),
            np.logspace(-300, 3, 2000),
            -np.logspace(-300, 3, 2000),
            # grid points and the midpoints between them (the largest |d|)
            np.arange(0, 21, 1 / 64),
        ]
    )
    got = _tanh_values(values)
    expected = np.tanh(values)
    ulp = np.abs(got - expected) / np.spacing(np.abs(expected))
    assert ulp.max() <= 4


def test_tanh_special_values():
    values = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 5e-324, -5e-324, 19.5, 1e308, -1e308])
    got = _tanh_values(values)
    expected = np.tanh(values)
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(np.signbit(got), np.signbit(expected))


@pytest.mark.parametrize("activation", ["tanh", "hard_sigmoid"])
@pytest.mark.parametrize("beta", [0.0, 0.5])
@pytest.mark.parametrize(("omega", "n_plain"), OVER_RELAXATION)
def test_relax_few_rows_matches_numpy_reference(activation, beta, omega, n_plain):
    # fewer rows than _FEW_ROWS: the products are computed row by row, not by BLAS
    _relax_kernel_and_reference(6, _kernels._FEW_ROWS - 2, beta, activation, omega, n_plain)


@pytest.mark.parametrize("beta", [0.0, 0.5])
@pytest.mark.parametrize(("omega", "n_plain"), OVER_RELAXATION)
def test_relax_rows_stop_on_their_own(beta, omega, n_plain):
    # a batch whose samples converge at different sweeps (so the rows still moving go
    # from all of them to a few, through both product paths, and the kernel moves rows
    # and their targets around as samples stop) ends at each sample's own fixed point:
    # the same states as relaxing every sample alone
    n_samples = _kernels._FEW_ROWS + 4
    arch, weights, biases, inputs, targets, states = _problem(7, n_samples=n_samples, scale=1.2)
    inputs *= np.linspace(0.1, 3.0, n_samples)[:, None]
    settings = (_kernels.TANH, 400, 1e-8, omega, n_plain)
    batch_states = states.copy()
    steps, change = arch.relax(inputs, weights, biases, batch_states, targets, beta, *settings)
    assert change <= 1e-8
    batch = ref.split_states(batch_states, LAYER_SIZES, n_samples)
    initial = ref.split_states(states, LAYER_SIZES, n_samples)
    alone_steps = []
    for i in range(n_samples):
        one = np.concatenate([layer[i] for layer in initial])
        row = slice(i, i + 1)
        alone_steps.append(
            arch.relax(
                inputs[row].copy(), weights, biases, one, targets[row].copy(), beta, *settings
            )[0]
        )
        for layer, got in zip(batch, ref.split_states(one, LAYER_SIZES, 1), strict=True):
            np.testing.assert_allclose(layer[i], got[0], rtol=0, atol=1e-12)
    assert steps == max(alone_steps)
    assert min(alone_steps) < steps - 3


def test_over_relaxation_reaches_the_same_fixed_points_in_fewer_sweeps():
    # as in fit: the free phase from zero states (plain sweeps first), then a nudged phase
    # from the free fixed point; weights large enough that plain sweeps converge slowly
    arch, weights, biases, inputs, targets, _ = _problem(11, n_samples=20, scale=0.8)
    steps = {}
    fixed_points = {}
    for omega, n_plain in [(1.0, 0), (1.4, 3)]:
        free = np.zeros(inputs.shape[0] * arch.n_units)
        free_steps, free_change = arch.relax(
            inputs, weights, biases, free, targets, 0.0, _kernels.TANH, 2000, 1e-11, omega, n_plain
        )
        nudged = free.copy()
        nudged_steps, nudged_change = arch.relax(
            inputs, weights, biases, nudged, targets, 0.5, _kernels.TANH, 2000, 1e-11, omega, 0
        )
        assert max(free_change, nudged_change) <= 1e-11
        steps[omega] = (free_steps, nudged_steps)
        fixed_points[omega] = (free, nudged)
    for over, plain in zip(fixed_points[1.4], fixed_points[1.0], strict=True):
        np.testing.assert_allclose(over, plain, rtol=0, atol=1e-9)
    for over, plain in zip(steps[1.4], steps[1.0], strict=True):
        assert over < 0.7 * plain


def test_over_relaxation_propagates_nan():
    arch, weights, biases, inputs, targets, states = _problem(2)
    weights[3] = np.nan
    _, change = arch.relax(
        inputs, weights, biases, states, targets, 0.0, _kernels.TANH, 5, 1e-6, 1.4, 0
    )
    assert np.isnan(change)
    assert np.isnan(states).any()
