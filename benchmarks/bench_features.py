"""Speed of BloodCellFeatures against the plain scikit-image reference, in one run.

Prints the reference's milliseconds per image (on a subset), the fused numba path's
images per second (after a warm-up call, whose time - numba compilation or loading of
the cached compiled kernels - is printed separately), their ratio, and the largest
difference between the two on the images both computed.

    python benchmarks/bench_features.py
    python benchmarks/bench_features.py --n-fast 20000 --n-reference 200 --n-jobs 1

Timings are wall-clock (best of ``--repeat``); the CPU time of the fast path is printed
too, since on a shared machine the wall-clock time includes waiting for a core.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

from qbloodcell._images import check_images
from qbloodcell.features import FEATURE_NAMES, BloodCellFeatures

# the scikit-image reference is the tests' (tests/_references), found from this file's location
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from _references.features import reference_batch


def synthetic_images(n_images: int, image_size: int, n_distinct: int, seed: int) -> np.ndarray:
    """``n_images`` smear images from make_blood_cells (``n_distinct`` rendered, repeated)."""
    from qbloodcell.datasets import make_blood_cells

    per_class = max(1, min(n_distinct, n_images) // 2)
    images = make_blood_cells(per_class, image_size=image_size, random_state=seed).images
    repeats = -(-n_images // len(images))
    return np.concatenate([images] * repeats)[:n_images]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-fast", type=int, default=5000, help="images for the fast path")
    parser.add_argument("--n-reference", type=int, default=100, help="images for the reference")
    parser.add_argument(
        "--n-distinct", type=int, default=1000, help="distinct synthetic images rendered"
    )
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--n-jobs", type=int, default=-1, help="threads (default: -1, all)")
    parser.add_argument("--repeat", type=int, default=5, help="timed repeats, best is kept")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    print(f"cores: {os.cpu_count()}, load average before: {os.getloadavg()[0]:.2f}")
    start = time.perf_counter()
    raw = synthetic_images(args.n_fast, args.image_size, args.n_distinct, args.seed)
    print(
        f"rendered {min(args.n_distinct, args.n_fast)} synthetic RGB images of "
        f"{args.image_size} x {args.image_size} in {time.perf_counter() - start:.1f} s "
        f"(repeated to {len(raw)})"
    )
    transformer = BloodCellFeatures(image_size=args.image_size, n_jobs=args.n_jobs)

    start = time.perf_counter()
    transformer.transform(raw[:2])
    print(f"first call (numba compilation or cache load): {time.perf_counter() - start:.2f} s")

    # the conversion to gray float64 is the same for both paths; time the features alone
    gray = check_images(raw, image_size=args.image_size)
    best_wall = np.inf
    best_cpu = np.inf
    for _ in range(args.repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        fast = transformer.transform(gray)
        best_wall = min(best_wall, time.perf_counter() - wall)
        best_cpu = min(best_cpu, time.process_time() - cpu)
    fast_per_image = best_wall / len(gray)
    print(
        f"fast path: {len(gray)} images in {best_wall:.3f} s -> "
        f"{1 / fast_per_image:,.0f} images/s ({1e6 * fast_per_image:.1f} us/image; "
        f"CPU time {1e6 * best_cpu / len(gray):.1f} us/image over all threads)"
    )
    best_raw = np.inf
    for _ in range(args.repeat):
        start = time.perf_counter()
        fast_from_raw = transformer.transform(raw)
        best_raw = min(best_raw, time.perf_counter() - start)
    print(
        f"from the uint8 RGB images (gray conversion included): "
        f"{len(raw) / best_raw:,.0f} images/s ({1e6 * best_raw / len(raw):.1f} us/image)"
    )

    subset = gray[: args.n_reference]
    start = time.perf_counter()
    reference = reference_batch(subset)
    reference_per_image = (time.perf_counter() - start) / len(subset)
    print(
        f"reference (scikit-image, one image at a time): {len(subset)} images, "
        f"{1e3 * reference_per_image:.1f} ms/image -> {1 / reference_per_image:,.0f} images/s"
    )
    print(f"speed-up: {reference_per_image / fast_per_image:,.0f}x")

    difference = np.abs(fast[: len(subset)] - reference)
    relative = difference / np.maximum(1.0, np.abs(reference))
    worst = int(np.argmax(relative.max(axis=0)))
    print(
        f"max abs difference on the {len(subset)} common images: {difference.max():.3g}; "
        f"max difference relative to max(1, |reference|): {relative.max():.3g} "
        f"({FEATURE_NAMES[worst]})"
    )
    np.testing.assert_array_equal(fast, fast_from_raw)
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
