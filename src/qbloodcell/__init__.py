"""qbloodcell: quantum and quantum-inspired machine learning for blood-cell microscopy.

The public names are re-exported here but imported lazily, so that ``import qbloodcell``
stays fast and pulls in neither Qiskit nor torch: a subpackage is loaded the first time
one of its names is used.

>>> import qbloodcell
>>> "VQCClassifier" in qbloodcell.__all__
True

``__version__`` below is the one place the version is set: the build backend reads it
into the distribution's metadata.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> module that defines it
_LAZY_NAMES = {
    "BloodCellFeatures": "qbloodcell.features",
    "EquilibriumPropagationClassifier": "qbloodcell.ep",
    "VQCClassifier": "qbloodcell.quantum",
    "DataReuploadingClassifier": "qbloodcell.quantum",
    "CNNClassifier": "qbloodcell.baselines",
    "make_dense_classifier": "qbloodcell.baselines",
    "make_blood_cells": "qbloodcell.datasets",
    "load_aml_cytomorphology": "qbloodcell.datasets",
    "load_image_folder": "qbloodcell.datasets",
    "BalancedSubsampleClassifier": "qbloodcell.model_selection",
    "run_benchmark": "qbloodcell.benchmark",
    "compare_feature_distributions": "qbloodcell.calibration",
    "plot_feature_distributions": "qbloodcell.calibration",
}
_SUBMODULES = {
    "baselines",
    "benchmark",
    "calibration",
    "cli",
    "datasets",
    "ep",
    "features",
    "model_selection",
    "quantum",
}

__all__ = ["__version__", *_LAZY_NAMES]

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from qbloodcell.baselines import CNNClassifier, make_dense_classifier
    from qbloodcell.benchmark import run_benchmark
    from qbloodcell.calibration import compare_feature_distributions, plot_feature_distributions
    from qbloodcell.datasets import load_aml_cytomorphology, load_image_folder, make_blood_cells
    from qbloodcell.ep import EquilibriumPropagationClassifier
    from qbloodcell.features import BloodCellFeatures
    from qbloodcell.model_selection import BalancedSubsampleClassifier
    from qbloodcell.quantum import DataReuploadingClassifier, VQCClassifier


def __getattr__(name: str) -> Any:
    if name in _LAZY_NAMES:
        module = importlib.import_module(_LAZY_NAMES[name])
        value = getattr(module, name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f"qbloodcell.{name}")
    raise AttributeError(f"module 'qbloodcell' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__) | _SUBMODULES)
