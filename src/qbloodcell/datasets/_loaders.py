"""Loaders for images stored one folder per class, and for the TCIA AML-Cytomorphology_LMU set.

Nothing is downloaded: the loaders read a local copy. Files are listed (and, with
``n_samples_per_class``, subsampled) before any image is read, so that a small balanced
subset of a large collection costs only the files it contains. Images are decoded and
resized by :mod:`qbloodcell.datasets._reading`, in threads, and kept in the on-disk cache
of :mod:`qbloodcell.datasets._cache`, so that a second load reads no image file.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.utils import Bunch

from qbloodcell._images import MIN_IMAGE_SIDE
from qbloodcell._validation import (
    Boolean,
    InstanceOf,
    Integer,
    NJobs,
    NoneValue,
    Options,
    PathLike,
    RandomState,
    Spec,
    check_arguments,
)
from qbloodcell.datasets._cache import get_cache_dir, read_through_cache
from qbloodcell.datasets._reading import ReadResult, read_many
from qbloodcell.datasets._sampling import balanced_indices

#: File extensions read by default (compared case-insensitively).
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")

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

_BINARY_NAMES = ("healthy", "AML")

_TCIA_DESCR = """\
AML-Cytomorphology_LMU (The Cancer Imaging Archive), loaded by
qbloodcell.datasets.load_aml_cytomorphology
==========================================================================

18,365 expert-labelled single-cell images of white blood cells from peripheral blood
smears (May-Grunwald-Giemsa / Pappenheim stain, 100x oil immersion) of 100 patients with
acute myeloid leukaemia and 100 patients without malignant disease, Munich University
Hospital; one folder of TIFF images per morphological class (15 classes).

target="{target}". {mapping}
Images: {n_images} read from {root}, resized to {image_size} x {image_size} RGB.
Skipped (unreadable) files: {n_skipped}.

Data: C. Matek, S. Schwarz, C. Marr, K. Spiekermann, "A single-cell morphological
dataset of leukocytes from AML patients and non-malignant controls", The Cancer Imaging
Archive (2019), doi:10.7937/tcia.2019.36f5o9ld.
Paper: C. Matek, S. Schwarz, K. Spiekermann, C. Marr, "Human-level recognition of blast
cells in acute myeloid leukaemia with convolutional neural networks", Nature Machine
Intelligence 1, 538-544 (2019), doi:10.1038/s42256-019-0101-9.
"""

_FOLDER_DESCR = """\
Image folder loaded by qbloodcell.datasets.load_image_folder
============================================================

