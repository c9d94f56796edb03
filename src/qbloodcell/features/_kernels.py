"""Fused numba kernels for the first 17 blood-cell features (all but the FFT ones).

Every kernel takes C-contiguous float64 (or int64) arrays and is tested against a plain
NumPy/scikit-image reference in ``tests/features``. Several kernels reproduce the exact
floating-point operation order of the scikit-image/NumPy/SciPy functions named in their
docstring, because a feature defined by a threshold (Otsu's mask, the edge density) flips
when a single value moves by one unit in the last place.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

#: Number of features computed here: 5 intensity, 5 GLCM, 4 morphology, 3 edge.
N_KERNEL_FEATURES = 17

OTSU_BINS = 256

# perimeter weights of skimage.measure.perimeter(neighborhood=4), indexed by the code
# 1 + 2 * (border 4-neighbours) + 10 * (border diagonal neighbours) of a border pixel
_SQRT2 = math.sqrt(2.0)
PERIMETER_WEIGHTS = np.zeros(50)
PERIMETER_WEIGHTS[[5, 7, 15, 17, 25, 27]] = 1.0
PERIMETER_WEIGHTS[[21, 33]] = _SQRT2
PERIMETER_WEIGHTS[[13, 23]] = (1.0 + _SQRT2) / 2.0


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


@njit(cache=True)
def otsu_threshold(image, low, high, histogram):
    """``skimage.filters.threshold_otsu(image, nbins=256)`` for a non-constant float image.

    NaN when the value range is too small for 256 bins with distinct edges (a range of a
    few hundred ulp of the values), where scikit-image raises ``ValueError``.

    Reproduces ``numpy.histogram``'s uniform binning (bin edges from ``numpy.linspace``,
    the one-ulp corrections at the edges) and scikit-image's float32 class weights, so the
    threshold is bit-identical. ``histogram`` is an int64 buffer of 256 elements.
    """
    n_bins = OTSU_BINS
    delta = high - low
    step = delta / n_bins
    edges = np.empty(n_bins + 1)
    for k in range(n_bins):
        edges[k] = k * step + low
    edges[n_bins] = high
    for k in range(n_bins):
        if edges[k] >= edges[k + 1]:
            # numpy.histogram (so threshold_otsu) refuses such a range: "Too many bins
            # for data range"; the image is too flat for 256 distinct bins
            return np.nan
    histogram[:] = 0
    flat = image.ravel()
    for k in range(flat.size):
        value = flat[k]
        index = int(((value - low) / delta) * n_bins)
        if index == n_bins:
            index -= 1
        if value < edges[index]:
            index -= 1
        if index != n_bins - 1 and value >= edges[index + 1]:
            index += 1
        histogram[index] += 1
    centers = np.empty(n_bins)
    for k in range(n_bins):
        centers[k] = (edges[k] + edges[k + 1]) / 2.0
    # class weights and means for every split, as threshold_otsu's cumulative sums
    weight_below = np.empty(n_bins)
    mean_below = np.empty(n_bins)
    weight = 0.0
    moment = 0.0
    for k in range(n_bins):
        weight += histogram[k]
        moment += histogram[k] * centers[k]
        weight_below[k] = weight
        mean_below[k] = moment / weight
    weight_above = np.empty(n_bins)
    mean_above = np.empty(n_bins)
    weight = 0.0
    moment = 0.0
    for k in range(n_bins - 1, -1, -1):
        weight += histogram[k]
        moment += histogram[k] * centers[k]
        weight_above[k] = weight
        mean_above[k] = moment / weight
    best = -1.0
    best_index = 0
    for k in range(n_bins - 1):
        # scikit-image multiplies the two class weights in float32
        weights = np.float32(np.float32(weight_below[k]) * np.float32(weight_above[k + 1]))
        difference = mean_below[k] - mean_above[k + 1]
        variance = np.float64(weights) * (difference * difference)
        if variance > best:
            best = variance
            best_index = k
    return centers[best_index]


@njit(cache=True)
def _find(parent, node):
    while parent[node] != node:
        parent[node] = parent[parent[node]]
        node = parent[node]
    return node


@njit(cache=True)
def _union(parent, a, b):
    root_a = _find(parent, a)
    root_b = _find(parent, b)
    # the smaller index becomes the root, so a root is its component's first pixel
    if root_a < root_b:
        parent[root_b] = root_a
    elif root_b < root_a:
        parent[root_a] = root_b


@njit(cache=True)
def _label_runs(
    grid,
    value,
    row_first,
    row_last,
    col_first,
    col_stop,
    reach,
    run_start,
    run_stop,
    row_runs,
    parent,
):
    """Union-find over the horizontal runs of ``grid == value`` in a box; returns their number.

    The box is rows ``row_first..row_last`` and columns ``col_first..col_stop - 1``. Run
    ``k`` covers columns ``run_start[k]..run_stop[k] - 1``; the runs of box row ``i`` are
    ``row_runs[i]..row_runs[i + 1] - 1``, numbered in raster order. A run is joined to each
    run of the row above whose columns, widened by ``reach`` on each side, meet its own:
    ``reach=1`` gives 8-connectivity, ``reach=0`` 4-connectivity. The smaller number
    becomes the root (see :func:`_union`), so a root is its group's first run.
    """
    n_runs = 0
    for r in range(row_first, row_last + 1):
        row_runs[r - row_first] = n_runs
        c = col_first
        while c < col_stop:
            if grid[r, c] == value:
                begin = c
                while c < col_stop and grid[r, c] == value:
                    c += 1
                run_start[n_runs] = begin
                run_stop[n_runs] = c
                parent[n_runs] = n_runs
                n_runs += 1
            else:
                c += 1
    n_rows = row_last - row_first + 1
    row_runs[n_rows] = n_runs
    for r in range(1, n_rows):
        upper = row_runs[r - 1]
        upper_end = row_runs[r]
        for k in range(row_runs[r], row_runs[r + 1]):
            # skip the runs above that end before this run's widened start
            while upper < upper_end and run_stop[upper] + reach <= run_start[k]:
                upper += 1
            j = upper
            while j < upper_end and run_start[j] < run_stop[k] + reach:
                _union(parent, k, j)
                j += 1
    return n_runs


@njit(cache=True)
def largest_component(mask, parent, sizes, out):
    """Largest 8-connected component of a boolean ``mask`` into ``out`` (uint8).

    Ties go to the component whose first pixel in raster order comes first. ``parent`` and
    ``sizes`` are int64 buffers of ``mask.size`` elements. Returns the component's area.

    Components are joined over horizontal runs of foreground pixels, not over pixels
    (:func:`_label_runs` with 8-connectivity); each root is its component's first run,
    which holds the component's first pixel in raster order.
    """
    height, width = mask.shape
    max_runs = height * ((width + 1) // 2)
    run_start = np.empty(max_runs, dtype=np.int64)
    run_stop = np.empty(max_runs, dtype=np.int64)
    row_runs = np.empty(height + 1, dtype=np.int64)
    n_runs = _label_runs(
        mask, True, 0, height - 1, 0, width, 1, run_start, run_stop, row_runs, parent
    )
    sizes[:n_runs] = 0
    for k in range(n_runs):
        sizes[_find(parent, k)] += run_stop[k] - run_start[k]
    best = -1
    best_size = 0
    for k in range(n_runs):
        if sizes[k] > best_size:
            best_size = sizes[k]
            best = k
    out[:, :] = 0
    for r in range(height):
        for k in range(row_runs[r], row_runs[r + 1]):
            if _find(parent, k) == best:
                out[r, run_start[k] : run_stop[k]] = 1
    return best_size


@njit(cache=True)
def fill_holes(region, parent):
    """Fill the holes of ``region`` (uint8) in place, as ``scipy.ndimage.binary_fill_holes``.

    Background pixels not 4-connected to the image border become foreground. Only the
    bounding box of the region is searched: background outside it is connected to the
    border, and so is any background pixel on the box's edge. Inside the box, the
    background is cut into horizontal runs, joined (union-find) with the runs of the row
    above that share a column; the runs of a group that touches the box's edge stay
    background, the others are filled. ``parent`` is an int64 buffer of ``region.size``
    elements. Returns the area of the filled region.
    """
    height, width = region.shape
    row_first = height
    row_last = -1
    col_first = width
    col_last = -1
    for r in range(height):
        for c in range(width):
            if region[r, c]:
                row_first = min(row_first, r)
                row_last = max(row_last, r)
                col_first = min(col_first, c)
                col_last = max(col_last, c)
    if row_last < 0:
        return 0
    box_height = row_last - row_first + 1
    box_width = col_last - col_first + 1
    max_runs = box_height * ((box_width + 1) // 2)
    run_start = np.empty(max_runs, dtype=np.int64)
    run_stop = np.empty(max_runs, dtype=np.int64)
    row_runs = np.empty(box_height + 1, dtype=np.int64)
    n_runs = _label_runs(
        region,
        0,
        row_first,
        row_last,
        col_first,
        col_last + 1,
        0,
        run_start,
        run_stop,
        row_runs,
        parent,
    )
    # background on the box's edge is connected to the background outside the box
    on_edge = np.zeros(n_runs, dtype=np.bool_)
    for r in range(box_height):
        edge_row = r in (0, box_height - 1)
        for k in range(row_runs[r], row_runs[r + 1]):
            on_edge[k] = edge_row or run_start[k] == col_first or run_stop[k] == col_last + 1
    for k in range(n_runs):
        if on_edge[k]:
            on_edge[_find(parent, k)] = True
    for r in range(box_height):
        for k in range(row_runs[r], row_runs[r + 1]):
            if not on_edge[_find(parent, k)]:
                region[row_first + r, run_start[k] : run_stop[k]] = 1
    area = 0
    for r in range(row_first, row_last + 1):
        for c in range(col_first, col_last + 1):
            area += region[r, c]
    return area


@njit(cache=True)
def perimeter(region, weights, border):
    """``skimage.measure.perimeter(region, neighborhood=4)``.

    Border pixels are the region's pixels with a 4-neighbour outside it (or outside the
    image). Each is coded ``1 + 2 * (border 4-neighbours) + 10 * (border diagonal
    neighbours)`` and the perimeter is the sum of ``weights[code]``. ``border`` is a uint8
    buffer of shape ``(height + 2, width + 2)``, overwritten.
    """
    height, width = region.shape
    border[:, :] = 0
    for r in range(height):
        for c in range(width):
            if region[r, c]:
                interior = (
                    r > 0
                    and r < height - 1
                    and c > 0
                    and c < width - 1
                    and region[r - 1, c]
                    and region[r + 1, c]
                    and region[r, c - 1]
                    and region[r, c + 1]
                )
                if not interior:
                    border[r + 1, c + 1] = 1
    code_counts = np.zeros(50, dtype=np.int64)
    for r in range(1, height + 1):
        for c in range(1, width + 1):
            if border[r, c]:
                straight = (
                    np.int64(border[r - 1, c])
                    + border[r + 1, c]
                    + border[r, c - 1]
                    + border[r, c + 1]
                )
                diagonal = (
                    np.int64(border[r - 1, c - 1])
                    + border[r - 1, c + 1]
                    + border[r + 1, c - 1]
                    + border[r + 1, c + 1]
                )
                code_counts[1 + 2 * straight + 10 * diagonal] += 1
    total = 0.0
    for code in range(50):
        total += code_counts[code] * weights[code]
    return total


@njit(cache=True)
def eccentricity(region):
    """Eccentricity of the ellipse with the region's second central moments (regionprops)."""
    height, width = region.shape
    area = 0
    sum_r = 0
    sum_c = 0
    for r in range(height):
        for c in range(width):
            if region[r, c]:
                area += 1
                sum_r += r
                sum_c += c
    if area == 0:
        return 0.0
    center_r = sum_r / area
    center_c = sum_c / area
    mu_rr = 0.0
    mu_cc = 0.0
    mu_rc = 0.0
    for r in range(height):
        for c in range(width):
            if region[r, c]:
                dr = r - center_r
                dc = c - center_c
                mu_rr += dr * dr
                mu_cc += dc * dc
                mu_rc += dr * dc
    a = mu_cc / area
    c_ = mu_rr / area
    b = -mu_rc / area
    half_sum = (a + c_) / 2.0
    half_difference = (a - c_) / 2.0
    root = math.sqrt(half_difference * half_difference + b * b)
    largest = half_sum + root
    if largest == 0.0:
        return 0.0
    # 1 - l2 / l1 = 2 * root / l1 without the cancellation; l2 is clipped at 0
    return math.sqrt(min(1.0, 2.0 * root / largest))


