"""What a benchmark run fits: the data, the subsets and splits, the tasks.

Everything here is decided before the first fit: which methods can run, the balanced subset
and the stratified 80/20 split of every (size, seed) (the same for every method, so that the
comparisons are paired), one :class:`Task` per fit still to run, and the features of the
images the feature pipelines need (computed once, by
:mod:`qbloodcell.benchmark._feature_cache`).
"""

from __future__ import annotations

import hashlib
import importlib.util
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.utils import get_tags

from qbloodcell.benchmark._feature_cache import cache_features
from qbloodcell.benchmark._methods import MethodSpec
from qbloodcell.benchmark._protocol import StudyProtocol, adapt_estimator, select_subset

#: The study's sample sizes (images per class) and our default number of seeds.
STUDY_SIZES = (50, 100, 200, 250)
DEFAULT_SEEDS = 10
#: The ``quick`` preset: two small sizes, two seeds, fewer training iterations.
QUICK_SIZES = (50, 100)
QUICK_SEEDS = 2
#: The synthetic pool holds this many times the largest size per class, so that every
#: seed draws a different subset even at the largest size.
SYNTHETIC_POOL_FACTOR = 2
#: Smallest size: the stratified 80/20 split must leave a test sample of every class.
MIN_SIZE = 5
TEST_FRACTION = 0.2


@dataclass
class Task:
    """One fit: a method's estimator for one (size, seed) and where its data lies.

    ``data_key`` names the array of the run's payload the task reads (the images, or the
    cached features of its feature step); ``train`` and ``test`` index that array and ``y``.
    """

    method: str
    size: int
    seed: int
    estimator: Any
    data_key: str
    train: np.ndarray
    test: np.ndarray
    feature_seconds_per_image: float
    warm_up: bool = False
    protocol: StudyProtocol | None = None


@dataclass
class Data:
    """The images of a run, their labels, class names and a description."""

    images: Any
    y: np.ndarray
    description: str
    class_names: dict[Any, str]


# ---------------------------------------------------------------------------------------
# data


def load_data(
    data: Any,
    target: str,
    sizes: Sequence[int],
    random_state: int,
    *,
    class_mapping: Any = None,
    progress: bool = False,
) -> Data:
    """The images and labels a run draws its subsets from."""
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
        y = np.asarray(y)
        return Data(bunch.images, y, description, _class_names(y, bunch, target))
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
        y = np.asarray(bunch.target)
        return Data(bunch.images, y, description, _class_names(y, bunch, "binary"))
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
    return Data(images, y, f"user data ({n_images} images)", _class_names(y, None, ""))


def _class_names(y: np.ndarray, bunch: Any, target: str) -> dict[Any, str]:
    """Each label's name: ``target_names[label]`` for integer labels of a bunch."""
    names = getattr(bunch, "target_names", None) if target == "binary" else None
    out: dict[Any, str] = {}
    for label in np.unique(y).tolist():
        if names is not None and isinstance(label, int) and 0 <= label < len(names):
            out[label] = str(names[label])
        else:
            out[label] = str(label)
    return out


def fingerprint(images: Any, y: np.ndarray) -> str:
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


# ---------------------------------------------------------------------------------------
# subsets, splits and seeds


def _seeds(random_state: int, size: int, seed: int) -> np.ndarray:
    # three independent streams (subset, split, model) per (size, seed)
    return np.random.SeedSequence([random_state, size, seed]).generate_state(3) % (2**31 - 1)


def model_seed(random_state: int, size: int, seed: int) -> int:
    """The ``random_state`` of every method's estimator for one (size, seed)."""
    return int(_seeds(random_state, size, seed)[2])


def check_sizes(y: np.ndarray, sizes: Sequence[int], class_names: Mapping[Any, str]) -> None:
    """Raise a ValueError naming the classes (by name) smaller than the largest size."""
    largest = max(sizes)
    classes, counts = np.unique(y, return_counts=True)
    small = [
        f"{class_names.get(label, str(label))} has {count}"
        for label, count in zip(classes.tolist(), counts.tolist(), strict=True)
        if count < largest
    ]
    if small:
        raise ValueError(
            f"Cannot draw {largest} images per class (sizes): {', '.join(small)} "
            f"(smallest class: {counts.min()}). Choose sizes of at most {counts.min()}."
        )


