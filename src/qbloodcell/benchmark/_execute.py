"""Running the tasks: one task function, executed serially, on loky or on dask.

:func:`run_task` is the only function that runs a fit, whatever the executor: it sets the
fit's thread budget (joblib's ``n_jobs=None``, BLAS through threadpoolctl, numba), warms a
method up once per process (numba compilation and other one-off costs, timed apart from the
training time) and calls :func:`_fit_and_score`, which fits on the training split and scores
on the test split.
"""

from __future__ import annotations

import math
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, nullcontext
from typing import Any

import numpy as np
from joblib import parallel_config
from sklearn.base import clone
from sklearn.metrics import accuracy_score, balanced_accuracy_score, roc_auc_score
from sklearn.utils import _safe_indexing

from qbloodcell._parallel import effective_n_jobs
from qbloodcell.benchmark._plan import Task
from qbloodcell.benchmark._protocol import StudyProtocol, fit_with_protocol

#: Methods already warmed up in this process (one warm-up per method and worker).
_WARMED_UP: set[str] = set()
#: Samples per class of the warm-up fit.
WARM_UP_PER_CLASS = 4


def _fit_and_score(
    estimator: Any,
    X: Any,
    y: np.ndarray,
    train: np.ndarray,
    test: np.ndarray,
    feature_seconds_per_image: float,
    protocol: StudyProtocol | None = None,
) -> dict[str, Any]:
    """Fit on the training split, score on the test split; never raises for a bad fit.

    The fit follows ``protocol`` (:func:`~qbloodcell.benchmark._protocol.fit_with_protocol`;
    None or ``"paper"``: ``estimator.fit`` on the training split only).
    """
    y_train, y_test = y[train], y[test]
    row: dict[str, Any] = {
        "n_train": int(train.size),
        "n_test": int(test.size),
        "accuracy": math.nan,
        "balanced_accuracy": math.nan,
        "roc_auc": math.nan,
        "train_seconds": math.nan,
        "test_seconds": math.nan,
        "feature_seconds": feature_seconds_per_image * (train.size + test.size),
        "cpu_seconds": math.nan,
        "status": "ok",
        "note": "",
    }
    notes: list[str] = []
    # warning filters are process-wide: record them only where no other thread runs fits
    record = threading.current_thread() is threading.main_thread()
    recorder: Any = warnings.catch_warnings(record=True) if record else nullcontext([])
    with recorder as caught:
        if record:
            warnings.simplefilter("always")
        try:
            X_train, X_test = _safe_indexing(X, train), _safe_indexing(X, test)
            cpu_start = time.process_time()
            start = time.perf_counter()
            # the benchmark's one fit call, whatever the executor
            estimator = fit_with_protocol(
                estimator, X_train, y_train, X_test, y_test, protocol or StudyProtocol()
            )
            fit_seconds = time.perf_counter() - start
            start = time.perf_counter()
            y_pred = estimator.predict(X_test)
            predict_seconds = time.perf_counter() - start
            # CPU seconds of this process (all its threads): on a busy machine the wall
            # time of a fit grows with the waiting for a core, its CPU time much less
            row["cpu_seconds"] = time.process_time() - cpu_start
            row["train_seconds"] = fit_seconds + feature_seconds_per_image * train.size
            row["test_seconds"] = predict_seconds + feature_seconds_per_image * test.size
            row["accuracy"] = float(accuracy_score(y_test, y_pred))
            row["balanced_accuracy"] = float(balanced_accuracy_score(y_test, y_pred))
            row["roc_auc"], auc_note = _roc_auc(estimator, X_test, y_test)
            if auc_note:
                notes.append(auc_note)
        except Exception as exc:
            row["status"] = "failed"
            notes.insert(0, f"{type(exc).__name__}: {exc}")
    if record and caught:
        seen = dict.fromkeys(f"{w.category.__name__}: {w.message}" for w in caught)
        notes.extend(seen)
    row["note"] = " | ".join(" ".join(note.split())[:300] for note in notes)
    return row


