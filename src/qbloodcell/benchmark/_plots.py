"""The benchmark's figures: accuracy and training time against samples per class."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from itertools import pairwise
from pathlib import Path
from typing import Any

#: One fixed colour per built-in method, whatever the selection (tab10 colours).
METHOD_COLOURS: dict[str, str] = {
    "cnn": "#1f77b4",
    "dense": "#ff7f0e",
    "ep": "#2ca02c",
    "vqc": "#d62728",
    "vqc-study": "#9467bd",
    "qsvc": "#8c564b",
    "reupload": "#e377c2",
}
_OTHER_COLOURS = ("#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#637939", "#8c6d31")


def method_colour(method: str) -> str:
    """The colour of a method: fixed for the built-in ones, from its name for the others."""
    if method in METHOD_COLOURS:
        return METHOD_COLOURS[method]
    index = int(hashlib.sha256(method.encode()).hexdigest(), 16) % len(_OTHER_COLOURS)
    return _OTHER_COLOURS[index]


def _series(
    summary: Sequence[dict[str, Any]], method: str, metric: str
) -> tuple[list[int], list[float], list[float], list[float]]:
    """Sizes, means and the interval's lower and upper ends (the mean if none)."""
    sizes, means, lows, highs = [], [], [], []
    for entry in summary:
        if entry["method"] != method or entry["n_runs"] == 0:
            continue
        stat = entry[metric]
        if math.isnan(stat["mean"]):
            continue
        sizes.append(entry["n_samples_per_class"])
        means.append(stat["mean"])
        lows.append(stat["mean"] if stat["low"] is None else stat["low"])
        highs.append(stat["mean"] if stat["high"] is None else stat["high"])
    return sizes, means, lows, highs


def _offsets(n_methods: int, sizes: Sequence[int]) -> list[float]:
    """Horizontal shifts, one per method, so that error bars at one size do not overlap."""
    distinct = sorted(set(sizes))
    gap = min((b - a for a, b in pairwise(distinct)), default=10)
    step = 0.6 * gap / max(n_methods, 1)
    return [(i - (n_methods - 1) / 2) * step for i in range(n_methods)]


def _axes_with_legend_room() -> tuple[Any, Any]:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8.4, 4.4), layout="constrained")
    return figure, figure.subplots()


def _finish(figure: Any, axes: Any, sizes: Sequence[int], path: Path | None) -> Any:
    if sizes:
        axes.set_xticks(sorted(set(sizes)))
        axes.set_xticklabels([str(size) for size in sorted(set(sizes))])
    if axes.get_legend_handles_labels()[0]:
        # outside the data, on the right
        axes.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0)
    if path is not None:
        figure.savefig(path, dpi=120)
    return figure


def plot_accuracy(
    summary: Sequence[dict[str, Any]],
    labels: dict[str, str],
    path: Path | None,
    *,
    chance: float | None = 0.5,
) -> Any:
    """Accuracy against samples per class, one line per method, 95 % interval bars.

    A dashed line marks chance level (``chance``, None: none); the points of the methods
    are shifted sideways so that their bars do not overlap; the bars are the t-interval cut
    to [0, 100] %. Saved to ``path`` (None: not saved); returns the figure.
    """
    figure, axes = _axes_with_legend_room()
    all_sizes = [e["n_samples_per_class"] for e in summary]
    shifts = _offsets(len(labels), all_sizes)
    for shift, (method, label) in zip(shifts, labels.items(), strict=True):
        sizes, means, lows, highs = _series(summary, method, "accuracy")
        if sizes:
            percent = [100 * m for m in means]
            below = [100 * (m - lo) for m, lo in zip(means, lows, strict=True)]
            above = [100 * (hi - m) for m, hi in zip(means, highs, strict=True)]
            axes.errorbar(
                [size + shift for size in sizes],
                percent,
                yerr=[below, above],
                marker="o",
                capsize=4,
                label=label,
                color=method_colour(method),
            )
    if chance is not None:
        axes.axhline(100 * chance, color="0.4", linestyle="--", linewidth=1, label="chance")
    axes.set_xlabel("samples per class (before the 80/20 split)")
    axes.set_ylabel("test accuracy (%)")
    axes.set_title(
        "Accuracy vs samples per class\n(mean over seeds, 95 % interval cut to [0, 100] %)"
    )
    axes.grid(alpha=0.3)
    return _finish(figure, axes, all_sizes, path)


def plot_train_time(
    summary: Sequence[dict[str, Any]], labels: dict[str, str], path: Path | None
) -> Any:
    """Training seconds against samples per class, log scale, 95 % interval bars."""
    figure, axes = _axes_with_legend_room()
    all_sizes = [e["n_samples_per_class"] for e in summary]
    shifts = _offsets(len(labels), all_sizes)
    plotted = False
    for shift, (method, label) in zip(shifts, labels.items(), strict=True):
        sizes, means, lows, highs = _series(summary, method, "train_seconds")
        if sizes:
            # keep the lower bar end positive on the log axis
            below = [min(m - lo, 0.9 * m) for m, lo in zip(means, lows, strict=True)]
            above = [hi - m for m, hi in zip(means, highs, strict=True)]
            axes.errorbar(
                [size + shift for size in sizes],
                means,
                yerr=[below, above],
                marker="o",
                capsize=4,
                label=label,
                color=method_colour(method),
            )
            plotted = True
    if plotted:
        axes.set_yscale("log")
    axes.set_xlabel("samples per class")
    axes.set_ylabel("training time (s, log scale)")
    axes.set_title("Training time per method\n(mean over seeds, 95 % interval)")
    axes.grid(alpha=0.3, which="both")
    return _finish(figure, axes, all_sizes, path)
