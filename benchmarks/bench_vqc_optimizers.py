"""VQC optimizers at equal wall time: COBYLA against Adam, L-BFGS-B and SPSA on real cells.

Pipeline as in ``bench_vqc_bandwidth.py``: ``BloodCellFeatures() -> PCA(4) ->
VQCClassifier(...)`` on the real Matek myeloblasts (MYO) against segmented neutrophils
(NGS) of ``../shared/data/matek_myo_ngs`` (skipped with a message when absent), 250 cells
per class per seed, stratified 80/20 splits. Two circuits: the default one
(``VQCClassifier()``'s, EfficientSU2 with 3 repetitions, 32 weights) and the study's
(ZZ map with 2 repetitions, RealAmplitudes with 1, angles in [0, 2], 8 weights).

Equal wall time: the fit time of each optimizer is measured first (interleaved, least of
repeats, on the first seed's training split) at two values of ``max_iter``, which gives its
fixed cost per fit (PCA, circuit construction and compilation, the gradient circuit, the
final transpilation for ``circuit_depth_`` ...) and its time per evaluation (COBYLA: one
loss; Adam and L-BFGS-B: the loss and its parameter-shift gradient; SPSA: one loss, two
per step). Each optimizer then gets the ``max_iter`` whose predicted fit time equals the
budget: the fit time of COBYLA at 200 evaluations (the study's budget), 800 (the default)
and 3200. The printed fit times show how close to the budget each fit came. Adam and SPSA run at the default
``learning_rate=0.1`` (not tuned). Timings on a loaded machine are inflated; the ratios
between optimizers measured in one run are what counts.

A second part trains with ``shots=1024`` (qiskit-aer's Estimator), where Adam and L-BFGS-B
do not apply: COBYLA against SPSA at the study's 200 evaluations (Estimator calls) each.

Run from the project root: ``python benchmarks/bench_vqc_optimizers.py [--quick]
[--part {all,exact,shots}] [--plot docs/_static/vqc_optimizers.png]``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from threadpoolctl import threadpool_limits

from bench_vqc_bandwidth import balanced_subset, real_features
from qbloodcell.quantum import VQCClassifier

#: (optimizer, loss) pairs compared.
METHODS = [
    ("nlopt-COBYLA", "mse"),
    ("adam", "mse"),
    ("l-bfgs-b", "mse"),
    ("spsa", "mse"),
    ("adam", "cross_entropy"),
    ("l-bfgs-b", "cross_entropy"),
]
CIRCUITS: dict[str, dict[str, Any]] = {
    "default circuit": {},
    "study circuit": {
        "feature_map_reps": 2,
        "ansatz": "real_amplitudes",
        "ansatz_reps": 1,
        "input_scaling": "minmax",
        "bandwidth": 2.0,
    },
}
#: Shots per expectation value in the shot-based comparison.
SHOTS = 1024
#: COBYLA evaluations whose fit time sets each budget.
BUDGET_EVALUATIONS = (200, 800, 3200)
#: max_iter of the two timing fits per optimizer.
PROBES = {"nlopt-COBYLA": (50, 800), "adam": (5, 80), "l-bfgs-b": (5, 80), "spsa": (50, 800)}


def cached_real_features() -> tuple[np.ndarray, np.ndarray] | None:
    """``real_features()``, kept in the temporary folder between runs."""
    cache = Path(tempfile.gettempdir()) / "qbloodcell-bench-myo-ngs-features.npz"
    if cache.is_file():
        stored = np.load(cache)
        return stored["X"], stored["y"]
    real = real_features()
    if real is not None:
        np.savez(cache, X=real[0], y=real[1])
    return real


def label(optimizer: str, loss: str) -> str:
    return f"{optimizer} ({'MSE' if loss == 'mse' else 'cross-entropy'})"


def pipeline(circuit: dict[str, Any], optimizer: str, loss: str, max_iter: int, **extra: Any):
    return make_pipeline(
        PCA(4),
        VQCClassifier(
            **circuit, optimizer=optimizer, loss=loss, max_iter=max_iter, random_state=0, **extra
        ),
    )


def fit_time_model(circuit: dict[str, Any], X: np.ndarray, y: np.ndarray) -> dict:
    """Per (optimizer, loss): (fixed seconds per fit, seconds per evaluation).

    From the least fit time over interleaved repeats at each of two ``max_iter`` values.
    """
    times: dict[tuple[str, str, int], list[float]] = {}
    for _ in range(3):
        for optimizer, loss in METHODS:
            for max_iter in PROBES[optimizer]:
                model = pipeline(circuit, optimizer, loss, max_iter)
                started = time.perf_counter()
                model.fit(X, y)
                elapsed = time.perf_counter() - started
                key = (optimizer, loss, int(model[-1].n_iter_))
                times.setdefault(key, []).append(elapsed)
    model_of = {}
    for optimizer, loss in METHODS:
        points = sorted(
            (n, min(values)) for (o, l_, n), values in times.items() if (o, l_) == (optimizer, loss)
        )
        (n0, t0), (n1, t1) = points[0], points[-1]
        per_evaluation = max((t1 - t0) / (n1 - n0), 1e-9)
        model_of[(optimizer, loss)] = (max(t0 - n0 * per_evaluation, 0.0), per_evaluation)
    return model_of


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 seeds")
    parser.add_argument("--plot", type=Path, default=None, help="write the figure here")
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    parser.add_argument(
        "--part",
        choices=("all", "exact", "shots"),
        default="all",
        help="the exact-simulation comparison, the shot-based one, or both",
    )
    args = parser.parse_args()
    real = cached_real_features()
    if real is None:
        print("the benchmark needs the real images; nothing measured")
        return
    seeds = range(2) if args.quick else range(5)
    splits = []
    for seed in seeds:
        Xs, ys = balanced_subset(*real, seed)
        splits.append(train_test_split(Xs, ys, test_size=0.2, stratify=ys, random_state=seed))
    if args.part in ("all", "shots"):
        compare_with_shots(splits, seeds)
    if args.part == "shots":
        return
    results: list[dict[str, Any]] = []
    curves: dict[str, dict[str, list[list[float]]]] = {}
    for circuit_name, circuit in CIRCUITS.items():
        X_train, _, y_train, _ = splits[0]
        cost = fit_time_model(circuit, X_train, y_train)
        print(f"\n{circuit_name}: fit time = fixed + max_iter x per evaluation")
        for method, (fixed, per_evaluation) in cost.items():
            ratio = per_evaluation / cost[("nlopt-COBYLA", "mse")][1]
            print(
                f"  {label(*method):30s} fixed {fixed:6.3f} s  per evaluation "
                f"{1e3 * per_evaluation:7.2f} ms ({ratio:5.1f} x COBYLA)"
            )
        for evaluations in BUDGET_EVALUATIONS:
            fixed, per_evaluation = cost[("nlopt-COBYLA", "mse")]
            budget = fixed + evaluations * per_evaluation
            print(f"\n{circuit_name}, budget {budget:.2f} s (COBYLA: {evaluations} evaluations)")
            for optimizer, loss in METHODS:
                fixed, per_evaluation = cost[(optimizer, loss)]
                max_iter = max(1, int((budget - fixed) / per_evaluation))
                if optimizer == "nlopt-COBYLA":
                    max_iter = evaluations
                accuracies, fit_times, train_accuracies = [], [], []
                for seed, (X_train, X_test, y_train, y_test) in zip(seeds, splits, strict=True):
                    trace: list[list[float]] = []
                    started = time.perf_counter()

                    def record(
                        weights: Any, value: float, trace: list = trace, started: float = started
                    ) -> None:
                        trace.append([time.perf_counter() - started, value])

                    model = clone(
                        pipeline(circuit, optimizer, loss, max_iter, callback=record)
                    ).set_params(vqcclassifier__random_state=seed)
                    model.fit(X_train, y_train)
                    fit_times.append(time.perf_counter() - started)
                    accuracies.append(model.score(X_test, y_test))
                    train_accuracies.append(model.score(X_train, y_train))
                    if seed == 0 and evaluations == max(BUDGET_EVALUATIONS):
                        curves.setdefault(circuit_name, {})[label(optimizer, loss)] = trace
                row = {
                    "circuit": circuit_name,
                    "budget_cobyla_evaluations": evaluations,
                    "budget_s": budget,
                    "optimizer": optimizer,
                    "loss": loss,
                    "max_iter": max_iter,
                    "fit_s_mean": float(np.mean(fit_times)),
                    "test_accuracy": [float(a) for a in accuracies],
                    "train_accuracy": [float(a) for a in train_accuracies],
                }
                results.append(row)
                print(
                    f"  {label(optimizer, loss):30s} max_iter {max_iter:4d}  "
                    f"fit {np.mean(fit_times):6.2f} s  "
                    f"train {100 * np.mean(train_accuracies):5.1f} %  "
                    f"test {100 * np.mean(accuracies):5.1f} % "
                    f"(sd {100 * np.std(accuracies):.1f}, n={len(accuracies)})",
                    flush=True,
                )
    if args.json is not None:
        args.json.write_text(json.dumps({"results": results, "curves": curves}, indent=1))
    if args.plot is not None:
        plot(results, curves, args.plot)


def compare_with_shots(splits: list, seeds: range) -> None:
    """COBYLA against SPSA with shot noise, at an equal number of Estimator calls.

    Training with ``shots=SHOTS`` on qiskit-aer's Estimator (one call per loss evaluation,
    all samples in one PUB), the study's budget of 200 evaluations each; the test accuracy
    is that of the trained weights evaluated exactly (``shots=None``), so that it measures
    the training and not the noise of the final evaluation.
    """
    print(f"\nshot-based training (shots={SHOTS}), default circuit, 200 Estimator calls each")
    for optimizer in ("nlopt-COBYLA", "spsa"):
        accuracies, fit_times = [], []
        for seed, (X_train, X_test, y_train, y_test) in zip(seeds, splits, strict=True):
            model = pipeline({}, optimizer, "mse", 200, shots=SHOTS).set_params(
                vqcclassifier__random_state=seed
            )
            started = time.perf_counter()
            model.fit(X_train, y_train)
            fit_times.append(time.perf_counter() - started)
            model.set_params(vqcclassifier__shots=None)
            accuracies.append(model.score(X_test, y_test))
        print(
            f"  {optimizer:14s} fit {np.mean(fit_times):6.2f} s  test (exact evaluation) "
            f"{100 * np.mean(accuracies):5.1f} % (sd {100 * np.std(accuracies):.1f}, "
            f"n={len(accuracies)})",
            flush=True,
        )


def plot(results: list[dict[str, Any]], curves: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(14, 4.2))
    names = [label(*method) for method in METHODS]
    for ax, circuit_name in zip(axes[:2], CIRCUITS, strict=True):
        for shift, evaluations in zip((-0.2, 0.0, 0.2), BUDGET_EVALUATIONS, strict=True):
            rows = [
                r
                for r in results
                if r["circuit"] == circuit_name and r["budget_cobyla_evaluations"] == evaluations
            ]
            means = [100 * np.mean(r["test_accuracy"]) for r in rows]
            sds = [100 * np.std(r["test_accuracy"]) for r in rows]
            ax.errorbar(
                np.arange(len(rows)) + shift,
                means,
                yerr=sds,
                fmt="o",
                capsize=3,
                label=f"time of {evaluations} COBYLA evaluations",
            )
        ax.set_xticks(range(len(names)), names, rotation=35, ha="right", fontsize="small")
        ax.set_ylabel("test accuracy (%)")
        ax.set_title(f"MYO vs NGS, {circuit_name}")
        ax.legend(fontsize="small")
    ax = axes[2]
    for name, trace in curves.get("default circuit", {}).items():
        if "MSE" not in name:
            continue
        trace = np.asarray(trace)
        ax.plot(trace[:, 0], np.minimum.accumulate(trace[:, 1]), label=name)
    ax.set_xlabel("wall time (s)")
    ax.set_ylabel("best training MSE so far")
    ax.set_title("default circuit, first seed")
    ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"figure written to {path}")


if __name__ == "__main__":
    with threadpool_limits(1):
        main()
