"""The ``BloodCellFeatures`` transformer: images -> the 20 features of the paper's Table I."""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numba
import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from qbloodcell._images import MIN_IMAGE_SIDE, check_images
from qbloodcell._parallel import effective_n_jobs
from qbloodcell._validation import Integer, NJobs, NoneValue, Options, Real, Spec, validate_params
from qbloodcell.features._fft import frequency_features
from qbloodcell.features._glcm import homogeneity_table
from qbloodcell.features._kernels import batch_features
from qbloodcell.features._layout import (
    FEATURE_NAMES,
    FREQUENCY_START,
    FREQUENCY_STOP,
    INTENSITY_MAX,
    INTENSITY_MIN,
    STUDY_CODE_FEATURE_NAMES,
)
from qbloodcell.features._morphology import PERIMETER_WEIGHTS
from qbloodcell.features._study import study_code_features

#: The feature sets of ``BloodCellFeatures(feature_set=...)`` and their names.
FEATURE_SETS: dict[str, tuple[str, ...]] = {
    "table1": FEATURE_NAMES,
    "study-code": STUDY_CODE_FEATURE_NAMES,
}

#: GLCM angles, as in ``skimage.feature.graycomatrix``: 0, 45, 90 and 135 degrees.
GLCM_ANGLES = (0.0, math.pi / 4, math.pi / 2, 3 * math.pi / 4)

#: Largest image side: above it the exact integer GLCM moments could overflow int64.
MAX_IMAGE_SIDE = 1024


def glcm_offsets(distance: int) -> np.ndarray:
    """Pixel offsets (row, column) of the four GLCM angles, rounded as scikit-image does."""
    return np.array(
        [
            [round(math.sin(angle) * distance), round(math.cos(angle) * distance)]
            for angle in GLCM_ANGLES
        ],
        dtype=np.int64,
    )


def numba_threads(n_jobs: int | None) -> int:
    """Number of numba threads for ``n_jobs``, capped at the size of numba's thread pool.

    ``n_jobs`` has the package's one meaning (:func:`qbloodcell._parallel.effective_n_jobs`).
    """
    return effective_n_jobs(n_jobs, cap=numba.config.NUMBA_NUM_THREADS)  # type: ignore[attr-defined]


