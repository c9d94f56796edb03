"""The early stopping shared by EP and the CNN (``qbloodcell._early_stopping``)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from qbloodcell._early_stopping import EarlyStopping, continued_history, validation_split


def test_split_is_stratified_and_holds_out_the_ceiling():
    y = np.repeat([0, 1, 2], [10, 7, 5])
    train, valid = validation_split(y, 0.3, np.random.RandomState(0))
    assert valid.size == math.ceil(0.3 * y.size)
    assert np.sort(np.concatenate([train, valid])).tolist() == list(range(y.size))
    # every class on both sides
    assert set(y[train]) == set(y[valid]) == {0, 1, 2}


def test_split_follows_the_generator():
    y = np.repeat([0, 1], 20)
    first = validation_split(y, 0.2, np.random.RandomState(3))
    again = validation_split(y, 0.2, np.random.RandomState(3))
    other = validation_split(y, 0.2, np.random.RandomState(4))
    np.testing.assert_array_equal(first[1], again[1])
    assert not np.array_equal(np.sort(first[1]), np.sort(other[1]))


def test_split_ignores_absent_class_indices():
    # a warm-started CNN may see a subset of its classes: index 1 absent is fine
    y = np.repeat([0, 2], 6)
    train, valid = validation_split(y, 0.25, np.random.RandomState(0))
    assert set(y[train]) == set(y[valid]) == {0, 2}


@pytest.mark.parametrize(
    ("y", "fraction"),
    [
        (np.array([0, 0, 0, 0, 1]), 0.4),  # one sample of class 1
        (np.repeat([0, 1, 2], 4), 0.1),  # 2 held out for 3 classes
        (np.repeat([0, 1, 2], 2), 0.9),  # 0 left for training
    ],
)
def test_split_refuses_a_class_missing_from_one_side(y, fraction):
    with pytest.raises(ValueError, match=r"every class on both sides.*early_stopping=False"):
        validation_split(y, fraction, np.random.RandomState(0), samples="images")


def test_improvement_beats_the_best_by_more_than_tol():
    monitor = EarlyStopping(n_iter_no_change=3, tol=0.05)
    assert monitor.update(0.5)
    assert not monitor.update(0.54)  # not better by more than tol
    assert monitor.best_score == 0.5
    assert monitor.update(0.56)
    assert monitor.epochs_without_improvement == 0
    assert monitor.best_score == 0.56


def test_patience_counts_consecutive_epochs_without_improvement():
    monitor = EarlyStopping(n_iter_no_change=2)
    monitor.update(0.5)
    monitor.update(0.4)
    assert not monitor.should_stop
    monitor.update(0.6)  # resets the count
    monitor.update(0.6)
    assert not monitor.should_stop
    monitor.update(0.55)
    assert monitor.should_stop


def test_a_lower_loss_breaks_ties_without_resetting_the_patience():
    monitor = EarlyStopping(n_iter_no_change=2)
    assert monitor.update(0.7, loss=1.0)
    assert monitor.update(0.7, loss=0.8)  # same score, lower loss: keep these weights
    assert monitor.epochs_without_improvement == 1
    assert not monitor.update(0.7, loss=0.9)
    assert monitor.should_stop
    # without a loss, ties keep the first epoch
    plain = EarlyStopping(n_iter_no_change=2)
    assert plain.update(0.7)
    assert not plain.update(0.7)


def test_history_continues_only_under_warm_start_with_early_stopping():
    previous = [0.5, 0.6]
    assert continued_history(previous, early_stopping=True, continuing=True) is previous
    assert continued_history(previous, early_stopping=True, continuing=False) == []
    assert continued_history(None, early_stopping=True, continuing=True) == []
    assert continued_history(previous, early_stopping=False, continuing=True) is None