def _roc_auc(estimator: Any, X_test: Any, y_test: np.ndarray) -> tuple[float, str]:
    classes = getattr(estimator, "classes_", None)
    if classes is None:
        return math.nan, "ROC AUC not computed: the estimator has no classes_"
    try:
        if len(classes) == 2:
            if hasattr(estimator, "predict_proba"):
                scores = estimator.predict_proba(X_test)[:, 1]
            elif hasattr(estimator, "decision_function"):
                scores = estimator.decision_function(X_test)
            else:
                return math.nan, "ROC AUC not computed: no predict_proba or decision_function"
            return float(roc_auc_score(y_test, scores)), ""
        if not hasattr(estimator, "predict_proba"):
            return math.nan, "ROC AUC not computed: multi-class needs predict_proba"
        proba = estimator.predict_proba(X_test)
        return float(
            roc_auc_score(y_test, proba, multi_class="ovr", average="macro", labels=classes)
        ), ""
    except ValueError as exc:
        return math.nan, f"ROC AUC not computed: {exc}"


@contextmanager
def thread_budget(n_threads: int) -> Iterator[None]:
    """Run the block with ``n_threads`` for joblib's ``n_jobs=None``, BLAS and numba.

    BLAS and numba limits are process-wide: they are set only from the main thread of a
    process (serial runs and loky workers); dask's worker threads keep their process's
    limits (one thread per worker process unless its nanny was told otherwise).
    """
    with ExitStack() as stack:
        stack.enter_context(parallel_config(n_jobs=n_threads))
        if threading.current_thread() is threading.main_thread():
            from threadpoolctl import threadpool_limits

            stack.enter_context(threadpool_limits(limits=n_threads))
            numba = sys.modules.get("numba")
            if numba is not None:
                previous = numba.get_num_threads()
                numba.set_num_threads(min(n_threads, numba.config.NUMBA_NUM_THREADS))
                stack.callback(numba.set_num_threads, previous)
        yield


def _warm_up(method: str, estimator: Any, X: Any, y: np.ndarray, train: np.ndarray) -> float:
    """Fit a copy once on a few training images per class, the first time in a process.

    The copy runs one iteration (every ``*max_iter`` parameter set to 1).
    Compilation (numba), imports (torch) and caches are paid here, once per method and
    worker, instead of in the first timed fit. Returns the seconds spent (0 if warm).
    """
    if method in _WARMED_UP:
        return 0.0
    _WARMED_UP.add(method)
    rng = np.random.default_rng(0)
    few = np.concatenate(
        [
            rng.permutation(train[y[train] == label])[:WARM_UP_PER_CLASS]
            for label in np.unique(y[train])
        ]
    )
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            model = clone(estimator)
            # one iteration compiles and loads what every later fit uses
            short = {
                key: 1
                for key, value in model.get_params(deep=True).items()
                if key.endswith("max_iter") and isinstance(value, int) and value > 1
            }
            model.set_params(**short)
            model.fit(_safe_indexing(X, few), y[few])
            model.predict(_safe_indexing(X, few))
        except Exception:  # the timed fit reports its own errors
            pass
    return time.perf_counter() - start


def run_task(
    method: str,
    estimator: Any,
    X: Any,
    y: np.ndarray,
    train: np.ndarray,
    test: np.ndarray,
    feature_seconds_per_image: float,
    n_threads: int,
    warm_up: bool = False,
    protocol: StudyProtocol | None = None,
) -> dict[str, Any]:
    """The one task function of the serial, loky and dask paths: one fit, scored.

    With ``warm_up``, the first fit of ``method`` in this process is preceded by an untimed
    warm-up fit (its seconds go to ``warm_up_seconds``, not to ``train_seconds``).
    """
    with thread_budget(n_threads):
        warm_seconds = _warm_up(method, estimator, X, y, train) if warm_up else 0.0
        row = _fit_and_score(estimator, X, y, train, test, feature_seconds_per_image, protocol)
    row["n_threads"] = int(n_threads)
    row["warm_up_seconds"] = warm_seconds
    return row


