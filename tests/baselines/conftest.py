"""Fixtures of the baselines tests: synthetic cell images and networks trained once per module."""

from __future__ import annotations

import numpy as np
import pytest


def draw_cells(
    n_per_class: int, *, n_classes: int = 2, image_size: int = 32, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Round stained cells whose nucleus grows with the class index, as uint8 RGB images.

    A stand-in for ``qbloodcell.datasets.make_blood_cells`` that these tests can rely on
    (it is not under test here): class ``k`` has a nucleus of radius ``0.2 + 0.17 k`` of
    the image half-width, drawn at a random position with colour noise.
    """
    rng = np.random.default_rng(seed)
    grid = np.linspace(-1.0, 1.0, image_size)
    yy, xx = np.meshgrid(grid, grid, indexing="ij")
    background = np.array([0.93, 0.86, 0.88])
    cytoplasm = np.array([0.80, 0.66, 0.80])
    nucleus = np.array([0.42, 0.24, 0.56])
    images, labels = [], []
    for label in range(n_classes):
        for _ in range(n_per_class):
            cx, cy = rng.uniform(-0.12, 0.12, size=2)
            distance = np.hypot(xx - cx, yy - cy)
            cell_radius = rng.uniform(0.68, 0.8)
            nucleus_radius = 0.2 + 0.17 * label + rng.uniform(-0.04, 0.04)
            image = np.broadcast_to(background, (image_size, image_size, 3)).copy()
            image[distance < cell_radius] = cytoplasm
            image[distance < nucleus_radius] = nucleus
            image += rng.normal(0.0, 0.04, size=image.shape)
            images.append(np.clip(image * 255.0, 0, 255).astype(np.uint8))
            labels.append(label)
    return np.stack(images), np.array(labels)


@pytest.fixture(scope="session")
def cells() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Two classes of 32 x 32 cells: 60 training and 30 test images per class."""
    X_train, y_train = draw_cells(60, seed=1)
    X_test, y_test = draw_cells(30, seed=2)
    return X_train, y_train, X_test, y_test


@pytest.fixture(scope="session")
def three_cell_types() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Three classes with string labels: 40 training and 20 test images per class."""
    names = np.array(["lymphocyte", "monocyte", "myeloblast"])
    X_train, y_train = draw_cells(40, n_classes=3, seed=3)
    X_test, y_test = draw_cells(20, n_classes=3, seed=4)
    return X_train, names[y_train], X_test, names[y_test]


@pytest.fixture(autouse=True)
def _seed_global_generators() -> None:
    """Seed torch's global generator (as skorch does), so any use of it would be visible.

    The estimators draw nothing from it; tests that compare two fits in one test would
    fail if they did, because the second fit would see an advanced global state.
    """
    try:
        import torch
    except ImportError:
        return
    torch.manual_seed(0)
