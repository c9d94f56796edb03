"""Relaxing a large batch in groups of rows on threads (EP's use of ``qbloodcell._threads``)."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from qbloodcell import _threads
from qbloodcell.ep import _kernels, _network
from qbloodcell.ep._network import Network


def _batch(n_samples, seed=0):
    rng = np.random.RandomState(seed)
    arch = Network((6, 40, 30, 3))
    weights = rng.normal(scale=1.5 / np.sqrt(40), size=arch.n_weights)
    biases = rng.normal(scale=0.3, size=arch.n_units)
    inputs = rng.normal(size=(n_samples, 6))
    targets = rng.uniform(-1, 1, size=(n_samples, 3))
    states = rng.uniform(-1, 1, size=n_samples * arch.n_units)
    return arch, weights, biases, inputs, targets, states


@pytest.mark.parametrize("beta", [0.0, 0.4])
def test_groups_of_rows_give_the_fixed_points_of_one_call(monkeypatch, beta):
    arch, weights, biases, inputs, targets, states = _batch(45)
    whole = states.copy()
    expected = arch._relax_rows(
        inputs, weights, biases, whole, targets, beta, _kernels.TANH, 300, 1e-9
    )
    calls = []
    original = _threads.run_concurrently

    def spy(tasks):
        calls.append(len(tasks))
        return original(tasks)

    monkeypatch.setattr(_network, "_MIN_ROWS_PER_THREAD", 10)
    monkeypatch.setattr(_threads, "blas_threads", lambda: 3)
    monkeypatch.setattr(_threads, "run_concurrently", spy)
    grouped = states.copy()
    got = arch.relax(inputs, weights, biases, grouped, targets, beta, _kernels.TANH, 300, 1e-9)
    assert calls == [3]
    assert got[0] == expected[0]
    if expected[1] <= 1e-9:
        assert got[1] <= 1e-9
    else:  # the slowest rows hit the cap: the same rows report the same change
        assert got[1] == pytest.approx(expected[1], rel=1e-9)
    np.testing.assert_allclose(grouped, whole, rtol=0, atol=1e-12)


def test_groups_report_nan(monkeypatch):
    arch, weights, biases, inputs, targets, states = _batch(40)
    # only the last rows diverge: the group that holds them reports NaN for the batch
    inputs[-3:] = np.nan
    monkeypatch.setattr(_network, "_MIN_ROWS_PER_THREAD", 10)
    monkeypatch.setattr(_threads, "blas_threads", lambda: 2)
    _, change = arch.relax(inputs, weights, biases, states, targets, 0.0, _kernels.TANH, 20, 1e-6)
    assert np.isnan(change)


def test_one_blas_thread_means_one_group(monkeypatch):
    # one group: a single task, which run_concurrently runs in the calling thread
    arch, weights, biases, inputs, targets, states = _batch(200)
    calls = []
    original = _threads.run_concurrently

    def spy(tasks):
        calls.append((len(tasks), threading.current_thread()))
        return original(tasks)

    monkeypatch.setattr(_threads, "run_concurrently", spy)
    with threadpool_limits(1, user_api="blas"):
        assert _threads.blas_threads() == 1
        arch.relax(inputs, weights, biases, states, targets, 0.0, _kernels.TANH, 50, 1e-6)
    assert calls == [(1, threading.current_thread())]


def _blas_library_threads():
    return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]


needs_blas_threads = pytest.mark.skipif(
    max(_blas_library_threads(), default=1) < 2,
    reason="BLAS already runs on one thread: a limit to one thread cannot be observed",
)


@needs_blas_threads
def test_relaxation_and_fit_run_blas_on_one_thread(monkeypatch):
    from qbloodcell.ep import EquilibriumPropagationClassifier

    before = _blas_library_threads()
    seen = []
    original = Network._relax_rows

    def spy(self, *args):
        seen.append(max(_blas_library_threads()))
        return original(self, *args)

    monkeypatch.setattr(Network, "_relax_rows", spy)
    arch, weights, biases, inputs, targets, states = _batch(10)
    arch.relax(inputs, weights, biases, states, targets, 0.0, _kernels.TANH, 20, 1e-6)
    rng = np.random.RandomState(0)
    X, y = rng.normal(size=(60, 4)), np.repeat([0, 1], 30)
    clf = EquilibriumPropagationClassifier(
        hidden_layer_sizes=(8,), max_iter=2, early_stopping=False, random_state=0
    ).fit(X, y)
    clf.predict(X)
    assert len(seen) > 3
    assert set(seen) == {1}
    assert _blas_library_threads() == before
