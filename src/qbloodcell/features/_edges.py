"""Table I edges: the Sobel magnitude (bit-identical to scikit-image) and its statistics."""

from __future__ import annotations

import math

from numba import njit

from qbloodcell.features._sums import _sum, _sum_of_squared_deviations

_SQRT2 = math.sqrt(2.0)


@njit(cache=True, error_model="numpy")
def sobel_magnitude(image, out):
    """``skimage.filters.sobel(image)``: the same operation order, so bit-identical.

    Both axis responses are ``scipy.ndimage.convolve`` with the kernels ``[1, 0, -1]``
    (derivative) times ``[1, 2, 1] / 4`` (smoothing) and ``mode="reflect"``
    (``d c b a | a b c d``); the magnitude is ``sqrt((g0**2 + g1**2)) / sqrt(2)``. The
    first and last columns take the reflected neighbours; the columns between them run
    in a loop without branches, which the compiler vectorises (NumPy's error model: the
    division by sqrt(2) needs no zero check).
    """
    height, width = image.shape
    for r in range(height):
        above = image[r - 1 if r > 0 else 0]
        middle = image[r]
        below = image[r + 1 if r < height - 1 else height - 1]
        target = out[r]
        _sobel_pixel(above, middle, below, target, 0, 0, min(1, width - 1))
        for c in range(1, width - 1):
            _sobel_pixel(above, middle, below, target, c, c - 1, c + 1)
        if width > 1:
            _sobel_pixel(above, middle, below, target, width - 1, width - 2, width - 1)


@njit(cache=True, inline="always", error_model="numpy")
def _sobel_pixel(above, middle, below, target, c, left, right):
    # scipy's correlate sums the non-zero weights of the flipped kernel in C order
    g0 = 0.0
    g0 += above[left] * -0.25
    g0 += above[c] * -0.5
    g0 += above[right] * -0.25
    g0 += below[left] * 0.25
    g0 += below[c] * 0.5
    g0 += below[right] * 0.25
    g1 = 0.0
    g1 += above[left] * -0.25
    g1 += above[right] * 0.25
    g1 += middle[left] * -0.5
    g1 += middle[right] * 0.5
    g1 += below[left] * -0.25
    g1 += below[right] * 0.25
    target[c] = math.sqrt(g0 * g0 + g1 * g1) / _SQRT2


@njit(cache=True)
def edge_statistics(magnitude, threshold, out):
    """Fraction of magnitudes above ``threshold``, their mean and std (ddof=0)."""
    flat = magnitude.ravel()
    n = flat.size
    above = 0
    for k in range(n):
        above += flat[k] > threshold
    mean = _sum(flat) / n
    out[0] = above / n
    out[1] = mean
    out[2] = math.sqrt(_sum_of_squared_deviations(flat, mean) / n)