def split(
    y: np.ndarray, size: int, seed: int, random_state: int, protocol: StudyProtocol | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The balanced subset of ``size`` images per class for one seed, split 80/20.

    The same for every method: the comparisons between methods are paired. The subset is
    drawn at random unless ``protocol`` says otherwise (``directory-order``).
    """
    subset_seed, split_seed, _ = (int(s) for s in _seeds(random_state, size, seed))
    subset = select_subset(y, size, protocol or StudyProtocol(), random_state=subset_seed)
    train, test = train_test_split(
        subset, test_size=TEST_FRACTION, stratify=y[subset], random_state=split_seed
    )
    return np.sort(train), np.sort(test)


# ---------------------------------------------------------------------------------------
# methods: availability and the settings a resume must match


def unavailable_reason(spec: MethodSpec, estimator: Any, n_classes: int) -> str | None:
    """Why a method cannot run on this data, or None."""
    if n_classes > 2:
        classifier_tags = get_tags(estimator).classifier_tags
        if classifier_tags is not None and not classifier_tags.multi_class:
            return f"its classifier handles two classes only, the data has {n_classes}"
    return None


def _find_spec(module: str) -> Any:
    return importlib.util.find_spec(module)


def missing_requirement(spec: MethodSpec) -> str | None:
    """The first package the method needs that cannot be imported, as a reason."""
    for module in spec.requires:
        try:
            found = _find_spec(module) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            return f"ImportError: {spec.name} needs {module}, which is not installed"
    return None


def _describe(value: Any) -> Any:
    """A stable description of a parameter value (no memory addresses)."""
    if hasattr(value, "get_params") and not isinstance(value, type):
        return type(value).__module__ + "." + type(value).__qualname__
    if isinstance(value, np.ndarray):
        return "array:" + hashlib.sha256(np.ascontiguousarray(value).tobytes()).hexdigest()
    if isinstance(value, list | tuple):
        return [_describe(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _describe(item) for key, item in sorted(value.items())}
    if callable(value):
        return getattr(value, "__module__", "") + "." + getattr(value, "__qualname__", "?")
    return repr(value)


def settings_id(estimator: Any, quick: bool, protocol: str = "paper") -> str:
    """A short hash of how a method is trained: every parameter of its estimator.

    Taken from ``get_params(deep=True)`` (the seeds left out, they differ per run), so that
    a changed default of any step stops a resume from mixing old and new rows; the
    protocol of the audit is part of it.
    """
    if hasattr(estimator, "get_params"):
        params = {
            key: _describe(value)
            for key, value in estimator.get_params(deep=True).items()
            if not key.endswith("random_state")
        }
    else:
        params = {}
    text = repr((type(estimator).__qualname__, sorted(params.items()), bool(quick)))
    if protocol != "paper":
        text += f"|protocol={protocol}"
    return hashlib.sha256(text.encode()).hexdigest()[:12]


# ---------------------------------------------------------------------------------------
# the plan


@dataclass
class Plan:
    """Every fit of a run: the tasks still to run and what the run's outputs cover."""

    tasks: list[Task]
    wanted: set[tuple[str, int, int]]
    unavailable: dict[str, str]
    settings: dict[str, str]
    payload: dict[str, Any]
    warm_up_seconds: float = 0.0


def check_methods(
    specs: Sequence[MethodSpec],
    n_classes: int,
    quick: bool,
    protocol: StudyProtocol | None = None,
) -> tuple[dict[str, str], dict[str, str], dict[str, Any]]:
    """``(unavailable reasons, settings ids, estimators)`` of the methods, building each once.

    A method is unavailable when a package it requires is missing (checked before it is
    built), when building it raises an ImportError, or when its classifier is binary-only
    and the data has more classes.
    """
    unavailable: dict[str, str] = {}
    settings: dict[str, str] = {}
    estimators: dict[str, Any] = {}
    for spec in specs:
        reason = missing_requirement(spec)
        if reason is None:
            try:
                estimator = adapt_estimator(spec.build(0), protocol or StudyProtocol(), spec.name)
            except (ImportError, AttributeError) as exc:
                reason = f"{type(exc).__name__}: {exc}"
            else:
                reason = unavailable_reason(spec, estimator, n_classes)
                settings[spec.name] = settings_id(
                    estimator, quick, (protocol or StudyProtocol()).name
                )
                estimators[spec.name] = estimator
        if reason is not None:
            unavailable[spec.name] = reason
            estimators.pop(spec.name, None)
    return unavailable, settings, estimators


def split_sizes(size: int, n_classes: int) -> tuple[int, int]:
    """``(n_train, n_test)`` of the stratified 80/20 split of ``size`` images per class."""
    total = size * n_classes
    n_test = math.ceil(TEST_FRACTION * total)
    return total - n_test, n_test


def _validation_split(estimator: Any) -> list[tuple[str, float]]:
    """``(step, validation_fraction)`` of every step that holds out a validation split."""
    if not hasattr(estimator, "get_params"):
        return []
    params = estimator.get_params(deep=True)
    found = []
    for key, value in params.items():
        if key.endswith("early_stopping") and value is True:
            prefix = key[: -len("early_stopping")]
            fraction = params.get(prefix + "validation_fraction")
            if isinstance(fraction, float) and 0 < fraction < 1:
                found.append((prefix.rstrip("_") or type(estimator).__name__, fraction))
    return found


def check_sizes_fit_methods(
    estimators: Mapping[str, Any], sizes: Sequence[int], n_classes: int
) -> None:
    """Refuse sizes too small for a method's early-stopping split (one image per class).

    A step with ``early_stopping=True`` holds out ``ceil(validation_fraction * n_train)``
    training images, which must leave at least one image per class on each side.
    """
    problems = []
    for name, estimator in estimators.items():
        for step, fraction in _validation_split(estimator):

            def fits(size: int, fraction: float = fraction) -> bool:
                n_train, _ = split_sizes(size, n_classes)
                n_val = math.ceil(fraction * n_train)
                return n_val >= n_classes and n_train - n_val >= n_classes

            bad = [size for size in sizes if not fits(size)]
            if bad:
                smallest = next(size for size in range(MIN_SIZE, 10_000) if fits(size))
                n_train, _ = split_sizes(bad[0], n_classes)
                problems.append(
                    f"{name} holds out validation_fraction={fraction} of the training "
                    f"images for early stopping ({step}): at {bad[0]} images per class that "
                    f"is {math.ceil(fraction * n_train)} of {n_train}, fewer than one per "
                    f"class ({n_classes}); choose sizes of at least {smallest}"
                )
    if problems:
        raise ValueError("sizes too small: " + "; ".join(problems) + ".")


def make_plan(
    specs: Sequence[MethodSpec],
    data: Data,
    sizes: Sequence[int],
    n_seeds: int,
    random_state: int,
    *,
    unavailable: dict[str, str],
    settings: dict[str, str],
    finished: Sequence[dict[str, Any]],
    cache: bool,
    protocol: StudyProtocol | None = None,
) -> Plan:
    """One task per (method, size, seed) not finished yet, on paired subsets and splits."""
    check_sizes(data.y, sizes, data.class_names)
    # the subsets and splits are the same for every method: paired comparisons
    splits = {
        (size, seed): split(data.y, size, seed, random_state, protocol)
        for size in sizes
        for seed in range(n_seeds)
    }
    wanted = {
        (spec.name, size, seed)
        for spec in specs
        if spec.name not in unavailable
        for size in sizes
        for seed in range(n_seeds)
    }
    done = {(r["method"], r["n_samples_per_class"], r["seed"]) for r in finished}
    payload: dict[str, Any] = {"images": data.images}
    tasks: list[Task] = []
    for spec in specs:
        if spec.name in unavailable:
            continue
        for size in sizes:
            for seed in range(n_seeds):
                if (spec.name, size, seed) in done:
                    continue
                train, test = splits[size, seed]
                estimator = spec.build(model_seed(random_state, size, seed))
                if protocol is not None:
                    estimator = adapt_estimator(estimator, protocol, spec.name)
                tasks.append(
                    Task(
                        spec.name,
                        size,
                        seed,
                        estimator,
                        "images",
                        train,
                        test,
                        0.0,
                        spec.warm_up,
                        protocol,
                    )
                )
    warm_up = cache_features(tasks, data.images, payload) if cache else 0.0
    return Plan(tasks, wanted, unavailable, settings, payload, warm_up)
