"""How VQCClassifier's defaults were chosen: cross-validation over bandwidth, reps and budget.

For each seed the data are split 80/20 (stratified); every configuration is scored by
3-fold cross-validation on the *training* part only (of the first three seeds), and the
configuration with the best mean cross-validation accuracy over those seeds and both data
sets is reported as the choice; a second stage picks the evaluation budget the same way. Only then is the held-out test part used, once per seed, to report the test
accuracy of that choice beside a logistic regression on the same four PCA components.

Pipeline: the design card, ``BloodCellFeatures() -> PCA(4) -> VQCClassifier(...)`` (the
features are computed once per image; PCA and the classifier are refitted in every fold).

Data: the real Matek myeloblasts (MYO) and segmented neutrophils (NGS) in
``../shared/data/matek_myo_ngs`` (skipped with a message when absent), 250 per class per
seed, and ``make_blood_cells`` with 250 per class.

Run from the project root: ``python benchmarks/bench_vqc_bandwidth.py [--quick]``.
"""

from __future__ import annotations

import argparse
import itertools
import time
from pathlib import Path

import numpy as np
from sklearn.base import clone
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from threadpoolctl import threadpool_limits

from qbloodcell import BloodCellFeatures, make_blood_cells
from qbloodcell.quantum import STUDY_VQC_SETTINGS, VQCClassifier

REAL = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "matek_myo_ngs"
N_PER_CLASS = 250


def real_features() -> tuple[np.ndarray, np.ndarray] | None:
    if not REAL.is_dir():
        print(f"real images not available ({REAL.resolve()} is absent): synthetic data only")
        return None
    from qbloodcell.datasets import load_image_folder

    bunch = load_image_folder(REAL, image_size=64, n_jobs=2)
    return BloodCellFeatures().fit_transform(bunch.images), np.asarray(bunch.target)


def synthetic_features(seed: int) -> tuple[np.ndarray, np.ndarray]:
    bunch = make_blood_cells(n_samples_per_class=N_PER_CLASS, random_state=seed)
    return BloodCellFeatures().fit_transform(bunch.images), np.asarray(bunch.target)


