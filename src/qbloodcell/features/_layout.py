"""The column layout of the feature sets, named once: every index is derived from here.

The Table I features come in five groups; each kernel fills the columns of its group in
the order of the names below. The numba kernels read the column constants as
compile-time globals (numba's cache does not track them: clear
``qbloodcell/features/__pycache__`` after changing this file).
"""

from __future__ import annotations

#: The Table I features by group, in the order of Table I of the study.
FEATURE_GROUPS: dict[str, tuple[str, ...]] = {
    "intensity": (
        "intensity_mean",
        "intensity_std",
        "intensity_min",
        "intensity_max",
        "intensity_median",
    ),
    "glcm": (
        "glcm_contrast",
        "glcm_dissimilarity",
        "glcm_homogeneity",
        "glcm_energy",
        "glcm_correlation",
    ),
    "morphology": ("cell_area", "cell_perimeter", "cell_eccentricity", "cell_solidity"),
    "edges": ("edge_density", "edge_magnitude_mean", "edge_magnitude_std"),
    "frequency": (
        "fft_low_frequency_energy",
        "fft_high_frequency_energy",
        "fft_spectral_centroid",
    ),
}

#: The features of the study's published code by group (``feature_set="study-code"``).
STUDY_CODE_FEATURE_GROUPS: dict[str, tuple[str, ...]] = {
    "intensity": (
        "intensity_mean",
        "intensity_std",
        "intensity_p25",
        "intensity_p75",
        "intensity_median",
    ),
    "glcm": (
        "glcm0_contrast",
        "glcm0_dissimilarity",
        "glcm0_homogeneity",
        "glcm0_energy",
        "glcm0_correlation",
    ),
    "morphology": (
        "bright_region_area_fraction",
        "bright_region_extent",
        "bright_region_eccentricity",
        "bright_region_solidity",
    ),
    "edges": ("sobel_mean", "sobel_std", "sobel_max"),
    "frequency": ("fft_magnitude_mean", "fft_magnitude_std", "fft_magnitude_max"),
}


def flatten(groups: dict[str, tuple[str, ...]]) -> tuple[str, ...]:
    """The names of all groups, in order."""
    return tuple(name for names in groups.values() for name in names)


def group_slice(groups: dict[str, tuple[str, ...]], group: str) -> slice:
    """The columns of ``group`` in the flattened layout of ``groups``."""
    names = flatten(groups)
    start = names.index(groups[group][0])
    return slice(start, start + len(groups[group]))


#: Names of the 20 Table I features, in order.
FEATURE_NAMES: tuple[str, ...] = flatten(FEATURE_GROUPS)
#: Names of the 20 features of the study's code, in order.
STUDY_CODE_FEATURE_NAMES: tuple[str, ...] = flatten(STUDY_CODE_FEATURE_GROUPS)

#: Column of each Table I feature.
COLUMN: dict[str, int] = {name: index for index, name in enumerate(FEATURE_NAMES)}

# group bounds and single columns as plain ints, for the numba kernels
INTENSITY_START = group_slice(FEATURE_GROUPS, "intensity").start
INTENSITY_STOP = group_slice(FEATURE_GROUPS, "intensity").stop
GLCM_START = group_slice(FEATURE_GROUPS, "glcm").start
GLCM_STOP = group_slice(FEATURE_GROUPS, "glcm").stop
MORPHOLOGY_START = group_slice(FEATURE_GROUPS, "morphology").start
MORPHOLOGY_STOP = group_slice(FEATURE_GROUPS, "morphology").stop
EDGES_START = group_slice(FEATURE_GROUPS, "edges").start
EDGES_STOP = group_slice(FEATURE_GROUPS, "edges").stop
FREQUENCY_START = group_slice(FEATURE_GROUPS, "frequency").start
FREQUENCY_STOP = group_slice(FEATURE_GROUPS, "frequency").stop
INTENSITY_MIN = COLUMN["intensity_min"]
INTENSITY_MAX = COLUMN["intensity_max"]
CELL_AREA = COLUMN["cell_area"]
CELL_PERIMETER = COLUMN["cell_perimeter"]
CELL_ECCENTRICITY = COLUMN["cell_eccentricity"]
CELL_SOLIDITY = COLUMN["cell_solidity"]

#: The numba kernels compute every group but the frequency one, which comes last.
N_KERNEL_FEATURES = FREQUENCY_START
assert len(FEATURE_NAMES) == FREQUENCY_STOP
