"""Speed of the quantum kernels against qiskit-machine-learning and sQUlearn.

Workload: 500 synthetic blood-cell images (250 per class) -> BloodCellFeatures ->
StandardScaler -> PCA(n) -> MinMaxScaler((0, 2)), the 400 training samples of a stratified
80/20 split; the ZZ feature map (reps=2, full entanglement) with one qubit per component.
Timed: the 400 x 400 training Gram matrix on 4 qubits, the 100 x 400 test-against-train
matrix, the projected kernel, the same Gram matrix on 8 qubits (PCA(8)), and the 8-qubit
kernel-alignment training of TrainableQuantumKernel.

References, measured in the same run and interleaved with ours (so that a busy machine
slows both): qiskit-machine-learning's FidelityStatevectorKernel on the same circuit, and
sQUlearn's FidelityKernel on the same circuit (QiskitEncodingCircuit) with its
qiskit statevector and qulacs executors. Neither is a dependency of qbloodcell; the
``bench`` nox session installs qiskit-machine-learning, and a missing reference is
reported and skipped:

    python benchmarks/bench_kernels.py
    python benchmarks/bench_kernels.py --blas-threads 1   # BLAS on one thread

Times are the minimum and the median over repeated calls (the minimum is the machine's
speed with nothing else running; the median includes interference from other processes).
"""

from __future__ import annotations

import argparse
import importlib.util
import platform
import statistics
import time
import warnings

import numpy as np
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler


def load_workload(seed: int, n_per_class: int, n_components: int):
    from qbloodcell.datasets import make_blood_cells
    from qbloodcell.features import BloodCellFeatures

    images, y = make_blood_cells(n_per_class, random_state=seed, return_X_y=True)
    X = BloodCellFeatures().fit_transform(images)
    X_train, X_test, y_train, _ = train_test_split(
        X, y, test_size=0.2, stratify=y, random_state=seed
    )
    reduce = make_pipeline(StandardScaler(), PCA(n_components=n_components), MinMaxScaler((0, 2)))
    return reduce.fit_transform(X_train), reduce.transform(X_test), y_train


def timed(function, repeats: int):
    """(minimum, median) seconds of ``repeats`` calls, and the last result."""
    times = []
    result = None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times), result


def interleaved(functions: dict, rounds: int, inner: dict):
    """Time every function in turn, ``rounds`` times; ``inner[name]`` calls per round."""
    samples: dict[str, list[float]] = {name: [] for name in functions}
    results = {}
    for _ in range(rounds):
        for name, function in functions.items():
            for _ in range(inner.get(name, 1)):
                start = time.perf_counter()
                results[name] = function()
                samples[name].append(time.perf_counter() - start)
    return {name: (min(t), statistics.median(t)) for name, t in samples.items()}, results


