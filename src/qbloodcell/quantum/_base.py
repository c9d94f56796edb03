"""What the variational quantum classifiers share: training, prediction, copies, pickles.

:class:`QuantumClassifierBase` holds everything of ``VQCClassifier`` and
``DataReuploadingClassifier`` that does not depend on the circuit: fitted input scaling,
one-vs-rest sub-models, the optimizer loop and its loss curve, the exact-or-Estimator
choice of backend, ``decision_function``/``predict``/``predict_proba``, ``clone`` and
``pickle``. A subclass builds its circuits (:meth:`_build_circuits`) and its exact
evaluator (:meth:`_exact_expectations`).
"""

from __future__ import annotations

import warnings
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from qbloodcell._validation import (
    AnyCallable,
    HasMethods,
    InstanceOf,
    Integer,
    NoneValue,
    Options,
    RandomState,
    Real,
    Spec,
    validate_params,
)
from qbloodcell.quantum._circuits import ClassifierCircuits, hardware_cost
from qbloodcell.quantum._estimators import EstimatorExpectations, aer_estimator
from qbloodcell.quantum._gradients import LOSSES, loss_value_and_derivative
from qbloodcell.quantum._mitigation import ZeroNoiseExtrapolation
from qbloodcell.quantum._optimizers import (
    COBYLA_METHODS,
    GRADIENT_OPTIMIZERS,
    OPTIMIZERS,
    minimize_weights,
)
from qbloodcell.quantum._scaling import INPUT_SCALINGS, InputScaling
from qbloodcell.quantum._shared import clone_sharing, without_unpicklable

#: Angles beyond this (radians) mean unscaled features with input_scaling=None (pixel
#: counts, intensities): many turns of every rotation, so no two samples stay comparable.
_LARGEST_PLAUSIBLE_ANGLE = 100.0

# Parameters holding live objects that clone shares rather than copies (see __sklearn_clone__);
# a pickle leaves out those that cannot be pickled (Qiskit's preset pass managers cannot).
_SHARED_PARAMETERS = ("estimator", "noise_model", "pass_manager", "callback")
_WITHOUT_IT = {
    "callback": "is not called",
    "pass_manager": "transpiles with the default pass manager",
}


def _quantum_circuit() -> type:
    from qiskit.circuit import QuantumCircuit

    return QuantumCircuit


def _noise_model() -> type:
    from qiskit_aer.noise import NoiseModel

    return NoiseModel


#: A custom circuit parameter (``feature_map``, ``ansatz``).
CIRCUIT_SPEC = InstanceOf(_quantum_circuit, "a qiskit QuantumCircuit")

#: Specs of the parameters every quantum classifier has.
COMMON_PARAMETER_SPECS: dict[str, list[Spec]] = {
    "input_scaling": [NoneValue(), Options(INPUT_SCALINGS)],
    "bandwidth": [Real(0, closed="neither")],
    "optimizer": [Options(OPTIMIZERS)],
    "loss": [Options(LOSSES)],
    "learning_rate": [Real(0, closed="neither")],
    "max_iter": [Integer(1)],
    "tol": [NoneValue(), Real(0, closed="neither")],
    "shots": [NoneValue(), Integer(1)],
    "noise_model": [NoneValue(), InstanceOf(_noise_model, "a qiskit_aer.noise.NoiseModel")],
    "estimator": [
        NoneValue(),
        HasMethods(
            ["run"], "a Qiskit EstimatorV2 (an object with a run(pubs, precision=...) method)"
        ),
    ],
    "pass_manager": [
        NoneValue(),
        HasMethods(["run"], "a Qiskit pass manager (an object with a run(circuits) method)"),
    ],
    "mitigation": [
        NoneValue(),
        InstanceOf(ZeroNoiseExtrapolation, "a qbloodcell.quantum.ZeroNoiseExtrapolation"),
    ],
    "initial_point": [NoneValue(), InstanceOf((list, tuple, np.ndarray), "array-like")],
    "callback": [NoneValue(), AnyCallable()],
    "random_state": [NoneValue(), RandomState()],
    "verbose": [Integer(0)],
}


