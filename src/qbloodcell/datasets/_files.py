"""Folders and files of a dataset tree: listing, layout detection, reading a selection.

Files are listed (and, with ``n_samples_per_class``, subsampled) before any image is read,
so that a small balanced subset of a large collection costs only the files it contains.
Images are decoded and resized by :mod:`qbloodcell.datasets._reading`, in threads, and kept
in the on-disk cache of :mod:`qbloodcell.datasets._cache`.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.utils import Bunch

from qbloodcell._validation import Spec
from qbloodcell.datasets._cache import get_cache_dir, read_through_cache
from qbloodcell.datasets._classes import AML_CYTOMORPHOLOGY_CLASSES
from qbloodcell.datasets._reading import ReadResult, read_many
from qbloodcell.datasets._sampling import balanced_indices

#: File extensions read by default (compared case-insensitively).
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")


class Extensions(Spec):
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


def existing_folder(root: str | os.PathLike[str]) -> Path:
    path = Path(root)
    if not path.exists():
        raise FileNotFoundError(f"root folder {str(path)!r} does not exist.")
    if not path.is_dir():
        raise FileNotFoundError(f"root {str(path)!r} is not a folder.")
    return path


def normalise_extensions(extensions: str | Iterable[str]) -> set[str]:
    values = [extensions] if isinstance(extensions, str) else list(extensions)
    return {"." + value.lower().lstrip(".") for value in values}


def class_folders(root: Path) -> list[str]:
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


def find_tcia_root(root: Path) -> Path:
    """``root`` or the first folder up to two levels below it that holds class folders."""
    codes = set(AML_CYTOMORPHOLOGY_CLASSES)
    candidates = [root]
    for _ in range(3):
        next_level: list[Path] = []
        for folder in candidates:
            try:
                subfolders = class_folders(folder)
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


def list_files(
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


def detect_layout(root: Path) -> tuple[str, Path]:
    """``("tcia", folder)`` or ``("folder", folder)``: how ``load_class_tree`` reads ``root``.

    The TCIA layout needs a folder (``root`` or up to two levels below) whose sub-folders
    are all class codes; a tree with other folders beside the codes is read as a folder
    tree, so that no folder is silently ignored.
    """
    try:
        level = find_tcia_root(root)
    except FileNotFoundError:
        return "folder", root
    if set(class_folders(level)) <= set(AML_CYTOMORPHOLOGY_CLASSES):
        return "tcia", level
    return "folder", level


def read_selection(
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
    """Subsample (optionally), read the files, and drop the unreadable ones with a warning.

    With ``n_samples_per_class``, an unreadable file of the drawn subset is replaced by
    another file of its class (drawn at random from the files not yet chosen), so that
    the subset stays balanced; a class without enough readable files raises ValueError.
    """
    paths = np.array(files)
    all_paths, all_classes, all_labels = paths, classes, labels
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
    if n_samples_per_class is not None and any(reasons):
        failed = [str(path) for path, reason in zip(paths, reasons, strict=True) if reason]
        _warn_unreadable(paths, reasons)
        images, reasons, paths, classes, labels = _replace_unreadable(
            (images, reasons, paths, classes, labels),
            chosen,
            (all_paths, all_classes, all_labels),
            target_names,
            random_state,
            lambda selected: read_through_cache(selected, image_size, cache_dir, read),
        )
        unreadable_folders = [*unreadable_folders, *failed]
    else:
        _warn_unreadable(paths, reasons)

    readable = np.array([not reason for reason in reasons], dtype=bool)
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


def _warn_unreadable(paths: np.ndarray, reasons: list[str]) -> None:
    for path, reason in zip(paths, reasons, strict=True):
        if reason:
            warnings.warn(
                f"Skipping unreadable image file {str(path)!r} ({reason}); it is listed in "
                "skipped_files.",
                UserWarning,
                stacklevel=4,
            )


def _replace_unreadable(
    selection: tuple[np.ndarray, list[str], np.ndarray, np.ndarray, np.ndarray],
    chosen: np.ndarray,
    pool: tuple[np.ndarray, np.ndarray, np.ndarray],
    target_names: np.ndarray,
    random_state: Any,
    read: Any,
) -> tuple[np.ndarray, list[str], np.ndarray, np.ndarray, np.ndarray]:
    """Put a readable file of the same class in place of each unreadable one, in place."""
    images, reasons, paths, classes, labels = selection
    pool_paths, pool_classes, pool_labels = pool
    reasons = list(reasons)
    # object arrays: a replacement path may be longer than the one it replaces
    paths, classes = paths.astype(object), classes.astype(object)
    rng = np.random.default_rng(np.random.SeedSequence(_seed_entropy(random_state)))
    taken = np.zeros(pool_paths.shape[0], dtype=bool)
    taken[chosen] = True
    # the files of each class not drawn, in a random order: the replacements, in turn
    reserve = {
        label: list(rng.permutation(np.flatnonzero((pool_labels == label) & ~taken)))
        for label in np.unique(labels)
    }
    while True:
        slots = [i for i, reason in enumerate(reasons) if reason]
        if not slots:
            break
        picks = []
        for i in slots:
            if not reserve[labels[i]]:
                n_class = int(np.sum(pool_labels == labels[i]))
                n_wanted = int(np.sum(labels == labels[i]))
                raise ValueError(
                    f"Class {str(target_names[labels[i]])!r} has fewer than {n_wanted} readable "
                    f"images among its {n_class} files (each unreadable one was warned "
                    "about): choose a smaller n_samples_per_class or fix those files."
                )
            picks.append((i, int(reserve[labels[i]].pop(0))))
        new_images, new_reasons = read([str(pool_paths[j]) for _, j in picks])
        for (i, j), image, reason in zip(picks, new_images, new_reasons, strict=True):
            paths[i], classes[i], labels[i] = pool_paths[j], pool_classes[j], pool_labels[j]
            images[i], reasons[i] = image, reason
        _warn_unreadable(paths[[i for i, _ in picks]], [reasons[i] for i, _ in picks])
    return images, reasons, np.array(paths.tolist()), np.array(classes.tolist()), labels


def _seed_entropy(random_state: Any) -> int:
    """An integer seed from ``random_state`` (drawn from it when it is a generator)."""
    if random_state is None:
        return int(np.random.SeedSequence().entropy)  # type: ignore[arg-type]
    if isinstance(random_state, (int, np.integer)):
        return int(random_state)
    return int(random_state.randint(2**31))
