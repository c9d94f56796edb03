"""Benchmark outputs: the per-run CSV, the summary with intervals, the tables and the plots."""

from __future__ import annotations

import csv
import json
import math
import os
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

#: Columns of ``results.csv``, one row per (method, n_samples_per_class, seed).
COLUMNS: tuple[str, ...] = (
    "method",
    "n_samples_per_class",
    "seed",
    "n_train",
    "n_test",
    "accuracy",
    "balanced_accuracy",
    "roc_auc",
    "train_seconds",
    "test_seconds",
    "feature_seconds",
    "status",
    "note",
    "random_state",
    "target",
    "data_id",
    "settings",
    "protocol",
)
_INT_COLUMNS = ("n_samples_per_class", "seed", "n_train", "n_test", "random_state")
_FLOAT_COLUMNS = (
    "accuracy",
    "balanced_accuracy",
    "roc_auc",
    "train_seconds",
    "test_seconds",
    "feature_seconds",
)
#: Metrics summarised over seeds.
METRICS: tuple[str, ...] = (
    "accuracy",
    "balanced_accuracy",
    "roc_auc",
    "train_seconds",
    "test_seconds",
)


# ---------------------------------------------------------------------------------------
# results.csv


class ResultsWriter:
    """Append rows to ``results.csv``, each flushed to disk as soon as it is written."""

    def __init__(self, path: Path) -> None:
        self.path = path
        new = not path.exists() or path.stat().st_size == 0
        self._file = path.open("a", newline="", encoding="utf-8")
        self._writer = csv.DictWriter(self._file, fieldnames=COLUMNS)
        if new:
            self._writer.writeheader()
            self._sync()

    def write(self, row: dict[str, Any]) -> None:
        self._writer.writerow({column: _to_cell(row.get(column)) for column in COLUMNS})
        self._sync()

    def _sync(self) -> None:
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self) -> None:
        self._file.close()


def _to_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, float):
        # repr round-trips exactly, so a resumed run reads back the same numbers
        return repr(value)
    return value


