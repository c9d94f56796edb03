"""The study-protocol audit: the choices of the study's published code, one switch each.

The study's paper describes an honest protocol (models fitted on a training split, scored
once on a test split). Its published code makes six choices the paper does not state; each
is a named switch here, so that a benchmark can be run with any of them and the inflation
they bring measured (:ref:`protocol_audit`):

``"scale-on-all"``
    The preprocessing between the features and the classifier (StandardScaler, PCA,
    MinMaxScaler) is fitted on the training and test images together.
``"select-on-test"``
    The CNN and the dense network are trained epoch by epoch on the whole training split
    (no validation split, no early stopping) and the weights of the epoch with the best
    *test* accuracy are kept.
``"vqc-search-on-test"``
    The VQC is fitted for up to ``vqc_search_budget`` (174) combinations of seed and
    number of iterations; the one with the best test accuracy is kept, and the search
    stops as soon as a test accuracy of ``vqc_search_target`` (0.83) is reached.
``"directory-order"``
    The subset of ``n`` images per class is the first ``n`` of each class in the order of
    the files (class folders and file names sorted), not a random draw: every seed uses
    the same images, and only the first sub-classes of a class appear.
``"study-ansatz"``
    The VQC's RealAmplitudes ansatz has 2 repetitions (12 weights on 4 qubits), where the
    paper states 8 weights (1 repetition, the ``vqc-study`` method's setting).
``"study-features"``
    ``BloodCellFeatures(feature_set="study-code")``: the 20 features the code computes,
    not Table I's.

``protocol="paper"`` turns none on (the default), ``protocol="study-code"`` all six.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.metrics import accuracy_score

from qbloodcell._validation import Boolean, Integer, Real, Spec, check_arguments

#: The switches by name, with the field of :class:`StudyProtocol` each sets.
PROTOCOL_SWITCHES: dict[str, str] = {
    "scale-on-all": "scale_on_all",
    "select-on-test": "select_on_test",
    "vqc-search-on-test": "vqc_search_on_test",
    "directory-order": "directory_order",
    "study-ansatz": "study_ansatz",
    "study-features": "study_features",
}

#: Number of iterations (COBYLA evaluations) tried for each seed by the VQC search; seeds
#: ``random_state, random_state + 1, ...`` each take these in turn, so the
#: ``vqc-study`` method's own fit (its seed, 200 iterations) is the search's second try.
VQC_SEARCH_ITERATIONS = (100, 200, 300)

#: RealAmplitudes repetitions of the study's code: 4 * (2 + 1) = 12 weights on 4 qubits.
STUDY_CODE_ANSATZ_REPS = 2

_STUDY_PROTOCOL_SPECS: dict[str, list[Spec]] = {
    **{field: [Boolean()] for field in PROTOCOL_SWITCHES.values()},
    "vqc_search_budget": [Integer(1)],
    "vqc_search_target": [Real(0, 1)],
}


@dataclass(frozen=True)
class StudyProtocol:
    """Which of the study code's undeclared choices a benchmark run makes.

    Each boolean field is one switch (see :mod:`qbloodcell.benchmark._protocol` and
    :ref:`protocol_audit`); all False is the paper's protocol. Pass one to
    ``run_benchmark(protocol=...)``, or give the switches by name.

    Parameters
    ----------
    scale_on_all : bool, default=False
        Fit the preprocessing (scalers, PCA) on the training and test images together.
    select_on_test : bool, default=False
        CNN and dense network: keep the weights of the epoch with the best test accuracy.
    vqc_search_on_test : bool, default=False
        VQC: keep the best test accuracy of up to ``vqc_search_budget`` seed/iteration
        combinations, stopping at ``vqc_search_target``.
    directory_order : bool, default=False
        Take the first ``n`` images of each class in file order instead of a random subset.
    study_ansatz : bool, default=False
        VQC: RealAmplitudes with 2 repetitions (12 weights) instead of 1 (8 weights).
    study_features : bool, default=False
        ``BloodCellFeatures(feature_set="study-code")`` instead of Table I's features.
    vqc_search_budget : int, default=174
        Most combinations the VQC search fits (the study's 174).
    vqc_search_target : float, default=0.83
        Test accuracy at which the VQC search stops (the study's 83 %).

    Examples
    --------
    >>> from qbloodcell.benchmark import StudyProtocol
    >>> StudyProtocol().name
    'paper'
    >>> StudyProtocol.from_switches(["scale-on-all", "study-ansatz"]).name
    'scale-on-all+study-ansatz'
    >>> StudyProtocol.from_switches("study-code").switches
    ('scale-on-all', 'select-on-test', 'vqc-search-on-test', 'directory-order', 'study-ansatz', 'study-features')
    """

    scale_on_all: bool = False
    select_on_test: bool = False
    vqc_search_on_test: bool = False
    directory_order: bool = False
    study_ansatz: bool = False
    study_features: bool = False
    vqc_search_budget: int = 174
    vqc_search_target: float = 0.83

    def __post_init__(self) -> None:
        check_arguments(
            {f.name: getattr(self, f.name) for f in fields(self)}, _STUDY_PROTOCOL_SPECS
        )

    @property
    def switches(self) -> tuple[str, ...]:
        """Names of the switches that are on, in the order of :data:`PROTOCOL_SWITCHES`."""
        return tuple(name for name, field in PROTOCOL_SWITCHES.items() if getattr(self, field))

    @property
    def name(self) -> str:
        """``"paper"``, ``"study-code"`` (all on) or the switches joined by ``+``.

        A VQC search budget or target other than the study's is appended
        (``"vqc-search-on-test[N=20,target=0.83]"``), so that runs with other settings
        are never mixed.
        """
        switches = self.switches
        if not switches:
            return "paper"
        text = "study-code" if len(switches) == len(PROTOCOL_SWITCHES) else "+".join(switches)
        if self.vqc_search_on_test and (
            self.vqc_search_budget != 174 or self.vqc_search_target != 0.83
        ):
            text += f"[N={self.vqc_search_budget},target={self.vqc_search_target:g}]"
        return text

    @classmethod
    def from_switches(cls, protocol: Any, **settings: Any) -> StudyProtocol:
        """The protocol for ``"paper"``, ``"study-code"``, a switch name or a list of them.

        Parameters
        ----------
        protocol : str, sequence of str or StudyProtocol
            ``"paper"`` (no switch), ``"study-code"`` (all), one name of
            :data:`PROTOCOL_SWITCHES` or a sequence of them; a StudyProtocol is returned
            as it is (with ``settings`` applied).
        **settings
            ``vqc_search_budget`` and ``vqc_search_target``.

        Returns
        -------
        StudyProtocol
        """
        if isinstance(protocol, StudyProtocol):
            return protocol if not settings else _replace(protocol, **settings)
        if isinstance(protocol, str):
            if protocol == "paper":
                names: list[str] = []
            elif protocol == "study-code":
                names = list(PROTOCOL_SWITCHES)
            else:
                names = [protocol]
        elif isinstance(protocol, Sequence) and all(isinstance(n, str) for n in protocol):
            names = list(protocol)
        else:
            raise TypeError(
                "protocol must be 'paper', 'study-code', a switch name, a list of switch "
                f"names or a StudyProtocol; got {type(protocol).__name__}."
            )
        unknown = [name for name in names if name not in PROTOCOL_SWITCHES]
        if unknown:
            raise ValueError(
                f"protocol names unknown switch(es) {unknown}: the switches are "
                f"{list(PROTOCOL_SWITCHES)}, and the presets 'paper' and 'study-code'."
            )
        if len(set(names)) != len(names):
            raise ValueError(f"protocol names a switch twice: {names}.")
        return cls(**{PROTOCOL_SWITCHES[name]: True for name in names}, **settings)


def _replace(protocol: StudyProtocol, **changes: Any) -> StudyProtocol:
    values = {f.name: getattr(protocol, f.name) for f in fields(protocol)}
    values.update(changes)
    return StudyProtocol(**values)


def resolve_protocol(protocol: Any) -> StudyProtocol:
    """``run_benchmark``'s ``protocol`` argument as a :class:`StudyProtocol`."""
    return StudyProtocol.from_switches("paper" if protocol is None else protocol)


# ---------------------------------------------------------------------------------------
# the three places the runner calls


def select_subset(
    y: np.ndarray, size: int, protocol: StudyProtocol, *, random_state: int
) -> np.ndarray:
    """Indices of the balanced subset of ``size`` images per class.

    A random draw (:func:`qbloodcell.datasets.balanced_indices`) or, with
    ``directory_order``, the first ``size`` images of each class in the order of ``y``
    (the loaders return the images in sorted folder and file order).
    """
    from qbloodcell.datasets import balanced_indices

    if not protocol.directory_order:
        return balanced_indices(y, size, random_state=random_state)
    y = np.asarray(y)
    parts = []
    for label in np.unique(y):
        members = np.flatnonzero(y == label)
        if members.size < size:
            raise ValueError(
                f"class {label!r} has {members.size} samples, fewer than "
                f"n_samples_per_class={size}."
            )
        parts.append(members[:size])
    return np.concatenate(parts)


def adapt_estimator(estimator: Any, protocol: StudyProtocol, method: str = "") -> Any:
    """Apply the switches that change a method's definition (ansatz, feature set).

    ``study_features`` sets ``feature_set="study-code"`` on every
    :class:`~qbloodcell.features.BloodCellFeatures` step; ``study_ansatz`` sets
    ``ansatz="real_amplitudes", ansatz_reps=2`` on every
    :class:`~qbloodcell.quantum.VQCClassifier`. Other estimators are left as they are.
    The estimator is changed in place and returned.
    """
    for step in _steps(estimator):
        kind = type(step).__name__
        if protocol.study_features and kind == "BloodCellFeatures":
            step.set_params(feature_set="study-code")
        if protocol.study_ansatz and kind == "VQCClassifier":
            step.set_params(ansatz="real_amplitudes", ansatz_reps=STUDY_CODE_ANSATZ_REPS)
    return estimator


def fit_with_protocol(
    estimator: Any,
    X_train: Any,
    y_train: np.ndarray,
    X_test: Any,
    y_test: np.ndarray,
    protocol: StudyProtocol,
) -> Any:
    """Fit ``estimator`` as the protocol says; returns the fitted estimator to score.

    With no switch that acts on fitting, this is ``estimator.fit(X_train, y_train)``.
    Otherwise a pipeline's steps before its classifier are fitted (on the training
    images, or with ``scale_on_all`` on the training and test images together), then the
    classifier: by the test-selected epoch loop (``select_on_test``, CNN and
    ``MLPClassifier``), by the search on test (``vqc_search_on_test``, ``VQCClassifier``)
    or by its own ``fit``. The test labels are used only by the two test-selection
    switches; that is the point of the audit.
    """
    pre, final = _split_pipeline(estimator)
    kind = type(final).__name__
    selects = (protocol.select_on_test and kind in ("CNNClassifier", "MLPClassifier")) or (
        protocol.vqc_search_on_test and kind == "VQCClassifier"
    )
    scales = protocol.scale_on_all and pre is not None
    if not (selects or scales):
        return estimator.fit(X_train, y_train)
    if pre is None:
        F_train, F_test = X_train, X_test
    elif scales:
        pre.fit(_concatenate(X_train, X_test))
        F_train, F_test = pre.transform(X_train), pre.transform(X_test)
    else:
        F_train = pre.fit_transform(X_train, y_train)
        F_test = pre.transform(X_test)
    if not selects:
        final.fit(F_train, y_train)
        return estimator
    if kind == "VQCClassifier":
        best = _vqc_search(final, F_train, y_train, F_test, y_test, protocol)
    elif kind == "MLPClassifier":
        best = _mlp_best_test_epoch(final, F_train, y_train, F_test, y_test)
    else:
        best = _cnn_best_test_epoch(final, F_train, y_train, F_test, y_test)
    if pre is None:
        return best
    estimator.steps[-1] = (estimator.steps[-1][0], best)
    return estimator


# ---------------------------------------------------------------------------------------
# helpers


def _steps(estimator: Any) -> list[Any]:
    from sklearn.pipeline import Pipeline

    if isinstance(estimator, Pipeline):
        return [step for _, step in estimator.steps]
    return [estimator]


def _split_pipeline(estimator: Any) -> tuple[Any, Any]:
    """``(pipeline of the steps before the last, last step)``; ``(None, estimator)`` else."""
    from sklearn.pipeline import Pipeline

    if isinstance(estimator, Pipeline) and len(estimator.steps) > 1:
        # slicing shares the step objects: fitting the slice fits the pipeline's steps
        return estimator[:-1], estimator.steps[-1][1]
    if isinstance(estimator, Pipeline):
        return None, estimator.steps[-1][1]
    return None, estimator


def _concatenate(first: Any, second: Any) -> Any:
    if isinstance(first, np.ndarray) and isinstance(second, np.ndarray):
        return np.concatenate([first, second])
    return list(first) + list(second)


def _seed_of(estimator: Any) -> int:
    seed = estimator.get_params().get("random_state")
    return int(seed) if isinstance(seed, int | np.integer) else 0


def _mlp_best_test_epoch(
    mlp: Any, X_train: Any, y_train: np.ndarray, X_test: Any, y_test: np.ndarray
) -> Any:
    """``max_iter`` epochs of ``partial_fit`` on the whole training split; the weights of
    the epoch with the best test accuracy (the first such epoch) are kept."""
    classes = np.unique(y_train)
    best_accuracy = -1.0
    best_weights: tuple[list[np.ndarray], list[np.ndarray]] | None = None
    best_epoch = 0
    # partial_fit takes no validation split: early stopping is not used
    mlp.set_params(early_stopping=False)
    for epoch in range(int(mlp.max_iter)):
        mlp.partial_fit(X_train, y_train, classes=classes)
        accuracy = accuracy_score(y_test, mlp.predict(X_test))
        if accuracy > best_accuracy:
            best_accuracy, best_epoch = accuracy, epoch + 1
            best_weights = (copy.deepcopy(mlp.coefs_), copy.deepcopy(mlp.intercepts_))
    assert best_weights is not None
    mlp.coefs_, mlp.intercepts_ = best_weights
    mlp.protocol_best_epoch_ = best_epoch
    return mlp


def _cnn_best_test_epoch(
    cnn: Any, X_train: Any, y_train: np.ndarray, X_test: Any, y_test: np.ndarray
) -> Any:
    """``max_iter`` epochs on the whole training split, one ``warm_start`` fit each (a new
    shuffling seed per epoch); the weights of the epoch with the best test accuracy are
    kept."""
    n_epochs = int(cnn.max_iter)
    seeds = np.random.SeedSequence([_seed_of(cnn), 1]).generate_state(n_epochs) % (2**31 - 1)
    best_accuracy = -1.0
    best_state = None
    best_epoch = 0
    for epoch in range(n_epochs):
        cnn.set_params(
            early_stopping=False, warm_start=True, max_iter=1, random_state=int(seeds[epoch])
        )
        cnn.fit(X_train, y_train)
        accuracy = accuracy_score(y_test, cnn.predict(X_test))
        if accuracy > best_accuracy:
            best_accuracy, best_epoch = accuracy, epoch + 1
            best_state = copy.deepcopy(cnn.module_.state_dict())
    cnn.module_.load_state_dict(best_state)
    cnn.protocol_best_epoch_ = best_epoch
    return cnn


def _vqc_search(
    vqc: Any,
    X_train: Any,
    y_train: np.ndarray,
    X_test: Any,
    y_test: np.ndarray,
    protocol: StudyProtocol,
) -> Any:
    """Fit seed/iteration combinations in turn, keep the best test accuracy, stop at the
    target or after ``vqc_search_budget`` fits."""
    first_seed = _seed_of(vqc)
    n_seeds = math.ceil(protocol.vqc_search_budget / len(VQC_SEARCH_ITERATIONS))
    combinations = [
        (first_seed + k, n_iter) for k in range(n_seeds) for n_iter in VQC_SEARCH_ITERATIONS
    ][: protocol.vqc_search_budget]
    best, best_accuracy = None, -1.0
    n_tried = 0
    for seed, n_iter in combinations:
        candidate = clone(vqc).set_params(random_state=seed, max_iter=n_iter)
        candidate.fit(X_train, y_train)
        n_tried += 1
        accuracy = accuracy_score(y_test, candidate.predict(X_test))
        if accuracy > best_accuracy:
            best, best_accuracy = candidate, accuracy
        if accuracy >= protocol.vqc_search_target:
            break
    assert best is not None
    best.protocol_search_fits_ = n_tried
    return best


def describe(protocol: StudyProtocol) -> dict[str, Any]:
    """The protocol as a JSON-ready dict (for the run's summary)."""
    return {
        "name": protocol.name,
        "switches": list(protocol.switches),
        "vqc_search_budget": protocol.vqc_search_budget,
        "vqc_search_target": protocol.vqc_search_target,
    }


__all__ = [
    "PROTOCOL_SWITCHES",
    "StudyProtocol",
    "adapt_estimator",
    "describe",
    "fit_with_protocol",
    "resolve_protocol",
    "select_subset",
]
