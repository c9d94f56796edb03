"""BLAS on one thread during many small matrix products, and groups of work run in threads.

Shared by the equilibrium-propagation relaxation (``qbloodcell.ep``) and the quantum
kernels (``qbloodcell.quantum``). Both make thousands of small matrix products (a few
dozen to a few hundred rows). Multi-threaded BLAS speeds these up little, and its threads
wait for each other by spinning: when another process uses the cores, each product can
wait for a scheduler time slice (benchmarks/bench_ep_kernel.py and
benchmarks/bench_kernels.py measure it). So these products run with BLAS limited to one
thread (:func:`single_threaded_blas`), and the cores are used instead by running
independent groups of work in threads (:func:`run_concurrently`; the relaxation kernel
releases the GIL). The relaxation of one sample does not depend on the other samples of
its batch (each stops on its own convergence test).

The number of groups follows the BLAS thread limit of the process as it was before the
limit (:func:`blas_threads`), so that ``threadpoolctl.threadpool_limits(1)`` (and joblib's
workers, which set it) keep everything on one core, as they do for NumPy code.

The limit is process-wide, as scikit-learn's ``KMeans`` sets it during its iterations:
BLAS calls made by other threads while a limited block runs use one thread. Blocks that
overlap (from several threads) share one limit: threadpoolctl lets only the thread that set
a limit change it back, so the first thread sets it and restores it when it leaves, and a
block still running then continues with the restored thread count (slower, not wrong). A
``threadpool_limits`` block that another thread enters during the window and leaves after
it restores the one-thread setting it saw.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

_T = TypeVar("_T")

_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None
_pool_size = 0
_controller: Any = None
# the limit of single_threaded_blas(): the thread that set it (threadpoolctl lets only
# that thread change OpenBLAS's thread count until it restores it), how deeply that thread
# is nested in single_threaded_blas(), the limiter, and the thread count before the limit
_owner: threading.Thread | None = None
_owner_depth = 0
_limiter: Any = None
_threads_before_limit = 1


def _forget_pool_in_child() -> None:
    # a forked child inherits the pool object but not its threads: work submitted to it
    # would wait forever, so the child starts its own pool (and lock) when needed. A child
    # forked inside a limited block keeps BLAS on one thread (its limiter is forgotten).
    global _pool, _pool_size, _lock, _owner, _owner_depth, _limiter
    _pool = None
    _pool_size = 0
    _lock = threading.Lock()
    _owner = None
    _owner_depth = 0
    _limiter = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool_in_child)


def _blas_controller() -> Any:
    global _controller
    if _controller is None:
        # numba's np.dot calls SciPy's BLAS; load it before threadpoolctl looks for
        # libraries, or the controller would not see it
        import scipy.linalg.cython_blas  # noqa: F401
        from threadpoolctl import ThreadpoolController

        _controller = ThreadpoolController().select(user_api="blas")
    return _controller


def _current_threads(controller: Any) -> int:
    counts = [int(lib.num_threads) for lib in controller.lib_controllers]
    return max(1, min(counts)) if counts else 1


def blas_threads() -> int:
    """Number of threads BLAS may use, apart from the limit of :func:`single_threaded_blas`.

    1 when no BLAS library is found.
    """
    with _lock:
        if _limiter is not None:
            return _threads_before_limit
        return _current_threads(_blas_controller())


@contextlib.contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Limit BLAS to one thread while the caller is inside (calls may nest and overlap).

    The first thread to enter sets the limit and restores it when it leaves its outermost
    block (threadpoolctl lets only the thread that set a limit change it back). Threads
    that enter meanwhile run under that limit; one that is still inside when the owner
    leaves runs its remaining BLAS calls with the restored thread count (slower, not
    wrong). BLAS is never left limited after every caller has left.
    """
    global _owner, _owner_depth, _limiter, _threads_before_limit
    this_thread = threading.current_thread()
    with _lock:
        if _limiter is None:
            controller = _blas_controller()
            _threads_before_limit = _current_threads(controller)
            _limiter = controller.limit(limits=1)
            _limiter.__enter__()
            _owner = this_thread
            _owner_depth = 1
        elif _owner is this_thread:
            _owner_depth += 1
    try:
        yield
    finally:
        with _lock:
            if _owner is this_thread:
                _owner_depth -= 1
                if _owner_depth == 0:
                    _limiter.__exit__(None, None, None)
                    _limiter = None
                    _owner = None


def _get_pool(n_workers: int) -> ThreadPoolExecutor:
    # called with _lock held, by a caller that submits its tasks before releasing it, so
    # a pool replaced by a larger one is never shut down between another caller's lookup
    # and its submission; tasks already submitted to the old pool still run
    global _pool, _pool_size
    if _pool is None or _pool_size < n_workers:
        if _pool is not None:
            _pool.shutdown(wait=False)
        _pool = ThreadPoolExecutor(max_workers=n_workers, thread_name_prefix="qbloodcell")
        _pool_size = n_workers
    return _pool


def run_concurrently(calls: list[Callable[[], _T]]) -> list[_T]:
    """Run ``calls`` in threads, BLAS limited to one thread meanwhile; results in order.

    The first call runs in the calling thread, the others in the pool (one hand-off fewer
    per call). The calls must not themselves call ``run_concurrently`` (they would wait for
    workers of the pool they occupy). When a call raises, the others are still waited for
    (they may write into buffers that the caller owns), then the first error is raised.
    """
    with single_threaded_blas():
        if len(calls) == 1:
            return [calls[0]()]
        with _lock:
            pool = _get_pool(len(calls) - 1)
            futures = [pool.submit(call) for call in calls[1:]]
        try:
            first = calls[0]()
        finally:
            concurrent.futures.wait(futures)
        return [first, *(future.result() for future in futures)]
