"""BLAS on one thread and groups of samples on threads (``qbloodcell._threads``)."""

from __future__ import annotations

import os
import threading

import pytest
from threadpoolctl import threadpool_info

from qbloodcell import _threads


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
