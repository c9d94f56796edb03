"""Relax independent groups of samples on the cores that BLAS is allowed to use.

The relaxation of one sample does not depend on the other samples of its batch (each
sample stops on its own convergence test), so a large batch can be cut into groups of
rows relaxed at the same time in threads (the kernel releases the GIL). Each thread then
calls BLAS with one thread: OpenBLAS threads a ``(100, 128) @ (128, 256)`` product
poorly, while two single-threaded products on two cores run almost twice as fast.

The number of threads follows the BLAS thread limit of the process, so that
``threadpoolctl.threadpool_limits(1)`` (and joblib's workers, which set it) keep
everything on one core, as they do for NumPy code.

While the groups run, BLAS is limited to one thread for the whole process, as
scikit-learn's ``KMeans`` does during its iterations: BLAS calls made by other threads in
that window run on one thread, and a ``threadpool_limits`` block that another thread
enters during the window and leaves after it restores the one-thread setting it saw.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

_T = TypeVar("_T")

_lock = threading.Lock()
# held while BLAS is limited: the limit is process-wide, and two overlapping limits would
# restore each other's settings in the wrong order
_run_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None
_pool_size = 0
_controller: Any = None


def _forget_pool_in_child() -> None:
    # a forked child inherits the pool object but not its threads: work submitted to it
    # would wait forever, so the child starts its own pool (and locks) when needed
    global _pool, _pool_size, _lock, _run_lock
    _pool = None
    _pool_size = 0
    _lock = threading.Lock()
    _run_lock = threading.Lock()


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


def blas_threads() -> int:
    """Number of threads BLAS may use now (1 when no BLAS library is found)."""
    with _lock:
        controller = _blas_controller()
    counts = [int(lib.num_threads) for lib in controller.lib_controllers]
    return max(1, min(counts)) if counts else 1


def run_concurrently(calls: list[Callable[[], _T]]) -> list[_T]:
    """Run ``calls`` in threads, BLAS limited to one thread meanwhile; results in order."""
    global _pool, _pool_size
    if len(calls) == 1:
        return [calls[0]()]
    with _lock:
        controller = _blas_controller()
    with _run_lock:
        if _pool is None or _pool_size < len(calls):
            if _pool is not None:
                _pool.shutdown(wait=True)
            _pool = ThreadPoolExecutor(max_workers=len(calls), thread_name_prefix="qbloodcell-ep")
            _pool_size = len(calls)
        with controller.limit(limits=1):
            futures = [_pool.submit(call) for call in calls]
            return [future.result() for future in futures]
