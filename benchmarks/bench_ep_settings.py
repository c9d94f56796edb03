"""What EquilibriumPropagationClassifier's relaxation and learning-rate defaults change.

Run: ``python benchmarks/bench_ep_settings.py [--seeds 20]``. Same data and protocol as
``bench_ep.py`` (make_blood_cells(250) -> BloodCellFeatures -> StandardScaler, stratified
80/20 splits). It prints:

1. mean test and training accuracy over the seeds for the defaults, for plain sweeps
   (``over_relaxation=1``), for the earlier learning rate 0.02 with plain sweeps (the
   earlier defaults), and for scikit-learn's MLPClassifier with the same hidden layers;
2. on the default networks of the first five seeds, whether the over-relaxed free phase
   (``relax_tol``) reaches the fixed points of plain sweeps run to a tolerance of 1e-12 on
   all 500 samples: predictions that differ and the largest output difference;
3. the training cost of split 2 without early stopping over 30 epochs, at the default
   rate and at 0.02, with and without over-relaxation.
"""

from __future__ import annotations

import argparse
import importlib.util
import pathlib
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

_spec = importlib.util.spec_from_file_location(
    "bench_ep", pathlib.Path(__file__).with_name("bench_ep.py")
)
assert _spec is not None
assert _spec.loader is not None
bench_ep = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_ep)

CONFIGS = {
    "defaults": {},
    "plain sweeps": {"over_relaxation": 1.0},
    "earlier defaults (rate 0.02, plain sweeps)": {
        "learning_rate_init": 0.02,
        "over_relaxation": 1.0,
    },
}


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    X, y, source = bench_ep.load_data()
    print(f"data: {source}, X {X.shape}, {args.seeds} seeds")

    scores = {name: ([], []) for name in [*CONFIGS, "MLPClassifier"]}
    default_models = []
    for seed in range(args.seeds):
        X_train, X_test, y_train, y_test = bench_ep.split(X, y, seed)
        for name, params in CONFIGS.items():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                model = bench_ep.EquilibriumPropagationClassifier(random_state=seed, **params)
                model.fit(X_train, y_train)
                scores[name][0].append(model.score(X_test, y_test))
                scores[name][1].append(model.score(X_train, y_train))
            if name == "defaults" and seed < 5:
                default_models.append(model)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            mlp = MLPClassifier((256, 128, 64), random_state=seed).fit(X_train, y_train)
        scores["MLPClassifier"][0].append(mlp.score(X_test, y_test))
        scores["MLPClassifier"][1].append(mlp.score(X_train, y_train))
    print("1. mean accuracy over the seeds (test, training):")
    for name, (test, train) in scores.items():
        print(f"   {name:45s} {np.mean(test):.4f}  {np.mean(train):.4f}")

    differing = 0
    largest = []
    for seed, model in enumerate(default_models):
        X_train, X_test, _, _ = bench_ep.split(X, y, seed)
        samples = np.vstack([X_test, X_train])
        over = bench_ep.copy.deepcopy(model)
        plain = bench_ep.copy.deepcopy(model).set_params(
            over_relaxation=1.0, relax_tol=1e-12, n_free_steps=100_000
        )
        out_over = over._output_activity(samples)
        out_plain = plain._output_activity(samples)
        differing += int(np.sum(out_over.argmax(axis=1) != out_plain.argmax(axis=1)))
        largest.append(np.abs(out_over - out_plain).max(axis=1))
    largest = np.concatenate(largest) if largest else np.zeros(0)
    print(
        f"2. over-relaxed free phase against plain sweeps to 1e-12, {largest.size} samples: "
        f"{differing} predictions differ; output difference at most "
        f"{np.sort(largest)[-2]:.4f} for all but one sample, {largest.max():.4f} for that one"
        if largest.size > 1
        else "2. (no default networks)"
    )

    X_train, _, y_train, _ = bench_ep.split(X, y, 2)
    print("3. training cost of split 2, 30 epochs, no early stopping (first, highest after the")
    print("   third epoch, last):")
    for rate in (0.005, 0.02):
        for omega in (1.4, 1.0):
            model = bench_ep.EquilibriumPropagationClassifier(
                learning_rate_init=rate,
                over_relaxation=omega,
                max_iter=30,
                early_stopping=False,
                random_state=2,
            ).fit(X_train, y_train)
            cost = np.asarray(model.loss_curve_)
            print(
                f"   rate {rate:<6g} over_relaxation {omega:<4g} {cost[0]:.3f}  "
                f"{cost[3:].max():.3f} (epoch {3 + int(np.argmax(cost[3:])) + 1})  {cost[-1]:.3f}"
            )


if __name__ == "__main__":
    main()
