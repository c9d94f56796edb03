"""The data re-uploading classifier (Pérez-Salinas et al. 2020)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from qbloodcell._validation import Integer, Options, Spec
from qbloodcell.quantum._base import COMMON_PARAMETER_SPECS, QuantumClassifierBase
from qbloodcell.quantum._circuits import MAX_DEFAULT_QUBITS, ClassifierCircuits
from qbloodcell.quantum._expectations import CircuitExpectations
from qbloodcell.quantum._statevector import CompiledCircuit

#: Entangling layers between the re-uploading layers: a CZ chain, a CZ ring, or none.
REUPLOADING_ENTANGLEMENT = ("linear", "circular", "none")


def build_reuploading_circuit(
    n_qubits: int, n_layers: int, entanglement: str
) -> ClassifierCircuits:
    """The re-uploading circuit: ``n_layers`` x (encoding rotations, entangling CZs).

    Layer ``l`` applies, on qubit ``q``, ``RY(w[l, q, 0] * x[q] + b[l, q, 0])`` then
    ``RZ(w[l, q, 1] * x[q] + b[l, q, 1])``: the feature is uploaded again in every layer,
    through trainable input weights ``w`` and offsets ``b``. The weights are the circuit
    parameters ``θ``, ordered layer by layer, qubit by qubit, (w_ry, b_ry, w_rz, b_rz).
    """
    from qiskit.circuit import ParameterVector, QuantumCircuit

    x = ParameterVector("x", n_qubits)
    theta = ParameterVector("θ", 4 * n_layers * n_qubits)
    circuit = QuantumCircuit(n_qubits)
    k = 0
    for layer in range(n_layers):
        for q in range(n_qubits):
            w_ry, b_ry, w_rz, b_rz = theta[k : k + 4]
            k += 4
            circuit.ry(w_ry * x[q] + b_ry, q)
            circuit.rz(w_rz * x[q] + b_rz, q)
        last = layer == n_layers - 1
        if entanglement != "none" and n_qubits > 1 and not last:
            for q in range(n_qubits - 1):
                circuit.cz(q, q + 1)
            if entanglement == "circular" and n_qubits > 2:
                circuit.cz(n_qubits - 1, 0)
    return ClassifierCircuits(
        feature_map=circuit,
        ansatz=circuit,
        circuit=circuit,
        feature_parameters=tuple(x),
        weight_parameters=tuple(theta),
    )


class DataReuploadingClassifier(QuantumClassifierBase):
    """Data re-uploading quantum classifier: encoding and training interleaved in layers.

    Pérez-Salinas et al. showed that a circuit which uploads the input again in every
    layer, through trainable rotations, is a universal classifier even on one qubit: the
    repeated uploads give the model higher frequencies of the input, as hidden layers do
    in a neural network. Here each feature has its own qubit; in each of ``n_layers``
    layers, qubit ``q`` gets ``RY(w x_q + b)`` and ``RZ(w' x_q + b')`` with trainable
    input weights ``w, w'`` and offsets ``b, b'``, followed by a chain (or ring) of CZ gates
    between layers. The output is :math:`\\langle Z_0 \\rangle`, trained on the mean squared
    error (or ``loss="cross_entropy"``) to targets :math:`\\pm 1` as :class:`VQCClassifier`,
    with the same input scaling, optimizers (gradient-free, parameter-shift gradients or
    SPSA), one-vs-rest multi-class, exact simulation and Estimator route.

    Parameters
    ----------
    n_layers : int, default=3
        Number of re-uploading layers (``4 * n_layers * n_features`` weights).
    entanglement : {"linear", "circular", "none"}, default="linear"
        CZ gates between consecutive layers: a chain, a ring, or none (independent qubits).
    input_scaling : {"minmax", "standard"} or None, default="minmax"
        Fitted features-to-angles map, as in :class:`VQCClassifier`.
    bandwidth : float, default=1.0
        Width of the angle range (see :class:`VQCClassifier`); the trainable input weights
        rescale it further per layer.
    optimizer : str, default="nlopt-COBYLA"
        ``"nlopt-COBYLA"``, ``"COBYLA"``, ``"COBYQA"``, ``"Nelder-Mead"``, ``"Powell"``,
        ``"adam"``, ``"l-bfgs-b"`` or ``"spsa"``, as in :class:`VQCClassifier` (the
        gradient of a re-uploading angle ``w x + b`` follows by the chain rule).
    loss : {"mse", "cross_entropy"}, default="mse"
        As in :class:`VQCClassifier`.
    learning_rate : float, default=0.1
        As in :class:`VQCClassifier`.
    max_iter : int, default=300
        Maximum number of objective evaluations per binary sub-model.
    tol : float, default=None
        Final trust-region radius of COBYLA / ``tol`` of :func:`scipy.optimize.minimize`.
    shots : int, default=None
        As in :class:`VQCClassifier`.
    noise_model : qiskit_aer.noise.NoiseModel, default=None
        As in :class:`VQCClassifier`.
    estimator : qiskit.primitives.BaseEstimatorV2, default=None
        As in :class:`VQCClassifier`.
    pass_manager : qiskit.transpiler.PassManager, default=None
        As in :class:`VQCClassifier`.
    mitigation : ZeroNoiseExtrapolation, default=None
        As in :class:`VQCClassifier`.
    initial_point : array-like, default=None
        As in :class:`VQCClassifier`.
    callback : callable, default=None
        As in :class:`VQCClassifier`.
    random_state : int, RandomState instance or None, default=None
        As in :class:`VQCClassifier`.
    verbose : int, default=0
        As in :class:`VQCClassifier`.

    Attributes
    ----------
    weights_ : ndarray of shape (n_weights,) or (n_classes, n_weights)
        Trained weights (input weights and offsets), one row per one-vs-rest sub-model
        with more than two classes. The other fitted attributes (``classes_``,
        ``input_scaling_``, ``circuit_``, ``n_iter_``, ``loss_curve_``, ...) are those of
        :class:`VQCClassifier`.

    See Also
    --------
    VQCClassifier : the study's model: encoding once, then a trainable circuit.

    References
    ----------
    .. [1] A. Pérez-Salinas, A. Cervera-Lierta, E. Gil-Fuster and J. I. Latorre, "Data
       re-uploading for a universal quantum classifier", Quantum 4, 226 (2020).
       :doi:`10.22331/q-2020-02-06-226`

    Examples
    --------
    >>> from sklearn.datasets import make_moons
    >>> from qbloodcell.quantum import DataReuploadingClassifier
    >>> X, y = make_moons(n_samples=100, noise=0.1, random_state=0)
    >>> clf = DataReuploadingClassifier(n_layers=3, random_state=0).fit(X, y)
    >>> clf.weights_.shape
    (24,)
    >>> clf.score(X, y) > 0.8
    True
    """

    _parameter_specs: ClassVar[dict[str, list[Spec]]] = {
        "n_layers": [Integer(1)],
        "entanglement": [Options(REUPLOADING_ENTANGLEMENT)],
        **COMMON_PARAMETER_SPECS,
    }

    def __init__(
        self,
        *,
        n_layers: int = 3,
        entanglement: str = "linear",
        input_scaling: str | None = "minmax",
        bandwidth: float = 1.0,
        optimizer: str = "nlopt-COBYLA",
        loss: str = "mse",
        learning_rate: float = 0.1,
        max_iter: int = 300,
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
        self.n_layers = n_layers
        self.entanglement = entanglement
        self.input_scaling = input_scaling
        self.bandwidth = bandwidth
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
        if n_features > MAX_DEFAULT_QUBITS:
            raise ValueError(
                f"X has {n_features} features, but DataReuploadingClassifier uses one qubit "
                f"per feature and supports at most {MAX_DEFAULT_QUBITS}. Reduce the features "
                "first, e.g. make_pipeline(PCA(n_components=4), DataReuploadingClassifier())."
            )
        return build_reuploading_circuit(n_features, self.n_layers, self.entanglement)

    def _compile(self) -> CompiledCircuit:
        return CompiledCircuit(self.circuit_, (*self.feature_parameters_, *self.weight_parameters_))

    def _exact_expectations(
        self, compiled: CompiledCircuit, X: NDArray[np.float64]
    ) -> CircuitExpectations:
        circuits = (self.circuit_, self.feature_parameters_, self.weight_parameters_)
        return CircuitExpectations(compiled, X, circuits)
