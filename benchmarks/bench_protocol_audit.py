"""The study-protocol audit: how much each undeclared choice of the study's code inflates.

For each data set, the methods ``dense``, ``cnn`` and ``vqc-study`` are run by
:func:`qbloodcell.benchmark.run_benchmark` under the paper's protocol, under each switch
of :data:`qbloodcell.benchmark.PROTOCOL_SWITCHES` alone and under all of them
(``"study-code"``), on the same subsets, splits and model seeds (``random_state=0``, seeds
0 to ``--seeds - 1``). A switch is run only with the methods it acts on (``n/a`` in the
table otherwise: the run would be the paper's). The inflation of a switch is the paired
difference of test accuracy, switch minus paper, over the (size, seed) pairs of a method,
with a 95 % t-interval; a positive value is accuracy the protocol reports but an honest
evaluation would not.

Data sets: ``myo-ngs``, the real Matek MYO vs NGS cells (``../shared/data/matek_myo_ngs``,
the ``blast`` mapping), ``sample15``, the 15-class real sample with the study's
AML/healthy grouping (``../shared/data/aml_cytomorphology_sample``, 10 images per class, so
40 healthy images at most), and ``synthetic`` (:func:`qbloodcell.datasets.make_blood_cells`).
The real ones are skipped, with a message, when ``../shared/data`` is absent.

Settings, chosen so that the audit runs in well under an hour on two heavily shared cores
(state them with the numbers): one size per data set (50 images per class, 40 for
``sample15``: all of its healthy images); the CNN trains for at most 20 epochs
(``max_iter=20``; the paper's protocol early-stops on a validation split,
``select-on-test`` runs all 20 and keeps the best test epoch); the VQC search on test fits
at most ``--vqc-budget`` (10) seed/iteration combinations instead of the study's 174,
stopping at 83 % test accuracy.

Run from the project root::

    OMP_NUM_THREADS=1 python benchmarks/bench_protocol_audit.py --datasets myo-ngs sample15
    OMP_NUM_THREADS=1 python benchmarks/bench_protocol_audit.py --datasets synthetic
    python benchmarks/bench_protocol_audit.py --report   # table and figure from the JSON

Results go to ``docs/_static/protocol_audit/`` (``<dataset>.json``, ``table.md``,
``protocol_audit.png``).
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from qbloodcell.benchmark import PROTOCOL_SWITCHES, StudyProtocol, run_benchmark

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
OUT = ROOT / "docs" / "_static" / "protocol_audit"

DATASETS: dict[str, dict[str, Any]] = {
    "myo-ngs": {
        "label": "real cells, MYO vs NGS",
        "data": DATA / "matek_myo_ngs",
        "class_mapping": None,  # the folders are MYO and NGS: the blast mapping
        "sizes": (50,),
    },
    "sample15": {
        "label": "real cells, 15 classes, study grouping",
        "data": DATA / "aml_cytomorphology_sample",
        "class_mapping": "study",
        "sizes": (40,),
    },
    "synthetic": {
        "label": "synthetic (make_blood_cells)",
        "data": None,
        "class_mapping": None,
        "sizes": (50,),
    },
}

METHODS = ("dense", "cnn", "vqc-study")

#: The methods each switch acts on; the others would repeat the paper's runs.
APPLIES: dict[str, tuple[str, ...]] = {
    "scale-on-all": ("dense", "vqc-study"),
    "select-on-test": ("dense", "cnn"),
    "vqc-search-on-test": ("vqc-study",),
    "directory-order": METHODS,
    "study-ansatz": ("vqc-study",),
    "study-features": ("dense", "vqc-study"),
    "study-code": METHODS,
}

CNN_MAX_ITER = 20


def _cnn(*, random_state: int) -> Any:
    from qbloodcell.baselines import CNNClassifier

    return CNNClassifier(random_state=random_state, max_iter=CNN_MAX_ITER)


def method_dict(names: tuple[str, ...]) -> dict[str, Any]:
    # the built-in dense and vqc-study; the CNN with a 30-epoch cap
    return {name: (_cnn if name == "cnn" else None) for name in names}


def run_dataset(name: str, n_seeds: int, vqc_budget: int) -> dict[str, Any] | None:
    """Run every protocol on one data set; returns the record also written as JSON."""
    spec = DATASETS[name]
    if spec["data"] is not None and not Path(spec["data"]).exists():
        print(f"{name}: skipped, {spec['data']} is absent")
        return None
    runs: dict[str, list[dict[str, Any]]] = {}
    seconds: dict[str, float] = {}
    record: dict[str, Any] = {}
    for protocol_name in ("paper", *PROTOCOL_SWITCHES, "study-code"):
        methods = METHODS if protocol_name == "paper" else APPLIES[protocol_name]
        protocol = StudyProtocol.from_switches(protocol_name, vqc_search_budget=vqc_budget)
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = run_benchmark(
                methods=method_dict(methods),
                sizes=spec["sizes"],
                n_seeds=n_seeds,
                data=None if spec["data"] is None else str(spec["data"]),
                class_mapping=spec["class_mapping"],
                protocol=protocol,
                progress=False,
                random_state=0,
            )
        seconds[protocol_name] = time.perf_counter() - start
        runs[protocol_name] = [
            {
                key: row[key]
                for key in ("method", "n_samples_per_class", "seed", "accuracy", "status", "note")
            }
            for row in result.runs
        ]
        failed = [row for row in result.runs if row["status"] != "ok"]
        print(
            f"{name} {protocol_name}: {len(result.runs)} runs, {len(failed)} failed, "
            f"{seconds[protocol_name]:.0f} s",
            flush=True,
        )
        record = {
            "dataset": name,
            "label": spec["label"],
            "sizes": list(spec["sizes"]),
            "n_seeds": n_seeds,
            "vqc_search_budget": vqc_budget,
            "cnn_max_iter": CNN_MAX_ITER,
            "seconds": seconds,
            "runs": runs,
        }
        # written after every protocol: an interrupted audit keeps what it measured
        OUT.mkdir(parents=True, exist_ok=True)
        (OUT / f"{name}.json").write_text(json.dumps(record, indent=1))
    return record


def paired(record: dict[str, Any], protocol: str, method: str) -> dict[str, Any] | None:
    """Mean accuracies and the paired switch - paper difference with a 95 % t-interval."""
    if method not in APPLIES[protocol] or protocol not in record["runs"]:
        return None

    def by_key(rows: list[dict[str, Any]]) -> dict[tuple[int, int], float]:
        return {
            (r["n_samples_per_class"], r["seed"]): r["accuracy"]
            for r in rows
            if r["method"] == method and r["status"] == "ok"
        }

    paper, switched = by_key(record["runs"]["paper"]), by_key(record["runs"][protocol])
    keys = sorted(set(paper) & set(switched))
    if len(keys) < 2:
        return None
    a = np.array([paper[k] for k in keys])
    b = np.array([switched[k] for k in keys])
    difference = b - a
    mean = float(difference.mean())
    half = float(stats.t.ppf(0.975, len(keys) - 1) * difference.std(ddof=1) / np.sqrt(len(keys)))
    return {
        "n": len(keys),
        "paper": float(a.mean()),
        "switched": float(b.mean()),
        "difference": mean,
        "low": mean - half,
        "high": mean + half,
    }


def table_rows(record: dict[str, Any]) -> list[list[str]]:
    """Rows of the table of one data set: the paper's accuracy, then each switch."""
    rows = [["protocol", *METHODS]]
    first = ["paper (accuracy)"]
    for method in METHODS:
        values = [
            r["accuracy"]
            for r in record["runs"]["paper"]
            if r["method"] == method and r["status"] == "ok"
        ]
        first.append(f"{100 * np.mean(values):.1f} %" if values else "failed")
    rows.append(first)
    for protocol in (*PROTOCOL_SWITCHES, "study-code"):
        cells = [protocol]
        for method in METHODS:
            entry = paired(record, protocol, method)
            if protocol not in record["runs"]:
                cells.append("not run")
            elif entry is None:
                cells.append("n/a")
            else:
                cells.append(
                    f"{100 * entry['difference']:+.1f} [{100 * entry['low']:+.1f}, "
                    f"{100 * entry['high']:+.1f}] ({100 * entry['switched']:.1f} %)"
                )
        rows.append(cells)
    return rows


