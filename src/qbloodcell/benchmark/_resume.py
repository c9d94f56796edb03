"""The output folder: a new run's results.csv, or the finished rows a resumed run keeps."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from qbloodcell.benchmark._report import COLUMNS, read_rows, write_rows


def prepare_out(
    out: Path,
    resume: bool,
    overwrite: bool,
    random_state: int,
    target: str,
    data_id: str,
    settings: dict[str, str],
    protocol: str = "paper",
) -> list[dict[str, Any]]:
    if out.exists() and not out.is_dir():
        raise ValueError(f"out={str(out)!r} is a file; give a folder for the results.")
    out.mkdir(parents=True, exist_ok=True)
    path = out / "results.csv"
    if not path.exists():
        return []
    if _holds_no_run(path):
        # a run that failed before its first fit: nothing to keep, nothing to protect
        path.unlink()
        return []
    if overwrite:
        path.unlink()
        return []
    if not resume:
        raise ValueError(
            f"{path} already exists: pass resume=True (--resume) to continue that run, "
            "overwrite=True (--overwrite) to start afresh, or another output folder."
        )
    rows, n_bad = read_rows(path)
    if n_bad:
        warnings.warn(
            f"{n_bad} incomplete row(s) in {path} (a run interrupted while writing) are "
            "dropped and will be run again.",
            stacklevel=3,
        )
    for name, expected in (
        ("random_state", random_state),
        ("target", target),
        ("data_id", data_id),
        ("protocol", protocol),
    ):
        found = sorted({str(r[name]) for r in rows} - {str(expected)})
        if found and name == "data_id":
            raise ValueError(
                f"Cannot resume {path}: its runs were made on other images (data_id="
                f"{found[0]}, this run has data_id={expected}). The data must be the same: "
                "the same data folder (--data), class_mapping and target, or for synthetic "
                "images the same random_state and largest size (the synthetic pool holds "
                "twice the largest size per class, so the quick preset (--quick), whose "
                "sizes are 50 and 100, draws a different pool than the default run). Use "
                "the same settings, or another output folder."
            )
        if found:
            raise ValueError(
                f"Cannot resume {path}: it was made with {name}={found[0]}, this run has "
                f"{name}={expected}. Use the same settings and data, or another output folder."
            )
    for row in rows:
        method_settings = settings.get(row["method"])
        if method_settings is not None and str(row["settings"]) != method_settings:
            raise ValueError(
                f"Cannot resume {path}: its {row['method']!r} runs were made with other "
                "settings (the --quick preset or the method's estimator differ). Use the "
                "same settings, or another output folder."
            )
    kept = [r for r in rows if r["status"] == "ok"]
    write_rows(path, kept)
    return kept


def _holds_no_run(path: Path) -> bool:
    """Whether ``path`` is empty or only the header of a results file (of any version)."""
    lines = path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    return not lines or (len(lines) == 1 and lines[0].startswith(f"{COLUMNS[0]},"))
