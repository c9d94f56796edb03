"""Numba kernel of :mod:`qbloodcell._images`, imported only when it is needed.

Kept apart so that validating images (the CNN baseline does it too) does not import numba.
"""

from __future__ import annotations

from numba import njit, prange


@njit(parallel=True, cache=True)
def integer_rgb_luminance(rgb, w0, w1, w2, out):
    """``out[i] = rgb[i, ..., 0] * w0 + rgb[i, ..., 1] * w1 + rgb[i, ..., 2] * w2``.

    Integer RGB images (n, H, W, 3) to float64 gray (n, H, W), in parallel over the
    images, with the same operations in the same order as the NumPy expression (so the
    same bits).
    """
    n_images, height, width, _ = rgb.shape
    for i in prange(n_images):
        for r in range(height):
            for c in range(width):
                out[i, r, c] = rgb[i, r, c, 0] * w0 + rgb[i, r, c, 1] * w1 + rgb[i, r, c, 2] * w2