def write_csv(record: dict[str, Any], path: Path) -> None:
    import csv

    with path.open("w", newline="") as file:
        csv.writer(file).writerows(table_rows(record))


def report(records: list[dict[str, Any]]) -> str:
    lines = []
    for record in records:
        lines.append(
            f"**{record['label']}** (sizes {', '.join(map(str, record['sizes']))} per class, "
            f"{record['n_seeds']} seeds, pairs per cell = sizes x seeds; VQC search "
            f"N = {record['vqc_search_budget']}; CNN at most {record['cnn_max_iter']} epochs)"
        )
        lines.append("")
        rows = table_rows(record)
        lines.append("| " + " | ".join(rows[0]) + " |")
        lines.append("|" + "---|" * len(rows[0]))
        lines += ["| " + " | ".join(row) + " |" for row in rows[1:]]
        lines.append("")
    return "\n".join(lines)


def figure(records: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    protocols = (*PROTOCOL_SWITCHES, "study-code")
    fig, axes = plt.subplots(
        1, len(records), figsize=(4.2 * len(records), 4.2), sharey=True, squeeze=False
    )
    width = 0.26
    for ax, record in zip(axes[0], records, strict=True):
        for k, method in enumerate(METHODS):
            xs, ys, errors = [], [], []
            for i, protocol in enumerate(protocols):
                entry = paired(record, protocol, method)
                if entry is None:
                    continue
                xs.append(i + (k - 1) * width)
                ys.append(100 * entry["difference"])
                errors.append(
                    [
                        100 * (entry["difference"] - entry["low"]),
                        100 * (entry["high"] - entry["difference"]),
                    ]
                )
            ax.bar(xs, ys, width, yerr=np.array(errors).T, capsize=2, label=method)
        ax.axhline(0, color="black", linewidth=0.8)
        ax.set_xticks(range(len(protocols)), protocols, rotation=60, ha="right")
        ax.set_title(record["label"], fontsize=10)
        ax.grid(axis="y", alpha=0.3)
    axes[0][0].set_ylabel("accuracy, switch - paper (points, 95 % CI)")
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=list(DATASETS))
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--vqc-budget", type=int, default=10)
    parser.add_argument(
        "--report", action="store_true", help="only rebuild table and figure from the JSON"
    )
    args = parser.parse_args()
    if not args.report:
        for name in args.datasets:
            run_dataset(name, args.seeds, args.vqc_budget)
    records = [
        json.loads((OUT / f"{name}.json").read_text())
        for name in DATASETS
        if (OUT / f"{name}.json").exists()
    ]
    if not records:
        print("no results")
        return
    table = report(records)
    (OUT / "table.md").write_text(table)
    for record in records:
        write_csv(record, OUT / f"{record['dataset']}.csv")
    figure(records, OUT / "protocol_audit.png")
    print(table)


if __name__ == "__main__":
    main()