def squlearn_kernels(circuit):
    """sQUlearn's fidelity kernel on ``circuit``, per executor that works here."""
    if importlib.util.find_spec("squlearn") is None:
        return {}, "sQUlearn is not installed (pip install squlearn)"
    from squlearn import Executor
    from squlearn.encoding_circuit import QiskitEncodingCircuit
    from squlearn.kernel import FidelityKernel

    kernels, problems = {}, []
    for executor in ("statevector_simulator", "qulacs"):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                kernel = FidelityKernel(QiskitEncodingCircuit(circuit.copy()), Executor(executor))
            kernels[f"sQUlearn FidelityKernel ({executor})"] = kernel
        except Exception as error:  # an executor whose backend is missing
            problems.append(f"{executor}: {type(error).__name__}: {error}")
    return kernels, "; ".join(problems)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-per-class", type=int, default=250)
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds")
    parser.add_argument("--inner", type=int, default=40, help="our calls per round")
    parser.add_argument("--blas-threads", type=int, default=None)
    args = parser.parse_args()

    import qiskit
    from threadpoolctl import threadpool_info, threadpool_limits

    from qbloodcell.quantum import (
        FidelityQuantumKernel,
        ProjectedQuantumKernel,
        TrainableQuantumKernel,
    )
    from qbloodcell.quantum._circuits import build_feature_map
    from qbloodcell.quantum._kernels import _fidelities, _one_blas_thread
    from qbloodcell.quantum._statevector import CompiledCircuit

    limit = threadpool_limits(args.blas_threads) if args.blas_threads else None
    blas = ", ".join(f"{i['internal_api']} {i['num_threads']} threads" for i in threadpool_info())
    print(
        f"python {platform.python_version()}, numpy {np.__version__}, qiskit {qiskit.__version__}"
    )
    print(f"BLAS: {blas}")

    X4, X4_test, y4 = load_workload(args.seed, args.n_per_class, 4)
    print(
        f"data: make_blood_cells({args.n_per_class} per class) -> 20 features -> PCA(4); ", end=""
    )
    print(f"train {X4.shape}, test {X4_test.shape}")
    circuit4 = build_feature_map(4, 2, "full")
    ours = FidelityQuantumKernel()

    general = CompiledCircuit(circuit4, tuple(circuit4.parameters))

    def bare_gram(X):
        # the same Gram matrix from the simulator compiled once, outside the timing, without
        # the kernel's input checks and circuit cache: the kernel object's overhead
        with _one_blas_thread():
            states = general.evolve(X)
            return _fidelities(states, states)

    functions = {
        "qbloodcell FidelityQuantumKernel": lambda: ours(X4),
        "qbloodcell, simulator and product alone": lambda: bare_gram(X4),
    }
    inner = {"qbloodcell FidelityQuantumKernel": args.inner}
    inner["qbloodcell, simulator and product alone"] = args.inner
    skipped = []
    if importlib.util.find_spec("qiskit_machine_learning") is None:
        skipped.append("qiskit-machine-learning is not installed")
    else:
        import qiskit_machine_learning
        from qiskit_machine_learning.kernels import FidelityStatevectorKernel

        name = f"qiskit-machine-learning {qiskit_machine_learning.__version__} FidelityStatevectorKernel"
        reference = FidelityStatevectorKernel(feature_map=circuit4)
        functions[name] = lambda: reference.evaluate(X4)
    squlearn, problem = squlearn_kernels(circuit4)
    if problem:
        skipped.append(f"sQUlearn: {problem}")
    for name, kernel in squlearn.items():
        functions[name] = lambda kernel=kernel: kernel.evaluate(X4)

    print(f"\n400 x 400 training Gram matrix, 4 qubits ({args.rounds} interleaved rounds):")
    times, results = interleaved(functions, args.rounds, inner)
    base = times["qbloodcell FidelityQuantumKernel"]
    gram = results["qbloodcell FidelityQuantumKernel"]
    for name, (fastest, median) in times.items():
        difference = np.abs(results[name] - gram).max()
        ratio = (
            ""
            if name.startswith("qbloodcell Fid")
            else (f"  {fastest / base[0]:7.0f}x (min), {median / base[1]:7.0f}x (median) our time")
        )
        print(
            f"  {name:62s} min {fastest * 1e3:9.2f} ms, median {median * 1e3:9.2f} ms, "
            f"max |diff| {difference:.1e}{ratio}"
        )
    for reason in skipped:
        print(f"  skipped: {reason}")

    fastest, median, _ = timed(lambda: ours(X4_test, X4), args.inner)
    print(
        f"\n100 x 400 test Gram matrix, 4 qubits: min {fastest * 1e3:.2f} ms, median {median * 1e3:.2f} ms"
    )
    projected = ProjectedQuantumKernel()
    fastest, median, _ = timed(lambda: projected(X4), args.inner)
    print(
        f"400 x 400 projected kernel, 4 qubits: min {fastest * 1e3:.2f} ms, median {median * 1e3:.2f} ms"
    )

    X8, _, y8 = load_workload(args.seed, args.n_per_class, 8)
    circuit8 = build_feature_map(8, 2, "full")
    general8 = CompiledCircuit(circuit8, tuple(circuit8.parameters))

    def bare_gram8():
        with _one_blas_thread():
            states = general8.evolve(X8)
            return _fidelities(states, states)

    functions8 = {
        "qbloodcell FidelityQuantumKernel": lambda: ours(X8),
        "qbloodcell, simulator and product alone": bare_gram8,
    }
    if "qiskit-machine-learning is not installed" not in skipped:
        reference8 = FidelityStatevectorKernel(feature_map=circuit8)
        functions8["qiskit-machine-learning FidelityStatevectorKernel"] = lambda: (
            reference8.evaluate(X8)
        )
    print("\n400 x 400 training Gram matrix, 8 qubits (PCA(8)):")
    times8, results8 = interleaved(functions8, 2, {"qbloodcell FidelityQuantumKernel": 10})
    base8 = times8["qbloodcell FidelityQuantumKernel"]
    for name, (fastest, median) in times8.items():
        difference = np.abs(results8[name] - results8["qbloodcell FidelityQuantumKernel"]).max()
        ratio = "" if name.startswith("qbloodcell") else f"  {fastest / base8[0]:5.0f}x our time"
        print(
            f"  {name:62s} min {fastest * 1e3:9.2f} ms, median {median * 1e3:9.2f} ms, "
            f"max |diff| {difference:.1e}{ratio}"
        )
    fastest, median, _ = timed(lambda: ProjectedQuantumKernel()(X8), 5)
    print(
        f"  400 x 400 projected kernel, 8 qubits: min {fastest * 1e3:.1f} ms, median {median * 1e3:.1f} ms"
    )

    print("\nTrainableQuantumKernel.fit (kernel-target alignment, L-BFGS-B), 400 samples:")
    for n_qubits, X, y in ((4, X4, y4), (8, X8, y8)):
        for bandwidth in (1.0, 0.25):
            kernel = TrainableQuantumKernel(bandwidth=bandwidth)
            start = time.perf_counter()
            kernel.fit(X, y)
            elapsed = time.perf_counter() - start
            print(
                f"  {n_qubits} qubits, bandwidth {bandwidth}: {elapsed:6.2f} s, "
                f"{kernel.n_iter_} iterations, alignment {kernel.initial_alignment_:.3f} -> "
                f"{kernel.alignment_:.3f}"
            )
    if limit is not None:
        limit.restore_original_limits()


if __name__ == "__main__":
    main()
