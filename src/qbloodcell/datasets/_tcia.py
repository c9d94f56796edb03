"""The loader of the TCIA AML-Cytomorphology_LMU single-cell dataset (a local copy)."""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from qbloodcell._validation import Options, Spec, check_arguments
from qbloodcell.datasets._classes import (
    AML_CYTOMORPHOLOGY_CLASSES,
    BINARY_NAMES,
    binary_grouping,
    describe_grouping,
    warn_single_class,
)
from qbloodcell.datasets._files import (
    IMAGE_EXTENSIONS,
    class_folders,
    existing_folder,
    find_tcia_root,
    list_files,
    read_selection,
)
from qbloodcell.datasets._loaders import LOADER_SPECS

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


_TARGETS_TCIA = ("binary", "morphology")


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
        only those files are read; an unreadable file of the draw is replaced by another
        of its class. ``None`` reads every image.
    random_state : int, RandomState instance or None, default=None
        Seeds the draw of ``n_samples_per_class``.
    n_jobs : int or None, default=-1
        Number of threads reading and resizing images: ``-1`` all cores, ``None`` one
        unless inside a :func:`joblib.parallel_config` block.
    cache : bool or path-like, default=True
        On-disk cache of the resized images, as in :func:`load_image_folder`: a second
        load reads no image file (timings in the datasets user guide).
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
    specs: dict[str, list[Spec]] = {**LOADER_SPECS, "target": [Options(_TARGETS_TCIA)]}
    check_arguments(arguments, specs)
    root_path = existing_folder(root)
    if class_mapping is not None and target != "binary":
        raise ValueError(
            "class_mapping only applies to target='binary'; with target='morphology' "
            "every class keeps its own label."
        )
    grouping = binary_grouping(class_mapping) if target == "binary" else None

    dataset_root = find_tcia_root(root_path)
    present = set(class_folders(dataset_root))
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
    files, classes, unreadable = list_files(
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
        target_names = np.array(BINARY_NAMES)
        labels = np.array(
            [BINARY_NAMES.index(grouping[code]) for code in classes],
            dtype=np.int64,
        )
        mapping_text = describe_grouping(grouping, known, class_mapping)
        warn_single_class(labels, target_names, dataset_root)

    bunch = read_selection(
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
