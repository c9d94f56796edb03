"""Decoding and resampling of single files (qbloodcell.datasets._reading)."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile
from PIL import Image

from qbloodcell._images import check_images
from qbloodcell.datasets._reading import read_many, read_resized


def _smooth_cell(size: int = 400, seed: int = 0) -> np.ndarray:
    """A smear-like RGB image: a dark disc with texture on a light background."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size] / size
    disc = np.exp(-(((yy - 0.5) ** 2 + (xx - 0.45) ** 2) / 0.03))
    texture = np.sin(40 * xx + 3 * yy) * np.cos(30 * yy) * 0.1
    noise = rng.normal(0, 0.03, (size, size))
    gray = 0.9 - 0.6 * disc + disc * texture + noise
    rgb = np.stack([gray * 0.9, gray * 0.7, gray], axis=-1)
    return np.clip(np.rint(rgb * 255), 0, 255).astype(np.uint8)


def _reference(image: np.ndarray, image_size: int) -> np.ndarray:
    """The previous loader path: scikit-image's anti-aliased resize through check_images."""
    return np.rint(check_images([image], image_size=image_size, mode="rgb")[0] * 255)


@pytest.mark.parametrize("image_size", [32, 64, 100])
def test_resampling_is_close_to_the_scikit_image_reference(tmp_path, image_size):
    image = _smooth_cell()
    path = tmp_path / "cell.tif"
    tifffile.imwrite(path, image)
    resized, reason = read_resized(str(path), image_size)
    assert reason == ""
    assert resized.shape == (image_size, image_size, 3)
    assert resized.dtype == np.uint8
    difference = np.abs(resized.astype(float) - _reference(image, image_size))
    # gray levels of 255; a nearest-neighbour resize is off by 5 on average, 24 at most
    assert difference.mean() < 0.5
    assert difference.max() <= 4


def test_jpeg_reduced_decoding_is_close_to_a_full_decode(tmp_path):
    image = _smooth_cell(seed=1)
    path = tmp_path / "cell.jpg"
    Image.fromarray(image).save(path, quality=95)
    resized, _ = read_resized(str(path), 64)
    with Image.open(path) as full:
        decoded = np.asarray(full.convert("RGB"))
    difference = np.abs(resized.astype(float) - _reference(decoded, 64))
    assert difference.mean() < 0.5
    assert difference.max() <= 4


def test_transparency_is_composited_over_white_as_check_images_does(tmp_path):
    rgba = np.zeros((40, 40, 4), np.uint8)
    rgba[..., 0] = 200
    rgba[..., 3] = np.linspace(0, 255, 40).astype(np.uint8)[:, None]
    path = tmp_path / "alpha.png"
    Image.fromarray(rgba, mode="RGBA").save(path)
    resized, _ = read_resized(str(path), 40)
    expected = np.rint(check_images([rgba], image_size=None, mode="rgb")[0] * 255)
    np.testing.assert_allclose(resized, expected, atol=1)


def test_sixteen_bit_rgb_tiff_is_scaled_from_its_full_range(tmp_path):
    image = np.full((32, 32, 3), 65535, np.uint16)
    image[:16] = 257 * 100
    path = tmp_path / "deep.tif"
    tifffile.imwrite(path, image)
    resized, reason = read_resized(str(path), 32)
    assert reason == ""
    assert resized[4, 4].tolist() == [100, 100, 100]
    assert resized[28, 28].tolist() == [255, 255, 255]


def test_small_images_are_enlarged_and_tiny_ones_refused(tmp_path):
    Image.fromarray(np.full((10, 12, 3), 90, np.uint8)).save(tmp_path / "small.png")
    Image.fromarray(np.full((4, 4, 3), 90, np.uint8)).save(tmp_path / "tiny.png")
    resized, _ = read_resized(str(tmp_path / "small.png"), 64)
    assert resized.shape == (64, 64, 3)
    assert np.all(resized == 90)
    image, reason = read_resized(str(tmp_path / "tiny.png"), 64)
    assert image is None
    assert "4 x 4 pixels; at least 8 x 8" in reason


def test_missing_and_broken_files_give_reasons(tmp_path):
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    image, reason = read_resized(str(tmp_path / "broken.jpg"), 16)
    assert image is None
    assert reason.startswith("UnidentifiedImageError")
    image, reason = read_resized(str(tmp_path / "absent.tif"), 16)
    assert image is None
    assert reason.startswith("FileNotFoundError")


def test_threads_keep_the_order_and_report_progress(tmp_path):
    paths = []
    for value in range(40):
        path = tmp_path / f"{value}.png"
        Image.fromarray(np.full((20, 20, 3), value, np.uint8)).save(path)
        paths.append(str(path))
    done = []
    results = read_many(paths, 8, n_jobs=2, on_done=done.append)
    assert [int(image[0, 0, 0]) for image, _ in results] == list(range(40))
    assert sum(done) == 40
    assert len(done) > 1  # several chunks, so a bar moves
    serial = read_many(paths, 8, n_jobs=1)
    for (a, _), (b, _) in zip(results, serial, strict=True):
        np.testing.assert_array_equal(a, b)


def test_rgba_tiff_with_one_transparent_pixel_is_composited(tmp_path):
    rgba = np.zeros((16, 16, 4), np.uint8)
    rgba[..., 3] = 255
    rgba[15, 15, 3] = 0  # the last pixel: the last word of the buffer
    tifffile.imwrite(tmp_path / "one.tif", rgba)
    resized, _ = read_resized(str(tmp_path / "one.tif"), 16)
    assert resized[15, 15].tolist() == [255, 255, 255]
    assert resized[0, 0].tolist() == [0, 0, 0]
    rgba[15, 15, 3] = 255
    tifffile.imwrite(tmp_path / "opaque.tif", rgba)
    resized, _ = read_resized(str(tmp_path / "opaque.tif"), 16)
    assert resized[15, 15].tolist() == [0, 0, 0]


def test_n_jobs_none_follows_joblib_parallel_config(tmp_path, monkeypatch):
    import joblib

    import qbloodcell.datasets._reading as reading

    seen = []
    original = reading.effective_n_jobs

    def recording(n_jobs, **kwargs):
        seen.append(original(n_jobs, **kwargs))
        return seen[-1]

    monkeypatch.setattr(reading, "effective_n_jobs", recording)
    paths = []
    for i in range(4):
        Image.fromarray(np.full((20, 20, 3), i, np.uint8)).save(tmp_path / f"{i}.png")
        paths.append(str(tmp_path / f"{i}.png"))
    read_many(paths, 8, n_jobs=None)
    with joblib.parallel_config(n_jobs=2, backend="loky"):
        results = read_many(paths, 8, n_jobs=None)
    assert seen == [1, 2]
    assert [int(image[0, 0, 0]) for image, _ in results] == [0, 1, 2, 3]


def test_gray_with_alpha_is_composited(tmp_path):
    gray_alpha = np.zeros((16, 16, 2), np.uint8)
    gray_alpha[..., 0] = 40
    gray_alpha[..., 1] = 255
    gray_alpha[:8, :, 1] = 0  # the top half transparent
    Image.fromarray(gray_alpha, mode="LA").save(tmp_path / "la.png")
    resized, _ = read_resized(str(tmp_path / "la.png"), 16)
    assert resized[2, 2].tolist() == [255, 255, 255]
    assert resized[13, 13].tolist() == [40, 40, 40]
