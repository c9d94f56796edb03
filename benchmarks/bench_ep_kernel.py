"""Where EquilibriumPropagationClassifier.predict spends its time, on bench_ep.py's network.

Run: ``python benchmarks/bench_ep_kernel.py``. Trains the network of ``bench_ep.py`` (seed
0, study protocol) and prints, each as the median of many calls measured in this run:

1. ``predict`` on 100 test samples; the relaxation alone, as ``predict`` runs it (two
   groups of 50 rows in two threads when BLAS may use two); each group relaxed alone; and
   scikit-learn's input validation. The two groups at once against the slower one alone
   shows how much two threads slow each other down on this machine (1.0: not at all;
   2.0: no gain from the second core);
2. one-thread BLAS time per row of the largest product of a sweep, ``s @ W`` with ``W`` of
   shape (256, 128), for 4 to 100 rows; and the kernel's own row loops
   (``_add_row_products``), which replace BLAS below ``_FEW_ROWS`` rows;
3. the layer update loop of the kernel (``_update_tanh``) compiled with fused
   multiply-adds (``fastmath={"contract"}``, as the kernel is) and without, in ns per unit.
"""

from __future__ import annotations

import importlib.util
import pathlib
import time

import numpy as np
from numba import njit
from sklearn.utils.validation import validate_data
from threadpoolctl import threadpool_limits

from qbloodcell import _threads
from qbloodcell.ep import EquilibriumPropagationClassifier, _kernels
from qbloodcell.ep._network import _PLAIN_SWEEPS, Network

_spec = importlib.util.spec_from_file_location(
    "bench_ep", pathlib.Path(__file__).with_name("bench_ep.py")
)
assert _spec is not None
assert _spec.loader is not None
bench_ep = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_ep)


def _median_us(call, repeats):
    call()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return float(np.median(times) * 1e6)


def _interleaved_us(calls, repeats):
    """Median time of each call, the calls taking turns (so that machine noise hits all)."""
    for call in calls.values():
        call()
    times = {name: [] for name in calls}
    for _ in range(repeats):
        for name, call in calls.items():
            start = time.perf_counter()
            call()
            times[name].append(time.perf_counter() - start)
    return {name: float(np.median(values) * 1e6) for name, values in times.items()}


def predict_breakdown(model, batch):
    arch = Network([w.shape[0] for w in model.coefs_] + [model.coefs_[-1].shape[1]])
    weights = np.concatenate([w.ravel() for w in model.coefs_])
    biases = np.concatenate(model.intercepts_)
    n_samples = batch.shape[0]
    half = n_samples // 2
    targets = np.zeros((n_samples, arch.n_outputs))
    # beta, activation, step cap, tolerance, over-relaxation, plain sweeps: as predict
    settings = (
        0.0,
        _kernels.TANH,
        model.n_free_steps,
        model.relax_tol,
        model.over_relaxation,
        _PLAIN_SWEEPS,
    )

    def relax(a, b):
        def call():
            states = np.zeros(n_samples * arch.n_units)
            with _threads.single_threaded_blas():
                arch._relax_rows(batch[a:b], weights, biases, states, targets[a:b], *settings, a)

        return call

    def both():
        states = np.zeros(n_samples * arch.n_units)
        arch.relax(batch, weights, biases, states, targets, *settings)

    times = _interleaved_us(
        {
            "predict": lambda: model.predict(batch),
            "relaxation": both,
            "first half alone": relax(0, half),
            "second half alone": relax(half, n_samples),
            "validate_data": lambda: validate_data(
                model, batch, dtype=np.float64, order="C", reset=False
            ),
        },
        repeats=50,
    )
    print(f"1. {n_samples} samples, {_threads.blas_threads()} BLAS threads available:")
    for name, value in times.items():
        print(f"   {name:<20} {value / 1e3:7.2f} ms")
    slower = max(times["first half alone"], times["second half alone"])
    print(
        f"   the two halves at once take {times['relaxation'] / slower:.2f} times as long as "
        "the slower half alone"
    )


@njit(nogil=True)
def _blas(out, left, matrix, n_calls):
    for _ in range(n_calls):
        np.dot(left, matrix, out)


@njit(nogil=True)
def _row_loops(out, left, matrix, n_calls):
    for _ in range(n_calls):
        out[:] = 0.0
        _kernels._add_row_products(out, left, matrix)


def blas_rows():
    rng = np.random.default_rng(0)
    matrix = rng.normal(size=(256, 128))

    print("2. s @ W, W of shape (256, 128), one thread: microseconds per row")
    print(f"   {'rows':>4}  {'BLAS':>6}  {'row loops':>9}")
    with threadpool_limits(1):
        for n_rows in (4, 8, 12, 16, 24, 28, 32, 50, 64, 100):
            left = rng.normal(size=(n_rows, 256))
            out = np.empty((n_rows, 128))
            times = _interleaved_us(
                {
                    "blas": lambda left=left, out=out: _blas(out, left, matrix, 50),
                    "loops": lambda left=left, out=out: _row_loops(out, left, matrix, 50),
                },
                repeats=15,
            )
            print(
                f"   {n_rows:>4}  {times['blas'] / 50 / n_rows:6.2f}  "
                f"{times['loops'] / 50 / n_rows:9.2f}"
            )


def update_loop():
    update = _kernels._update_tanh.py_func
    variants = {
        "fused multiply-adds": njit(nogil=True, error_model="numpy", fastmath={"contract"})(update),
        "separate": njit(nogil=True, error_model="numpy")(update),
    }
    rng = np.random.default_rng(0)
    n_rows, n_units = 50, 256
    first = rng.normal(size=(n_rows, n_units))
    second = rng.normal(size=(n_rows, n_units))
    bias = rng.normal(scale=0.1, size=n_units)
    start_states = np.tanh(first + second + bias) + rng.normal(scale=1e-3, size=(n_rows, n_units))
    exceed = np.zeros(n_rows, dtype=np.int64)

    def call(function):
        def run():
            states = start_states.copy()
            for _ in range(20):
                function(states, first, second, bias, 1.4, True, -1.0, 1e-3, exceed)

        return run

    times = _interleaved_us({name: call(f) for name, f in variants.items()}, repeats=30)
    print("3. the layer update loop (50 x 256 units, over-relaxed): ns per unit")
    for name, value in times.items():
        print(f"   {name:<20} {value * 1e3 / 20 / (n_rows * n_units):5.2f}")
    print(f"   ratio {times['separate'] / times['fused multiply-adds']:.2f}")


def main():
    X, y, source = bench_ep.load_data()
    X_train, X_test, y_train, _ = bench_ep.split(X, y, 0)
    model = EquilibriumPropagationClassifier(random_state=0).fit(X_train, y_train)
    print(f"data: {source}; network of bench_ep.py, seed 0 ({model.n_iter_} epochs)")
    print(f"machine speed: {bench_ep._blas_gflops():.1f} GFLOP/s (one-thread BLAS)")
    predict_breakdown(model, np.ascontiguousarray(X_test[:100]))
    blas_rows()
    update_loop()
    print(f"machine speed at the end: {bench_ep._blas_gflops():.1f} GFLOP/s")


if __name__ == "__main__":
    main()
