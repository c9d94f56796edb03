"""Image files to small RGB arrays: the one decoding and resampling path of the loaders.

Every image is decoded by tifffile (TIFF; Pillow where tifffile cannot) or Pillow,
made opaque RGB (alpha composited over white, as :func:`qbloodcell._images.check_images`
does) and resampled to ``image_size`` x ``image_size`` in two stages: first a reduction
by a whole factor (JPEG files are decoded at 1/2, 1/4 or 1/8 scale straight from their
DCT coefficients, down to no less than the target size; other images are box-averaged
down to no less than ``REDUCING_GAP`` times it), then Pillow's bilinear filter, whose support
widens with the reduction factor and so anti-aliases like a fair resampling. Pillow
releases the GIL while decoding and resampling, so threads read files in parallel.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from qbloodcell._images import MIN_IMAGE_SIDE, check_images
from qbloodcell._parallel import effective_n_jobs

#: Bumped whenever the decoding or the resampling changes what a file becomes, so that
#: cached arrays made by another version are rebuilt instead of mixed with new ones.
READER_VERSION = 3

#: The whole-factor reduction stops at this multiple of the target size (Pillow's own
#: choice for thumbnails); what it changes against a fair resampling is measured by
#: benchmarks/bench_loaders.py.
REDUCING_GAP = 2.0

# 8-bit modes whose values are not (opaque) colours: Pillow converts them to RGB or RGBA
_CONVERTED_MODES = ("1", "P", "PA", "LA", "La", "RGBa", "RGBX", "CMYK", "YCbCr", "LAB", "HSV")
# those among them with an alpha channel (premultiplied in "La" and "RGBa")
_ALPHA_MODES = ("PA", "LA", "La", "RGBa")

#: Result of reading one file: the image (uint8, ``(image_size, image_size, 3)``) or
#: ``None`` and the reason it could not be read.
ReadResult = tuple["np.ndarray | None", str]


def read_resized(path: str, image_size: int) -> ReadResult:
    """Read one image file and resize it; on any failure return ``None`` and the reason."""
    try:
        return _read(path, image_size), ""
    # any failure on one file (decoder error, truncated file, odd shape) skips that file
    except Exception as error:
        return None, f"{type(error).__name__}: {error}"


def read_many(
    paths: Sequence[str],
    image_size: int,
    *,
    n_jobs: int | None,
    on_done: Callable[[int], None] | None = None,
) -> list[ReadResult]:
    """:func:`read_resized` for every path, in ``n_jobs`` threads, results in path order.

    ``on_done(k)`` is called (in the calling thread) each time ``k`` more files are done,
    for a progress bar.
    """
    n_threads = effective_n_jobs(n_jobs, cap=max(1, len(paths)))
    # chunks amortise joblib's per-task cost; several per thread balance slow files
    chunk = max(1, min(64, -(-len(paths) // (4 * n_threads))))
    chunks = [paths[start : start + chunk] for start in range(0, len(paths), chunk)]
    results: list[ReadResult] = []
    if n_threads == 1:
        outputs: Any = (_read_chunk(part, image_size) for part in chunks)
    else:
        from joblib import Parallel, delayed

        # threads whatever backend an enclosing parallel_config names: the decoders
        # release the GIL, and the images need no pickling back
        parallel = Parallel(n_jobs=n_threads, backend="threading", return_as="generator")
        outputs = parallel(delayed(_read_chunk)(part, image_size) for part in chunks)
    for part in outputs:
        results.extend(part)
        if on_done is not None:
            on_done(len(part))
    return results


def _read_chunk(paths: Sequence[str], image_size: int) -> list[ReadResult]:
    return [read_resized(path, image_size) for path in paths]


def _read(path: str, image_size: int) -> np.ndarray:
    if path.lower().endswith((".tif", ".tiff")):
        try:
            # tifffile maps the common uncompressed TIFFs straight to an array
            array = _read_tiff(path)
        except Exception as error:
            # Pillow (libtiff) decodes some compressions tifffile needs imagecodecs for
            try:
                return _read_with_pillow(path, image_size)
            except Exception:
                raise error from None
        return _resize(_from_array(array), image_size)
    return _read_with_pillow(path, image_size)


def _read_with_pillow(path: str, image_size: int) -> np.ndarray:
    from PIL import Image

    # Pillow closes the file it opened, also when identifying or decoding fails
    with Image.open(path) as image:
        _check_size(image.size)
        if image.format == "JPEG":
            # the largest DCT-domain reduction (1/2, 1/4, 1/8) that keeps the target size:
            # the decoder low-passes each 8 x 8 block as it shrinks it, so it stands for
            # the whole-factor reduction, at a fraction of the cost of a full decode
            image.draft(None, (image_size, image_size))
        image.load()
        eight_bit = _eight_bit(image)
        if eight_bit is not None:
            return _resize(eight_bit, image_size)
        array = np.asarray(image)
    # 16-bit, 32-bit and float modes: scaled to 8 bits from their full range
    return _resize(_from_array(array), image_size)


def _eight_bit(image: Any) -> Any:
    """``image`` as opaque 8-bit RGB or gray, or ``None`` for 16-bit, 32-bit and float modes."""
    if image.mode in ("L", "RGB"):
        return image
    if image.mode == "RGBA":
        return _opaque(image)
    if image.mode in _CONVERTED_MODES:
        alpha = image.mode in _ALPHA_MODES or "transparency" in image.info
        return _opaque(image.convert("RGBA" if alpha else "RGB"))
    return None


def _check_size(size: tuple[int, int]) -> None:
    if min(size) < MIN_IMAGE_SIDE:
        raise ValueError(
            f"the image is {size[0]} x {size[1]} pixels; at least {MIN_IMAGE_SIDE} x "
            f"{MIN_IMAGE_SIDE} is required."
        )


def _opaque(image: Any) -> Any:
    """An RGBA image composited over white (as ``check_images`` does), else unchanged."""
    from PIL import Image

    if image.mode != "RGBA":
        return image
    if image.getchannel("A").getextrema()[0] == 255:
        # the dataset's RGBA files are opaque: dropping the channel is all there is to do
        return image.convert("RGB")
    rgba = np.asarray(image, dtype=np.float32)
    weight = rgba[..., 3:4] / 255.0
    rgb = rgba[..., :3] * weight + 255.0 * (1.0 - weight)
    return Image.fromarray(np.rint(rgb).astype(np.uint8), mode="RGB")


def _from_array(array: np.ndarray) -> Any:
    """Any image array ``check_images`` accepts, as an opaque 8-bit Pillow image."""
    from PIL import Image

    # some TIFFs are stored channel-first; the images here have 1, 3 or 4 channels
    if array.ndim == 3 and array.shape[0] in (3, 4) and array.shape[-1] not in (3, 4):
        array = np.moveaxis(array, 0, -1)
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    _check_size(array.shape[:2])
    if array.dtype == np.uint8 and (array.ndim == 2 or array.shape[-1] in (3, 4)):
        array = np.ascontiguousarray(array)
        height, width = array.shape[:2]
        if array.ndim == 2:
            return Image.fromarray(array, mode="L")
        if array.shape[-1] == 3:
            return Image.fromarray(array, mode="RGB")
        if _is_opaque(array):
            # opaque RGBA (the dataset's TIFFs): mapped in place as "RGBX", whose fourth
            # byte the resampling ignores, instead of copied into an RGB image
            return Image.frombuffer("RGB", (width, height), array, "raw", "RGBX", 0, 1)
        return _opaque(Image.fromarray(array, mode="RGBA"))
    rgb = check_images([array], image_size=None, mode="rgb", argument="the image")[0]
    return Image.fromarray(np.rint(rgb * 255.0).astype(np.uint8), mode="RGB")


def _is_opaque(rgba: np.ndarray) -> bool:
    """Whether every alpha value of a C-contiguous uint8 RGBA array is 255."""
    # one pass over whole pixels: read as little-endian 32-bit words, the alpha byte is
    # the most significant, so all alphas are 255 exactly when no word is below 0xFF000000
    return bool(rgba.view("<u4").min() >= 0xFF000000)


def _read_tiff(path: str) -> np.ndarray:
    """The first image of a TIFF file, with a palette (colour map) or CMYK made RGB."""
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


def _resize(image: Any, image_size: int) -> np.ndarray:
    """Two-stage anti-aliased resampling to ``(image_size, image_size, 3)`` uint8."""
    from PIL import Image

    resized = image.resize(
        (image_size, image_size), Image.Resampling.BILINEAR, reducing_gap=REDUCING_GAP
    )
    array = np.asarray(resized)
    if array.ndim == 2:
        array = np.repeat(array[..., np.newaxis], 3, axis=-1)
    # an "RGBX" image (opaque RGBA mapped in place) carries its unused fourth byte
    return np.ascontiguousarray(array[..., :3])
