"""Zero-noise extrapolation on the study's VQC: error of <Z0>, accuracy, cost, and mitiq.

Workload: the study's pipeline (``BloodCellFeatures -> StandardScaler -> PCA(4) ->
MinMaxScaler((0, 2))``, fitted on the training part) and its exact model
(``VQCClassifier(**STUDY_VQC_SETTINGS)``: ZZ feature map reps=2, RealAmplitudes reps=1,
SciPy's COBYLA, 200 evaluations), trained by exact simulation on a stratified 80/20 split of
``make_blood_cells`` (and of the real MYO/NGS cells of ``../shared/data/matek_myo_ngs``
when present), for several seeds.

Noise: a depolarising error of probability ``p`` on every CX and ``p / 10`` on every
single-qubit gate, simulated exactly (Aer density matrix, no shots). On the test samples
the script compares <Z0> of the trained weights computed exactly, with noise, and with
noise and zero-noise extrapolation (``ZeroNoiseExtrapolation``: global folding at scale
factors (1, 3, 5) or (1, 3), Richardson or linear extrapolation): mean absolute error
against the exact values, the ratio of the unmitigated to the mitigated error, test
accuracy, and the share of test predictions equal to the exact model's. ``--train`` also
trains under noise, without and with mitigation, from the same initial point.

The mitiq comparison times one evaluation of the test samples through mitiq (bind every
sample, ``mitiq.zne.scaling.fold_global`` per sample and scale factor, one PUB per folded
circuit, ``RichardsonFactory.extrapolate`` per sample) against this package's batched route,
and checks that both give the same values (with the noise also on ``rz``, the gate mitiq
turns Qiskit's ``p`` into). It needs ``pip install mitiq ply`` and is skipped otherwise.

``--kernel`` measures the fidelity kernel instead: the Gram matrix of the first
``--kernel-samples`` test samples (the default ``QuantumKernelSVC`` encoding: ZZ feature map
reps=1, angles in ``[0, 0.5]``), exact, estimated with ``--shots`` shots per entry on Aer's
SamplerV2 with the same noise, and with noise and zero-noise extrapolation: mean absolute
error of the entries above the diagonal against the exact ones.

Run from the project root: ``python benchmarks/bench_zne.py [--train] [--quick] [--kernel]``.
"""

from __future__ import annotations

import argparse
import importlib.util
import platform
import time
from pathlib import Path

import numpy as np
from qiskit_aer.noise import NoiseModel, depolarizing_error
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from qbloodcell import BloodCellFeatures, make_blood_cells
from qbloodcell.quantum import (
    STUDY_VQC_SETTINGS,
    FidelityQuantumKernel,
    VQCClassifier,
    ZeroNoiseExtrapolation,
)

REAL = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "matek_myo_ngs"

MITIGATIONS = {
    "richardson (1, 3, 5)": ZeroNoiseExtrapolation((1, 3, 5), "richardson"),
    "linear (1, 3, 5)": ZeroNoiseExtrapolation((1, 3, 5), "linear"),
    "richardson (1, 3)": ZeroNoiseExtrapolation((1, 3), "richardson"),
}
ONE_QUBIT_GATES = ["h", "p", "ry", "rz", "sx", "x"]


def depolarizing_noise(cx_error: float) -> NoiseModel:
    noise = NoiseModel()
    noise.add_all_qubit_quantum_error(depolarizing_error(cx_error, 2), ["cx"])
    noise.add_all_qubit_quantum_error(depolarizing_error(cx_error / 10, 1), ONE_QUBIT_GATES)
    return noise


