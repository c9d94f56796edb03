"""Speed of VQCClassifier against qiskit-machine-learning on the study's VQC workload.

Workload: 500 synthetic blood-cell images (250 per class) -> BloodCellFeatures ->
StandardScaler -> PCA(4) -> MinMaxScaler((0, 2)), a stratified 80/20 split (400 training, 100
test samples), the study's circuit (``STUDY_VQC_SETTINGS``: 4 qubits, ZZ feature map reps=2
full entanglement, RealAmplitudes reps=1), COBYLA for 200 iterations on the mean squared
error of <Z0>; then the library's default VQC on the same 400 x 4 inputs at 200 and at its
default number of evaluations.

The reference is qiskit-machine-learning's NeuralNetworkClassifier over an EstimatorQNN on the
same circuit, observable, data, loss ("squared_error"), optimizer and initial point. It is not
a dependency of qbloodcell: install it in a separate environment to run the comparison, e.g.

    python -m venv /tmp/qml
    /tmp/qml/bin/pip install -c constraints.txt -e . qiskit-machine-learning
    /tmp/qml/bin/python benchmarks/bench_vqc.py

Without it the script measures qbloodcell alone and says so.
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


def load_workload(seed: int, n_per_class: int):
    """Train/test features and labels, and a description of where they came from."""
    try:
        from qbloodcell.datasets import make_blood_cells
        from qbloodcell.features import BloodCellFeatures
    except ImportError:
        from sklearn.datasets import make_classification

        X, y = make_classification(n_samples=2 * n_per_class, n_features=20, random_state=seed)
        source = "sklearn make_classification (20 features; qbloodcell.datasets unavailable)"
    else:
        images, y = make_blood_cells(n_per_class, random_state=seed, return_X_y=True)
        X = BloodCellFeatures().fit_transform(images)
        source = f"make_blood_cells({n_per_class} per class) -> BloodCellFeatures (20 features)"
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.2, stratify=y, random_state=seed
    )
    reduce = make_pipeline(StandardScaler(), PCA(n_components=4), MinMaxScaler((0, 2)))
    X_train = reduce.fit_transform(X_train)
    X_test = reduce.transform(X_test)
    return X_train, X_test, y_train, y_test, source


def time_ours(X_train, X_test, y_train, y_test, initial_point, repeats: int, optimizer="COBYLA"):
    from qbloodcell.quantum import STUDY_VQC_SETTINGS, VQCClassifier
    from qbloodcell.quantum._expectations import PreparedStatesExpectations

    fit_times = []
    for _ in range(repeats):
        settings = {**STUDY_VQC_SETTINGS, "optimizer": optimizer}
        classifier = VQCClassifier(**settings, initial_point=initial_point)
        start = time.perf_counter()
        classifier.fit(X_train, y_train)
        fit_times.append(time.perf_counter() - start)
    predict_times = []
    for _ in range(max(20, 10 * repeats)):
        start = time.perf_counter()
        classifier.predict(X_test)
        predict_times.append(time.perf_counter() - start)
    # where the fit time goes: circuit simulation versus the optimizer itself
    evaluator = PreparedStatesExpectations(*classifier._compile(), X_train)
    weights = np.random.default_rng(0).uniform(-np.pi, np.pi, size=(classifier.n_iter_, 8))
    start = time.perf_counter()
    for row in weights:
        evaluator(row)
    simulation = time.perf_counter() - start
    return {
        "fit": statistics.median(fit_times),
        "fit_all": fit_times,
        "predict": statistics.median(predict_times),
        "accuracy": classifier.score(X_test, y_test),
        "n_iter": classifier.n_iter_,
        "simulation": simulation,
        "classifier": classifier,
    }


def time_defaults(X_train, y_train, repeats: int) -> None:
    """The library's default VQC (fitted scaling, EfficientSU2 reps 3) at 200 and 800 steps."""
    from qbloodcell.quantum import VQCClassifier

    for max_iter in (200, VQCClassifier().max_iter):
        times = []
        for seed in range(repeats):
            classifier = VQCClassifier(max_iter=max_iter, random_state=seed)
            start = time.perf_counter()
            classifier.fit(X_train, y_train)
            times.append(time.perf_counter() - start)
        print(
            f"qbloodcell fit, default VQC ({classifier.weights_.size} weights), "
            f"max_iter={max_iter}: {statistics.median(times) * 1e3:8.1f} ms (median of "
            f"{repeats}; {classifier.n_iter_} evaluations)"
        )


