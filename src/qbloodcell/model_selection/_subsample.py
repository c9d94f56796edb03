"""A meta-estimator that trains its estimator on a balanced subsample of the training data."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.utils import _safe_indexing, check_random_state, get_tags
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    check_array,
    check_consistent_length,
    check_is_fitted,
    column_or_1d,
)

from qbloodcell._validation import (
    HasMethods,
    Integer,
    NoneValue,
    RandomState,
    Spec,
    validate_params,
)
from qbloodcell.datasets import balanced_indices


def _estimator_has(attribute: str) -> Any:
    """Check for ``attribute`` on the fitted estimator, or else on the unfitted one."""

    def check(self: BalancedSubsampleClassifier) -> bool:
        if hasattr(self, "estimator_"):
            getattr(self.estimator_, attribute)
        else:
            getattr(self.estimator, attribute)
        return True

    return check


class BalancedSubsampleClassifier(MetaEstimatorMixin, ClassifierMixin, BaseEstimator):
    """Fit a classifier on a class-balanced random subsample of the training data.

    The study measures how each method's accuracy grows with the number of training images
    per class (50, 100, 200, 250). Wrapping a classifier in this meta-estimator makes that
    number an ordinary hyper-parameter: ``fit`` draws ``n_samples_per_class`` samples from
    every class of the data it is given (for example a cross-validation training fold), fits
    a clone of ``estimator`` on them, and the fitted clone answers ``predict``,
    ``predict_proba`` and ``decision_function``. So
    ``GridSearchCV(BalancedSubsampleClassifier(clf), {"n_samples_per_class": [50, 100]})``
    scores each sample size on the same held-out folds, and ``learning_curve`` works as
    usual.

    Parameters
    ----------
    estimator : classifier
        The classifier to fit on the subsample; it is cloned, never fitted in place. It may
        take any input its own ``fit`` accepts (feature matrices, image batches, lists).
    n_samples_per_class : int or None, default=None
        Number of training samples drawn, without replacement, from every class. ``None``
        fits on all the training data, unchanged.
    random_state : int, RandomState instance or None, default=None
        Controls which samples are drawn. It does not seed ``estimator``; set the wrapped
        estimator's own ``random_state`` for that.

    Attributes
    ----------
    estimator_ : classifier
        The clone of ``estimator`` fitted on the subsample.
    subsample_indices_ : ndarray of int64
        Positions, in the data passed to ``fit``, of the samples the estimator was fitted on
        (all positions when ``n_samples_per_class`` is None).
    classes_ : ndarray of shape (n_classes,)
        The class labels, from ``estimator_``.
    n_features_in_ : int
        Number of features seen during ``fit``, from ``estimator_`` (only when the fitted
        estimator defines it).

    See Also
    --------
    qbloodcell.datasets.balanced_indices : The balanced draw used by ``fit``.
    qbloodcell.benchmark.run_benchmark : The study's protocol over sample sizes and seeds.

    Notes
    -----
    Fit parameters (for example ``sample_weight``) that have one entry per sample are
    subsampled together with ``X`` and ``y``; other fit parameters are passed unchanged.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.model_selection import GridSearchCV
    >>> from qbloodcell.model_selection import BalancedSubsampleClassifier
    >>> X, y = make_classification(n_samples=300, random_state=0)
    >>> model = BalancedSubsampleClassifier(LogisticRegression(), random_state=0)
    >>> search = GridSearchCV(model, {"n_samples_per_class": [10, 30, 60]}, cv=3)
    >>> search.fit(X, y).best_params_["n_samples_per_class"] in (10, 30, 60)
    True
    >>> search.best_estimator_.estimator_.n_features_in_
    20
    """

    _parameter_specs: ClassVar[dict[str, list[Spec]]] = {
        "estimator": [
            HasMethods(["fit", "get_params"], "a scikit-learn classifier (with fit and get_params)")
        ],
        "n_samples_per_class": [NoneValue(), Integer(1)],
        "random_state": [NoneValue(), RandomState()],
    }

    def __init__(
        self,
        estimator: Any,
        *,
        n_samples_per_class: int | None = None,
        random_state: Any = None,
    ) -> None:
        self.estimator = estimator
        self.n_samples_per_class = n_samples_per_class
        self.random_state = random_state

    def fit(self, X: Any, y: Any, **fit_params: Any) -> BalancedSubsampleClassifier:
        """Draw the balanced subsample and fit a clone of the estimator on it.

        Parameters
        ----------
        X : array-like, sparse matrix or list
            Training data in whatever form ``estimator`` accepts, with one entry per sample.
        y : array-like of shape (n_samples,)
            Class labels.
        **fit_params : dict
            Passed to ``estimator.fit``; those with one entry per sample are subsampled.

        Returns
        -------
        self : BalancedSubsampleClassifier
            The fitted meta-estimator.

        Raises
        ------
        TypeError
            If ``n_samples_per_class`` is neither None nor an integer, or ``estimator`` is
            not an estimator.
        ValueError
            If ``n_samples_per_class`` is below 1, or if a class of ``y`` has fewer than
            ``n_samples_per_class`` samples.
        """
        validate_params(self)
        n_samples_per_class = self.n_samples_per_class
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None."
            )
        # finite labels first: sklearn's target checks would warn on a cast of inf
        y = column_or_1d(check_array(y, ensure_2d=False, dtype=None, input_name="y"), warn=True)
        check_consistent_length(X, y)
        check_classification_targets(y)

        n_samples = y.shape[0]
        if n_samples_per_class is None:
            indices = np.arange(n_samples, dtype=np.int64)
            X_sub, y_sub, params_sub = X, y, fit_params
        else:
            X = _indexable(X)
            try:
                indices = balanced_indices(
                    y, int(n_samples_per_class), random_state=check_random_state(self.random_state)
                )
            except ValueError as exc:
                raise ValueError(
                    f"Cannot draw n_samples_per_class={n_samples_per_class} samples of every "
                    f"class from the training data passed to fit ({n_samples} "
                    f"sample{'' if n_samples == 1 else 's'} in all; in cross-validation, the "
                    f"training fold): {exc}"
                ) from exc
            X_sub = _safe_indexing(X, indices)
            y_sub = y[indices]
            params_sub = {
                name: _safe_indexing(value, indices)
                if _has_one_per_sample(value, n_samples)
                else value
                for name, value in fit_params.items()
            }
        self.estimator_ = clone(self.estimator).fit(X_sub, y_sub, **params_sub)
        self.subsample_indices_ = indices
        return self

    @property
    def classes_(self) -> np.ndarray:
        """The class labels of the fitted estimator."""
        check_is_fitted(self)
        return self.estimator_.classes_

    @property
    def n_features_in_(self) -> int:
        """Number of features seen by the fitted estimator."""
        check_is_fitted(self)
        return self.estimator_.n_features_in_

    def predict(self, X: Any) -> np.ndarray:
        """Predict class labels with the estimator fitted on the subsample.

        Parameters
        ----------
        X : array-like
            Samples, in the form the wrapped estimator accepts.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Predicted labels.
        """
        check_is_fitted(self)
        return self.estimator_.predict(X)

    @available_if(_estimator_has("predict_proba"))
    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities from the estimator fitted on the subsample.

        Only available when the wrapped estimator has ``predict_proba``.

        Parameters
        ----------
        X : array-like
            Samples, in the form the wrapped estimator accepts.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities, columns in the order of ``classes_``.
        """
        check_is_fitted(self)
        return self.estimator_.predict_proba(X)

    @available_if(_estimator_has("predict_log_proba"))
    def predict_log_proba(self, X: Any) -> np.ndarray:
        """Log of the class probabilities from the estimator fitted on the subsample.

        Only available when the wrapped estimator has ``predict_log_proba``.

        Parameters
        ----------
        X : array-like
            Samples, in the form the wrapped estimator accepts.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Log-probabilities, columns in the order of ``classes_``.
        """
        check_is_fitted(self)
        return self.estimator_.predict_log_proba(X)

    @available_if(_estimator_has("decision_function"))
    def decision_function(self, X: Any) -> np.ndarray:
        """Decision function of the estimator fitted on the subsample.

        Only available when the wrapped estimator has ``decision_function``.

        Parameters
        ----------
        X : array-like
            Samples, in the form the wrapped estimator accepts.

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            The wrapped estimator's decision values.
        """
        check_is_fitted(self)
        return self.estimator_.decision_function(X)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        inner = get_tags(self.estimator)
        tags.input_tags = inner.input_tags
        if inner.classifier_tags is not None:
            tags.classifier_tags = inner.classifier_tags
        tags.non_deterministic = inner.non_deterministic
        return tags


def _indexable(X: Any) -> Any:
    """``X`` in a form ``_safe_indexing`` can subsample by rows."""
    if sparse.issparse(X):
        # DIA and COO matrices cannot be indexed by rows
        return X if X.format in ("csr", "csc", "lil") else X.tocsr()
    if not hasattr(X, "__getitem__") and hasattr(X, "__array__"):
        return np.asarray(X)
    return X


def _has_one_per_sample(value: Any, n_samples: int) -> bool:
    """Whether a fit parameter is per-sample data (to be subsampled with X and y)."""
    shape = getattr(value, "shape", None)
    if shape is not None:
        return len(shape) > 0 and shape[0] == n_samples
    return isinstance(value, list | tuple) and len(value) == n_samples