def write_rows(path: Path, rows: Iterable[dict[str, Any]]) -> None:
    """Replace ``path`` by a CSV of ``rows`` atomically (a crash leaves the old file)."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".results-", suffix=".csv")
    try:
        with os.fdopen(handle, "w", newline="", encoding="utf-8") as file:
            writer = csv.DictWriter(file, fieldnames=COLUMNS)
            writer.writeheader()
            for row in rows:
                writer.writerow({column: _to_cell(row.get(column)) for column in COLUMNS})
        # mkstemp creates the file readable by its owner only; give it the usual mode
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def read_rows(path: Path) -> tuple[list[dict[str, Any]], int]:
    """Read ``results.csv``; returns the complete rows and the number of unreadable ones.

    A row cut short (the process was killed while writing it) is counted, not returned.
    """
    with path.open(newline="", encoding="utf-8") as file:
        reader = csv.DictReader(file)
        if reader.fieldnames is None:
            return [], 0
        missing = [column for column in COLUMNS if column not in reader.fieldnames]
        if missing:
            raise ValueError(
                f"{path} is not a results file written by qbloodcell.benchmark: it lacks the "
                f"columns {missing}. Choose another output folder."
            )
        rows: list[dict[str, Any]] = []
        n_bad = 0
        for raw in reader:
            try:
                rows.append(_parse_row(raw))
            except (TypeError, ValueError):
                n_bad += 1
    return rows, n_bad


def _parse_row(raw: dict[str, Any]) -> dict[str, Any]:
    if None in raw or any(raw.get(column) is None for column in COLUMNS):
        raise ValueError("incomplete row")
    row: dict[str, Any] = {column: raw[column] for column in COLUMNS}
    for column in _INT_COLUMNS:
        row[column] = int(row[column])
    for column in _FLOAT_COLUMNS:
        row[column] = float(row[column]) if row[column] != "" else math.nan
    if row["status"] not in ("ok", "failed"):
        raise ValueError(f"unknown status {row['status']!r}")
    return row


# ---------------------------------------------------------------------------------------
# summary


def interval(values: Sequence[float]) -> tuple[float, float | None]:
    """Mean and half-width of the two-sided 95 % Student-t interval over seeds.

    NaN values (a metric a run could not compute) are left out. The half-width is None
    with fewer than two values.
    """
    finite = np.asarray([value for value in values if not math.isnan(value)], dtype=float)
    if finite.size == 0:
        return math.nan, None
    mean = float(finite.mean())
    if finite.size < 2:
        return mean, None
    half = stats.t.ppf(0.975, finite.size - 1) * finite.std(ddof=1) / math.sqrt(finite.size)
    return mean, float(half)


def summarize(
    runs: Sequence[dict[str, Any]], methods: Sequence[str], sizes: Sequence[int]
) -> list[dict[str, Any]]:
    """One entry per (method, size) with mean and 95 % interval of every metric."""
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
                mean, half = interval([r[metric] for r in done])
                entry[metric] = {"mean": mean, "ci95": half}
            summary.append(entry)
    return summary


# ---------------------------------------------------------------------------------------
# Markdown


def _format_seconds(value: float) -> str:
    """Two significant digits without exponent (0.00043, 0.081, 1.2, 12), whole above 100."""
    if math.isnan(value):
        return "n/a"
    if value == 0 or value >= 100:
        return f"{value:.0f}"
    digits = max(0, 1 - math.floor(math.log10(abs(value))))
    return f"{value:.{digits}f}"


def _cell(stat: dict[str, Any], *, percent: bool) -> str:
    mean, half = stat["mean"], stat["ci95"]
    if math.isnan(mean):
        return "n/a"
    if percent:
        text = f"{100 * mean:.1f} %"
        spread = "n/a" if half is None else f"{100 * half:.1f}"
    else:
        text = f"{_format_seconds(mean)} s"
        spread = "n/a" if half is None else _format_seconds(half)
    return f"{text} ± {spread}"


def markdown_table(
    summary: Sequence[dict[str, Any]],
    *,
    labels: dict[str, str],
    unavailable: dict[str, str],
    sizes: Sequence[int],
    n_seeds: int,
    data: str,
) -> str:
    """The study's Table II (at the largest size) and accuracy per size, as Markdown."""
    largest = max(sizes)
    lines = [
        f"Accuracy and runtime at {largest} samples per class ({data}): mean ± half-width "
        f"of the 95 % t-interval over {n_seeds} seed{'s' if n_seeds != 1 else ''} "
        "(n/a: a single run). Training and test times are wall-clock seconds for the whole "
        "training and test split, feature extraction included.",
        "",
        "| Method | Accuracy | Training | Test |",
        "|---|---|---|---|",
    ]
    for method, label in labels.items():
        if method in unavailable:
            lines.append(f"| {label} | unavailable: {_one_line(unavailable[method])} | - | - |")
            continue
        entry = next(
            e for e in summary if e["method"] == method and e["n_samples_per_class"] == largest
        )
        if entry["n_runs"] == 0:
            lines.append(f"| {label} | no finished run | - | - |")
            continue
        lines.append(
            f"| {label} | {_cell(entry['accuracy'], percent=True)} | "
            f"{_cell(entry['train_seconds'], percent=False)} | "
            f"{_cell(entry['test_seconds'], percent=False)} |"
        )
    lines += [
        "",
        "Accuracy by samples per class (mean ± 95 % interval half-width):",
        "",
        "| Method | " + " | ".join(str(size) for size in sizes) + " |",
        "|---|" + "---|" * len(sizes),
    ]
    for method, label in labels.items():
        if method in unavailable:
            continue
        cells = []
        for size in sizes:
            entry = next(
                e for e in summary if e["method"] == method and e["n_samples_per_class"] == size
            )
            cells.append(_cell(entry["accuracy"], percent=True) if entry["n_runs"] else "-")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _one_line(text: str, limit: int = 160) -> str:
    text = " ".join(text.split()).replace("|", "/")
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ---------------------------------------------------------------------------------------
# plots


def _series(
    summary: Sequence[dict[str, Any]], method: str, metric: str
) -> tuple[list[int], list[float], list[float]]:
    sizes, means, halves = [], [], []
    for entry in summary:
        if entry["method"] != method or entry["n_runs"] == 0:
            continue
        stat = entry[metric]
        if math.isnan(stat["mean"]):
            continue
        sizes.append(entry["n_samples_per_class"])
        means.append(stat["mean"])
        halves.append(0.0 if stat["ci95"] is None else stat["ci95"])
    return sizes, means, halves


def plot_accuracy(summary: Sequence[dict[str, Any]], labels: dict[str, str], path: Path) -> None:
    """Accuracy against samples per class, one line per method, 95 % interval bars."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6.4, 4.4), layout="constrained")
    axes = figure.subplots()
    for method, label in labels.items():
        sizes, means, halves = _series(summary, method, "accuracy")
        if sizes:
            # an accuracy cannot leave [0, 100] %: the t-interval bars are cut there
            percent = [100 * m for m in means]
            below = [min(100 * h, p) for p, h in zip(percent, halves, strict=True)]
            above = [min(100 * h, 100 - p) for p, h in zip(percent, halves, strict=True)]
            axes.errorbar(
                sizes,
                percent,
                yerr=[below, above],
                marker="o",
                capsize=4,
                label=label,
            )
    axes.set_xlabel("training samples per class (before the 80/20 split)")
    axes.set_ylabel("test accuracy (%)")
    axes.set_title("Accuracy vs samples per class (mean, 95 % interval within [0, 100])")
    axes.grid(alpha=0.3)
    if axes.get_legend_handles_labels()[0]:
        axes.legend()
    figure.savefig(path, dpi=120)


def plot_train_time(summary: Sequence[dict[str, Any]], labels: dict[str, str], path: Path) -> None:
    """Training seconds against samples per class, log scale, 95 % interval bars."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6.4, 4.4), layout="constrained")
    axes = figure.subplots()
    plotted = False
    for method, label in labels.items():
        sizes, means, halves = _series(summary, method, "train_seconds")
        if sizes:
            # keep the lower bar end positive on the log axis
            lower = [min(h, 0.9 * m) for m, h in zip(means, halves, strict=True)]
            axes.errorbar(sizes, means, yerr=[lower, halves], marker="o", capsize=4, label=label)
            plotted = True
    if plotted:
        axes.set_yscale("log")
        axes.legend()
    axes.set_xlabel("samples per class")
    axes.set_ylabel("training time (s, log scale)")
    axes.set_title("Training time per method (mean, 95 % interval)")
    axes.grid(alpha=0.3, which="both")
    figure.savefig(path, dpi=120)


