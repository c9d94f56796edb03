"""Loaders for images stored one folder per class, and for the TCIA AML-Cytomorphology_LMU set.

Nothing is downloaded: the loaders read a local copy. Files are listed (and, with
``n_samples_per_class``, subsampled) before any image is read, so that a small balanced
subset of a large collection costs only the files it contains.
"""

from __future__ import annotations

import io
import os
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.utils import Bunch

from qbloodcell._images import MIN_IMAGE_SIDE, check_images
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

#: Default binary grouping: the blast and blast-equivalent classes are "AML", every other
#: class "healthy".
AML_CLASSES = ("MYO", "MOB", "PMO", "PMB")

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
Images: {n_images}, resized to {image_size} x {image_size} RGB.
Skipped (unreadable) files: {n_skipped}.
"""


def load_image_folder(
    root: str | os.PathLike[str],
    *,
    image_size: int = 64,
    n_samples_per_class: int | None = None,
    random_state: Any = None,
    n_jobs: int | None = None,
    extensions: Iterable[str] = IMAGE_EXTENSIONS,
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
    n_samples_per_class : int or None, default=None
        If given, draw this many files at random from every class (with
        :func:`balanced_indices`) before reading, so that only those files are read.
        ``None`` reads every image.
    random_state : int, RandomState instance or None, default=None
        Seeds the draw of ``n_samples_per_class``.
    n_jobs : int or None, default=None
        Number of threads reading and resizing images (joblib); ``None`` means 1, ``-1``
        all processors.
    extensions : iterable of str, default=(".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")
        File extensions to read, compared case-insensitively; other files are ignored.
    return_X_y : bool, default=False
        If True, return ``(images, target)`` instead of a Bunch.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``images`` (uint8, ``(n, image_size, image_size, 3)``), ``target`` (int64 index
        into ``target_names``), ``target_names`` (the class folder names, sorted),
        ``class_names`` (the folder of each image), ``filenames`` (path of each image),
        ``skipped_files`` (paths of files that could not be read; each also raised a
        warning) and ``DESCR``.
    (images, target) : tuple of ndarray
        If ``return_X_y`` is True.

    Raises
    ------
    FileNotFoundError
        If ``root`` does not exist or is not a folder.
    ValueError
        If ``root`` has no class folder with images, no image could be read, or a class
        has fewer than ``n_samples_per_class`` images.

    Warns
    -----
    UserWarning
        For a class folder without images (the class is left out) and for each file that
        cannot be read (the file is listed in ``skipped_files``).

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
    >>> data = load_image_folder(root, image_size=8)
    >>> data.images.shape, data.target_names.tolist(), data.target.tolist()
    ((4, 8, 8, 3), ['cat', 'dog'], [0, 0, 1, 1])
    >>> folder.cleanup()
    """
    root_path = _check_root(root)
    image_size = _check_image_size(image_size)
    extension_set = _check_extensions(extensions)
    folders = _class_folders(root_path)
    files, classes = _list_files(root_path, folders, extension_set)
    if not files:
        raise ValueError(
            f"No images found in {str(root_path)!r}: expected one sub-folder per class "
            f"holding files with extensions {sorted(extension_set)}."
        )
    target_names = np.array(sorted(set(classes)))
    labels = np.searchsorted(target_names, np.array(classes))
    bunch = _read_selection(
        files,
        np.array(classes),
        labels,
        target_names,
        image_size=image_size,
        n_samples_per_class=n_samples_per_class,
        random_state=random_state,
        n_jobs=n_jobs,
    )
    if return_X_y:
        return bunch.images, bunch.target
    bunch.target_names = target_names
    bunch.DESCR = _FOLDER_DESCR.format(
        root=root_path,
        classes=", ".join(target_names.tolist()),
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
    class_mapping: Mapping[str, str | None] | None = None,
    n_samples_per_class: int | None = None,
    random_state: Any = None,
    n_jobs: int | None = None,
    return_X_y: bool = False,
) -> Any:
    """Load a local copy of the TCIA AML-Cytomorphology_LMU single-cell dataset.

    The dataset [1]_ (used in [2]_) holds 18,365 images of single white blood cells from
    peripheral blood smears of 100 AML patients and 100 controls, sorted by experts into
    15 morphological classes, one folder of TIFF images per class:

    ====  =========================  ======  ==============
    Code  Class                      Images  Default target
    ====  =========================  ======  ==============
    NGS   segmented neutrophil         8484  healthy
    LYT   typical lymphocyte           3937  healthy
    MYO   myeloblast                   3268  AML
    MON   monocyte                     1789  healthy
    EOS   eosinophil                    424  healthy
    NGB   band neutrophil               109  healthy
    BAS   basophil                       79  healthy
    EBO   erythroblast                   78  healthy
    PMO   promyelocyte                   70  AML
    MYB   myelocyte                      42  healthy
    MOB   monoblast                      26  AML
    PMB   promyelocyte (bilobed)         18  AML
    KSC   smudge cell                    15  healthy
    MMZ   metamyelocyte                  15  healthy
    LYA   atypical lymphocyte            11  healthy
    ====  =========================  ======  ==============

    With ``target="binary"`` the blast and blast-equivalent classes form the AML class
    (3,382 images): the two blast classes of the dataset, myeloblasts and monoblasts, plus
    the promyelocytes, which the WHO classification counts as blast equivalents in acute
    promyelocytic leukaemia; every other class is "healthy". Matek et al. [2]_ ask
    whether a cell has blast character; to keep to the blast classes alone, pass
    ``class_mapping={"PMO": "healthy", "PMB": "healthy"}`` (or ``None`` to drop them).
    The labels describe cells, not patients: normal-looking cells from AML patients count
    as healthy, and so do, by default, the immature non-blast classes (EBO, MYB, MMZ) and
    the atypical lymphocytes (LYA); move or drop them with ``class_mapping``.

    Download the data yourself from TCIA (doi:10.7937/tcia.2019.36f5o9ld; mind the licence
    and citation terms stated there) and pass the folder that holds the class folders, or any folder above it
    (up to two levels, e.g. the folder containing ``AML-Cytomorphology_LMU/``).

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
    class_mapping : dict or None, default=None
        For ``target="binary"`` only: changes to the default grouping, mapping a class
        code to ``"AML"``, ``"healthy"`` or ``None`` (leave the class out). For example
        ``{"EBO": None, "MYB": None, "MMZ": None}`` drops the immature non-blast classes.
    n_samples_per_class : int or None, default=None
        If given, draw this many files at random from every target class (healthy and
        AML for ``"binary"``, each morphology otherwise) before reading anything, so that
        only those files are read. ``None`` reads every image.
    random_state : int, RandomState instance or None, default=None
        Seeds the draw of ``n_samples_per_class``.
    n_jobs : int or None, default=None
        Number of threads reading and resizing images (joblib); ``None`` means 1.
    return_X_y : bool, default=False
        If True, return ``(images, target)`` instead of a Bunch.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``images`` (uint8, ``(n, image_size, image_size, 3)``), ``target`` (int64),
        ``target_names`` (``['healthy', 'AML']`` or the 15 class codes),
        ``class_names`` (the class code of each image), ``filenames``,
        ``skipped_files`` (unreadable files; each also raised a warning) and ``DESCR``.
    (images, target) : tuple of ndarray
        If ``return_X_y`` is True.

    Raises
    ------
    FileNotFoundError
        If ``root`` does not exist, or neither it nor a folder up to two levels below
        holds any of the 15 class folders.
    ValueError
        For a bad ``target`` or ``class_mapping``, when no image can be read, or when a
        class has fewer than ``n_samples_per_class`` images.

    Warns
    -----
    UserWarning
        When some of the 15 class folders are missing or hold no image (named in the
        message), when other folders are ignored, and for each unreadable file.

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
    >>> for code in ["MYO", "NGS"]:
    ...     (root / code).mkdir(parents=True)
    ...     for i in range(3):
    ...         image = np.full((40, 40, 3), 200, np.uint8)
    ...         tifffile.imwrite(root / code / f"{code}_{i}.tiff", image)
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")  # the 13 missing classes
    ...     data = load_aml_cytomorphology(root.parent, image_size=16,
    ...                                    n_samples_per_class=2, random_state=0)
    >>> data.images.shape, data.target_names.tolist(), sorted(data.target.tolist())
    ((4, 16, 16, 3), ['healthy', 'AML'], [0, 0, 1, 1])
    >>> folder.cleanup()
    """
    root_path = _check_root(root)
    image_size = _check_image_size(image_size)
    if target not in ("binary", "morphology"):
        raise ValueError(f"target must be 'binary' or 'morphology', got {target!r}.")
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
    files, classes = _list_files(dataset_root, wanted, IMAGE_EXTENSIONS, warn_empty=False)
    empty = [code for code in wanted if code not in set(classes)]
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
        aml = [code for code in known if grouping[code] == "AML"]
        dropped = [code for code in known if grouping[code] is None]
        mapping_text = f"AML: {', '.join(aml)}; left out: {', '.join(dropped) or 'none'}; "
        mapping_text += "every other class healthy."
        if len(np.unique(labels)) < 2:
            warnings.warn(
                f"Only the {target_names[labels[0]]!r} class has images in "
                f"{str(dataset_root)!r}: the binary target has a single class.",
                UserWarning,
                stacklevel=2,
            )

    bunch = _read_selection(
        files,
        class_array,
        labels,
        target_names,
        image_size=image_size,
        n_samples_per_class=n_samples_per_class,
        random_state=random_state,
        n_jobs=n_jobs,
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


def _check_root(root: Any) -> Path:
    if not isinstance(root, str | os.PathLike):
        raise TypeError(f"root must be a str or path-like, got {type(root).__name__}.")
    path = Path(root)
    if not path.exists():
        raise FileNotFoundError(f"root folder {str(path)!r} does not exist.")
    if not path.is_dir():
        raise FileNotFoundError(f"root {str(path)!r} is not a folder.")
    return path


def _check_image_size(image_size: Any) -> int:
    if (
        isinstance(image_size, bool)
        or not isinstance(image_size, int | np.integer)
        or image_size < MIN_IMAGE_SIDE
    ):
        raise ValueError(f"image_size must be an int >= {MIN_IMAGE_SIDE}, got {image_size!r}.")
    return int(image_size)


def _check_extensions(extensions: Any) -> set[str]:
    if isinstance(extensions, str):
        extensions = (extensions,)
    try:
        out = {
            str(e).lower() if str(e).startswith(".") else "." + str(e).lower() for e in extensions
        }
    except TypeError:
        raise TypeError(
            f"extensions must be an iterable of strings such as ('.png', '.tif'), got "
            f"{extensions!r}."
        ) from None
    if not out:
        raise ValueError("extensions is empty: give at least one file extension.")
    return out


def _binary_grouping(class_mapping: Mapping[str, str | None] | None) -> dict[str, str | None]:
    grouping: dict[str, str | None] = {
        code: ("AML" if code in AML_CLASSES else "healthy") for code in AML_CYTOMORPHOLOGY_CLASSES
    }
    if class_mapping is None:
        return grouping
    if not isinstance(class_mapping, Mapping):
        raise TypeError(
            f"class_mapping must be a dict from class code to 'AML', 'healthy' or None, got "
            f"{type(class_mapping).__name__}."
        )
    for code, label in class_mapping.items():
        if code not in grouping:
            raise ValueError(
                f"class_mapping has an unknown class code {code!r}; the codes are "
                f"{list(AML_CYTOMORPHOLOGY_CLASSES)}."
            )
        if label not in (*_BINARY_NAMES, None):
            raise ValueError(
                f"class_mapping[{code!r}] must be 'AML', 'healthy' or None, got {label!r}."
            )
        grouping[code] = label
    return grouping


def _class_folders(root: Path) -> list[str]:
    return sorted(
        entry.name for entry in root.iterdir() if entry.is_dir() and not entry.name.startswith(".")
    )


def _find_tcia_root(root: Path) -> Path:
    """``root`` or the first folder up to two levels below it that holds class folders."""
    codes = set(AML_CYTOMORPHOLOGY_CLASSES)
    candidates = [root]
    for _ in range(3):
        next_level: list[Path] = []
        for folder in candidates:
            subfolders = _class_folders(folder)
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
) -> tuple[list[str], list[str]]:
    """Image paths and their class folder, sorted; warns about folders without images."""
    extension_set = {e.lower() for e in extensions}
    files: list[str] = []
    classes: list[str] = []
    empty = []
    for folder in folders:
        found = sorted(
            entry.name
            for entry in (root / folder).iterdir()
            if entry.is_file()
            and not entry.name.startswith(".")
            and entry.suffix.lower() in extension_set
        )
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
    return files, classes


