"""run_benchmark's files: results.csv row by row, resume, summary.json, table.md, plots."""

from __future__ import annotations

import csv
import json
import math
from typing import ClassVar

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier

from qbloodcell.benchmark import run_benchmark
from qbloodcell.benchmark._report import COLUMNS, read_rows
from qbloodcell.benchmark._stats import interval

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def fake_data(n_per_class=40, seed=0):
    rng = np.random.default_rng(seed)
    y = np.repeat([0, 1], n_per_class)
    return y[:, None] + rng.normal(scale=1.5, size=(y.size, 3)), y


class CountingClassifier(ClassifierMixin, BaseEstimator):
    """Nearest neighbours that counts its fits and can be told to stop the run."""

    fits: ClassVar[list[int]] = []
    interrupt_at: ClassVar[int | None] = None

    def __init__(self, *, random_state=None):
        self.random_state = random_state

    def fit(self, X, y):
        counter = type(self)
        if counter.interrupt_at is not None and len(counter.fits) == counter.interrupt_at:
            raise KeyboardInterrupt
        counter.fits.append(len(X))
        self.model_ = KNeighborsClassifier(3).fit(X, y)
        self.classes_ = self.model_.classes_
        return self

    def predict(self, X):
        return self.model_.predict(X)

    def predict_proba(self, X):
        return self.model_.predict_proba(X)


@pytest.fixture
def counting():
    CountingClassifier.fits = []
    CountingClassifier.interrupt_at = None
    yield CountingClassifier
    CountingClassifier.fits = []
    CountingClassifier.interrupt_at = None


def metrics(result):
    return [
        (r["method"], r["n_samples_per_class"], r["seed"], r["accuracy"], r["roc_auc"])
        for r in result.runs
    ]


SETTINGS = {"sizes": [10, 20], "n_seeds": 2, "progress": False, "random_state": 3}


def test_outputs_are_written(tmp_path):
    X, y = fake_data()
    result = run_benchmark(
        methods={"lr": LogisticRegression(), "knn": KNeighborsClassifier(3)},
        data=(X, y),
        out=tmp_path,
        **SETTINGS,
    )
    assert set(result.files) == {
        "results",
        "summary",
        "table",
        "accuracy_plot",
        "train_time_plot",
    }
    with (tmp_path / "results.csv").open() as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == 8
    assert tuple(rows[0]) == COLUMNS
    assert {(r["method"], r["n_samples_per_class"], r["seed"]) for r in rows} == {
        (m, str(n), str(s)) for m in ("lr", "knn") for n in (10, 20) for s in (0, 1)
    }
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["config"]["sizes"] == [10, 20]
    assert summary["config"]["random_state"] == 3
    assert summary["unavailable"] == {}
    lr_20 = next(
        e for e in summary["summary"] if e["method"] == "lr" and e["n_samples_per_class"] == 20
    )
    accuracies = [r["accuracy"] for r in result.runs if r["method"] == "lr"][2:]
    assert lr_20["accuracy"]["mean"] == pytest.approx(np.mean(accuracies))
    assert lr_20["n_runs"] == 2
    table = (tmp_path / "table.md").read_text()
    assert table == result.to_markdown()
    header = "| Method | Accuracy | Balanced accuracy | ROC AUC | Training | Test |"
    assert header in table
    assert "at 20 samples per class" in table
    # two seeds: no t-interval, said so; the paired difference of the two methods
    assert "± n/a (2 seeds)" in table
    pairs = [
        (p["a"], p["b"], p["n_samples_per_class"], p["n"]) for p in summary["paired_differences"]
    ]
    assert pairs == [("lr", "knn", 10, 2), ("lr", "knn", 20, 2)]
    assert "| lr - knn | " in table
    assert "| lr | " in table
    assert "| knn | " in table
    for name in ("accuracy_vs_samples.png", "train_time.png"):
        assert (tmp_path / name).read_bytes()[:8] == PNG_MAGIC


