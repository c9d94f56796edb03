"""Sums with four interleaved accumulators, shared by the intensity and edge kernels.

Shorter floating-point chains than a plain loop; the intensity and edge features are
defined with them, so the order of operations is part of the result's last bits.
"""

from __future__ import annotations

from numba import njit


@njit(cache=True)
def _sum_of_squared_deviations(flat, mean):
    """``sum((flat - mean) ** 2)`` with four interleaved accumulators (shorter float chains)."""
    n = flat.size
    s0 = 0.0
    s1 = 0.0
    s2 = 0.0
    s3 = 0.0
    stop = n - n % 4
    for k in range(0, stop, 4):
        d0 = flat[k] - mean
        d1 = flat[k + 1] - mean
        d2 = flat[k + 2] - mean
        d3 = flat[k + 3] - mean
        s0 += d0 * d0
        s1 += d1 * d1
        s2 += d2 * d2
        s3 += d3 * d3
    for k in range(stop, n):
        d0 = flat[k] - mean
        s0 += d0 * d0
    return (s0 + s1) + (s2 + s3)


@njit(cache=True)
def _sum(flat):
    """Sum with four interleaved accumulators."""
    n = flat.size
    s0 = 0.0
    s1 = 0.0
    s2 = 0.0
    s3 = 0.0
    stop = n - n % 4
    for k in range(0, stop, 4):
        s0 += flat[k]
        s1 += flat[k + 1]
        s2 += flat[k + 2]
        s3 += flat[k + 3]
    for k in range(stop, n):
        s0 += flat[k]
    return (s0 + s1) + (s2 + s3)
