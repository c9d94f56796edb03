"""run_benchmark: the protocol, metrics, unavailable methods, failures, parallel backends.

The machinery is tested with cheap scikit-learn estimators on small fake data, so these tests
depend neither on the study's components nor on their speed.
"""

from __future__ import annotations

import math
from typing import ClassVar

import joblib
import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.utils.validation import check_is_fitted, validate_data

from qbloodcell.benchmark import BenchmarkResult, run_benchmark

METRIC_COLUMNS = ("accuracy", "balanced_accuracy", "roc_auc")


def fake_data(n_per_class=40, n_classes=2, seed=0, noise=0.8):
    """Three noisy features carrying the class."""
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(n_classes), n_per_class)
    return y[:, None] + rng.normal(scale=noise, size=(y.size, 3)), y


def traced_data(n_per_class=40):
    """fake_data with the sample's position as column 0, to trace the splits."""
    X, y = fake_data(n_per_class)
    return np.column_stack([np.arange(y.size), X]), y


class RecordingClassifier(ClassifierMixin, BaseEstimator):
    """Logistic regression on the signal columns that logs the positions it saw."""

    log: ClassVar[list[tuple[str, str, np.ndarray]]] = []

    def __init__(self, *, tag="a", random_state=None):
        self.tag = tag
        self.random_state = random_state

    def fit(self, X, y):
        X, y = validate_data(self, X, y)
        type(self).log.append((self.tag, "fit", X[:, 0].astype(int)))
        self.model_ = LogisticRegression().fit(X[:, 1:], y)
        self.classes_ = self.model_.classes_
        return self

    def predict(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, reset=False)
        type(self).log.append((self.tag, "predict", X[:, 0].astype(int)))
        return self.model_.predict(X[:, 1:])

    def predict_proba(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, reset=False)
        return self.model_.predict_proba(X[:, 1:])


def metric_table(result):
    return [
        (r["method"], r["n_samples_per_class"], r["seed"], *(r[m] for m in METRIC_COLUMNS))
        for r in result.runs
    ]


