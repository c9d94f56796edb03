"""The feature cache of a benchmark run: each image's features computed once per setting.

The pipelines that start with :class:`~qbloodcell.features.BloodCellFeatures` share the
features of their images: they are computed once, before the first fit, and each task then
runs the rest of its pipeline on them (:func:`cache_features`).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import numpy as np
from joblib import parallel_config
from sklearn.base import clone
from sklearn.utils import _safe_indexing

if TYPE_CHECKING:
    from qbloodcell.benchmark._plan import Task


def _feature_step(estimator: Any) -> tuple[Any, Any] | None:
    """``(BloodCellFeatures step, rest of the pipeline)`` when the pipeline starts with one."""
    from sklearn.pipeline import Pipeline

    if not isinstance(estimator, Pipeline) or len(estimator.steps) < 2:
        return None
    try:
        from qbloodcell.features import BloodCellFeatures
    except ImportError:
        return None
    first = estimator.steps[0][1]
    if type(first) is not BloodCellFeatures:
        return None
    return first, Pipeline(estimator.steps[1:], memory=estimator.memory)


def cache_features(tasks: list[Task], images: Any, payload: dict[str, Any]) -> float:
    """Compute the features of every image a feature pipeline needs, once per setting.

    The transformer is stateless, so features computed once equal the ones each pipeline
    would compute; the measured seconds per image are charged to every fit and predict.
    Returns the seconds of the one-off warm-up (numba compilation), charged to no fit.
    """
    groups: dict[str, tuple[Any, list[tuple[Task, Any]]]] = {}
    for task in tasks:
        parts = _feature_step(task.estimator)
        if parts is None:
            continue
        transformer, rest = parts
        params = {k: v for k, v in transformer.get_params().items() if k != "n_jobs"}
        key = "features:" + repr(sorted(params.items()))
        groups.setdefault(key, (transformer, []))[1].append((task, rest))
    warm_up = 0.0
    for key, (transformer, group) in groups.items():
        needed = np.unique(np.concatenate([np.concatenate([t.train, t.test]) for t, _ in group]))
        try:
            subset = _safe_indexing(images, needed)
            transformer = clone(transformer)
            # no fit runs yet: the features of all the runs are computed on all the cores
            with parallel_config(n_jobs=-1):
                # compile and warm caches outside the timing, as in any fit after the first
                start = time.perf_counter()
                transformer.fit_transform(_safe_indexing(subset, np.arange(min(2, needed.size))))
                warm_up += time.perf_counter() - start
                start = time.perf_counter()
                features = transformer.fit(subset).transform(subset)
                per_image = (time.perf_counter() - start) / needed.size
        except Exception:
            # leave these runs to the whole pipeline: each then fails (or not) on its own
            # and the error is recorded in its row, exactly as without the cache
            continue
        # rows stay at the images' own indices, so that each task's train and test
        # indices select its features and its labels alike (unused rows are NaN)
        table = np.full((_n_items(images), features.shape[1]), np.nan)
        table[needed] = features
        payload[key] = table
        for task, rest in group:
            task.estimator = rest
            task.data_key = key
            task.feature_seconds_per_image = per_image
    return warm_up


def _n_items(images: Any) -> int:
    return int(images.shape[0]) if hasattr(images, "shape") else len(images)
