"""Speed of the exact statevector simulator against the previous one, in one interleaved run.

Run: ``python benchmarks/bench_statevector.py`` (``--help`` for the sizes). The reference is
the simulator as it was before gates were fused (``tests/quantum/_statevector_reference.py``,
a frozen copy: one gather over index tables per gate). For each register size (4, 8 and 12
qubits), 400 samples uniform in [0, 2] (the study's feature scaling), the ZZ feature map with
full entanglement and RealAmplitudes, in two configurations (``feature_map_reps=1,
ansatz_reps=3``, the new default, and ``2, 1``, the study's), it prints:

* **set-up**: compiling feature map and ansatz, preparing every sample's state
  (``evolve``) and ``ZExpectation``'s precomputation, as ``_ExactEvaluator`` does once per
  fit; the new simulator's cache of parameter-expression expansions is emptied first, so
  this is the cost of a first fit;
* **evaluation**: one ``ZExpectation`` call, i.e. <Z0> for all samples at one weight
  vector, the cost of one optimizer step;

then ``evolve`` of 800 rows at 8 qubits (the states of a quantum kernel), and
``VQCClassifier.fit`` on 400 x 4 samples with 200 evaluations of
``optimizer="nlopt-COBYLA"`` (when nlopt is installed), with the package's simulator and
with the reference patched in, and the part of a fit spent in ``hardware_cost`` (the
transpilation that reports ``circuit_depth_``).

New and reference calls alternate, each figure is the median over ``--repeats`` rounds
(minimum in brackets), and ratios are reference / new. The machine may be shared: compare
ratios, not absolute numbers, across runs.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import platform
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

from qbloodcell.quantum import VQCClassifier, _classifier, _statevector
from qbloodcell.quantum._circuits import hardware_cost, make_circuits

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "quantum"))
import _statevector_reference as reference

N_FEATURES_FIT = 4
CONFIGURATIONS = ((1, 3), (2, 1))  # (feature_map_reps, ansatz_reps)


def _median_and_min(times: list[float]) -> tuple[float, float]:
    return statistics.median(times), min(times)


def _format(times: list[float], unit: float = 1e3) -> str:
    median, smallest = _median_and_min(times)
    return f"{median * unit:9.2f} [{smallest * unit:8.2f}]"


def _set_up(module: Any, circuits: Any, X: np.ndarray) -> tuple[Any, float]:
    if module is _statevector:
        _statevector._EXPANSIONS.clear()
    start = time.perf_counter()
    feature_map = module.CompiledCircuit(circuits.feature_map, circuits.feature_parameters)
    ansatz = module.CompiledCircuit(circuits.ansatz, circuits.weight_parameters)
    expectation = module.ZExpectation(ansatz, feature_map.evolve(X))
    return expectation, time.perf_counter() - start


def _per_evaluation(expectation: Any, weights: np.ndarray) -> float:
    start = time.perf_counter()
    for row in weights:
        expectation(row)
    return (time.perf_counter() - start) / len(weights)


def bench_simulator(
    n_qubits: int, feature_map_reps: int, ansatz_reps: int, args: argparse.Namespace
) -> dict[str, list[float]]:
    circuits = make_circuits(
        n_qubits,
        feature_map_reps=feature_map_reps,
        ansatz_reps=ansatz_reps,
        entanglement="full",
    )
    rng = np.random.default_rng(n_qubits)
    X = rng.uniform(0, 2, size=(args.n_samples, n_qubits))
    n_weights = len(circuits.weight_parameters)
    # fewer evaluations of the slow reference at large sizes; the new one gets enough to
    # average over the machine's time slices
    n_new = max(3, 2000 >> n_qubits // 2)
    n_reference = max(1, 200 >> n_qubits // 2)
    times: dict[str, list[float]] = {
        name: [] for name in ("setup_new", "setup_ref", "eval_new", "eval_ref")
    }
    check = rng.uniform(-np.pi, np.pi, size=n_weights)
    for round_ in range(args.repeats):
        order = (("new", _statevector), ("ref", reference))
        for name, module in order if round_ % 2 == 0 else order[::-1]:
            expectation, setup = _set_up(module, circuits, X)
            times[f"setup_{name}"].append(setup)
            count = n_new if name == "new" else n_reference
            weights = rng.uniform(-np.pi, np.pi, size=(count, n_weights))
            times[f"eval_{name}"].append(_per_evaluation(expectation, weights))
            if round_ == 0:
                times.setdefault(f"check_{name}", []).append(expectation(check))
    difference = np.max(np.abs(times.pop("check_new")[0] - times.pop("check_ref")[0]))
    times["difference"] = [float(difference)]
    return times


def bench_kernel_states(args: argparse.Namespace) -> dict[str, list[float]]:
    circuits = make_circuits(8, feature_map_reps=2, ansatz_reps=1, entanglement="full")
    X = np.random.default_rng(8).uniform(0, 2, size=(800, 8))
    times: dict[str, list[float]] = {"new": [], "ref": []}
    for round_ in range(args.repeats):
        order = (("new", _statevector), ("ref", reference))
        for name, module in order if round_ % 2 == 0 else order[::-1]:
            compiled = module.CompiledCircuit(circuits.feature_map, circuits.feature_parameters)
            start = time.perf_counter()
            compiled.evolve(X)
            times[name].append(time.perf_counter() - start)
    return times


@contextlib.contextmanager
def reference_simulator() -> Iterator[None]:
    """VQCClassifier with the reference simulator (the names _classifier looks up)."""
    saved = _classifier.CompiledCircuit, _classifier.ZExpectation
    _classifier.CompiledCircuit = reference.CompiledCircuit
    _classifier.ZExpectation = reference.ZExpectation
    try:
        yield
    finally:
        _classifier.CompiledCircuit, _classifier.ZExpectation = saved


def bench_fit(
    feature_map_reps: int, ansatz_reps: int, args: argparse.Namespace
) -> dict[str, list[float]]:
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 2, size=(args.n_samples, N_FEATURES_FIT))
    y = (np.sin(X[:, 0] * X[:, 1]) + X[:, 2] - X[:, 3] > 0.5).astype(int)

    def fit() -> VQCClassifier:
        classifier = VQCClassifier(
            feature_map_reps=feature_map_reps,
            ansatz_reps=ansatz_reps,
            optimizer="nlopt-COBYLA",
            max_iter=args.evaluations,
            random_state=0,
        )
        return classifier.fit(X, y)

    times: dict[str, list[float]] = {"new": [], "ref": [], "transpile": []}
    fits: dict[str, VQCClassifier] = {}
    for round_ in range(args.repeats + 1):
        order = ("new", "ref") if round_ % 2 == 0 else ("ref", "new")
        for name in order:
            with reference_simulator() if name == "ref" else contextlib.nullcontext():
                start = time.perf_counter()
                fits[name] = fit()
                elapsed = time.perf_counter() - start
            if round_ > 0:  # the first round warms imports and caches up
                times[name].append(elapsed)
        start = time.perf_counter()
        hardware_cost(fits["new"].circuit_)
        if round_ > 0:
            times["transpile"].append(time.perf_counter() - start)
    times["n_iter"] = [float(fits["new"].n_iter_)]
    # the two simulators differ by round-off (1e-15), which COBYLA's steps amplify after a
    # few dozen evaluations: compare where the fits end, not their weights
    times["loss"] = [min(fits["new"].loss_curve_), min(fits["ref"].loss_curve_)]
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--qubits", type=int, nargs="+", default=[4, 8, 12])
    parser.add_argument("--n-samples", type=int, default=400)
    parser.add_argument("--repeats", type=int, default=5, help="interleaved rounds")
    parser.add_argument("--evaluations", type=int, default=200, help="COBYLA evaluations")
    parser.add_argument(
        "--blas-threads", type=int, default=None, help="limit BLAS threads (default: as is)"
    )
    args = parser.parse_args()
    limits = (
        threadpool_limits(args.blas_threads, user_api="blas")
        if args.blas_threads is not None
        else contextlib.nullcontext()
    )
    with limits:
        blas = [(info["internal_api"], info["num_threads"]) for info in threadpool_info()]
        print(f"python {platform.python_version()}, numpy {np.__version__}, BLAS {blas}")
        print(
            f"{args.n_samples} samples; times in ms, median [minimum] of {args.repeats} "
            "interleaved rounds; ratio = reference / new (medians)"
        )
        print(
            f"{'qubits':>6} {'reps':>5} | {'set-up new':>20} {'set-up ref':>20} {'ratio':>6} | "
            f"{'evaluation new':>20} {'evaluation ref':>20} {'ratio':>6} | max |dz|"
        )
        for n_qubits in args.qubits:
            for feature_map_reps, ansatz_reps in CONFIGURATIONS:
                t = bench_simulator(n_qubits, feature_map_reps, ansatz_reps, args)
                setup_ratio = statistics.median(t["setup_ref"]) / statistics.median(t["setup_new"])
                eval_ratio = statistics.median(t["eval_ref"]) / statistics.median(t["eval_new"])
                print(
                    f"{n_qubits:>6} {feature_map_reps:>2},{ansatz_reps:<2} | "
                    f"{_format(t['setup_new'])} {_format(t['setup_ref'])} {setup_ratio:6.1f} | "
                    f"{_format(t['eval_new'])} {_format(t['eval_ref'])} {eval_ratio:6.1f} | "
                    f"{t['difference'][0]:.1e}"
                )
        kernel = bench_kernel_states(args)
        ratio = statistics.median(kernel["ref"]) / statistics.median(kernel["new"])
        print(
            f"evolve, 800 rows, 8 qubits (ZZ reps=2): new {_format(kernel['new'])} ms, "
            f"reference {_format(kernel['ref'])} ms, ratio {ratio:.1f}"
        )
        if importlib.util.find_spec("nlopt") is None:
            print("VQCClassifier.fit skipped: nlopt is not installed")
            return
        for feature_map_reps, ansatz_reps in CONFIGURATIONS:
            t = bench_fit(feature_map_reps, ansatz_reps, args)
            ratio = statistics.median(t["ref"]) / statistics.median(t["new"])
            print(
                f"VQCClassifier.fit {args.n_samples} x {N_FEATURES_FIT}, feature_map_reps="
                f"{feature_map_reps}, ansatz_reps={ansatz_reps}, {int(t['n_iter'][0])} "
                f"nlopt-COBYLA evaluations: new {_format(t['new'])} ms, reference "
                f"{_format(t['ref'])} ms, ratio {ratio:.1f}; of which hardware_cost "
                f"{_format(t['transpile'])} ms; final loss {t['loss'][0]:.4f} (reference "
                f"{t['loss'][1]:.4f})"
            )


if __name__ == "__main__":
    main()