def test_protocol_balanced_subsets_and_stratified_80_20_splits():
    X, y = traced_data(n_per_class=40)
    RecordingClassifier.log.clear()
    result = run_benchmark(
        methods={"a": RecordingClassifier(tag="a"), "b": RecordingClassifier(tag="b")},
        sizes=[10, 25],
        n_seeds=2,
        data=(X, y),
        progress=False,
    )
    assert isinstance(result, BenchmarkResult)
    assert len(result.runs) == 2 * 2 * 2
    log = RecordingClassifier.log
    # per method: (size, seed) runs in order, each a fit then a predict
    fits_a = [seen for tag, what, seen in log if tag == "a" and what == "fit"]
    tests_a = [seen for tag, what, seen in log if tag == "a" and what == "predict"]
    fits_b = [seen for tag, what, seen in log if tag == "b" and what == "fit"]
    assert len(fits_a) == len(fits_b) == 4
    for size, train, test in zip([10, 10, 25, 25], fits_a, tests_a, strict=True):
        assert train.size == int(0.8 * 2 * size)
        assert test.size == 2 * size - train.size
        assert np.intersect1d(train, test).size == 0
        # balanced subset, stratified split
        assert np.bincount(y[train]).tolist() == [train.size // 2] * 2
        assert np.bincount(y[test]).tolist() == [test.size // 2] * 2
    # both methods see the same subsets (paired); seeds draw new ones
    for train_a, train_b in zip(fits_a, fits_b, strict=True):
        np.testing.assert_array_equal(train_a, train_b)
    assert not np.array_equal(fits_a[0], fits_a[1])
    row = result.runs[0]
    assert row["n_train"] == 16
    assert row["n_test"] == 4
    assert row["status"] == "ok"


def test_metrics_match_sklearn_on_a_known_split():
    X, y = fake_data(n_per_class=30, seed=3)
    result = run_benchmark(
        methods={"lr": LogisticRegression()}, sizes=[30], n_seeds=1, data=(X, y), progress=False
    )
    (row,) = result.runs
    assert 0.5 < row["accuracy"] <= 1
    assert 0.5 < row["roc_auc"] <= 1
    assert row["train_seconds"] > 0
    assert row["test_seconds"] > 0
    # a constant predictor: accuracy and balanced accuracy 1/2, ROC AUC 1/2
    dummy = run_benchmark(
        methods={"d": DummyClassifier()}, sizes=[30], n_seeds=2, data=(X, y), progress=False
    )
    for r in dummy.runs:
        assert (r["accuracy"], r["balanced_accuracy"], r["roc_auc"]) == (0.5, 0.5, 0.5)


def test_multiclass_roc_auc_is_one_vs_rest_macro():
    X, y = fake_data(n_per_class=20, n_classes=3)
    result = run_benchmark(
        methods={"knn": KNeighborsClassifier(5), "dummy": DummyClassifier(strategy="prior")},
        sizes=[20],
        n_seeds=1,
        data=(X, y),
        progress=False,
    )
    knn, dummy = result.runs
    assert 0.5 < knn["roc_auc"] <= 1
    assert dummy["roc_auc"] == 0.5


def test_roc_auc_without_scores_is_nan_with_a_note():
    class LabelsOnly(ClassifierMixin, BaseEstimator):
        def fit(self, X, y):
            self.classes_ = np.unique(y)
            return self

        def predict(self, X):
            return np.full(len(X), self.classes_[0])

    X, y = fake_data(n_per_class=10)
    result = run_benchmark(
        methods={"labels": LabelsOnly()}, sizes=[10], n_seeds=1, data=(X, y), progress=False
    )
    (row,) = result.runs
    assert row["status"] == "ok"
    assert math.isnan(row["roc_auc"])
    assert "ROC AUC not computed" in row["note"]


def test_summary_is_mean_and_t_interval_over_seeds():
    from scipy import stats

    X, y = fake_data(n_per_class=40, seed=1)
    result = run_benchmark(
        methods={"knn": KNeighborsClassifier(1)}, sizes=[20], n_seeds=4, data=(X, y), progress=False
    )
    values = np.array([r["accuracy"] for r in result.runs])
    (entry,) = result.summary
    assert entry["n_runs"] == 4
    assert entry["accuracy"]["mean"] == pytest.approx(values.mean())
    half = stats.t.ppf(0.975, 3) * values.std(ddof=1) / 2
    assert entry["accuracy"]["ci95"] == pytest.approx(half)
    one = run_benchmark(
        methods={"knn": KNeighborsClassifier(1)}, sizes=[20], n_seeds=1, data=(X, y), progress=False
    )
    assert one.summary[0]["accuracy"]["ci95"] is None
    assert "± n/a" in one.to_markdown()


def test_same_random_state_same_results_other_state_other_subsets():
    X, y = fake_data(noise=3.0)
    kwargs = {"methods": {"lr": LogisticRegression()}, "sizes": [10], "n_seeds": 3}
    first = run_benchmark(data=(X, y), progress=False, random_state=5, **kwargs)
    again = run_benchmark(data=(X, y), progress=False, random_state=5, **kwargs)
    other = run_benchmark(data=(X, y), progress=False, random_state=6, **kwargs)
    assert metric_table(first) == metric_table(again)
    assert metric_table(first) != metric_table(other)


def test_factory_gets_a_seed_per_size_and_seed():
    seen = []

    def factory(*, random_state):
        seen.append(random_state)
        return LogisticRegression()

    X, y = fake_data()
    run_benchmark(methods={"lr": factory}, sizes=[10, 20], n_seeds=2, data=(X, y), progress=False)
    # one availability check with seed 0, then one estimator per (size, seed)
    assert seen[0] == 0
    assert len(seen[1:]) == 4
    assert len(set(seen[1:])) == 4


def test_unavailable_method_is_reported_not_faked(tmp_path):
    def missing(*, random_state):
        raise ImportError("No module named 'torch'")

    X, y = fake_data()
    with pytest.warns(UserWarning, match="'cnn' is unavailable: ImportError: No module named"):
        result = run_benchmark(
            methods={"cnn": missing, "lr": LogisticRegression()},
            sizes=[10],
            n_seeds=1,
            data=(X, y),
            out=tmp_path,
            progress=False,
        )
    assert result.unavailable == {"cnn": "ImportError: No module named 'torch'"}
    assert [r["method"] for r in result.runs] == ["lr"]
    table = (tmp_path / "table.md").read_text()
    assert "| cnn | unavailable: ImportError: No module named 'torch' |" in table
    assert "unavailable" in (tmp_path / "summary.json").read_text()


def test_binary_only_classifier_is_unavailable_for_multiclass_targets():
    class BinaryOnly(LogisticRegression):
        def __sklearn_tags__(self):
            tags = super().__sklearn_tags__()
            tags.classifier_tags.multi_class = False
            return tags

    X, y = fake_data(n_per_class=10, n_classes=3)
    with pytest.warns(UserWarning, match="two classes only"):
        result = run_benchmark(
            methods={"binary": BinaryOnly(), "lr": LogisticRegression()},
            sizes=[10],
            n_seeds=1,
            data=(X, y),
            progress=False,
        )
    assert "binary" in result.unavailable
    assert [r["method"] for r in result.runs] == ["lr"]


def test_a_failing_fit_is_recorded_and_warned_not_hidden():
    class Broken(ClassifierMixin, BaseEstimator):
        def fit(self, X, y):
            raise RuntimeError("diverged")

    X, y = fake_data()
    with pytest.warns(UserWarning, match=r"2 of 4 runs failed.*RuntimeError: diverged"):
        result = run_benchmark(
            methods={"broken": Broken(), "lr": LogisticRegression()},
            sizes=[10, 20],
            n_seeds=1,
            data=(X, y),
            progress=False,
        )
    broken = [r for r in result.runs if r["method"] == "broken"]
    assert [r["status"] for r in broken] == ["failed", "failed"]
    assert all(math.isnan(r["accuracy"]) for r in broken)
    assert result.summary[0]["n_failed"] == 1
    assert result.summary[0]["n_runs"] == 0
    assert "no finished run" in result.to_markdown()


def test_warnings_during_a_fit_are_recorded_in_the_note():
    X, y = fake_data()
    result = run_benchmark(
        methods={"lr": LogisticRegression(max_iter=1)},
        sizes=[20],
        n_seeds=1,
        data=(X, y),
        progress=False,
    )
    assert "ConvergenceWarning" in result.runs[0]["note"]


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"sizes": [3]}, ValueError, r"sizes must be None or an integer >= 5 .*; got \[3\]"),
        ({"sizes": []}, ValueError, r"sizes must be .*non-empty.*; got \[\]"),
        ({"sizes": [10, 10]}, ValueError, r"sizes must not repeat a size.*duplicates"),
        ({"sizes": [50]}, ValueError, r"Cannot draw 50 images per class \(sizes\).*has 40"),
        ({"sizes": [10.0]}, TypeError, "sizes must be None"),
        ({"n_seeds": 0}, ValueError, "n_seeds must be None or an integer >= 1"),
        ({"target": "cells"}, ValueError, r"target must be one of \['binary', 'morphology'\]"),
        ({"backend": "spark"}, ValueError, r"backend must be one of \['loky', 'dask'\]"),
        ({"scheduler_address": "tcp://x:1"}, ValueError, "only used with backend='dask'"),
        ({"n_jobs": 0}, ValueError, "n_jobs must be None or a non-zero integer"),
        ({"random_state": -1}, ValueError, "random_state must be None or an integer >= 0"),
        ({"random_state": 1.5}, TypeError, "random_state must be None or an integer >= 0"),
        ({"progress": "yes"}, TypeError, "progress must be True or False"),
        ({"methods": ["lstm"]}, ValueError, "unknown method 'lstm'"),
        ({"methods": []}, ValueError, "methods is empty"),
        ({"data": ([[0.0]] * 3, [0, 1])}, ValueError, "3 images but 2 labels"),
        ({"data": ([[0.0]] * 2, [0, 1], [0, 1])}, ValueError, r"data must be a pair \(images, y\)"),
    ],
)
def test_invalid_arguments_raise_clear_errors(kwargs, error, match):
    X, y = fake_data()
    params = {"methods": {"lr": LogisticRegression()}, "sizes": [10], "data": (X, y)}
    params.update(kwargs)
    params.setdefault("progress", False)
    with pytest.raises(error, match=match):
        run_benchmark(**params)


