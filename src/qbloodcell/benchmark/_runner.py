"""``run_benchmark``: the study's protocol, tying plan -> execute -> report.

:mod:`._plan` decides what runs (data, paired subsets and splits, tasks, the feature
cache), :mod:`._execute` runs it (serially, on loky or on dask, one task function),
:mod:`._stats` summarises it and :mod:`._report` writes the files.
"""

from __future__ import annotations

import math
import os
import time
import warnings
from collections.abc import Mapping, Sequence
from numbers import Integral
from pathlib import Path
from typing import Any

import numpy as np

from qbloodcell._validation import (
    Boolean,
    InstanceOf,
    Integer,
    IntegerSequence,
    NJobs,
    NoneValue,
    Options,
    PathLike,
    Spec,
    check_arguments,
)
from qbloodcell.benchmark._execute import execute, progress_bar
from qbloodcell.benchmark._methods import resolve_methods
from qbloodcell.benchmark._plan import (
    DEFAULT_SEEDS,
    MIN_SIZE,
    QUICK_SEEDS,
    QUICK_SIZES,
    STUDY_SIZES,
    check_methods,
    check_sizes,
    check_sizes_fit_methods,
    fingerprint,
    load_data,
    make_plan,
)
from qbloodcell.benchmark._protocol import StudyProtocol, describe, resolve_protocol
from qbloodcell.benchmark._report import BenchmarkResult, ResultsWriter, write_outputs
from qbloodcell.benchmark._resume import prepare_out
from qbloodcell.benchmark._stats import paired_differences, summarize
from qbloodcell.datasets._loaders import CLASS_MAPPING_SPECS

__all__ = ["DEFAULT_SEEDS", "QUICK_SEEDS", "QUICK_SIZES", "STUDY_SIZES", "run_benchmark"]


#: What each argument of :func:`run_benchmark` accepts (see :mod:`qbloodcell._validation`);
#: the rules between arguments (``resume`` and ``overwrite``, ``scheduler_address`` and
#: ``backend``) are checked in the function.
_RUN_BENCHMARK_SPECS: dict[str, list[Spec]] = {
    "methods": [
        InstanceOf(
            (str, Sequence, Mapping),
            "a method name, a sequence of names or a dict {name: factory or estimator}",
        )
    ],
    "sizes": [NoneValue(), IntegerSequence(MIN_SIZE, scalar_ok=True, example="(50, 100)")],
    "n_seeds": [NoneValue(), Integer(1)],
    "data": [
        NoneValue(),
        InstanceOf(
            (str, os.PathLike),
            "a path to a local AML-Cytomorphology_LMU copy or a folder of class folders",
        ),
        InstanceOf((tuple, list), "a pair (images, y)"),
    ],
    "target": [Options(["binary", "morphology"])],
    "class_mapping": CLASS_MAPPING_SPECS,
    "out": [NoneValue(), PathLike()],
    "resume": [Boolean()],
    "overwrite": [Boolean()],
    "n_jobs": [NoneValue(), NJobs()],
    "backend": [Options(["loky", "dask"])],
    "scheduler_address": [NoneValue(), InstanceOf(str, "a str such as 'tcp://10.0.0.5:8786'")],
    "cache_features": [Boolean()],
    "progress": [Boolean()],
    "random_state": [NoneValue(), Integer(0)],
    "quick": [Boolean()],
    "protocol": [
        InstanceOf(
            (str, list, tuple, StudyProtocol),
            "'paper', 'study-code', a switch name, a list of switch names or a StudyProtocol",
        )
    ],
}


