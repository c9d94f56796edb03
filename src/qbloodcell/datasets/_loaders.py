"""Loaders for images stored one folder per class, and the loader of any class tree.

Nothing is downloaded: the loaders read a local copy. Files are listed (and, with
``n_samples_per_class``, subsampled) before any image is read, so that a small balanced
subset of a large collection costs only the files it contains. Images are decoded and
resized by :mod:`qbloodcell.datasets._reading`, in threads, and kept in the on-disk cache
of :mod:`qbloodcell.datasets._cache`, so that a second load reads no image file.

The modules of this part: ``_classes`` (the TCIA class table and the binary groupings),
``_files`` (listing, layout detection, reading a selection), ``_tcia``
(:func:`load_aml_cytomorphology`) and this one (:func:`load_image_folder`, the arguments
the loaders share, and :func:`load_class_tree`, which picks one of the two).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
from sklearn.utils import Bunch

from qbloodcell._images import MIN_IMAGE_SIDE
from qbloodcell._validation import (
    Boolean,
    Integer,
    NJobs,
    NoneValue,
    Options,
    PathLike,
    RandomState,
    Spec,
    check_arguments,
)
from qbloodcell.datasets._classes import (
    BINARY_NAMES,
    CLASS_MAPPING_SPECS,
    binary_grouping,
    describe_grouping,
    warn_single_class,
)
from qbloodcell.datasets._files import (
    IMAGE_EXTENSIONS,
    Extensions,
    class_folders,
    detect_layout,
    existing_folder,
    list_files,
    normalise_extensions,
    read_selection,
)

_FOLDER_DESCR = """\
Image folder loaded by qbloodcell.datasets.load_image_folder
============================================================

Root: {root}
Classes (one folder each): {classes}
target="{target}". {mapping}
Images: {n_images}, resized to {image_size} x {image_size} RGB.
Skipped (unreadable) files: {n_skipped}.
"""


# the arguments both loaders share; each adds its own ``target``
LOADER_SPECS: dict[str, list[Spec]] = {
    "root": [PathLike()],
    "image_size": [Integer(low=MIN_IMAGE_SIDE)],
    "class_mapping": CLASS_MAPPING_SPECS,
    "n_samples_per_class": [Integer(low=1), NoneValue()],
    "random_state": [RandomState(), NoneValue()],
    "n_jobs": [NJobs(), NoneValue()],
    "extensions": [Extensions()],
    "cache": [Boolean(), PathLike()],
    "progress": [Boolean()],
    "return_X_y": [Boolean()],
}

_TARGETS_FOLDER = ("folder", "binary")


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
        :func:`balanced_indices`) before reading, so that only those files are read. An
        unreadable file of the draw is replaced by another file of its class, so that
        the classes stay balanced. ``None`` reads every image.
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
    specs: dict[str, list[Spec]] = {**LOADER_SPECS, "target": [Options(_TARGETS_FOLDER)]}
    check_arguments(arguments, specs)
    root_path = existing_folder(root)
    if class_mapping is not None and target != "binary":
        raise ValueError(
            "class_mapping only applies to target='binary'; with target='folder' every "
            "class folder keeps its own label."
        )
    extension_set = normalise_extensions(extensions)
    folders = class_folders(root_path)
    files, classes, unreadable = list_files(root_path, folders, extension_set)
    if not files:
        raise ValueError(
            f"No images found in {str(root_path)!r}: expected one sub-folder per class "
            f"holding files with extensions {sorted(extension_set)}."
        )
    present = sorted(set(classes))
    if target == "binary":
        grouping = binary_grouping(class_mapping, folders=present, root=root_path)
        keep = [grouping[name] is not None for name in classes]
        files = [f for f, k in zip(files, keep, strict=True) if k]
        classes = [c for c, k in zip(classes, keep, strict=True) if k]
        if not files:
            raise ValueError(
                f"class_mapping leaves out every class folder of {str(root_path)!r}; map "
                "at least one to 'AML' or 'healthy'."
            )
        target_names = np.array(BINARY_NAMES)
        labels = np.array([BINARY_NAMES.index(grouping[c]) for c in classes], dtype=np.int64)
        mapping_text = describe_grouping(grouping, present, class_mapping)
        warn_single_class(labels, target_names, root_path)
    else:
        target_names = np.array(present)
        labels = np.searchsorted(target_names, np.array(classes)).astype(np.int64)
        mapping_text = "The class folders, numbered in sorted order."
    bunch = read_selection(
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
    check_arguments({"root": root}, LOADER_SPECS)
    root_path = existing_folder(root)
    layout, folder = detect_layout(root_path)
    mapping_name = class_mapping if isinstance(class_mapping, str | None) else "custom"
    if layout == "tcia":
        from qbloodcell.datasets._tcia import load_aml_cytomorphology

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
