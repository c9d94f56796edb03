"""Validation and conversion of image batches (qbloodcell._images)."""

from __future__ import annotations

import numpy as np
import pytest
from skimage.color import rgb2gray, rgba2rgb
from skimage.transform import resize

from qbloodcell._images import check_images


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def test_uint8_gray_batch_is_scaled_to_unit_interval(rng):
    batch = rng.integers(0, 256, size=(3, 64, 64), dtype=np.uint8)
    out = check_images(batch)
    assert out.dtype == np.float64
    assert out.flags.c_contiguous
    np.testing.assert_allclose(out, batch / 255.0)


def test_uint16_is_scaled_by_its_maximum(rng):
    batch = rng.integers(0, 65536, size=(2, 16, 16), dtype=np.uint16)
    np.testing.assert_allclose(check_images(batch, image_size=None), batch / 65535.0)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_integer_rgb_matches_skimage_rgb2gray(rng, dtype):
    maximum = np.iinfo(dtype).max
    batch = rng.integers(0, maximum + 1, size=(3, 20, 24, 3), dtype=dtype)
    expected = np.stack([rgb2gray(image / float(maximum)) for image in batch])
    out = check_images(batch, image_size=None)
    assert out.shape == (3, 20, 24)
    assert out.flags.c_contiguous
    np.testing.assert_allclose(out, expected, atol=1e-12)
    # a non-contiguous view converts the same
    np.testing.assert_array_equal(check_images(batch[::-1], image_size=None), out[::-1])


def test_rgb_matches_skimage_rgb2gray(rng):
    batch = rng.random((2, 64, 64, 3))
    expected = np.stack([rgb2gray(image) for image in batch])
    np.testing.assert_allclose(check_images(batch), expected, atol=1e-12)


def test_rgba_is_composited_over_white_like_skimage(rng):
    batch = rng.random((2, 64, 64, 4))
    expected = np.stack([rgb2gray(rgba2rgb(image)) for image in batch])
    np.testing.assert_allclose(check_images(batch), expected, atol=1e-12)


def test_single_channel_axis_is_dropped(rng):
    batch = rng.random((2, 20, 20, 1))
    np.testing.assert_array_equal(check_images(batch, image_size=None), batch[..., 0])


def test_resizes_with_antialiasing_like_skimage(rng):
    batch = rng.random((2, 100, 90))
    expected = np.stack(
        [resize(image, (64, 64), order=1, mode="reflect", anti_aliasing=True) for image in batch]
    )
    np.testing.assert_allclose(check_images(batch), expected, atol=1e-12)


def test_list_of_images_of_different_sizes(rng):
    images = [
        rng.integers(0, 256, (30, 40, 3), dtype=np.uint8),
        rng.random((64, 64)),
        rng.random((80, 80, 4)),
    ]
    out = check_images(images)
    assert out.shape == (3, 64, 64)
    np.testing.assert_allclose(out[1], images[1])


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
@pytest.mark.parametrize("channels", [None, 3, 4])
@pytest.mark.parametrize("mode", ["gray", "rgb"])
def test_list_and_array_give_the_same_bits(rng, dtype, channels, mode):
    # issue 13: one conversion path, whatever the container
    shape = (5, 24, 24) if channels is None else (5, 24, 24, channels)
    batch = rng.integers(0, np.iinfo(dtype).max + 1, shape).astype(dtype)
    from_array = check_images(batch, image_size=None, mode=mode)
    from_list = check_images(list(batch), image_size=None, mode=mode)
    np.testing.assert_array_equal(from_list, from_array)


def test_rgb_mode_repeats_gray_channels(rng):
    batch = rng.random((2, 64, 64))
    out = check_images(batch, mode="rgb")
    assert out.shape == (2, 64, 64, 3)
    np.testing.assert_array_equal(out[..., 0], out[..., 2])


def test_list_with_mixed_sizes_and_no_resize_is_rejected(rng):
    with pytest.raises(ValueError, match="same size"):
        check_images([rng.random((20, 20)), rng.random((30, 30))], image_size=None)


@pytest.mark.parametrize(
    ("bad", "error", "match"),
    [
        (np.zeros((64, 64)), ValueError, "single 2-D array"),
        (np.zeros((0, 64, 64)), ValueError, "empty batch"),
        ([], ValueError, "empty batch"),
        (np.full((1, 64, 64), np.nan), ValueError, "NaN"),
        (np.full((1, 64, 64), np.inf), ValueError, "NaN or infinity"),
        (np.zeros((1, 1, 1)), ValueError, "1 x 1 pixels"),
        ([np.zeros((1, 1))], ValueError, "1 x 1 pixels"),
        (np.zeros((2, 16, 16, 2)), ValueError, "channels"),
        (np.zeros((2, 16, 16, 3, 1)), ValueError, "5 dimensions"),
        (np.full((1, 16, 16), 2.0), ValueError, "must lie in \\[0, 1\\]"),
        (np.zeros((1, 16, 16), dtype=np.int64), TypeError, "dtype int64"),
        ("an image", TypeError, "type str"),
        (object(), TypeError, "type object"),
        ([object()], TypeError, "not an image"),
        (np.array([["a"] * 16] * 16, dtype=object)[None], TypeError, "dtype object"),
    ],
)
def test_bad_input_gives_clear_error(bad, error, match):
    with pytest.raises(error, match=match):
        check_images(bad)


@pytest.mark.parametrize("image_size", [0, 4, 64.0, True, "64"])
def test_bad_image_size(image_size):
    with pytest.raises(ValueError, match="image_size"):
        check_images(np.zeros((1, 16, 16)), image_size=image_size)
