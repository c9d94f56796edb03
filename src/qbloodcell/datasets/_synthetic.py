"""Procedural rendering of synthetic May-Grunwald-Giemsa single-cell smear images.

Every image is rendered on a coordinate grid, fully vectorised over a chunk of images:
shapes are signed-distance functions turned into soft masks one pixel wide (which
anti-aliases edges without supersampling), colours follow the Beer-Lambert law (each stain
component adds optical density, the transmitted light is ``background * exp(-OD)``), and
textures are white noise smoothed by per-image Gaussian blurs (batched matrix products).

Everything is computed in float64 and rounded to uint8 only at the end. The vectorised
transcendental functions (``exp``, ``sin``, ``arctan2``...) and the BLAS products round
differently on different CPUs (SIMD width, AMD against Intel kernels); in float64 those
differences are about 1e-16, far too small to move a value across a uint8 rounding
boundary, so the same seed gives the same bytes on every CPU (tested by rendering with
NumPy's wider SIMD paths disabled). In float32 they flipped a few bytes per data set.

The parameters of each cell type (:mod:`qbloodcell.datasets._cell_types`) are drawn around
a typical value; ``class_overlap`` moves
each cell part of the way towards its look-alike on the other side of the AML / healthy
divide (a myeloblast towards a lymphocyte, a lymphocyte towards a myeloblast, ...).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from sklearn.utils import Bunch, check_random_state

from qbloodcell._images import MIN_IMAGE_SIDE
from qbloodcell._validation import (
    Boolean,
    Integer,
    NoneValue,
    RandomState,
    Real,
    Spec,
    check_arguments,
)
from qbloodcell.datasets._cell_types import (
    AML_CELL_TYPES,
    BACKGROUND_BRIGHTNESS_SD,
    BACKGROUND_RGB,
    BLUR,
    CELL_TYPES,
    CONTINUOUS,
    GRAIN,
    HEALTHY_CELL_TYPES,
    ILLUMINATION_GRADIENT_SD,
    LOBE_PROBABILITIES,
    LOOK_ALIKE_INDEX,
    MEAN,
    NOISE,
    NUCLEOLUS_PROBABILITIES,
    RED_CELL_COUNT,
    RED_CELL_RADIUS,
    RED_CELL_STAIN,
    SD,
    STAIN,
    STAIN_HUE_SD,
    VIGNETTE_MAX,
    P,
)
from qbloodcell.datasets._render import _MAX_LOBES, _MAX_NUCLEOLI, _MAX_VACUOLES, _render

__all__ = ["AML_CELL_TYPES", "HEALTHY_CELL_TYPES", "make_blood_cells"]

_CHUNK = 64

#: Default ``class_overlap``: see the user guide for the accuracies it gives.
DEFAULT_CLASS_OVERLAP = 0.4

_DESCR = """\
Synthetic blood-cell smear images (qbloodcell.datasets.make_blood_cells)
=======================================================================

Procedurally rendered RGB images of single white blood cells as they look in a
May-Grunwald-Giemsa stained peripheral blood smear: a pale background crowded with red
cells (biconcave discs with a paler centre) and one leukocyte near the centre.

Classes (target):
  0 "healthy": segmented neutrophils (2-5 lobes, pinkish granular cytoplasm), band
    neutrophils (C/U-shaped nucleus), lymphocytes (small, dense round nucleus, thin blue
    rim), monocytes (folded / kidney nucleus, grey-blue cytoplasm, vacuoles) and
    eosinophils (bilobed nucleus, orange-red granules).
  1 "AML": myeloblasts (large round nucleus with fine chromatin and 1-3 nucleoli, scant
    basophilic cytoplasm), monoblasts and promyelocytes (eccentric nucleus, azurophilic
    granules).

Nuisance variation: cell size, stain intensity and hue, focus (blur), illumination,
position, rotation, number and placement of red cells, sensor noise. The cell types'
parameters are calibrated against real myeloblasts and segmented neutrophils (Munich
AML-Cytomorphology_LMU) on the 20 features of BloodCellFeatures; see the calibration
page of the user guide.

class_overlap={class_overlap}: each cell is moved a random fraction (uniform in
[0, class_overlap]) of the way towards its look-alike on the other side (a myeloblast
towards a lymphocyte and back, a monoblast towards a monocyte, a promyelocyte towards a
granulated band neutrophil).

