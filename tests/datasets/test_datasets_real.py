"""The loaders and the features on real AML-Cytomorphology_LMU cells (skipped without them).

The images live beside the project (the ``real_cells`` fixture finds them); the resized
arrays are cached in a temporary folder shared by the tests of one session.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from qbloodcell.datasets import (
    AML_CYTOMORPHOLOGY_CLASSES,
    CLASS_MAPPINGS,
    load_aml_cytomorphology,
    load_image_folder,
)
from qbloodcell.datasets._loaders import detect_layout, load_class_tree
from qbloodcell.features import FEATURE_NAMES, BloodCellFeatures


@pytest.fixture(scope="module")
def sample(real_cells) -> Path:
    return real_cells / "aml_cytomorphology_sample"


@pytest.fixture(scope="module")
def myo_ngs(real_cells) -> Path:
    return real_cells / "matek_myo_ngs"


@pytest.fixture(scope="module")
def myo_ngs_cells(myo_ngs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the 13 classes not in the folder
        return load_aml_cytomorphology(myo_ngs)


def test_fifteen_class_sample_morphology(sample):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every class present, every file readable
        data = load_aml_cytomorphology(sample, target="morphology")
    assert data.target_names.tolist() == list(AML_CYTOMORPHOLOGY_CLASSES)
    assert np.bincount(data.target, minlength=15).tolist() == [10] * 15
    np.testing.assert_array_equal(data.target_names[data.target], data.class_names)
    assert data.images.shape == (150, 64, 64, 3)
    assert data.skipped_files == []
    # 400 x 400 RGBA and 360 x 360 RGB originals alike: light background, darker cell
    brightness = data.images.reshape(150, -1).mean(axis=1)
    assert np.all((brightness > 100) & (brightness < 235))
    assert np.all(data.images.reshape(150, -1).std(axis=1) > 15)


@pytest.mark.parametrize(
    ("mapping", "aml_classes"),
    [
        (None, {"MYO", "MOB", "PMO", "PMB"}),
        ("blast", {"MYO", "MOB", "PMO", "PMB"}),
        ("study", set(AML_CYTOMORPHOLOGY_CLASSES) - {"NGS", "LYT", "MON", "NGB"}),
    ],
)
def test_fifteen_class_sample_binary_mappings(sample, mapping, aml_classes):
    data = load_aml_cytomorphology(sample, class_mapping=mapping)
    assert data.target_names.tolist() == ["healthy", "AML"]
    np.testing.assert_array_equal(data.target == 1, np.isin(data.class_names, list(aml_classes)))
    assert np.bincount(data.target).tolist() == [150 - 10 * len(aml_classes), 10 * len(aml_classes)]


def test_study_mapping_without_some_classes_and_balanced(sample):
    mapping = {**CLASS_MAPPINGS["study"], "KSC": None, "LYA": None}
    data = load_aml_cytomorphology(
        sample, class_mapping=mapping, n_samples_per_class=30, random_state=0
    )
    assert np.bincount(data.target).tolist() == [30, 30]
    assert not {"KSC", "LYA"} & set(data.class_names.tolist())


def test_myo_ngs_folder_is_detected_and_labelled(myo_ngs, myo_ngs_cells):
    # folders named only with class codes: the dataset's layout, a subset of its classes
    assert detect_layout(myo_ngs) == ("tcia", myo_ngs)
    with pytest.warns(UserWarning, match="13 of the 15"):
        data, what = load_class_tree(myo_ngs)
    assert what == f"AML-Cytomorphology_LMU layout at {myo_ngs}, class_mapping=blast"
    assert data.images.shape == (800, 64, 64, 3)
    counts = {code: int(np.sum(data.class_names == code)) for code in ("MYO", "NGS")}
    assert counts == {"MYO": 400, "NGS": 400}
    np.testing.assert_array_equal(data.target, (data.class_names == "MYO").astype(int))
    np.testing.assert_array_equal(data.images, myo_ngs_cells.images)


def test_renamed_folders_are_a_folder_tree_with_the_same_images(myo_ngs, myo_ngs_cells, tmp_path):
    """The same real files under folder names that are not class codes (symbolic links)."""
    root = tmp_path / "my_cells"
    chosen = {}
    for code, name in [("MYO", "blasts"), ("NGS", "neutrophils")]:
        (root / name).mkdir(parents=True)
        for source in sorted((myo_ngs / code).glob("*.jpg"))[:40]:
            (root / name / source.name).symlink_to(source)
            chosen[str(root / name / source.name)] = str(source)
    assert detect_layout(root) == ("folder", root)
    mapping = {"blasts": "AML", "neutrophils": "healthy"}
    data, what = load_class_tree(root, class_mapping=mapping)
    assert what == f"class folders at {root} (2 classes), class_mapping=custom"
    assert np.bincount(data.target).tolist() == [40, 40]
    position = {name: i for i, name in enumerate(myo_ngs_cells.filenames.tolist())}
    originals = [position[chosen[name]] for name in data.filenames.tolist()]
    np.testing.assert_array_equal(data.images, myo_ngs_cells.images[originals])
    np.testing.assert_array_equal(data.target, myo_ngs_cells.target[originals])
    folders = load_image_folder(root, cache=False)
    assert folders.target_names.tolist() == ["blasts", "neutrophils"]


@pytest.fixture(scope="module")
def real_features(sample, myo_ngs_cells):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        fifteen = load_aml_cytomorphology(sample, target="morphology")
    images = np.concatenate([fifteen.images, myo_ngs_cells.images])
    return dict(zip(FEATURE_NAMES, BloodCellFeatures().fit_transform(images).T, strict=True))


def test_features_are_finite_and_plausible_on_real_cells(real_features):
    f = real_features
    assert all(np.isfinite(values).all() for values in f.values())
    n_pixels = 64 * 64
    for name in ("intensity_mean", "intensity_std", "intensity_min", "intensity_max"):
        assert np.all((f[name] >= 0) & (f[name] <= 1)), name
    assert np.all(f["intensity_min"] < f["intensity_median"])
    assert np.all(f["intensity_median"] < f["intensity_max"])
    # a light smear background around a darker stained cell
    assert np.all((f["intensity_mean"] > 0.3) & (f["intensity_mean"] < 0.95))
    assert np.all(f["intensity_std"] > 0.05)
    assert np.all(f["glcm_contrast"] > 0)
    for name in ("glcm_homogeneity", "glcm_energy"):
        assert np.all((f[name] > 0) & (f[name] <= 1)), name
    # neighbouring pixels of smooth microscope images are strongly correlated
    assert np.all((f["glcm_correlation"] > 0.5) & (f["glcm_correlation"] <= 1))
    # one white cell fills a part of the image, neither a speck nor all of it
    assert np.all((f["cell_area"] > 0.01 * n_pixels) & (f["cell_area"] < 0.75 * n_pixels))
    # no outline is shorter than a circle's of the same area (with slack for pixel edges)
    assert np.all(f["cell_perimeter"] >= 0.9 * 2 * np.sqrt(np.pi * f["cell_area"]))
    assert np.all((f["cell_eccentricity"] >= 0) & (f["cell_eccentricity"] < 1))
    assert np.all((f["cell_solidity"] > 0.3) & (f["cell_solidity"] <= 1))
    assert np.all((f["edge_density"] > 0) & (f["edge_density"] < 1))
    assert np.all(f["edge_magnitude_mean"] > 0)
    assert np.all(f["edge_magnitude_std"] > 0)
    low, high = f["fft_low_frequency_energy"], f["fft_high_frequency_energy"]
    assert np.all((low > 0) & (high >= 0) & (low + high <= 1 + 1e-12))
    # stained cells are blobs: most of the power at low frequencies
    assert np.all(low > high)
    assert np.all((f["fft_spectral_centroid"] > 0) & (f["fft_spectral_centroid"] < 2**0.5))


def test_features_separate_myeloblasts_from_neutrophils(myo_ngs_cells):
    features = BloodCellFeatures().fit_transform(myo_ngs_cells.images)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    accuracy = cross_val_score(model, features, myo_ngs_cells.target, cv=cv).mean()
    assert accuracy > 0.85
