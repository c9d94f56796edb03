"""Benchmark outputs on disk: results.csv, summary.json, table.md and the result object."""

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

from qbloodcell.benchmark._plots import plot_accuracy, plot_train_time
from qbloodcell.benchmark._stats import METRICS

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
    "cpu_seconds",
    "warm_up_seconds",
    "n_threads",
    "status",
    "note",
    "random_state",
    "target",
    "data_id",
    "settings",
    "protocol",
)
_INT_COLUMNS = ("n_samples_per_class", "seed", "n_train", "n_test", "n_threads", "random_state")
_FLOAT_COLUMNS = (
    "accuracy",
    "balanced_accuracy",
    "roc_auc",
    "train_seconds",
    "test_seconds",
    "feature_seconds",
    "cpu_seconds",
    "warm_up_seconds",
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
    """``mean ± half-width``; the interval's ends where it is cut at 0 or 100 %."""
    mean, half = stat["mean"], stat["ci95"]
    if math.isnan(mean):
        return "n/a"
    if percent:
        text = f"{100 * mean:.1f} %"
        if half is None:
            n = stat.get("n", 0)
            return f"{text} ± n/a ({n} seed{'s' if n != 1 else ''})"
        low, high = stat.get("low"), stat.get("high")
        if low is not None and high is not None and (low > mean - half or high < mean + half):
            return f"{text} [{100 * low:.1f}, {100 * high:.1f}]"
        return f"{text} ± {100 * half:.1f}"
    text = f"{_format_seconds(mean)} s"
    return f"{text} ± {'n/a' if half is None else _format_seconds(half)}"


def _difference(entry: dict[str, Any]) -> str:
    """``-1.0 points [-2.3, 0.4], p = 0.31 (10 seeds)``."""
    if math.isnan(entry["mean"]):
        return "n/a (no paired runs)"
    text = f"{100 * entry['mean']:+.1f} points"
    if entry["low"] is not None:
        text += f" [{100 * entry['low']:+.1f}, {100 * entry['high']:+.1f}]"
    else:
        text += " [n/a]"
    if entry["p_value"] is not None:
        text += f", p = {entry['p_value']:.2g}"
    return text + f" ({entry['n']} seed{'s' if entry['n'] != 1 else ''})"


def markdown_table(
    summary: Sequence[dict[str, Any]],
    *,
    labels: dict[str, str],
    unavailable: dict[str, str],
    sizes: Sequence[int],
    n_seeds: int,
    data: str,
    differences: Sequence[dict[str, Any]] = (),
) -> str:
    """The study's Table II (at the largest size), accuracy per size and paired differences."""
    largest = max(sizes)
    lines = [
        f"Scores and runtime at {largest} samples per class ({data}): mean ± half-width "
        f"of the 95 % t-interval over {n_seeds} seed{'s' if n_seeds != 1 else ''} "
        "([low, high]: the interval cut at 0 or 100 %; n/a: fewer than 3 seeds). Training "
        "and test times are wall-clock seconds for the whole training and test split, "
        "feature extraction included, one-off warm-up (compilation) excluded.",
        "",
        "| Method | Accuracy | Balanced accuracy | ROC AUC | Training | Test |",
        "|---|---|---|---|---|---|",
    ]
    for method, label in labels.items():
        if method in unavailable:
            lines.append(
                f"| {label} | unavailable: {_one_line(unavailable[method])} | - | - | - | - |"
            )
            continue
        entry = next(
            e for e in summary if e["method"] == method and e["n_samples_per_class"] == largest
        )
        if entry["n_runs"] == 0:
            lines.append(f"| {label} | no finished run | - | - | - | - |")
            continue
        lines.append(
            f"| {label} | {_cell(entry['accuracy'], percent=True)} | "
            f"{_cell(entry['balanced_accuracy'], percent=True)} | "
            f"{_cell(entry['roc_auc'], percent=True)} | "
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
    shown = [
        d
        for d in differences
        if d["n_samples_per_class"] == largest
        and d["a"] not in unavailable
        and d["b"] not in unavailable
    ]
    if shown:
        lines += [
            "",
            f"Paired accuracy differences at {largest} samples per class (every method "
            "sees the same splits): mean of A - B over the seeds, 95 % t-interval, "
            "Wilcoxon signed-rank p-value:",
            "",
            "| A - B | Difference |",
            "|---|---|",
        ]
        for d in shown:
            lines.append(f"| {d['a']} - {d['b']} | {_difference(d)} |")
    return "\n".join(lines) + "\n"


def _one_line(text: str, limit: int = 160) -> str:
    text = " ".join(text.split()).replace("|", "/")
    return text if len(text) <= limit else text[: limit - 1] + "…"


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
        each metric, ``{"mean", "ci95" (half-width, None under 3 seeds), "low", "high"
        (the interval's ends, cut to [0, 1] for scores), "n"}``.
    unavailable : dict
        Methods that could not run, mapped to the reason (for example the ImportError).
    labels : dict
        Method name to the label used in tables and plots, in the order of the run.
    config : dict
        The settings of the run (sizes, seeds, data, random_state, ...).
    out : pathlib.Path or None
        The folder the files were written to.
    files : dict
        The files written, by kind (``"results"``, ``"summary"``, ``"table"``, ...).
    differences : list of dict
        Paired accuracy differences, one per pair of methods and size: ``a``, ``b``,
        ``n_samples_per_class``, ``n`` (seeds with both runs finished), ``mean``, ``low``,
        ``high`` (95 % t-interval, None under 3 seeds) and ``p_value`` (Wilcoxon
        signed-rank, None under 2 seeds).
    """

    runs: list[dict[str, Any]]
    summary: list[dict[str, Any]]
    unavailable: dict[str, str]
    labels: dict[str, str]
    config: dict[str, Any]
    out: Path | None = None
    files: dict[str, Path] = field(default_factory=dict)
    differences: list[dict[str, Any]] = field(default_factory=list)

    def to_markdown(self) -> str:
        """The Table II-shaped Markdown table (also written to ``table.md``)."""
        return markdown_table(
            self.summary,
            labels=self.labels,
            unavailable=self.unavailable,
            sizes=self.config["sizes"],
            n_seeds=self.config["n_seeds"],
            data=self.config["data"],
            differences=self.differences,
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
                "paired_differences": self.differences,
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
    n_classes = result.config.get("n_classes", 2)
    plot_accuracy(result.summary, available, files["accuracy_plot"], chance=1 / n_classes)
    plot_train_time(result.summary, available, files["train_time_plot"])
    return files