def test_result_frames():
    pytest.importorskip("pandas")
    X, y = fake_data()
    result = run_benchmark(methods={"lr": LogisticRegression()}, data=(X, y), **SETTINGS)
    frame = result.to_frame()
    assert frame.shape == (4, len(COLUMNS))
    assert frame["accuracy"].tolist() == [r["accuracy"] for r in result.runs]
    summary = result.summary_frame()
    assert summary.shape[0] == 2
    assert {"accuracy_mean", "accuracy_ci95", "train_seconds_mean"} <= set(summary.columns)
    assert "4 finished runs" in repr(result)


def test_an_existing_results_file_is_not_overwritten_by_accident(tmp_path):
    X, y = fake_data()
    kwargs = {"methods": {"lr": LogisticRegression()}, "data": (X, y), "out": tmp_path}
    run_benchmark(**kwargs, **SETTINGS)
    with pytest.raises(ValueError, match="already exists: pass resume=True"):
        run_benchmark(**kwargs, **SETTINGS)
    again = run_benchmark(overwrite=True, **kwargs, **SETTINGS)
    assert len(read_rows(tmp_path / "results.csv")[0]) == len(again.runs) == 4
    with pytest.raises(ValueError, match="exclude each other"):
        run_benchmark(overwrite=True, resume=True, **kwargs, **SETTINGS)


def test_interrupted_run_resumes_with_only_the_missing_runs(tmp_path, counting):
    X, y = fake_data()
    methods = {"count": CountingClassifier(), "lr": LogisticRegression()}
    full = run_benchmark(methods=methods, data=(X, y), **SETTINGS)
    counting.fits.clear()

    # Ctrl-C during the third fit: the two finished runs are on disk
    counting.interrupt_at = 2
    with pytest.raises(KeyboardInterrupt):
        run_benchmark(methods=methods, data=(X, y), out=tmp_path, **SETTINGS)
    saved, n_bad = read_rows(tmp_path / "results.csv")
    assert (len(saved), n_bad) == (2, 0)

    counting.interrupt_at = None
    counting.fits.clear()
    resumed = run_benchmark(methods=methods, data=(X, y), out=tmp_path, resume=True, **SETTINGS)
    # 4 "count" runs in all, 2 were done: only the other 2 are fitted again
    assert len(counting.fits) == 2
    assert metrics(resumed) == metrics(full)
    assert len(read_rows(tmp_path / "results.csv")[0]) == 8

    # everything finished: resume fits nothing and rebuilds the same report
    counting.fits.clear()
    again = run_benchmark(methods=methods, data=(X, y), out=tmp_path, resume=True, **SETTINGS)
    assert counting.fits == []
    assert metrics(again) == metrics(full)


def test_resume_drops_a_row_cut_short_and_reruns_failed_runs(tmp_path, counting):
    X, y = fake_data()
    methods = {"count": CountingClassifier()}
    run_benchmark(methods=methods, data=(X, y), out=tmp_path, **SETTINGS)
    path = tmp_path / "results.csv"
    lines = path.read_text().splitlines(keepends=True)
    # header, two complete rows, a third killed halfway, one marked failed
    failed = lines[4].replace(",ok,", ",failed,")
    path.write_text("".join(lines[:3]) + lines[3][:25] + "\n" + failed)
    counting.fits.clear()
    with pytest.warns(UserWarning, match="1 incomplete row"):
        resumed = run_benchmark(methods=methods, data=(X, y), out=tmp_path, resume=True, **SETTINGS)
    assert len(counting.fits) == 2
    assert [r["status"] for r in resumed.runs] == ["ok"] * 4
    rows, n_bad = read_rows(path)
    assert (len(rows), n_bad) == (4, 0)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"random_state": 4}, "random_state=3, this run has random_state=4"),
        ({"data_seed": 1}, r"made on other images \(data_id="),
    ],
)
def test_resume_refuses_other_settings(tmp_path, change, match):
    X, y = fake_data()
    run_benchmark(methods={"lr": LogisticRegression()}, data=(X, y), out=tmp_path, **SETTINGS)
    settings = dict(SETTINGS, random_state=change.get("random_state", 3))
    data = fake_data(seed=change.get("data_seed", 0))
    with pytest.raises(ValueError, match=match):
        run_benchmark(
            methods={"lr": LogisticRegression()}, data=data, out=tmp_path, resume=True, **settings
        )


