"""Statistics over seeds: intervals per method and paired differences between methods.

Every method sees the same subsets and splits, so two methods are compared on the
differences of their scores seed by seed (paired), with a t-interval of the mean difference
and a Wilcoxon signed-rank p-value (:func:`scipy.stats.wilcoxon`).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from itertools import combinations
from typing import Any

import numpy as np
from scipy import stats

#: Metrics summarised over seeds.
METRICS: tuple[str, ...] = (
    "accuracy",
    "balanced_accuracy",
    "roc_auc",
    "train_seconds",
    "test_seconds",
)
#: Metrics bounded by [0, 1]: their printed intervals are cut at the bounds.
BOUNDED = ("accuracy", "balanced_accuracy", "roc_auc")
#: Fewest values for which a t-interval is given (with two, t(0.975, 1) = 12.7 makes the
#: interval wider than any score range).
MIN_VALUES_FOR_INTERVAL = 3


def interval(values: Sequence[float]) -> tuple[float, float | None]:
    """Mean and half-width of the two-sided 95 % Student-t interval over seeds.

    NaN values (a metric a run could not compute) are left out. The half-width is None
    with fewer than :data:`MIN_VALUES_FOR_INTERVAL` values.
    """
    finite = np.asarray([value for value in values if not math.isnan(value)], dtype=float)
    if finite.size == 0:
        return math.nan, None
    mean = float(finite.mean())
    if finite.size < MIN_VALUES_FOR_INTERVAL:
        return mean, None
    half = stats.t.ppf(0.975, finite.size - 1) * finite.std(ddof=1) / math.sqrt(finite.size)
    return mean, float(half)


def _stat(values: Sequence[float], bounded: bool) -> dict[str, Any]:
    mean, half = interval(values)
    n = sum(not math.isnan(v) for v in values)
    low = high = None
    if half is not None:
        low, high = mean - half, mean + half
        if bounded:
            low, high = max(low, 0.0), min(high, 1.0)
    return {"mean": mean, "ci95": half, "low": low, "high": high, "n": n}


def summarize(
    runs: Sequence[dict[str, Any]], methods: Sequence[str], sizes: Sequence[int]
) -> list[dict[str, Any]]:
    """One entry per (method, size) with mean and 95 % interval of every metric.

    Each metric is ``{"mean", "ci95" (half-width or None), "low", "high", "n"}``;
    ``low`` and ``high`` are the interval's ends, cut to [0, 1] for the scores.
    """
    summary = []
    for method in methods:
        for size in sizes:
            cell = [r for r in runs if r["method"] == method and r["n_samples_per_class"] == size]
            done = [r for r in cell if r["status"] == "ok"]
            entry: dict[str, Any] = {
                "method": method,
                "n_samples_per_class": size,
                "n_runs": len(done),
                "n_failed": len(cell) - len(done),
            }
            for metric in METRICS:
                entry[metric] = _stat([r[metric] for r in done], metric in BOUNDED)
            summary.append(entry)
    return summary


def paired_difference(a: Sequence[float], b: Sequence[float]) -> dict[str, Any]:
    """Mean of ``a - b`` over paired values, its 95 % t-interval and Wilcoxon's p-value.

    Pairs where either value is NaN are left out. ``p_value`` is None with fewer than two
    pairs, and 1.0 when every difference is zero.
    """
    diffs = np.asarray(
        [x - y for x, y in zip(a, b, strict=True) if not (math.isnan(x) or math.isnan(y))],
        dtype=float,
    )
    out: dict[str, Any] = {"n": int(diffs.size), "mean": math.nan, "low": None, "high": None}
    out["p_value"] = None
    if diffs.size == 0:
        return out
    mean, half = interval(diffs.tolist())
    out["mean"] = mean
    if half is not None:
        out["low"], out["high"] = mean - half, mean + half
    if diffs.size >= 2:
        if np.all(diffs == 0):
            out["p_value"] = 1.0
        else:
            with warnings.catch_warnings():
                # small samples: scipy warns that the normal approximation is rough
                warnings.simplefilter("ignore")
                out["p_value"] = float(stats.wilcoxon(diffs, zero_method="wilcox").pvalue)
    return out


def paired_differences(
    runs: Sequence[dict[str, Any]],
    methods: Sequence[str],
    sizes: Sequence[int],
    metric: str = "accuracy",
) -> list[dict[str, Any]]:
    """Every pair of methods at every size: the paired difference of ``metric`` (a - b).

    Only seeds where both runs finished enter a pair.
    """
    by_key = {
        (r["method"], r["n_samples_per_class"], r["seed"]): r[metric]
        for r in runs
        if r["status"] == "ok"
    }
    out = []
    for size in sizes:
        for first, second in combinations(methods, 2):
            seeds = sorted(
                seed
                for (method, s, seed) in by_key
                if method == first and s == size and (second, size, seed) in by_key
            )
            entry = paired_difference(
                [by_key[first, size, seed] for seed in seeds],
                [by_key[second, size, seed] for seed in seeds],
            )
            out.append(
                {"a": first, "b": second, "n_samples_per_class": size, "metric": metric, **entry}
            )
    return out