def balanced_subset(X: np.ndarray, y: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    keep = np.concatenate(
        [rng.choice(np.flatnonzero(y == label), N_PER_CLASS, replace=False) for label in (0, 1)]
    )
    return X[keep], y[keep]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 seeds and a small grid")
    args = parser.parse_args()
    seeds = range(2) if args.quick else range(5)
    # the grid is cross-validated on the training parts of the first three seeds (cost);
    # the test parts of all five are used once, for the chosen configuration
    cv_seeds = range(2) if args.quick else range(3)
    grid = {
        "input_scaling": ["minmax", "standard"],
        "bandwidth": [0.25, 0.5, 1.0, 2.0] if not args.quick else [0.5, 2.0],
        "feature_map_reps": [1, 2],
        "ansatz": ["real_amplitudes", "efficient_su2"],
        "ansatz_reps": [1, 3] if not args.quick else [1],
    }
    configs = [dict(zip(grid, values, strict=True)) for values in itertools.product(*grid.values())]
    real = real_features()
    datasets: dict[str, list[tuple[np.ndarray, ...]]] = {"synthetic": [], "real": []}
    for seed in seeds:
        X, y = synthetic_features(seed)
        datasets["synthetic"].append(
            tuple(train_test_split(X, y, test_size=0.2, stratify=y, random_state=seed))
        )
        if real is not None:
            Xr, yr = balanced_subset(*real, seed)
            datasets["real"].append(
                tuple(train_test_split(Xr, yr, test_size=0.2, stratify=yr, random_state=seed))
            )
    datasets = {name: splits for name, splits in datasets.items() if splits}

    def model(config: dict) -> object:
        # every parameter the grid does not set is fixed here, not taken from the defaults
        # (which this script chose): stage 1 runs 200 evaluations
        fixed = {"optimizer": "nlopt-COBYLA", "entanglement": "full", "max_iter": 200}
        return make_pipeline(PCA(4), VQCClassifier(random_state=0, **{**fixed, **config}))

    def cross_validate(config: dict) -> np.ndarray:
        scores = []
        for splits in datasets.values():
            per_seed = []
            for seed, (X_train, _, y_train, _) in zip(cv_seeds, splits, strict=False):
                folds = StratifiedKFold(3, shuffle=True, random_state=seed)
                per_seed.append(cross_val_score(model(config), X_train, y_train, cv=folds).mean())
            scores.append(np.mean(per_seed))
        return np.asarray(scores)

    def show(config: dict, scores: np.ndarray) -> None:
        row = "  ".join(f"{name} {100 * s:5.1f}" for name, s in zip(datasets, scores, strict=True))
        print(f"{config}: CV {row}", flush=True)

    started = time.perf_counter()
    cv_scores = np.zeros((len(configs), len(datasets)))
    for c, config in enumerate(configs):
        cv_scores[c] = cross_validate(config)
        show(config, cv_scores[c])
    print(f"grid: {len(configs)} configurations in {time.perf_counter() - started:.0f} s")
    best = int(np.argmax(cv_scores.mean(axis=1)))
    print(f"\nchosen by mean CV accuracy over both data sets: {configs[best]}")
    for d, name in enumerate(datasets):
        here = int(np.argmax(cv_scores[:, d]))
        print(f"  best on {name} alone: {configs[here]} (CV {100 * cv_scores[here, d]:.1f} %)")

    # stage 2: the neighbourhood of the stage-1 choice, with the evaluation budget
    base = configs[best]
    # the chosen bandwidth and the geometric midpoints towards its neighbours in the grid
    widths = sorted(grid["bandwidth"])
    at = widths.index(base["bandwidth"])
    around = [widths[i] for i in (at - 1, at + 1) if 0 <= i < len(widths)]
    neighbours = sorted(
        {base["bandwidth"], *(round((base["bandwidth"] * w) ** 0.5, 3) for w in around)}
    )
    refine = {
        "bandwidth": neighbours,
        "ansatz_reps": sorted({base["ansatz_reps"], base["ansatz_reps"] + 2}),
        "max_iter": [200, 400] if args.quick else [200, 400, 800],
    }
    print(f"\nstage 2 around the stage-1 choice: {refine}")
    stage2 = [
        {**base, **dict(zip(refine, values, strict=True))}
        for values in itertools.product(*refine.values())
    ]
    stage2_scores = np.zeros((len(stage2), len(datasets)))
    for c, config in enumerate(stage2):
        stage2_scores[c] = cross_validate(config)
        show(config, stage2_scores[c])
    chosen = stage2[int(np.argmax(stage2_scores.mean(axis=1)))]
    print(f"chosen: {chosen}")
    configs[best] = chosen

    print("\ntest accuracy (held-out 20 %), per seed:")
    study = make_pipeline(
        PCA(4),
        VQCClassifier(
            **{
                **STUDY_VQC_SETTINGS,
                "input_scaling": "minmax",
                "bandwidth": 2.0,
                "optimizer": "nlopt-COBYLA",
            },
            random_state=0,
        ),
    )
    references = {
        "VQC, chosen configuration": model(configs[best]),
        "VQC, study's circuit at angles [0, 2]": study,
        "logistic regression on the same PCA(4)": make_pipeline(
            PCA(4), LogisticRegression(max_iter=1000)
        ),
    }
    for name, splits in datasets.items():
        for label, estimator in references.items():
            scores = [
                clone(estimator).fit(X_train, y_train).score(X_test, y_test)
                for X_train, X_test, y_train, y_test in splits
            ]
            print(
                f"  {name:9s} {label:40s} {100 * np.mean(scores):5.1f} % "
                f"(min {100 * min(scores):.1f}, max {100 * max(scores):.1f})"
            )


if __name__ == "__main__":
    with threadpool_limits(1):
        main()
