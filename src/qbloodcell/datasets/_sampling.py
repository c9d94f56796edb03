"""Balanced random subsampling of labelled samples."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.utils import check_random_state

from qbloodcell._validation import Integer, NoneValue, RandomState, Spec, check_arguments

#: What each argument of :func:`balanced_indices` accepts besides the labels ``y`` (data,
#: checked as such).
_BALANCED_INDICES_SPECS: dict[str, list[Spec]] = {
    "n_samples_per_class": [Integer(1)],
    "random_state": [NoneValue(), RandomState()],
}


def balanced_indices(
    y: Any,
    n_samples_per_class: int,
    *,
    random_state: Any = None,
) -> np.ndarray:
    """Indices of a class-balanced random subsample.

    Draws ``n_samples_per_class`` samples without replacement from every class of ``y``
    and returns their indices in a random order, so that ``X[idx], y[idx]`` is a balanced,
    shuffled subset. The study trains every method on such balanced subsets.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Class labels (integers, strings, ...). Must be one-dimensional and not empty.
    n_samples_per_class : int
        Number of samples to draw from each class, at least 1.
    random_state : int, RandomState instance or None, default=None
        Controls the draw and the shuffling; an int gives the same indices on every call.

    Returns
    -------
    indices : ndarray of int64 of shape (n_classes * n_samples_per_class,)
        Positions in ``y``, each at most once, in random order.

    Raises
    ------
    TypeError
        If ``n_samples_per_class`` is not an integer or ``random_state`` not a seed.
    ValueError
        If ``n_samples_per_class < 1``, if ``y`` is empty or not one-dimensional, or if a
        class has fewer than ``n_samples_per_class`` samples (the message names the class
        and its count).

    Examples
    --------
    >>> import numpy as np
    >>> from qbloodcell.datasets import balanced_indices
    >>> y = np.array([0, 0, 0, 0, 1, 1, 1])
    >>> idx = balanced_indices(y, 2, random_state=0)
    >>> np.bincount(y[idx]).tolist()
    [2, 2]
    """
    check_arguments(
        {"n_samples_per_class": n_samples_per_class, "random_state": random_state},
        _BALANCED_INDICES_SPECS,
    )
    n_samples_per_class = int(n_samples_per_class)
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"y must be one-dimensional, got an array of shape {y.shape}.")
    if y.shape[0] == 0:
        raise ValueError("y is empty: at least one labelled sample is needed.")
    classes, inverse, counts = np.unique(y, return_inverse=True, return_counts=True)
    too_small = counts < n_samples_per_class
    if too_small.any():
        details = ", ".join(
            f"{cls!r} has {count}"
            for cls, count in zip(
                classes[too_small].tolist(), counts[too_small].tolist(), strict=True
            )
        )
        raise ValueError(
            f"n_samples_per_class={n_samples_per_class} is larger than the number of "
            f"samples in some classes: {details} (smallest class: {counts.min()}). Choose "
            f"n_samples_per_class <= {counts.min()}."
        )
    rng = check_random_state(random_state)
    chosen = [
        rng.choice(np.flatnonzero(inverse == k), size=n_samples_per_class, replace=False)
        for k in range(classes.shape[0])
    ]
    indices = np.concatenate(chosen).astype(np.int64, copy=False)
    rng.shuffle(indices)
    return indices
