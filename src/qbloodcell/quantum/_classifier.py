"""The variational quantum circuit classifier (the study's model)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from qbloodcell._validation import Integer, NoneValue, Options, Spec
from qbloodcell.quantum._base import CIRCUIT_SPEC, COMMON_PARAMETER_SPECS, QuantumClassifierBase
from qbloodcell.quantum._circuits import (
    ANSATZ_OPTIONS,
    ENTANGLEMENT_OPTIONS,
    ClassifierCircuits,
    make_circuits,
)
from qbloodcell.quantum._expectations import PreparedStatesExpectations
from qbloodcell.quantum._statevector import CompiledCircuit

#: The study's VQC exactly: its circuit (ZZ map with 2 repetitions, RealAmplitudes with 1),
#: its angles taken as given (the study scaled them to [0, 2] with its own MinMaxScaler),
#: SciPy's COBYLA (as in its Qiskit code) and 200 evaluations. ``VQCClassifier(
#: **STUDY_VQC_SETTINGS)`` behind ``StandardScaler -> PCA(4) -> MinMaxScaler((0, 2))`` is the
#: study's model; the ``vqc-study`` benchmark method builds that pipeline.
STUDY_VQC_SETTINGS: dict[str, Any] = {
    "feature_map_reps": 2,
    "ansatz": "real_amplitudes",
    "ansatz_reps": 1,
    "input_scaling": None,
    "optimizer": "COBYLA",
    "max_iter": 200,
}


class VQCClassifier(QuantumClassifierBase):
    """Variational quantum circuit classifier: ZZ feature map, RealAmplitudes ansatz, COBYLA.

    The model of the study's Section III-C. Each sample ``x`` is scaled to encoding angles
    (``input_scaling``, ``bandwidth``), encoded by a ZZ feature map (Havlíček et al.) and
    followed by a trainable RealAmplitudes ansatz; the model output is the expectation value
    of Pauli Z on qubit 0, :math:`f(x) = \\langle Z_0 \\rangle \\in [-1, 1]`. The weights
    minimise the mean squared error between :math:`f(x)` and the targets :math:`\\pm 1`
    with a gradient-free optimizer (COBYLA by default), or, with ``optimizer="adam"`` or
    ``"l-bfgs-b"``, with exact parameter-shift gradients; ``loss="cross_entropy"`` trains
    the probability :math:`(1 + f(x))/2` of the target class instead.

    The defaults differ from the study's settings (2 feature-map repetitions,
    RealAmplitudes with 1 repetition, angles in [0, 2], 200 evaluations), with which the
    model barely learns on real cells; they were chosen by cross-validation on training
    splits (see :ref:`bandwidth`). The second example below runs the study's exact model.

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
    feature_map_reps : int, default=1
        Repetitions of the default ZZ feature map (the study used 2).
    ansatz_reps : int, default=3
        Repetitions of a named ansatz: ``n_qubits * (ansatz_reps + 1)`` weights for
        RealAmplitudes, twice that for EfficientSU2 (the study used RealAmplitudes with 1
        repetition, i.e. 8 weights on 4 qubits).
    entanglement : {"full", "linear", "reverse_linear", "circular", "sca", "pairwise"}, \
default="full"
        Entanglement of the default ZZ feature map. The default ansatz uses Qiskit's default
        ("reverse_linear").
    input_scaling : {"minmax", "standard"} or None, default="minmax"
        How ``fit`` turns features into encoding angles (learned on the training data, like
        any scikit-learn scaler, and applied again in ``predict``): ``"minmax"`` maps the
        training range of each feature to ``[0, bandwidth]``, ``"standard"`` maps each
        feature to ``bandwidth * (x - mean) / std``; new samples are clipped to the angles
        seen in training. ``None`` uses the features as angles unchanged, as the study did
        after its own ``MinMaxScaler((0, 2))``. See :ref:`bandwidth`.
    bandwidth : float, default=0.25
        Width of the angle range (``input_scaling="minmax"``) or angles per standard
        deviation (``"standard"``). Small bandwidths make the encoded states of different
        samples alike, large ones make them nearly orthogonal and the model a near-random
        function of its input; the default was chosen by cross-validation on training
        splits (see :ref:`bandwidth`). The study's recipe is ``input_scaling="minmax",
        bandwidth=2`` after a StandardScaler and PCA.
    feature_map : qiskit.circuit.QuantumCircuit, default=None
        A custom feature map with one parameter per feature: feature ``j`` binds the ``j``-th
        parameter of ``feature_map.parameters`` (Qiskit's order: sorted by name,
        ``ParameterVector`` elements by index). By default a ZZ feature map with one qubit per
        feature, built in ``fit``.
    ansatz : {"real_amplitudes", "efficient_su2"}, qiskit.circuit.QuantumCircuit or None, \