class ThreadProbe(LogisticRegression):
    """Logistic regression recording what ``n_jobs=None`` stands for during its fit."""

    seen: ClassVar[list[int]] = []

    def fit(self, X, y, sample_weight=None):
        type(self).seen.append(joblib.effective_n_jobs(None))
        return super().fit(X, y, sample_weight=sample_weight)


def test_fits_one_after_another_get_every_core():
    # a step whose n_jobs is None uses the cores the runner gives its fit: all of them
    # when the fits run one after another (n_jobs=None: one fit at a time)
    ThreadProbe.seen.clear()
    run_benchmark(
        methods={"probe": ThreadProbe()}, sizes=[10], n_seeds=2, data=fake_data(), progress=False
    )
    assert ThreadProbe.seen == [joblib.cpu_count()] * 2


def test_missing_data_path_and_wrong_data_type(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        run_benchmark(methods=["dense"], data=tmp_path / "nowhere", progress=False)
    with pytest.raises(TypeError, match="data must be None"):
        run_benchmark(methods=["dense"], data=42, progress=False)
    with pytest.raises(TypeError, match=r"methods\['x'\] must be a scikit-learn estimator"):
        run_benchmark(methods={"x": 3}, data=fake_data(), progress=False)
    with pytest.raises(TypeError, match=r"pass an instance, e\.g\. LogisticRegression\(\)"):
        run_benchmark(methods={"x": LogisticRegression}, data=fake_data(), progress=False)


def test_progress_bar_counts_every_run(capsys):
    X, y = fake_data()
    run_benchmark(
        methods={"lr": LogisticRegression()}, sizes=[10], n_seeds=2, data=(X, y), progress=True
    )
    err = capsys.readouterr().err
    assert "2/2" in err
    assert "last: lr n=10 seed=1" in err


def test_loky_and_dask_give_the_same_results_as_sequential():
    distributed = pytest.importorskip("distributed")
    X, y = fake_data(n_per_class=40)
    kwargs = {
        "methods": {"lr": LogisticRegression(), "knn": KNeighborsClassifier(3)},
        "sizes": [10, 30],
        "n_seeds": 2,
        "data": (X, y),
        "progress": False,
        "random_state": 11,
    }
    sequential = run_benchmark(**kwargs)
    loky = run_benchmark(n_jobs=2, **kwargs)
    assert metric_table(loky) == metric_table(sequential)
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster),
    ):
        dask = run_benchmark(backend="dask", scheduler_address=cluster.scheduler_address, **kwargs)
        default_client = run_benchmark(backend="dask", **kwargs)
    assert metric_table(dask) == metric_table(sequential)
    assert metric_table(default_client) == metric_table(sequential)
    assert len(sequential.runs) == 8


