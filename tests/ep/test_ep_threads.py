"""Relaxing a large batch in groups of rows on threads (``qbloodcell.ep._threads``)."""

from __future__ import annotations

import os
import threading

import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from qbloodcell.ep import _classifier, _kernels, _threads
from qbloodcell.ep._classifier import _Architecture


def _batch(n_samples, seed=0):
    rng = np.random.RandomState(seed)
    arch = _Architecture((6, 40, 30, 3))
    weights = rng.normal(scale=1.5 / np.sqrt(40), size=arch.n_weights)
    biases = rng.normal(scale=0.3, size=arch.n_biases)
    inputs = rng.normal(size=(n_samples, 6))
    targets = rng.uniform(-1, 1, size=(n_samples, 3))
    states = rng.uniform(-1, 1, size=n_samples * arch.n_states)
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

    monkeypatch.setattr(_classifier, "_MIN_ROWS_PER_THREAD", 10)
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
    monkeypatch.setattr(_classifier, "_MIN_ROWS_PER_THREAD", 10)
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


def test_run_concurrently_keeps_order_restores_blas_threads_and_raises():
    before = _blas_library_threads()
    seen = []

    def task(value):
        def call():
            seen.append(max(_blas_library_threads()))
            return value

        return call

    assert _threads.run_concurrently([task(1), task(2), task(3)]) == [1, 2, 3]
    assert seen == [1, 1, 1]
    after = [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]
    assert after == before

    def boom():
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        _threads.run_concurrently([task(1), boom])
    after = [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]
    assert after == before


def test_run_concurrently_waits_for_the_others_when_the_first_call_raises():
    # the first call runs in the calling thread; when it raises, the calls in the pool may
    # still be writing into the caller's buffers, so the error must wait for them
    started = threading.Event()
    finished = []

    def slow():
        started.set()
        threading.Event().wait(0.3)
        finished.append(True)
        return 2

    def boom():
        started.wait(5)
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        _threads.run_concurrently([boom, slow])
    assert finished == [True]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_forked_child_runs_groups():
    import multiprocessing

    # the parent's pool has an idle thread before the fork (the barrier makes both tasks
    # run at once: the first in the calling thread, the second in the pool); the child
    # inherits the pool but not its thread
    barrier = threading.Barrier(2)
    assert _threads.run_concurrently(
        [lambda: barrier.wait(5) * 0 + 1, lambda: barrier.wait(5) * 0 + 2]
    ) == [1, 2]
    context = multiprocessing.get_context("fork")
    with context.Pool(1) as pool:
        result = pool.apply_async(_run_two_in_child)
        assert result.get(timeout=20) == [1, 2]


def _one():
    return 1


def _two():
    return 2


def _run_two_in_child():
    return _threads.run_concurrently([_one, _two])


needs_blas_threads = pytest.mark.skipif(
    max(_blas_library_threads(), default=1) < 2,
    reason="BLAS already runs on one thread: a limit to one thread cannot be observed",
)


@needs_blas_threads
def test_single_threaded_blas_nests_overlaps_and_restores():
    before = _blas_library_threads()
    n_threads = _threads.blas_threads()
    first = _threads.single_threaded_blas()
    second = _threads.single_threaded_blas()
    first.__enter__()
    assert max(_blas_library_threads()) == 1
    # the count before the limit, so that callers inside can still size their groups
    assert _threads.blas_threads() == n_threads
    second.__enter__()
    first.__exit__(None, None, None)  # overlapping, not nested: the limit holds
    assert max(_blas_library_threads()) == 1
    second.__exit__(None, None, None)
    assert _blas_library_threads() == before


@needs_blas_threads
def test_relaxation_and_fit_run_blas_on_one_thread(monkeypatch):
    from qbloodcell.ep import EquilibriumPropagationClassifier

    before = _blas_library_threads()
    seen = []
    original = _Architecture._relax_rows

    def spy(self, *args):
        seen.append(max(_blas_library_threads()))
        return original(self, *args)

    monkeypatch.setattr(_Architecture, "_relax_rows", spy)
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


@needs_blas_threads
def test_limits_from_several_threads_and_restore():
    before = _blas_library_threads()
    inside = threading.Barrier(3)
    leave = threading.Event()

    def hold():
        with _threads.single_threaded_blas():
            inside.wait(5)
            leave.wait(5)

    threads = [threading.Thread(target=hold) for _ in range(2)]
    for thread in threads:
        thread.start()
    inside.wait(5)
    assert max(_blas_library_threads()) == 1
    leave.set()
    for thread in threads:
        thread.join(5)
    assert _blas_library_threads() == before


@needs_blas_threads
def test_another_thread_can_limit_after_the_main_thread_did():
    # threadpoolctl lets only the thread that set a limit change OpenBLAS's thread count
    # until it is released: a limit set and restored by this thread must not keep a worker
    # thread (a web server's, joblib's threading backend) from limiting BLAS later
    before = _blas_library_threads()
    with _threads.single_threaded_blas():
        pass
    seen = []

    def worker():
        with _threads.single_threaded_blas():
            seen.append(max(_blas_library_threads()))

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join(5)
    assert seen == [1]
    assert _blas_library_threads() == before


def test_run_concurrently_from_threads_with_growing_pools():
    # one thread keeps running pairs of tasks while another needs ever larger pools: the
    # pool that the first one found must not be shut down before it submits to it
    errors = []
    stop = threading.Event()

    def pairs():
        try:
            while not stop.is_set():
                _threads.run_concurrently([_one, _two])
        except Exception as error:  # pragma: no cover - the failure being tested
            errors.append(error)

    runner = threading.Thread(target=pairs)
    runner.start()
    try:
        for n_calls in range(3, 40):
            assert _threads.run_concurrently([_one] * n_calls) == [1] * n_calls
    finally:
        stop.set()
        runner.join(10)
    assert errors == []
