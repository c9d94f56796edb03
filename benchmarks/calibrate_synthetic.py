"""Synthetic against real cells: the calibration table and figure of make_blood_cells.

Loads the real myeloblasts (MYO) and segmented neutrophils (NGS) at 64 x 64 with the
project's loader, renders synthetic cells with ``make_blood_cells`` (default
``class_overlap``), computes the 20 features of ``BloodCellFeatures`` for both, and prints:

- per feature, the real and synthetic effect sizes (MYO minus NGS, in root-mean class sds)
  and their difference, and per class the synthetic mean's offset in real sds (targets:
  every difference within 0.35, every offset within 0.5);
- the accuracy on all real MYO vs NGS images of a logistic regression (standardised, on
  the 20 features) trained on synthetic myeloblasts vs segmented neutrophils, and on
  synthetic AML vs healthy (target: >= 95 % for the first).

With ``--figure`` it writes the per-feature distributions (real filled, synthetic outlined).

    python benchmarks/calibrate_synthetic.py --data ../shared/data/matek_myo_ngs \\
        --figure docs/_static/calibration/features_after.png

``--data`` may be any folder with one sub-folder per class (``MYO``/``NGS`` or, with
``--classes``, your own names for the blast and the neutrophil folder).
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from qbloodcell.calibration import compare_feature_distributions, plot_feature_distributions
from qbloodcell.datasets import load_image_folder, make_blood_cells
from qbloodcell.features import BloodCellFeatures

TARGET_EFFECT_SIZE = 0.35
TARGET_MEAN_OFFSET = 0.5
TARGET_ACCURACY = 0.95


def real_sample(folder: Path, blast: str, neutrophil: str) -> tuple[np.ndarray, np.ndarray]:
    """Real features and labels (1 = blast, 0 = neutrophil) at 64 x 64."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        data = load_image_folder(folder, image_size=64)
    names = data.target_names[data.target]
    keep = np.isin(names, [blast, neutrophil])
    X = BloodCellFeatures().fit_transform(data.images[keep])
    return X, (names[keep] == blast).astype(np.int64)


def synthetic_sample(n_per_class: int, seed: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Synthetic features: myeloblast vs segmented neutrophil, and AML vs healthy."""
    data = make_blood_cells(n_per_class, random_state=seed)
    X = BloodCellFeatures().fit_transform(data.images)
    pair = np.isin(data.cell_type, ["myeloblast", "neutrophil_segmented"])
    return {
        "myeloblast vs neutrophil_segmented": (
            X[pair],
            (data.cell_type[pair] == "myeloblast").astype(np.int64),
        ),
        "AML vs healthy": (X, data.target),
    }


def transfer_accuracy(train: tuple[np.ndarray, np.ndarray], real_X, real_y) -> float:
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000))
    model.fit(*train)
    return float(model.score(real_X, real_y))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data/matek_myo_ngs"))
    parser.add_argument("--classes", nargs=2, default=["MYO", "NGS"], metavar=("BLAST", "NGS"))
    parser.add_argument("--n-per-class", type=int, default=1000, help="synthetic images per class")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--figure", type=Path, default=None)
    args = parser.parse_args()

    start = time.perf_counter()
    real_X, real_y = real_sample(args.data, *args.classes)
    synthetic = synthetic_sample(args.n_per_class, args.seed)
    pair_X, pair_y = synthetic["myeloblast vs neutrophil_segmented"]
    print(
        f"real: {np.sum(real_y == 1)} {args.classes[0]}, {np.sum(real_y == 0)} "
        f"{args.classes[1]}; synthetic: {np.sum(pair_y == 1)} myeloblasts, "
        f"{np.sum(pair_y == 0)} segmented neutrophils (make_blood_cells({args.n_per_class}, "
        f"random_state={args.seed}))\n"
    )
    result = compare_feature_distributions(real_X, real_y, pair_X, pair_y)
    print(
        f"{'feature':28s} {'d real':>7s} {'d synth':>7s} {'diff':>6s}   "
        f"{'offset NGS':>10s} {'offset MYO':>10s}"
    )
    for j, name in enumerate(result.feature_names):
        diff = result.effect_size_difference[j]
        offsets = (result.mean_offset_0[j], result.mean_offset_1[j])
        flag = ("d" if abs(diff) > TARGET_EFFECT_SIZE else " ") + (
            "m" if max(map(abs, offsets)) > TARGET_MEAN_OFFSET else " "
        )
        print(
            f"{name:28s} {result.real_effect_size[j]:7.2f} {result.synthetic_effect_size[j]:7.2f} "
            f"{diff:6.2f}   {offsets[0]:10.2f} {offsets[1]:10.2f}  {flag}"
        )
    n_effect = int(np.sum(np.abs(result.effect_size_difference) <= TARGET_EFFECT_SIZE))
    offsets = np.abs(np.stack([result.mean_offset_0, result.mean_offset_1]))
    n_offset = int(np.sum(offsets <= TARGET_MEAN_OFFSET))
    print(
        f"\nmax |effect size difference| {result.max_abs_effect_size_difference:.2f} "
        f"(target {TARGET_EFFECT_SIZE}); within target: {n_effect}/{len(result.feature_names)}"
    )
    print(
        f"max |mean offset| {result.max_abs_mean_offset:.2f} real sds (target "
        f"{TARGET_MEAN_OFFSET}); within target: {n_offset}/{offsets.size}"
    )
    for label, train in synthetic.items():
        accuracy = transfer_accuracy(train, real_X, real_y)
        print(f"LR trained on synthetic {label}, accuracy on real: {accuracy:.4f}")
    if args.figure is not None:
        figure = plot_feature_distributions(
            real_X, real_y, pair_X, pair_y, class_names=["NGS", "MYO"], n_columns=5
        )
        args.figure.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(args.figure, dpi=80)
        print(f"figure: {args.figure}")
    print(f"({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
