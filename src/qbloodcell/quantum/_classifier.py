"""The variational quantum circuit classifier."""

from __future__ import annotations

import contextlib
import pickle
import warnings
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize
from sklearn.base import BaseEstimator, ClassifierMixin, clone
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
from qbloodcell.quantum._circuits import (
    ENTANGLEMENT_OPTIONS,
    hardware_cost,
    make_circuits,
    z0_observable,
)
from qbloodcell.quantum._statevector import CompiledCircuit, ZExpectation

#: Gradient-free optimizers of :func:`scipy.optimize.minimize` accepted by ``optimizer``, with
#: the option that caps the number of objective evaluations for each.
OPTIMIZERS = {"COBYLA": "maxiter", "COBYQA": "maxfev", "Nelder-Mead": "maxfev", "Powell": "maxfev"}
#: NLopt's C implementation of COBYLA (optional dependency ``nlopt``); since SciPy 1.16,
#: SciPy's COBYLA is pure Python and costs about 1-2 ms per step.
NLOPT_COBYLA = "nlopt-COBYLA"
#: Default final trust-region radius, as SciPy's COBYLA (``tol=None``).
_COBYLA_RHOEND = 1e-4


def _quantum_circuit() -> type:
    from qiskit.circuit import QuantumCircuit

    return QuantumCircuit


def _noise_model() -> type:
    from qiskit_aer.noise import NoiseModel

    return NoiseModel


# Parameters holding live objects that clone shares rather than copies (see __sklearn_clone__).
_SHARED_PARAMETERS = ("estimator", "noise_model", "callback")