def run_benchmark(
    *,
    methods: Any = ("cnn", "dense", "ep", "vqc", "vqc-study"),
    sizes: Sequence[int] | None = None,
    n_seeds: int | None = None,
    data: Any = None,
    target: str = "binary",
    class_mapping: Any = None,
    out: str | os.PathLike[str] | None = None,
    resume: bool = False,
    overwrite: bool = False,
    n_jobs: int | None = None,
    backend: str = "loky",
    scheduler_address: str | None = None,
    cache_features: bool = True,
    progress: bool = True,
    random_state: int | None = 0,
    quick: bool = False,
    protocol: Any = "paper",
) -> BenchmarkResult:
    """Run the study's benchmark: methods x samples per class x seeds.

    For every sample size and seed, a new class-balanced subset of ``size`` images per
    class is drawn and split 80/20 (stratified); every method is fitted on the same
    training split and scored on the same test split, so methods are compared on paired
    data. Every step of every pipeline is fitted on the training split only.

    Parameters
    ----------
    methods : str, sequence of str or dict, default=("cnn", "dense", "ep", "vqc", "vqc-study")
        Built-in methods by name: ``"cnn"`` (:class:`qbloodcell.baselines.CNNClassifier`
        on the images), ``"dense"`` (:func:`qbloodcell.baselines.make_dense_classifier`),
        ``"ep"`` (BloodCellFeatures -> StandardScaler ->
        :class:`qbloodcell.ep.EquilibriumPropagationClassifier`), ``"vqc"``
        (BloodCellFeatures -> PCA(4) -> :class:`qbloodcell.quantum.VQCClassifier` with its
        defaults and fitted input scaling) and ``"vqc-study"`` (the study's VQC exactly:
        BloodCellFeatures -> StandardScaler -> PCA(4) -> MinMaxScaler((0, 2)) -> its
        circuit with the angles taken as given and SciPy's COBYLA). A dict ``{name: factory}`` adds
        other methods: ``factory(random_state=int)`` returns an unfitted estimator taking
        images, or the value is an unfitted estimator (cloned, with every
        ``*random_state`` parameter set per seed); a value ``None`` picks the built-in
        method of that name. A built-in method whose package is missing (the CNN without
        torch) or whose component cannot be imported is reported as unavailable, with the
        reason, before any fit, and the others run.
    sizes : sequence of int or None, default=None
        Images per class of the balanced subsets, each at least 5, and large enough for
        every method's early-stopping split (one image per class on each side; the dense
        network needs 7 for two classes); None: (50, 100, 200, 250), the study's sizes, or
        (50, 100) with ``quick=True``.
    n_seeds : int or None, default=None
        Repetitions per size, each with a new subset, split and model seed; None: 10, or 2
        with ``quick=True``. Intervals need at least 3.
    data : None, path or (images, y), default=None
        None: synthetic images from :func:`qbloodcell.datasets.make_blood_cells` (a pool
        of twice the largest size per class, seeded by ``random_state``). A path: a local
        copy of AML-Cytomorphology_LMU (read by
        :func:`qbloodcell.datasets.load_aml_cytomorphology`) or any folder with one
        sub-folder of images per class (read by
        :func:`qbloodcell.datasets.load_image_folder`), told apart by the folder names:
        folders named only with the dataset's class codes (``MYO``, ``NGS``, ...) are
        the dataset's layout. Images are read in parallel and cached on disk. A pair
        ``(images, y)``: your own images (any batch ``BloodCellFeatures`` accepts) and
        labels.
    target : {"binary", "morphology"}, default="binary"
        ``"binary"``: AML vs healthy. ``"morphology"``: the cell classes (15 in the real
        dataset, the rendered cell types for synthetic data); a method whose classifier is
        binary-only is reported as unavailable. Ignored when ``data`` is ``(images, y)``.
    class_mapping : {"blast", "study"}, dict or None, default=None
        With ``data`` a path and ``target="binary"``: which classes are AML. ``"blast"``
        (None) the blast and blast-equivalent classes, ``"study"`` every class but the
        four common mature ones (the study code's grouping), a dict maps class names to
        ``"AML"``, ``"healthy"`` or ``None`` (see
        :func:`qbloodcell.datasets.load_aml_cytomorphology`); a folder tree whose
        folders are not class codes needs a dict.
    out : path or None, default=None
        Folder for results.csv (written row by row as runs finish), summary.json,
        table.md, accuracy_vs_samples.png and train_time.png; None writes nothing.
    resume : bool, default=False
        Keep the finished runs of ``out/results.csv`` and run only the missing ones (and
        those that failed). The random_state, target and data must match.
    overwrite : bool, default=False
        Start afresh even if ``out/results.csv`` exists. Without ``resume`` or
        ``overwrite`` an existing results file is an error, so nothing is lost.
    n_jobs : int or None, default=None
        Number of fits run at once, in joblib's loky worker processes, with the package's
        one meaning of ``n_jobs`` (:ref:`parallelism`): ``None`` is one (fits one after
        another in this process) unless the call runs inside
        :func:`joblib.parallel_config`, ``-1`` one per core. The cores are shared out
        between the fits that run at once: each fit runs with a budget of ``cores //
        n_workers`` threads (recorded in the ``n_threads`` column), for
        ``joblib.parallel_config`` (which the steps whose own ``n_jobs`` is None follow),
        BLAS (threadpoolctl) and numba. The CNN trains on one thread whatever the budget.
    backend : {"loky", "dask"}, default="loky"
        ``"dask"`` sends the fits to a dask.distributed cluster: the one at
        ``scheduler_address``, else the current default client, else a local cluster of
        ``n_jobs`` single-threaded workers (each fit then runs on one thread).
    scheduler_address : str or None, default=None
        Address of a dask scheduler, e.g. ``"tcp://10.0.0.5:8786"`` (``backend="dask"``).
    cache_features : bool, default=True
        :class:`qbloodcell.BloodCellFeatures` is stateless, so a pipeline starting with it
        gets the features computed once per image, and its fit and predict times are
        charged the measured per-image feature time for every training and test image.
        False computes them inside every fit (slower, same results).
    progress : bool, default=True
        Show a tqdm progress bar (what runs, what is left).
    random_state : int or None, default=0
        Seeds everything: the synthetic data, the subsets, the splits and the models. None
        draws a seed, recorded in the outputs. Same seed, same results, whatever
        ``n_jobs`` and ``backend`` (for every built-in method).
    quick : bool, default=False
        The demo and CI preset: sizes (50, 100), 2 seeds and fewer training epochs for the
        CNN and EP (see ``qbloodcell.benchmark._methods.QUICK_SETTINGS``; the VQC and the
        dense network are fast enough as they are). Not the
        study's protocol; say so when you report its numbers.
    protocol : str, list of str or StudyProtocol, default="paper"
        The protocol audit (:ref:`protocol_audit`): ``"paper"`` is the protocol above,
        ``"study-code"`` turns on every undeclared choice of the study's published code,
        a switch name or a list of them turns on those only: ``"scale-on-all"``,
        ``"select-on-test"``, ``"vqc-search-on-test"``, ``"directory-order"``,
        ``"study-ansatz"``, ``"study-features"`` (see
        :class:`~qbloodcell.benchmark.StudyProtocol`, which also sets the VQC search's
        budget and target). Every switch but ``"paper"`` lets the test split leak into
        training or model selection, or changes the method: its accuracies are not
        honest estimates. The protocol is recorded in every row and in the summary, and a
        resumed run must use the same one.

    Returns
    -------
    result : BenchmarkResult
        Runs, summary (mean and 95 % t-interval per method and size), paired
        differences between methods, unavailable methods, config; ``result.to_frame()``
        gives a pandas DataFrame and ``result.to_markdown()`` the Table II-shaped table.

    Raises
    ------
    TypeError
        For an argument of the wrong type (``n_seeds=2.0``, ``progress="yes"``).
    ValueError
        For invalid argument values, a class with fewer images than the largest size
        (named), a size too small for a method's early-stopping split, an
        existing results file without ``resume``/``overwrite``, or a resumed file made with
        other settings.
    FileNotFoundError
        If ``data`` is a path that does not exist.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.dummy import DummyClassifier
    >>> from qbloodcell.benchmark import run_benchmark
    >>> rng = np.random.default_rng(0)
    >>> images = rng.random((40, 16, 16))
    >>> y = np.repeat([0, 1], 20)
    >>> result = run_benchmark(
    ...     methods={"majority": DummyClassifier()},
    ...     sizes=[10, 20],
    ...     n_seeds=2,
    ...     data=(images, y),
    ...     progress=False,
    ... )
    >>> [(e["n_samples_per_class"], e["accuracy"]["mean"]) for e in result.summary]
    [(10, 0.5), (20, 0.5)]
    """
    check_arguments(
        {
            "methods": methods,
            "sizes": sizes,
            "n_seeds": n_seeds,
            "data": data,
            "target": target,
            "class_mapping": class_mapping,
            "out": out,
            "resume": resume,
            "overwrite": overwrite,
            "n_jobs": n_jobs,
            "backend": backend,
            "scheduler_address": scheduler_address,
            "cache_features": cache_features,
            "progress": progress,
            "random_state": random_state,
            "quick": quick,
            "protocol": protocol,
        },
        _RUN_BENCHMARK_SPECS,
    )
    protocol = resolve_protocol(protocol)
    if sizes is None:
        sizes = QUICK_SIZES if quick else STUDY_SIZES
    size_list = [int(sizes)] if isinstance(sizes, Integral) else [int(size) for size in sizes]
    if len(set(size_list)) != len(size_list):
        raise ValueError(f"sizes must not repeat a size; got {size_list} (duplicates).")
    sizes = tuple(sorted(size_list))
    if n_seeds is None:
        n_seeds = QUICK_SEEDS if quick else DEFAULT_SEEDS
    n_seeds = int(n_seeds)
    if scheduler_address is not None and backend != "dask":
        raise ValueError(
            f"scheduler_address={scheduler_address!r} is only used with backend='dask', "
            f"got backend={backend!r}."
        )
    if resume and overwrite:
        raise ValueError("resume=True and overwrite=True exclude each other: choose one.")
    if random_state is None:
        random_state = int(np.random.SeedSequence().generate_state(1)[0] % (2**31 - 1))
    random_state = int(random_state)

    specs = resolve_methods(methods, quick=quick)
    started = time.perf_counter()
    data_set = load_data(
        data, target, sizes, random_state, class_mapping=class_mapping, progress=progress
    )
    images, y = data_set.images, data_set.y
    data_seconds = time.perf_counter() - started
    data_id = fingerprint(images, y)
    labels = {spec.name: spec.label for spec in specs}
    n_classes = np.unique(y).shape[0]

    # plan: which methods can run, how each is trained, the paired splits, the tasks
    check_sizes(y, sizes, data_set.class_names)
    unavailable, settings, estimators = check_methods(specs, n_classes, quick, protocol)
    check_sizes_fit_methods(estimators, sizes, int(n_classes))
    for name, reason in unavailable.items():
        warnings.warn(f"method {name!r} is unavailable: {reason}", stacklevel=2)
    out_dir = None if out is None else Path(out)
    finished: list[dict[str, Any]] = []
    if out_dir is not None:
        finished = prepare_out(
            out_dir, resume, overwrite, random_state, target, data_id, settings, protocol.name
        )
    planning = time.perf_counter()
    plan = make_plan(
        specs,
        data_set,
        sizes,
        n_seeds,
        random_state,
        unavailable=unavailable,
        settings=settings,
        finished=finished,
        cache=cache_features,
        protocol=protocol,
    )
    config = {
        "methods": list(labels),
        "sizes": list(sizes),
        "n_seeds": n_seeds,
        "data": data_set.description,
        "data_id": data_id,
        "n_images": int(y.shape[0]),
        "n_classes": int(n_classes),
        "target": target,
        "random_state": random_state,
        "quick": quick,
        "n_jobs": n_jobs,
        "backend": backend,
        "cache_features": cache_features,
        "pipelines": {spec.name: spec.pipeline for spec in specs},
        "feature_warm_up_seconds": plan.warm_up_seconds,
        "protocol": describe(protocol),
    }
    fitting = time.perf_counter()

    # execute: rows are written as fits finish (the file is created with the first row)
    new_rows = _execute_plan(
        plan,
        y,
        out_dir=out_dir,
        n_jobs=n_jobs,
        backend=backend,
        scheduler_address=scheduler_address,
        progress=progress,
        stamp={
            "random_state": random_state,
            "target": target,
            "data_id": data_id,
            "protocol": protocol.name,
        },
    )

    # report
    config["seconds"] = {
        "data": data_seconds,
        "plan_and_feature_cache": fitting - planning,
        "fits": time.perf_counter() - fitting,
        "fits_cpu": sum(r["cpu_seconds"] for r in new_rows if not math.isnan(r["cpu_seconds"])),
    }
    order = {spec.name: i for i, spec in enumerate(specs)}
    runs = [
        r for r in finished if (r["method"], r["n_samples_per_class"], r["seed"]) in plan.wanted
    ]
    runs = sorted(
        runs + new_rows, key=lambda r: (order[r["method"]], r["n_samples_per_class"], r["seed"])
    )
    available = [name for name in labels if name not in unavailable]
    config["warm_up_seconds"] = {
        name: sum(r.get("warm_up_seconds") or 0.0 for r in new_rows if r["method"] == name)
        for name in available
    }
    result = BenchmarkResult(
        runs=runs,
        summary=summarize(runs, list(labels), sizes),
        unavailable=unavailable,
        labels=labels,
        config=config,
        out=out_dir,
        differences=paired_differences(runs, available, sizes),
    )
    if out_dir is not None:
        result.files = write_outputs(result, out_dir)
    failed = [r for r in new_rows if r["status"] == "failed"]
    if failed:
        first = failed[0]
        warnings.warn(
            f"{len(failed)} of {len(new_rows)} runs failed (see the 'note' column); the "
            f"first: {first['method']} at {first['n_samples_per_class']} per class, seed "
            f"{first['seed']}: {first['note']}",
            stacklevel=2,
        )
    return result


