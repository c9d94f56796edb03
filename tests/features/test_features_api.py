"""BloodCellFeatures as a scikit-learn transformer: API, errors, pipelines.

scikit-learn's common checks (those that need no data) run in ``tests/test_common.py``.
"""

from __future__ import annotations

import pickle

import joblib
import numba
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import qbloodcell
from qbloodcell.datasets import make_blood_cells
from qbloodcell.features import FEATURE_NAMES, BloodCellFeatures


def disks(n: int = 12, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Dark disks on a pale background; class 1 has larger disks."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[:48, :48]
    images, labels = [], []
    for index in range(n):
        label = index % 2
        radius = rng.uniform(6, 9) if label == 0 else rng.uniform(13, 17)
        center = 24 + rng.uniform(-4, 4, 2)
        inside = (rows - center[0]) ** 2 + (cols - center[1]) ** 2 < radius**2
        image = np.where(inside, 0.35, 0.85) + rng.normal(0, 0.03, (48, 48))
        images.append(np.clip(image, 0, 1))
        labels.append(label)
    return np.stack(images), np.array(labels)


def test_feature_names():
    assert isinstance(FEATURE_NAMES, tuple)
    assert len(FEATURE_NAMES) == len(set(FEATURE_NAMES)) == 20
    assert all(name.isidentifier() and name == name.lower() for name in FEATURE_NAMES)
    names = BloodCellFeatures().get_feature_names_out()
    assert names.dtype == object
    assert tuple(names) == FEATURE_NAMES
    assert qbloodcell.BloodCellFeatures is BloodCellFeatures


def test_get_feature_names_out_rejects_input_features():
    with pytest.raises(ValueError, match="input_features must be None"):
        BloodCellFeatures().get_feature_names_out(["a"])


def test_fit_is_stateless_and_transform_needs_no_fit():
    X, _ = disks(4)
    unfitted = BloodCellFeatures().transform(X)
    transformer = BloodCellFeatures()
    assert transformer.fit(X) is transformer
    assert transformer.n_features_out_ == 20
    assert not hasattr(transformer, "n_features_in_")
    np.testing.assert_array_equal(transformer.transform(X), unfitted)
    np.testing.assert_array_equal(BloodCellFeatures().fit_transform(X, np.zeros(4)), unfitted)


def test_set_output_pandas():
    pd = pytest.importorskip("pandas")
    X, _ = disks(3)
    frame = BloodCellFeatures().set_output(transform="pandas").fit_transform(X)
    assert isinstance(frame, pd.DataFrame)
    assert tuple(frame.columns) == FEATURE_NAMES
    np.testing.assert_array_equal(frame.to_numpy(), BloodCellFeatures().transform(X))


def test_clone_and_pickle():
    X, _ = disks(3)
    transformer = BloodCellFeatures(glcm_levels=32, edge_threshold=0.2, n_jobs=1).fit(X)
    cloned = clone(transformer)
    assert cloned.get_params() == transformer.get_params()
    restored = pickle.loads(pickle.dumps(transformer))
    assert restored.get_params() == transformer.get_params()
    np.testing.assert_array_equal(restored.transform(X), transformer.transform(X))


def test_pipeline_with_pca_learns_disk_size():
    X, y = disks(40)
    pipeline = make_pipeline(
        BloodCellFeatures(), StandardScaler(), PCA(4), LogisticRegression(max_iter=1000)
    )
    pipeline.fit(X[:30], y[:30])
    assert pipeline.score(X[30:], y[30:]) == 1.0
    # the feature step names the columns seen by the next steps
    assert tuple(pipeline[:1].get_feature_names_out()) == FEATURE_NAMES


def test_n_jobs_restores_thread_count():
    X, _ = disks(4)
    previous = numba.get_num_threads()
    for n_jobs in (1, -1, None, 64):
        BloodCellFeatures(n_jobs=n_jobs).transform(X)
        assert numba.get_num_threads() == previous


def test_n_jobs_follows_the_package_meaning(monkeypatch):
    # None: one thread unless joblib.parallel_config says otherwise; -1: all cores; never
    # more than numba's pool (qbloodcell._parallel.effective_n_jobs)
    from qbloodcell.features import _transformer

    seen = []
    original = _transformer.batch_features

    def spy(*args):
        seen.append(numba.get_num_threads())
        return original(*args)

    monkeypatch.setattr(_transformer, "batch_features", spy)
    X, _ = disks(2)
    pool = numba.config.NUMBA_NUM_THREADS
    BloodCellFeatures().transform(X)
    BloodCellFeatures(n_jobs=-1).transform(X)
    BloodCellFeatures(n_jobs=10_000).transform(X)
    with joblib.parallel_config(n_jobs=2):
        BloodCellFeatures().transform(X)
    assert seen == [1, min(joblib.cpu_count(), pool), pool, min(2, pool)]


@pytest.mark.parametrize(
    ("X", "error", "message"),
    [
        (np.zeros((0, 32, 32)), ValueError, "empty batch"),
        ([], ValueError, "empty batch"),
        (np.zeros((32, 32)), ValueError, "single 2-D array"),
        (np.zeros((2, 32, 32, 3, 1)), ValueError, "5 dimensions"),
        (np.zeros(5), ValueError, "1 dimensions"),
        (np.full((2, 32, 32), np.nan), ValueError, "NaN"),
        (np.zeros((2, 1, 1)), ValueError, "1 x 1 pixels"),
        (np.zeros((2, 32, 32, 2)), ValueError, "2 channels"),
        (np.full((2, 32, 32), 2.0), ValueError, r"\[0, 1\]"),
        ("image.png", TypeError, "got an object of type str"),
        (object(), TypeError, "got an object of type object"),
        ([np.zeros((16, 16)), "x"], TypeError, r"X\[1\] is not an image"),
        (np.zeros((2, 16, 16), dtype=np.int64), TypeError, "dtype int64"),
    ],
)
def test_bad_images_give_clear_errors(X, error, message):
    for method in ("fit", "transform", "fit_transform"):
        with pytest.raises(error, match=message):
            getattr(BloodCellFeatures(), method)(X)


@pytest.mark.parametrize(
    ("params", "error", "message"),
    [
        ({"image_size": 4}, ValueError, "image_size must be None or an integer from 8 to 1024"),
        ({"image_size": 2048}, ValueError, "image_size must be None or an integer from 8 to 1024"),
        ({"image_size": 64.0}, TypeError, "image_size"),
        ({"glcm_levels": 1}, ValueError, "glcm_levels must be an integer from 2 to 256"),
        ({"glcm_levels": 1000}, ValueError, "glcm_levels"),
        ({"glcm_distance": 0}, ValueError, "glcm_distance must be an integer >= 1"),
        ({"glcm_distance": 64}, ValueError, "glcm_distance=64 leaves no pixel pairs"),
        ({"edge_threshold": -0.1}, ValueError, "edge_threshold must be a finite real number >= 0"),
        ({"edge_threshold": float("nan")}, ValueError, "edge_threshold"),
        ({"low_frequency_cutoff": "low"}, TypeError, "low_frequency_cutoff"),
        (
            {"low_frequency_cutoff": 0.6, "high_frequency_cutoff": 0.5},
            ValueError,
            "high_frequency_cutoff must be at least low_frequency_cutoff",
        ),
        ({"n_jobs": 0}, ValueError, "n_jobs must be None"),
        ({"n_jobs": 1.5}, TypeError, "n_jobs must be None"),
    ],
)
def test_bad_parameters_give_clear_errors(params, error, message):
    X, _ = disks(2)
    with pytest.raises(error, match=message):
        BloodCellFeatures(**params).fit(X)
    with pytest.raises(error, match=message):
        BloodCellFeatures(**params).transform(X)


def test_no_nan_on_degenerate_images():
    rng = np.random.default_rng(0)
    X = np.stack(
        [
            np.zeros((16, 16)),
            np.ones((16, 16)),
            np.eye(16),
            (rng.random((16, 16)) < 0.01).astype(float),
            np.tile([0.0, 1.0], (16, 8)),
        ]
    )
    features = BloodCellFeatures(image_size=16).transform(X)
    assert np.isfinite(features).all()
    # the black and the white image: constant, so no cell and no spectrum
    np.testing.assert_array_equal(features[:2, 10:14], 0.0)
    np.testing.assert_array_equal(features[:2, 17:], 0.0)


def test_list_and_array_of_the_same_images_give_the_same_features():
    # issue 13: uint8 RGB smears as one array and as a list gave GLCM features up to 5e-3
    # apart (the gray conversion rounded differently, moving quantisation levels)
    X, _ = make_blood_cells(50, random_state=0, return_X_y=True)
    features = BloodCellFeatures()
    np.testing.assert_array_equal(features.transform(list(X)), features.transform(X))


def test_tags_declare_image_input():
    tags = BloodCellFeatures().__sklearn_tags__()
    assert tags.requires_fit is False
    assert tags.input_tags.two_d_array is False
    assert tags.input_tags.three_d_array is True


def test_synthetic_smear_images():
    bunch = make_blood_cells(4, image_size=48, random_state=0)
    features = BloodCellFeatures().fit_transform(bunch.images)
    assert features.shape == (len(bunch.images), 20)
    assert np.isfinite(features).all()
    # every smear image has a segmented cell with a non-trivial shape
    assert (features[:, 10] > 0).all()
    assert ((features[:, 13] > 0) & (features[:, 13] <= 1)).all()