class _ExactEvaluator:
    """<Z0> for every sample, from the batched statevector simulator."""

    def __init__(self, feature_map: CompiledCircuit, ansatz: CompiledCircuit, X: Any) -> None:
        self._expectation = ZExpectation(ansatz, feature_map.evolve(X))
        self.n_calls = 0

    def __call__(self, weights: NDArray[np.float64]) -> NDArray[np.float64]:
        self.n_calls += 1
        return self._expectation(weights)

    def many(self, weights: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.stack([self._expectation(row) for row in weights])


def _backend_with_target(estimator: Any) -> Any:
    """The backend an estimator runs on, when it exposes one with a transpiler target."""
    for name in ("backend", "mode"):
        try:
            candidate = getattr(estimator, name, None)
        except Exception:  # a property of a remote primitive may fail offline
            continue
        if candidate is not None and getattr(candidate, "target", None) is not None:
            return candidate
    return None


class _EstimatorEvaluator:
    """<Z0> for every sample from a Qiskit EstimatorV2: one PUB, one ``run`` per evaluation."""

    def __init__(
        self,
        circuit: Any,
        feature_parameters: tuple[Any, ...],
        weight_parameters: tuple[Any, ...],
        X: NDArray[np.float64],
        estimator: Any,
        *,
        precision: float | None,
        seed_rng: np.random.Generator | None,
    ) -> None:
        observable = z0_observable(circuit.num_qubits)
        backend = _backend_with_target(estimator)
        if backend is not None:
            # hardware (and hardware-like) primitives run only circuits in the device's ISA
            from qiskit.transpiler import generate_preset_pass_manager

            pass_manager = generate_preset_pass_manager(
                optimization_level=1, backend=backend, seed_transpiler=0
            )
            circuit = pass_manager.run(circuit)
            observable = observable.apply_layout(circuit.layout)
        self.circuit = circuit
        self.observable = observable
        self.estimator = estimator
        self.precision = precision
        self.seed_rng = seed_rng
        self.n_calls = 0
        parameters = list(circuit.parameters)
        feature_column = {p: j for j, p in enumerate(feature_parameters)}
        weight_column = {p: k for k, p in enumerate(weight_parameters)}
        self.values = np.empty((X.shape[0], len(parameters)))
        weight_positions, weight_indices = [], []
        for position, parameter in enumerate(parameters):
            if parameter in feature_column:
                self.values[:, position] = X[:, feature_column[parameter]]
            else:
                weight_positions.append(position)
                weight_indices.append(weight_column[parameter])
        self.weight_positions = np.asarray(weight_positions, dtype=np.intp)
        self.weight_indices = np.asarray(weight_indices, dtype=np.intp)

    def _run(self, values: NDArray[np.float64]) -> NDArray[np.float64]:
        if self.seed_rng is not None:
            # a fresh, reproducible simulator seed per call: independent shot noise per step
            self.estimator.options.run_options["seed_simulator"] = int(
                self.seed_rng.integers(2**31 - 1)
            )
        self.n_calls += 1
        job = self.estimator.run(
            [(self.circuit, self.observable, values)], precision=self.precision
        )
        evs = np.asarray(job.result()[0].data.evs, dtype=float)
        if evs.shape != values.shape[:-1]:
            raise RuntimeError(
                f"The estimator returned expectation values of shape {evs.shape}; expected "
                f"{values.shape[:-1]} (one per sample)."
            )
        if not np.all(np.isfinite(evs)):
            raise FloatingPointError("The estimator returned non-finite expectation values.")
        return evs

    def __call__(self, weights: NDArray[np.float64]) -> NDArray[np.float64]:
        values = self.values.copy()
        values[:, self.weight_positions] = weights[self.weight_indices]
        return self._run(values)

    def many(self, weights: NDArray[np.float64]) -> NDArray[np.float64]:
        # every sub-model in one PUB: parameter array of shape (n_models, n_samples, n_params)
        values = np.repeat(self.values[None], weights.shape[0], axis=0)
        values[:, :, self.weight_positions] = weights[:, None, self.weight_indices]
        return self._run(values)


class VQCClassifier(ClassifierMixin, BaseEstimator):
    """Variational quantum circuit classifier: ZZ feature map, RealAmplitudes ansatz, COBYLA.

    The model of the study's Section III-C. Each sample ``x`` is encoded by a ZZ feature map
    (Havlíček et al.), followed by a trainable RealAmplitudes ansatz; the model output is the
    expectation value of Pauli Z on qubit 0, :math:`f(x) = \\langle Z_0 \\rangle \\in [-1, 1]`.
    The weights minimise the mean squared error between :math:`f(x)` and the targets
    :math:`\\pm 1` with a gradient-free optimizer (COBYLA by default).

    *Qubit 0* is ``circuit_.qubits[0]``: the least significant bit of a basis-state index and
    the *last* character of a Qiskit Pauli label (the observable is
    ``SparsePauliOp("IIIZ")`` on 4 qubits), following Qiskit's little-endian convention.

    Circuits are simulated exactly by default, with a batched statevector simulator of this
    package: the feature-map state of every sample is prepared once per call to ``fit``, and
    each optimizer step applies one small unitary to the whole batch. With ``shots``,
    ``noise_model`` or ``estimator`` the circuits run on a Qiskit EstimatorV2 instead, with all
    samples in one batched PUB per optimizer step.

    Parameters
    ----------
    feature_map_reps : int, default=2
        Repetitions of the default ZZ feature map.
    ansatz_reps : int, default=1
        Repetitions of the default RealAmplitudes ansatz (``n_qubits * (ansatz_reps + 1)``
        weights; 8 for the study's 4 qubits).
    entanglement : {"full", "linear", "reverse_linear", "circular", "sca", "pairwise"}, \
default="full"
        Entanglement of the default ZZ feature map. The default ansatz uses Qiskit's default
        ("reverse_linear").
    feature_map : qiskit.circuit.QuantumCircuit, default=None
        A custom feature map with one parameter per feature: feature ``j`` binds the ``j``-th
        parameter of ``feature_map.parameters`` (Qiskit's order: sorted by name,
        ``ParameterVector`` elements by index). By default a ZZ feature map with one qubit per
        feature, built in ``fit``.
    ansatz : qiskit.circuit.QuantumCircuit, default=None
        A custom trainable circuit on the feature map's qubits; all its parameters are
        trained. By default the RealAmplitudes ansatz.
    optimizer : {"COBYLA", "COBYQA", "Nelder-Mead", "Powell", "nlopt-COBYLA"}, \
            default="COBYLA"
        Gradient-free method of :func:`scipy.optimize.minimize`, or ``"nlopt-COBYLA"``:
        the same algorithm (Powell's COBYLA, initial trust-region radius 1, final radius
        ``tol`` or 1e-4) in NLopt's compiled implementation (``pip install nlopt``). Since
        SciPy 1.16 SciPy's COBYLA is written in Python and its own bookkeeping costs about
        1-2 ms per step, more than the exact simulation of a 400-sample batch; NLopt's
        costs microseconds. The two take different steps, so their weights differ.
    max_iter : int, default=200
        Maximum number of objective evaluations (circuit batches) per binary sub-model.
    tol : float, default=None
        ``tol`` of :func:`scipy.optimize.minimize`.
    shots : int, default=None
        Estimate each expectation value from ``shots`` measurements instead of exactly. With
        the built-in simulator (``estimator=None``) this uses qiskit-aer's EstimatorV2, which
        models a finite number of shots as Gaussian noise of standard deviation
        ``1 / sqrt(shots)`` around the expectation value; with ``estimator`` it is passed as
        ``precision=1 / sqrt(shots)`` to ``estimator.run``.
    noise_model : qiskit_aer.noise.NoiseModel, default=None
        Simulate with this noise model (qiskit-aer EstimatorV2, density-matrix method, so
        noisy expectation values are exact unless ``shots`` is set). Not combinable with
        ``estimator``.
    estimator : qiskit.primitives.BaseEstimatorV2, default=None
        Any EstimatorV2 (qiskit-aer, ``qiskit.primitives``, or IBM hardware through
        qiskit-ibm-runtime). If it exposes a backend with a transpiler target (attribute
        ``backend`` or ``mode``), the circuit is transpiled to that backend first
        (``optimization_level=1``, ``seed_transpiler=0``). ``fit`` calls ``estimator.run``
        once per optimizer step, with one PUB holding every sample; predictions also use it.
    initial_point : array-like of shape (n_weights,) or (n_sub_models, n_weights), default=None
        Starting weights. By default drawn uniformly from :math:`[-\\pi, \\pi)` with
        ``random_state``.
    callback : callable, default=None
        Called as ``callback(weights, loss)`` after every objective evaluation (of every
        sub-model).
    random_state : int, RandomState instance or None, default=None
        Seeds the initial point and, with ``shots``/``noise_model`` and no ``estimator``,
        the simulator (a fresh seed per optimizer step, drawn from this state).
    verbose : int, default=0
        Print the loss every 10 evaluations (``verbose=1``) or every evaluation (``>= 2``).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels. In the binary case ``classes_[1]`` is the target :math:`+1`
        (:math:`\\langle Z_0 \\rangle > 0`, qubit 0 mostly :math:`|0\\rangle`).
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Feature names, when ``X`` has string column names.
    circuit_ : qiskit.circuit.QuantumCircuit
        The full parameterised circuit (feature map then ansatz, no measurement).
    feature_map_ : qiskit.circuit.QuantumCircuit
        Its feature-map part.
    ansatz_ : qiskit.circuit.QuantumCircuit
        Its trainable part.
    feature_parameters_ : tuple of qiskit.circuit.Parameter
        The circuit parameters bound to the features, in column order.
    weight_parameters_ : tuple of qiskit.circuit.Parameter
        The circuit parameters bound to ``weights_``, in order.
    weights_ : ndarray of shape (n_weights,) or (n_classes, n_weights)
        Trained weights; one row per one-vs-rest sub-model with more than two classes.
    n_iter_ : int or ndarray of shape (n_classes,)
        Objective evaluations (optimizer steps) used, per sub-model with more than two
        classes.
    loss_curve_ : list of float, or list of lists
        Mean squared error at every evaluation (one list per sub-model with more than two
        classes).
    circuit_depth_ : int
        Depth of ``circuit_`` transpiled to the IBM basis ``["rz", "sx", "x", "cx"]`` with
        all-to-all connectivity, ``optimization_level=1`` and ``seed_transpiler=0``.
    circuit_gate_counts_ : dict of str to int
        Gate counts of that transpiled circuit.

    See Also
    --------
    sklearn.decomposition.PCA : reduce features to the circuit's qubit count.

    Notes
    -----
    **Multi-class.** With more than two classes the classifier trains one binary sub-model
    per class (that class :math:`+1`, the rest :math:`-1`, one-vs-rest), each with the same
    circuit and its own weights. ``decision_function`` returns one :math:`\\langle Z_0
    \\rangle` per class, ``predict`` the class with the largest, and ``predict_proba`` the
    values :math:`(1 + \\langle Z_0 \\rangle)/2` normalised over the classes.

    **Probabilities.** In the binary case ``predict_proba`` returns
    :math:`((1 - \\langle Z_0 \\rangle)/2, (1 + \\langle Z_0 \\rangle)/2)`, the probabilities of
    measuring qubit 0 in :math:`|1\\rangle` and :math:`|0\\rangle`. They are not calibrated.

    **Copies.** :func:`sklearn.base.clone` shares ``estimator``, ``noise_model`` and
    ``callback`` between the copies instead of deep-copying them (a hardware session is
    not duplicated). Pickling keeps them when they can be pickled; one that cannot is left out
    with a warning, and the loaded classifier then simulates exactly until it is set again
    with ``set_params``.

    References
    ----------
    .. [1] V. Havlíček et al., "Supervised learning with quantum-enhanced feature spaces",
       Nature 567, 209-212 (2019). :doi:`10.1038/s41586-019-0980-2`
    .. [2] M. J. D. Powell, "A direct search optimization method that models the objective and
       constraint functions by linear interpolation", Advances in Optimization and Numerical
       Analysis, 51-67 (1994). :doi:`10.1007/978-94-015-8330-5_4`

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.preprocessing import MinMaxScaler
    >>> from qbloodcell.quantum import VQCClassifier
    >>> X, y = make_classification(n_samples=80, n_features=4, n_redundant=0, random_state=0)
    >>> X = MinMaxScaler((0, 2)).fit_transform(X)
    >>> clf = VQCClassifier(random_state=0).fit(X, y)
    >>> clf.weights_.shape, clf.n_iter_ <= 200
    ((8,), True)
    >>> clf.circuit_.num_qubits, clf.circuit_depth_
    (4, 46)
    >>> clf.predict_proba(X[:2]).shape
    (2, 2)
    """

    _parameter_specs: ClassVar[dict[str, list[Spec]]] = {
        "feature_map_reps": [Integer(1)],
        "ansatz_reps": [Integer(0)],
        "entanglement": [Options(ENTANGLEMENT_OPTIONS)],
        "feature_map": [NoneValue(), InstanceOf(_quantum_circuit, "a qiskit QuantumCircuit")],
        "ansatz": [NoneValue(), InstanceOf(_quantum_circuit, "a qiskit QuantumCircuit")],
        "optimizer": [Options([*OPTIMIZERS, NLOPT_COBYLA])],
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
        "initial_point": [NoneValue(), InstanceOf((list, tuple, np.ndarray), "array-like")],
        "callback": [NoneValue(), AnyCallable()],
        "random_state": [NoneValue(), RandomState()],
        "verbose": [Integer(0)],
    }

    def __init__(
        self,
        *,
        feature_map_reps: int = 2,
        ansatz_reps: int = 1,
        entanglement: str = "full",
        feature_map: Any = None,
        ansatz: Any = None,
        optimizer: str = "COBYLA",
        max_iter: int = 200,
        tol: float | None = None,
        shots: int | None = None,
        noise_model: Any = None,
        estimator: Any = None,
        initial_point: Any = None,
        callback: Callable[[NDArray[np.float64], float], Any] | None = None,
        random_state: Any = None,
        verbose: int = 0,
    ) -> None:
        self.feature_map_reps = feature_map_reps
        self.ansatz_reps = ansatz_reps
        self.entanglement = entanglement
        self.feature_map = feature_map
        self.ansatz = ansatz
        self.optimizer = optimizer
        self.max_iter = max_iter
        self.tol = tol
        self.shots = shots
        self.noise_model = noise_model
        self.estimator = estimator
        self.initial_point = initial_point
        self.callback = callback
        self.random_state = random_state
        self.verbose = verbose

    # ----------------------------------------------------------------------------------------
    # scikit-learn protocol
    # ----------------------------------------------------------------------------------------
    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags

    def __sklearn_clone__(self) -> VQCClassifier:
        params = self.get_params(deep=False)
        shared = {name: params.pop(name) for name in _SHARED_PARAMETERS}
        copied = {name: clone(value, safe=False) for name, value in params.items()}
        return type(self)(**copied, **shared)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(super().__getstate__())
        # the compiled simulator may hold gate builders that are local functions; it is
        # rebuilt from circuit_ on the first prediction after unpickling
        if "_compiled" in state:
            state["_compiled"] = None
        for name in _SHARED_PARAMETERS:
            value = state.get(name)
            if value is None:
                continue
            try:
                pickle.dumps(value)
            except Exception as error:
                consequence = "is not called" if name == "callback" else "simulates exactly"
                warnings.warn(
                    f"{name} of type {type(value).__name__} cannot be pickled ({error}); it is "
                    f"left out, and the unpickled classifier has {name}=None and "
                    f"{consequence} until you set it again with set_params({name}=...).",
                    UserWarning,
                    stacklevel=2,
                )
                state[name] = None
        return state

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

    # ----------------------------------------------------------------------------------------
    # evaluation backends
    # ----------------------------------------------------------------------------------------
    def _uses_estimator(self) -> bool:
        return self.estimator is not None or self.shots is not None or self.noise_model is not None

    def _compile(self) -> tuple[CompiledCircuit, CompiledCircuit]:
        return (
            CompiledCircuit(self.feature_map_, self.feature_parameters_),
            CompiledCircuit(self.ansatz_, self.weight_parameters_),
        )

    def _make_evaluator(self, X: NDArray[np.float64], seed: int) -> Any:
        if not self._uses_estimator():
            compiled = self._compiled if self._compiled is not None else self._compile()
            return _ExactEvaluator(*compiled, X)
        circuit = (self.circuit_, self.feature_parameters_, self.weight_parameters_)
        if self.estimator is not None:
            precision = None if self.shots is None else 1.0 / np.sqrt(self.shots)
            return _EstimatorEvaluator(
                *circuit, X, self.estimator, precision=precision, seed_rng=None
            )
        from qiskit_aer.primitives import EstimatorV2 as AerEstimator

        backend_options: dict[str, Any] = {}
        if self.noise_model is not None:
            backend_options = {"method": "density_matrix", "noise_model": self.noise_model}
        estimator = AerEstimator(
            options={
                "default_precision": 0.0 if self.shots is None else 1.0 / np.sqrt(self.shots),
                "backend_options": backend_options,
                "run_options": {"seed_simulator": seed},
            }
        )
        return _EstimatorEvaluator(
            *circuit, X, estimator, precision=None, seed_rng=np.random.default_rng(seed)
        )

    # ----------------------------------------------------------------------------------------
    # fit / predict
    # ----------------------------------------------------------------------------------------
    def fit(self, X: Any, y: Any) -> VQCClassifier:
        """Train the circuit weights.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Features, one per qubit of the default circuit (the study: 4 principal
            components scaled to [0, 2]).
        y : array-like of shape (n_samples,)
            Class labels (two or more classes).

        Returns
        -------
        self : VQCClassifier
            The fitted classifier.
        """
        validate_params(self)
        self._check_combinations()
        X, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        classes, y_index = np.unique(y, return_inverse=True)
        if classes.size < 2:
            raise ValueError(
                f"y contains 1 class ({classes[0]!r}); VQCClassifier needs at least 2 classes."
            )
        circuits = make_circuits(
            self.n_features_in_,
            feature_map_reps=self.feature_map_reps,
            ansatz_reps=self.ansatz_reps,
            entanglement=self.entanglement,
            feature_map=self.feature_map,
            ansatz=self.ansatz,
        )
        rng = check_random_state(self.random_state)
        n_models = 1 if classes.size == 2 else classes.size
        n_weights = len(circuits.weight_parameters)
        if self.optimizer in ("COBYLA", NLOPT_COBYLA) and self.max_iter < n_weights + 2:
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
        self.feature_map_ = circuits.feature_map
        self.ansatz_ = circuits.ansatz
        self._compiled: tuple[CompiledCircuit, CompiledCircuit] | None = None
        try:
            self._compiled = self._compile()
        except NotImplementedError:
            # a gate only Qiskit primitives can run; fine unless exact simulation is asked for
            if not self._uses_estimator():
                raise
        self._simulator_seed = simulator_seed
        evaluate = self._make_evaluator(X, simulator_seed)

        if n_models == 1:
            targets = [np.where(y_index == 1, 1.0, -1.0)]
        else:
            targets = [np.where(y_index == k, 1.0, -1.0) for k in range(n_models)]
        weights, n_iter, curves = [], [], []
        for model, target in enumerate(targets):
            result, curve = self._minimize(evaluate, target, initial_points[model], model, n_models)
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
        evaluate: Callable[[NDArray[np.float64]], NDArray[np.float64]],
        target: NDArray[np.float64],
        initial_point: NDArray[np.float64],
        model: int,
        n_models: int,
    ) -> tuple[NDArray[np.float64], list[float]]:
        curve: list[float] = []
        label = f" sub-model {model + 1}/{n_models}" if n_models > 1 else ""

        def objective(weights: NDArray[np.float64]) -> float:
            residual = evaluate(np.asarray(weights, dtype=float)) - target
            loss = float(residual @ residual) / residual.size
            if not np.isfinite(loss):
                raise FloatingPointError(
                    f"The training loss became {loss} at evaluation {len(curve) + 1}; check "
                    "the estimator and the input features."
                )
            curve.append(loss)
            if self.verbose >= 2 or (self.verbose == 1 and len(curve) % 10 == 0):
                print(f"[VQCClassifier]{label} evaluation {len(curve)}: loss {loss:.6f}")
            if self.callback is not None:
                self.callback(np.array(weights, dtype=float), loss)
            return loss

        if self.optimizer == NLOPT_COBYLA:
            return _nlopt_cobyla(objective, initial_point, self.max_iter, self.tol), curve
        result = minimize(
            objective,
            initial_point,
            method=self.optimizer,
            tol=self.tol,
            options={OPTIMIZERS[self.optimizer]: self.max_iter},
        )
        return np.asarray(result.x, dtype=float), curve

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
        X = validate_data(self, X, reset=False, dtype=np.float64)
        weights = np.atleast_2d(self.weights_)
        evaluate = self._make_evaluator(X, self._simulator_seed + 1)
        scores = evaluate.many(weights)
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
        if scores.ndim == 1:
            positive = (1.0 + np.clip(scores, -1.0, 1.0)) / 2.0
            return np.column_stack([1.0 - positive, positive])
        positive = (1.0 + np.clip(scores, -1.0, 1.0)) / 2.0
        totals = positive.sum(axis=1, keepdims=True)
        uniform = np.full_like(positive, 1.0 / positive.shape[1])
        return np.where(totals > 0, positive / np.where(totals > 0, totals, 1.0), uniform)


