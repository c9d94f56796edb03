"""Tests of the synthetic blood-cell generator make_blood_cells."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from qbloodcell.datasets import make_blood_cells

AML_TYPES = {"myeloblast", "monoblast", "promyelocyte"}
HEALTHY_TYPES = {
    "neutrophil_segmented",
    "neutrophil_band",
    "lymphocyte",
    "monocyte",
    "eosinophil",
}


@pytest.fixture(scope="module")
def data():
    return make_blood_cells(60, random_state=0)


def test_bunch_fields_shapes_and_types(data):
    assert data.images.shape == (120, 64, 64, 3)
    assert data.images.dtype == np.uint8
    assert data.images.flags.c_contiguous
    assert data.target.dtype == np.int64
    assert data.target_names.tolist() == ["healthy", "AML"]
    assert np.bincount(data.target).tolist() == [60, 60]
    assert data.cell_type.shape == (120,)
    assert "class_overlap=0.4" in data.DESCR


def test_cell_types_match_target(data):
    aml = set(data.cell_type[data.target == 1].tolist())
    healthy = set(data.cell_type[data.target == 0].tolist())
    assert aml <= AML_TYPES
    assert healthy <= HEALTHY_TYPES
    # with 60 per class every type shows up at least once
    big = make_blood_cells(150, image_size=16, random_state=3)
    assert set(big.cell_type.tolist()) == AML_TYPES | HEALTHY_TYPES


def test_return_X_y_matches_bunch(data):
    images, target = make_blood_cells(60, random_state=0, return_X_y=True)
    np.testing.assert_array_equal(images, data.images)
    np.testing.assert_array_equal(target, data.target)


def test_same_seed_identical_bytes_and_no_global_state(data):
    np.random.seed(123)  # noqa: NPY002 - the global RNG must not influence the result
    again = make_blood_cells(60, random_state=0)
    assert again.images.tobytes() == data.images.tobytes()
    np.testing.assert_array_equal(again.cell_type, data.cell_type)
    other = make_blood_cells(60, random_state=1)
    assert other.images.tobytes() != data.images.tobytes()


def test_random_state_instance_advances():
    rng = np.random.RandomState(0)
    first = make_blood_cells(3, image_size=16, random_state=rng, return_X_y=True)[0]
    second = make_blood_cells(3, image_size=16, random_state=rng, return_X_y=True)[0]
    assert first.tobytes() != second.tobytes()


def test_shuffle_false_puts_healthy_first():
    target = make_blood_cells(5, image_size=16, shuffle=False, random_state=0).target
    assert target.tolist() == [0] * 5 + [1] * 5


@pytest.mark.parametrize("image_size", [8, 33, 96])
def test_image_size(image_size):
    images = make_blood_cells(2, image_size=image_size, random_state=0).images
    assert images.shape == (4, image_size, image_size, 3)


def test_looks_like_a_stained_smear(data):
    images = data.images.astype(float)
    corners = np.concatenate([images[:, :4, :4].reshape(-1, 3), images[:, -4:, -4:].reshape(-1, 3)])
    # the field is light and pinkish (red above green) wherever no cell covers it
    assert np.median(corners, axis=0)[0] > 170
    assert np.median(corners[:, 0]) > np.median(corners[:, 1])
    # the centred white cell (purple nucleus, blue or pink cytoplasm) is darker than the rim
    centre = images[:, 24:40, 24:40].mean(axis=(1, 2, 3))
    rim = images[:, :6].mean(axis=(1, 2, 3))
    assert np.mean(centre < rim) > 0.95
    # the nucleus stain absorbs green more than blue: the darkest pixels are purple
    darkest = images.reshape(len(images), -1, 3)[
        np.arange(len(images)), images.sum(axis=3).reshape(len(images), -1).argmin(axis=1)
    ]
    assert np.mean(darkest[:, 2] > darkest[:, 1]) > 0.95


def test_blasts_have_more_nucleus_than_neutrophils():
    data = make_blood_cells(100, class_overlap=0.0, random_state=2)
    images = data.images.astype(float)
    # nucleus pixels: green strongly absorbed
    nucleus_fraction = (images[..., 1] < 110).mean(axis=(1, 2))
    blasts = nucleus_fraction[data.cell_type == "myeloblast"]
    neutrophils = nucleus_fraction[data.cell_type == "neutrophil_segmented"]
    assert np.median(blasts) > 1.5 * np.median(neutrophils)


def _summary_features(images):
    x = images.astype(float) / 255
    gray = x.mean(axis=3)
    return np.column_stack(
        [
            gray.mean(axis=(1, 2)),
            gray.std(axis=(1, 2)),
            (gray < 0.5).mean(axis=(1, 2)),
            *(x[..., c].mean(axis=(1, 2)) for c in range(3)),
        ]
    )


def test_class_overlap_reduces_separability():
    scores = []
    for overlap in (0.0, 1.0):
        data = make_blood_cells(100, image_size=32, class_overlap=overlap, random_state=0)
        model = make_pipeline(StandardScaler(), LogisticRegression())
        scores.append(cross_val_score(model, _summary_features(data.images), data.target).mean())
    assert scores[0] > scores[1] + 0.08


@pytest.mark.parametrize("bad", [0, -3])
def test_bad_n_samples_value(bad):
    with pytest.raises(ValueError, match="n_samples_per_class must be an integer >= 1"):
        make_blood_cells(bad)


@pytest.mark.parametrize("bad", [2.5, "10", None, True])
def test_bad_n_samples_type(bad):
    with pytest.raises(TypeError, match="n_samples_per_class must be an int"):
        make_blood_cells(bad)


def test_bad_image_size():
    with pytest.raises(ValueError, match="image_size must be an integer >= 8"):
        make_blood_cells(2, image_size=4)
    with pytest.raises(TypeError, match="image_size"):
        make_blood_cells(2, image_size=32.0)


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan")])
def test_bad_class_overlap(bad):
    with pytest.raises(ValueError, match=r"class_overlap must be a real number in \[0, 1\]"):
        make_blood_cells(2, class_overlap=bad)


@pytest.mark.parametrize("bad", ["high", True])
def test_bad_class_overlap_type(bad):
    with pytest.raises(TypeError, match=r"class_overlap must be a real number in \[0, 1\]"):
        make_blood_cells(2, class_overlap=bad)


_FINGERPRINT = """
import hashlib, sys
import numpy as np
from qbloodcell.datasets import make_blood_cells
images = make_blood_cells(100, random_state=0).images
probe = np.exp(np.linspace(-10, 1, 100_003, dtype=np.float32))
print(hashlib.sha256(images.tobytes()).hexdigest(), hashlib.sha256(probe.tobytes()).hexdigest())
"""


def _fingerprint(env):
    import qbloodcell

    source = str(Path(qbloodcell.__file__).resolve().parents[1])
    env = {
        **os.environ,
        **env,
        "PYTHONPATH": source + os.pathsep + os.environ.get("PYTHONPATH", ""),
    }
    result = subprocess.run(
        [sys.executable, "-c", _FINGERPRINT], env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_same_bytes_whatever_the_simd_dispatch():
    """NumPy's wider SIMD paths (and OpenBLAS's kernels) off: the very same images.

    The float32 ``exp`` probe shows that switching the paths off changes results at all on
    this CPU; the images must not change.
    """
    from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__

    # only features this CPU has can be disabled (NumPy refuses the others)
    disabled = [name for name in __cpu_dispatch__ if __cpu_features__.get(name)]
    if not disabled:
        pytest.skip("this NumPy build dispatches to no optional CPU feature here")
    narrow = {"NPY_DISABLE_CPU_FEATURES": " ".join(disabled)}
    if platform.machine().lower() in {"x86_64", "amd64"}:
        narrow["OPENBLAS_CORETYPE"] = "Prescott"  # the SSE3 kernels of OpenBLAS
    default_images, default_probe = _fingerprint({})
    narrow_images, narrow_probe = _fingerprint(narrow)
    assert narrow_images == default_images
    if narrow_probe == default_probe:
        pytest.skip("disabling the SIMD paths changes no float32 exp here: not a sensitive check")
