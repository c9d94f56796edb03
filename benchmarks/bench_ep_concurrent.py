"""Benchmark EquilibriumPropagationClassifier.fit alone and two at once in two processes.

Run: ``python benchmarks/bench_ep_concurrent.py``. On a 2-core machine two processes
fitting at once should each take about as long as one fit alone: the relaxations call
BLAS with one thread (multi-threaded BLAS, whose threads wait for each other by spinning,
made each of two fits at once about 10 times slower than one alone).
"""

from __future__ import annotations

import multiprocessing
import pathlib
import sys
import time


def fit_once(seed: int = 1) -> float:
    sys.path.insert(0, str(pathlib.Path(__file__).parent))
    import bench_ep

    X, y, _ = bench_ep.load_data()
    X_train, _, y_train, _ = bench_ep.split(X, y, seed)
    start = time.perf_counter()
    bench_ep.EquilibriumPropagationClassifier(random_state=seed).fit(X_train, y_train)
    return time.perf_counter() - start


def main() -> None:
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        pool.apply(fit_once, (0,))  # warm the numba cache
        alone = pool.apply(fit_once)
    with context.Pool(2) as pool:
        both = pool.map(fit_once, [1, 1])
    print(f"fit alone: {alone:.2f} s")
    print(
        f"two fits at once in two processes: {both[0]:.2f} s and {both[1]:.2f} s "
        f"(ratio to alone {max(both) / alone:.2f})"
    )


if __name__ == "__main__":
    main()