def data_sets(n_per_class: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    images, y = make_blood_cells(n_per_class, random_state=0, return_X_y=True)
    sets = {"synthetic": (BloodCellFeatures().fit_transform(images), np.asarray(y))}
    if REAL.is_dir():
        from qbloodcell.datasets import load_image_folder

        bunch = load_image_folder(REAL, image_size=64, n_jobs=2)
        features = BloodCellFeatures().fit_transform(bunch.images)
        target = np.asarray(bunch.target)
        rng = np.random.default_rng(0)
        keep = np.concatenate(
            [
                rng.choice(np.flatnonzero(target == label), n_per_class, replace=False)
                for label in np.unique(target)
            ]
        )
        sets["real MYO/NGS"] = (features[keep], target[keep])
    else:
        print(f"real images not available ({REAL.resolve()} is absent): synthetic data only")
    return sets


def split(X, y, seed):
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.2, stratify=y, random_state=seed
    )
    reduce = make_pipeline(StandardScaler(), PCA(n_components=4), MinMaxScaler((0, 2)))
    return reduce.fit_transform(X_train), reduce.transform(X_test), y_train, y_test


def evaluate(model, X_test, y_test, exact_scores):
    start = time.perf_counter()
    scores = model.decision_function(X_test)
    seconds = time.perf_counter() - start
    predictions = model.classes_[(scores > 0).astype(int)]
    exact_predictions = model.classes_[(exact_scores > 0).astype(int)]
    return {
        "mae": float(np.mean(np.abs(scores - exact_scores))),
        "accuracy": float(np.mean(predictions == y_test)),
        "agreement": float(np.mean(predictions == exact_predictions)),
        "seconds": seconds,
    }


def mitiq_comparison(model, X_test, cx_error):
    """One evaluation through mitiq, per sample, against the batched route."""
    from mitiq.zne.inference import RichardsonFactory
    from mitiq.zne.scaling import fold_global
    from qiskit import QuantumCircuit
    from qiskit.quantum_info import SparsePauliOp
    from qiskit_aer.primitives import EstimatorV2 as AerEstimator

    noise = depolarizing_noise(cx_error)
    zne = MITIGATIONS["richardson (1, 3, 5)"]
    model.set_params(noise_model=noise, mitigation=zne)
    start = time.perf_counter()
    ours = model.decision_function(X_test)
    ours_seconds = time.perf_counter() - start

    estimator = AerEstimator(
        options={
            "default_precision": 0.0,
            "backend_options": {"method": "density_matrix", "noise_model": noise},
        }
    )
    # mitiq's Qiskit conversion needs the qubits in a register
    circuit = QuantumCircuit(model.circuit_.num_qubits)
    circuit.compose(model.circuit_, inplace=True)
    weights = dict(zip(model.weight_parameters_, model.weights_, strict=True))
    observable = SparsePauliOp("I" * (circuit.num_qubits - 1) + "Z")
    start = time.perf_counter()
    folded = []
    for row in X_test:
        bound = circuit.assign_parameters(
            {**weights, **dict(zip(model.feature_parameters_, row, strict=True))}
        )
        folded.extend(fold_global(bound, factor) for factor in zne.scale_factors)
    fold_seconds = time.perf_counter() - start
    results = estimator.run([(item, observable) for item in folded]).result()
    values = np.array([float(r.data.evs) for r in results]).reshape(len(X_test), -1)
    theirs = np.array([RichardsonFactory.extrapolate(zne.scale_factors, row) for row in values])
    mitiq_seconds = time.perf_counter() - start
    model.set_params(noise_model=None, mitigation=None)
    return ours_seconds, mitiq_seconds, fold_seconds, float(np.max(np.abs(ours - theirs)))