@pytest.mark.parametrize(
    "change",
    [{"quick": True}, {"estimator": LogisticRegression(C=0.5)}],
    ids=["quick preset", "other estimator"],
)
def test_resume_refuses_runs_trained_otherwise(tmp_path, change):
    X, y = fake_data()
    run_benchmark(methods={"lr": LogisticRegression()}, data=(X, y), out=tmp_path, **SETTINGS)
    estimator = change.get("estimator", LogisticRegression())
    with pytest.raises(ValueError, match="'lr' runs were made with other settings"):
        run_benchmark(
            methods={"lr": estimator},
            data=(X, y),
            out=tmp_path,
            resume=True,
            quick=change.get("quick", False),
            **SETTINGS,
        )
    # the same settings resume as before
    resumed = run_benchmark(
        methods={"lr": LogisticRegression()}, data=(X, y), out=tmp_path, resume=True, **SETTINGS
    )
    assert all(r["status"] == "ok" for r in resumed.runs)


def test_resume_refuses_a_foreign_csv(tmp_path):
    (tmp_path / "results.csv").write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="not a results file written by qbloodcell"):
        run_benchmark(
            methods={"lr": LogisticRegression()},
            data=fake_data(),
            out=tmp_path,
            resume=True,
            **SETTINGS,
        )


def test_out_must_be_a_folder(tmp_path):
    target = tmp_path / "file.txt"
    target.write_text("x")
    with pytest.raises(ValueError, match="is a file"):
        run_benchmark(
            methods={"lr": LogisticRegression()}, data=fake_data(), out=target, **SETTINGS
        )


def test_interval_helper():
    assert interval([0.5]) == (0.5, None)
    mean, half = interval([0.7, 0.8, 0.9, math.nan])
    assert mean == pytest.approx(0.8)
    assert half == pytest.approx(4.302652729911275 * 0.1 / math.sqrt(3))
    assert math.isnan(interval([math.nan])[0])


def test_resume_sees_a_changed_parameter_behind_the_same_factory(tmp_path):
    # the settings a resume must match are the estimator's get_params(), not a description:
    # a factory (same name) whose estimator changed a parameter stops the resume
    def make(C):
        def factory(*, random_state):
            return LogisticRegression(C=C, random_state=random_state)

        return factory

    X, y = fake_data()
    run_benchmark(methods={"lr": make(1.0)}, data=(X, y), out=tmp_path, **SETTINGS)
    with pytest.raises(ValueError, match="'lr' runs were made with other settings"):
        run_benchmark(methods={"lr": make(0.5)}, data=(X, y), out=tmp_path, resume=True, **SETTINGS)
    resumed = run_benchmark(
        methods={"lr": make(1.0)}, data=(X, y), out=tmp_path, resume=True, **SETTINGS
    )
    assert len(resumed.runs) == 4


def test_a_run_failing_before_its_first_fit_leaves_no_results_file(tmp_path):
    X, y = fake_data()
    with pytest.raises(ValueError, match="Cannot draw"):
        run_benchmark(
            methods={"lr": LogisticRegression()},
            data=(X, y),
            out=tmp_path,
            sizes=[99],
            progress=False,
        )
    assert not (tmp_path / "results.csv").exists()
    # a header-only file (left by an older version) does not block the same command
    old_header = [c for c in COLUMNS if c not in ("cpu_seconds", "warm_up_seconds", "n_threads")]
    (tmp_path / "results.csv").write_text(",".join(old_header) + "\n")
    result = run_benchmark(
        methods={"lr": LogisticRegression()}, data=(X, y), out=tmp_path, **SETTINGS
    )
    assert len(result.runs) == 4
