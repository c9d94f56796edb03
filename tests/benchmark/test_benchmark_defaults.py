"""The built-in methods: their pipelines, the feature cache, and a tiny real run.

Each test skips when the component it needs is not importable.
"""

from __future__ import annotations

import importlib

import numpy as np
import pytest

from qbloodcell.benchmark import run_benchmark
from qbloodcell.benchmark._methods import DEFAULT_METHODS, resolve_methods

COMPONENTS = {
    "cnn": "qbloodcell.baselines",
    "dense": "qbloodcell.baselines",
    "ep": "qbloodcell.ep",
    "vqc": "qbloodcell.quantum",
    "qsvc": "qbloodcell.quantum",
}


def available(name):
    try:
        DEFAULT_METHODS[name].factory(random_state=0)
    except (ImportError, AttributeError):
        return False
    return True


def require(*names):
    missing = [name for name in names if not available(name)]
    if missing:
        pytest.skip(f"components of {missing} not importable yet")


def small_images(n_per_class=20):
    datasets = pytest.importorskip("qbloodcell.datasets")
    if not hasattr(datasets, "make_blood_cells"):
        pytest.skip("make_blood_cells not available yet")
    return datasets.make_blood_cells(n_per_class, random_state=0, return_X_y=True)


def test_the_study_pipelines():
    require("dense", "ep", "vqc")
    from sklearn.decomposition import PCA
    from sklearn.neural_network import MLPClassifier
    from sklearn.preprocessing import MinMaxScaler, StandardScaler

    from qbloodcell.ep import EquilibriumPropagationClassifier
    from qbloodcell.features import BloodCellFeatures
    from qbloodcell.quantum import VQCClassifier

    specs = {spec.name: spec for spec in resolve_methods(["dense", "ep", "vqc"], quick=False)}
    dense = specs["dense"].build(7)
    assert [type(step) for _, step in dense.steps] == [
        BloodCellFeatures,
        StandardScaler,
        MLPClassifier,
    ]
    assert dense[-1].random_state == 7
    ep = specs["ep"].build(7)
    assert [type(step) for _, step in ep.steps] == [
        BloodCellFeatures,
        StandardScaler,
        EquilibriumPropagationClassifier,
    ]
    assert ep[-1].random_state == 7
    vqc = specs["vqc"].build(7)
    assert [type(step) for _, step in vqc.steps] == [
        BloodCellFeatures,
        StandardScaler,
        PCA,
        MinMaxScaler,
        VQCClassifier,
    ]
    assert vqc[2].n_components == 4
    assert vqc[3].feature_range == (0, 2)
    assert vqc[-1].random_state == 7


def test_quick_preset_shortens_training_only():
    require("ep")
    study = resolve_methods(["ep"], quick=False)[0].build(0)
    quick = resolve_methods(["ep"], quick=True)[0].build(0)
    assert quick[-1].max_iter < study[-1].max_iter


def test_feature_cache_gives_the_same_results_and_charges_feature_time():
    require("dense")
    images, y = small_images(30)
    kwargs = {
        "methods": ["dense"],
        # subsets smaller than the pool: the cache then holds only some of the images,
        # and each run must still get the features and labels of its own images
        "sizes": [10, 12],
        "n_seeds": 1,
        "data": (images, y),
        "progress": False,
        "random_state": 1,
    }
    cached = run_benchmark(**kwargs)
    direct = run_benchmark(cache_features=False, **kwargs)
    for a, b in zip(cached.runs, direct.runs, strict=True):
        assert (a["n_samples_per_class"], a["seed"]) == (b["n_samples_per_class"], b["seed"])
        for metric in ("accuracy", "balanced_accuracy", "roc_auc"):
            assert a[metric] == b[metric], (a, b)
        assert a["status"] == b["status"] == "ok"
        # the cached run is charged the measured feature seconds of its images
        assert a["feature_seconds"] > 0
        assert b["feature_seconds"] == 0
        share = a["feature_seconds"] * a["n_train"] / (a["n_train"] + a["n_test"])
        assert a["train_seconds"] > share


def test_synthetic_default_data_and_morphology_target():
    require("dense")
    small_images(5)
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from qbloodcell.features import BloodCellFeatures

    binary = run_benchmark(methods=["dense"], sizes=[10], n_seeds=1, progress=False)
    assert binary.config["data"].startswith("synthetic images, make_blood_cells(")
    assert binary.config["n_classes"] == 2
    assert binary.runs[0]["status"] == "ok"
    # the rarer synthetic cell types need a larger pool than the binary task: the runner
    # makes one large enough for the rarest type
    model = make_pipeline(BloodCellFeatures(), StandardScaler(), LogisticRegression())
    morphology = run_benchmark(
        methods={"lr": model}, sizes=[5], n_seeds=1, target="morphology", progress=False
    )
    n_classes = morphology.config["n_classes"]
    assert n_classes > 2
    assert morphology.runs[0]["n_test"] == n_classes
    assert 0 <= morphology.runs[0]["roc_auc"] <= 1


@pytest.mark.slow
def test_all_default_methods_on_a_tiny_run(tmp_path):
    """Every importable built-in method, 10 images per class, one seed, quick settings."""
    names = [name for name in DEFAULT_METHODS if available(name)]
    if not names:
        pytest.skip("no built-in method importable yet")
    for module in {COMPONENTS[name] for name in names}:
        importlib.import_module(module)
    result = run_benchmark(
        methods=names, sizes=[10], n_seeds=1, quick=True, out=tmp_path, progress=False
    )
    assert [r["method"] for r in result.runs] == names
    for row in result.runs:
        assert row["status"] == "ok", row
        assert 0 <= row["accuracy"] <= 1
        assert np.isfinite(row["train_seconds"])
    assert (tmp_path / "table.md").exists()