def _indexed(i: int, *args: Any) -> tuple[int, dict[str, Any]]:
    return i, run_task(*args)


def progress_bar(progress: bool, *, total: int, initial: int) -> Any:
    """A tqdm bar counting fits, or None."""
    if not progress:
        return None
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, desc="benchmark", unit="fit", dynamic_ncols=True)


def threads_per_fit(n_workers: int, backend: str) -> int:
    """The thread budget of each fit: the cores shared out between the fits at once.

    On dask each fit runs on one thread: a cluster is scaled by its workers.
    """
    if backend == "dask":
        return 1
    return max(1, effective_n_jobs(-1) // n_workers)


def execute(
    tasks: list[Task],
    payload: dict[str, Any],
    y: np.ndarray,
    *,
    n_jobs: int | None,
    backend: str,
    scheduler_address: str | None,
    bar: Any,
) -> Iterator[tuple[Task, dict[str, Any]]]:
    """Yield ``(task, metrics)`` as fits finish."""
    if not tasks:
        return
    n_workers = effective_n_jobs(n_jobs)
    n_threads = threads_per_fit(n_workers, backend)
    if backend == "dask":
        yield from _execute_dask(
            tasks, payload, y, n_workers=n_workers, n_threads=n_threads, address=scheduler_address
        )
        return
    if n_workers == 1:
        for task in tasks:
            if bar is not None:
                bar.set_description_str(f"{task.method} n={task.size} seed={task.seed}")
            yield task, run_task(*_arguments(task, payload, y, n_threads))
        return
    from joblib import Parallel, delayed

    if bar is not None:
        bar.set_description_str(f"benchmark ({n_workers} jobs)")
    parallel = Parallel(n_jobs=n_workers, backend="loky", return_as="generator_unordered")
    outputs = parallel(
        delayed(_indexed)(i, *_arguments(task, payload, y, n_threads))
        for i, task in enumerate(tasks)
    )
    for i, metrics in outputs:
        yield tasks[i], metrics


def _arguments(task: Task, payload: dict[str, Any], y: Any, n_threads: int) -> tuple[Any, ...]:
    return (
        task.method,
        task.estimator,
        payload[task.data_key],
        y,
        task.train,
        task.test,
        task.feature_seconds_per_image,
        n_threads,
        task.warm_up,
        task.protocol,
    )


def _execute_dask(
    tasks: list[Task],
    payload: dict[str, Any],
    y: np.ndarray,
    *,
    n_workers: int,
    n_threads: int,
    address: str | None,
) -> Iterator[tuple[Task, dict[str, Any]]]:
    try:
        import distributed
    except ImportError as exc:
        raise ImportError(
            "--backend dask needs dask.distributed, which is not installed: "
            "pip install 'qbloodcell[dask]'"
        ) from exc
    own_client = True
    if address is not None:
        client = distributed.Client(address, set_as_default=False)
    else:
        try:
            client = distributed.get_client()
            own_client = False
        except ValueError:
            # one thread per worker: each fit runs with n_jobs=None meaning one thread
            client = distributed.Client(
                n_workers=n_workers,
                threads_per_worker=1,
                dashboard_address=None,
                set_as_default=False,
            )
    futures: list[Any] = []
    try:
        keys = sorted({task.data_key for task in tasks})
        scattered = {key: client.scatter(payload[key], broadcast=False) for key in keys}
        y_future = client.scatter(y, broadcast=False)
        index = {}
        for i, task in enumerate(tasks):
            arguments = list(_arguments(task, payload, y, n_threads))
            arguments[2], arguments[3] = scattered[task.data_key], y_future
            future = client.submit(run_task, *arguments, pure=False)
            index[future.key] = i
            futures.append(future)
        # the loop of our own client: as_completed would otherwise look for a default one
        for future in distributed.as_completed(futures, loop=client.loop):
            yield tasks[index[future.key]], future.result()
    finally:
        for future in futures:
            future.cancel()
        if own_client:
            client.close()
