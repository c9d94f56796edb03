"""Table I morphology of the segmented cell: Otsu's threshold, the largest component with
its holes filled, and its area, perimeter, eccentricity and solidity.

Otsu's threshold reproduces scikit-image's arithmetic exactly, so the mask is identical.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

OTSU_BINS = 256

# perimeter weights of skimage.measure.perimeter(neighborhood=4), indexed by the code
# 1 + 2 * (border 4-neighbours) + 10 * (border diagonal neighbours) of a border pixel
_SQRT2 = math.sqrt(2.0)
PERIMETER_WEIGHTS = np.zeros(50)
PERIMETER_WEIGHTS[[5, 7, 15, 17, 25, 27]] = 1.0
PERIMETER_WEIGHTS[[21, 33]] = _SQRT2
PERIMETER_WEIGHTS[[13, 23]] = (1.0 + _SQRT2) / 2.0


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