@njit(cache=True)
def _cross(o_u, o_v, a_u, a_v, b_u, b_v):
    return (a_u - o_u) * (b_v - o_v) - (a_v - o_v) * (b_u - o_u)


@njit(cache=True)
def _push_hull_point(points, k, hull, size, floor):
    """One step of the monotone chain: drop the hull points that ``points[k]`` makes
    non-convex (never below ``floor`` points), append it, return the new hull size."""
    while (
        size >= floor
        and _cross(
            hull[size - 2, 0],
            hull[size - 2, 1],
            hull[size - 1, 0],
            hull[size - 1, 1],
            points[k, 0],
            points[k, 1],
        )
        <= 0
    ):
        size -= 1
    hull[size, 0] = points[k, 0]
    hull[size, 1] = points[k, 1]
    return size + 1


@njit(cache=True)
def convex_area(region, points, hull):
    """Number of pixel centres inside or on the convex hull of the region's pixels.

    As ``skimage.morphology.convex_hull_image``: the hull of the midpoints of the pixel
    edges (each pixel's "diamond"), borders included. Coordinates are doubled so that all
    arithmetic is exact in integers. ``points`` and ``hull`` are int64 buffers of shape
    ``(4 * height + 4, 2)``.
    """
    height, width = region.shape
    n_points = 0
    # per doubled row coordinate u = 2r - 1, 2r, 2r + 1, the extreme doubled columns v;
    # generated in (u, v) lexicographic order for the monotone chain
    n_levels = 2 * height + 1
    level_low = np.full(n_levels, 1 << 40, dtype=np.int64)
    level_high = np.full(n_levels, -(1 << 40), dtype=np.int64)
    for r in range(height):
        first = -1
        last = -1
        for c in range(width):
            if region[r, c]:
                if first < 0:
                    first = c
                last = c
        if first < 0:
            continue
        # diamond of pixel (r, c): (2r - 1, 2c), (2r, 2c - 1), (2r, 2c + 1), (2r + 1, 2c);
        # level index u + 1
        for u, v_low, v_high in (
            (2 * r - 1, 2 * first, 2 * last),
            (2 * r, 2 * first - 1, 2 * last + 1),
            (2 * r + 1, 2 * first, 2 * last),
        ):
            level_low[u + 1] = min(level_low[u + 1], v_low)
            level_high[u + 1] = max(level_high[u + 1], v_high)
    for level in range(n_levels):
        if level_low[level] <= level_high[level]:
            points[n_points, 0] = level - 1
            points[n_points, 1] = level_low[level]
            n_points += 1
            if level_high[level] != level_low[level]:
                points[n_points, 0] = level - 1
                points[n_points, 1] = level_high[level]
                n_points += 1
    if n_points == 0:
        return 0
    # Andrew's monotone chain: lower then upper hull, counter-clockwise in (u, v)
    size = 0
    for k in range(n_points):
        size = _push_hull_point(points, k, hull, size, 2)
    lower_size = size + 1
    for k in range(n_points - 2, -1, -1):
        size = _push_hull_point(points, k, hull, size, lower_size)
    size -= 1  # the last point repeats the first
    # a pixel centre (2r, 2c) is inside or on the hull when it is on the left of (or on)
    # every counter-clockwise edge: a linear constraint on c for each row
    total = 0
    row_first = (points[0, 0] + 1) // 2
    row_last = points[n_points - 1, 0] // 2
    for r in range(max(0, row_first), min(height - 1, row_last) + 1):
        u = 2 * r
        c_low = 0
        c_high = width - 1
        for k in range(size):
            p_u = hull[k, 0]
            p_v = hull[k, 1]
            q_u = hull[(k + 1) % size, 0]
            q_v = hull[(k + 1) % size, 1]
            # cross((q - p), (x - p)) >= 0 with x = (u, 2c):  slope * 2c + offset >= 0
            slope = q_u - p_u
            offset = -(q_u - p_u) * p_v - (q_v - p_v) * (u - p_u)
            if slope > 0:
                # 2c >= -offset / slope
                bound = -((offset) // (2 * slope))
                c_low = max(c_low, bound)
            elif slope < 0:
                bound = offset // (-2 * slope)
                c_high = min(c_high, bound)
            elif offset < 0:
                c_high = -1
        if c_high >= c_low:
            total += c_high - c_low + 1
    return total


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


@njit(cache=True)
def image_features(
    image,
    offsets,
    levels,
    homogeneity_terms,
    edge_threshold,
    perimeter_weights,
    out,
    scratch,
    quantized,
    pair_counts,
    histogram,
    mask,
    region,
    parent,
    sizes,
    background_parent,
    points,
    hull,
    magnitude,
    border,
):
    """The 17 non-FFT features of one image into ``out[0:17]``, using the given buffers."""
    intensity_statistics(image, scratch, out[0:5])
    quantize(image, levels, quantized)
    glcm_properties(quantized, offsets, levels, pair_counts, homogeneity_terms, out[5:10])
    low = out[2]
    high = out[3]
    threshold = np.nan if low == high else otsu_threshold(image, low, high, histogram)
    if threshold != threshold:
        # constant, or too flat for Otsu's 256 bins: no threshold separates a cell
        out[10:14] = 0.0
    else:
        height, width = image.shape
        for r in range(height):
            for c in range(width):
                mask[r, c] = image[r, c] <= threshold
        largest_component(mask, parent, sizes, region)
        area = fill_holes(region, background_parent)
        out[10] = area
        out[11] = perimeter(region, perimeter_weights, border)
        out[12] = eccentricity(region)
        out[13] = area / convex_area(region, points, hull)
    sobel_magnitude(image, magnitude)
    edge_statistics(magnitude, edge_threshold, out[14:17])


@njit(cache=True, parallel=True)
def batch_features(
    images, offsets, levels, homogeneity_terms, edge_threshold, perimeter_weights, n_chunks, out
):
    """The 17 non-FFT features of each image of ``images`` (n, H, W) into ``out[:, 0:17]``.

    Images are split into ``n_chunks`` contiguous chunks run in parallel; each chunk
    allocates its work buffers once.
    """
    n_images, height, width = images.shape
    n_pixels = height * width
    for chunk in prange(n_chunks):
        start = chunk * n_images // n_chunks
        stop = (chunk + 1) * n_images // n_chunks
        scratch = np.empty(n_pixels)
        quantized = np.empty((height, width), dtype=np.int64)
        pair_counts = np.zeros(levels * levels + 1, dtype=np.int64)
        histogram = np.zeros(OTSU_BINS, dtype=np.int64)
        mask = np.zeros((height, width), dtype=np.bool_)
        region = np.zeros((height, width), dtype=np.uint8)
        parent = np.empty(n_pixels, dtype=np.int64)
        sizes = np.empty(n_pixels, dtype=np.int64)
        background_parent = np.empty(n_pixels, dtype=np.int64)
        points = np.empty((4 * height + 4, 2), dtype=np.int64)
        hull = np.empty((4 * height + 4, 2), dtype=np.int64)
        magnitude = np.empty((height, width))
        border = np.empty((height + 2, width + 2), dtype=np.uint8)
        for index in range(start, stop):
            image_features(
                images[index],
                offsets,
                levels,
                homogeneity_terms,
                edge_threshold,
                perimeter_weights,
                out[index],
                scratch,
                quantized,
                pair_counts,
                histogram,
                mask,
                region,
                parent,
                sizes,
                background_parent,
                points,
                hull,
                magnitude,
                border,
            )
