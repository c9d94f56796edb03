"""The study's protocol: balanced subsets, 80/20 splits, seeds, parallel fits, resume."""

from __future__ import annotations

import hashlib
import math
import os
import threading
import time
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from numbers import Integral
from pathlib import Path
from typing import Any

import numpy as np
from joblib import parallel_config
from sklearn.base import clone
from sklearn.metrics import accuracy_score, balanced_accuracy_score, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.utils import _safe_indexing, get_tags

from qbloodcell._parallel import effective_n_jobs
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
from qbloodcell.benchmark._methods import MethodSpec, resolve_methods
from qbloodcell.benchmark._protocol import (
    StudyProtocol,
    adapt_estimator,
    describe,
    fit_with_protocol,
    resolve_protocol,
    select_subset,
)
from qbloodcell.benchmark._report import (
    BenchmarkResult,
    ResultsWriter,
    read_rows,
    summarize,
    write_outputs,
    write_rows,
)
from qbloodcell.datasets._loaders import CLASS_MAPPING_SPECS

#: The study's sample sizes (images per class) and our default number of seeds.
STUDY_SIZES = (50, 100, 200, 250)
DEFAULT_SEEDS = 3
#: The ``quick`` preset: two small sizes, two seeds, fewer training iterations.
QUICK_SIZES = (50, 100)
QUICK_SEEDS = 2
#: The synthetic pool holds this many times the largest size per class, so that every
#: seed draws a different subset even at the largest size.
SYNTHETIC_POOL_FACTOR = 2
#: Smallest size: the stratified 80/20 split must leave a test sample of every class.
MIN_SIZE = 5
TEST_FRACTION = 0.2


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