class QuantumClassifierBase(ClassifierMixin, BaseEstimator):
    """Base of the variational quantum classifiers (not for direct use)."""

    _parameter_specs: ClassVar[dict[str, list[Spec]]] = COMMON_PARAMETER_SPECS

    # set by subclasses' __init__ (declared here for type checkers)
    input_scaling: str | None
    bandwidth: float
    optimizer: str
    loss: str
    learning_rate: float
    max_iter: int
    tol: float | None
    shots: int | None
    noise_model: Any
    estimator: Any
    pass_manager: Any
    mitigation: ZeroNoiseExtrapolation | None
    initial_point: Any
    callback: Any
    random_state: Any
    verbose: int

    # ----------------------------------------------------------------------------------------
    # what a subclass provides
    # ----------------------------------------------------------------------------------------
    def _build_circuits(self, n_features: int) -> ClassifierCircuits:
        raise NotImplementedError

    def _compile(self) -> Any:
        """The exact simulator's compiled form of ``circuit_`` (NotImplementedError if none)."""
        raise NotImplementedError

    def _exact_expectations(self, compiled: Any, X: NDArray[np.float64]) -> Any:
        """An evaluator of :mod:`qbloodcell.quantum._expectations`: ``f(weights)``,
        ``f.many(weight_rows)`` and ``f.value_and_jacobian(weights)``."""
        raise NotImplementedError

    def _set_circuit_attributes(self, circuits: ClassifierCircuits) -> None:
        """Fitted attributes specific to the subclass's circuits (``feature_map_``, ...)."""

    # ----------------------------------------------------------------------------------------
    # scikit-learn protocol
    # ----------------------------------------------------------------------------------------
    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags

    def __sklearn_clone__(self) -> Any:
        return clone_sharing(self, _SHARED_PARAMETERS)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(super().__getstate__())
        # the compiled simulator may hold gate builders that are local functions; it is
        # rebuilt from circuit_ on the first prediction after unpickling
        if "_compiled" in state:
            state["_compiled"] = None
        return without_unpicklable(
            state,
            _SHARED_PARAMETERS,
            owner="classifier",
            consequences=_WITHOUT_IT,
            default="simulates exactly",
        )

    # ----------------------------------------------------------------------------------------
    # validation
    # ----------------------------------------------------------------------------------------
    def _check_combinations(self) -> None:
        """Rules between parameters, after :func:`~qbloodcell._validation.validate_params`."""
        if self.estimator is not None and self.noise_model is not None:
            raise ValueError(
                "noise_model configures the built-in Aer simulator and cannot be combined "
                "with estimator=; configure the noise on the estimator itself, e.g. "
                "qiskit_aer.primitives.EstimatorV2(options={'backend_options': "
                "{'noise_model': noise_model}})."
            )
        if self.optimizer in GRADIENT_OPTIMIZERS and self._uses_estimator():
            raise ValueError(
                f"optimizer={self.optimizer!r} needs the exact gradient of the loss, which is "
                "computed on the exact simulator only; with shots, noise_model or estimator "
                "use optimizer='spsa' (two loss evaluations per step, made for noisy "
                "estimates) or a gradient-free one such as 'nlopt-COBYLA'."
            )

    def _initial_points(self, rng: np.random.RandomState, n_models: int, n_weights: int) -> Any:
        if self.initial_point is None:
            return rng.uniform(-np.pi, np.pi, size=(n_models, n_weights))
        point = np.asarray(self.initial_point, dtype=float)
        if point.shape == (n_weights,):
            point = np.tile(point, (n_models, 1))
        if point.shape != (n_models, n_weights):
            raise ValueError(
                f"initial_point must have shape ({n_weights},) or ({n_models}, {n_weights}) "
                f"(the circuit has {n_weights} weights and {n_models} sub-model(s)); got "
                f"{np.shape(self.initial_point)}."
            )
        if not np.all(np.isfinite(point)):
            raise ValueError("initial_point contains NaN or infinite values.")
        return point

    def _scale_inputs(self, X: NDArray[np.float64]) -> NDArray[np.float64]:
        self.input_scaling_ = InputScaling.fit(X, self.input_scaling, self.bandwidth)
        angles = self.input_scaling_.transform(X)
        largest = float(np.max(np.abs(angles))) if angles.size else 0.0
        if largest > _LARGEST_PLAUSIBLE_ANGLE:
            warnings.warn(
                f"With input_scaling=None the features are the rotation angles, and they reach "
                f"{largest:.3g} radians here: the encoded states of neighbouring samples are "
                "then unrelated and the model cannot generalise. Use input_scaling='minmax' "
                "(the default) or scale the features yourself, e.g. MinMaxScaler((0, 2)).",
                UserWarning,
                stacklevel=3,
            )
        return angles

    # ----------------------------------------------------------------------------------------
    # evaluation backends
    # ----------------------------------------------------------------------------------------
    def _uses_estimator(self) -> bool:
        return self.estimator is not None or self.shots is not None or self.noise_model is not None

    def _expectations(self, X: NDArray[np.float64], seed: int) -> Any:
        """The evaluator of <Z0> for the angles ``X``: exact, or on an Estimator."""
        if not self._uses_estimator():
            unused = [n for n in ("pass_manager", "mitigation") if getattr(self, n) is not None]
            if unused:
                raise ValueError(
                    f"{' and '.join(unused)} apply only to the Estimator route (shots, "
                    "noise_model or estimator); the exact simulation has no circuit to "
                    "transpile and no noise to mitigate. Set one of those, or leave "
                    f"{' and '.join(unused)} None."
                )
            compiled = self._compiled if self._compiled is not None else self._compile()
            return self._exact_expectations(compiled, X)
        circuit = (self.circuit_, self.feature_parameters_, self.weight_parameters_)
        route = {"pass_manager": self.pass_manager, "mitigation": self.mitigation}
        if self.estimator is not None:
            precision = None if self.shots is None else 1.0 / np.sqrt(self.shots)
            return EstimatorExpectations(
                *circuit, X, self.estimator, precision=precision, seed_rng=None, **route
            )
        estimator = aer_estimator(shots=self.shots, noise_model=self.noise_model, seed=seed)
        return EstimatorExpectations(
            *circuit, X, estimator, precision=None, seed_rng=np.random.default_rng(seed), **route
        )

    # ----------------------------------------------------------------------------------------
    # fit / predict
    # ----------------------------------------------------------------------------------------
    def fit(self, X: Any, y: Any) -> Any:
        """Train the circuit weights.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Features, one per qubit of the default circuit (reduce them first, e.g. with
            ``PCA(n_components=4)``).
        y : array-like of shape (n_samples,)
            Class labels (two or more classes).

        Returns
        -------
        self : object
            The fitted classifier.
        """
        validate_params(self)
        self._check_combinations()
        X, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        X = self._scale_inputs(X)
        classes, y_index = np.unique(y, return_inverse=True)
        if classes.size < 2:
            raise ValueError(
                f"y contains 1 class ({classes[0]!r}); {type(self).__name__} needs at least "
                "2 classes."
            )
        circuits = self._build_circuits(self.n_features_in_)
        rng = check_random_state(self.random_state)
        n_models = 1 if classes.size == 2 else classes.size
        n_weights = len(circuits.weight_parameters)
        if self.optimizer in COBYLA_METHODS and self.max_iter < n_weights + 2:
            raise ValueError(
                f"max_iter must be at least n_weights + 2 = {n_weights + 2} with COBYLA (it "
                f"spends that many evaluations on its first linear model); got {self.max_iter}."
            )
        initial_points = self._initial_points(rng, n_models, n_weights)
        simulator_seed = int(rng.randint(2**31 - 1))

        self.classes_ = classes
        self.circuit_ = circuits.circuit
        self.feature_parameters_ = circuits.feature_parameters
        self.weight_parameters_ = circuits.weight_parameters
        self._set_circuit_attributes(circuits)
        self._compiled: Any = None
        try:
            self._compiled = self._compile()
        except NotImplementedError:
            # a gate only Qiskit primitives can run; fine unless exact simulation is asked for
            if not self._uses_estimator():
                raise
        self._simulator_seed = simulator_seed
        expectations = self._expectations(X, simulator_seed)

        if n_models == 1:
            targets = [np.where(y_index == 1, 1.0, -1.0)]
        else:
            targets = [np.where(y_index == k, 1.0, -1.0) for k in range(n_models)]
        weights, n_iter, curves = [], [], []
        for model, target in enumerate(targets):
            result, curve = self._minimize(
                expectations, target, initial_points[model], model, n_models
            )
            weights.append(result)
            n_iter.append(len(curve))
            curves.append(curve)

        self.circuit_depth_, self.circuit_gate_counts_ = hardware_cost(circuits.circuit)
        self.weights_: NDArray[np.float64]
        self.n_iter_: int | NDArray[np.intp]
        self.loss_curve_: list[float] | list[list[float]]
        if n_models == 1:
            self.weights_ = weights[0]
            self.n_iter_ = n_iter[0]
            self.loss_curve_ = curves[0]
        else:
            self.weights_ = np.stack(weights)
            self.n_iter_ = np.asarray(n_iter)
            self.loss_curve_ = curves
        return self

    def _minimize(
        self,
        expectations: Any,
        target: NDArray[np.float64],
        initial_point: NDArray[np.float64],
        model: int,
        n_models: int,
    ) -> tuple[NDArray[np.float64], list[float]]:
        curve: list[float] = []
        label = f" sub-model {model + 1}/{n_models}" if n_models > 1 else ""
        name = type(self).__name__

        def record(weights: NDArray[np.float64], value: float) -> None:
            if not np.isfinite(value):
                raise FloatingPointError(
                    f"The training loss became {value} at evaluation {len(curve) + 1}; check "
                    "the estimator and the input features."
                )
            curve.append(value)
            if self.verbose >= 2 or (self.verbose == 1 and len(curve) % 10 == 0):
                print(f"[{name}]{label} evaluation {len(curve)}: loss {value:.6f}")
            if self.callback is not None:
                self.callback(np.array(weights, dtype=float), value)

        def loss(weights: NDArray[np.float64]) -> float:
            value, _ = loss_value_and_derivative(self.loss, expectations(weights), target)
            record(weights, value)
            return value

        def loss_and_gradient(
            weights: NDArray[np.float64],
        ) -> tuple[float, NDArray[np.float64]]:
            values, jacobian = expectations.value_and_jacobian(weights)
            value, derivative = loss_value_and_derivative(self.loss, values, target)
            record(weights, value)
            return value, derivative @ jacobian

        weights = minimize_weights(
            loss,
            initial_point,
            method=self.optimizer,
            max_iter=self.max_iter,
            tol=self.tol,
            loss_and_gradient=loss_and_gradient,
            learning_rate=self.learning_rate,
            random_state=np.random.default_rng(self._simulator_seed + 2 + model),
        )
        return weights, curve

    def decision_function(self, X: Any) -> NDArray[np.float64]:
        """The model output :math:`\\langle Z_0 \\rangle` for each sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Features.

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            :math:`\\langle Z_0 \\rangle \\in [-1, 1]` (approximately, with shots); positive
            means ``classes_[1]``. One column per class with more than two classes.
        """
        check_is_fitted(self)
        X = self.input_scaling_.transform(validate_data(self, X, reset=False, dtype=np.float64))
        weights = np.atleast_2d(self.weights_)
        expectations = self._expectations(X, self._simulator_seed + 1)
        scores = expectations.many(weights)
        return np.asarray(scores[0] if self.classes_.size == 2 else scores.T, dtype=float)

    def predict(self, X: Any) -> NDArray[Any]:
        """Predict class labels: the sign of :math:`\\langle Z_0 \\rangle` (or the largest).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Features.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Predicted labels.
        """
        scores = self.decision_function(X)
        if scores.ndim == 1:
            return np.asarray(self.classes_[(scores > 0).astype(np.intp)])
        return np.asarray(self.classes_[np.argmax(scores, axis=1)])

    def predict_proba(self, X: Any) -> NDArray[np.float64]:
        """Class probabilities from :math:`\\langle Z_0 \\rangle` (see Notes of the class).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Features.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities, in the order of ``classes_``.
        """
        scores = self.decision_function(X)
        positive = (1.0 + np.clip(scores, -1.0, 1.0)) / 2.0
        if scores.ndim == 1:
            return np.column_stack([1.0 - positive, positive])
        totals = positive.sum(axis=1, keepdims=True)
        uniform = np.full_like(positive, 1.0 / positive.shape[1])
        return np.where(totals > 0, positive / np.where(totals > 0, totals, 1.0), uniform)
