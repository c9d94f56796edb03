"""The cell types of the synthetic generator: what each looks like, as one parameter table.

:mod:`qbloodcell.datasets._synthetic` renders; this module only says what to render. The
table was calibrated against real May-Grunwald-Giemsa smears of the Munich
AML-Cytomorphology_LMU data (myeloblasts and segmented neutrophils) with
:func:`qbloodcell.calibration.compare_feature_distributions`; the calibration page of the
user guide has the comparison and how to rerun it.
"""

from __future__ import annotations

import numpy as np

#: Cell types of the healthy side (target 0) with their share of healthy images: roughly
#: the differential count of normal peripheral blood, with the lymphocytes (the natural
#: look-alikes of blasts) kept frequent.
HEALTHY_CELL_TYPES = {
    "neutrophil_segmented": 0.42,
    "neutrophil_band": 0.10,
    "lymphocyte": 0.30,
    "monocyte": 0.12,
    "eosinophil": 0.06,
}

#: Cell types of the AML side (target 1): the blast and blast-equivalent classes of
#: Matek et al. (2019).
AML_CELL_TYPES = {
    "myeloblast": 0.60,
    "monoblast": 0.20,
    "promyelocyte": 0.20,
}

#: Every cell type, healthy first; a cell's type is its index here.
CELL_TYPES = tuple(HEALTHY_CELL_TYPES) + tuple(AML_CELL_TYPES)

#: The column codes of the table: the AML-Cytomorphology_LMU class codes.
_CODES = {
    "MYO": "myeloblast",
    "MOB": "monoblast",
    "PMO": "promyelocyte",
    "LYT": "lymphocyte",
    "MON": "monocyte",
    "NGS": "neutrophil_segmented",
    "NGB": "neutrophil_band",
    "EOS": "eosinophil",
}

#: The look-alike that ``class_overlap`` moves each type towards.
LOOK_ALIKE = {
    "myeloblast": "lymphocyte",
    "monoblast": "monocyte",
    "promyelocyte": "neutrophil_band",
    "lymphocyte": "myeloblast",
    "monocyte": "monoblast",
    "neutrophil_band": "promyelocyte",
    "neutrophil_segmented": "promyelocyte",
    "eosinophil": "promyelocyte",
}

# Continuous morphology parameters, "mean/sd" per cell type (a normal draw). Lengths are in
# units of half the image side; ``nucleus_*`` lengths are fractions of the cell radius.
#   radius             cell radius
#   nucleus_size       nucleus half-thickness (lobe radius for lobed nuclei)
#   nucleus_length     half length of the nucleus' centre line (0: round nucleus)
#   nucleus_curvature  curvature of the centre line times the cell radius (C / kidney shape)
#   nucleus_offset     distance of the nucleus from the cell centre
#   lobe_strength      0: smooth nucleus, 1: lobes joined by thin filaments
#   nucleus_roughness  relative amplitude of the wavy outline of the nucleus
#   nucleus_edge       width of the nucleus' boundary in pixels (1: sharp)
#   chromatin_*        density (stain uptake), texture contrast and texture scale (pixels at 64)
#   nucleolus_contrast how much paler the nucleoli are than the nucleus
#   cytoplasm_*        stain density and optical density per RGB channel
#   granule_*          density, texture scale (pixels at 64), threshold of the texture field
#                      above which it is a granule, and optical density per RGB channel
#   vacuole_rate       mean number of vacuoles (Poisson)
_TABLE = """
parameter           MYO        MOB        PMO        LYT        MON        NGS        NGB        EOS
radius              0.52/0.09  0.58/0.05  0.58/0.05  0.36/0.04  0.60/0.05  0.46/0.04  0.46/0.04  0.48/0.04
nucleus_size        0.77/0.08  0.68/0.05  0.58/0.05  0.84/0.04  0.40/0.04  0.25/0.03  0.22/0.02  0.32/0.03
nucleus_length      0.35/0.12  0.18/0.08  0.15/0.07  0.05/0.04  0.45/0.08  0.90/0.20  0.85/0.08  0.32/0.06
nucleus_curvature   1.60/0.60  0.50/0.30  0.30/0.20  0.20/0.20  1.60/0.30  2.50/0.50  2.20/0.30  1.80/0.40
nucleus_offset      0.08/0.05  0.12/0.06  0.28/0.06  0.08/0.04  0.12/0.06  0.08/0.05  0.10/0.05  0.12/0.05
lobe_strength       0.00/0.00  0.00/0.00  0.00/0.00  0.00/0.00  0.10/0.10  0.72/0.08  0.10/0.08  0.85/0.08
nucleus_roughness   0.22/0.08  0.10/0.05  0.06/0.03  0.04/0.02  0.06/0.03  0.00/0.00  0.00/0.00  0.00/0.00
nucleus_edge        2.20/0.40  2.00/0.40  1.50/0.30  1.50/0.30  1.50/0.30  1.00/0.20  1.00/0.20  1.00/0.20
chromatin_density   0.77/0.15  0.75/0.08  0.85/0.08  1.30/0.10  0.95/0.08  1.85/0.50  1.85/0.50  1.70/0.40
chromatin_contrast  0.18/0.06  0.14/0.04  0.16/0.04  0.30/0.06  0.22/0.05  0.30/0.06  0.25/0.05  0.22/0.05
chromatin_scale     1.00/0.20  0.80/0.15  0.90/0.20  1.80/0.30  1.30/0.20  1.40/0.30  1.40/0.30  1.40/0.30
nucleolus_contrast  0.18/0.08  0.25/0.08  0.20/0.08  0.00/0.00  0.00/0.00  0.00/0.00  0.00/0.00  0.00/0.00
cytoplasm_density   0.80/0.15  1.00/0.15  0.85/0.15  0.85/0.15  0.95/0.15  0.50/0.12  0.50/0.12  0.60/0.15
cytoplasm_od_r      0.50/0.05  0.45/0.05  0.42/0.05  0.45/0.05  0.32/0.04  0.12/0.03  0.12/0.03  0.10/0.03
cytoplasm_od_g      0.45/0.04  0.36/0.04  0.34/0.04  0.24/0.04  0.30/0.04  0.24/0.03  0.24/0.03  0.22/0.03
cytoplasm_od_b      0.08/0.03  0.14/0.03  0.10/0.03  0.06/0.03  0.20/0.03  0.06/0.03  0.06/0.03  0.20/0.03
granule_density     0.00/0.00  0.00/0.00  0.70/0.20  0.00/0.00  0.15/0.10  0.70/0.20  0.70/0.20  1.20/0.20
granule_scale       1.00/0.20  1.00/0.20  0.80/0.15  1.00/0.20  0.80/0.15  1.00/0.15  1.00/0.15  0.90/0.15
granule_threshold   0.60/0.10  0.60/0.10  0.70/0.10  0.60/0.10  0.80/0.10  0.20/0.10  0.20/0.10 -0.10/0.10
granule_od_r        0.50/0.05  0.50/0.05  0.45/0.05  0.50/0.05  0.35/0.05  0.20/0.04  0.20/0.04  0.05/0.03
granule_od_g        0.90/0.05  0.90/0.05  0.95/0.05  0.90/0.05  0.50/0.05  0.38/0.05  0.38/0.05  0.55/0.05
granule_od_b        0.35/0.05  0.35/0.05  0.35/0.05  0.35/0.05  0.20/0.05  0.10/0.03  0.10/0.03  0.85/0.05
vacuole_rate        0.10/0.10  0.50/0.30  0.00/0.00  0.00/0.00  1.50/0.80  0.00/0.00  0.00/0.00  0.00/0.00
"""


