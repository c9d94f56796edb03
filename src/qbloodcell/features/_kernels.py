"""Fused numba kernels for the first 17 blood-cell features (all but the FFT ones).

One pass per image over the Table I groups, each in its own module: intensity
(:mod:`~qbloodcell.features._intensity`), GLCM (:mod:`~qbloodcell.features._glcm`),
morphology (:mod:`~qbloodcell.features._morphology`) and edges
(:mod:`~qbloodcell.features._edges`); the frequency group is
:mod:`~qbloodcell.features._fft`. The columns come from
:mod:`~qbloodcell.features._layout`.

Every kernel takes C-contiguous float64 (or int64) arrays and is tested against a plain
NumPy/scikit-image reference in ``tests/features``. Several kernels reproduce the exact
floating-point operation order of the scikit-image/NumPy/SciPy functions named in their
docstring, because a feature defined by a threshold (Otsu's mask, the edge density) flips
when a single value moves by one unit in the last place.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from qbloodcell.features._edges import edge_statistics, sobel_magnitude
from qbloodcell.features._glcm import (
    _MAX_GENERATION,
    HOMOGENEITY_SCALE,
    glcm_offset_properties,
    glcm_properties,
    homogeneity_table,
    pair_count_buffer,
    quantize,
)
from qbloodcell.features._intensity import (
    _median,
    _median_inplace,
    _select,
    intensity_statistics,
)
from qbloodcell.features._layout import (
    CELL_AREA,
    CELL_ECCENTRICITY,
    CELL_PERIMETER,
    CELL_SOLIDITY,
    EDGES_START,
    EDGES_STOP,
    GLCM_START,
    GLCM_STOP,
    INTENSITY_MAX,
    INTENSITY_MIN,
    INTENSITY_START,
    INTENSITY_STOP,
    MORPHOLOGY_START,
    MORPHOLOGY_STOP,
    N_KERNEL_FEATURES,
)
from qbloodcell.features._morphology import (
    OTSU_BINS,
    PERIMETER_WEIGHTS,
    convex_area,
    eccentricity,
    fill_holes,
    largest_component,
    otsu_threshold,
    perimeter,
)

# the group kernels, re-exported for the tests and benchmarks that call them one by one
__all__ = [
    "HOMOGENEITY_SCALE",
    "N_KERNEL_FEATURES",
    "OTSU_BINS",
    "PERIMETER_WEIGHTS",
    "_MAX_GENERATION",
    "_median",
    "_median_inplace",
    "_select",
    "batch_features",
    "convex_area",
    "eccentricity",
    "edge_statistics",
    "fill_holes",
    "glcm_offset_properties",
    "glcm_properties",
    "homogeneity_table",
    "image_features",
    "intensity_statistics",
    "largest_component",
    "otsu_threshold",
    "pair_count_buffer",
    "perimeter",
    "quantize",
    "sobel_magnitude",
]


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
    """The 17 non-FFT features of one image into ``out[:N_KERNEL_FEATURES]``.

    Uses the given buffers; the columns are those of :mod:`qbloodcell.features._layout`.
    """
    intensity_statistics(image, scratch, out[INTENSITY_START:INTENSITY_STOP])
    quantize(image, levels, quantized)
    glcm_properties(
        quantized, offsets, levels, pair_counts, homogeneity_terms, out[GLCM_START:GLCM_STOP]
    )
    low = out[INTENSITY_MIN]
    high = out[INTENSITY_MAX]
    threshold = np.nan if low == high else otsu_threshold(image, low, high, histogram)
    if threshold != threshold:
        # constant, or too flat for Otsu's 256 bins: no threshold separates a cell
        out[MORPHOLOGY_START:MORPHOLOGY_STOP] = 0.0
    else:
        height, width = image.shape
        for r in range(height):
            for c in range(width):
                mask[r, c] = image[r, c] <= threshold
        largest_component(mask, parent, sizes, region)
        area = fill_holes(region, background_parent)
        out[CELL_AREA] = area
        out[CELL_PERIMETER] = perimeter(region, perimeter_weights, border)
        out[CELL_ECCENTRICITY] = eccentricity(region)
        out[CELL_SOLIDITY] = area / convex_area(region, points, hull)
    sobel_magnitude(image, magnitude)
    edge_statistics(magnitude, edge_threshold, out[EDGES_START:EDGES_STOP])


@njit(cache=True, parallel=True)
def batch_features(
    images, offsets, levels, homogeneity_terms, edge_threshold, perimeter_weights, n_chunks, out
):
    """The non-FFT features of each image of ``images`` (n, H, W) into ``out[:, :17]``.

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