# PIL modes whose pixel values are gray levels or RGB(A) colours as they are
_PIL_DIRECT_MODES = ("1", "L", "RGB", "RGBA", "I;16", "F")


def _read_tiff(path: str) -> np.ndarray:
    """The first image of a TIFF file, with a palette (colour map) applied."""
    import tifffile

    with tifffile.TiffFile(path) as tiff:
        page: Any = tiff.pages[0]
        array = np.asarray(page.asarray())
        colormap = getattr(page, "colormap", None)
        if page.photometric == tifffile.PHOTOMETRIC.PALETTE and colormap is not None:
            # the colour map holds 16-bit RGB entries, one column per palette index
            array = np.asarray(colormap).T[array].astype(np.uint16)
        elif page.photometric == tifffile.PHOTOMETRIC.SEPARATED and array.shape[-1] >= 4:
            # CMYK ink coverage to RGB: each channel is (1 - ink) * (1 - black)
            scale = float(np.iinfo(array.dtype).max) if array.dtype.kind == "u" else 1.0
            ink = array[..., :4].astype(np.float64) / scale
            rgb = (1.0 - ink[..., :3]) * (1.0 - ink[..., 3:4])
            array = np.rint(rgb * scale).astype(array.dtype)
    return array


def _read_one(path: str, image_size: int) -> tuple[np.ndarray | None, str]:
    """Read and resize one image; on failure return ``None`` and the reason."""
    try:
        if path.lower().endswith((".tif", ".tiff")):
            array = _read_tiff(path)
        else:
            from PIL import Image

            # decode from memory: the file is closed even when decoding fails
            with open(path, "rb") as file:
                content = io.BytesIO(file.read())
            with Image.open(content) as image:
                if image.mode not in _PIL_DIRECT_MODES:
                    # palette, CMYK, YCbCr, gray+alpha...: their raw values are not colours
                    alpha = "A" in image.mode or "transparency" in image.info
                    array = np.asarray(image.convert("RGBA" if alpha else "RGB"))
                else:
                    array = np.asarray(image)
        # some TIFFs are stored channel-first; the images here have 1, 3 or 4 channels
        if array.ndim == 3 and array.shape[0] in (3, 4) and array.shape[-1] not in (3, 4):
            array = np.moveaxis(array, 0, -1)
        resized = check_images([array], image_size=image_size, mode="rgb", argument=path)[0]
    # any failure on one file (decoder error, truncated file, odd shape) skips that file
    except Exception as error:
        return None, f"{type(error).__name__}: {error}"
    return np.rint(resized * 255.0).astype(np.uint8), ""


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
) -> Bunch:
    """Subsample (optionally), read the files, and drop the unreadable ones with a warning."""
    paths = np.array(files)
    if n_samples_per_class is not None:
        # sample over the class names so that an error names the class, not its number
        chosen = balanced_indices(
            target_names[labels], n_samples_per_class, random_state=random_state
        )
        paths, classes, labels = paths[chosen], classes[chosen], labels[chosen]

    if n_jobs is None or n_jobs == 1:
        results = [_read_one(str(path), image_size) for path in paths]
    else:
        from joblib import Parallel, delayed

        results = Parallel(n_jobs=n_jobs, prefer="threads")(
            delayed(_read_one)(str(path), image_size) for path in paths
        )

    readable = np.array([image is not None for image, _ in results], dtype=bool)
    skipped = [str(path) for path, ok in zip(paths, readable, strict=True) if not ok]
    for path, (image, reason) in zip(paths, results, strict=True):
        if image is None:
            warnings.warn(
                f"Skipping unreadable image file {str(path)!r} ({reason}); it is listed in "
                "skipped_files.",
                UserWarning,
                stacklevel=3,
            )
    if not readable.any():
        raise ValueError(
            f"None of the {len(paths)} image files could be read; the first failure: "
            f"{paths[0]!r}: {results[0][1]}"
        )
    images = np.stack([image for image, _ in results if image is not None])
    return Bunch(
        images=images,
        target=labels[readable].astype(np.int64),
        class_names=classes[readable],
        filenames=paths[readable],
        skipped_files=skipped,
    )