class BloodCellFeatures(TransformerMixin, BaseEstimator):
    """Turn blood-cell images into the 20 engineered features of the study.

    Each image is converted to grayscale in [0, 1] and resized to ``image_size`` by
    :func:`qbloodcell._images.check_images` (luminance weights of
    ``skimage.color.rgb2gray``; RGBA composited over white; anti-aliased resize), then
    summarised by the five groups of Table I of the study [1]_. The transformer is stateless:
    ``fit`` only validates, and ``transform`` works on an unfitted instance.

    Let ``x`` be the ``S x S`` gray image (``S = image_size``), ``N = S * S`` pixels.

    **Intensity statistics** (5): ``mean(x)``, ``std(x)`` (population, ``ddof=0``),
    ``min(x)``, ``max(x)``, ``median(x)`` (mean of the two middle values when ``N`` is even).

    **GLCM texture** (5): ``x`` is quantised to ``L = glcm_levels`` gray levels by
    ``q = floor(x * (L - 1) + 0.5)``. For each of the four angles 0, 45, 90 and 135 degrees
    at distance ``d = glcm_distance`` (pixel offset ``(round(d sin a), round(d cos a))``
    in (row, column)), the co-occurrence matrix of the pairs of levels at that offset is
    made symmetric (each pair counted in both orders) and normalised to sum 1 (``P``).
    Per angle, as ``skimage.feature.graycoprops``: contrast ``sum P_ij (i - j)^2``;
    dissimilarity ``sum P_ij |i - j|``; homogeneity ``sum P_ij / (1 + (i - j)^2)``; energy
    ``sqrt(sum P_ij^2)``; correlation ``sum P_ij (i - mu)(j - mu) / sigma^2`` with ``mu`` and
    ``sigma^2`` the mean and variance of ``P``'s marginal, and 1 when ``sigma^2 = 0``. Each
    feature is the mean over the four angles.

    **Morphology of the segmented cell** (4): the threshold ``t`` is Otsu's
    (``skimage.filters.threshold_otsu(x)``: 256 bins spanning ``[min(x), max(x)]``). Stained
    cells are darker than the smear background, so the candidate pixels are ``x <= t``;
    the cell is their largest 8-connected component (on a tie, the one whose first pixel
    in raster order comes first) with its holes filled (background pixels not
    4-connected to the image border, as ``scipy.ndimage.binary_fill_holes``).
    area: number of pixels of the cell; perimeter: ``skimage.measure.perimeter`` with
    4-neighbourhood (the ``regionprops`` perimeter: border pixels weighted 1,
    ``sqrt(2)`` or ``(1 + sqrt(2)) / 2`` by the configuration of their border neighbours);
    eccentricity: ``sqrt(1 - l2 / l1)`` of the eigenvalues ``l1 >= l2`` of the cell's
    second central moments (of the ellipse with the same moments, 0 for a disk, 1 for a
    line); solidity: area divided by the convex area, the number of pixel centres inside
    or on the convex hull of the midpoints of the cell pixels' edges
    (``skimage.morphology.convex_hull_image``, as ``regionprops``). A constant image has
    no threshold and no cell: the four features are 0. So has an image too flat for 256
    Otsu bins with distinct edges (a value range of a few hundred ulp, where
    ``threshold_otsu`` raises "Too many bins for data range").

    **Edges** (3): ``g`` is the Sobel magnitude ``skimage.filters.sobel(x)``:
    ``sqrt((g_r^2 + g_c^2) / 2)`` of the responses to ``[1, 0, -1]`` along one axis
    times ``[1, 2, 1] / 4`` along the other, with mirror ("reflect",
    ``d c b a | a b c d``) boundaries. edge density: fraction of pixels with
    ``g > edge_threshold``; mean and std (``ddof=0``) of ``g`` over all pixels.

    **Frequency** (3): ``F`` is the 2-D discrete Fourier transform of ``x - mean(x)``,
    ``P = |F|^2`` its power spectrum and ``r = sqrt(fy^2 + fx^2) / 0.5`` the radius of each
    frequency (``fy, fx`` in cycles per pixel from ``numpy.fft.fftfreq``, so ``r = 1`` at
    the Nyquist frequency of an axis and at most ``sqrt(2)``). With ``E`` the total power
    over all frequencies but the DC term: low-frequency energy
    ``sum_{0 < r <= low_frequency_cutoff} P / E``; high-frequency energy
    ``sum_{r > high_frequency_cutoff} P / E``; spectral centroid ``sum r P / E``. A constant
    image has no spectrum: the three features are 0.

    Parameters
    ----------
    image_size : int or None, default=64
        Side of the square images the features are computed on; inputs of another size
        are resized with anti-aliasing. ``None`` keeps the input size, which must then be
        the same for all images. Sides from 8 to 1024 are accepted.
    glcm_levels : int, default=256
        Gray levels ``L`` of the co-occurrence matrices, from 2 to 256.
    glcm_distance : int, default=1
        Pixel distance of the co-occurring pairs; smaller than the image side.
    edge_threshold : float, default=0.1
        Sobel magnitude above which a pixel counts as an edge pixel (intensity units; a
        step of height ``h`` between flat regions has magnitude ``h / sqrt(2)``).
    low_frequency_cutoff : float, default=0.125
        Upper limit of the low band, in units of the Nyquist frequency (0.125: periods of
        16 pixels and longer).
    high_frequency_cutoff : float, default=0.5
        Lower limit (excluded) of the high band, in units of the Nyquist frequency (0.5:
        periods shorter than 4 pixels). At least ``low_frequency_cutoff``.
    n_jobs : int or None, default=None
        Threads used over the batch (numba and ``scipy.fft``), with the package's one
        meaning of ``n_jobs`` (:ref:`parallelism`): ``None`` is one thread unless the call
        runs inside :func:`joblib.parallel_config`, ``-1`` all cores; at most the size of
        numba's thread pool. The previous numba thread count is restored afterwards. The
        result does not depend on it.
    feature_set : {"table1", "study-code"}, default="table1"
        ``"table1"``: the 20 features of Table I defined above. ``"study-code"``: the 20
        features the study's published code computes instead, for the protocol audit
        (:ref:`protocol_audit`); names in :data:`STUDY_CODE_FEATURE_NAMES`. Each gray image
        is first min-max normalised, ``x = (x - min) / (max - min)`` (a constant image
        becomes 0), then: **intensity** (5) ``mean(x)``, ``std(x)``, the 25th and 75th
        percentiles and the median (``numpy.percentile``, linear interpolation) in place
        of min and max; **GLCM** (5) the five properties above at angle 0 only (offset
        ``(0, glcm_distance)``, same quantisation, symmetric, normalised); **bright
        region** (4) the pixels ``x > mean(x)`` are labelled in 8-connected regions
        (``skimage.measure.label``'s numbering: raster order of the first pixel) and
        region 1, the first one (not the largest, nor the dark cell), gives its area as a
        fraction of the image, its extent (area over bounding-box area) in place of the
        perimeter, its eccentricity and its solidity as above (all 0 when no pixel is
        above the mean); **edges** (3) mean, std and maximum of the Sobel magnitude ``g``
        of ``x`` (no threshold: ``edge_threshold`` is unused); **frequency** (3) mean, std
        and maximum of the magnitude ``|F|`` of the 2-D DFT of ``x`` itself (the DC term
        included, no centring, no bands: the cutoffs are unused).

    Attributes
    ----------
    n_features_out_ : int
        20, set by ``fit``. ``n_features_in_`` is not set: the input is a batch of
        images, not a table of features, so there is no input feature count to check.

    See Also
    --------
    qbloodcell.datasets.make_blood_cells : synthetic smear images to try it on.

    Notes
    -----
    The features are computed by fused numba kernels (a tested reference built on
    scikit-image lives in the test suite; both agree to 1e-9). The GLCM properties are
    computed from the list of pixel pairs with exact integer sums, without building the
    ``L x L`` matrices; the Otsu threshold and the Sobel magnitude reproduce
    scikit-image's arithmetic exactly, so the threshold-based features match it exactly.

    References
    ----------
    .. [1] "Analyzing Images of Blood Cells with Quantum Machine Learning Methods:
       Equilibrium Propagation and Variational Quantum Circuits to Detect Acute Myeloid
       Leukemia" (the study this library reproduces), Table I.
    .. [2] R. M. Haralick, K. Shanmugam and I. Dinstein, "Textural features for image
       classification", IEEE Trans. Syst., Man, Cybern. SMC-3(6), 610-621 (1973).
       :doi:`10.1109/TSMC.1973.4309314`
    .. [3] N. Otsu, "A threshold selection method from gray-level histograms", IEEE Trans.
       Syst., Man, Cybern. 9(1), 62-66 (1979). :doi:`10.1109/TSMC.1979.4310076`

    Examples
    --------
    >>> import numpy as np
    >>> from qbloodcell.features import BloodCellFeatures
    >>> rows, cols = np.mgrid[:64, :64]
    >>> cell = np.where((rows - 32) ** 2 + (cols - 30) ** 2 < 15**2, 0.3, 0.9)
    >>> features = BloodCellFeatures().fit_transform(cell[np.newaxis])
    >>> features.shape
    (1, 20)
    >>> float(features[0, 10])  # area of the dark disk, in pixels
    697.0
    """

    _parameter_specs: ClassVar[dict[str, list[Spec]]] = {
        "image_size": [NoneValue(), Integer(MIN_IMAGE_SIDE, MAX_IMAGE_SIDE)],
        "glcm_levels": [Integer(2, 256)],
        "glcm_distance": [Integer(1)],
        "edge_threshold": [Real(0)],
        "low_frequency_cutoff": [Real(0)],
        "high_frequency_cutoff": [Real(0)],
        "n_jobs": [NoneValue(), NJobs()],
        "feature_set": [Options(list(FEATURE_SETS))],
    }

    def __init__(
        self,
        *,
        image_size: int | None = 64,
        glcm_levels: int = 256,
        glcm_distance: int = 1,
        edge_threshold: float = 0.1,
        low_frequency_cutoff: float = 0.125,
        high_frequency_cutoff: float = 0.5,
        n_jobs: int | None = None,
        feature_set: str = "table1",
    ) -> None:
        self.image_size = image_size
        self.glcm_levels = glcm_levels
        self.glcm_distance = glcm_distance
        self.edge_threshold = edge_threshold
        self.low_frequency_cutoff = low_frequency_cutoff
        self.high_frequency_cutoff = high_frequency_cutoff
        self.n_jobs = n_jobs
        self.feature_set = feature_set

    def fit(self, X: Any, y: Any = None) -> BloodCellFeatures:
        """Validate the parameters and the images; nothing is learned.

        Parameters
        ----------
        X : array-like
            A batch of images: ``(n, H, W)``, ``(n, H, W, 3)``, ``(n, H, W, 4)`` or a list of
            images of any sizes, uint8, uint16 or float in [0, 1].
        y : None
            Ignored.

        Returns
        -------
        self : BloodCellFeatures
        """
        validate_params(self)
        self._check_combinations()
        self._load(X)
        self.n_features_out_ = len(FEATURE_SETS[self.feature_set])
        return self

    def transform(self, X: Any) -> np.ndarray:
        """Compute the 20 features of each image.

        Parameters
        ----------
        X : array-like
            A batch of images, as for :meth:`fit`.

        Returns
        -------
        ndarray of float64, shape (n_images, 20)
            The features, in the order of :data:`FEATURE_NAMES` (or of
            :data:`STUDY_CODE_FEATURE_NAMES` with ``feature_set="study-code"``).
        """
        validate_params(self)
        self._check_combinations()
        images = self._load(X)
        if self.feature_set == "study-code":
            return study_code_features(
                images, glcm_levels=int(self.glcm_levels), glcm_distance=int(self.glcm_distance)
            )
        n_threads = numba_threads(self.n_jobs)
        n_images = images.shape[0]
        out = np.empty((n_images, len(FEATURE_NAMES)))
        previous = numba.get_num_threads()
        numba.set_num_threads(n_threads)
        try:
            batch_features(
                images,
                glcm_offsets(self.glcm_distance),
                int(self.glcm_levels),
                homogeneity_table(int(self.glcm_levels)),
                float(self.edge_threshold),
                PERIMETER_WEIGHTS,
                min(n_images, 4 * n_threads),
                out,
            )
        finally:
            numba.set_num_threads(previous)
        constant = out[:, INTENSITY_MIN] == out[:, INTENSITY_MAX]
        out[:, FREQUENCY_START:FREQUENCY_STOP] = frequency_features(
            images,
            constant,
            low_cutoff=float(self.low_frequency_cutoff),
            high_cutoff=float(self.high_frequency_cutoff),
            workers=n_threads,
        )
        return out

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Names of the 20 output features.

        Parameters
        ----------
        input_features : None
            Must be None: images have no named input features.

        Returns
        -------
        ndarray of str objects, shape (20,)
        """
        if input_features is not None:
            raise ValueError(
                "input_features must be None: BloodCellFeatures takes images, which have no "
                f"named input features; got {input_features!r}."
            )
        return np.asarray(FEATURE_SETS[self.feature_set], dtype=object)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        # batches of images (3-D or 4-D arrays, lists), never 2-D tables
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = True
        return tags

    def _load(self, X: Any) -> np.ndarray:
        images = check_images(X, image_size=self.image_size, mode="gray", argument="X")
        side = max(images.shape[1:3])
        if side > MAX_IMAGE_SIDE:
            raise ValueError(
                f"X holds images of {images.shape[1]} x {images.shape[2]} pixels; at most "
                f"{MAX_IMAGE_SIDE} x {MAX_IMAGE_SIDE} is supported. Pass image_size to resize."
            )
        if self.glcm_distance >= min(images.shape[1:3]):
            raise ValueError(
                f"glcm_distance={self.glcm_distance} leaves no pixel pairs in images of "
                f"{images.shape[1]} x {images.shape[2]} pixels; it must be smaller than the "
                "image side."
            )
        return images

    def _check_combinations(self) -> None:
        """Rules between parameters, after :func:`~qbloodcell._validation.validate_params`."""
        if self.high_frequency_cutoff < self.low_frequency_cutoff:
            raise ValueError(
                "high_frequency_cutoff must be at least low_frequency_cutoff; got "
                f"low_frequency_cutoff={self.low_frequency_cutoff!r} and "
                f"high_frequency_cutoff={self.high_frequency_cutoff!r}."
            )
