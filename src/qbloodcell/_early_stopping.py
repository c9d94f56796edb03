"""Early stopping shared by the estimators trained in epochs (EP and the CNN).

One definition of the parameters, for every estimator that has them
(:class:`~qbloodcell.ep.EquilibriumPropagationClassifier`,
:class:`~qbloodcell.baselines.CNNClassifier`; see :ref:`early-stopping`):

``early_stopping``
    Hold out a stratified validation set (:func:`validation_split`), score it after every
    epoch, stop when the patience runs out (:class:`EarlyStopping`) and keep the weights
    of the best epoch.
``validation_fraction``
    Fraction of the training samples held out: ``ceil(validation_fraction * n_samples)``
    of them, with every class present in the training data on both sides of the split.
``n_iter_no_change``
    Patience: training stops after this many consecutive epochs that did not improve.
    An epoch *improves* when its validation score exceeds the best score so far by more
    than the estimator's tolerance (EP's ``tol``; the CNN has none, so any rise counts).
``warm_start``
    A further ``fit`` continues from the fitted model for up to ``max_iter`` more epochs;
    ``n_iter_``, ``loss_curve_`` and ``validation_scores_`` continue over the calls
    (:func:`continued_history`). Each ``fit`` draws its validation split and starts its
    patience and best epoch afresh.

The weights kept at the end are those of the best epoch: the first epoch that improved
last, or, for an estimator that also reports a validation loss, a later epoch with the
same validation score and a lower loss (ties broken by the loss; the patience still
counts on the score alone).
"""

from __future__ import annotations

import math

import numpy as np
from sklearn.model_selection import train_test_split


def validation_split(
    y_encoded: np.ndarray,
    validation_fraction: float,
    random_state: np.random.RandomState,
    *,
    samples: str = "samples",
) -> tuple[np.ndarray, np.ndarray]:
    """Stratified train and validation indices for early stopping.

    Parameters
    ----------
    y_encoded : ndarray of shape (n_samples,)
        Class indices (non-negative integers).
    validation_fraction : float
        Fraction held out, in ``(0, 1)``: ``ceil(validation_fraction * n_samples)`` samples.
    random_state : RandomState
        Draws the split (the estimator's generator, so that one seed seeds everything).
    samples : str, default="samples"
        What the samples are called in the error message (``"images"`` for the CNN).

    Returns
    -------
    train_index, validation_index : ndarray of int
        Indices in the order :func:`~sklearn.model_selection.train_test_split` gives.

    Raises
    ------
    ValueError
        When some class present in ``y_encoded`` would be missing from one side of the
        split (fewer than two samples of it, or fewer held-out or remaining samples than
        classes).

    Examples
    --------
    >>> import numpy as np
    >>> from qbloodcell._early_stopping import validation_split
    >>> y = np.repeat([0, 1], 10)
    >>> train, valid = validation_split(y, 0.2, np.random.RandomState(0))
    >>> len(train), len(valid), sorted(np.bincount(y[valid]).tolist())
    (16, 4, [2, 2])
    """
    n_samples = y_encoded.size
    counts = np.bincount(y_encoded)
    present = counts[counts > 0]
    n_present = present.size
    n_validation = math.ceil(validation_fraction * n_samples)
    if present.min() < 2 or n_validation < n_present or n_samples - n_validation < n_present:
        raise ValueError(
            f"early_stopping=True holds out validation_fraction={validation_fraction} of the "
            f"{n_samples} {samples} with every class on both sides of a stratified split, "
            f"which needs at least 2 {samples} per class and {n_present} {samples} on each "
            f"side; the class counts are {present.tolist()} and the split would hold out "
            f"{n_validation}. Pass more {samples}, change validation_fraction, or set "
            "early_stopping=False."
        )
    train_index, validation_index = train_test_split(
        np.arange(n_samples), test_size=n_validation, stratify=y_encoded, random_state=random_state
    )
    return train_index, validation_index


class EarlyStopping:
    """Patience and best epoch of one ``fit`` (see the module description).

    Parameters
    ----------
    n_iter_no_change : int
        Patience, in epochs.
    tol : float, default=0.0
        An epoch improves when its score exceeds the best so far by more than ``tol``.

    Examples
    --------
    >>> from qbloodcell._early_stopping import EarlyStopping
    >>> monitor = EarlyStopping(n_iter_no_change=2)
    >>> [monitor.update(score) for score in (0.5, 0.7, 0.7, 0.6)]
    [True, True, False, False]
    >>> monitor.should_stop, monitor.best_score
    (True, 0.7)
    """

    def __init__(self, n_iter_no_change: int, tol: float = 0.0) -> None:
        self.n_iter_no_change = int(n_iter_no_change)
        self.tol = float(tol)
        self.best_score = -math.inf
        self.best_loss = math.inf
        self.epochs_without_improvement = 0

    def update(self, score: float, loss: float | None = None) -> bool:
        """Record one epoch; True when its weights are the best so far (keep them)."""
        if score > self.best_score + self.tol:
            self.epochs_without_improvement = 0
            self.best_score = score
            self.best_loss = math.inf if loss is None else loss
            return True
        self.epochs_without_improvement += 1
        if loss is not None and score == self.best_score and loss < self.best_loss:
            self.best_loss = loss
            return True
        return False

    @property
    def should_stop(self) -> bool:
        """Whether the patience has run out."""
        return self.epochs_without_improvement >= self.n_iter_no_change


def continued_history(
    previous: list[float] | None, early_stopping: bool, continuing: bool
) -> list[float] | None:
    """The ``validation_scores_`` list a ``fit`` appends to (None without early stopping).

    A ``warm_start`` fit continues the previous list; a new fit, or the first one with
    early stopping, starts an empty one.

    Examples
    --------
    >>> from qbloodcell._early_stopping import continued_history
    >>> continued_history([0.5], early_stopping=True, continuing=True)
    [0.5]
    >>> continued_history([0.5], early_stopping=True, continuing=False)
    []
    >>> continued_history([0.5], early_stopping=False, continuing=True) is None
    True
    """
    if not early_stopping:
        return None
    if continuing and previous is not None:
        return previous
    return []
