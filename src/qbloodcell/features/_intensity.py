"""Table I intensity statistics: mean, std, min, max and median of the gray image."""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from qbloodcell.features._sums import _sum, _sum_of_squared_deviations


@njit(cache=True)
def intensity_statistics(image, scratch, out):
    """Mean, std (ddof=0), min, max and median of ``image`` into ``out[0:5]``.

    ``scratch`` is a float64 buffer of ``image.size`` elements, overwritten. A constant
    image has exactly its value as mean and median and a std of exactly 0.
    """
    flat = image.ravel()
    n = flat.size
    low = flat[0]
    high = flat[0]
    for k in range(n):
        value = flat[k]
        low = min(low, value)
        high = max(high, value)
    out[2] = low
    out[3] = high
    if low == high:
        out[0] = low
        out[1] = 0.0
        out[4] = low
        return
    mean = _sum(flat) / n
    out[0] = mean
    out[1] = math.sqrt(_sum_of_squared_deviations(flat, mean) / n)
    out[4] = _median(flat, low, high, scratch)


@njit(cache=True)
def _select(values, k):
    """Move the k-th smallest value to ``values[k]`` (Hoare quickselect), return it."""
    left = 0
    right = values.size - 1
    while right > left:
        middle = (left + right) // 2
        # median of three as pivot keeps sorted or constant input linear
        a = values[left]
        b = values[middle]
        c = values[right]
        # median of a, b, c
        pivot = max(min(a, b), min(max(a, b), c))
        i = left
        j = right
        while i <= j:
            while values[i] < pivot:
                i += 1
            while values[j] > pivot:
                j -= 1
            if i <= j:
                values[i], values[j] = values[j], values[i]
                i += 1
                j -= 1
        if k <= j:
            right = j
        elif k >= i:
            left = i
        else:
            break
    return values[k]


_MEDIAN_BUCKETS = 1024


@njit(cache=True)
def _bucket(value, low, scale):
    return min(int((value - low) * scale), _MEDIAN_BUCKETS - 1)


@njit(cache=True)
def _median(flat, low, high, scratch):
    """``numpy.median(flat)`` for ``low = flat.min() < high = flat.max()``.

    The values are counted in 1024 equal buckets between ``low`` and ``high`` (the bucket
    index is a non-decreasing function of the value, so the buckets are sorted ranges);
    the middle ranks are then selected among the values of their bucket only, copied to
    ``scratch`` (a float64 buffer of ``flat.size`` elements).
    """
    n = flat.size
    scale = _MEDIAN_BUCKETS / (high - low)
    if not 0.0 < scale < np.inf:
        # a range below about 1e-305 (or an overflowing one): select among all values
        scratch[:n] = flat
        return _median_inplace(scratch[:n])
    counts = np.zeros(_MEDIAN_BUCKETS, dtype=np.int64)
    for k in range(n):
        counts[_bucket(flat[k], low, scale)] += 1
    half = n // 2
    # the bucket holding rank `half`, and the number of values in the buckets before it
    bucket = 0
    before = 0
    while before + counts[bucket] <= half:
        before += counts[bucket]
        bucket += 1
    size = 0
    for k in range(n):
        value = flat[k]
        if _bucket(value, low, scale) == bucket:
            scratch[size] = value
            size += 1
    upper = _select(scratch[:size], half - before)
    if n % 2 == 1:
        return upper
    if half - 1 >= before:
        # rank half - 1 is in the same bucket: the largest value left of the selected one
        lower = scratch[0]
        for k in range(1, half - before):
            lower = max(lower, scratch[k])
    else:
        # rank half - 1 is the largest value of the buckets before
        lower = low
        for k in range(n):
            value = flat[k]
            if _bucket(value, low, scale) < bucket:
                lower = max(lower, value)
    return (lower + upper) / 2.0


@njit(cache=True)
def _median_inplace(values):
    """Median as numpy.median computes it (mean of the two middle values when even)."""
    n = values.size
    half = n // 2
    upper = _select(values, half)
    if n % 2 == 1:
        return upper
    # after selecting index half, everything left of it is <= values[half]
    lower = values[0]
    for k in range(1, half):
        lower = max(lower, values[k])
    return (lower + upper) / 2.0
