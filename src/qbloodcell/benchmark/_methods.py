"""The study's four methods as estimator factories, and the resolution of user methods.

A *factory* is a callable ``factory(random_state=int) -> unfitted estimator``. The default
factories import their component lazily, so that a missing component (or a missing optional
dependency such as torch) makes only that method unavailable.

The built-in methods leave every ``n_jobs`` at None: ``run_benchmark`` runs each fit inside
``joblib.parallel_config`` with its share of the cores, and ``n_jobs=None`` follows that. The
one exception is the CNN, fixed at one torch thread: torch's results depend on its thread
count, and the benchmark promises the same numbers whatever ``n_jobs``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sklearn.base import clone

Factory = Callable[..., Any]

#: Study settings shortened by ``quick=True``: a demo and CI preset, not the study's protocol.
QUICK_SETTINGS: dict[str, dict[str, Any]] = {
    "cnn": {"max_iter": 8},
    "dense": {},
    "ep": {"max_iter": 20},
    "vqc": {"max_iter": 200},
    "vqc-study": {},
    "reupload": {},
    "qsvc": {},
}


def _dense(*, random_state: int, quick: bool = False) -> Any:
    from qbloodcell.baselines import make_dense_classifier

    settings = QUICK_SETTINGS["dense"] if quick else {}
    return make_dense_classifier(random_state=random_state, **settings)


def _ep(*, random_state: int, quick: bool = False) -> Any:
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from qbloodcell.ep import EquilibriumPropagationClassifier
    from qbloodcell.features import BloodCellFeatures

    settings = QUICK_SETTINGS["ep"] if quick else {}
    return make_pipeline(
        BloodCellFeatures(),
        StandardScaler(),
        EquilibriumPropagationClassifier(random_state=random_state, **settings),
    )


def _vqc(*, random_state: int, quick: bool = False) -> Any:
    from sklearn.decomposition import PCA
    from sklearn.pipeline import make_pipeline

    from qbloodcell.features import BloodCellFeatures
    from qbloodcell.quantum import VQCClassifier

    settings = QUICK_SETTINGS["vqc"] if quick else {}
    return make_pipeline(
        BloodCellFeatures(),
        PCA(n_components=4, random_state=random_state),
        VQCClassifier(random_state=random_state, **settings),
    )


def _vqc_study(*, random_state: int, quick: bool = False) -> Any:
    from sklearn.decomposition import PCA
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import MinMaxScaler, StandardScaler

    from qbloodcell.features import BloodCellFeatures
    from qbloodcell.quantum import STUDY_VQC_SETTINGS, VQCClassifier

    settings = QUICK_SETTINGS["vqc-study"] if quick else {}
    return make_pipeline(
        BloodCellFeatures(),
        StandardScaler(),
        PCA(n_components=4, random_state=random_state),
        MinMaxScaler(feature_range=(0, 2)),
        VQCClassifier(random_state=random_state, **STUDY_VQC_SETTINGS, **settings),
    )


def _reupload(*, random_state: int, quick: bool = False) -> Any:
    from sklearn.decomposition import PCA
    from sklearn.pipeline import make_pipeline

    from qbloodcell.features import BloodCellFeatures
    from qbloodcell.quantum import DataReuploadingClassifier

    settings = QUICK_SETTINGS["reupload"] if quick else {}
    return make_pipeline(
        BloodCellFeatures(),
        PCA(n_components=4, random_state=random_state),
        DataReuploadingClassifier(random_state=random_state, **settings),
    )


def _qsvc(*, random_state: int, quick: bool = False) -> Any:
    from sklearn.decomposition import PCA
    from sklearn.pipeline import make_pipeline

    from qbloodcell.features import BloodCellFeatures
    from qbloodcell.quantum import QuantumKernelSVC

    settings = QUICK_SETTINGS["qsvc"] if quick else {}
    return make_pipeline(
        BloodCellFeatures(),
        PCA(n_components=4, random_state=random_state),
        QuantumKernelSVC(random_state=random_state, **settings),
    )


def _cnn(*, random_state: int, quick: bool = False) -> Any:
    from qbloodcell.baselines import CNNClassifier

    settings = QUICK_SETTINGS["cnn"] if quick else {}
    # one thread whatever the runner's budget: torch's sums depend on the thread count
    return CNNClassifier(random_state=random_state, n_jobs=1, **settings)


@dataclass(frozen=True)
class _DefaultMethod:
    label: str
    pipeline: str
    factory: Callable[..., Any]
    #: Packages the method needs beyond the library's own dependencies.
    requires: tuple[str, ...] = ()


#: The study's methods in the order of its Table II, and the study's VQC exactly.
DEFAULT_METHODS: dict[str, _DefaultMethod] = {
    "cnn": _DefaultMethod(
        "CNN (classical)",
        "CNNClassifier(n_jobs=1) on the 64x64 RGB images",
        _cnn,
        ("torch",),
    ),
    "dense": _DefaultMethod(
        "Dense NN (classical)",
        "make_dense_classifier(): BloodCellFeatures -> StandardScaler -> MLPClassifier(256, 128, 64)",
        _dense,
    ),
    "ep": _DefaultMethod(
        "EP (quantum-inspired)",
        "BloodCellFeatures -> StandardScaler -> EquilibriumPropagationClassifier",
        _ep,
    ),
    "vqc": _DefaultMethod(
        "VQC (quantum, simulated)",
        "BloodCellFeatures -> PCA(4) -> VQCClassifier() (fitted input scaling, the defaults)",
        _vqc,
    ),
    "vqc-study": _DefaultMethod(
        "VQC, study settings",
        "BloodCellFeatures -> StandardScaler -> PCA(4) -> MinMaxScaler((0, 2)) -> "
        "VQCClassifier(**STUDY_VQC_SETTINGS)",
        _vqc_study,
    ),
    "qsvc": _DefaultMethod(
        "Quantum kernel SVC (quantum, simulated)",
        "BloodCellFeatures -> PCA(4) -> QuantumKernelSVC() (fidelity kernel, the defaults)",
        _qsvc,
    ),
}

#: Built-in methods run only when named (``--methods reupload``).
EXTRA_METHODS: dict[str, _DefaultMethod] = {
    "reupload": _DefaultMethod(
        "Data re-uploading (quantum, simulated)",
        "BloodCellFeatures -> PCA(4) -> DataReuploadingClassifier()",
        _reupload,
    ),
}


def builtin_methods() -> dict[str, _DefaultMethod]:
    """Every built-in method by name: the defaults first, then those run only when named."""
    return {**DEFAULT_METHODS, **EXTRA_METHODS}


@dataclass(frozen=True)
class MethodSpec:
    """One method of a benchmark run: how to build a fresh estimator for a seed."""

    name: str
    label: str
    pipeline: str
    build: Callable[[int], Any]
    #: Packages checked before any fit is planned (a missing one: the method is unavailable).
    requires: tuple[str, ...] = ()
    #: Warm up once per worker before the timed fits (the built-in methods).
    warm_up: bool = False


def _from_estimator(estimator: Any) -> Callable[[int], Any]:
    def build(random_state: int) -> Any:
        model = clone(estimator)
        seeds = {key: random_state for key in model.get_params() if key.endswith("random_state")}
        return model.set_params(**seeds)

    return build


def _from_factory(factory: Factory, *, quick: bool | None = None) -> Callable[[int], Any]:
    def build(random_state: int) -> Any:
        if quick is None:
            return factory(random_state=random_state)
        return factory(random_state=random_state, quick=quick)

    return build


def resolve_methods(methods: Any, *, quick: bool) -> list[MethodSpec]:
    """Turn the ``methods`` argument of ``run_benchmark`` into a list of specifications.

    Accepted: a name of a default method, a sequence of names, or a mapping
    ``{name: factory or estimator}`` (a mapping value ``None`` means the default method of
    that name).
    """
    if isinstance(methods, str):
        methods = (methods,)
    if isinstance(methods, Mapping):
        items = list(methods.items())
    elif isinstance(methods, Sequence) and not isinstance(methods, bytes):
        items = [(name, None) for name in methods]
    else:
        raise TypeError(
            "methods must be a method name, a sequence of names or a mapping "
            f"{{name: factory or estimator}}, got {type(methods).__name__}."
        )
    if not items:
        raise ValueError("methods is empty: give at least one method.")
    specs: list[MethodSpec] = []
    for name, value in items:
        if not isinstance(name, str) or not name or name != name.strip() or "," in name:
            raise ValueError(
                f"method names must be non-empty strings without commas or surrounding "
                f"spaces, got {name!r}."
            )
        if any(spec.name == name for spec in specs):
            raise ValueError(f"method {name!r} is given twice in methods.")
        if value is None:
            builtin = builtin_methods()
            if name not in builtin:
                raise ValueError(
                    f"unknown method {name!r}: the built-in methods are "
                    f"{sorted(builtin)}; pass methods={{name: factory}} for others."
                )
            default = builtin[name]
            specs.append(
                MethodSpec(
                    name,
                    default.label,
                    default.pipeline,
                    _from_factory(default.factory, quick=quick),
                    requires=default.requires,
                    warm_up=True,
                )
            )
        elif isinstance(value, type):
            raise TypeError(
                f"methods[{name!r}] is the class {value.__name__}: pass an instance, e.g. "
                f"{value.__name__}(), or a factory(random_state=int) returning one."
            )
        elif hasattr(value, "fit") and hasattr(value, "get_params"):
            specs.append(MethodSpec(name, name, repr(value), _from_estimator(value)))
        elif callable(value):
            specs.append(
                MethodSpec(
                    name, name, getattr(value, "__name__", repr(value)), _from_factory(value)
                )
            )
        else:
            raise TypeError(
                f"methods[{name!r}] must be a scikit-learn estimator, a callable "
                f"factory(random_state=int) returning one, or None, got {type(value).__name__}."
            )
    return specs