def test_dask_without_any_client_starts_its_own():
    """The user's first way in: no cluster and no default client anywhere."""
    distributed = pytest.importorskip("distributed")
    with pytest.raises(ValueError, match="No clients found"):
        distributed.default_client()
    X, y = fake_data(n_per_class=20)
    kwargs = {
        "methods": {"lr": LogisticRegression()},
        "sizes": [10],
        "n_seeds": 2,
        "data": (X, y),
        "progress": False,
        "random_state": 3,
    }
    on_dask = run_benchmark(backend="dask", n_jobs=1, **kwargs)
    assert metric_table(on_dask) == metric_table(run_benchmark(**kwargs))


def test_the_thread_budget_is_recorded_for_each_fit():
    X, y = fake_data()
    kwargs = {"methods": {"lr": LogisticRegression()}, "sizes": [10], "n_seeds": 2}
    serial = run_benchmark(data=(X, y), progress=False, **kwargs)
    two = run_benchmark(data=(X, y), progress=False, n_jobs=2, **kwargs)
    cores = joblib.cpu_count()
    assert [r["n_threads"] for r in serial.runs] == [cores, cores]
    assert [r["n_threads"] for r in two.runs] == [max(1, cores // 2)] * 2
    # user methods get no warm-up; every fit records its CPU seconds
    assert all(r["warm_up_seconds"] == 0.0 for r in serial.runs + two.runs)
    assert all(r["cpu_seconds"] >= 0 for r in serial.runs)
    assert serial.config["seconds"]["fits"] > 0