@dataclass
class _Task:
    method: str
    size: int
    seed: int
    estimator: Any
    data_key: str
    train: np.ndarray
    test: np.ndarray
    feature_seconds_per_image: float
    protocol: StudyProtocol | None = None


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
        method of that name. A built-in method whose component cannot be imported is
        reported as unavailable, with the reason, and the others run.
    sizes : sequence of int or None, default=None
        Images per class of the balanced subsets, each at least 5; None: (50, 100, 200,
        250), the study's sizes, or (50, 100) with ``quick=True``.
    n_seeds : int or None, default=None
        Repetitions per size, each with a new subset, split and model seed; None: 3, or 2
        with ``quick=True``.
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
        between the fits that run at once: each fit runs inside
        ``joblib.parallel_config(n_jobs=cores // n_workers)``, which the steps whose own
        ``n_jobs`` is None (those of every built-in method) follow.
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
        ``n_jobs`` and ``backend``.
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
        Runs, summary (mean and 95 % t-interval per method and size), unavailable
        methods, config; ``result.to_frame()`` gives a pandas DataFrame and
        ``result.to_markdown()`` the Table II-shaped table.

    Raises
    ------
    TypeError
        For an argument of the wrong type (``n_seeds=2.0``, ``progress="yes"``).
    ValueError
        For invalid argument values, a class with fewer images than the largest size, an
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
    images, y, data_description = _load_data(
        data, target, sizes, random_state, class_mapping=class_mapping, progress=progress
    )
    data_id = _fingerprint(images, y)
    labels = {spec.name: spec.label for spec in specs}

    out_dir = None if out is None else Path(out)
    finished: list[dict[str, Any]] = []
    settings = {spec.name: _settings_id(spec, quick, protocol.name) for spec in specs}
    if out_dir is not None:
        finished = _prepare_out(
            out_dir, resume, overwrite, random_state, target, data_id, settings, protocol.name
        )

    # the subsets and splits are the same for every method: paired comparisons
    splits = {
        (size, seed): _split(y, size, seed, random_state, protocol)
        for size in sizes
        for seed in range(n_seeds)
    }

    n_classes = np.unique(y).shape[0]
    unavailable: dict[str, str] = {}
    for spec in specs:
        reason = _unavailable_reason(spec, n_classes)
        if reason is not None:
            unavailable[spec.name] = reason
            warnings.warn(f"method {spec.name!r} is unavailable: {reason}", stacklevel=2)

    wanted = {
        (spec.name, size, seed)
        for spec in specs
        if spec.name not in unavailable
        for size in sizes
        for seed in range(n_seeds)
    }
    done = {(r["method"], r["n_samples_per_class"], r["seed"]): r for r in finished}
    payload: dict[str, Any] = {"images": images}
    tasks: list[_Task] = []
    for spec in specs:
        if spec.name in unavailable:
            continue
        for size in sizes:
            for seed in range(n_seeds):
                if (spec.name, size, seed) in done:
                    continue
                train, test = splits[size, seed]
                estimator = spec.build(_model_seed(random_state, size, seed))
                estimator = adapt_estimator(estimator, protocol, spec.name)
                tasks.append(
                    _Task(spec.name, size, seed, estimator, "images", train, test, 0.0, protocol)
                )
    if cache_features:
        _cache_features(tasks, images, payload)

    config = {
        "methods": list(labels),
        "sizes": list(sizes),
        "n_seeds": n_seeds,
        "data": data_description,
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
        "protocol": describe(protocol),
    }
    new_rows: list[dict[str, Any]] = []
    writer = None if out_dir is None else ResultsWriter(out_dir / "results.csv")
    bar = _progress_bar(progress, total=len(wanted), initial=len(wanted) - len(tasks))
    try:
        for task, metrics in _execute(
            tasks,
            payload,
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
                "random_state": random_state,
                "target": target,
                "data_id": data_id,
                "settings": settings[task.method],
                "protocol": protocol.name,
            }
            new_rows.append(row)
            if writer is not None:
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

    order = {spec.name: i for i, spec in enumerate(specs)}
    runs = [r for r in finished if (r["method"], r["n_samples_per_class"], r["seed"]) in wanted]
    runs = sorted(
        runs + new_rows, key=lambda r: (order[r["method"]], r["n_samples_per_class"], r["seed"])
    )
    result = BenchmarkResult(
        runs=runs,
        summary=summarize(runs, list(labels), sizes),
        unavailable=unavailable,
        labels=labels,
        config=config,
        out=out_dir,
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


# ---------------------------------------------------------------------------------------
# data


def _load_data(
    data: Any,
    target: str,
    sizes: Sequence[int],
    random_state: int,
    *,
    class_mapping: Any = None,
    progress: bool = False,
) -> tuple[Any, np.ndarray, str]:
    if class_mapping is not None and not isinstance(data, str | os.PathLike):
        raise ValueError(
            "class_mapping groups the class folders of data=PATH; with synthetic images "
            "or data=(images, y) the labels are given: leave class_mapping out."
        )
    if data is None:
        from qbloodcell.datasets import make_blood_cells

        pool = SYNTHETIC_POOL_FACTOR * max(sizes)
        if target == "morphology":
            from qbloodcell.datasets._synthetic import AML_CELL_TYPES, HEALTHY_CELL_TYPES

            # the cell types are drawn with their shares: enough cells that the rarest
            # type has the largest size too (with a margin for the random draw)
            rarest = min(*HEALTHY_CELL_TYPES.values(), *AML_CELL_TYPES.values())
            pool = math.ceil(1.3 * pool / rarest)
        for _ in range(4):
            bunch = make_blood_cells(n_samples_per_class=pool, random_state=random_state)
            y = bunch.target if target == "binary" else bunch.cell_type
            if np.unique(y, return_counts=True)[1].min() >= max(sizes):
                break
            pool *= 2
        description = (
            f"synthetic images, make_blood_cells(n_samples_per_class={pool}, "
            f"random_state={random_state})"
        )
        return bunch.images, np.asarray(y), description
    if isinstance(data, str | os.PathLike):
        path = Path(data)
        if not path.exists():
            raise FileNotFoundError(
                f"data={str(data)!r} does not exist: give the folder of a local copy of the "
                "AML-Cytomorphology_LMU dataset, or any folder with one sub-folder of "
                "images per class."
            )
        from qbloodcell.datasets._loaders import load_class_tree

        bunch, description = load_class_tree(
            path, target=target, class_mapping=class_mapping, progress=progress
        )
        return bunch.images, np.asarray(bunch.target), description
    if len(data) != 2:
        raise ValueError(
            f"data must be a pair (images, y) when it is a {type(data).__name__}; got "
            f"{len(data)} items."
        )
    images, y = data
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"data=(images, y): y must be one-dimensional, got shape {y.shape}.")
    n_images = len(images)
    if n_images != y.shape[0]:
        raise ValueError(
            f"data=(images, y): {n_images} images but {y.shape[0]} labels; they must match."
        )
    return images, y, f"user data ({n_images} images)"


def _fingerprint(images: Any, y: np.ndarray) -> str:
    """A short hash of the data, so that a resumed run is known to use the same images."""
    digest = hashlib.blake2b(digest_size=8)
    digest.update(np.ascontiguousarray(y).astype(str).tobytes())
    if isinstance(images, np.ndarray):
        digest.update(str(images.shape).encode())
        digest.update(np.ascontiguousarray(images).tobytes())
    else:
        for image in images:
            digest.update(np.ascontiguousarray(np.asarray(image)).tobytes())
    return digest.hexdigest()


def _seeds(random_state: int, size: int, seed: int) -> np.ndarray:
    # three independent streams (subset, split, model) per (size, seed)
    return np.random.SeedSequence([random_state, size, seed]).generate_state(3) % (2**31 - 1)


def _model_seed(random_state: int, size: int, seed: int) -> int:
    return int(_seeds(random_state, size, seed)[2])


def _split(
    y: np.ndarray, size: int, seed: int, random_state: int, protocol: StudyProtocol | None = None
) -> tuple[np.ndarray, np.ndarray]:
    subset_seed, split_seed, _ = (int(s) for s in _seeds(random_state, size, seed))
    try:
        subset = select_subset(y, size, protocol or StudyProtocol(), random_state=subset_seed)
    except ValueError as exc:
        raise ValueError(f"Cannot draw {size} images per class (sizes): {exc}") from exc
    train, test = train_test_split(
        subset, test_size=TEST_FRACTION, stratify=y[subset], random_state=split_seed
    )
    return np.sort(train), np.sort(test)


def _settings_id(spec: MethodSpec, quick: bool, protocol: str = "paper") -> str:
    """A short hash of how a method is trained: its pipeline, the preset and the protocol."""
    text = f"{spec.pipeline}|quick={bool(quick)}"
    if protocol != "paper":
        text += f"|protocol={protocol}"
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _prepare_out(
    out: Path,
    resume: bool,
    overwrite: bool,
    random_state: int,
    target: str,
    data_id: str,
    settings: dict[str, str],
    protocol: str = "paper",
) -> list[dict[str, Any]]:
    if out.exists() and not out.is_dir():
        raise ValueError(f"out={str(out)!r} is a file; give a folder for the results.")
    out.mkdir(parents=True, exist_ok=True)
    path = out / "results.csv"
    if not path.exists():
        return []
    if overwrite:
        path.unlink()
        return []
    if not resume:
        raise ValueError(
            f"{path} already exists: pass resume=True (--resume) to continue that run, "
            "overwrite=True (--overwrite) to start afresh, or another output folder."
        )
    rows, n_bad = read_rows(path)
    if n_bad:
        warnings.warn(
            f"{n_bad} incomplete row(s) in {path} (a run interrupted while writing) are "
            "dropped and will be run again.",
            stacklevel=3,
        )
    for name, expected in (
        ("random_state", random_state),
        ("target", target),
        ("data_id", data_id),
        ("protocol", protocol),
    ):
        found = sorted({str(r[name]) for r in rows} - {str(expected)})
        if found:
            raise ValueError(
                f"Cannot resume {path}: it was made with {name}={found[0]}, this run has "
                f"{name}={expected}. Use the same settings and data, or another output folder."
            )
    for row in rows:
        method_settings = settings.get(row["method"])
        if method_settings is not None and str(row["settings"]) != method_settings:
            raise ValueError(
                f"Cannot resume {path}: its {row['method']!r} runs were made with other "
                "settings (the --quick preset or the method's estimator differ). Use the "
                "same settings, or another output folder."
            )
    kept = [r for r in rows if r["status"] == "ok"]
    write_rows(path, kept)
    return kept


# ---------------------------------------------------------------------------------------
# availability and the feature cache


def _unavailable_reason(spec: MethodSpec, n_classes: int) -> str | None:
    try:
        estimator = spec.build(0)
    except (ImportError, AttributeError) as exc:
        return f"{type(exc).__name__}: {exc}"
    if n_classes > 2:
        classifier_tags = get_tags(estimator).classifier_tags
        if classifier_tags is not None and not classifier_tags.multi_class:
            return f"its classifier handles two classes only, the data has {n_classes}"
    return None


def _feature_step(estimator: Any) -> tuple[Any, Any] | None:
    """``(BloodCellFeatures step, rest of the pipeline)`` when the pipeline starts with one."""
    from sklearn.pipeline import Pipeline

    if not isinstance(estimator, Pipeline) or len(estimator.steps) < 2:
        return None
    try:
        from qbloodcell.features import BloodCellFeatures
    except ImportError:
        return None
    first = estimator.steps[0][1]
    if type(first) is not BloodCellFeatures:
        return None
    return first, Pipeline(estimator.steps[1:], memory=estimator.memory)


def _cache_features(tasks: list[_Task], images: Any, payload: dict[str, Any]) -> None:
    """Compute the features of every image a feature pipeline needs, once per setting.

    The transformer is stateless, so features computed once equal the ones each pipeline
    would compute; the measured seconds per image are charged to every fit and predict.
    """
    groups: dict[str, tuple[Any, list[tuple[_Task, Any]]]] = {}
    for task in tasks:
        split = _feature_step(task.estimator)
        if split is None:
            continue
        transformer, rest = split
        params = {k: v for k, v in transformer.get_params().items() if k != "n_jobs"}
        key = "features:" + repr(sorted(params.items()))
        groups.setdefault(key, (transformer, []))[1].append((task, rest))
    for key, (transformer, group) in groups.items():
        needed = np.unique(np.concatenate([np.concatenate([t.train, t.test]) for t, _ in group]))
        try:
            subset = _safe_indexing(images, needed)
            transformer = clone(transformer)
            # no fit runs yet: the features of all the runs are computed on all the cores
            with parallel_config(n_jobs=-1):
                # compile and warm caches outside the timing, as in any fit after the first
                transformer.fit_transform(_safe_indexing(subset, np.arange(min(2, needed.size))))
                start = time.perf_counter()
                features = transformer.fit(subset).transform(subset)
                per_image = (time.perf_counter() - start) / needed.size
        except Exception:
            # leave these runs to the whole pipeline: each then fails (or not) on its own
            # and the error is recorded in its row, exactly as without the cache
            continue
        # rows stay at the images' own indices, so that each task's train and test
        # indices select its features and its labels alike (unused rows are NaN)
        table = np.full((_n_items(images), features.shape[1]), np.nan)
        table[needed] = features
        payload[key] = table
        for task, rest in group:
            task.estimator = rest
            task.data_key = key
            task.feature_seconds_per_image = per_image


def _n_items(images: Any) -> int:
    return int(images.shape[0]) if hasattr(images, "shape") else len(images)


# ---------------------------------------------------------------------------------------
# one run and the executors


def _fit_and_score(
    estimator: Any,
    X: Any,
    y: np.ndarray,
    train: np.ndarray,
    test: np.ndarray,
    feature_seconds_per_image: float,
    n_threads: int = 1,
    protocol: StudyProtocol | None = None,
) -> dict[str, Any]:
    """Fit on the training split, score on the test split; never raises for a bad fit.

    The fit follows ``protocol`` (:func:`~qbloodcell.benchmark._protocol.fit_with_protocol`;
    None or ``"paper"``: ``estimator.fit`` on the training split only).

    The fit runs inside ``joblib.parallel_config(n_jobs=n_threads)``, so that the steps
    whose ``n_jobs`` is None (every built-in method) use the cores this fit has: all of
    them when fits run one after another, a share of them when several run at once.
    """
    y_train, y_test = y[train], y[test]
    row: dict[str, Any] = {
        "n_train": int(train.size),
        "n_test": int(test.size),
        "accuracy": math.nan,
        "balanced_accuracy": math.nan,
        "roc_auc": math.nan,
        "train_seconds": math.nan,
        "test_seconds": math.nan,
        "feature_seconds": feature_seconds_per_image * (train.size + test.size),
        "status": "ok",
        "note": "",
    }
    notes: list[str] = []
    # warning filters are process-wide: record them only where no other thread runs fits
    record = threading.current_thread() is threading.main_thread()
    recorder: Any = warnings.catch_warnings(record=True) if record else nullcontext([])
    with recorder as caught, parallel_config(n_jobs=n_threads):
        if record:
            warnings.simplefilter("always")
        try:
            X_train, X_test = _safe_indexing(X, train), _safe_indexing(X, test)
            start = time.perf_counter()
            estimator = fit_with_protocol(
                estimator, X_train, y_train, X_test, y_test, protocol or StudyProtocol()
            )
            fit_seconds = time.perf_counter() - start
            start = time.perf_counter()
            y_pred = estimator.predict(X_test)
            predict_seconds = time.perf_counter() - start
            row["train_seconds"] = fit_seconds + feature_seconds_per_image * train.size
            row["test_seconds"] = predict_seconds + feature_seconds_per_image * test.size
            row["accuracy"] = float(accuracy_score(y_test, y_pred))
            row["balanced_accuracy"] = float(balanced_accuracy_score(y_test, y_pred))
            row["roc_auc"], auc_note = _roc_auc(estimator, X_test, y_test)
            if auc_note:
                notes.append(auc_note)
        except Exception as exc:
            row["status"] = "failed"
            notes.insert(0, f"{type(exc).__name__}: {exc}")
    if record and caught:
        seen = dict.fromkeys(f"{w.category.__name__}: {w.message}" for w in caught)
        notes.extend(seen)
    row["note"] = " | ".join(" ".join(note.split())[:300] for note in notes)
    return row


def _roc_auc(estimator: Any, X_test: Any, y_test: np.ndarray) -> tuple[float, str]:
    classes = getattr(estimator, "classes_", None)
    if classes is None:
        return math.nan, "ROC AUC not computed: the estimator has no classes_"
    try:
        if len(classes) == 2:
            if hasattr(estimator, "predict_proba"):
                scores = estimator.predict_proba(X_test)[:, 1]
            elif hasattr(estimator, "decision_function"):
                scores = estimator.decision_function(X_test)
            else:
                return math.nan, "ROC AUC not computed: no predict_proba or decision_function"
            return float(roc_auc_score(y_test, scores)), ""
        if not hasattr(estimator, "predict_proba"):
            return math.nan, "ROC AUC not computed: multi-class needs predict_proba"
        proba = estimator.predict_proba(X_test)
        return float(
            roc_auc_score(y_test, proba, multi_class="ovr", average="macro", labels=classes)
        ), ""
    except ValueError as exc:
        return math.nan, f"ROC AUC not computed: {exc}"


def _progress_bar(progress: bool, *, total: int, initial: int) -> Any:
    if not progress:
        return None
    from tqdm import tqdm

    bar = tqdm(total=total, initial=initial, desc="benchmark", unit="fit", dynamic_ncols=True)
    return bar


def _execute(
    tasks: list[_Task],
    payload: dict[str, Any],
    y: np.ndarray,
    *,
    n_jobs: int | None,
    backend: str,
    scheduler_address: str | None,
    bar: Any,
) -> Iterator[tuple[_Task, dict[str, Any]]]:
    """Yield ``(task, metrics)`` as fits finish."""
    if not tasks:
        return
    n_workers = effective_n_jobs(n_jobs)
    if backend == "dask":
        yield from _execute_dask(tasks, payload, y, n_workers=n_workers, address=scheduler_address)
        return
    # the cores are shared out between the fits that run at once
    n_threads = max(1, effective_n_jobs(-1) // n_workers)
    if n_workers == 1:
        for task in tasks:
            if bar is not None:
                bar.set_description_str(f"{task.method} n={task.size} seed={task.seed}")
            yield (
                task,
                _fit_and_score(
                    task.estimator,
                    payload[task.data_key],
                    y,
                    task.train,
                    task.test,
                    task.feature_seconds_per_image,
                    n_threads,
                    task.protocol,
                ),
            )
    else:
        from joblib import Parallel, delayed

        if bar is not None:
            bar.set_description_str(f"benchmark ({n_workers} jobs)")
        parallel = Parallel(n_jobs=n_workers, backend="loky", return_as="generator_unordered")
        outputs = parallel(
            delayed(_indexed)(
                i,
                task.estimator,
                payload[task.data_key],
                y,
                task.train,
                task.test,
                task.feature_seconds_per_image,
                n_threads,
                task.protocol,
            )
            for i, task in enumerate(tasks)
        )
        for i, metrics in outputs:
            yield tasks[i], metrics


def _indexed(i: int, *args: Any) -> tuple[int, dict[str, Any]]:
    return i, _fit_and_score(*args)


def _execute_dask(
    tasks: list[_Task],
    payload: dict[str, Any],
    y: np.ndarray,
    *,
    n_workers: int,
    address: str | None,
) -> Iterator[tuple[_Task, dict[str, Any]]]:
    try:
        import distributed
    except ImportError as exc:
        raise ImportError(
            "backend='dask' needs dask.distributed, which is not installed: "
            "pip install 'qbloodcell[dask]'"
        ) from exc
    own_client = True
    if address is not None:
        client = distributed.Client(address, set_as_default=False)
    else:
        try:
            client = distributed.get_client()
            own_client = False
        except ValueError:
            # one thread per worker: each fit runs with n_jobs=None meaning one thread
            client = distributed.Client(
                n_workers=n_workers,
                threads_per_worker=1,
                dashboard_address=None,
                set_as_default=False,
            )
    futures: list[Any] = []
    try:
        keys = sorted({task.data_key for task in tasks})
        scattered = {key: client.scatter(payload[key], broadcast=False) for key in keys}
        y_future = client.scatter(y, broadcast=False)
        index = {}
        for i, task in enumerate(tasks):
            future = client.submit(
                _fit_and_score,
                task.estimator,
                scattered[task.data_key],
                y_future,
                task.train,
                task.test,
                task.feature_seconds_per_image,
                1,
                task.protocol,
                pure=False,
            )
            index[future.key] = i
            futures.append(future)
        # the loop of our own client: as_completed would otherwise look for a default one
        for future in distributed.as_completed(futures, loop=client.loop):
            yield tasks[index[future.key]], future.result()
    finally:
        for future in futures:
            future.cancel()
        if own_client:
            client.close()