# ---------------------------------------------------------------------------------------
# the result object


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(item) for item in value]
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return _json_safe(float(value))
    return value


@dataclass
class BenchmarkResult:
    """Everything a benchmark run measured.

    Attributes
    ----------
    runs : list of dict
        One entry per (method, n_samples_per_class, seed), with the columns of
        ``results.csv``: metrics, seconds, ``status`` ("ok" or "failed") and ``note``
        (the error of a failed run, warnings raised during the fit, or why ROC AUC is
        missing).
    summary : list of dict
        One entry per (method, n_samples_per_class): ``n_runs``, ``n_failed`` and, for
        each metric, ``{"mean": ..., "ci95": half-width or None}``.
    unavailable : dict
        Methods that could not run, mapped to the reason (for example the ImportError).
    labels : dict
        Method name to the label used in tables and plots, in the order of the run.
    config : dict
        The settings of the run (sizes, seeds, data, random_state, ...).
    out : pathlib.Path or None
        The folder the files were written to.
    """

    runs: list[dict[str, Any]]
    summary: list[dict[str, Any]]
    unavailable: dict[str, str]
    labels: dict[str, str]
    config: dict[str, Any]
    out: Path | None = None
    files: dict[str, Path] = field(default_factory=dict)

    def to_markdown(self) -> str:
        """The Table II-shaped Markdown table (also written to ``table.md``)."""
        return markdown_table(
            self.summary,
            labels=self.labels,
            unavailable=self.unavailable,
            sizes=self.config["sizes"],
            n_seeds=self.config["n_seeds"],
            data=self.config["data"],
        )

    def to_frame(self) -> Any:
        """The runs as a pandas DataFrame (one row per method, size and seed)."""
        pandas = _import_pandas()
        return pandas.DataFrame(self.runs, columns=list(COLUMNS))

    def summary_frame(self) -> Any:
        """The summary as a pandas DataFrame (one row per method and size)."""
        pandas = _import_pandas()
        records = []
        for entry in self.summary:
            record = {key: entry[key] for key in ("method", "n_samples_per_class", "n_runs")}
            record["n_failed"] = entry["n_failed"]
            for metric in METRICS:
                record[f"{metric}_mean"] = entry[metric]["mean"]
                half = entry[metric]["ci95"]
                record[f"{metric}_ci95"] = math.nan if half is None else half
            records.append(record)
        return pandas.DataFrame.from_records(records)

    def to_json(self) -> dict[str, Any]:
        """The content of ``summary.json``: config, unavailable methods and the summary."""
        return _json_safe(
            {
                "config": self.config,
                "methods": self.labels,
                "unavailable": self.unavailable,
                "summary": self.summary,
            }
        )

    def __repr__(self) -> str:
        n_ok = sum(r["status"] == "ok" for r in self.runs)
        return (
            f"BenchmarkResult({n_ok} finished runs, {len(self.runs) - n_ok} failed, "
            f"methods={list(self.labels)}, unavailable={sorted(self.unavailable)}, "
            f"out={str(self.out) if self.out else None!r})"
        )


def _import_pandas() -> Any:
    try:
        import pandas
    except ImportError as exc:  # pragma: no cover - pandas is in the test environment
        raise ImportError(
            "BenchmarkResult.to_frame needs pandas: pip install 'qbloodcell[pandas]'"
        ) from exc
    return pandas


def write_outputs(result: BenchmarkResult, out: Path) -> dict[str, Path]:
    """Write summary.json, table.md and the two plots; return their paths."""
    files = {
        "results": out / "results.csv",
        "summary": out / "summary.json",
        "table": out / "table.md",
        "accuracy_plot": out / "accuracy_vs_samples.png",
        "train_time_plot": out / "train_time.png",
    }
    files["summary"].write_text(
        json.dumps(result.to_json(), indent=2, allow_nan=False) + "\n", encoding="utf-8"
    )
    files["table"].write_text(result.to_markdown(), encoding="utf-8")
    available = {m: label for m, label in result.labels.items() if m not in result.unavailable}
    plot_accuracy(result.summary, available, files["accuracy_plot"])
    plot_train_time(result.summary, available, files["train_time_plot"])
    return files
