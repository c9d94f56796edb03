"""Figure of the docs' bandwidth page: VQC accuracy against the encoding bandwidth.

The design card ``BloodCellFeatures() -> PCA(4) -> VQCClassifier(bandwidth=b)`` with every
other parameter at its default, on the real Matek MYO vs NGS images (250 per class, 5
seeds of stratified 80/20 splits; skipped when ``../shared/data`` is absent) and on
``make_blood_cells`` (250 per class), against a logistic regression on the same four PCA
components. The curve shows held-out accuracy for every bandwidth; it is a picture of
the trade-off, not how the default was chosen (that is ``bench_vqc_bandwidth.py``, by
cross-validation on training splits).

Run from the project root: ``python benchmarks/plot_vqc_bandwidth.py [--out PATH]``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from threadpoolctl import threadpool_limits

from bench_vqc_bandwidth import balanced_subset, real_features, synthetic_features
from qbloodcell.quantum import VQCClassifier

BANDWIDTHS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0)


def split(X: np.ndarray, y: np.ndarray, seed: int) -> list[np.ndarray]:
    return train_test_split(X, y, test_size=0.2, stratify=y, random_state=seed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", default=str(Path(__file__).resolve().parents[1] / "docs/_static/vqc_bandwidth.png")
    )
    args = parser.parse_args()
    seeds = range(5)
    data = {}
    real = real_features()
    if real is not None:
        data["real MYO vs NGS"] = [split(*balanced_subset(*real, s), s) for s in seeds]
    data["synthetic"] = [split(*synthetic_features(s), s) for s in seeds]
    default = VQCClassifier().bandwidth
    fig, axes = plt.subplots(1, len(data), figsize=(5.5 * len(data), 4), squeeze=False)
    for ax, (name, splits) in zip(axes[0], data.items(), strict=True):
        means, lows, highs = [], [], []
        for bandwidth in BANDWIDTHS:
            scores = [
                make_pipeline(PCA(4), VQCClassifier(bandwidth=bandwidth, random_state=0))
                .fit(X_train, y_train)
                .score(X_test, y_test)
                for X_train, X_test, y_train, y_test in splits
            ]
            means.append(100 * np.mean(scores))
            lows.append(100 * min(scores))
            highs.append(100 * max(scores))
            print(f"{name}: bandwidth {bandwidth:5.2f}: {means[-1]:5.1f} %", flush=True)
        logistic = 100 * np.mean(
            [
                make_pipeline(PCA(4), LogisticRegression(max_iter=1000))
                .fit(X_train, y_train)
                .score(X_test, y_test)
                for X_train, X_test, y_train, y_test in splits
            ]
        )
        print(f"{name}: logistic regression on the same components: {logistic:.1f} %")
        ax.fill_between(BANDWIDTHS, lows, highs, alpha=0.2, label="VQC, min to max over seeds")
        ax.plot(BANDWIDTHS, means, "o-", label="VQC, mean of 5 seeds")
        ax.axhline(logistic, color="black", linestyle="--", label="logistic regression, PCA(4)")
        ax.axhline(50, color="gray", linestyle=":", label="chance")
        ax.axvline(default, color="tab:red", alpha=0.4, label=f"default bandwidth {default:g}")
        ax.set_xscale("log")
        ax.set_xticks(BANDWIDTHS, [f"{b:g}" for b in BANDWIDTHS])
        ax.set_xlabel("bandwidth (width of the angle range, radians)")
        ax.set_ylabel("test accuracy (%)")
        ax.set_title(name)
        ax.set_ylim(40, 100)
    axes[0][-1].legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    fig.savefig(args.out, dpi=110)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    with threadpool_limits(1):
        main()
