"""Tests of load_aml_cytomorphology and load_image_folder on tiny fake image trees."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import tifffile
from skimage.io import imsave

import qbloodcell.datasets._loaders as loaders
import qbloodcell.datasets._reading as reading
from qbloodcell.datasets import (
    AML_CLASSES,
    AML_CYTOMORPHOLOGY_CLASSES,
    CLASS_MAPPINGS,
    STUDY_HEALTHY_CLASSES,
    load_aml_cytomorphology,
    load_image_folder,
)

# a value per class, so that each image tells which class folder it came from
CLASS_VALUE = {"MYO": 40, "NGS": 120, "LYT": 200, "PMO": 80}
COUNTS = {"MYO": 4, "NGS": 5, "LYT": 3, "PMO": 2}


def _write_tiff(path: Path, value: int, *, rgba: bool = True, size: int = 24) -> None:
    channels = 4 if rgba else 3
    image = np.full((size, size, channels), value, dtype=np.uint8)
    if rgba:
        image[..., 3] = 255
    tifffile.imwrite(path, image)


@pytest.fixture
def tcia_tree(tmp_path):
    """A miniature TCIA download: nested top folder, 4 classes, an empty class, a bad file."""
    root = tmp_path / "download" / "AML-Cytomorphology_LMU"
    for code, count in COUNTS.items():
        (root / code).mkdir(parents=True)
        for i in range(count):
            _write_tiff(root / code / f"{code}_{i:04d}.tiff", CLASS_VALUE[code])
    (root / "MOB").mkdir()  # a class folder with no image
    (root / "LYT" / "LYT_corrupt.tiff").write_bytes(b"this is not a tiff")
    (root / "NGS" / "notes.txt").write_text("ignored: not an image extension")
    (root / "NGS" / ".hidden.tiff").write_bytes(b"ignored: hidden")
    return tmp_path / "download"


def _call_recording_warnings(function, *args, **kwargs):
    """Call ``function`` and return its result and the text of all warnings it raised."""
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        result = function(*args, **kwargs)
    assert all(issubclass(w.category, UserWarning) for w in record)
    return result, " | ".join(str(w.message) for w in record)


def _load_quietly(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return load_aml_cytomorphology(*args, **kwargs)


def test_class_table_matches_published_counts():
    assert len(AML_CYTOMORPHOLOGY_CLASSES) == 15
    assert sum(count for _, count in AML_CYTOMORPHOLOGY_CLASSES.values()) == 18365
    assert AML_CYTOMORPHOLOGY_CLASSES["MYO"] == ("myeloblast", 3268)
    assert set(AML_CLASSES) == {"MYO", "MOB", "PMO", "PMB"}
    assert sum(AML_CYTOMORPHOLOGY_CLASSES[c][1] for c in AML_CLASSES) == 3382


def test_binary_load_warns_and_lists_skipped(tcia_tree):
    data, messages = _call_recording_warnings(load_aml_cytomorphology, tcia_tree, image_size=16)
    assert "LYT_corrupt.tiff" in messages
    assert "MOB (monoblast)" in messages  # empty folder named
    assert "EOS (eosinophil)" in messages  # missing folder named
    assert data.skipped_files == [
        str(tcia_tree / "AML-Cytomorphology_LMU" / "LYT" / "LYT_corrupt.tiff")
    ]
    assert data.images.shape == (14, 16, 16, 3)
    assert data.images.dtype == np.uint8
    assert data.target_names.tolist() == ["healthy", "AML"]
    assert data.target.dtype == np.int64
    # MYO and PMO are AML, NGS and LYT healthy
    expected = np.isin(data.class_names, ["MYO", "PMO"]).astype(int)
    np.testing.assert_array_equal(data.target, expected)
    assert np.bincount(data.target).tolist() == [8, 6]
    # each image holds the value of its own class folder
    for image, code, filename in zip(data.images, data.class_names, data.filenames, strict=True):
        assert Path(filename).parent.name == code
        assert np.all(np.abs(image.astype(int) - CLASS_VALUE[code]) <= 1)
    assert "MYO" in data.DESCR


def test_root_at_class_level_gives_same_result(tcia_tree):
    nested = _load_quietly(tcia_tree, image_size=16)
    direct = _load_quietly(tcia_tree / "AML-Cytomorphology_LMU", image_size=16)
    np.testing.assert_array_equal(nested.images, direct.images)
    np.testing.assert_array_equal(nested.filenames, direct.filenames)


def test_morphology_target_keeps_classes(tcia_tree):
    data = _load_quietly(tcia_tree, image_size=16, target="morphology")
    assert data.target_names.tolist() == list(AML_CYTOMORPHOLOGY_CLASSES)
    np.testing.assert_array_equal(data.target_names[data.target], data.class_names)
    counts = {code: int(np.sum(data.class_names == code)) for code in COUNTS}
    assert counts == {"MYO": 4, "NGS": 5, "LYT": 3, "PMO": 2}


def test_class_mapping_moves_and_drops(tcia_tree):
    data = _load_quietly(tcia_tree, image_size=16, class_mapping={"PMO": None, "LYT": "AML"})
    assert "PMO" not in set(data.class_names.tolist())
    np.testing.assert_array_equal(data.target == 1, np.isin(data.class_names, ["MYO", "LYT"]))


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"class_mapping": {"XYZ": "AML"}}, ValueError, "unknown class code 'XYZ'"),
        ({"class_mapping": {"MYO": "blast"}}, ValueError, r"class_mapping\['MYO'\] must be"),
        ({"class_mapping": ["MYO"]}, TypeError, "class_mapping must be None, one of"),
        ({"class_mapping": "blasts"}, ValueError, r"class_mapping must be .*\['blast', 'study'\]"),
        (
            {"class_mapping": {"MYO": "AML"}, "target": "morphology"},
            ValueError,
            "only applies to target='binary'",
        ),
        (
            {"class_mapping": "study", "target": "morphology"},
            ValueError,
            "only applies to target='binary'",
        ),
        ({"target": "cells"}, ValueError, r"target must be one of \['binary', 'morphology'\]"),
        ({"target": 1}, TypeError, "target must be one of"),
        ({"image_size": 2}, ValueError, "image_size must be an integer >= 8; got 2"),
        ({"image_size": 16.0}, TypeError, "image_size must be an integer >= 8"),
        ({"n_jobs": 0}, ValueError, "n_jobs must be a non-zero integer"),
        ({"n_jobs": 1.5}, TypeError, "n_jobs must be"),
        ({"n_samples_per_class": 0}, ValueError, "n_samples_per_class must be an integer >= 1"),
        ({"random_state": -1}, ValueError, "random_state must be"),
        ({"cache": 3}, TypeError, "cache must be True or False or a str or path-like"),
        ({"progress": "yes"}, TypeError, "progress must be True or False"),
        ({"return_X_y": 1}, TypeError, "return_X_y must be True or False"),
    ],
)
def test_bad_arguments(tcia_tree, kwargs, error, match):
    with pytest.raises(error, match=match):
        load_aml_cytomorphology(tcia_tree, **kwargs)


def test_subset_reads_only_chosen_files(tcia_tree, monkeypatch):
    read = []
    original = reading.read_resized

    def counting_read(path, image_size):
        read.append(path)
        return original(path, image_size)

    monkeypatch.setattr(reading, "read_resized", counting_read)
    data = _load_quietly(tcia_tree, image_size=16, n_samples_per_class=2, random_state=0)
    assert len(read) == 4
    assert sorted(read) == sorted(data.filenames.tolist() + data.skipped_files)
    assert np.bincount(data.target, minlength=2).sum() + len(data.skipped_files) == 4


def test_subset_is_balanced_and_deterministic(tcia_tree):
    (tcia_tree / "AML-Cytomorphology_LMU" / "LYT" / "LYT_corrupt.tiff").unlink()
    a = _load_quietly(tcia_tree, image_size=16, n_samples_per_class=3, random_state=7)
    b = _load_quietly(tcia_tree, image_size=16, n_samples_per_class=3, random_state=7)
    assert np.bincount(a.target).tolist() == [3, 3]
    np.testing.assert_array_equal(a.filenames, b.filenames)
    np.testing.assert_array_equal(a.images, b.images)


def test_subset_too_large_names_class(tcia_tree):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        with pytest.raises(ValueError, match=r"'PMO' has 2"):
            load_aml_cytomorphology(tcia_tree, target="morphology", n_samples_per_class=3)


def test_parallel_reading_gives_same_result(tcia_tree):
    serial = _load_quietly(tcia_tree, image_size=16, n_jobs=1, cache=False)
    parallel = _load_quietly(tcia_tree, image_size=16, n_jobs=2, cache=False)
    np.testing.assert_array_equal(serial.images, parallel.images)
    np.testing.assert_array_equal(serial.filenames, parallel.filenames)
    assert serial.skipped_files == parallel.skipped_files


def test_return_X_y(tcia_tree):
    images, target = _load_quietly(tcia_tree, image_size=16, return_X_y=True)
    assert images.shape == (14, 16, 16, 3)
    assert target.shape == (14,)


def test_missing_root_and_no_class_folders(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_aml_cytomorphology(tmp_path / "nowhere")
    (tmp_path / "random_folder").mkdir()
    with pytest.raises(FileNotFoundError, match="No AML-Cytomorphology_LMU class folder"):
        load_aml_cytomorphology(tmp_path)
    file = tmp_path / "file.txt"
    file.write_text("x")
    with pytest.raises(FileNotFoundError, match="is not a folder"):
        load_aml_cytomorphology(file)
    with pytest.raises(TypeError, match="root must be a str or path-like; got 42"):
        load_aml_cytomorphology(42)
    with pytest.raises(TypeError, match="root must be a str or path-like"):
        load_image_folder(None)


def test_only_empty_class_folders_raise(tmp_path):
    (tmp_path / "MYO").mkdir()
    with pytest.warns(UserWarning, match="MYO"), pytest.raises(ValueError, match="No images"):
        load_aml_cytomorphology(tmp_path)


def test_all_files_unreadable_raise(tmp_path):
    (tmp_path / "MYO").mkdir()
    (tmp_path / "MYO" / "bad.tiff").write_bytes(b"garbage")
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        with pytest.raises(ValueError, match=r"None of the 1 image.*bad\.tiff"):
            load_aml_cytomorphology(tmp_path)
    assert any("bad.tiff" in str(w.message) for w in record)


def test_unknown_folder_is_ignored_with_warning(tcia_tree):
    extra = tcia_tree / "AML-Cytomorphology_LMU" / "XYZ"
    extra.mkdir()
    _write_tiff(extra / "x.tiff", 10)
    data, messages = _call_recording_warnings(load_aml_cytomorphology, tcia_tree, image_size=16)
    assert "not AML-Cytomorphology_LMU classes" in messages
    assert "['XYZ']" in messages
    assert "XYZ" not in set(data.class_names.tolist())


def test_single_binary_class_warns(tmp_path):
    (tmp_path / "NGS").mkdir()
    _write_tiff(tmp_path / "NGS" / "a.tiff", 100)
    data, messages = _call_recording_warnings(load_aml_cytomorphology, tmp_path, image_size=16)
    assert "the binary target has a single class" in messages
    assert data.target.tolist() == [0]


# --- load_image_folder ---------------------------------------------------------------


@pytest.fixture
def folder_tree(tmp_path):
    root = tmp_path / "images"
    (root / "b_cells").mkdir(parents=True)
    (root / "a_cells").mkdir()
    (root / "empty").mkdir()
    imsave(root / "a_cells" / "one.png", np.full((20, 30, 3), 50, np.uint8), check_contrast=False)
    imsave(root / "a_cells" / "two.bmp", np.full((20, 20, 3), 60, np.uint8), check_contrast=False)
    # a grayscale uint16 TIFF is repeated over the three channels
    tifffile.imwrite(root / "b_cells" / "gray.tif", np.full((32, 32), 65535, np.uint16))
    imsave(
        root / "b_cells" / "photo.jpg", np.full((24, 24, 3), 128, np.uint8), check_contrast=False
    )
    (root / "b_cells" / "readme.md").write_text("not an image")
    return root


def test_image_folder_reads_all_formats(folder_tree):
    with pytest.warns(UserWarning, match=r"without images.*'empty'"):
        data = load_image_folder(folder_tree, image_size=12)
    assert data.target_names.tolist() == ["a_cells", "b_cells"]
    assert data.images.shape == (4, 12, 12, 3)
    assert data.target.tolist() == [0, 0, 1, 1]
    names = [Path(f).name for f in data.filenames]
    assert names == ["one.png", "two.bmp", "gray.tif", "photo.jpg"]
    assert np.all(data.images[names.index("gray.tif")] == 255)
    assert np.all(np.abs(data.images[names.index("photo.jpg")].astype(int) - 128) <= 3)
    assert data.skipped_files == []
    np.testing.assert_array_equal(data.class_names, data.target_names[data.target])


def test_image_folder_extensions(folder_tree):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        data = load_image_folder(folder_tree, image_size=12, extensions=["PNG", ".tif"])
    assert sorted(Path(f).name for f in data.filenames) == ["gray.tif", "one.png"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        only_jpeg = load_image_folder(folder_tree, image_size=12, extensions="jpg")
    assert [Path(f).name for f in only_jpeg.filenames] == ["photo.jpg"]
    with pytest.raises(ValueError, match="extensions must be a file extension or a non-empty"):
        load_image_folder(folder_tree, extensions=[])
    with pytest.raises(ValueError, match="extensions must be"):
        load_image_folder(folder_tree, extensions=["."])
    with pytest.raises(TypeError, match="extensions must be"):
        load_image_folder(folder_tree, extensions=3)
    with pytest.raises(TypeError, match="extensions must be"):
        load_image_folder(folder_tree, extensions=[".png", 3])


def test_image_folder_corrupt_file_listed(folder_tree):
    (folder_tree / "a_cells" / "broken.png").write_bytes(b"\x89PNG broken")
    data, messages = _call_recording_warnings(load_image_folder, folder_tree, image_size=12)
    assert "Skipping unreadable image file" in messages
    assert "broken.png" in messages
    assert [Path(p).name for p in data.skipped_files] == ["broken.png"]
    assert data.images.shape[0] == 4


def test_image_folder_subset(folder_tree):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        images, target = load_image_folder(
            folder_tree, image_size=12, n_samples_per_class=1, random_state=0, return_X_y=True
        )
    assert sorted(target.tolist()) == [0, 1]
    assert images.shape == (2, 12, 12, 3)


def test_image_folder_without_images(tmp_path):
    (tmp_path / "a").mkdir()
    with pytest.raises(ValueError, match="No images found"):
        load_image_folder(tmp_path)
    with pytest.raises(FileNotFoundError):
        load_image_folder(tmp_path / "missing")


def test_palette_cmyk_and_gray_alpha_images_are_read_as_colours(tmp_path):
    from PIL import Image

    folder = tmp_path / "cells"
    folder.mkdir()
    rgb = np.zeros((32, 32, 3), np.uint8)
    rgb[:16] = [200, 30, 30]
    rgb[16:] = [250, 250, 250]
    Image.fromarray(rgb).save(folder / "a_rgb.png")
    Image.fromarray(rgb).convert("P", palette=Image.Palette.ADAPTIVE, colors=4).save(
        folder / "b_palette.png"
    )
    Image.fromarray(rgb).convert("CMYK").save(folder / "c_cmyk.tif", compression=None)
    Image.fromarray(rgb).convert("CMYK").save(folder / "d_cmyk.jpg", quality=100)
    # a palette TIFF read through tifffile: indices plus a 16-bit colour map
    palette = np.zeros((3, 256), np.uint16)
    palette[:, 0] = np.array([200, 30, 30]) * 257
    palette[:, 1] = np.array([250, 250, 250]) * 257
    indices = np.zeros((32, 32), np.uint8)
    indices[16:] = 1
    tifffile.imwrite(folder / "e_palette.tif", indices, photometric="palette", colormap=palette)

    bunch = load_image_folder(tmp_path, image_size=32)
    assert bunch.skipped_files == []
    for image in bunch.images:
        # the red top half and the near-white bottom half survive every encoding
        np.testing.assert_allclose(image[4, 4], [200, 30, 30], atol=6)
        np.testing.assert_allclose(image[28, 28], [250, 250, 250], atol=6)


# --- class mappings ------------------------------------------------------------------


def test_named_mappings_cover_every_class_with_published_totals():
    counts = {code: n for code, (_, n) in AML_CYTOMORPHOLOGY_CLASSES.items()}
    for mapping in CLASS_MAPPINGS.values():
        assert set(mapping) == set(AML_CYTOMORPHOLOGY_CLASSES)
        assert set(mapping.values()) == {"AML", "healthy"}
    blast_aml = sum(counts[c] for c, label in CLASS_MAPPINGS["blast"].items() if label == "AML")
    study_aml = sum(counts[c] for c, label in CLASS_MAPPINGS["study"].items() if label == "AML")
    assert blast_aml == 3382
    assert study_aml == 4046
    assert {c for c, label in CLASS_MAPPINGS["study"].items() if label == "healthy"} == set(
        STUDY_HEALTHY_CLASSES
    )
    # the study code's list, plus PMB (not listed there) with PMO
    study_code_aml = {"MYB", "MOB", "MMZ", "KSC", "BAS", "EBO", "EOS", "LYA", "MYO", "PMO"}
    assert {c for c, label in CLASS_MAPPINGS["study"].items() if label == "AML"} == {
        *study_code_aml,
        "PMB",
    }


def test_study_mapping_by_name_and_as_changes(tcia_tree):
    study = _load_quietly(tcia_tree, image_size=16, class_mapping="study", cache=False)
    # MYO and PMO are AML in both; LYT and NGS healthy in both
    np.testing.assert_array_equal(study.target == 1, np.isin(study.class_names, ["MYO", "PMO"]))
    assert 'class_mapping="study"' in study.DESCR
    without_pmo = _load_quietly(
        tcia_tree, image_size=16, class_mapping={**CLASS_MAPPINGS["study"], "PMO": None}
    )
    assert "PMO" not in set(without_pmo.class_names.tolist())
    assert "left out: PMO" in without_pmo.DESCR


def test_mapping_changes_do_not_leak_into_the_presets(tcia_tree):
    before = {name: dict(mapping) for name, mapping in CLASS_MAPPINGS.items()}
    _load_quietly(tcia_tree, image_size=16, class_mapping={"NGS": "AML"}, cache=False)
    assert before == CLASS_MAPPINGS


@pytest.fixture
def named_tree(tmp_path):
    """A folder tree whose folders are not class codes, plus one that is (MYO)."""
    root = tmp_path / "cells"
    for name, value, count in [("blasts", 40, 3), ("neutrophils", 120, 2), ("MYO", 80, 2)]:
        (root / name).mkdir(parents=True)
        for i in range(count):
            _write_tiff(root / name / f"{i}.tiff", value, rgba=False)
    return root


def test_folder_tree_binary_target(named_tree):
    data = load_image_folder(
        named_tree,
        image_size=16,
        target="binary",
        class_mapping={"blasts": "AML", "neutrophils": "healthy"},
        cache=False,
    )
    assert data.target_names.tolist() == ["healthy", "AML"]
    # MYO follows the default ("blast") grouping
    np.testing.assert_array_equal(data.target == 1, data.class_names != "neutrophils")
    assert np.bincount(data.target).tolist() == [2, 5]
    dropped = load_image_folder(
        named_tree,
        image_size=16,
        target="binary",
        class_mapping={"blasts": "AML", "neutrophils": "healthy", "MYO": None},
        n_samples_per_class=2,
        random_state=0,
        cache=False,
    )
    assert sorted(set(dropped.class_names.tolist())) == ["blasts", "neutrophils"]
    assert np.bincount(dropped.target).tolist() == [2, 2]


def test_folder_tree_binary_errors_name_the_folders(named_tree):
    with pytest.raises(ValueError, match=r"\['blasts', 'neutrophils'\].*--class-mapping"):
        load_image_folder(named_tree, target="binary", cache=False)
    with pytest.raises(ValueError, match=r"class_mapping names \['blast'\]"):
        load_image_folder(named_tree, target="binary", class_mapping={"blast": "AML"}, cache=False)
    with pytest.raises(ValueError, match="only applies to target='binary'"):
        load_image_folder(named_tree, class_mapping="study", cache=False)
    with pytest.raises(ValueError, match="leaves out every class folder"):
        load_image_folder(
            named_tree,
            target="binary",
            class_mapping={"blasts": None, "neutrophils": None, "MYO": None},
            cache=False,
        )


def test_folders_named_after_the_target_need_no_mapping(tmp_path):
    for name, value in [("AML", 40), ("healthy", 200)]:
        (tmp_path / name).mkdir()
        _write_tiff(tmp_path / name / "a.tiff", value)
    data = load_image_folder(tmp_path, image_size=16, target="binary", cache=False)
    np.testing.assert_array_equal(data.target, (data.class_names == "AML").astype(int))


def test_layout_detection(tcia_tree, named_tree, tmp_path):
    assert loaders.detect_layout(tcia_tree) == ("tcia", tcia_tree / "AML-Cytomorphology_LMU")
    # a folder beside the class codes makes it a folder tree: nothing is silently ignored
    assert loaders.detect_layout(named_tree) == ("folder", named_tree)
    plain = tmp_path / "plain"
    (plain / "a").mkdir(parents=True)
    assert loaders.detect_layout(plain) == ("folder", plain)


def test_load_class_tree_reads_either_layout(tcia_tree, named_tree):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        tcia, what = loaders.load_class_tree(tcia_tree, class_mapping="study", cache=False)
        direct = load_aml_cytomorphology(tcia_tree, class_mapping="study", cache=False)
    assert what.startswith("AML-Cytomorphology_LMU layout at ")
    assert what.endswith("class_mapping=study")
    np.testing.assert_array_equal(tcia.images, direct.images)
    np.testing.assert_array_equal(tcia.target, direct.target)

    mapping = {"blasts": "AML", "neutrophils": "healthy"}
    folder, what = loaders.load_class_tree(named_tree, class_mapping=mapping, cache=False)
    assert what.startswith(f"class folders at {named_tree} (3 classes)")
    assert np.bincount(folder.target).tolist() == [2, 5]
    classes, _ = loaders.load_class_tree(named_tree, target="morphology", cache=False)
    assert classes.target_names.tolist() == ["MYO", "blasts", "neutrophils"]


# --- unreadable folders --------------------------------------------------------------


def _deny_listing(monkeypatch, denied: Path) -> None:
    """Make listing ``denied`` fail as it does without read permission.

    chmod does not deny a root user (the tests may run as root), so listing is refused
    here instead, for that one folder.
    """
    original = loaders.os.scandir

    def scandir(path=".", *args):
        if Path(path) == denied:
            raise PermissionError(13, "Permission denied", str(path))
        return original(path, *args)

    monkeypatch.setattr(loaders.os, "scandir", scandir)


def test_unreadable_class_folder_is_reported_like_an_unreadable_file(tcia_tree, monkeypatch):
    denied = tcia_tree / "AML-Cytomorphology_LMU" / "NGS"
    _deny_listing(monkeypatch, denied)
    data, messages = _call_recording_warnings(
        load_aml_cytomorphology, tcia_tree, image_size=16, cache=False
    )
    assert f"Skipping unreadable class folder {str(denied)!r} (PermissionError" in messages
    assert str(denied) in data.skipped_files
    assert "NGS" not in set(data.class_names.tolist())
    assert np.bincount(data.target).tolist() == [3, 6]  # LYT, and MYO + PMO
    assert "NGS (segmented neutrophil)" not in messages  # not reported as empty too


def test_unreadable_folder_in_a_folder_tree(folder_tree, monkeypatch):
    _deny_listing(monkeypatch, folder_tree / "b_cells")
    data, messages = _call_recording_warnings(
        load_image_folder, folder_tree, image_size=12, cache=False
    )
    assert "Skipping unreadable class folder" in messages
    assert data.skipped_files == [str(folder_tree / "b_cells")]
    assert data.target_names.tolist() == ["a_cells"]


def test_unreadable_root_says_so(folder_tree, monkeypatch):
    _deny_listing(monkeypatch, folder_tree)
    with pytest.raises(PermissionError, match=r"cannot be listed.*give read access"):
        load_image_folder(folder_tree, cache=False)


def test_unreadable_file_in_a_balanced_subset_is_replaced(tmp_path):
    # issue 16: with n_samples_per_class, an unreadable file of the drawn subset used to be
    # dropped, leaving the subset unbalanced; it is replaced by another file of its class
    root = tmp_path / "cells"
    for name in ("healthy", "blast"):
        (root / name).mkdir(parents=True)
        for i in range(6):
            value = 40 + 10 * i if name == "healthy" else 150 + 10 * i
            imsave(
                root / name / f"{name}_{i}_a_longer_name.png",
                np.full((16, 16, 3), value, np.uint8),
                check_contrast=False,
            )
    # draw once with every file readable, then break two of the drawn blasts
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        full = load_image_folder(
            root, image_size=8, n_samples_per_class=3, random_state=1, cache=False
        )
    drawn = [Path(f) for f, c in zip(full.filenames, full.class_names, strict=True) if c == "blast"]
    for path in drawn[:2]:
        path.write_bytes(b"\x89PNG broken")
    data, messages = _call_recording_warnings(
        load_image_folder, root, image_size=8, n_samples_per_class=3, random_state=1, cache=False
    )
    assert "Skipping unreadable image file" in messages
    assert np.bincount(data.target).tolist() == [3, 3]
    assert sorted(Path(p).name for p in data.skipped_files) == sorted(p.name for p in drawn[:2])
    kept = {Path(f).name for f in data.filenames}
    assert drawn[2].name in kept
    assert not {p.name for p in drawn[:2]} & kept
    # every image belongs to the class it is labelled with (blasts are the bright ones)
    bright = data.images.reshape(len(data.images), -1).mean(axis=1) > 100
    np.testing.assert_array_equal(bright, data.class_names == "blast")
    # too few readable files left in a class: a clear error naming the class
    for path in (root / "blast").iterdir():
        path.write_bytes(b"\x89PNG broken")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        with pytest.raises(ValueError, match="Class 'blast' has fewer than 3 readable images"):
            load_image_folder(root, image_size=8, n_samples_per_class=3, cache=False)
