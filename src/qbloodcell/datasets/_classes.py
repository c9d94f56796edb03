"""The AML-Cytomorphology_LMU classes and the binary groupings of any class names.

The 15 class codes of the TCIA dataset, the two named groupings (``"blast"``, ``"study"``)
that give the binary target, and the rules that place class folders of other trees on the
AML or the healthy side (``class_mapping``).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from qbloodcell._validation import InstanceOf, NoneValue, Options, Spec

#: The 15 morphological classes of AML-Cytomorphology_LMU: folder name -> (full name,
#: number of images in the published dataset).
AML_CYTOMORPHOLOGY_CLASSES: dict[str, tuple[str, int]] = {
    "NGS": ("segmented neutrophil", 8484),
    "LYT": ("typical lymphocyte", 3937),
    "MYO": ("myeloblast", 3268),
    "MON": ("monocyte", 1789),
    "EOS": ("eosinophil", 424),
    "NGB": ("band neutrophil", 109),
    "BAS": ("basophil", 79),
    "EBO": ("erythroblast", 78),
    "PMO": ("promyelocyte", 70),
    "MYB": ("myelocyte", 42),
    "MOB": ("monoblast", 26),
    "PMB": ("promyelocyte (bilobed)", 18),
    "KSC": ("smudge cell", 15),
    "MMZ": ("metamyelocyte", 15),
    "LYA": ("atypical lymphocyte", 11),
}

#: The AML side of the default ("blast") binary grouping: the blast and blast-equivalent
#: classes; every other class is "healthy".
AML_CLASSES = ("MYO", "MOB", "PMO", "PMB")

#: The healthy side of the "study" grouping (the study's published code): the four
#: classes of mature leukocytes most common in normal blood; every other class is "AML".
STUDY_HEALTHY_CLASSES = ("NGS", "LYT", "MON", "NGB")

#: Named binary groupings of the 15 classes (class code -> "AML" or "healthy"), for
#: ``class_mapping``: ``"blast"`` (the default) and ``"study"``.
CLASS_MAPPINGS: dict[str, dict[str, str | None]] = {
    "blast": {
        code: ("AML" if code in AML_CLASSES else "healthy") for code in AML_CYTOMORPHOLOGY_CLASSES
    },
    # the study's code lists 14 classes; PMB, not listed, joins PMO (the same cell type
    # with a bilobed nucleus), which the code puts on the AML side
    "study": {
        code: ("healthy" if code in STUDY_HEALTHY_CLASSES else "AML")
        for code in AML_CYTOMORPHOLOGY_CLASSES
    },
}

BINARY_NAMES = ("healthy", "AML")

#: What ``class_mapping`` accepts, wherever it is an argument (the loaders, run_benchmark).
CLASS_MAPPING_SPECS: list[Spec] = [
    NoneValue(),
    Options(CLASS_MAPPINGS),
    InstanceOf(Mapping, "a dict from class name to 'AML', 'healthy' or None"),
]

_MAPPING_HINT = (
    "Map each class to 'AML', 'healthy' or None (left out), e.g. class_mapping="
    "{'blasts': 'AML', 'neutrophils': 'healthy'} (on the command line: --class-mapping "
    "blasts=AML neutrophils=healthy)"
)


def _check_label(name: str, label: Any) -> None:
    if label not in (*BINARY_NAMES, None):
        raise ValueError(
            f"class_mapping[{name!r}] must be 'AML', 'healthy' or None; got {label!r}."
        )


def binary_grouping(
    class_mapping: str | Mapping[str, str | None] | None,
    *,
    folders: list[str] | None = None,
    root: Path | None = None,
) -> dict[str, str | None]:
    """Class (code or folder name) -> "AML", "healthy" or None (left out).

    ``folders=None``: the 15 class codes, and a dict may name codes only. Otherwise the
    given class folders, each placed by the dict, else by the named grouping (codes),
    else by its own name ("AML", "healthy"); a folder placed by none is an error.
    """
    name = class_mapping if isinstance(class_mapping, str) else "blast"
    base = dict(CLASS_MAPPINGS[name])
    changes: Mapping[str, str | None] = class_mapping if isinstance(class_mapping, Mapping) else {}
    for key, label in changes.items():
        _check_label(key, label)
    if folders is None:
        unknown = [key for key in changes if key not in base]
        if unknown:
            raise ValueError(
                f"class_mapping has an unknown class code {unknown[0]!r}; the codes are "
                f"{list(AML_CYTOMORPHOLOGY_CLASSES)}."
            )
        base.update(changes)
        return base
    unknown = [key for key in changes if key not in folders and key not in base]
    if unknown:
        raise ValueError(
            f"class_mapping names {unknown}, which are neither class folders of "
            f"{str(root)!r} (those are {folders}) nor AML-Cytomorphology_LMU codes."
        )
    grouping: dict[str, str | None] = {}
    unplaced = []
    for folder in folders:
        if folder in changes:
            grouping[folder] = changes[folder]
        elif folder in base:
            grouping[folder] = base[folder]
        elif folder in BINARY_NAMES:
            grouping[folder] = folder
        else:
            unplaced.append(folder)
    if unplaced:
        raise ValueError(
            f"class_mapping does not say on which side the class folders {unplaced} of "
            f"{str(root)!r} are. {_MAPPING_HINT}."
        )
    return grouping


def describe_grouping(
    grouping: Mapping[str, str | None], classes: list[str], class_mapping: Any
) -> str:
    name = class_mapping if isinstance(class_mapping, str) else "blast"
    origin = f'class_mapping="{name}"' + (
        " with changes" if isinstance(class_mapping, Mapping) else ""
    )
    aml = [c for c in classes if grouping[c] == "AML"]
    healthy = [c for c in classes if grouping[c] == "healthy"]
    dropped = [c for c in classes if grouping[c] is None]
    return (
        f"{origin}: AML: {', '.join(aml) or 'none'}; healthy: {', '.join(healthy) or 'none'}; "
        f"left out: {', '.join(dropped) or 'none'}."
    )


def warn_single_class(labels: np.ndarray, target_names: np.ndarray, root: Path) -> None:
    if len(np.unique(labels)) < 2:
        warnings.warn(
            f"Only the {target_names[labels[0]]!r} class has images in {str(root)!r}: the "
            "binary target has a single class.",
            UserWarning,
            stacklevel=3,
        )
