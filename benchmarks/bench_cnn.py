"""Speed and accuracy of the CNN baseline on 500 synthetic 64 x 64 cell images.

Fits :class:`qbloodcell.baselines.CNNClassifier` with its defaults to its early-stopping
point on an 80/20 stratified split (400 training, 100 test images) and prints the fit
time, the number of epochs and the test accuracy; where CUDA is available it repeats the
fit on the GPU. The images come from ``qbloodcell.datasets.make_blood_cells(250)`` when
that module exists, otherwise from a simple procedural stand-in drawn here (the output
says which). The dense pipeline is timed alongside when ``qbloodcell.features`` exists.

Run with ``python benchmarks/bench_cnn.py [--threads N] [--seed S]``.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from qbloodcell.baselines import CNNClassifier, make_dense_classifier


def draw_stand_in_cells(
    n_per_class: int, image_size: int = 64, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Two classes of stained round cells; class 1 has a larger, paler, textured nucleus.

    The nucleus-to-cell ratio of the two classes overlaps, so the task is not solved by
    one pixel count; an elliptical nucleus at a random angle and position, colour jitter
    and pixel noise make the images vary.
    """
    rng = np.random.default_rng(seed)
    grid = np.linspace(-1.0, 1.0, image_size)
    yy, xx = np.meshgrid(grid, grid, indexing="ij")
    images, labels = [], []
    for label in (0, 1):
        for _ in range(n_per_class):
            cx, cy = rng.uniform(-0.15, 0.15, size=2)
            cell_radius = rng.uniform(0.6, 0.85)
            ratio = rng.normal(0.45 if label == 0 else 0.62, 0.08)
            angle = rng.uniform(0, np.pi)
            elongation = rng.uniform(1.0, 1.4)
            u = (xx - cx) * np.cos(angle) + (yy - cy) * np.sin(angle)
            v = -(xx - cx) * np.sin(angle) + (yy - cy) * np.cos(angle)
            nucleus_distance = np.hypot(u * elongation, v / elongation)
            background = np.array([0.93, 0.87, 0.89]) + rng.normal(0, 0.02, 3)
            cytoplasm = np.array([0.78, 0.66, 0.80]) + rng.normal(0, 0.03, 3)
            nucleus = np.array([0.40, 0.22, 0.55]) + rng.normal(0, 0.04, 3)
            if label == 1:
                nucleus = nucleus + 0.08  # blasts: finer, paler chromatin
            image = np.broadcast_to(background, (image_size, image_size, 3)).copy()
            image[np.hypot(xx - cx, yy - cy) < cell_radius] = cytoplasm
            inside = nucleus_distance < ratio * cell_radius
            texture = rng.normal(0, 0.06 if label == 1 else 0.03, size=(image_size, image_size))
            image[inside] = nucleus + texture[inside, np.newaxis]
            image += rng.normal(0.0, 0.03, size=image.shape)
            images.append(np.clip(image * 255.0, 0, 255).astype(np.uint8))
            labels.append(label)
    return np.stack(images), np.array(labels)


def load_images(seed: int) -> tuple[np.ndarray, np.ndarray, str]:
    if importlib.util.find_spec("qbloodcell.datasets") is not None:
        datasets = importlib.import_module("qbloodcell.datasets")
        if hasattr(datasets, "make_blood_cells"):
            images, target = datasets.make_blood_cells(250, random_state=seed, return_X_y=True)
            return images, target, "qbloodcell.datasets.make_blood_cells(250)"
    images, target = draw_stand_in_cells(250, seed=seed)
    return images, target, "procedural stand-in of benchmarks/bench_cnn.py (250 per class)"


def _has_features() -> bool:
    try:
        from qbloodcell.features import BloodCellFeatures  # noqa: F401
    except ImportError:
        return False
    return True


def time_cnn(X_train, y_train, X_test, y_test, *, device: str, seed: int, n_jobs) -> None:
    cnn = CNNClassifier(device=device, n_jobs=n_jobs, random_state=seed)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        start = time.perf_counter()
        cnn.fit(X_train, y_train)
        fit_seconds = time.perf_counter() - start
    start = time.perf_counter()
    accuracy = cnn.score(X_test, y_test)
    predict_seconds = time.perf_counter() - start
    note = " (max_iter reached before early stopping)" if caught else ""
    print(
        f"CNN   {device:>5}: fit {fit_seconds:6.2f} s, {cnn.n_iter_:3d} epochs{note}, "
        f"best validation accuracy {cnn.best_validation_score_:.3f}, "
        f"test accuracy {accuracy:.3f}, predict {predict_seconds:.3f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--threads", type=int, default=None, help="torch threads (n_jobs; default: torch's own)"
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import torch

    images, target, source = load_images(args.seed)
    X_train, X_test, y_train, y_test = train_test_split(
        images, target, test_size=0.2, stratify=target, random_state=args.seed
    )
    print(f"data: {source}; {len(X_train)} training and {len(X_test)} test images")
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads by default, "
        f"{os.cpu_count()} CPUs, {platform.processor() or platform.machine()}"
    )
    # n_jobs=None would be one thread; the default measures torch's own thread count
    n_jobs = torch.get_num_threads() if args.threads is None else args.threads
    time_cnn(X_train, y_train, X_test, y_test, device="cpu", seed=args.seed, n_jobs=n_jobs)
    if torch.cuda.is_available():
        print(f"GPU: {torch.cuda.get_device_name(0)}")
        time_cnn(X_train, y_train, X_test, y_test, device="cuda", seed=args.seed, n_jobs=n_jobs)
    else:
        print("GPU: none available (CUDA fit skipped)")

    if _has_features():
        dense = make_dense_classifier(random_state=args.seed)
        start = time.perf_counter()
        dense.fit(X_train, y_train)
        fit_seconds = time.perf_counter() - start
        print(
            f"Dense  (features + MLP): fit {fit_seconds:6.2f} s (features included), "
            f"{dense[-1].n_iter_:3d} epochs, test accuracy {dense.score(X_test, y_test):.3f}"
        )
    else:
        print("Dense: qbloodcell.features not available, skipped")


if __name__ == "__main__":
    main()
