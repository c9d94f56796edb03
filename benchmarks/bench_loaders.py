"""Speed of the image loaders against the previous reading path, in one run, on real cells.

Prints, for 400 x 400 JPEG (``matek_myo_ngs``) and 400 x 400 TIFF files (the originals of
the 15-class sample) resized to ``--image-size``:

- images/s of the previous path (kept below as the reference: tifffile or Pillow at full
  size, float conversion, scikit-image's anti-aliased resize, one file after another, its
  default) and of the loader without its cache (``cache=False``), with one thread and
  with its default ``n_jobs=-1``, timed interleaved, repeated, with the ratio per repeat;
- the cached reload time of the same files, and (``--full-size``, the default) of a tree
  with the published 18,365 files (symbolic links to the sample's files, 15 classes);
- the effect of the new resampling on the 20 features (BloodCellFeatures) and on the
  cross-validated accuracy of a logistic regression and of the dense baseline on MYO vs
  NGS, against the reference's images.

    python benchmarks/bench_loaders.py
    python benchmarks/bench_loaders.py --repeat 5 --no-full-size --no-effect

The real images are looked up at ``../shared/data`` from the project root (``--data``).
Timings are wall-clock on a possibly shared machine: compare the ratios of one run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from qbloodcell.datasets import AML_CYTOMORPHOLOGY_CLASSES, load_aml_cytomorphology
from qbloodcell.datasets._reading import read_many

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
ORIGINAL_TIFF_CLASSES = ("EOS", "LYT", "MON", "MYO", "NGS")  # the 400 x 400 RGBA files


# ---------------------------------------------------------------------------------------
# the reference: the loaders' reading path before the fast one (one file at a time)


def reference_read(path: str, image_size: int) -> np.ndarray:
    """Decode at full size, convert to float RGB in [0, 1], resize with scikit-image."""
    from PIL import Image
    from skimage.transform import resize

    if path.lower().endswith((".tif", ".tiff")):
        import tifffile

        with tifffile.TiffFile(path) as tiff:
            array = np.asarray(tiff.pages[0].asarray())
    else:
        with Image.open(path) as image:
            direct = image.mode in ("1", "L", "RGB", "RGBA", "I;16", "F")
            array = np.asarray(image if direct else image.convert("RGB"))
    scale = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}[array.dtype]
    image = array.astype(np.float64) / scale
    if image.ndim == 3 and image.shape[2] == 4:
        alpha = image[..., 3:4]
        image = image[..., :3] * alpha + (1.0 - alpha)
    if image.ndim == 2:
        image = np.repeat(image[..., np.newaxis], 3, axis=-1)
    resized = resize(
        image,
        (image_size, image_size, 3),
        order=1,
        mode="reflect",
        anti_aliasing=True,
        preserve_range=True,
    )
    return np.rint(np.clip(resized, 0.0, 1.0) * 255.0).astype(np.uint8)


# ---------------------------------------------------------------------------------------


def timed(function: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    result = function()
    return time.perf_counter() - start, result


def speed(name: str, files: list[str], args: argparse.Namespace) -> None:
    """Interleaved timings of the reference and the new path on ``files``."""
    size = args.image_size
    reference_files = files[: args.n_reference]
    rates: dict[str, list[float]] = {"reference": [], "new, 1 thread": [], "new, n_jobs=-1": []}
    ratios: list[float] = []
    cores_used: list[float] = []
    for _ in range(args.repeat):
        seconds, _ = timed(lambda: [reference_read(p, size) for p in reference_files])
        rates["reference"].append(len(reference_files) / seconds)
        seconds, _ = timed(lambda: read_many(files, size, n_jobs=1))
        rates["new, 1 thread"].append(len(files) / seconds)
        cpu = time.process_time()
        seconds, results = timed(lambda: read_many(files, size, n_jobs=-1))
        # below 2 on 2 cores when other jobs held a core during the repeat
        cores_used.append((time.process_time() - cpu) / seconds)
        rates["new, n_jobs=-1"].append(len(files) / seconds)
        assert all(image is not None for image, _ in results)
        ratios.append(rates["new, n_jobs=-1"][-1] / rates["reference"][-1])
    print(
        f"{name}: {len(files)} files ({len(reference_files)} for the reference), to {size} x {size}"
    )
    for label, values in rates.items():
        shown = ", ".join(f"{v:,.0f}" for v in values)
        print(
            f"  {label:16s} median {statistics.median(values):7,.0f} images/s, best "
            f"{max(values):7,.0f}  ({shown})"
        )
    print(
        f"  cores used by n_jobs=-1 (CPU time / wall time): "
        f"{', '.join(f'{c:.2f}' for c in cores_used)}"
    )
    print(
        f"  speed-up of the default over the reference: median {statistics.median(ratios):.1f}x "
        f"(per repeat: {', '.join(f'{r:.1f}' for r in ratios)})"
    )


def cached_reload(name: str, root: Path, args: argparse.Namespace, cache: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # classes absent from a sample
        first, data = timed(
            lambda: load_aml_cytomorphology(
                root, image_size=args.image_size, target="morphology", cache=cache
            )
        )
        reloads = []
        for _ in range(args.repeat):
            seconds, again = timed(
                lambda: load_aml_cytomorphology(
                    root, image_size=args.image_size, target="morphology", cache=cache
                )
            )
            reloads.append(seconds)
    np.testing.assert_array_equal(data.images, again.images)
    cache_bytes = sum(p.stat().st_size for p in cache.rglob("*.bin"))
    print(
        f"{name}: {len(data.target):,} images; first load (reads and caches) {first:.2f} s "
        f"({len(data.target) / first:,.0f} images/s); cached reload median "
        f"{statistics.median(reloads):.2f} s (best {min(reloads):.2f} s); cache "
        f"{cache_bytes / 1e6:,.0f} MB"
    )


def full_size_tree(sample: Path, folder: Path) -> Path:
    """The published layout, 18,365 files: links to the sample's files, class by class."""
    root = folder / "AML-Cytomorphology_LMU"
    for code, (_, count) in AML_CYTOMORPHOLOGY_CLASSES.items():
        sources = sorted((sample / code).glob("*.tiff"))
        (root / code).mkdir(parents=True)
        for i in range(count):
            (root / code / f"{code}_{i:04d}.tiff").symlink_to(sources[i % len(sources)])
    return root


