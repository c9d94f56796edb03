"""Benchmark EquilibriumPropagationClassifier: accuracy vs backprop MLP, fit/predict speed.

Run: ``python benchmarks/bench_ep.py [--seeds 5]``. Uses the study pipeline
(make_blood_cells -> BloodCellFeatures -> StandardScaler) when those exist, else a
make_classification stand-in with 20 features (reported as such). Study protocol:
250 samples per class, stratified 80/20 split per seed.
"""

from __future__ import annotations

import argparse
import copy
import pathlib
import sys
import time
import warnings

import numpy as np
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler

from qbloodcell.ep import EquilibriumPropagationClassifier
from qbloodcell.ep._network import Dynamics, Network, RelaxStats

# the NumPy reference is the tests' (tests/_references), found from this file's location
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "tests"))
from _references import ep as reference


def load_data():
    try:
        from qbloodcell.datasets import make_blood_cells
        from qbloodcell.features import BloodCellFeatures

        images, y = make_blood_cells(250, random_state=0, return_X_y=True)
        X = BloodCellFeatures().fit_transform(images)
        return X, y, "make_blood_cells(250) -> BloodCellFeatures"
    except (ImportError, AttributeError):
        X, y = make_classification(
            n_samples=500,
            n_features=20,
            n_informative=8,
            class_sep=0.9,
            flip_y=0.02,
            random_state=0,
        )
        return X, y, "stand-in make_classification(500, 20 features, 8 informative)"


def _predict_ms(model, batch, repeats=50):
    """Median time of ``repeats`` calls, and its quartiles, in ms.

    The caller has made the first call on this model (its cost is not a steady-state one).
    """
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        model.predict(batch)
        times.append(time.perf_counter() - start)
    low, median, high = np.percentile(times, [25, 50, 75]) * 1e3
    return float(median), float(low), float(high)


def _sweeps_per_sample(model, batch, over_relaxation=None):
    """Mean number of free-phase sweeps the samples need, each relaxed alone.

    ``over_relaxation`` replaces the model's factor (1.0: plain sweeps) for this count.
    """
    if over_relaxation is not None:
        model = copy.deepcopy(model).set_params(over_relaxation=over_relaxation)
    network = Network([w.shape[0] for w in model.coefs_] + [model.coefs_[-1].shape[1]])
    weights, biases = network.flatten(model.coefs_, model.intercepts_)
    dynamics = Dynamics.of(model)
    stats = RelaxStats(model.relax_tol)
    for row in batch:
        network.free_phase(row[None, :], weights, biases, dynamics, stats)
    return stats.mean_free()


def _blas_gflops():
    """Speed of this machine now: one-thread BLAS on the relaxation's largest product."""
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(0)
    a, b = rng.random((50, 256)), rng.random((256, 128))
    with threadpool_limits(1):
        best = np.inf
        for _ in range(5):
            start = time.perf_counter()
            for _ in range(200):
                a @ b
            best = min(best, (time.perf_counter() - start) / 200)
    return 2 * 50 * 256 * 128 / best / 1e9


def split(X, y, seed):
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.2, stratify=y, random_state=seed
    )
    scaler = StandardScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    X, y, source = load_data()
    print(f"data: {source}, X {X.shape}")
    print(
        f"machine speed: BLAS (50, 256) @ (256, 128) on one thread at {_blas_gflops():.1f} "
        "GFLOP/s (timings on a shared machine follow it)"
    )

    start = time.perf_counter()
    EquilibriumPropagationClassifier(hidden_layer_sizes=(4,), max_iter=1, early_stopping=False).fit(
        X[:40], y[:40]
    )
    print(
        f"first fit in this process (numba compile or cache load): {time.perf_counter() - start:.2f} s"
    )

    ep_scores, mlp_scores, predict_times = [], [], []
    for seed in range(args.seeds):
        X_train, X_test, y_train, y_test = split(X, y, seed)
        start = time.perf_counter()
        ep = EquilibriumPropagationClassifier(random_state=seed).fit(X_train, y_train)
        ep_time = time.perf_counter() - start
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            mlp = MLPClassifier((256, 128, 64), random_state=seed).fit(X_train, y_train)
        mlp_time = time.perf_counter() - start
        # score() makes the first predict call on these 100 test samples
        ep_scores.append(ep.score(X_test, y_test))
        mlp_scores.append(mlp.score(X_test, y_test))
        predict_ms, _, _ = _predict_ms(ep, X_test[:100])
        predict_times.append(predict_ms)
        print(
            f"seed {seed}: EP {ep_scores[-1]:.3f} (fit {ep_time:.2f} s, {ep.n_iter_} epochs, "
            f"{ep.mean_free_steps_:.1f} free / {ep.mean_nudged_steps_:.1f} nudged sweeps per phase, "
            f"predict 100 in {predict_ms:.1f} ms, {_sweeps_per_sample(ep, X_test[:100]):.1f} "
            f"sweeps per sample, {_sweeps_per_sample(ep, X_test[:100], 1.0):.1f} with plain "
            f"sweeps)  MLP {mlp_scores[-1]:.3f} (fit {mlp_time:.2f} s)"
        )
    print(
        f"mean test accuracy: EP {np.mean(ep_scores):.4f}  MLP {np.mean(mlp_scores):.4f}  "
        f"difference {np.mean(ep_scores) - np.mean(mlp_scores):+.4f}"
    )
    print(
        f"predict 100 samples, median of 50 calls per seed: {np.round(predict_times, 1)} ms "
        f"(the time follows the sweeps each trained network needs)"
    )

    # speed: numba vs NumPy reference, same algorithm, same data, same random draws
    X_train, X_test, y_train, _ = split(X, y, 0)
    params = {"random_state": 0}
    start = time.perf_counter()
    ep = EquilibriumPropagationClassifier(**params).fit(X_train, y_train)
    numba_time = time.perf_counter() - start
    start = time.perf_counter()
    ref_weights, _, ref_epochs = reference.fit_reference(X_train, y_train, **params)
    numpy_time = time.perf_counter() - start
    difference = max(
        float(np.max(np.abs(a - b))) for a, b in zip(ep.coefs_, ref_weights, strict=True)
    )
    print(
        f"fit {X_train.shape}: numba {numba_time:.2f} s ({ep.n_iter_} epochs), NumPy reference "
        f"{numpy_time:.2f} s ({ref_epochs} epochs), ratio {numpy_time / numba_time:.2f}x, "
        f"max |coef difference| {difference:.2e}"
    )
    print(
        f"relaxation sweeps per phase: free {ep.mean_free_steps_:.1f} (cap {ep.n_free_steps}), "
        f"nudged {ep.mean_nudged_steps_:.1f} (cap {ep.n_nudged_steps}), relax_tol {ep.relax_tol}"
    )
    batch = X_test[:100]
    start = time.perf_counter()
    ep.predict(batch)
    first_ms = (time.perf_counter() - start) * 1e3
    median, low, high = _predict_ms(ep, batch)
    print(
        f"predict {batch.shape}: first call {first_ms:.2f} ms, next 50 calls: median "
        f"{median:.2f} ms (quartiles {low:.2f} to {high:.2f} ms)"
    )
    print(f"machine speed at the end: {_blas_gflops():.1f} GFLOP/s")


if __name__ == "__main__":
    main()