Root: {root}
Classes (one folder each): {classes}
target="{target}". {mapping}
Images: {n_images}, resized to {image_size} x {image_size} RGB.
Skipped (unreadable) files: {n_skipped}.
"""


class _Extensions(Spec):
    """A file extension or a non-empty tuple or list of them (strings)."""

    def accepts_type(self, value: Any) -> bool:
        if isinstance(value, str):
            return True
        return isinstance(value, tuple | list) and all(isinstance(e, str) for e in value)

    def accepts_value(self, value: Any) -> bool:
        values = [value] if isinstance(value, str) else value
        return len(values) > 0 and all(e.strip(".") for e in values)

    def describe(self) -> str:
        return "a file extension or a non-empty sequence of them, such as ('.png', '.tif')"

    def invalid_value(self) -> Any:
        return ()


#: What ``class_mapping`` accepts, wherever it is an argument (the loaders, run_benchmark).
CLASS_MAPPING_SPECS: list[Spec] = [
    NoneValue(),
    Options(CLASS_MAPPINGS),
    InstanceOf(Mapping, "a dict from class name to 'AML', 'healthy' or None"),
]

# the arguments both loaders share; each adds its own ``target``
_SPECS: dict[str, list[Spec]] = {
    "root": [PathLike()],
    "image_size": [Integer(low=MIN_IMAGE_SIDE)],
    "class_mapping": CLASS_MAPPING_SPECS,
    "n_samples_per_class": [Integer(low=1), NoneValue()],
    "random_state": [RandomState(), NoneValue()],
    "n_jobs": [NJobs(), NoneValue()],
    "extensions": [_Extensions()],
    "cache": [Boolean(), PathLike()],
    "progress": [Boolean()],
    "return_X_y": [Boolean()],
}
_TARGETS_TCIA = ("binary", "morphology")
_TARGETS_FOLDER = ("folder", "binary")

_MAPPING_HINT = (
    "Map each class to 'AML', 'healthy' or None (left out), e.g. class_mapping="
    "{'blasts': 'AML', 'neutrophils': 'healthy'} (on the command line: --class-mapping "
    "blasts=AML neutrophils=healthy)"
)


def load_image_folder(
    root: str | os.PathLike[str],
    *,
    image_size: int = 64,
    target: str = "folder",
    class_mapping: str | Mapping[str, str | None] | None = None,
    n_samples_per_class: int | None = None,
    random_state: Any = None,
    n_jobs: int | None = -1,
    extensions: str | Iterable[str] = IMAGE_EXTENSIONS,
    cache: bool | str | os.PathLike[str] = True,
    progress: bool = False,
    return_X_y: bool = False,
) -> Any:
    """Load images stored one folder per class (``root/<class>/<image>``).

    Every sub-folder of ``root`` is a class, named after the folder; the classes are
    numbered in sorted order of their names. Images are converted to RGB (grayscale is
    repeated, RGBA composited over white) and resized with anti-aliasing to
    ``image_size`` x ``image_size``.

    Parameters
    ----------
    root : str or path-like
        Folder holding one sub-folder per class. Hidden files and folders (starting with
        ``.``) are ignored.
    image_size : int, default=64
        Side of the square output images, at least 8.
    target : {"folder", "binary"}, default="folder"
        ``"folder"``: the class folders, numbered in sorted order of their names.
        ``"binary"``: 0 = healthy, 1 = AML, each folder grouped by ``class_mapping``.
    class_mapping : {"blast", "study"}, dict or None, default=None
        For ``target="binary"`` only: the side of each class folder. A folder named
        with an AML-Cytomorphology_LMU class code (``MYO``, ``NGS``...) follows the named
        grouping (see :func:`load_aml_cytomorphology`; ``None`` is ``"blast"``), folders
        named ``AML`` or ``healthy`` their name. A dict maps folder names to ``"AML"``,
        ``"healthy"`` or ``None`` (leave the folder out), changing the ``"blast"``
        grouping; every other folder must be mapped by it.
    n_samples_per_class : int or None, default=None
        If given, draw this many files at random from every class of the target (with
        :func:`balanced_indices`) before reading, so that only those files are read.
        ``None`` reads every image.
    random_state : int, RandomState instance or None, default=None
        Seeds the draw of ``n_samples_per_class``.
    n_jobs : int or None, default=-1
        Number of threads reading and resizing images: ``-1`` all cores, ``None`` one
        unless inside a :func:`joblib.parallel_config` block, as everywhere in qbloodcell.
    extensions : str or sequence of str, default=(".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")
        File extensions to read, compared case-insensitively; other files are ignored.
    cache : bool or path-like, default=True
        Keep the resized images in an on-disk cache, so that loading the same files at
        the same ``image_size`` again reads no image file. ``True``: the folder of
        :func:`get_cache_dir` (``$QBLOODCELL_CACHE_DIR`` or the user's cache folder);
        a path: that folder; ``False``: no cache. A file whose size or modification
        time changed, and a cache entry that is corrupt or from another version of the
        loader, are read again, never trusted.
    progress : bool, default=False
        Show a progress bar (tqdm) while image files are read.
    return_X_y : bool, default=False
        If True, return ``(images, target)`` instead of a Bunch.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``images`` (uint8, ``(n, image_size, image_size, 3)``), ``target`` (int64 index
        into ``target_names``), ``target_names`` (the class folder names, sorted, or
        ``['healthy', 'AML']``), ``class_names`` (the folder of each image),
        ``filenames`` (path of each image), ``skipped_files`` (paths of files and class
        folders that could not be read; each also raised a warning) and ``DESCR``.
    (images, target) : tuple of ndarray
        If ``return_X_y`` is True.

    Raises
    ------
    FileNotFoundError
        If ``root`` does not exist or is not a folder.
    TypeError
        For an argument of the wrong type.
    ValueError
        For a bad argument value, a class folder ``class_mapping`` does not place, when
        ``root`` has no class folder with images, no image could be read, or a class has
        fewer than ``n_samples_per_class`` images.

    Warns
    -----
    UserWarning
        For a class folder without images (the class is left out), for each file or
        class folder that cannot be read (listed in ``skipped_files``), and for a cache
        entry that cannot be used or written.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import numpy as np, tifffile
    >>> from qbloodcell.datasets import load_image_folder
    >>> folder = tempfile.TemporaryDirectory()
    >>> root = pathlib.Path(folder.name)
    >>> for name in ["cat", "dog"]:
    ...     (root / name).mkdir()
    ...     for i in range(2):
    ...         tifffile.imwrite(root / name / f"{i}.tif", np.zeros((16, 16, 3), np.uint8))
    >>> data = load_image_folder(root, image_size=8, cache=False)
    >>> data.images.shape, data.target_names.tolist(), data.target.tolist()
    ((4, 8, 8, 3), ['cat', 'dog'], [0, 0, 1, 1])
    >>> binary = load_image_folder(root, image_size=8, cache=False, target="binary",
    ...                            class_mapping={"cat": "AML", "dog": "healthy"})
    >>> binary.target_names.tolist(), binary.target.tolist()
    (['healthy', 'AML'], [1, 1, 0, 0])
    >>> folder.cleanup()
    """
    arguments = dict(locals())
    specs: dict[str, list[Spec]] = {**_SPECS, "target": [Options(_TARGETS_FOLDER)]}
    check_arguments(arguments, specs)
    root_path = _existing_folder(root)
    if class_mapping is not None and target != "binary":
        raise ValueError(
            "class_mapping only applies to target='binary'; with target='folder' every "
            "class folder keeps its own label."
        )
    extension_set = _normalise_extensions(extensions)
    folders = _class_folders(root_path)
    files, classes, unreadable = _list_files(root_path, folders, extension_set)
    if not files:
        raise ValueError(
            f"No images found in {str(root_path)!r}: expected one sub-folder per class "
            f"holding files with extensions {sorted(extension_set)}."
        )
    present = sorted(set(classes))
    if target == "binary":
        grouping = _binary_grouping(class_mapping, folders=present, root=root_path)
        keep = [grouping[name] is not None for name in classes]
        files = [f for f, k in zip(files, keep, strict=True) if k]
        classes = [c for c, k in zip(classes, keep, strict=True) if k]
        if not files:
            raise ValueError(
                f"class_mapping leaves out every class folder of {str(root_path)!r}; map "
                "at least one to 'AML' or 'healthy'."
            )
        target_names = np.array(_BINARY_NAMES)
        labels = np.array([_BINARY_NAMES.index(grouping[c]) for c in classes], dtype=np.int64)
        mapping_text = _mapping_text(grouping, present, class_mapping)
        _warn_single_class(labels, target_names, root_path)
    else:
        target_names = np.array(present)
        labels = np.searchsorted(target_names, np.array(classes)).astype(np.int64)
        mapping_text = "The class folders, numbered in sorted order."
    bunch = _read_selection(
        files,
        np.array(classes),
        labels,
        target_names,
        image_size=image_size,
        n_samples_per_class=n_samples_per_class,
        random_state=random_state,
        n_jobs=n_jobs,
        cache=cache,
        progress=progress,
        unreadable_folders=unreadable,
    )
    if return_X_y:
        return bunch.images, bunch.target
    bunch.target_names = target_names
    bunch.DESCR = _FOLDER_DESCR.format(
        root=root_path,
        classes=", ".join(present),
        target=target,
        mapping=mapping_text,
        n_images=bunch.images.shape[0],
        image_size=image_size,
        n_skipped=len(bunch.skipped_files),
    )
    return bunch


def load_aml_cytomorphology(
    root: str | os.PathLike[str],
    *,
    image_size: int = 64,
    target: str = "binary",
    class_mapping: str | Mapping[str, str | None] | None = None,
    n_samples_per_class: int | None = None,
    random_state: Any = None,
    n_jobs: int | None = -1,
    cache: bool | str | os.PathLike[str] = True,
    progress: bool = False,
    return_X_y: bool = False,
) -> Any:
    """Load a local copy of the TCIA AML-Cytomorphology_LMU single-cell dataset.

    The dataset [1]_ (used in [2]_) holds 18,365 images of single white blood cells from
    peripheral blood smears of 100 AML patients and 100 controls, sorted by experts into
    15 morphological classes, one folder of TIFF images per class. Two named groupings
    give the binary target (``class_mapping``):

    ====  =========================  ======  =======  =======
    Code  Class                      Images  "blast"  "study"
    ====  =========================  ======  =======  =======
    NGS   segmented neutrophil         8484  healthy  healthy
    LYT   typical lymphocyte           3937  healthy  healthy
    MYO   myeloblast                   3268  AML      AML
    MON   monocyte                     1789  healthy  healthy
    EOS   eosinophil                    424  healthy  AML
    NGB   band neutrophil               109  healthy  healthy
    BAS   basophil                       79  healthy  AML
    EBO   erythroblast                   78  healthy  AML
    PMO   promyelocyte                   70  AML      AML
    MYB   myelocyte                      42  healthy  AML
    MOB   monoblast                      26  AML      AML
    PMB   promyelocyte (bilobed)         18  AML      AML
    KSC   smudge cell                    15  healthy  AML
    MMZ   metamyelocyte                  15  healthy  AML
    LYA   atypical lymphocyte            11  healthy  AML
    ====  =========================  ======  =======  =======

    ``"blast"`` (the default) asks whether a cell is a blast, as Matek et al. [2]_ do:
    the AML class (3,382 images) holds the two blast classes of the dataset, myeloblasts
    and monoblasts, plus the promyelocytes, which the WHO classification counts as blast
    equivalents in acute promyelocytic leukaemia; every other class is "healthy",
    including the immature non-blast classes (EBO, MYB, MMZ) and the atypical
    lymphocytes (LYA). ``"study"`` is the grouping of the benchmarked study's published
    code: the four mature leukocyte classes most common in normal blood (NGS, LYT, MON,
    NGB; 14,319 images) are "healthy" and every other class (4,046 images) is "AML", so
    that eosinophils and basophils (normal mature cells), erythroblasts and immature
    granulocytes (also seen outside leukaemia), smudge cells and reactive lymphocytes
    count as AML: it separates "the common normal cells" from "everything else", not
    blasts from non-blasts. PMB, which that code does not list, is put with PMO on the
    AML side. In both, the labels describe cells, not patients: normal-looking cells
    from AML patients count as healthy.

    Download the data yourself from TCIA (doi:10.7937/tcia.2019.36f5o9ld; mind the licence
    and citation terms stated there) and pass the folder that holds the class folders, or
    any folder above it (up to two levels, e.g. the folder containing
    ``AML-Cytomorphology_LMU/``).

    Parameters
    ----------
    root : str or path-like
        Folder holding the class folders (``NGS/``, ``LYT/``, ...), or a parent of it.
    image_size : int, default=64
        Side of the square output images; the 400 x 400 originals are resized with
        anti-aliasing.
    target : {"binary", "morphology"}, default="binary"
        ``"binary"``: 0 = healthy, 1 = AML, grouped by ``class_mapping``.
        ``"morphology"``: the 15 classes, numbered in the order of the table above.
    class_mapping : {"blast", "study"}, dict or None, default=None
        For ``target="binary"`` only: the grouping of the table above by name (``None``
        is ``"blast"``), or a dict of changes to the ``"blast"`` grouping, mapping a
        class code to ``"AML"``, ``"healthy"`` or ``None`` (leave the class out). For
        example ``{"EBO": None, "MYB": None, "MMZ": None}`` drops the immature non-blast
        classes, and ``{**CLASS_MAPPINGS["study"], "KSC": None}`` is the study's grouping
        without the smudge cells.
    n_samples_per_class : int or None, default=None
        If given, draw this many files at random from every target class (healthy and
        AML for ``"binary"``, each morphology otherwise) before reading anything, so that
        only those files are read. ``None`` reads every image.
    random_state : int, RandomState instance or None, default=None
        Seeds the draw of ``n_samples_per_class``.
    n_jobs : int or None, default=-1
        Number of threads reading and resizing images: ``-1`` all cores, ``None`` one
        unless inside a :func:`joblib.parallel_config` block.
    cache : bool or path-like, default=True
        On-disk cache of the resized images, as in :func:`load_image_folder`; a second
        load of the whole dataset then takes seconds.
    progress : bool, default=False
        Show a progress bar (tqdm) while image files are read.
    return_X_y : bool, default=False
        If True, return ``(images, target)`` instead of a Bunch.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``images`` (uint8, ``(n, image_size, image_size, 3)``), ``target`` (int64),
        ``target_names`` (``['healthy', 'AML']`` or the 15 class codes),
        ``class_names`` (the class code of each image), ``filenames``,
        ``skipped_files`` (unreadable files and class folders; each also raised a
        warning) and ``DESCR``.
    (images, target) : tuple of ndarray
        If ``return_X_y`` is True.

    Raises
    ------
    FileNotFoundError
        If ``root`` does not exist, or neither it nor a folder up to two levels below
        holds any of the 15 class folders.
    TypeError
        For an argument of the wrong type.
    ValueError
        For a bad ``target`` or ``class_mapping``, when no image can be read, or when a
        class has fewer than ``n_samples_per_class`` images.

    Warns
    -----
    UserWarning
        When some of the 15 class folders are missing or hold no image (named in the
        message), when other folders are ignored, for each unreadable file or class
        folder, and for a cache entry that cannot be used or written.

    See Also
    --------
    load_image_folder : any collection stored one folder per class.

    References
    ----------
    .. [1] C. Matek, S. Schwarz, C. Marr, K. Spiekermann, "A single-cell morphological
       dataset of leukocytes from AML patients and non-malignant controls", The Cancer
       Imaging Archive (2019). :doi:`10.7937/tcia.2019.36f5o9ld`
    .. [2] C. Matek, S. Schwarz, K. Spiekermann, C. Marr, "Human-level recognition of
       blast cells in acute myeloid leukaemia with convolutional neural networks",
       Nature Machine Intelligence 1, 538-544 (2019).
       :doi:`10.1038/s42256-019-0101-9`

    Examples
    --------
    A two-class miniature of the layout (the real data has 15 folders):

    >>> import tempfile, pathlib, warnings
    >>> import numpy as np, tifffile
    >>> from qbloodcell.datasets import load_aml_cytomorphology
    >>> folder = tempfile.TemporaryDirectory()
    >>> root = pathlib.Path(folder.name) / "AML-Cytomorphology_LMU"
    >>> for code in ["MYO", "NGS", "EOS"]:
    ...     (root / code).mkdir(parents=True)
    ...     for i in range(3):
    ...         image = np.full((40, 40, 3), 200, np.uint8)
    ...         tifffile.imwrite(root / code / f"{code}_{i}.tiff", image)
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")  # the 12 missing classes
    ...     data = load_aml_cytomorphology(root.parent, image_size=16, cache=False)
    ...     study = load_aml_cytomorphology(root.parent, image_size=16, cache=False,
    ...                                     class_mapping="study")
    >>> data.images.shape, data.target_names.tolist()
    ((9, 16, 16, 3), ['healthy', 'AML'])
    >>> np.bincount(data.target).tolist(), np.bincount(study.target).tolist()
    ([6, 3], [3, 6])
    >>> folder.cleanup()
    """
    arguments = dict(locals())
    specs: dict[str, list[Spec]] = {**_SPECS, "target": [Options(_TARGETS_TCIA)]}
    check_arguments(arguments, specs)
    root_path = _existing_folder(root)
    if class_mapping is not None and target != "binary":
        raise ValueError(
            "class_mapping only applies to target='binary'; with target='morphology' "
            "every class keeps its own label."
        )
    grouping = _binary_grouping(class_mapping) if target == "binary" else None

    dataset_root = _find_tcia_root(root_path)
    present = set(_class_folders(dataset_root))
    known = list(AML_CYTOMORPHOLOGY_CLASSES)
    missing = [code for code in known if code not in present]
    unknown = sorted(present - set(known))
    if unknown:
        warnings.warn(
            f"Ignoring folders that are not AML-Cytomorphology_LMU classes in "
            f"{str(dataset_root)!r}: {unknown}.",
            UserWarning,
            stacklevel=2,
        )
    wanted = [
        code
        for code in known
        if code in present and (grouping is None or grouping[code] is not None)
    ]
    files, classes, unreadable = _list_files(
        dataset_root, wanted, IMAGE_EXTENSIONS, warn_empty=False
    )
    unreadable_codes = {Path(folder).name for folder in unreadable}
    empty = [code for code in wanted if code not in set(classes) and code not in unreadable_codes]
    if missing or empty:
        absent = sorted(set(missing) | set(empty), key=known.index)
        warnings.warn(
            f"{len(absent)} of the 15 AML-Cytomorphology_LMU classes have no images in "
            f"{str(dataset_root)!r} and are left out: "
            + ", ".join(f"{code} ({AML_CYTOMORPHOLOGY_CLASSES[code][0]})" for code in absent)
            + ".",
            UserWarning,
            stacklevel=2,
        )
    if not files:
        raise ValueError(f"No images found in the class folders of {str(dataset_root)!r}.")

    class_array = np.array(classes)
    if grouping is None:
        target_names = np.array(known)
        labels = np.array([known.index(code) for code in classes], dtype=np.int64)
        mapping_text = "The 15 morphological classes, numbered in the order of the table."
    else:
        target_names = np.array(_BINARY_NAMES)
        labels = np.array(
            [_BINARY_NAMES.index(grouping[code]) for code in classes],
            dtype=np.int64,
        )
        mapping_text = _mapping_text(grouping, known, class_mapping)
        _warn_single_class(labels, target_names, dataset_root)

    bunch = _read_selection(
        files,
        class_array,
        labels,
        target_names,
        image_size=image_size,
        n_samples_per_class=n_samples_per_class,
        random_state=random_state,
        n_jobs=n_jobs,
        cache=cache,
        progress=progress,
        unreadable_folders=unreadable,
    )
    if return_X_y:
        return bunch.images, bunch.target
    bunch.target_names = target_names
    bunch.DESCR = _TCIA_DESCR.format(
        target=target,
        mapping=mapping_text,
        n_images=bunch.images.shape[0],
        root=dataset_root,
        image_size=image_size,
        n_skipped=len(bunch.skipped_files),
    )
    return bunch


def load_class_tree(
    root: str | os.PathLike[str],
    *,
    target: str = "binary",
    class_mapping: str | Mapping[str, str | None] | None = None,
    n_jobs: int | None = -1,
    cache: bool | str | os.PathLike[str] = True,
    progress: bool = False,
) -> tuple[Bunch, str]:
    """Load ``root`` in whichever layout it has; what ``run_benchmark(data=PATH)`` reads.

    If ``root`` or a folder up to two levels below it holds folders named only with
    AML-Cytomorphology_LMU class codes, it is read by :func:`load_aml_cytomorphology`
    (``target`` ``"binary"`` or ``"morphology"``); otherwise every sub-folder of that
    folder (or of ``root``) is a class, read by :func:`load_image_folder` (``target``
    ``"binary"``, or ``"morphology"`` for the folders themselves). Returns the Bunch and
    a one-line description of what was read.
    """
    check_arguments({"root": root}, _SPECS)
    root_path = _existing_folder(root)
    layout, folder = detect_layout(root_path)
    mapping_name = class_mapping if isinstance(class_mapping, str | None) else "custom"
    if layout == "tcia":
        bunch = load_aml_cytomorphology(
            root_path,
            target=target,
            class_mapping=class_mapping,
            n_jobs=n_jobs,
            cache=cache,
            progress=progress,
        )
        what = f"AML-Cytomorphology_LMU layout at {folder}"
    else:
        bunch = load_image_folder(
            folder,
            target="binary" if target == "binary" else "folder",
            class_mapping=class_mapping,
            n_jobs=n_jobs,
            cache=cache,
            progress=progress,
        )
        what = f"class folders at {folder} ({len(set(bunch.class_names.tolist()))} classes)"
    if target == "binary":
        what += f", class_mapping={mapping_name or 'blast'}"
    return bunch, what


def detect_layout(root: Path) -> tuple[str, Path]:
    """``("tcia", folder)`` or ``("folder", folder)``: how :func:`load_class_tree` reads ``root``.

    The TCIA layout needs a folder (``root`` or up to two levels below) whose sub-folders
    are all class codes; a tree with other folders beside the codes is read as a folder
    tree, so that no folder is silently ignored.
    """
    try:
        level = _find_tcia_root(root)
    except FileNotFoundError:
        return "folder", root
    if set(_class_folders(level)) <= set(AML_CYTOMORPHOLOGY_CLASSES):
        return "tcia", level
    return "folder", level


# ---------------------------------------------------------------------------------------
# arguments, mappings, folders


def _existing_folder(root: str | os.PathLike[str]) -> Path:
    path = Path(root)
    if not path.exists():
        raise FileNotFoundError(f"root folder {str(path)!r} does not exist.")
    if not path.is_dir():
        raise FileNotFoundError(f"root {str(path)!r} is not a folder.")
    return path


def _normalise_extensions(extensions: str | Iterable[str]) -> set[str]:
    values = [extensions] if isinstance(extensions, str) else list(extensions)
    return {"." + value.lower().lstrip(".") for value in values}


def _check_label(name: str, label: Any) -> None:
    if label not in (*_BINARY_NAMES, None):
        raise ValueError(
            f"class_mapping[{name!r}] must be 'AML', 'healthy' or None; got {label!r}."
        )


def _binary_grouping(
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
        elif folder in _BINARY_NAMES:
            grouping[folder] = folder
        else:
            unplaced.append(folder)
    if unplaced:
        raise ValueError(
            f"class_mapping does not say on which side the class folders {unplaced} of "
            f"{str(root)!r} are. {_MAPPING_HINT}."
        )
    return grouping


def _mapping_text(
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


def _warn_single_class(labels: np.ndarray, target_names: np.ndarray, root: Path) -> None:
    if len(np.unique(labels)) < 2:
        warnings.warn(
            f"Only the {target_names[labels[0]]!r} class has images in {str(root)!r}: the "
            "binary target has a single class.",
            UserWarning,
            stacklevel=3,
        )


def _class_folders(root: Path) -> list[str]:
    try:
        with os.scandir(root) as iterator:
            entries = list(iterator)
    except PermissionError as error:
        raise PermissionError(
            f"the folder {str(root)!r} cannot be listed ({error.strerror}); give read "
            "access to it, or pass another folder."
        ) from None
    return sorted(
        entry.name for entry in entries if not entry.name.startswith(".") and _is_folder(entry)
    )


def _is_folder(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def _find_tcia_root(root: Path) -> Path:
    """``root`` or the first folder up to two levels below it that holds class folders."""
    codes = set(AML_CYTOMORPHOLOGY_CLASSES)
    candidates = [root]
    for _ in range(3):
        next_level: list[Path] = []
        for folder in candidates:
            try:
                subfolders = _class_folders(folder)
            except PermissionError:
                if folder == root:
                    raise
                continue  # an unreadable folder below root cannot hold the dataset
            if codes & set(subfolders):
                return folder
            next_level.extend(folder / name for name in subfolders)
        candidates = next_level
    raise FileNotFoundError(
        f"No AML-Cytomorphology_LMU class folder ({', '.join(AML_CYTOMORPHOLOGY_CLASSES)}) "
        f"found in "
        f"{str(root)!r} or up to two levels below it. Download the dataset from TCIA "
        "(doi:10.7937/tcia.2019.36f5o9ld) and pass the folder that holds the class folders."
    )


def _list_files(
    root: Path, folders: list[str], extensions: Iterable[str], *, warn_empty: bool = True
) -> tuple[list[str], list[str], list[str]]:
    """Image paths and their class folder, sorted, and the class folders that cannot be read.

    Warns about each unreadable folder (it is reported like an unreadable file) and about
    folders without images.
    """
    extension_set = {e.lower() for e in extensions}
    files: list[str] = []
    classes: list[str] = []
    empty = []
    unreadable = []
    for folder in folders:
        try:
            with os.scandir(root / folder) as iterator:
                found = sorted(
                    entry.name
                    for entry in iterator
                    if not entry.name.startswith(".")
                    and os.path.splitext(entry.name)[1].lower() in extension_set
                    and entry.is_file()
                )
        except OSError as error:
            unreadable.append(str(root / folder))
            warnings.warn(
                f"Skipping unreadable class folder {str(root / folder)!r} "
                f"({type(error).__name__}: {error.strerror or error}); it is listed in "
                "skipped_files.",
                UserWarning,
                stacklevel=3,
            )
            continue
        if not found:
            empty.append(folder)
        files.extend(str(root / folder / name) for name in found)
        classes.extend([folder] * len(found))
    if empty and files and warn_empty:
        warnings.warn(
            f"Class folders without images (extensions {sorted(extension_set)}) in "
            f"{str(root)!r} are left out: {empty}.",
            UserWarning,
            stacklevel=3,
        )
    return files, classes, unreadable


# ---------------------------------------------------------------------------------------
# reading


def _read_selection(
    files: list[str],
    classes: np.ndarray,
    labels: np.ndarray,
    target_names: np.ndarray,
    *,
    image_size: int,
    n_samples_per_class: int | None,
    random_state: Any,
    n_jobs: int | None,
    cache: bool | str | os.PathLike[str],
    progress: bool,
    unreadable_folders: list[str],
) -> Bunch:
    """Subsample (optionally), read the files, and drop the unreadable ones with a warning."""
    paths = np.array(files)
    if n_samples_per_class is not None:
        # sample over the class names so that an error names the class, not its number
        chosen = balanced_indices(
            target_names[labels], n_samples_per_class, random_state=random_state
        )
        paths, classes, labels = paths[chosen], classes[chosen], labels[chosen]

    def read(selected: list[str]) -> list[ReadResult]:
        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=len(selected), desc="reading images", unit="image")
        try:
            return read_many(
                selected, image_size, n_jobs=n_jobs, on_done=None if bar is None else bar.update
            )
        finally:
            if bar is not None:
                bar.close()

    cache_dir = None if cache is False else get_cache_dir() if cache is True else Path(cache)
    images, reasons = read_through_cache(paths.tolist(), image_size, cache_dir, read)

    readable = np.array([not reason for reason in reasons], dtype=bool)
    for path, reason in zip(paths, reasons, strict=True):
        if reason:
            warnings.warn(
                f"Skipping unreadable image file {str(path)!r} ({reason}); it is listed in "
                "skipped_files.",
                UserWarning,
                stacklevel=3,
            )
    if not readable.any():
        raise ValueError(
            f"None of the {len(paths)} image files could be read; the first failure: "
            f"{paths[0]!r}: {reasons[0]}"
        )
    return Bunch(
        images=images[readable] if not readable.all() else images,
        target=labels[readable].astype(np.int64),
        class_names=classes[readable],
        filenames=paths[readable],
        skipped_files=[*unreadable_folders, *(str(p) for p in paths[~readable])],
    )