def resampling_effect(
    name: str, files: list[str], target: np.ndarray | None, args: argparse.Namespace
) -> None:
    """Features (and, given ``target``, accuracies) from the reference's and the new images."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from qbloodcell.baselines import make_dense_classifier
    from qbloodcell.features import FEATURE_NAMES, BloodCellFeatures

    size = args.image_size
    reference = np.stack([reference_read(p, size) for p in files])
    new = np.stack([image for image, _ in read_many(files, size, n_jobs=-1)])
    pixels = np.abs(new.astype(int) - reference.astype(int))
    print(f"{name}: the new images against the reference's")
    print(
        f"pixels ({len(files)} real images, 0-255): mean |difference| {pixels.mean():.2f}, "
        f"99th percentile {np.percentile(pixels, 99):.0f}, max {pixels.max()}"
    )
    features = BloodCellFeatures(image_size=size)
    reference_features = features.fit_transform(reference)
    new_features = features.fit_transform(new)
    spread = reference_features.std(axis=0)
    shift = np.abs(new_features - reference_features) / spread
    correlation = [
        np.corrcoef(reference_features[:, j], new_features[:, j])[0, 1]
        for j in range(len(FEATURE_NAMES))
    ]
    print("features: |new - reference| in standard deviations of the feature over the images")
    print(f"  {'feature':28s} {'mean':>6s} {'max':>6s} {'corr':>7s}")
    for j in np.argsort(-shift.mean(axis=0)):
        print(
            f"  {FEATURE_NAMES[j]:28s} {shift[:, j].mean():6.3f} {shift[:, j].max():6.2f} "
            f"{correlation[j]:7.4f}"
        )
    print(f"  all features: mean {shift.mean():.3f}, median {np.median(shift):.3f}")
    if target is None:
        return
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    models = {
        "logistic regression": lambda seed: make_pipeline(
            StandardScaler(), LogisticRegression(max_iter=5000)
        ),
        "dense baseline": lambda seed: make_dense_classifier(random_state=seed)[1:],
    }
    print("MYO vs NGS accuracy on the features, 5-fold CV (same folds), mean over seeds 0-2:")
    for label, build in models.items():
        scores = {}
        for which, X in (("reference", reference_features), ("new", new_features)):
            scores[which] = np.mean(
                [cross_val_score(build(seed), X, target, cv=cv).mean() for seed in range(3)]
            )
        print(
            f"  {label:20s} reference {scores['reference']:.4f}  new {scores['new']:.4f}  "
            f"difference {scores['new'] - scores['reference']:+.4f}"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the real images")
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=3, help="interleaved repeats")
    parser.add_argument("--n-reference", type=int, default=80, help="files for the reference")
    parser.add_argument("--no-full-size", dest="full_size", action="store_false")
    parser.add_argument("--no-effect", dest="effect", action="store_false")
    args = parser.parse_args(argv)

    myo_ngs = args.data / "matek_myo_ngs"
    sample = args.data / "aml_cytomorphology_sample" / "AML-Cytomorphology_LMU"
    if not myo_ngs.is_dir() or not sample.is_dir():
        # skipped, not failed: `nox -s bench` runs every benchmark, also where the real
        # images are not beside the project
        print(f"skipped: real images not available at {args.data} (pass --data)")
        return
    jpegs = sorted(str(p) for p in myo_ngs.glob("*/*.jpg"))
    # the 50 original TIFFs, repeated: the files come from the page cache either way
    tiffs = sorted(str(p) for code in ORIGINAL_TIFF_CLASSES for p in (sample / code).glob("*"))
    tiffs = (tiffs * 16)[:800]
    print(f"cores: {os.cpu_count()}, load average before: {os.getloadavg()[0]:.2f}")

    speed("JPEG 400 x 400 (matek_myo_ngs)", jpegs, args)
    speed("TIFF 400 x 400 RGBA (15-class sample originals)", tiffs, args)

    work = Path(tempfile.mkdtemp(prefix="bench_loaders_"))
    try:
        cached_reload("MYO vs NGS JPEG folder", myo_ngs, args, work / "cache-jpeg")
        if args.full_size:
            root = full_size_tree(sample, work / "full")
            cached_reload(
                "full-size tree (links to the sample's TIFFs)", root, args, work / "cache-full"
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)

    if args.effect:
        all_tiffs = sorted(str(p) for p in sample.glob("*/*.tiff"))
        resampling_effect("TIFF, the 15-class sample", all_tiffs, None, args)
        target = np.array([Path(p).parent.name == "MYO" for p in jpegs], dtype=int)
        resampling_effect("JPEG, MYO vs NGS", jpegs, target, args)
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