This is synthetic data for demonstrations, tests and documentation. It has the structure
of the real task, and its myeloblasts and segmented neutrophils resemble real ones to the
20 features, but accuracies measured on it still say little about accuracies on real
smears.
"""


#: What each argument of :func:`make_blood_cells` accepts (see :mod:`qbloodcell._validation`).
_MAKE_BLOOD_CELLS_SPECS: dict[str, list[Spec]] = {
    "n_samples_per_class": [Integer(1)],
    "image_size": [Integer(MIN_IMAGE_SIDE)],
    "class_overlap": [Real(0, 1)],
    "shuffle": [Boolean()],
    "random_state": [NoneValue(), RandomState()],
    "return_X_y": [Boolean()],
}


def make_blood_cells(
    n_samples_per_class: int = 250,
    *,
    image_size: int = 64,
    class_overlap: float = DEFAULT_CLASS_OVERLAP,
    shuffle: bool = True,
    random_state: Any = None,
    return_X_y: bool = False,
) -> Any:
    """Render synthetic single-cell blood smear images, AML blasts against healthy cells.

    Each image shows one white blood cell near the centre of a pale field crowded with
    red cells, coloured as in a May-Grunwald-Giemsa stain (purple nuclei, cytoplasm from
    pink to blue by cell type). The AML side (target 1) holds blasts and blast-equivalents
    (myeloblasts 60 %, monoblasts 20 %, promyelocytes 20 %): large round nuclei with fine
    chromatin and pale nucleoli in scant basophilic cytoplasm. The healthy side (target 0)
    holds segmented neutrophils (42 %), band neutrophils (10 %), lymphocytes (30 %),
    monocytes (12 %) and eosinophils (6 %). Size, stain intensity and hue, focus,
    illumination, position, rotation, red cells and noise vary from image to image.

    Parameters
    ----------
    n_samples_per_class : int, default=250
        Number of images of each class; ``2 * n_samples_per_class`` images in all.
    image_size : int, default=64
        Side of the square images in pixels, at least 8. The scene scales with it.
    class_overlap : float in [0, 1], default=0.4
        How far cells are moved towards their look-alike on the other side (myeloblast
        and lymphocyte, monoblast and monocyte, promyelocyte and granulated band
        neutrophil): each cell moves a fraction drawn uniformly from ``[0,
        class_overlap]``. 0 gives the most separable classes, 1 nearly overlapping blast
        and lymphocyte distributions. The default puts simple methods (logistic
        regression on whole-image statistics, a small MLP on pixels) well below 100 %
        accuracy; the user guide lists the measured figures.
    shuffle : bool, default=True
        Shuffle the images; if False the healthy images come first.
    random_state : int, RandomState instance or None, default=None
        Seeds all randomness; the same int gives byte-identical images.
    return_X_y : bool, default=False
        If True, return ``(images, target)`` instead of a Bunch.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        With attributes ``images`` (uint8 array of shape ``(2 * n_samples_per_class,
        image_size, image_size, 3)``, RGB), ``target`` (int64, 0 = healthy, 1 = AML),
        ``target_names`` (``array(['healthy', 'AML'])``), ``cell_type`` (str array, e.g.
        ``'myeloblast'``, ``'neutrophil_segmented'``, ``'lymphocyte'``) and ``DESCR``.
    (images, target) : tuple of ndarray
        If ``return_X_y`` is True.

    Raises
    ------
    TypeError
        For an argument of the wrong type, such as a non-integer ``n_samples_per_class``.
    ValueError
        For a non-positive ``n_samples_per_class``, an ``image_size`` below 8, or a
        ``class_overlap`` outside [0, 1].

    See Also
    --------
    load_aml_cytomorphology : The real images this generator imitates.

    Notes
    -----
    Synthetic data shows whether a pipeline runs and how methods rank on a controlled
    problem; it cannot tell how they perform on real smears.

    References
    ----------
    .. [1] C. Matek, S. Schwarz, K. Spiekermann, C. Marr, "Human-level recognition of
       blast cells in acute myeloid leukaemia with convolutional neural networks",
       Nature Machine Intelligence 1, 538-544 (2019). :doi:`10.1038/s42256-019-0101-9`

    Examples
    --------
    >>> from qbloodcell.datasets import make_blood_cells
    >>> data = make_blood_cells(n_samples_per_class=4, image_size=32, random_state=0)
    >>> data.images.shape, data.images.dtype
    ((8, 32, 32, 3), dtype('uint8'))
    >>> data.target.tolist().count(1)
    4
    >>> data.target_names.tolist()
    ['healthy', 'AML']
    """
    check_arguments(
        {
            "n_samples_per_class": n_samples_per_class,
            "image_size": image_size,
            "class_overlap": class_overlap,
            "shuffle": shuffle,
            "random_state": random_state,
            "return_X_y": return_X_y,
        },
        _MAKE_BLOOD_CELLS_SPECS,
    )
    n_samples_per_class, image_size = int(n_samples_per_class), int(image_size)
    class_overlap = float(class_overlap)
    rng = check_random_state(random_state)

    healthy_types = rng.choice(
        len(HEALTHY_CELL_TYPES), size=n_samples_per_class, p=list(HEALTHY_CELL_TYPES.values())
    )
    aml_types = len(HEALTHY_CELL_TYPES) + rng.choice(
        len(AML_CELL_TYPES), size=n_samples_per_class, p=list(AML_CELL_TYPES.values())
    )
    type_index = np.concatenate([healthy_types, aml_types])
    target = np.repeat(np.array([0, 1], dtype=np.int64), n_samples_per_class)
    if shuffle:
        order = rng.permutation(type_index.shape[0])
        type_index, target = type_index[order], target[order]

    images = _generate(type_index, class_overlap, image_size, rng)

    if return_X_y:
        return images, target
    cell_type = np.array(CELL_TYPES)[type_index]
    return Bunch(
        images=images,
        target=target,
        target_names=np.array(["healthy", "AML"]),
        cell_type=cell_type,
        DESCR=_DESCR.format(class_overlap=class_overlap),
    )


def _generate(
    type_index: np.ndarray, class_overlap: float, image_size: int, rng: np.random.RandomState
) -> np.ndarray:
    """Render one image per entry of ``type_index`` (indices into ``CELL_TYPES``)."""
    params = _draw_parameters(type_index, class_overlap, rng)
    images = np.empty((type_index.shape[0], image_size, image_size, 3), dtype=np.uint8)
    for start in range(0, type_index.shape[0], _CHUNK):
        stop = min(start + _CHUNK, type_index.shape[0])
        chunk = {key: value[start:stop] for key, value in params.items()}
        images[start:stop] = _render(chunk, image_size, rng)
    return images


def _draw_discrete(
    type_index: np.ndarray, table: Mapping[str, tuple[float, ...]], rng: np.random.RandomState
) -> np.ndarray:
    """Draw a count per cell from the per-type probabilities (0 for types not listed)."""
    out = np.zeros(type_index.shape[0], dtype=np.int64)
    uniform = np.asarray(rng.random_sample(type_index.shape[0]))
    for name, probabilities in table.items():
        cumulative = np.cumsum(np.asarray(probabilities, dtype=np.float64))
        hit = type_index == CELL_TYPES.index(name)
        out[hit] = np.searchsorted(cumulative, uniform[hit] * cumulative[-1], side="right")
    return out


def _draw_parameters(
    type_index: np.ndarray, class_overlap: float, rng: np.random.RandomState
) -> dict[str, np.ndarray]:
    """Draw all per-image parameters up front, so rendering in chunks changes nothing."""
    n = type_index.shape[0]
    own = MEAN[type_index] + SD[type_index] * rng.standard_normal((n, len(CONTINUOUS)))
    partner_index = LOOK_ALIKE_INDEX[type_index]
    partner = MEAN[partner_index] + SD[partner_index] * rng.standard_normal((n, len(CONTINUOUS)))
    mix = class_overlap * np.asarray(rng.random_sample(n))
    continuous = (1.0 - mix[:, None]) * own + mix[:, None] * partner
    threshold = continuous[:, P["granule_threshold"]].copy()
    continuous = np.maximum(continuous, 0.0)
    continuous[:, P["granule_threshold"]] = threshold
    continuous[:, P["lobe_strength"]] = np.clip(continuous[:, P["lobe_strength"]], 0.0, 0.95)
    continuous[:, P["radius"]] = np.clip(continuous[:, P["radius"]], 0.22, 0.75)

    # discrete features come from the partner with probability ``mix``
    take_partner = np.asarray(rng.random_sample(n)) < mix
    lobes_own = 2 + _draw_discrete(type_index, LOBE_PROBABILITIES, rng)
    lobes_partner = 2 + _draw_discrete(partner_index, LOBE_PROBABILITIES, rng)
    nucleoli_own = _draw_discrete(type_index, NUCLEOLUS_PROBABILITIES, rng)
    nucleoli_partner = _draw_discrete(partner_index, NUCLEOLUS_PROBABILITIES, rng)
    n_lobes = np.where(take_partner, lobes_partner, lobes_own)
    n_nucleoli = np.where(take_partner, nucleoli_partner, nucleoli_own)
    n_vacuoles = np.minimum(rng.poisson(continuous[:, P["vacuole_rate"]]), _MAX_VACUOLES)
    n_red_cells = rng.randint(RED_CELL_COUNT[0], RED_CELL_COUNT[1] + 1, size=n)

    return {
        "continuous": continuous,
        "n_lobes": n_lobes,
        "n_nucleoli": n_nucleoli,
        "n_vacuoles": n_vacuoles,
        "n_red_cells": n_red_cells,
        # scene: magnification, position, orientations, cell outline
        "zoom": rng.uniform(0.88, 1.12, n),
        "centre": rng.normal(0.0, 0.06, (n, 2)),
        "cell_angle": rng.uniform(0.0, 2.0 * np.pi, n),
        "cell_aspect": rng.uniform(1.0, 1.25, n),
        "outline_amplitude": rng.uniform(0.0, 0.05, (n, 3)),
        "outline_phase": rng.uniform(0.0, 2.0 * np.pi, (n, 3)),
        "nucleus_angle": rng.uniform(0.0, 2.0 * np.pi, n),
        "offset_angle": rng.uniform(0.0, 2.0 * np.pi, n),
        "lobe_sizes": rng.uniform(0.8, 1.15, (n, _MAX_LOBES)),
        "nucleus_wave": rng.normal(0.0, np.sqrt(0.5), (n, 6)),
        "nucleolus_position": rng.uniform(-0.45, 0.45, (n, _MAX_NUCLEOLI, 2)),
        "nucleolus_radius": rng.uniform(0.15, 0.25, (n, _MAX_NUCLEOLI)),
        "vacuole_position": rng.uniform(0.0, 1.0, (n, _MAX_VACUOLES, 2)),
        "vacuole_radius": rng.uniform(0.06, 0.12, (n, _MAX_VACUOLES)),
        # red cells anywhere in the field; the white cell hides those beneath it
        "red_cell_position": rng.uniform(-1.2, 1.2, (n, RED_CELL_COUNT[1], 2)),
        "red_cell_radius": rng.normal(*RED_CELL_RADIUS, (n, RED_CELL_COUNT[1])),
        "red_cell_aspect": rng.uniform(1.0, 1.15, (n, RED_CELL_COUNT[1])),
        "red_cell_angle": rng.uniform(0.0, np.pi, (n, RED_CELL_COUNT[1])),
        "red_cell_density": rng.uniform(0.85, 1.15, (n, RED_CELL_COUNT[1])),
        # staining, optics, sensor
        "stain": rng.uniform(*STAIN, n),
        "stain_hue": rng.normal(1.0, STAIN_HUE_SD, (n, 3)),
        "red_cell_stain": rng.uniform(*RED_CELL_STAIN, n),
        "background": BACKGROUND_RGB
        * rng.normal(1.0, BACKGROUND_BRIGHTNESS_SD, (n, 1))
        * rng.normal(1.0, 0.01, (n, 3)),
        "illumination": rng.normal(0.0, ILLUMINATION_GRADIENT_SD, (n, 2)),
        "vignette": rng.uniform(0.0, VIGNETTE_MAX, n),
        "blur": rng.uniform(*BLUR, n),
        "noise": rng.uniform(*NOISE, n),
        "grain": rng.uniform(*GRAIN, n),
    }
