"""On-disk cache of resized images: keyed, versioned and checked, so never trusted blindly.

One entry per image folder and image size holds the resized arrays of the files of that
folder read so far, each with the size and modification time the file had when it was
read. An entry is used only if its checksum, its reader version, its folder and its image
size all match; a file's row only while the file keeps its size and modification time.
Anything else (a missing, truncated, corrupt or outdated entry, a changed file) is read
from the image file again, and the entry rewritten, atomically, in the cache folder (never
beside the data).

File format: ``MAGIC``, the length of the JSON header (8 bytes, little-endian), the header,
then the images as raw ``uint8`` rows of ``image_size * image_size * 3`` bytes. The header
holds the CRC-32 of itself (without that field) and of the image bytes.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
import warnings
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from qbloodcell.datasets._reading import READER_VERSION, ReadResult

#: Environment variable naming the cache folder (overrides the platform default).
CACHE_ENV = "QBLOODCELL_CACHE_DIR"

MAGIC = b"qbloodcell resized images\n"
_FORMAT = 1
_HEADER_LENGTH_BYTES = 8


def get_cache_dir() -> Path:
    """The folder where the loaders cache resized images by default.

    ``$QBLOODCELL_CACHE_DIR`` if set, else the user's cache folder: ``$XDG_CACHE_HOME``
    (or ``~/.cache``) on Linux, ``~/Library/Caches`` on macOS, ``%LOCALAPPDATA%`` on
    Windows, each followed by ``qbloodcell``. The folder is created when first written.

    Returns
    -------
    path : pathlib.Path
        The cache folder.

    Examples
    --------
    >>> import os
    >>> from qbloodcell.datasets import get_cache_dir
    >>> os.environ["QBLOODCELL_CACHE_DIR"] = "/tmp/my-cache"
    >>> str(get_cache_dir())
    '/tmp/my-cache'
    >>> del os.environ["QBLOODCELL_CACHE_DIR"]
    """
    chosen = os.environ.get(CACHE_ENV)
    if chosen:
        return Path(chosen).expanduser()
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(base) / "qbloodcell" / "Cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "qbloodcell"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "qbloodcell"


def clear_cache(cache: str | os.PathLike[str] | None = None) -> None:
    """Delete the resized images cached by the loaders.

    Parameters
    ----------
    cache : str, path-like or None, default=None
        The cache folder given to the loaders as ``cache=``; ``None``: the default one,
        :func:`get_cache_dir`. Only what the loaders wrote there is deleted.

    Examples
    --------
    >>> import tempfile
    >>> from qbloodcell.datasets import clear_cache
    >>> clear_cache(tempfile.mkdtemp())  # nothing cached there: nothing to do
    """
    folder = _entries_root(get_cache_dir() if cache is None else Path(cache))
    shutil.rmtree(folder, ignore_errors=True)


def _entries_root(cache_dir: Path) -> Path:
    return cache_dir / "resized-images"


def entry_path(cache_dir: Path, folder: str, image_size: int) -> Path:
    """Where the entry of ``folder`` (an absolute path) at ``image_size`` lives."""
    key = hashlib.blake2b(f"{folder}\0{image_size}".encode(), digest_size=16).hexdigest()
    return _entries_root(cache_dir) / f"v{READER_VERSION}" / f"{key}.bin"


@dataclass
class _Entry:
    """The cached rows of one folder: file name -> (size, mtime in ns, row of ``images``)."""

    rows: dict[str, tuple[int, int, int]]
    images: np.ndarray


def read_through_cache(
    paths: Sequence[str],
    image_size: int,
    cache_dir: Path | None,
    read: Callable[[list[str]], list[ReadResult]],
) -> tuple[np.ndarray, list[str]]:
    """Resized images of ``paths``, from the cache where valid, else by ``read(paths)``.

    Returns ``(images, reasons)``: ``images[i]`` is the image of ``paths[i]`` where
    ``reasons[i]`` is empty, else that file could not be read for that reason (its row
    is left zero). With ``cache_dir=None`` every file is read.
    """
    images = np.zeros((len(paths), image_size, image_size, 3), dtype=np.uint8)
    reasons = [""] * len(paths)
    if cache_dir is None:
        _store(read(list(paths)), range(len(paths)), images, reasons)
        return images, reasons

    by_folder: dict[str, list[int]] = {}
    for position, path in enumerate(paths):
        by_folder.setdefault(os.path.dirname(os.path.abspath(path)), []).append(position)
    entries: dict[str, _Entry] = {}
    stamps: dict[int, tuple[int, int]] = {}
    missing: list[int] = []
    for folder, positions in by_folder.items():
        entry = _load_entry(entry_path(cache_dir, folder, image_size), folder, image_size)
        entries[folder] = entry
        for position in positions:
            try:
                status = os.stat(paths[position])
            except OSError as error:
                reasons[position] = f"{type(error).__name__}: {error}"
                continue
            # the stamp is taken before reading: a file changed meanwhile is read again
            stamps[position] = (status.st_size, status.st_mtime_ns)
            row = entry.rows.get(os.path.basename(paths[position]))
            if row is not None and row[:2] == stamps[position]:
                images[position] = entry.images[row[2]]
            else:
                missing.append(position)
    if not missing:
        return images, reasons

    _store(read([paths[p] for p in missing]), missing, images, reasons)
    was_missing = set(missing)
    for folder, positions in by_folder.items():
        fresh = [p for p in positions if p in was_missing and not reasons[p]]
        if not fresh:
            continue
        try:
            _update_entry(
                cache_dir, folder, image_size, entries[folder], fresh, paths, stamps, images
            )
        except OSError as error:
            # once per load, not once per folder: the other folders would fail alike
            _warn(
                f"cannot write the image cache in {str(cache_dir)!r} ({error}); the images "
                "were loaded but will be read again next time. Choose another folder with "
                f"cache=PATH or ${CACHE_ENV}, or pass cache=False."
            )
            break
    return images, reasons


def _store(
    results: list[ReadResult], positions: Any, images: np.ndarray, reasons: list[str]
) -> None:
    for position, (image, reason) in zip(positions, results, strict=True):
        if image is None:
            reasons[position] = reason
        else:
            images[position] = image


def _load_entry(path: Path, folder: str, image_size: int) -> _Entry:
    """The entry at ``path``, or an empty one if it is absent or cannot be trusted."""
    empty = _Entry({}, np.zeros((0, image_size, image_size, 3), dtype=np.uint8))
    try:
        with open(path, "rb") as file:
            return _parse(file, folder, image_size)
    except (FileNotFoundError, NotADirectoryError):
        return empty
    # whatever is wrong with an entry (unreadable, truncated, altered, another version's
    # layout), the images are read again: a cache never fails a load
    except Exception as error:
        _warn(
            f"the image cache entry {str(path)!r} cannot be used ({type(error).__name__}: "
            f"{error}); the images are read again and the entry rebuilt.",
            depth=1,
        )
        return empty


def _parse(file: Any, folder: str, image_size: int) -> _Entry:
    if file.read(len(MAGIC)) != MAGIC:
        raise ValueError("not a qbloodcell cache file")
    length = int.from_bytes(file.read(_HEADER_LENGTH_BYTES), "little")
    if length <= 0 or length > 1 << 30:
        raise ValueError("bad header length")
    header_bytes = file.read(length)
    header = json.loads(header_bytes)
    expected = {"format": _FORMAT, "reader_version": READER_VERSION, "folder": folder}
    expected["image_size"] = image_size
    for name, value in expected.items():
        if header[name] != value:
            # a valid entry of another version or key: a collision or an old cache
            raise ValueError(f"{name} is {header[name]!r}, expected {value!r}")
    files = header["files"]
    images = np.empty((len(files), image_size, image_size, 3), dtype=np.uint8)
    if file.readinto(images.data.cast("B")) != images.nbytes or file.read(1):
        raise ValueError("the image data has the wrong length")
    checksum = header.pop("checksum")
    if checksum != _checksum(_header_bytes(header), images):
        raise ValueError("checksum mismatch")
    rows = {name: (int(size), int(mtime), index) for index, (name, size, mtime) in enumerate(files)}
    return _Entry(rows, images)


def _header_bytes(header: dict[str, Any]) -> bytes:
    return json.dumps(header, sort_keys=True, separators=(",", ":")).encode()


def _checksum(header_bytes: bytes, images: np.ndarray) -> int:
    return zlib.crc32(images.data.cast("B"), zlib.crc32(header_bytes))


def _update_entry(
    cache_dir: Path,
    folder: str,
    image_size: int,
    entry: _Entry,
    fresh: list[int],
    paths: Sequence[str],
    stamps: dict[int, tuple[int, int]],
    images: np.ndarray,
) -> None:
    """Write the entry with the ``fresh`` rows added (replacing older rows of those files).

    Raises OSError when the cache folder cannot be written.
    """
    replaced = {os.path.basename(paths[p]) for p in fresh}
    kept = []
    for name, (size, mtime, row) in entry.rows.items():
        if name in replaced:
            continue
        try:
            status = os.stat(os.path.join(folder, name))
        except OSError:
            continue  # the file is gone: its row is dropped
        if (status.st_size, status.st_mtime_ns) == (size, mtime):
            kept.append((name, size, mtime, row))
    files = [[name, size, mtime] for name, size, mtime, _ in kept]
    files += [[os.path.basename(paths[p]), *stamps[p]] for p in fresh]
    data = images[fresh]
    if kept:
        data = np.concatenate([entry.images[[row for *_, row in kept]], data])
    header: dict[str, Any] = {
        "format": _FORMAT,
        "reader_version": READER_VERSION,
        "folder": folder,
        "image_size": image_size,
        "files": files,
    }
    header["checksum"] = _checksum(_header_bytes(header), data)
    header_bytes = json.dumps(header).encode()
    target = entry_path(cache_dir, folder, image_size)
    target.parent.mkdir(parents=True, exist_ok=True)
    # written beside the target and renamed over it: readers see the old entry or the new
    # one, never half of one
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(MAGIC)
            file.write(len(header_bytes).to_bytes(_HEADER_LENGTH_BYTES, "little"))
            file.write(header_bytes)
            file.write(data.data.cast("B"))
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _warn(message: str, *, depth: int = 0) -> None:
    # up to the loader's caller: _warn, read_through_cache, _read_selection, the loader
    warnings.warn(message, UserWarning, stacklevel=5 + depth)