def _parse(table: str) -> tuple[tuple[str, ...], np.ndarray, np.ndarray]:
    """Parameter names and ``(n_types, n_parameters)`` means and sds, rows in CELL_TYPES order."""
    header, *rows = (line.split() for line in table.strip().splitlines())
    columns = [CELL_TYPES.index(_CODES[code]) for code in header[1:]]
    names = tuple(row[0] for row in rows)
    pairs = np.array([[cell.split("/") for cell in row[1:]] for row in rows], dtype=np.float64)
    mean = np.empty((len(CELL_TYPES), len(names)))
    sd = np.empty_like(mean)
    mean[columns] = pairs[..., 0].T
    sd[columns] = pairs[..., 1].T
    return names, mean, sd


#: Names of the continuous parameters, and their means and sds per cell type.
CONTINUOUS, MEAN, SD = _parse(_TABLE)
#: Column of each continuous parameter.
P = {name: i for i, name in enumerate(CONTINUOUS)}
#: Index (in CELL_TYPES) of each type's look-alike.
LOOK_ALIKE_INDEX = np.array([CELL_TYPES.index(LOOK_ALIKE[t]) for t in CELL_TYPES])

#: Number of lobes (2..5) of lobed nuclei: segmented neutrophils have 2-5, eosinophils 2.
LOBE_PROBABILITIES = {
    "neutrophil_segmented": (0.05, 0.35, 0.40, 0.20),
    "eosinophil": (1.0, 0.0, 0.0, 0.0),
}
#: Number of nucleoli (0..3).
NUCLEOLUS_PROBABILITIES = {
    "myeloblast": (0.0, 0.35, 0.45, 0.20),
    "monoblast": (0.0, 0.50, 0.40, 0.10),
    "promyelocyte": (0.2, 0.50, 0.30, 0.0),
}

#: Optical density per RGB channel of the nuclear stain (purple-magenta: green is absorbed
#: nearly completely), of red cells (mauve) and of nucleoli; colour of the empty field.
NUCLEUS_OD = np.array([0.80, 3.30, 0.24])
RED_CELL_OD = np.array([0.22, 0.42, 0.25])
NUCLEOLUS_OD = np.array([0.30, 0.20, 0.05])
BACKGROUND_RGB = np.array([0.955, 0.935, 0.925])

# The scene around the white cell, and the optics.
#: Sd of the brightness of the empty field from image to image (relative).
BACKGROUND_BRIGHTNESS_SD = 0.04
#: Number of red cells per image (uniform, inclusive) and their radius (mean, sd).
RED_CELL_COUNT = (12, 24)
RED_CELL_RADIUS = (0.23, 0.02)
#: Red-cell stain strength per image (uniform range).
RED_CELL_STAIN = (0.85, 1.2)
#: How much paler the centre of a red cell is than its rim (0: flat disc).
RED_CELL_PALLOR = 0.8
#: Largest density where red cells overlap (1: one red cell's rim).
RED_CELL_OVERLAP_MAX = 1.15
#: Width of the white cell's outline in pixels (1: sharp).
CELL_EDGE = 2.0
#: Focus blur (uniform range, pixels at 64 x 64) and sensor noise (uniform range of the sd).
BLUR = (0.35, 0.8)
NOISE = (0.003, 0.005)
#: Faint uneven staining of the field: optical density sd (uniform range) and scale (pixels).
GRAIN = (0.01, 0.03)
GRAIN_SCALE = 1.0
#: Illumination: sd of the linear gradient (per half image side) and largest vignetting.
ILLUMINATION_GRADIENT_SD = 0.005
VIGNETTE_MAX = 0.01
#: Stain hue: sd of the per-channel factor on every optical density.
STAIN_HUE_SD = 0.05
#: Stain intensity (uniform range, a factor on every optical density).
STAIN = (0.75, 1.25)
