"""The built-in methods: their pipelines, the feature cache, and a tiny real run."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from qbloodcell.benchmark import run_benchmark
from qbloodcell.benchmark._methods import DEFAULT_METHODS, resolve_methods
from qbloodcell.datasets import make_blood_cells


def small_images(n_per_class=20):
    return make_blood_cells(n_per_class, random_state=0, return_X_y=True)


def test_the_study_pipelines():
    from sklearn.decomposition import PCA
    from sklearn.neural_network import MLPClassifier
    from sklearn.preprocessing import MinMaxScaler, StandardScaler

    from qbloodcell.ep import EquilibriumPropagationClassifier
    from qbloodcell.features import BloodCellFeatures
    from qbloodcell.quantum import VQCClassifier

    specs = {
        spec.name: spec
        for spec in resolve_methods(["dense", "ep", "vqc", "vqc-study"], quick=False)
    }
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
    vqc = specs["vqc-study"].build(7)
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
    study = vqc[-1].get_params()
    assert (study["feature_map_reps"], study["ansatz_reps"]) == (2, 1)
    assert study["input_scaling"] is None
    assert study["optimizer"] == "COBYLA"
    # the design card: the library's defaults, with the input scaling inside the classifier
    card = specs["vqc"].build(7)
    assert [type(step) for _, step in card.steps] == [BloodCellFeatures, PCA, VQCClassifier]
    assert card[1].n_components == 4
    default = VQCClassifier().get_params()
    assert {k: v for k, v in card[-1].get_params().items() if k != "random_state"} == {
        k: v for k, v in default.items() if k != "random_state"
    }
    assert card[-1].random_state == 7


def test_quick_preset_shortens_training_only():
    study = resolve_methods(["ep"], quick=False)[0].build(0)
    quick = resolve_methods(["ep"], quick=True)[0].build(0)
    assert quick[-1].max_iter < study[-1].max_iter


def test_feature_cache_gives_the_same_results_and_charges_feature_time():
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
    """Every built-in method, 10 images per class, one seed, quick settings.

    The CNN needs torch, an optional dependency: without it the CNN is left out.
    """
    names = [
        name
        for name in DEFAULT_METHODS
        if name != "cnn" or importlib.util.find_spec("torch") is not None
    ]
    result = run_benchmark(
        methods=names, sizes=[10], n_seeds=1, quick=True, out=tmp_path, progress=False
    )
    assert [r["method"] for r in result.runs] == names
    for row in result.runs:
        assert row["status"] == "ok", row
        assert 0 <= row["accuracy"] <= 1
        assert np.isfinite(row["train_seconds"])
    assert (tmp_path / "table.md").exists()


def test_built_in_methods_leave_n_jobs_to_the_runner():
    # run_benchmark shares the cores out between the fits through joblib.parallel_config,
    # which only steps with n_jobs=None follow; the CNN alone is fixed at one torch thread,
    # as torch's results depend on the thread count
    for spec in resolve_methods(list(DEFAULT_METHODS), quick=False):
        estimator = spec.build(0)
        n_jobs = {k: v for k, v in estimator.get_params().items() if k.endswith("n_jobs")}
        assert n_jobs, spec.name
        expected = {1} if spec.name == "cnn" else {None}
        assert set(n_jobs.values()) == expected, (spec.name, n_jobs)


@pytest.mark.slow
def test_every_default_method_gives_the_same_numbers_whatever_n_jobs():
    """Serial (every core for one fit) and two loky workers (one core each): same rows.

    The CNN is part of it when torch is installed: it runs on one torch thread whatever
    the runner's budget, as torch's sums depend on the thread count.
    """
    names = [
        name
        for name in DEFAULT_METHODS
        if name != "cnn" or importlib.util.find_spec("torch") is not None
    ]
    kwargs = {"methods": names, "sizes": [10], "n_seeds": 2, "quick": True, "progress": False}
    serial = run_benchmark(**kwargs)
    parallel = run_benchmark(n_jobs=2, **kwargs)
    keys = ("method", "n_samples_per_class", "seed", "accuracy", "balanced_accuracy", "roc_auc")
    assert [tuple(r[k] for k in keys) for r in serial.runs] == [
        tuple(r[k] for k in keys) for r in parallel.runs
    ]
    assert all(r["status"] == "ok" for r in serial.runs + parallel.runs)
    # the thread budget is recorded: all cores for one fit, one core each for two
    import joblib

    assert {r["n_threads"] for r in serial.runs} == {max(1, joblib.cpu_count())}
    assert {r["n_threads"] for r in parallel.runs} == {max(1, joblib.cpu_count() // 2)}


def test_a_method_whose_package_is_missing_is_unavailable_before_any_fit(monkeypatch, tmp_path):
    from qbloodcell.benchmark import _plan

    real = _plan._find_spec
    monkeypatch.setattr(_plan, "_find_spec", lambda name: None if name == "torch" else real(name))
    with pytest.warns(UserWarning, match="'cnn' is unavailable: ImportError: cnn needs torch"):
        result = run_benchmark(
            methods=["cnn", "dense"], sizes=[10], n_seeds=1, out=tmp_path, progress=False
        )
    assert list(result.unavailable) == ["cnn"]
    assert [r["method"] for r in result.runs] == ["dense"]
    import json

    summary = json.loads((tmp_path / "summary.json").read_text())
    assert "cnn needs torch" in summary["unavailable"]["cnn"]
    # a resume has nothing to retry for the unavailable method
    with pytest.warns(UserWarning, match="'cnn' is unavailable"):
        again = run_benchmark(
            methods=["cnn", "dense"],
            sizes=[10],
            n_seeds=1,
            out=tmp_path,
            resume=True,
            progress=False,
        )
    assert [r["method"] for r in again.runs] == ["dense"]


@pytest.mark.parametrize("size", [5, 6])
def test_sizes_too_small_for_early_stopping_are_refused_in_words(size):
    with pytest.raises(
        ValueError,
        match=rf"dense holds out validation_fraction=0.1 .* at {size} images per class .* choose sizes of at least 7",
    ):
        run_benchmark(methods=["dense"], sizes=[size, 20], n_seeds=1, progress=False)


def test_a_class_too_small_is_named():
    # synthetic labels are integers; the message gives their names
    from qbloodcell.benchmark._plan import check_sizes

    y = np.repeat([0, 1], [30, 12])
    with pytest.raises(ValueError, match=r"Cannot draw 20 images per class \(sizes\): AML has 12"):
        check_sizes(y, [10, 20], {0: "healthy", 1: "AML"})


def test_warm_up_is_timed_apart_once_per_process():
    result = run_benchmark(methods=["ep"], sizes=[10], n_seeds=3, quick=True, progress=False)
    warm = [r["warm_up_seconds"] for r in result.runs]
    # at most the first fit of the process is preceded by a warm-up (0 if an earlier test
    # of this process warmed EP up already); never the later ones
    assert warm[1:] == [0.0, 0.0]
    assert result.config["warm_up_seconds"] == {"ep": pytest.approx(sum(warm))}


@pytest.mark.slow
def test_the_cnn_gives_the_same_numbers_whatever_n_jobs_at_100_per_class():
    """The case of the report: --quick, 100 per class, seed 0, serial against --n-jobs 2.

    With torch following the runner's thread budget (2 threads serially, 1 in a worker of
    two) the accuracies were 72.5 % and 67.5 %; at 10 per class both are at chance, so the
    tiny run above cannot tell.
    """
    pytest.importorskip("torch")
    kwargs = {"methods": ["cnn"], "sizes": [100], "n_seeds": 1, "quick": True, "progress": False}
    serial = run_benchmark(**kwargs)
    parallel = run_benchmark(n_jobs=2, **kwargs)
    keys = ("accuracy", "balanced_accuracy", "roc_auc")
    assert [r[k] for r in serial.runs for k in keys] == [r[k] for r in parallel.runs for k in keys]
    assert serial.runs[0]["accuracy"] > 0.55  # learnt something: the comparison means something
