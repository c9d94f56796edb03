"""BalancedSubsampleClassifier: subsampling, delegation, errors, GridSearchCV.

scikit-learn's common checks run in ``tests/test_common.py``.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.dummy import DummyClassifier
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold, learning_curve
from sklearn.neighbors import KNeighborsClassifier
from sklearn.svm import LinearSVC

from qbloodcell.model_selection import BalancedSubsampleClassifier


@pytest.fixture
def imbalanced():
    X, y = make_classification(
        n_samples=300, n_classes=3, n_informative=4, weights=[0.5, 0.3, 0.2], random_state=0
    )
    return X, y


def test_fits_on_a_balanced_subsample(imbalanced):
    X, y = imbalanced
    model = BalancedSubsampleClassifier(
        LogisticRegression(), n_samples_per_class=40, random_state=0
    ).fit(X, y)
    idx = model.subsample_indices_
    assert idx.size == 120
    assert np.unique(idx).size == 120
    assert np.bincount(y[idx]).tolist() == [40, 40, 40]
    reference = LogisticRegression().fit(X[idx], y[idx])
    np.testing.assert_allclose(model.estimator_.coef_, reference.coef_)
    np.testing.assert_array_equal(model.predict(X), reference.predict(X))
    np.testing.assert_allclose(model.predict_proba(X), reference.predict_proba(X))
    np.testing.assert_allclose(model.decision_function(X), reference.decision_function(X))
    np.testing.assert_array_equal(model.classes_, [0, 1, 2])
    assert model.n_features_in_ == 20


def test_none_uses_all_the_data(imbalanced):
    X, y = imbalanced
    model = BalancedSubsampleClassifier(LogisticRegression()).fit(X, y)
    np.testing.assert_array_equal(model.subsample_indices_, np.arange(300))
    np.testing.assert_allclose(model.estimator_.coef_, LogisticRegression().fit(X, y).coef_)


def test_random_state_controls_the_draw(imbalanced):
    X, y = imbalanced
    draw = [
        BalancedSubsampleClassifier(DummyClassifier(), n_samples_per_class=20, random_state=s)
        .fit(X, y)
        .subsample_indices_
        for s in (1, 1, 2)
    ]
    np.testing.assert_array_equal(draw[0], draw[1])
    assert not np.array_equal(draw[0], draw[2])


def test_too_few_samples_in_a_class_is_a_clear_error(imbalanced):
    X, y = imbalanced
    with pytest.raises(
        ValueError,
        match=r"n_samples_per_class=70 samples of every class from the training data passed "
        r"to fit \(300 samples in all.*2 has 59",
    ):
        BalancedSubsampleClassifier(LogisticRegression(), n_samples_per_class=70).fit(X, y)


@pytest.mark.parametrize(
    ("value", "error", "match"),
    [
        (0, ValueError, "n_samples_per_class must be None or an integer >= 1; got 0"),
        (2.5, TypeError, "n_samples_per_class .*got 2.5 of type float"),
        (True, TypeError, "n_samples_per_class .*got True"),
    ],
)
def test_invalid_n_samples_per_class(imbalanced, value, error, match):
    X, y = imbalanced
    with pytest.raises(error, match=match):
        BalancedSubsampleClassifier(LogisticRegression(), n_samples_per_class=value).fit(X, y)


def test_methods_available_only_when_the_inner_estimator_has_them(imbalanced):
    X, y = imbalanced
    svc = BalancedSubsampleClassifier(LinearSVC(), n_samples_per_class=30)
    assert not hasattr(svc, "predict_proba")
    assert hasattr(svc, "decision_function")
    knn = BalancedSubsampleClassifier(KNeighborsClassifier(), n_samples_per_class=30)
    assert hasattr(knn, "predict_proba")
    assert not hasattr(knn, "decision_function")
    assert not hasattr(knn.fit(X, y), "decision_function")
    with pytest.raises(NotFittedError):
        BalancedSubsampleClassifier(LogisticRegression()).predict(X)


def test_per_sample_fit_params_are_subsampled(imbalanced):
    X, y = imbalanced
    weights = np.linspace(0.5, 2.0, y.size)
    model = BalancedSubsampleClassifier(
        LogisticRegression(), n_samples_per_class=30, random_state=0
    ).fit(X, y, sample_weight=weights)
    idx = model.subsample_indices_
    reference = LogisticRegression().fit(X[idx], y[idx], sample_weight=weights[idx])
    np.testing.assert_allclose(model.estimator_.coef_, reference.coef_)


def test_grid_search_over_sample_sizes(imbalanced):
    X, y = imbalanced
    search = GridSearchCV(
        BalancedSubsampleClassifier(LogisticRegression(), random_state=0),
        {"n_samples_per_class": [10, 25, 35]},
        cv=StratifiedKFold(3, shuffle=True, random_state=0),
    ).fit(X, y)
    assert search.cv_results_["param_n_samples_per_class"].tolist() == [10, 25, 35]
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    assert (
        search.best_estimator_.subsample_indices_.size
        == 3 * search.best_params_["n_samples_per_class"]
    )
    # a size larger than the smallest class of a training fold fails with the clear error
    with pytest.raises(ValueError, match="training fold"):
        GridSearchCV(
            BalancedSubsampleClassifier(LogisticRegression()),
            {"n_samples_per_class": [45]},
            cv=3,
            error_score="raise",
        ).fit(X, y)


def test_learning_curve_and_clone_and_pickle(imbalanced):
    X, y = imbalanced
    model = BalancedSubsampleClassifier(LogisticRegression(), random_state=0)
    sizes, _train_scores, test_scores = learning_curve(
        model, X, y, train_sizes=[0.3, 1.0], cv=StratifiedKFold(3)
    )
    assert sizes.tolist() == [60, 200]
    assert np.all(np.isfinite(test_scores))
    cloned = clone(model.set_params(n_samples_per_class=20, estimator__C=0.5))
    assert cloned.get_params()["estimator__C"] == 0.5
    fitted = cloned.fit(X, y)
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(restored.predict(X), fitted.predict(X))


def test_works_on_image_batches_with_an_image_pipeline():
    """The wrapped estimator may take images: X is subsampled along its first axis only."""
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    rng = np.random.default_rng(0)
    images = rng.random((60, 8, 8, 3))
    y = np.repeat([0, 1], 30)
    images[y == 1] += 0.5
    flatten = FunctionTransformer(lambda batch: batch.reshape(len(batch), -1))
    model = BalancedSubsampleClassifier(
        make_pipeline(flatten, LogisticRegression()), n_samples_per_class=10, random_state=0
    ).fit(images, y)
    assert model.predict(images).shape == (60,)
    assert model.score(images, y) > 0.9