def _nlopt_cobyla(
    objective: Callable[[NDArray[np.float64]], float],
    initial_point: NDArray[np.float64],
    max_iter: int,
    tol: float | None,
) -> NDArray[np.float64]:
    """Minimise with NLopt's COBYLA, with SciPy's COBYLA defaults; returns the best point."""
    try:
        import nlopt
    except ImportError:
        raise ImportError(
            f"optimizer={NLOPT_COBYLA!r} needs NLopt, which is not installed: "
            "pip install nlopt (or pip install 'qbloodcell[nlopt]')."
        ) from None
    best: list[Any] = [np.inf, np.array(initial_point, dtype=float)]

    def nlopt_objective(weights: NDArray[np.float64], gradient: NDArray[np.float64]) -> float:
        loss = objective(weights)
        if loss < best[0]:
            best[0], best[1] = loss, np.array(weights, dtype=float)
        return loss

    optimizer = nlopt.opt(nlopt.LN_COBYLA, len(initial_point))
    optimizer.set_min_objective(nlopt_objective)
    optimizer.set_maxeval(int(max_iter))
    optimizer.set_initial_step(1.0)
    optimizer.set_xtol_abs(_COBYLA_RHOEND if tol is None else float(tol))
    # RoundoffLimited: no further progress is possible; the best point so far is the answer
    with contextlib.suppress(nlopt.RoundoffLimited):
        optimizer.optimize(np.array(initial_point, dtype=float))
    return np.asarray(best[1], dtype=float)
