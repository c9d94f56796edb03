"""Tests of balanced_indices."""

from __future__ import annotations

import numpy as np
import pytest

from qbloodcell.datasets import balanced_indices


def test_balanced_counts_unique_and_in_range():
    y = np.array(["a"] * 10 + ["b"] * 4 + ["c"] * 7)
    idx = balanced_indices(y, 3, random_state=0)
    assert idx.dtype == np.int64
    assert idx.shape == (9,)
    assert len(np.unique(idx)) == 9
    assert idx.min() >= 0
    assert idx.max() < len(y)
    labels, counts = np.unique(y[idx], return_counts=True)
    assert labels.tolist() == ["a", "b", "c"]
    assert counts.tolist() == [3, 3, 3]


def test_whole_class_when_n_equals_its_size():
    y = np.array([0] * 5 + [1] * 2)
    idx = balanced_indices(y, 2, random_state=1)
    assert sorted(idx[y[idx] == 1].tolist()) == [5, 6]


def test_deterministic_for_a_seed_and_varies_across_seeds():
    y = np.repeat(np.arange(3), 50)
    a = balanced_indices(y, 10, random_state=42)
    b = balanced_indices(y, 10, random_state=42)
    np.testing.assert_array_equal(a, b)
    c = balanced_indices(y, 10, random_state=43)
    assert not np.array_equal(a, c)


def test_accepts_random_state_instance():
    y = np.repeat([0, 1], 20)
    rng = np.random.RandomState(0)
    first = balanced_indices(y, 5, random_state=rng)
    second = balanced_indices(y, 5, random_state=rng)
    assert not np.array_equal(first, second)


def test_order_is_shuffled_not_grouped_by_class():
    y = np.repeat([0, 1], 100)
    idx = balanced_indices(y, 50, random_state=0)
    # grouped output would be 50 zeros followed by 50 ones
    assert not np.array_equal(y[idx], np.repeat([0, 1], 50))


def test_numpy_integer_n_accepted():
    y = np.repeat([0, 1], 5)
    assert balanced_indices(y, np.int64(2), random_state=0).shape == (4,)


def test_class_too_small_names_class_and_count():
    y = np.array(["NGS"] * 10 + ["LYA"] * 2)
    with pytest.raises(ValueError, match=r"'LYA' has 2"):
        balanced_indices(y, 3)


@pytest.mark.parametrize("bad", [2.0, "3", None, True])
def test_non_int_n_raises_type_error(bad):
    with pytest.raises(TypeError, match="n_samples_per_class must be an int"):
        balanced_indices(np.array([0, 1]), bad)


@pytest.mark.parametrize("bad", [0, -1])
def test_n_below_one_raises(bad):
    with pytest.raises(ValueError, match="n_samples_per_class must be an integer >= 1"):
        balanced_indices(np.array([0, 1]), bad)


def test_empty_and_2d_y_raise():
    with pytest.raises(ValueError, match="y is empty"):
        balanced_indices(np.array([]), 1)
    with pytest.raises(ValueError, match="one-dimensional"):
        balanced_indices(np.zeros((2, 2)), 1)