default="efficient_su2"
        The trainable circuit: Qiskit's RealAmplitudes (RY rotations and CX chains, real
        amplitudes only: the study's choice) or EfficientSU2 (RY and RZ rotations and CX
        chains) with ``ansatz_reps`` repetitions, or any circuit on the feature map's qubits
        (all its parameters are trained). ``None`` means ``"real_amplitudes"``. With the
        fitted input scaling at a small bandwidth, the RZ layers matter: a real ansatz
        sees only the cosines of the small encoding phases, which hardly vary.
    optimizer : {"nlopt-COBYLA", "COBYLA", "COBYQA", "Nelder-Mead", "Powell", "adam", \
"l-bfgs-b", "spsa"}, default="nlopt-COBYLA"
        ``"nlopt-COBYLA"`` is Powell's COBYLA in NLopt's compiled implementation (initial
        trust-region radius 1, final radius ``tol`` or 1e-4, SciPy's defaults); the other
        names are the gradient-free methods of :func:`scipy.optimize.minimize`
        (``"COBYLA"`` is SciPy's, the optimizer the study's Qiskit code used). Since SciPy
        1.16 SciPy's COBYLA is written in Python and its own bookkeeping costs more per step
        than the exact simulation of a few hundred samples; NLopt's is negligible. The two
        take different steps, so their weights differ. ``"adam"`` (Adam, step size
        ``learning_rate``) and ``"l-bfgs-b"`` (SciPy's L-BFGS-B) use the exact gradient of
        the loss from the parameter-shift rule on the exact simulator (two shifted circuits
        per gate angle, simulated as one batch); they cannot be combined with ``shots``,
        ``noise_model`` or ``estimator`` (a ValueError says so). ``"spsa"`` (Spall's
        simultaneous perturbation: two loss evaluations per step at random :math:`\\pm`
        perturbations, first gain ``learning_rate``) needs no gradient and is meant for
        shot-based and hardware runs. See :ref:`trainability`.
    loss : {"mse", "cross_entropy"}, default="mse"
        Training loss of each binary (sub-)model with targets :math:`t = \\pm 1`:
        ``"mse"``, the mean of :math:`(\\langle Z_0 \\rangle - t)^2` (the study's), or
        ``"cross_entropy"``, the mean binary cross-entropy of
        :math:`p = (1 + \\langle Z_0 \\rangle)/2`, the probability of measuring qubit 0 in
        :math:`|0\\rangle`, for the target :math:`+1` (``p`` clipped to
        :math:`[10^{-7}, 1 - 10^{-7}]`). ``p`` is the second column of ``predict_proba``.
    learning_rate : float, default=0.1
        Step size of ``"adam"`` and first gain of ``"spsa"``; the other optimizers ignore it.
    max_iter : int, default=800
        Maximum number of objective evaluations (circuit batches) per binary sub-model
        (the study used 200). For ``"adam"`` and ``"l-bfgs-b"`` an evaluation is the loss
        and its gradient (the circuit and two shifted copies per weight-dependent gate
        angle, four for controlled rotations, in one batch); ``"spsa"`` makes two
        evaluations per step.
    tol : float, default=None
        ``tol`` of :func:`scipy.optimize.minimize` (final trust-region radius of
        ``"nlopt-COBYLA"``); ``"adam"`` stops once every gradient component is below it.
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
        qiskit-ibm-runtime, in job, Session or Batch mode). If it exposes a backend with a
        transpiler target (``backend``, as an attribute or a method, or ``mode``), the
        circuit is transpiled to that backend's instruction set first (see
        ``pass_manager``) and the observable is mapped through the layout. ``fit`` calls
        ``estimator.run`` once per optimizer step, with one PUB holding every sample;
        predictions also use it. Options set on the estimator (resilience, dynamical
        decoupling, twirling, shots) apply to every call.
    pass_manager : qiskit.transpiler.PassManager, default=None
        Transpiles the circuit on the Estimator route (``shots``, ``noise_model`` or
        ``estimator``): once per ``fit`` and once per prediction call, never per optimizer
        step. ``None`` means
        ``generate_preset_pass_manager(optimization_level=1, backend=backend,
        seed_transpiler=0)`` for the estimator's backend when it has a target, and no
        transpilation otherwise. The pass manager must keep the circuit's parameters.
    mitigation : ZeroNoiseExtrapolation, default=None
        Error mitigation on the Estimator route: with
        :class:`~qbloodcell.quantum.ZeroNoiseExtrapolation`, every evaluation runs the
        circuit folded at each noise scale factor (one PUB per factor) and uses the
        extrapolation of :math:`\\langle Z_0 \\rangle` to zero noise, in training and in
        prediction. ``None``: no mitigation.
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
    input_scaling_ : InputScaling
        The fitted features-to-angles map (``scale``, ``offset`` and the clipping bounds
        ``low``, ``high`` per feature).
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
        The training loss (``loss``) at every evaluation (one list per sub-model with more than two
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

    **Hardware.** With qiskit-ibm-runtime, the estimator's own options reach every call:
    ``estimator.options.resilience_level``, ``estimator.options.dynamical_decoupling.enable``
    and the like are set on the estimator before ``fit`` (see :ref:`vqc`, "Exact, sampled,
    noisy and hardware execution"). ``mitigation`` is this package's zero-noise
    extrapolation, independent of the Runtime's resilience options.

    **Copies.** :func:`sklearn.base.clone` shares ``estimator``, ``noise_model``,
    ``pass_manager`` and ``callback`` between the copies instead of deep-copying them (a
    hardware session is not duplicated). Pickling keeps them when they can be pickled; one
    that cannot (such as Qiskit's preset pass managers) is left out with a warning, and the
    loaded classifier then simulates exactly (transpiles with the default pass manager)
    until it is set again with ``set_params``.

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
    >>> clf = VQCClassifier(random_state=0).fit(X, y)
    >>> clf.weights_.shape, clf.n_iter_ <= 800
    ((32,), True)
    >>> clf.score(X, y) > 0.8
    True

    The study's exact model: its circuit, angles taken as given (after its own
    ``MinMaxScaler((0, 2))``), SciPy's COBYLA and 200 evaluations:

    >>> from qbloodcell.quantum import STUDY_VQC_SETTINGS
    >>> study = VQCClassifier(**STUDY_VQC_SETTINGS, random_state=0)
    >>> study.fit(MinMaxScaler((0, 2)).fit_transform(X), y).circuit_depth_
    46
    >>> clf.predict_proba(X[:2]).shape
    (2, 2)
    """

    _parameter_specs: ClassVar[dict[str, list[Spec]]] = {
        "feature_map_reps": [Integer(1)],
        "ansatz_reps": [Integer(0)],
        "entanglement": [Options(ENTANGLEMENT_OPTIONS)],
        "feature_map": [NoneValue(), CIRCUIT_SPEC],
        "ansatz": [NoneValue(), Options(ANSATZ_OPTIONS), CIRCUIT_SPEC],
        **COMMON_PARAMETER_SPECS,
    }

    def __init__(
        self,
        *,
        feature_map_reps: int = 1,
        ansatz_reps: int = 3,
        entanglement: str = "full",
        input_scaling: str | None = "minmax",
        bandwidth: float = 0.25,
        feature_map: Any = None,
        ansatz: Any = "efficient_su2",
        optimizer: str = "nlopt-COBYLA",
        loss: str = "mse",
        learning_rate: float = 0.1,
        max_iter: int = 800,
        tol: float | None = None,
        shots: int | None = None,
        noise_model: Any = None,
        estimator: Any = None,
        pass_manager: Any = None,
        mitigation: Any = None,
        initial_point: Any = None,
        callback: Callable[[NDArray[np.float64], float], Any] | None = None,
        random_state: Any = None,
        verbose: int = 0,
    ) -> None:
        self.feature_map_reps = feature_map_reps
        self.ansatz_reps = ansatz_reps
        self.entanglement = entanglement
        self.input_scaling = input_scaling
        self.bandwidth = bandwidth
        self.feature_map = feature_map
        self.ansatz = ansatz
        self.optimizer = optimizer
        self.loss = loss
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.tol = tol
        self.shots = shots
        self.noise_model = noise_model
        self.estimator = estimator
        self.pass_manager = pass_manager
        self.mitigation = mitigation
        self.initial_point = initial_point
        self.callback = callback
        self.random_state = random_state
        self.verbose = verbose

    def _build_circuits(self, n_features: int) -> ClassifierCircuits:
        return make_circuits(
            n_features,
            feature_map_reps=self.feature_map_reps,
            ansatz_reps=self.ansatz_reps,
            entanglement=self.entanglement,
            feature_map=self.feature_map,
            ansatz=self.ansatz,
        )

    def _set_circuit_attributes(self, circuits: ClassifierCircuits) -> None:
        self.feature_map_ = circuits.feature_map
        self.ansatz_ = circuits.ansatz

    def _compile(self) -> tuple[CompiledCircuit, CompiledCircuit]:
        return (
            CompiledCircuit(self.feature_map_, self.feature_parameters_),
            CompiledCircuit(self.ansatz_, self.weight_parameters_),
        )

    def _exact_expectations(
        self, compiled: tuple[CompiledCircuit, CompiledCircuit], X: NDArray[np.float64]
    ) -> PreparedStatesExpectations:
        return PreparedStatesExpectations(*compiled, X, self.ansatz_, self.weight_parameters_)