def time_scipy_cobyla(n_iter: int, repeats: int) -> float:
    """COBYLA's own cost: the same number of steps on a trivial 8-parameter function."""
    from scipy.optimize import minimize

    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        minimize(
            lambda w: float(np.sum(np.sin(w) ** 2)),
            np.linspace(-2, 2, 8),
            method="COBYLA",
            options={"maxiter": n_iter},
        )
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def time_qml(classifier, X_train, X_test, y_train, y_test, initial_point):
    from qiskit.quantum_info import SparsePauliOp
    from qiskit_machine_learning.algorithms import NeuralNetworkClassifier
    from qiskit_machine_learning.neural_networks import EstimatorQNN
    from qiskit_machine_learning.optimizers import COBYLA

    observable = SparsePauliOp("I" * (classifier.circuit_.num_qubits - 1) + "Z")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        qnn = EstimatorQNN(
            circuit=classifier.circuit_.copy(),
            observables=observable,
            input_params=list(classifier.feature_parameters_),
            weight_params=list(classifier.weight_parameters_),
        )
        reference = NeuralNetworkClassifier(
            qnn,
            loss="squared_error",
            optimizer=COBYLA(maxiter=200),
            initial_point=initial_point,
            one_hot=False,
        )
        # labels as +-1: classes_[1] of VQCClassifier is the +1 target
        targets = np.where(y_train == classifier.classes_[1], 1, -1)
        start = time.perf_counter()
        reference.fit(X_train, targets)
        fit_time = time.perf_counter() - start
        start = time.perf_counter()
        predicted = np.asarray(reference.predict(X_test)).ravel()
        predict_time = time.perf_counter() - start
    accuracy = float(np.mean(predicted == np.where(y_test == classifier.classes_[1], 1, -1)))
    return {"fit": fit_time, "predict": predict_time, "accuracy": accuracy}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-per-class", type=int, default=250)
    parser.add_argument("--repeats", type=int, default=7, help="fits timed for the median")
    parser.add_argument("--skip-qml", action="store_true", help="do not run the reference")
    args = parser.parse_args()

    import qiskit
    import scipy

    X_train, X_test, y_train, y_test, source = load_workload(args.seed, args.n_per_class)
    initial_point = np.random.default_rng(args.seed).uniform(-np.pi, np.pi, size=8)
    print(
        f"python {platform.python_version()}, qiskit {qiskit.__version__}, scipy {scipy.__version__}"
    )
    print(f"data: {source}; train {X_train.shape}, test {X_test.shape}")

    ours = time_ours(X_train, X_test, y_train, y_test, initial_point, args.repeats)
    cobyla = time_scipy_cobyla(ours["n_iter"], args.repeats)
    classifier = ours["classifier"]
    print(
        f"circuit: {classifier.circuit_.num_qubits} qubits, {classifier.weights_.size} weights, "
        f"transpiled depth {classifier.circuit_depth_}, gates {classifier.circuit_gate_counts_}"
    )
    print(
        f"qbloodcell fit:     {ours['fit'] * 1e3:8.1f} ms (median of {args.repeats}; "
        f"{ours['n_iter']} COBYLA evaluations; all: "
        f"{', '.join(f'{t * 1e3:.0f}' for t in ours['fit_all'])} ms)"
    )
    print(
        f"  of which circuit simulation, {ours['n_iter']} evaluations: {ours['simulation'] * 1e3:6.1f} ms"
    )
    print(
        f"  scipy COBYLA alone, {ours['n_iter']} steps on a trivial function: {cobyla * 1e3:6.1f} ms"
    )
    print(f"qbloodcell predict:  {ours['predict'] * 1e3:8.2f} ms for {len(X_test)} samples")
    print(f"qbloodcell test accuracy: {ours['accuracy']:.3f}")
    fast = None
    if importlib.util.find_spec("nlopt") is not None:
        fast = time_ours(
            X_train, X_test, y_train, y_test, initial_point, args.repeats, "nlopt-COBYLA"
        )
        print(
            f"qbloodcell fit, optimizer='nlopt-COBYLA': {fast['fit'] * 1e3:8.1f} ms (median of "
            f"{args.repeats}; {fast['n_iter']} evaluations; final loss "
            f"{min(fast['classifier'].loss_curve_):.4f} vs SciPy's "
            f"{min(classifier.loss_curve_):.4f}); test accuracy {fast['accuracy']:.3f}"
        )
    else:
        print("optimizer='nlopt-COBYLA' skipped: nlopt is not installed")
    time_defaults(X_train, y_train, args.repeats)

    if args.skip_qml:
        print("qiskit-machine-learning comparison skipped (--skip-qml)")
        return
    if importlib.util.find_spec("qiskit_machine_learning") is None:
        print(
            "qiskit-machine-learning comparison skipped: qiskit_machine_learning is not "
            "importable (install it in a separate environment, see this script's docstring)"
        )
        return
    import qiskit_machine_learning

    reference = time_qml(classifier, X_train, X_test, y_train, y_test, initial_point)
    print(
        f"qiskit-machine-learning {qiskit_machine_learning.__version__} fit: {reference['fit']:8.2f} s"
    )
    print(f"qiskit-machine-learning predict: {reference['predict'] * 1e3:8.1f} ms")
    print(f"qiskit-machine-learning test accuracy: {reference['accuracy']:.3f}")
    print(f"fit speed-up: {reference['fit'] / ours['fit']:.0f}x")
    if fast is not None:
        print(f"fit speed-up with optimizer='nlopt-COBYLA': {reference['fit'] / fast['fit']:.0f}x")
    print(f"predict speed-up: {reference['predict'] / ours['predict']:.0f}x")
    print(f"accuracy difference: {abs(reference['accuracy'] - ours['accuracy']) * 100:.1f} points")


if __name__ == "__main__":
    main()