def _execute_plan(
    plan: Any,
    y: np.ndarray,
    *,
    out_dir: Path | None,
    n_jobs: int | None,
    backend: str,
    scheduler_address: str | None,
    progress: bool,
    stamp: dict[str, Any],
) -> list[dict[str, Any]]:
    """Run the plan's tasks; each row is appended to ``out_dir/results.csv`` at once."""
    new_rows: list[dict[str, Any]] = []
    writer: ResultsWriter | None = None
    total = len(plan.wanted)
    bar = progress_bar(progress, total=total, initial=total - len(plan.tasks))
    try:
        for task, metrics in execute(
            plan.tasks,
            plan.payload,
            y,
            n_jobs=n_jobs,
            backend=backend,
            scheduler_address=scheduler_address,
            bar=bar,
        ):
            row = {
                "method": task.method,
                "n_samples_per_class": task.size,
                "seed": task.seed,
                **metrics,
                **stamp,
                "settings": plan.settings[task.method],
            }
            new_rows.append(row)
            if out_dir is not None:
                if writer is None:
                    writer = ResultsWriter(out_dir / "results.csv")
                writer.write(row)
            if bar is not None:
                accuracy = metrics["accuracy"]
                shown = "failed" if metrics["status"] == "failed" else f"acc={accuracy:.3f}"
                bar.set_postfix_str(f"last: {task.method} n={task.size} seed={task.seed} {shown}")
                bar.update(1)
    finally:
        if writer is not None:
            writer.close()
        if bar is not None:
            bar.close()
    return new_rows
