"""The on-disk cache of resized images: hits, stale files, corrupt entries, other versions."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pytest
import tifffile

import qbloodcell.datasets._cache as cache_module
import qbloodcell.datasets._reading as reading
from qbloodcell.datasets import clear_cache, get_cache_dir, load_image_folder


def _write(path: Path, value: int, size: int = 24) -> None:
    tifffile.imwrite(path, np.full((size, size, 3), value, dtype=np.uint8))


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / "data"
    for name, value in [("a", 30), ("b", 200)]:
        (root / name).mkdir(parents=True)
        for i in range(3):
            _write(root / name / f"{i}.tif", value + i)
    return root


@pytest.fixture
def reads(monkeypatch):
    """The paths of the image files actually decoded, in a list."""
    seen: list[str] = []
    original = reading.read_resized

    def counting(path, image_size):
        seen.append(path)
        return original(path, image_size)

    monkeypatch.setattr(reading, "read_resized", counting)
    return seen


def _entries(cache_dir: Path) -> list[Path]:
    return sorted(cache_dir.rglob("*.bin"))


def _load(root, cache_dir, **kwargs):
    return load_image_folder(root, image_size=16, cache=cache_dir, **kwargs)


def test_second_load_reads_no_file(tree, tmp_path, reads):
    cache_dir = tmp_path / "cache"
    first = _load(tree, cache_dir)
    assert len(reads) == 6
    assert len(_entries(cache_dir)) == 2  # one per class folder
    reads.clear()
    second = _load(tree, cache_dir)
    assert reads == []
    np.testing.assert_array_equal(first.images, second.images)
    np.testing.assert_array_equal(first.filenames, second.filenames)
    uncached = _load(tree, False)
    np.testing.assert_array_equal(first.images, uncached.images)


def test_nothing_is_written_beside_the_data(tree, tmp_path):
    before = sorted(p.relative_to(tree) for p in tree.rglob("*"))
    _load(tree, tmp_path / "cache")
    _load(tree, True)  # the default folder, a temporary one in the tests
    assert sorted(p.relative_to(tree) for p in tree.rglob("*")) == before


def test_default_folder_follows_the_environment(tree, tmp_path, monkeypatch, reads):
    chosen = tmp_path / "env-cache"
    monkeypatch.setenv(cache_module.CACHE_ENV, str(chosen))
    assert get_cache_dir() == chosen
    load_image_folder(tree, image_size=16)
    assert len(_entries(chosen)) == 2
    reads.clear()
    load_image_folder(tree, image_size=16)
    assert reads == []
    clear_cache()
    assert _entries(chosen) == []


def test_platform_default_without_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv(cache_module.CACHE_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(cache_module.sys, "platform", "linux")
    assert get_cache_dir() == tmp_path / "qbloodcell"
    monkeypatch.setattr(cache_module.sys, "platform", "darwin")
    assert get_cache_dir() == Path.home() / "Library" / "Caches" / "qbloodcell"


def test_cache_false_writes_nothing(tree, tmp_path, monkeypatch, reads):
    monkeypatch.setenv(cache_module.CACHE_ENV, str(tmp_path / "unused"))
    _load(tree, False)
    _load(tree, False)
    assert len(reads) == 12
    assert not (tmp_path / "unused").exists()


def test_changed_file_is_read_again(tree, tmp_path, reads):
    cache_dir = tmp_path / "cache"
    _load(tree, cache_dir)
    changed = tree / "a" / "1.tif"
    _write(changed, 99)
    # a new modification time even where the clock is coarse
    stat = changed.stat()
    os.utime(changed, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    reads.clear()
    data = _load(tree, cache_dir)
    assert reads == [str(changed)]
    index = data.filenames.tolist().index(str(changed))
    assert np.all(data.images[index] == 99)
    reads.clear()
    again = _load(tree, cache_dir)
    assert reads == []  # the entry was rewritten with the new image
    np.testing.assert_array_equal(again.images, data.images)


def test_same_mtime_other_size_is_read_again(tree, tmp_path, reads):
    cache_dir = tmp_path / "cache"
    _load(tree, cache_dir)
    changed = tree / "b" / "0.tif"
    stat = changed.stat()
    _write(changed, 7, size=32)  # another file size
    os.utime(changed, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    reads.clear()
    data = _load(tree, cache_dir)
    assert reads == [str(changed)]
    assert np.all(data.images[data.filenames.tolist().index(str(changed))] == 7)


@pytest.mark.parametrize(
    "damage",
    ["flip_image_byte", "flip_header_byte", "truncate", "empty", "garbage", "extra_bytes"],
)
def test_corrupt_entry_is_rebuilt_not_trusted(tree, tmp_path, reads, damage):
    cache_dir = tmp_path / "cache"
    fresh = _load(tree, cache_dir)
    entry = cache_module.entry_path(cache_dir, str(tree / "a"), 16)
    content = bytearray(entry.read_bytes())
    if damage == "flip_image_byte":
        content[-5] ^= 0xFF
    elif damage == "flip_header_byte":
        position = content.index(b'"files"') + 12  # inside the listed names or stamps
        content[position] ^= 0x01
    elif damage == "truncate":
        content = content[: len(content) // 2]
    elif damage == "empty":
        content = bytearray()
    elif damage == "garbage":
        content = bytearray(b"not a cache file at all")
    else:
        content += b"\0"
    entry.write_bytes(bytes(content))
    reads.clear()
    with pytest.warns(UserWarning, match="cache entry .* cannot be used"):
        data = _load(tree, cache_dir)
    assert sorted(reads) == sorted(str(tree / "a" / f"{i}.tif") for i in range(3))
    np.testing.assert_array_equal(data.images, fresh.images)
    reads.clear()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _load(tree, cache_dir)  # rebuilt: no warning, nothing read
    assert reads == []


def test_entry_of_another_loader_version_is_not_used(tree, tmp_path, reads, monkeypatch):
    cache_dir = tmp_path / "cache"
    _load(tree, cache_dir)
    monkeypatch.setattr(cache_module, "READER_VERSION", cache_module.READER_VERSION + 1)
    reads.clear()
    _load(tree, cache_dir)
    assert len(reads) == 6
    assert len(_entries(cache_dir)) == 4  # the new version's entries beside the old


def test_entry_moved_to_another_key_is_not_used(tree, tmp_path, reads):
    """A valid entry of another folder (a key collision, a copied cache) is rejected."""
    cache_dir = tmp_path / "cache"
    _load(tree, cache_dir)
    entry_a = cache_module.entry_path(cache_dir, str(tree / "a"), 16)
    entry_b = cache_module.entry_path(cache_dir, str(tree / "b"), 16)
    entry_b.write_bytes(entry_a.read_bytes())
    reads.clear()
    with pytest.warns(UserWarning, match="folder is"):
        data = _load(tree, cache_dir)
    assert len(reads) == 3
    assert np.all(data.images[data.class_names == "b"] >= 200)


def test_image_sizes_are_cached_apart(tree, tmp_path, reads):
    cache_dir = tmp_path / "cache"
    small = load_image_folder(tree, image_size=8, cache=cache_dir)
    large = load_image_folder(tree, image_size=16, cache=cache_dir)
    assert small.images.shape[1:] == (8, 8, 3)
    assert large.images.shape[1:] == (16, 16, 3)
    reads.clear()
    load_image_folder(tree, image_size=8, cache=cache_dir)
    load_image_folder(tree, image_size=16, cache=cache_dir)
    assert reads == []


def test_subsets_fill_the_entry(tree, tmp_path, reads):
    cache_dir = tmp_path / "cache"
    first = _load(tree, cache_dir, n_samples_per_class=1, random_state=0)
    assert len(reads) == 2
    reads.clear()
    _load(tree, cache_dir)
    assert sorted(reads) == sorted(
        {str(p) for p in tree.rglob("*.tif")} - set(first.filenames.tolist())
    )
    reads.clear()
    _load(tree, cache_dir, n_samples_per_class=2, random_state=1)
    assert reads == []


def test_deleted_file_is_dropped_from_the_entry(tree, tmp_path, reads):
    cache_dir = tmp_path / "cache"
    _load(tree, cache_dir)
    (tree / "a" / "0.tif").unlink()
    _write(tree / "a" / "new.tif", 77)
    reads.clear()
    data = _load(tree, cache_dir)
    assert reads == [str(tree / "a" / "new.tif")]
    assert str(tree / "a" / "0.tif") not in data.filenames.tolist()
    entry = cache_module.entry_path(cache_dir, str(tree / "a"), 16)
    assert b'"0.tif"' not in entry.read_bytes()


def test_unreadable_files_are_not_cached(tree, tmp_path, reads):
    cache_dir = tmp_path / "cache"
    (tree / "a" / "bad.tif").write_bytes(b"not a tiff")
    for _ in range(2):
        reads.clear()
        with pytest.warns(UserWarning, match="bad.tif"):
            data = _load(tree, cache_dir)
        assert data.skipped_files == [str(tree / "a" / "bad.tif")]
    assert reads == [str(tree / "a" / "bad.tif")]  # tried again, the others cached


def test_unwritable_cache_warns_and_loads(tree, tmp_path):
    blocked = tmp_path / "a-file"
    blocked.write_text("the cache folder cannot be created here")
    with pytest.warns(UserWarning, match="cannot write the image cache.*cache=False"):
        data = _load(tree, blocked)
    assert data.images.shape == (6, 16, 16, 3)
