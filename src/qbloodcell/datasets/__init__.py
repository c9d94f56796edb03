"""Blood-cell image datasets: a synthetic generator, loaders for real data, balanced sampling.

- :func:`make_blood_cells` renders synthetic May-Grunwald-Giemsa-stained single-cell
  smear images (AML blasts against healthy leukocytes), the embedded default data.
- :func:`load_aml_cytomorphology` reads a local copy of the TCIA AML-Cytomorphology_LMU
  dataset; :func:`load_image_folder` any one-folder-per-class image collection.
- :func:`balanced_indices` draws a class-balanced random subsample.

Loaded images are cached on disk (:func:`get_cache_dir`, :func:`clear_cache`).
"""

from qbloodcell.datasets._cache import clear_cache, get_cache_dir
from qbloodcell.datasets._classes import (
    AML_CLASSES,
    AML_CYTOMORPHOLOGY_CLASSES,
    CLASS_MAPPINGS,
    STUDY_HEALTHY_CLASSES,
)
from qbloodcell.datasets._loaders import load_image_folder
from qbloodcell.datasets._sampling import balanced_indices
from qbloodcell.datasets._synthetic import make_blood_cells
from qbloodcell.datasets._tcia import load_aml_cytomorphology

__all__ = [
    "AML_CLASSES",
    "AML_CYTOMORPHOLOGY_CLASSES",
    "CLASS_MAPPINGS",
    "STUDY_HEALTHY_CLASSES",
    "balanced_indices",
    "clear_cache",
    "get_cache_dir",
    "load_aml_cytomorphology",
    "load_image_folder",
    "make_blood_cells",
]