def kernel_comparison(sets, args) -> None:
    """MAE of the sampled fidelity kernel's entries, noisy and mitigated, against exact."""
    from qiskit_aer.primitives import SamplerV2 as AerSampler

    print(
        f"fidelity kernel (ZZ reps=1, angles in [0, 0.5]) on {args.kernel_samples} test "
        f"samples: Gram entries exact vs Aer SamplerV2 with {args.shots} shots and "
        f"depolarising noise (CX p, 1-qubit p/10) vs noise + ZNE; seeds {args.seeds}"
    )
    settings = {"feature_map_reps": 1, "bandwidth": 0.25}
    summary: dict[tuple[str, float, str], list[float]] = {}
    for name, (X, y) in sets.items():
        for seed in args.seeds:
            _, X_test, _, _ = split(X, y, seed)
            X_kernel = X_test[: args.kernel_samples]
            exact = FidelityQuantumKernel(**settings).evaluate(X_kernel)
            upper = np.triu_indices(len(X_kernel), k=1)
            for cx_error in args.cx_errors:
                options = {"backend_options": {"noise_model": depolarizing_noise(cx_error)}}
                sampler = AerSampler(seed=seed, options=options)
                for label, zne in [("noisy", None), *MITIGATIONS.items()]:
                    kernel = FidelityQuantumKernel(
                        sampler=sampler, shots=args.shots, mitigation=zne, **settings
                    )
                    start = time.perf_counter()
                    gram = kernel.evaluate(X_kernel)
                    seconds = time.perf_counter() - start
                    mae = float(np.mean(np.abs(gram - exact)[upper]))
                    summary.setdefault((name, cx_error, label), []).append(mae)
                    summary.setdefault((name, cx_error, label + " s"), []).append(seconds)
    print(f"{'data':14s} {'CX p':>5s} {'evaluation':22s} {'MAE K':>8s} {'ratio':>6s} {'s':>6s}")
    for (name, cx_error, label), values in summary.items():
        if label.endswith(" s"):
            continue
        mae = float(np.mean(values))
        noisy = float(np.mean(summary[(name, cx_error, "noisy")]))
        ratio = "" if label == "noisy" else f"{noisy / mae:5.1f}x"
        seconds = float(np.mean(summary[(name, cx_error, label + " s")]))
        print(f"{name:14s} {cx_error:5.3f} {label:22s} {mae:8.4f} {ratio:>6s} {seconds:6.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--n-per-class", type=int, default=100)
    parser.add_argument("--cx-errors", type=float, nargs="+", default=[0.01, 0.02])
    parser.add_argument("--train", action="store_true", help="also train under noise")
    parser.add_argument("--quick", action="store_true", help="one seed, 40 per class")
    parser.add_argument("--kernel", action="store_true", help="the fidelity kernel instead")
    parser.add_argument("--kernel-samples", type=int, default=10)
    parser.add_argument("--shots", type=int, default=20_000)
    args = parser.parse_args()
    if args.quick:
        args.seeds, args.n_per_class = args.seeds[:1], 40
    import qiskit
    import qiskit_aer

    print(
        f"Python {platform.python_version()}, Qiskit {qiskit.__version__}, "
        f"qiskit-aer {qiskit_aer.__version__}, {platform.processor() or platform.machine()}"
    )
    sets = data_sets(args.n_per_class)
    if args.kernel:
        kernel_comparison(sets, args)
        return
    print(
        f"study VQC trained exactly; test <Z0> exact vs depolarising noise (CX p, 1-qubit "
        f"p/10, density matrix) vs noise + ZNE; seeds {args.seeds}, {args.n_per_class} per class"
    )
    summary: dict[tuple[str, float, str], list[dict[str, float]]] = {}
    first_model = None
    for name, (X, y) in sets.items():
        for seed in args.seeds:
            X_train, X_test, y_train, y_test = split(X, y, seed)
            model = VQCClassifier(**STUDY_VQC_SETTINGS, random_state=seed).fit(X_train, y_train)
            exact_scores = model.decision_function(X_test)
            exact_accuracy = float(np.mean(model.predict(X_test) == y_test))
            summary.setdefault((name, 0.0, "exact"), []).append(
                {"mae": 0.0, "accuracy": exact_accuracy, "agreement": 1.0, "seconds": 0.0}
            )
            if first_model is None:
                first_model = (model, X_test)
            for cx_error in args.cx_errors:
                model.set_params(noise_model=depolarizing_noise(cx_error), mitigation=None)
                rows = {"noisy": evaluate(model, X_test, y_test, exact_scores)}
                for label, zne in MITIGATIONS.items():
                    model.set_params(mitigation=zne)
                    rows[label] = evaluate(model, X_test, y_test, exact_scores)
                for label, row in rows.items():
                    summary.setdefault((name, cx_error, label), []).append(row)
                model.set_params(noise_model=None, mitigation=None)
                print(
                    f"  {name}, seed {seed}, CX error {cx_error:g}: MAE noisy "
                    f"{rows['noisy']['mae']:.4f}, Richardson (1, 3, 5) "
                    f"{rows['richardson (1, 3, 5)']['mae']:.4f} "
                    f"({rows['noisy']['mae'] / rows['richardson (1, 3, 5)']['mae']:.1f}x)"
                )

    print("\nmean over seeds (test samples of each seed):")
    print(
        f"{'data':14s} {'CX p':>5s} {'evaluation':22s} {'MAE <Z0>':>9s} {'ratio':>6s} "
        f"{'accuracy':>9s} {'= exact':>8s} {'time s':>7s}"
    )
    for (name, cx_error, label), rows in summary.items():
        mae = np.mean([row["mae"] for row in rows])
        noisy = summary.get((name, cx_error, "noisy"))
        ratio = ""
        if label not in ("noisy", "exact") and noisy is not None:
            ratio = f"{np.mean([row['mae'] for row in noisy]) / mae:5.1f}x"
        print(
            f"{name:14s} {cx_error:5.3f} {label:22s} {mae:9.4f} {ratio:>6s} "
            f"{np.mean([row['accuracy'] for row in rows]):9.3f} "
            f"{np.mean([row['agreement'] for row in rows]):8.3f} "
            f"{np.mean([row['seconds'] for row in rows]):7.2f}"
        )

    if args.train:
        print("\ntraining under noise (CX error 0.02), same initial point; test accuracy:")
        noise = depolarizing_noise(0.02)
        for name, (X, y) in sets.items():
            for seed in args.seeds:
                X_train, X_test, y_train, y_test = split(X, y, seed)
                line = [f"  {name}, seed {seed}:"]
                for label, zne in [("exact", None), ("noisy", None), ("noisy + ZNE", "zne")]:
                    params = {"random_state": seed}
                    if label != "exact":
                        params["noise_model"] = noise
                    if zne is not None:
                        params["mitigation"] = MITIGATIONS["richardson (1, 3, 5)"]
                    start = time.perf_counter()
                    model = VQCClassifier(**STUDY_VQC_SETTINGS, **params).fit(X_train, y_train)
                    seconds = time.perf_counter() - start
                    own = np.mean(model.predict(X_test) == y_test)
                    model.set_params(noise_model=None, mitigation=None)
                    exact = np.mean(model.predict(X_test) == y_test)
                    line.append(
                        f"{label} {own:.3f} (its weights run exactly {exact:.3f}; "
                        f"fit {seconds:.0f} s)"
                    )
                print(" ".join(line[:1]) + " " + "; ".join(line[1:]))

    if importlib.util.find_spec("mitiq") is None or importlib.util.find_spec("ply") is None:
        print("\nmitiq comparison skipped: pip install mitiq ply")
        return
    assert first_model is not None
    model, X_test = first_model
    ours, theirs, folding, difference = mitiq_comparison(model, X_test, args.cx_errors[-1])
    print(
        f"\none mitigated evaluation of {len(X_test)} test samples, Richardson (1, 3, 5): "
        f"qbloodcell {ours:.2f} s (3 PUBs); mitiq per sample {theirs:.2f} s "
        f"({3 * len(X_test)} PUBs; folding and conversion alone {folding:.2f} s), "
        f"{theirs / ours:.0f}x; largest difference of the values {difference:.1e}"
    )


if __name__ == "__main__":
    main()
