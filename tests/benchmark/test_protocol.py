"""The study-protocol switches: names, subsets, estimator changes and fits that use test."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.dummy import DummyClassifier
from sklearn.metrics import accuracy_score
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from qbloodcell.benchmark import PROTOCOL_SWITCHES, StudyProtocol, run_benchmark
from qbloodcell.benchmark._methods import _dense, _vqc_study
from qbloodcell.benchmark._protocol import (
    VQC_SEARCH_ITERATIONS,
    adapt_estimator,
    fit_with_protocol,
    resolve_protocol,
    select_subset,
)


def table(n: int = 60, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    X, y = make_classification(
        n_samples=n, n_features=6, n_informative=3, random_state=seed, class_sep=0.8
    )
    return X, y


# ---------------------------------------------------------------------------------------
# names


def test_presets_and_switch_names():
    assert resolve_protocol(None) == StudyProtocol()
    assert StudyProtocol.from_switches("paper").name == "paper"
    study = StudyProtocol.from_switches("study-code")
    assert study.name == "study-code"
    assert study.switches == tuple(PROTOCOL_SWITCHES)
    single = StudyProtocol.from_switches("scale-on-all")
    assert single == StudyProtocol(scale_on_all=True)
    assert single.name == "scale-on-all"
    pair = StudyProtocol.from_switches(["study-features", "directory-order"])
    # names in the canonical order, whatever the order given
    assert pair.name == "directory-order+study-features"
    reduced = StudyProtocol.from_switches("vqc-search-on-test", vqc_search_budget=20)
    assert reduced.name == "vqc-search-on-test[N=20,target=0.83]"


@pytest.mark.parametrize(
    ("protocol", "error", "message"),
    [
        ("study", ValueError, "unknown switch"),
        (["scale-on-all", "scale-on-all"], ValueError, "twice"),
        (3, TypeError, "protocol must be"),
        ([1, 2], TypeError, "protocol must be"),
    ],
)
def test_bad_protocols_are_rejected(protocol, error, message):
    with pytest.raises(error, match=message):
        StudyProtocol.from_switches(protocol)


def test_protocol_fields_are_validated():
    with pytest.raises(TypeError, match="scale_on_all"):
        StudyProtocol(scale_on_all="yes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="vqc_search_budget"):
        StudyProtocol(vqc_search_budget=0)


# ---------------------------------------------------------------------------------------
# subsets and estimator changes


def test_directory_order_takes_the_first_files_of_each_class():
    y = np.array([0, 1, 0, 0, 1, 1, 0, 1, 1])
    subset = select_subset(y, 3, StudyProtocol(directory_order=True), random_state=0)
    assert sorted(subset.tolist()) == [0, 1, 2, 3, 4, 5]
    # the same for every seed; the random draw is not
    again = select_subset(y, 3, StudyProtocol(directory_order=True), random_state=7)
    assert sorted(again.tolist()) == sorted(subset.tolist())
    draws = {
        tuple(sorted(select_subset(y, 3, StudyProtocol(), random_state=s).tolist()))
        for s in range(10)
    }
    assert len(draws) > 1
    with pytest.raises(ValueError, match="fewer than"):
        select_subset(y, 5, StudyProtocol(directory_order=True), random_state=0)


def test_study_ansatz_has_twelve_weights_and_features_switch():
    X, y = table(40)
    X = (X - X.min(0)) / (X.max(0) - X.min(0)) * 2
    paper = _vqc_study(random_state=0)
    study = adapt_estimator(_vqc_study(random_state=0), StudyProtocol.from_switches("study-code"))
    assert study[0].feature_set == "study-code"
    assert paper[0].feature_set == "table1"
    vqc_paper = clone(paper[-1]).set_params(max_iter=20).fit(X[:, :4], y)
    vqc_study = clone(study[-1]).set_params(max_iter=20).fit(X[:, :4], y)
    assert vqc_paper.weights_.size == 8
    assert vqc_study.weights_.size == 12
    dense = adapt_estimator(_dense(random_state=0), StudyProtocol(study_features=True))
    assert dense[0].feature_set == "study-code"


# ---------------------------------------------------------------------------------------
# fitting


def test_paper_protocol_is_a_plain_fit():
    X, y = table()
    model = make_pipeline(
        StandardScaler(), MLPClassifier((8,), max_iter=500, random_state=0, early_stopping=True)
    )
    expected = clone(model).fit(X[:40], y[:40]).predict_proba(X[40:])
    fitted = fit_with_protocol(model, X[:40], y[:40], X[40:], y[40:], StudyProtocol())
    np.testing.assert_array_equal(fitted.predict_proba(X[40:]), expected)


def test_scale_on_all_fits_the_scaler_on_train_and_test():
    X, y = table()
    model = make_pipeline(StandardScaler(), DummyClassifier())
    fitted = fit_with_protocol(
        model, X[:40], y[:40], X[40:], y[40:], StudyProtocol(scale_on_all=True)
    )
    np.testing.assert_allclose(fitted[0].mean_, X.mean(axis=0))
    honest = fit_with_protocol(clone(model), X[:40], y[:40], X[40:], y[40:], StudyProtocol())
    np.testing.assert_allclose(honest[0].mean_, X[:40].mean(axis=0))


def test_select_on_test_keeps_the_best_test_epoch_of_the_mlp():
    X, y = table(80, seed=3)
    X_train, y_train, X_test, y_test = X[:60], y[:60], X[60:], y[60:]
    mlp = MLPClassifier((16,), max_iter=30, random_state=0, early_stopping=True)
    fitted = fit_with_protocol(
        make_pipeline(StandardScaler(), mlp),
        X_train,
        y_train,
        X_test,
        y_test,
        StudyProtocol(select_on_test=True),
    )
    # the same epochs, replayed: the kept weights are those of the best test accuracy
    scaler = StandardScaler().fit(X_train)
    replay = MLPClassifier((16,), max_iter=30, random_state=0)
    scores = []
    for _ in range(30):
        replay.partial_fit(scaler.transform(X_train), y_train, classes=[0, 1])
        scores.append(accuracy_score(y_test, replay.predict(scaler.transform(X_test))))
    assert fitted[-1].protocol_best_epoch_ == int(np.argmax(scores)) + 1
    assert accuracy_score(y_test, fitted.predict(X_test)) == max(scores)


def test_select_on_test_keeps_the_best_test_epoch_of_the_cnn():
    pytest.importorskip("torch")
    from qbloodcell.baselines import CNNClassifier
    from qbloodcell.datasets import make_blood_cells

    X, y = make_blood_cells(12, image_size=16, random_state=0, return_X_y=True)
    train, test = np.arange(0, 24, 2), np.arange(1, 24, 2)
    cnn = CNNClassifier(image_size=16, hidden_channels=(4, 8), max_iter=4, random_state=0)
    fitted = fit_with_protocol(
        cnn, X[train], y[train], X[test], y[test], StudyProtocol(select_on_test=True)
    )
    assert 1 <= fitted.protocol_best_epoch_ <= 4
    assert fitted.early_stopping is False
    assert fitted.n_iter_ == 4  # four epochs, one warm-started fit each


def test_vqc_search_keeps_the_best_test_accuracy_and_stops_at_the_target():
    X, y = table(50, seed=1)
    X = X[:, :4]
    X = (X - X.min(0)) / (X.max(0) - X.min(0)) * 2
    X_train, y_train, X_test, y_test = X[:30], y[:30], X[30:], y[30:]
    model = _vqc_study(random_state=4)[-1]
    budget = 5
    protocol = StudyProtocol(
        vqc_search_on_test=True, vqc_search_budget=budget, vqc_search_target=1.0
    )
    best = fit_with_protocol(clone(model), X_train, y_train, X_test, y_test, protocol)
    tried = [(seed, n_iter) for seed in (4, 5) for n_iter in VQC_SEARCH_ITERATIONS][:budget]
    scores = [
        accuracy_score(
            y_test,
            clone(model)
            .set_params(random_state=s, max_iter=m)
            .fit(X_train, y_train)
            .predict(X_test),
        )
        for s, m in tried
    ]
    assert best.protocol_search_fits_ == budget or max(scores) >= 1.0
    assert accuracy_score(y_test, best.predict(X_test)) == max(scores)
    # a target reached at once ends the search after one fit
    easy = StudyProtocol(vqc_search_on_test=True, vqc_search_target=0.0)
    first = fit_with_protocol(clone(model), X_train, y_train, X_test, y_test, easy)
    assert first.protocol_search_fits_ == 1
    assert (first.random_state, first.max_iter) == tried[0]


# ---------------------------------------------------------------------------------------
# the runner


def test_run_benchmark_records_the_protocol_and_refuses_to_mix(tmp_path):
    X, y = table(40)
    methods = {"mlp": make_pipeline(StandardScaler(), DummyClassifier())}
    common = {"methods": methods, "sizes": [10], "n_seeds": 2, "data": (X, y), "progress": False}
    result = run_benchmark(**common, protocol=["directory-order"], out=tmp_path)
    assert {row["protocol"] for row in result.runs} == {"directory-order"}
    assert result.config["protocol"]["switches"] == ["directory-order"]
    with pytest.raises(ValueError, match="protocol"):
        run_benchmark(**common, protocol="paper", out=tmp_path, resume=True)
    resumed = run_benchmark(**common, protocol="directory-order", out=tmp_path, resume=True)
    assert len(resumed.runs) == 2


def test_run_benchmark_directory_order_uses_the_same_images_for_every_seed():
    X, y = table(60)
    seen = []

    class Recorder(DummyClassifier):
        def fit(self, X, y, sample_weight=None):
            seen.append(frozenset(map(tuple, np.round(X, 12))))
            return super().fit(X, y)

    for protocol in ("paper", "directory-order"):
        seen.clear()
        run_benchmark(
            methods={"r": Recorder()},
            sizes=[10],
            n_seeds=3,
            data=(X, y),
            progress=False,
            protocol=protocol,
        )
        pooled = [set().union(*seen)]
        if protocol == "directory-order":
            first = {
                tuple(row)
                for row in np.round(
                    X[np.r_[np.flatnonzero(y == 0)[:10], np.flatnonzero(y == 1)[:10]]], 12
                )
            }
            assert pooled[0] <= first
        else:
            assert len(pooled[0]) > 20


def test_cli_protocol_option(tmp_path, capsys):
    from qbloodcell.cli import main

    with pytest.raises(SystemExit):
        main(["benchmark", "--protocol", "nonsense", "--out", str(tmp_path / "a")])
    assert "unknown switch" in capsys.readouterr().err
