"""Table I GLCM texture: quantisation and the five co-occurrence properties.

Computed from the list of pixel pairs with exact integer sums, without building the
``L x L`` co-occurrence matrices.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True)
def quantize(image, levels, out):
    """``out = floor(image * (levels - 1) + 0.5)`` as int64, for image values in [0, 1]."""
    flat = image.ravel()
    target = out.ravel()
    scale = float(levels - 1)
    for k in range(flat.size):
        target[k] = min(math.floor(flat[k] * scale + 0.5), levels - 1)


@njit(cache=True)
def _window_sums(flat, width, row_start, row_stop, col_start, col_stop):
    """Sum and sum of squares of the window rows x cols of a flat int64 image."""
    total = 0
    squares = 0
    for r in range(row_start, row_stop):
        base = r * width
        for k in range(base + col_start, base + col_stop):
            value = flat[k]
            total += value
            squares += value * value
    return total, squares


# homogeneity terms 1 / (1 + d**2) in fixed point, so that they add up exactly in int64:
# each term is rounded by at most 2**-43, and 1024 x 1024 images (2**20 pairs) stay
# below 2**62
HOMOGENEITY_SCALE = 2.0**42
_GENERATION_SHIFT = 32  # pair counts stay below 2**32 (at most 1024**2 pairs)
_MAX_GENERATION = 1 << 30


def pair_count_buffer(levels):
    """A buffer for :func:`glcm_offset_properties`: the counts plus a generation number."""
    return np.zeros(levels * levels + 1, dtype=np.int64)


def homogeneity_table(levels):
    """``round(2**42 / (1 + d**2))`` for each level difference ``d``, as int64."""
    difference = np.arange(levels, dtype=np.float64)
    return np.floor(HOMOGENEITY_SCALE / (1.0 + difference * difference) + 0.5).astype(np.int64)


@njit(cache=True)
def glcm_offset_properties(
    quantized, row_offset, col_offset, levels, pair_counts, homogeneity_terms, out
):
    """GLCM properties for one offset, from the list of pixel pairs.

    Equivalent to ``graycoprops`` of ``graycomatrix(..., symmetric=True, normed=True)`` for
    the single offset ``(row_offset, col_offset)``: writes contrast, dissimilarity,
    homogeneity, ASM and correlation to ``out[0:5]``. ``quantized`` is a C-contiguous int64
    image of levels; ``homogeneity_terms`` is :func:`homogeneity_table`; ``pair_counts``
    comes from :func:`pair_count_buffer` and is reused from call to call. Returns the
    number of pairs.

    Contrast, dissimilarity and the correlation's moments are exact integer sums over the
    pairs (of level differences, of levels, of products); homogeneity is an integer sum in
    fixed point. The ASM needs the co-occurrence counts: ``pair_counts`` holds the count
    ``S`` of each unordered pair of levels, and ``sum S**2`` grows by ``2 * S + 1`` whenever
    a count ``S`` is incremented, so no pass over the whole matrix is needed. The symmetric
    matrix holds ``S`` twice off the diagonal and ``2 * S`` on it, so its sum of squares is
    ``2 * sum S**2 + 2 * sum_diagonal S**2``. Instead of clearing the buffer, each call
    stamps its counts with a new generation number in the high bits; a count from an
    earlier generation reads as 0.
    """
    height, width = quantized.shape
    row_start = max(0, -row_offset)
    row_stop = min(height, height - row_offset)
    col_start = max(0, -col_offset)
    col_stop = min(width, width - col_offset)
    n_pairs = max(0, row_stop - row_start) * max(0, col_stop - col_start)
    if n_pairs == 0:
        out[:] = 0.0
        return 0
    n_keys = levels * levels
    generation = pair_counts[n_keys] + 1
    if generation >= _MAX_GENERATION:
        pair_counts[:] = 0
        generation = 1
    pair_counts[n_keys] = generation
    stamp = generation << _GENERATION_SHIFT
    flat = quantized.ravel()
    shift = row_offset * width + col_offset
    sum_products = 0
    sum_previous_counts = 0
    sum_squared_difference = 0
    sum_absolute_difference = 0
    sum_homogeneity = 0
    for r in range(row_start, row_stop):
        base = r * width
        for k in range(base + col_start, base + col_stop):
            a = flat[k]
            b = flat[k + shift]
            low = min(a, b)
            high = a + b - low
            difference = high - low
            sum_absolute_difference += difference
            sum_squared_difference += difference * difference
            sum_homogeneity += homogeneity_terms[difference]
            sum_products += a * b
            key = low * levels + high
            stamped = pair_counts[key]
            count = stamped - stamp if stamped >= stamp else 0
            sum_previous_counts += count
            pair_counts[key] = stamp + count + 1
    sum_squares_unordered = 2 * sum_previous_counts + n_pairs
    sum_squares_diagonal = 0
    for level in range(levels):
        stamped = pair_counts[level * levels + level]
        if stamped >= stamp:
            count = stamped - stamp
            sum_squares_diagonal += count * count
    first_sum, first_squares = _window_sums(flat, width, row_start, row_stop, col_start, col_stop)
    second_sum, second_squares = _window_sums(
        flat,
        width,
        row_start + row_offset,
        row_stop + row_offset,
        col_start + col_offset,
        col_stop + col_offset,
    )
    sum_levels = first_sum + second_sum
    sum_squared_levels = first_squares + second_squares
    total = 2 * n_pairs
    out[0] = sum_squared_difference / n_pairs
    out[1] = sum_absolute_difference / n_pairs
    out[2] = (sum_homogeneity / HOMOGENEITY_SCALE) / n_pairs
    out[3] = (2 * sum_squares_unordered + 2 * sum_squares_diagonal) / (float(total) * float(total))
    # covariance and variance of the symmetric GLCM, both times total**2, exactly
    variance = total * sum_squared_levels - sum_levels * sum_levels
    covariance = 2 * total * sum_products - sum_levels * sum_levels
    out[4] = 1.0 if variance == 0 else covariance / variance
    return n_pairs


@njit(cache=True)
def glcm_properties(quantized, offsets, levels, pair_counts, homogeneity_terms, out):
    """Contrast, dissimilarity, homogeneity, energy, correlation averaged over ``offsets``."""
    per_offset = np.empty(5)
    sums = np.zeros(5)
    n_offsets = offsets.shape[0]
    for k in range(n_offsets):
        glcm_offset_properties(
            quantized,
            offsets[k, 0],
            offsets[k, 1],
            levels,
            pair_counts,
            homogeneity_terms,
            per_offset,
        )
        sums[0] += per_offset[0]
        sums[1] += per_offset[1]
        sums[2] += per_offset[2]
        sums[3] += math.sqrt(per_offset[3])  # energy = sqrt(ASM), then averaged
        sums[4] += per_offset[4]
    for k in range(5):
        out[k] = sums[k] / n_offsets
