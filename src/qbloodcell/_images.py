"""Validation and conversion of image batches.

Shared by every estimator that takes images (``BloodCellFeatures``, the CNN baseline), so
that they accept the same inputs and fail on bad ones with the same clear messages.
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral
from typing import Any, Literal

import numpy as np

#: Smallest height or width accepted: below this, texture and shape features are meaningless.
MIN_IMAGE_SIDE = 8

#: Luminance weights (ITU-R BT.709), the same as ``skimage.color.rgb2gray``.
GRAY_WEIGHTS = np.array([0.2125, 0.7154, 0.0721])

# full-scale value of each integer dtype accepted
_SCALES = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}
_ACCEPTED = (
    "a batch of images: an array of shape (n, H, W), (n, H, W, 3) or (n, H, W, 4), or a "
    "list of such images of any sizes, as uint8, uint16 or float in [0, 1]"
)


def check_images(
    images: Any,
    *,
    image_size: int | None = 64,
    mode: Literal["gray", "rgb"] = "gray",
    argument: str = "X",
) -> np.ndarray:
    """Validate a batch of images and return it as contiguous float64 in [0, 1].

    Parameters
    ----------
    images : array-like
        An array of shape ``(n, H, W)`` (grayscale), ``(n, H, W, 1)``, ``(n, H, W, 3)``
        (RGB) or ``(n, H, W, 4)`` (RGBA, composited over a white background), or a list
        of 2-D or 3-D images that may differ in size. ``uint8`` and ``uint16`` images are
        scaled by their maximum value; float images must already lie in [0, 1].
    image_size : int or None, default=64
        Side of the square output images. Images of another size are resized with
        anti-aliasing (``skimage.transform.resize``). ``None`` keeps the input size, which
        then has to be the same for all images.
    mode : {"gray", "rgb"}, default="gray"
        ``"gray"`` returns ``(n, image_size, image_size)`` luminance images (the weights of
        ``skimage.color.rgb2gray``); ``"rgb"`` returns ``(n, image_size, image_size, 3)``,
        repeating grayscale images over the three channels.
    argument : str, default="X"
        Name of the argument, used in error messages.

    Returns
    -------
    ndarray of float64
        C-contiguous images in [0, 1].

    Raises
    ------
    TypeError
        If ``images`` is not an array or list of numeric images, or has an unsupported dtype.
    ValueError
        If the batch is empty, an image has the wrong number of dimensions or channels, is
        smaller than 8 x 8 pixels, contains NaN or infinity, or a float image leaves [0, 1].

    Examples
    --------
    >>> import numpy as np
    >>> batch = np.zeros((2, 32, 32, 3), dtype=np.uint8)
    >>> check_images(batch, image_size=64).shape
    (2, 64, 64)
    """
    if image_size is not None and (
        not isinstance(image_size, Integral)
        or isinstance(image_size, bool)
        or image_size < MIN_IMAGE_SIDE
    ):
        raise ValueError(
            f"image_size must be an integer >= {MIN_IMAGE_SIDE} or None; got {image_size!r}."
        )
    if mode not in ("gray", "rgb"):
        raise ValueError(f"mode must be 'gray' or 'rgb'; got {mode!r}.")

    if isinstance(images, np.ndarray):
        batch = _check_array_batch(images, argument)
        converted = _convert(batch, mode, argument, index=None)
        if image_size is not None and converted.shape[1:3] != (image_size, image_size):
            converted = np.stack([_resize(image, image_size) for image in converted])
        return np.ascontiguousarray(converted, dtype=np.float64)

    if _is_image_sequence(images):
        if len(images) == 0:
            raise ValueError(f"{argument} is an empty batch: at least one image is required.")
        out = []
        first_shape = None
        for index, image in enumerate(images):
            array = _check_single_image(image, argument, index)
            array = _convert(array[np.newaxis], mode, argument, index=index)[0]
            if image_size is not None:
                if array.shape[:2] != (image_size, image_size):
                    array = _resize(array, image_size)
            elif first_shape is None:
                first_shape = array.shape
            elif array.shape != first_shape:
                raise ValueError(
                    f"{argument}[{index}] has shape {array.shape} but {argument}[0] has "
                    f"{first_shape}; with image_size=None all images must have the same size."
                )
            out.append(array)
        return np.ascontiguousarray(np.stack(out), dtype=np.float64)

    raise TypeError(
        f"{argument} must be {_ACCEPTED}; got an object of type {type(images).__name__}."
    )


def _is_image_sequence(images: Any) -> bool:
    return isinstance(images, Sequence) and not isinstance(images, str | bytes)


def _check_array_batch(images: np.ndarray, argument: str) -> np.ndarray:
    if images.dtype == object or images.dtype.kind in "USV":
        raise TypeError(f"{argument} must be {_ACCEPTED}; got an array of dtype {images.dtype}.")
    if images.ndim == 2:
        raise ValueError(
            f"{argument} has shape {images.shape}, a single 2-D array; expected {_ACCEPTED}. "
            f"For one grayscale image use {argument}[np.newaxis]."
        )
    if images.ndim not in (3, 4):
        raise ValueError(
            f"{argument} has {images.ndim} dimensions (shape {images.shape}); expected {_ACCEPTED}."
        )
    if images.shape[0] == 0:
        raise ValueError(f"{argument} is an empty batch: at least one image is required.")
    if images.ndim == 4 and images.shape[3] not in (1, 3, 4):
        raise ValueError(
            f"{argument} has shape {images.shape}: the last axis holds {images.shape[3]} channels, "
            "but 1 (gray), 3 (RGB) or 4 (RGBA) are accepted."
        )
    _check_side(images.shape[1:3], argument, index=None)
    return images


def _check_single_image(image: Any, argument: str, index: int) -> np.ndarray:
    try:
        array = np.asarray(image)
    except Exception as exc:  # ragged nested lists and the like
        raise TypeError(f"{argument}[{index}] is not an image: {exc}") from None
    if array.dtype == object or array.dtype.kind in "USV":
        raise TypeError(
            f"{argument}[{index}] is not an image: got an object of type {type(image).__name__}."
        )
    if array.ndim == 3 and array.shape[2] not in (1, 3, 4):
        raise ValueError(
            f"{argument}[{index}] has shape {array.shape}: the last axis holds {array.shape[2]} "
            "channels, but 1 (gray), 3 (RGB) or 4 (RGBA) are accepted."
        )
    if array.ndim not in (2, 3):
        raise ValueError(
            f"{argument}[{index}] has {array.ndim} dimensions (shape {array.shape}); each image must be "
            "(H, W), (H, W, 3) or (H, W, 4)."
        )
    _check_side(array.shape[:2], argument, index=index)
    return array


def _check_side(shape: tuple[int, ...], argument: str, index: int | None) -> None:
    if min(shape) < MIN_IMAGE_SIDE:
        where = argument if index is None else f"{argument}[{index}]"
        raise ValueError(
            f"{where} holds images of {shape[0]} x {shape[1]} pixels; at least "
            f"{MIN_IMAGE_SIDE} x {MIN_IMAGE_SIDE} is required."
        )


def _convert(batch: np.ndarray, mode: str, argument: str, index: int | None) -> np.ndarray:
    """A batch ``(n, H, W[, C])`` to float64 gray or RGB in [0, 1]: the one conversion path.

    An array batch and a list of images (each converted as a batch of one) take the same
    operations in the same order, so the same images give the same bits either way.
    """
    if mode == "gray" and batch.ndim == 4 and batch.shape[3] == 3 and batch.dtype in _SCALES:
        # integer RGB straight to gray in one parallel pass: no float RGB copy
        from qbloodcell._images_kernels import integer_rgb_luminance

        weights = GRAY_WEIGHTS / _SCALES[batch.dtype]
        converted = np.empty(batch.shape[:3])
        integer_rgb_luminance(batch, weights[0], weights[1], weights[2], converted)
        return converted
    converted = _to_float(batch, argument, index=index)
    return _convert_channels(converted, mode, batched=True)


def _to_float(array: np.ndarray, argument: str, index: int | None) -> np.ndarray:
    where = argument if index is None else f"{argument}[{index}]"
    if array.dtype == np.uint8:
        return array.astype(np.float64) / 255.0
    if array.dtype == np.uint16:
        return array.astype(np.float64) / 65535.0
    if array.dtype == np.bool_:
        return array.astype(np.float64)
    if array.dtype.kind == "f":
        values = array.astype(np.float64, copy=False)
        if not np.isfinite(values).all():
            raise ValueError(f"{where} contains NaN or infinity; images must be finite.")
        low, high = float(values.min()), float(values.max())
        if low < 0.0 or high > 1.0:
            raise ValueError(
                f"{where} is a float image with values in [{low:g}, {high:g}]; float images must lie "
                "in [0, 1]. Divide 8-bit data by 255, or pass it as uint8."
            )
        return values
    raise TypeError(
        f"{where} has dtype {array.dtype}; accepted are uint8, uint16, bool or float in [0, 1]. "
        "Cast 8-bit data with .astype(np.uint8)."
    )


def _convert_channels(array: np.ndarray, mode: str, *, batched: bool) -> np.ndarray:
    image_ndim = array.ndim - 1 if batched else array.ndim
    if image_ndim == 3:
        channels = array.shape[-1]
        if channels == 1:
            array = array[..., 0]
        elif channels == 4:
            alpha = array[..., 3:4]
            array = array[..., :3] * alpha + (1.0 - alpha)
    is_gray = array.ndim - (1 if batched else 0) == 2
    if mode == "gray":
        return array if is_gray else _luminance(array, 1.0)
    if is_gray:
        return np.repeat(array[..., np.newaxis], 3, axis=-1)
    return array


def _luminance(rgb: np.ndarray, scale: float) -> np.ndarray:
    """``scale * rgb @ GRAY_WEIGHTS`` as three scaled channel sums.

    Written out rather than as a matrix product: ``@`` with a length-3 vector goes
    through BLAS, whose threads compete with numba's when both pools are alive.
    """
    weights = GRAY_WEIGHTS * scale
    gray = rgb[..., 0] * weights[0]
    gray += rgb[..., 1] * weights[1]
    gray += rgb[..., 2] * weights[2]
    return gray


def _resize(image: np.ndarray, image_size: int) -> np.ndarray:
    from skimage.transform import resize

    shape = (image_size, image_size, *image.shape[2:])
    resized = resize(image, shape, order=1, mode="reflect", anti_aliasing=True, preserve_range=True)
    return np.clip(resized, 0.0, 1.0)
