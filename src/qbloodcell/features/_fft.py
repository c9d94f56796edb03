"""The three Fourier features, batched over images with ``scipy.fft.rfft2``."""

from __future__ import annotations

import numpy as np
import scipy.fft
from numba import njit, prange

#: Images transformed at a time: bounds the memory of the complex spectra (~17 MB at 64 x 64).
CHUNK_SIZE = 512


def frequency_radius(height: int, width: int) -> np.ndarray:
    """Radius of each ``rfft2`` coefficient, in units of the Nyquist frequency of an axis.

    ``sqrt(fy**2 + fx**2) / 0.5`` with ``fy`` and ``fx`` in cycles per pixel as returned by
    ``numpy.fft.fftfreq`` and ``numpy.fft.rfftfreq``; equal, bit for bit, to the radius of
    the mirrored coefficient of the full ``fft2``.
    """
    fy = np.fft.fftfreq(height)[:, np.newaxis]
    fx = np.fft.rfftfreq(width)[np.newaxis, :]
    return np.sqrt(fy**2 + fx**2) / 0.5


def band_weights(height: int, width: int, low_cutoff: float, high_cutoff: float) -> np.ndarray:
    """Weights turning a half (``rfft2``) power spectrum into the four sums the features need.

    Columns: low band (``0 < radius <= low_cutoff``), high band (``radius > high_cutoff``),
    radius-weighted total and total, all without the DC term. A column ``kx`` of the half
    spectrum stands for itself and its mirror ``-kx`` (weight 2) except ``kx = 0`` and,
    for even widths, the Nyquist column ``kx = width / 2`` (weight 1).
    """
    radius = frequency_radius(height, width)
    kx = np.arange(radius.shape[1])
    multiplicity = np.where((kx == 0) | (2 * kx == width), 1.0, 2.0)[np.newaxis, :]
    not_dc = radius > 0
    columns = [
        multiplicity * (not_dc & (radius <= low_cutoff)),
        multiplicity * (radius > high_cutoff),
        multiplicity * radius * not_dc,
        multiplicity * not_dc,
    ]
    return np.stack([column.ravel() for column in columns], axis=1)


def frequency_features(
    images: np.ndarray,
    constant: np.ndarray,
    *,
    low_cutoff: float,
    high_cutoff: float,
    workers: int,
) -> np.ndarray:
    """Low-band and high-band energy fractions and spectral centroid of each image.

    Parameters
    ----------
    images : ndarray of shape (n, height, width)
        Float64 images.
    constant : ndarray of bool, shape (n,)
        Images whose features are defined as 0 (no variation, so no spectrum).
    low_cutoff, high_cutoff : float
        Band limits, in units of the Nyquist frequency.
    workers : int
        Threads for ``scipy.fft``.

    Returns
    -------
    ndarray of shape (n, 3)
    """
    n_images, height, width = images.shape
    weights = band_weights(height, width, low_cutoff, high_cutoff)
    sums = np.empty((n_images, 4))
    for start in range(0, n_images, CHUNK_SIZE):
        chunk = images[start : start + CHUNK_SIZE]
        # no centring: subtracting the mean changes only the DC term, which no sum uses
        spectrum = scipy.fft.rfft2(chunk, workers=workers)
        _band_sums(spectrum.reshape(len(chunk), -1), weights, sums[start : start + len(chunk)])
    out = np.zeros((n_images, 3))
    varying = ~constant & (sums[:, 3] > 0)
    out[varying] = sums[varying, :3] / sums[varying, 3:4]
    return out


@njit(parallel=True, cache=True)
def _band_sums(spectrum, weights, out):
    """``out[i] = |spectrum[i]|^2 @ weights``, one pass over each half spectrum."""
    n_coefficients = spectrum.shape[1]
    for i in prange(spectrum.shape[0]):
        low = high = centroid = total = 0.0
        for k in range(n_coefficients):
            value = spectrum[i, k]
            power = value.real * value.real + value.imag * value.imag
            low += power * weights[k, 0]
            high += power * weights[k, 1]
            centroid += power * weights[k, 2]
            total += power * weights[k, 3]
        out[i, 0] = low
        out[i, 1] = high
        out[i, 2] = centroid
        out[i, 3] = total
