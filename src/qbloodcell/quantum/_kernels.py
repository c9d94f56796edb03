"""Quantum kernels: fidelity, projected and trainable (aligned) kernels, and the kernel SVC.

A quantum kernel compares two samples through the states a feature map prepares for them.
The kernels here are scikit-learn objects used the way kernels already are: a kernel is a
callable ``k(X, Y) -> Gram`` (so ``SVC(kernel=FidelityQuantumKernel())`` works, and
``GridSearchCV`` reaches its parameters as ``kernel__bandwidth``), it also offers
``evaluate(X, Y=None)`` as qiskit-machine-learning's kernels do, and
:class:`QuantumKernelSVC` is a ready classifier that wraps :class:`sklearn.svm.SVC` with a
precomputed quantum Gram matrix.

Exact Gram matrices come from one batched preparation of all feature-map states
(:class:`~qbloodcell.quantum._fused.FusedCircuit`) and one matrix product; on request a
Qiskit sampler estimates them from measurements instead (the hardware route).
"""

from __future__ import annotations

import pickle
import warnings
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.svm import SVC
from sklearn.utils import check_array, check_random_state
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from qbloodcell._validation import (
    Boolean,
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
    MAX_DEFAULT_QUBITS,
    build_feature_map,
)
from qbloodcell.quantum._estimators import backend_with_target
from qbloodcell.quantum._fused import FusedCircuit
from qbloodcell.quantum._scaling import INPUT_SCALINGS, InputScaling

FloatArray = NDArray[np.float64]
ComplexArray = NDArray[np.complex128]

#: Kernels of :class:`QuantumKernelSVC`.
KERNELS = ("fidelity", "projected", "trainable")
#: Defaults of :class:`QuantumKernelSVC` per kernel, for ``bandwidth=None`` and
#: ``gamma=None``: the settings with the best cross-validated accuracy (mean over 5 seeds
#: of real and of synthetic cells, training splits only) in
#: benchmarks/bench_kernel_bandwidth.py; the numbers are on the kernels page of the user
#: guide. The projected kernel's optimum is a ridge along which gamma * bandwidth**2 is
#: about constant, so a small bandwidth goes with a large gamma.
KERNEL_DEFAULTS: dict[str, dict[str, float]] = {
    "fidelity": {"bandwidth": 0.5},
    "projected": {"bandwidth": 0.05, "gamma": 100.0},
    "trainable": {"bandwidth": 0.3},
}
#: Default feature-map repetitions of :class:`QuantumKernelSVC`, chosen with the bandwidth.
DEFAULT_FEATURE_MAP_REPS = 1

# Parameters holding live objects that clone shares rather than copies (a hardware session
# must not be duplicated); the same rule as VQCClassifier's estimator.
_SHARED_PARAMETERS = ("sampler",)


def _quantum_circuit() -> type:
    from qiskit.circuit import QuantumCircuit

    return QuantumCircuit


_SAMPLER_SPEC = HasMethods(
    ["run"], "a Qiskit SamplerV2 (an object with a run(pubs, shots=...) method)"
)
_FEATURE_MAP_SPECS: dict[str, list[Spec]] = {
    "feature_map": [NoneValue(), InstanceOf(_quantum_circuit, "a qiskit QuantumCircuit")],
    "feature_map_reps": [Integer(1)],
    "entanglement": [Options(ENTANGLEMENT_OPTIONS)],
}
_SAMPLING_SPECS: dict[str, list[Spec]] = {
    "sampler": [NoneValue(), _SAMPLER_SPEC],
    "shots": [NoneValue(), Integer(1)],
    "random_state": [NoneValue(), RandomState()],
}


# --------------------------------------------------------------------------------------------
# feature maps
# --------------------------------------------------------------------------------------------
def _default_feature_map(n_features: int, reps: int, entanglement: str) -> Any:
    if n_features < 2:
        raise ValueError(
            f"X has {n_features} feature(s), but the default ZZ feature map needs at least 2 "
            "(it uses one qubit per feature and couples them in pairs). Pass a custom "
            "feature_map circuit for one-dimensional data."
        )
    if n_features > MAX_DEFAULT_QUBITS:
        raise ValueError(
            f"X has {n_features} features, but the default feature map uses one qubit per "
            f"feature and supports at most {MAX_DEFAULT_QUBITS}. Reduce the features first, "
            "e.g. make_pipeline(BloodCellFeatures(), PCA(n_components=4), QuantumKernelSVC())."
        )
    return build_feature_map(n_features, reps, entanglement)


def _checked_feature_map(feature_map: Any, n_features: int) -> Any:
    if feature_map.num_parameters != n_features:
        raise ValueError(
            f"feature_map has {feature_map.num_parameters} parameter(s) but X has {n_features} "
            "feature(s); they must match (feature j binds the j-th parameter in "
            "feature_map.parameters). Reduce the features to the circuit's size, e.g. with "
            f"PCA(n_components={feature_map.num_parameters})."
        )
    return feature_map


def _for_primitive(circuit: Any, primitive: Any) -> Any:
    """``circuit`` in the instruction set of the primitive's device, when it has one."""
    backend = backend_with_target(primitive)
    if backend is None:
        return circuit
    from qiskit.transpiler import generate_preset_pass_manager

    pass_manager = generate_preset_pass_manager(
        optimization_level=1, backend=backend, seed_transpiler=0
    )
    return pass_manager.run(circuit)


def _one_blas_thread() -> Any:
    """BLAS on one thread for the kernel's matrix products.

    The products of a kernel are small (a few hundred rows, a few dozen to a few hundred
    columns): threaded BLAS gains little on them, and its threads wait for each other by
    spinning, so when other processes use the cores each product can wait for a time slice
    (measured in benchmarks/bench_kernels.py, with and without ``--blas-threads 1``). This is
    the equilibrium-propagation relaxation's finding and mechanism, reused.
    """
    from qbloodcell._threads import single_threaded_blas

    return single_threaded_blas()


def _bit_array(pub_result: Any) -> Any:
    """The measured bits of a sampler PUB result (the one classical register)."""
    data = pub_result.data
    registers = list(data.keys()) if hasattr(data, "keys") else []
    if not registers:
        raise RuntimeError("The sampler returned no measured bits.")
    return data[registers[0]]


# --------------------------------------------------------------------------------------------
# the kernels
# --------------------------------------------------------------------------------------------
class _QuantumKernel(BaseEstimator):
    """What the quantum kernels share: the feature map, the bandwidth and the sampler."""

    _parameter_specs: ClassVar[dict[str, list[Spec]]]

    # set by subclasses: the kernel needs a fitted state before it can be evaluated
    _needs_fit: ClassVar[bool] = False

    def __sklearn_clone__(self) -> Any:
        params = self.get_params(deep=False)
        shared = {name: params.pop(name) for name in _SHARED_PARAMETERS if name in params}
        copied = {name: clone(value, safe=False) for name, value in params.items()}
        return type(self)(**copied, **shared)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(super().__getstate__())
        # compiled simulators hold gate builders that are local functions; rebuilt on use
        state.pop("_cache", None)
        value = state.get("sampler")
        if value is not None:
            try:
                pickle.dumps(value)
            except Exception as error:
                warnings.warn(
                    f"sampler of type {type(value).__name__} cannot be pickled ({error}); it "
                    "is left out, and the unpickled kernel has sampler=None and is exact "
                    "(or uses Aer with shots) until you set it again with "
                    "set_params(sampler=...).",
                    UserWarning,
                    stacklevel=2,
                )
                state["sampler"] = None
        return state

    # ----------------------------------------------------------------------------------------
    # circuits
    # ----------------------------------------------------------------------------------------
    def _feature_map_for(self, n_features: int) -> Any:
        """The feature-map circuit for ``n_features`` inputs (built, or the user's, checked)."""
        if self.feature_map is None:
            return _default_feature_map(n_features, self.feature_map_reps, self.entanglement)
        return _checked_feature_map(self.feature_map, n_features)

    def _cached(self, name: str, n_features: int, build: Any) -> Any:
        # keyed by the parameters that shape the circuit, so set_params invalidates it; the
        # user's circuit is compared by identity
        key = (name, n_features, self.feature_map_reps, self.entanglement)
        cache = self.__dict__.setdefault("_cache", {})
        entry = cache.get(key)
        if entry is not None and entry[0] is self.feature_map:
            return entry[1]
        value = build()
        cache[key] = (self.feature_map, value)
        return value

    def _simulator(self, n_features: int) -> FusedCircuit:
        def build() -> FusedCircuit:
            circuit = self._feature_map_for(n_features)
            return FusedCircuit(circuit, tuple(circuit.parameters))

        return self._cached("simulator", n_features, build)

    def _sampler_feature_map(self, n_features: int) -> Any:
        """The circuit whose states the sampler route prepares (the feature map)."""
        return self._feature_map_for(n_features)

    # ----------------------------------------------------------------------------------------
    # input
    # ----------------------------------------------------------------------------------------
    def _angles(self, X: Any, name: str) -> FloatArray:
        X = check_array(X, dtype=np.float64, input_name=name, ensure_min_samples=1)
        return np.asarray(self.bandwidth * X, dtype=np.float64)

    def _inputs(self, X: Any, Y: Any) -> tuple[FloatArray, FloatArray | None]:
        """Angles for X and Y; Y is None when the Gram matrix is K(X, X)."""
        A = self._angles(X, "X")
        if self._needs_fit and A.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {A.shape[1]} features, but the kernel was fitted with "
                f"{self.n_features_in_}."
            )
        if Y is None or Y is X:
            return A, None
        B = self._angles(Y, "Y")
        if B.shape[1] != A.shape[1]:
            raise ValueError(
                f"X has {A.shape[1]} features but Y has {B.shape[1]}; a kernel compares "
                "samples with the same features."
            )
        if A.shape == B.shape and np.array_equal(A, B):
            # SVC.fit calls kernel(X, X) with the same array; a copy is the same case
            return A, None
        return A, B

    def _check_fitted(self) -> None:
        if self._needs_fit:
            check_is_fitted(self)

    def _uses_sampler(self) -> bool:
        return self.sampler is not None or self.shots is not None

    def _sampler(self, rng: np.random.RandomState) -> Any:
        if self.sampler is not None:
            return self.sampler
        from qiskit_aer.primitives import SamplerV2 as AerSampler

        return AerSampler(default_shots=int(self.shots), seed=int(rng.randint(2**31 - 1)))

    def evaluate(self, X: Any, Y: Any = None) -> FloatArray:
        """The Gram matrix ``K[i, j] = k(X[i], Y[j])``.

        Parameters
        ----------
        X : array-like of shape (n_samples_X, n_features)
            Samples; the encoding angles are ``bandwidth * X``.
        Y : array-like of shape (n_samples_Y, n_features), default=None
            Second set of samples; by default ``X`` (a symmetric Gram matrix).

        Returns
        -------
        gram : ndarray of shape (n_samples_X, n_samples_Y)
            Kernel values.
        """
        validate_params(self)
        self._check_fitted()
        A, B = self._inputs(X, Y)
        if self._uses_sampler():
            return self._gram(A, B)
        with _one_blas_thread():
            return self._gram(A, B)

    def __call__(self, X: Any, Y: Any = None) -> FloatArray:
        """The Gram matrix, as :meth:`evaluate` (what ``SVC(kernel=...)`` calls)."""
        return self.evaluate(X, Y)

    def _gram(self, A: FloatArray, B: FloatArray | None) -> FloatArray:
        raise NotImplementedError


class FidelityQuantumKernel(_QuantumKernel):
    """The fidelity quantum kernel :math:`k(x, y) = |\\langle\\phi(x)|\\phi(y)\\rangle|^2`.

    Each sample is encoded by a feature map :math:`U(\\theta)` acting on
    :math:`|0\\ldots0\\rangle` at the angles :math:`\\theta = \\text{bandwidth} \\cdot x`, and
    the kernel is the overlap of two such states [1]_. With the exact simulator (default),
    the states of all samples are prepared at once and the Gram matrix is
    :math:`|S_X S_Y^\\dagger|^2`; with ``sampler`` or ``shots`` every entry is estimated from
    the compute-uncompute circuit :math:`U(\\theta_y)^\\dagger U(\\theta_x)`: the
    probability of measuring all zeros [1]_.

    The object is a callable ``kernel(X, Y) -> Gram``, so it goes straight into
    ``sklearn.svm.SVC(kernel=...)`` (which passes raw features: the bandwidth is this
    object's, not fitted); :class:`QuantumKernelSVC` fits the input scaling itself.

    Parameters
    ----------
    feature_map : qiskit.circuit.QuantumCircuit, default=None
        A unitary feature map with one parameter per feature: feature ``j`` binds the
        ``j``-th parameter of ``feature_map.parameters`` (Qiskit's order). By default the
        ZZ feature map with one qubit per feature (the one :class:`VQCClassifier` uses),
        built on first use.
    feature_map_reps : int, default=2
        Repetitions of the default ZZ feature map.
    entanglement : {"full", "linear", "reverse_linear", "circular", "sca", "pairwise"}, \
default="full"
        Entanglement of the default ZZ feature map.
    bandwidth : float, default=1.0
        Encoding angles are ``bandwidth * X``: a fixed scale, the quantum analogue of an RBF
        kernel's width (small values make every state alike, large ones make the states of
        different samples nearly orthogonal). At 1.0 the kernel equals
        qiskit-machine-learning's ``FidelityStatevectorKernel`` on the same circuit.
    sampler : qiskit.primitives.BaseSamplerV2, default=None
        Estimate the kernel with this sampler (any SamplerV2: qiskit-aer,
        ``qiskit.primitives``, IBM hardware through qiskit-ibm-runtime). A sampler exposing a
        backend with a transpiler target (``backend`` or ``mode``) gets the circuit
        transpiled to it first (``optimization_level=1``, ``seed_transpiler=0``). All pairs
        go into one PUB.
    shots : int, default=None
        Measurements per kernel entry. With ``sampler=None`` this uses qiskit-aer's
        SamplerV2 seeded from ``random_state``; with ``sampler`` it is passed to its ``run``
        (``None``: the sampler's default).
    random_state : int, RandomState instance or None, default=None
        Seeds the built-in Aer sampler (an int gives the same shot noise at every call).

    See Also
    --------
    ProjectedQuantumKernel : an RBF kernel on the one-qubit reduced states.
    TrainableQuantumKernel : a fidelity kernel with rotations trained by kernel alignment.
    QuantumKernelSVC : a support vector classifier with these kernels.

    Notes
    -----
    The symmetric Gram matrix of the sampler route has ones on its diagonal (the kernel of a
    state with itself) without running those circuits, and only the entries above the
    diagonal are measured. The exact Gram matrix is computed in float64 from complex128
    states; its entries agree with Qiskit's ``Statevector`` to rounding.

    References
    ----------
    .. [1] V. Havlíček et al., "Supervised learning with quantum-enhanced feature spaces",
       Nature 567, 209-212 (2019). :doi:`10.1038/s41586-019-0980-2`
    .. [2] M. Schuld and N. Killoran, "Quantum machine learning in feature Hilbert spaces",
       Phys. Rev. Lett. 122, 040504 (2019). :doi:`10.1103/PhysRevLett.122.040504`

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.svm import SVC
    >>> from qbloodcell.quantum import FidelityQuantumKernel
    >>> X = np.array([[0.1, 0.2], [0.2, 0.1], [1.0, 1.1], [1.1, 0.9]])
    >>> kernel = FidelityQuantumKernel()
    >>> gram = kernel(X, X)
    >>> gram.shape, bool(np.allclose(np.diag(gram), 1.0)), bool(np.allclose(gram, gram.T))
    ((4, 4), True, True)
    >>> SVC(kernel=kernel).fit(X, [0, 0, 1, 1]).predict([[0.15, 0.15], [1.05, 1.0]]).tolist()
    [0, 1]
    """

    _parameter_specs: ClassVar[dict[str, list[Spec]]] = {
        **_FEATURE_MAP_SPECS,
        "bandwidth": [Real(0, closed="neither")],
        **_SAMPLING_SPECS,
    }

    def __init__(
        self,
        *,
        feature_map: Any = None,
        feature_map_reps: int = 2,
        entanglement: str = "full",
        bandwidth: float = 1.0,
        sampler: Any = None,
        shots: int | None = None,
        random_state: Any = None,
    ) -> None:
        self.feature_map = feature_map
        self.feature_map_reps = feature_map_reps
        self.entanglement = entanglement
        self.bandwidth = bandwidth
        self.sampler = sampler
        self.shots = shots
        self.random_state = random_state

    def statevectors(self, X: Any) -> ComplexArray:
        """The exact feature-map states of ``X``, shape (n_samples, 2**n_qubits).

        Qiskit's little-endian order: amplitude ``i`` belongs to the basis state whose qubit
        ``q`` is bit ``q`` of ``i``.
        """
        validate_params(self)
        self._check_fitted()
        A, _ = self._inputs(X, None)
        with _one_blas_thread():
            return self._states(A)

    def _states(self, A: FloatArray) -> ComplexArray:
        return self._simulator(A.shape[1]).evolve(A)

    def _gram(self, A: FloatArray, B: FloatArray | None) -> FloatArray:
        if self._uses_sampler():
            return self._sampled_gram(A, B)
        states_a = self._states(A)
        states_b = states_a if B is None else self._states(B)
        return _fidelities(states_a, states_b)

    def _sampled_gram(self, A: FloatArray, B: FloatArray | None) -> FloatArray:
        from qiskit.circuit import ParameterVector

        n_features = A.shape[1]
        feature_map = self._sampler_feature_map(n_features)
        parameters = tuple(feature_map.parameters)
        first = ParameterVector("kernel_x", n_features)
        second = ParameterVector("kernel_y", n_features)
        circuit = feature_map.assign_parameters(dict(zip(parameters, first, strict=True)))
        circuit = circuit.compose(
            feature_map.inverse().assign_parameters(dict(zip(parameters, second, strict=True)))
        )
        circuit.measure_all()
        sampler = self._sampler(check_random_state(self.random_state))
        circuit = _for_primitive(circuit, sampler)
        column_of = {p: ("x", j) for j, p in enumerate(first)} | {
            p: ("y", j) for j, p in enumerate(second)
        }
        if B is None:
            rows, columns = np.triu_indices(A.shape[0], k=1)
            B_rows = A
        else:
            rows, columns = (index.ravel() for index in np.indices((A.shape[0], B.shape[0])))
            B_rows = B
        gram = np.ones((A.shape[0], A.shape[0] if B is None else B.shape[0]))
        if rows.size:
            values = np.empty((rows.size, circuit.num_parameters))
            for position, parameter in enumerate(circuit.parameters):
                side, j = column_of[parameter]
                values[:, position] = A[rows, j] if side == "x" else B_rows[columns, j]
            job = sampler.run([(circuit, values)], shots=self.shots)
            bits = _bit_array(job.result()[0])
            # all qubits measured 0: every byte of the packed outcome is zero
            zeros = np.all(np.asarray(bits.array) == 0, axis=-1).mean(axis=-1)
            zeros = np.asarray(zeros, dtype=float).reshape(rows.size)
            gram[rows, columns] = zeros
            if B is None:
                gram[columns, rows] = zeros
        return gram


def _fidelities(states_a: ComplexArray, states_b: ComplexArray) -> FloatArray:
    """``|<a_i|b_j>|^2`` for all pairs of rows.

    With ``a = ar + i ai`` and ``b = br + i bi``, ``<a|b>`` has real part ``ar.br + ai.bi``
    and imaginary part ``ar.bi - ai.br``: two real matrix products of the stacked real and
    imaginary parts, squared in place. This avoids a complex Gram matrix (twice the memory
    of the result) and is faster than one complex product followed by ``abs(.)**2``; for
    ``a is b`` the first product is a symmetric rank-k update.
    """
    stacked_a = np.concatenate([states_a.real, states_a.imag], axis=1)
    stacked_b = (
        stacked_a if states_b is states_a else np.concatenate([states_b.real, states_b.imag], 1)
    )
    rotated_b = np.concatenate([states_b.imag, -states_b.real], axis=1)
    gram = stacked_a @ stacked_b.T
    imaginary = stacked_a @ rotated_b.T
    gram *= gram
    imaginary *= imaginary
    gram += imaginary
    return gram


class ProjectedQuantumKernel(_QuantumKernel):
    """The projected quantum kernel: an RBF kernel on the one-qubit reduced density matrices.

    .. math::

        k(x, y) = \\exp\\Big(-\\gamma \\sum_{q} \\big\\| \\rho_q(x) - \\rho_q(y)
        \\big\\|_F^2\\Big),

    where :math:`\\rho_q(x)` is the state of qubit :math:`q` alone (the partial trace over
    the other qubits) after the feature map at angles ``bandwidth * x`` [1]_. With the Bloch
    vector :math:`r_q` of :math:`\\rho_q`, :math:`\\|\\rho_q(x) - \\rho_q(y)\\|_F^2 =
    \\|r_q(x) - r_q(y)\\|^2 / 2`. Projecting onto one-qubit states keeps the kernel away from
    the exponential concentration of the fidelity kernel on many qubits [1]_, and on
    hardware it needs :math:`3n` measured circuits for :math:`n` samples (``X``, ``Y`` and
    ``Z`` bases) instead of one per pair.

    Parameters
    ----------
    feature_map : qiskit.circuit.QuantumCircuit, default=None
        As in :class:`FidelityQuantumKernel`.
    feature_map_reps : int, default=2
        Repetitions of the default ZZ feature map.
    entanglement : {"full", "linear", "reverse_linear", "circular", "sca", "pairwise"}, \
default="full"
        Entanglement of the default ZZ feature map.
    bandwidth : float, default=1.0
        Encoding angles are ``bandwidth * X``.
    gamma : float, default=1.0
        Width of the RBF on the reduced states (each squared Frobenius distance is at most
        2 per qubit).
    sampler : qiskit.primitives.BaseSamplerV2, default=None
        Estimate the one-qubit Bloch vectors with this sampler (three PUBs, one per basis).
    shots : int, default=None
        Measurements per sample and basis (``sampler=None``: qiskit-aer's SamplerV2).
    random_state : int, RandomState instance or None, default=None
        Seeds the built-in Aer sampler.

    See Also
    --------
    FidelityQuantumKernel : the overlap of the full states.

    References
    ----------
    .. [1] H.-Y. Huang et al., "Power of data in quantum machine learning", Nat. Commun. 12,
       2631 (2021). :doi:`10.1038/s41467-021-22539-9`

    Examples
    --------
    >>> import numpy as np
    >>> from qbloodcell.quantum import ProjectedQuantumKernel
    >>> X = np.array([[0.1, 0.2], [0.3, 0.2], [1.0, -0.5]])
    >>> gram = ProjectedQuantumKernel(gamma=0.5).evaluate(X)
    >>> gram.shape, bool(np.allclose(np.diag(gram), 1.0)), bool(np.allclose(gram, gram.T))
    ((3, 3), True, True)
    """

    _parameter_specs: ClassVar[dict[str, list[Spec]]] = {
        **_FEATURE_MAP_SPECS,
        "bandwidth": [Real(0, closed="neither")],
        "gamma": [Real(0, closed="neither")],
        **_SAMPLING_SPECS,
    }

    def __init__(
        self,
        *,
        feature_map: Any = None,
        feature_map_reps: int = 2,
        entanglement: str = "full",
        bandwidth: float = 1.0,
        gamma: float = 1.0,
        sampler: Any = None,
        shots: int | None = None,
        random_state: Any = None,
    ) -> None:
        self.feature_map = feature_map
        self.feature_map_reps = feature_map_reps
        self.entanglement = entanglement
        self.bandwidth = bandwidth
        self.gamma = gamma
        self.sampler = sampler
        self.shots = shots
        self.random_state = random_state

    def bloch_vectors(self, X: Any) -> FloatArray:
        """The one-qubit Bloch vectors of the feature-map states of ``X``.

        Returns
        -------
        vectors : ndarray of shape (n_samples, n_qubits, 3)
            :math:`(\\langle X_q \\rangle, \\langle Y_q \\rangle, \\langle Z_q \\rangle)` for
            every qubit ``q`` (Qiskit's order: ``vectors[:, 0]`` is ``circuit.qubits[0]``),
            exact or estimated with the sampler.
        """
        validate_params(self)
        A = self._angles(X, "X")
        if self._uses_sampler():
            return self._bloch(A, check_random_state(self.random_state))
        with _one_blas_thread():
            return self._bloch(A, check_random_state(self.random_state))

    def _bloch(self, A: FloatArray, rng: np.random.RandomState) -> FloatArray:
        if self._uses_sampler():
            return self._sampled_bloch(A, rng)
        return _bloch_vectors(self._simulator(A.shape[1]).evolve(A))

    def _sampled_bloch(self, A: FloatArray, rng: np.random.RandomState) -> FloatArray:
        feature_map = self._sampler_feature_map(A.shape[1])
        parameters = tuple(feature_map.parameters)
        sampler = self._sampler(rng)
        pubs = []
        for basis in "XYZ":
            circuit = feature_map.copy()
            for qubit in range(circuit.num_qubits):
                # rotate the basis of the Pauli onto Z before measuring
                if basis == "Y":
                    circuit.sdg(qubit)
                if basis in "XY":
                    circuit.h(qubit)
            circuit.measure_all()
            circuit = _for_primitive(circuit, sampler)
            position = {p: j for j, p in enumerate(parameters)}
            values = A[:, [position[p] for p in circuit.parameters]]
            pubs.append((circuit, values))
        results = sampler.run(pubs, shots=self.shots).result()
        vectors = np.empty((A.shape[0], feature_map.num_qubits, 3))
        for axis, result in enumerate(results):
            bits = _bit_array(result).to_bool_array(order="little")  # (n, shots, n_qubits)
            vectors[:, :, axis] = 1.0 - 2.0 * np.asarray(bits, dtype=float).mean(axis=1)
        return vectors

    def _gram(self, A: FloatArray, B: FloatArray | None) -> FloatArray:
        rng = check_random_state(self.random_state)
        vectors_a = self._bloch(A, rng).reshape(A.shape[0], -1)
        vectors_b = vectors_a if B is None else self._bloch(B, rng).reshape(B.shape[0], -1)
        squared = (
            np.einsum("ij,ij->i", vectors_a, vectors_a)[:, None]
            + np.einsum("ij,ij->i", vectors_b, vectors_b)[None, :]
            - 2.0 * vectors_a @ vectors_b.T
        )
        np.maximum(squared, 0.0, out=squared)
        if B is None:
            np.fill_diagonal(squared, 0.0)
        # ||rho_x - rho_y||_F^2 = ||r_x - r_y||^2 / 2 for one-qubit states
        return np.exp(-0.5 * self.gamma * squared)


def _bloch_vectors(states: ComplexArray) -> FloatArray:
    """Bloch vectors (n_rows, n_qubits, 3) of every qubit of every state (little-endian)."""
    n_rows, dimension = states.shape
    n_qubits = dimension.bit_length() - 1
    vectors = np.empty((n_rows, n_qubits, 3))
    # <Z_q> for all qubits at once: probabilities times the sign of bit q
    probabilities = np.square(states.real) + np.square(states.imag)
    bits = (np.arange(dimension)[:, None] >> np.arange(n_qubits)) & 1
    vectors[:, :, 2] = probabilities @ (1.0 - 2.0 * bits)
    for qubit in range(n_qubits):
        view = states.reshape(n_rows, dimension >> (qubit + 1), 2, 1 << qubit)
        # rho_01 = sum over the other qubits of psi(q=0) * conj(psi(q=1))
        coherence = (view[:, :, 0, :] * view[:, :, 1, :].conj()).reshape(n_rows, -1).sum(axis=1)
        vectors[:, qubit, 0] = 2.0 * coherence.real
        vectors[:, qubit, 1] = -2.0 * coherence.imag
    return vectors


class TrainableQuantumKernel(FidelityQuantumKernel):
    """A fidelity kernel with trainable rotations before the encoding, fitted by alignment.

    The state of a sample is :math:`|\\phi_w(x)\\rangle = U(\\text{bandwidth} \\cdot x)
    |w\\rangle`: one :math:`R_Y(a_q)` then :math:`R_Z(b_q)` rotation on every qubit (a
    trainable product state, :math:`2 n_\\text{qubits}` weights) followed by the feature
    map. ``fit(X, y)`` chooses the weights that maximise the kernel-target alignment [1]_

    .. math::

        A(K, y) = \\frac{\\langle K, T \\rangle_F}{\\|K\\|_F \\, \\|T\\|_F},
        \\qquad T_{ij} = 1 \\text{ if } y_i = y_j \\text{ else } -1/(c - 1),

    for :math:`c` classes (:math:`T = y y^T` with labels :math:`\\pm 1` when :math:`c = 2`).
    After fitting it is a kernel like :class:`FidelityQuantumKernel`, usable in ``SVC``.

    The optimizer is SciPy's L-BFGS-B with the exact gradient of the alignment. The kernel
    is a smooth function of the weights, and its gradient costs about two state
    preparations more than the alignment itself (an adjoint pass: the derivative of
    :math:`K_{ij} = |\\langle w| U_i^\\dagger U_j |w\\rangle|^2` only needs the states
    :math:`U_j^\\dagger \\sum_i G_{ij} \\langle\\phi_i|\\phi_j\\rangle |\\phi_i\\rangle`),
    so a quasi-Newton method uses far fewer kernel evaluations than a gradient-free one
    such as COBYLA, which would need about :math:`2 n_\\text{qubits}` evaluations for its
    first linear model alone. Training is exact (statevector simulation) whatever
    ``sampler`` says; the sampler is used to evaluate the trained kernel.

    Parameters
    ----------
    feature_map : qiskit.circuit.QuantumCircuit, default=None
        As in :class:`FidelityQuantumKernel`; the trainable rotations act on its qubits.
    feature_map_reps : int, default=2
        Repetitions of the default ZZ feature map.
    entanglement : {"full", "linear", "reverse_linear", "circular", "sca", "pairwise"}, \
default="full"
        Entanglement of the default ZZ feature map.
    bandwidth : float, default=1.0
        Encoding angles are ``bandwidth * X``.
    max_iter : int, default=50
        Maximum number of L-BFGS-B iterations.
    tol : float, default=1e-6
        L-BFGS-B stops when the alignment improves by less than ``tol`` (relative) in one
        iteration, or its projected gradient falls below ``tol``.
    initial_point : array-like of shape (2 * n_qubits,), default=None
        Starting weights ``(a_0, b_0, a_1, b_1, ...)``. By default all zero: the
        trainable layer is the identity, training starts from the untrained fidelity
        kernel, and (L-BFGS-B never accepts a worse point) ends at least as well aligned.
    sampler : qiskit.primitives.BaseSamplerV2, default=None
        Evaluate the trained kernel with this sampler (see :class:`FidelityQuantumKernel`).
    shots : int, default=None
        Measurements per kernel entry for evaluation.
    random_state : int, RandomState instance or None, default=None
        Seeds the built-in Aer sampler.
    verbose : int, default=0
        Print the alignment at every iteration.

    Attributes
    ----------
    weights_ : ndarray of shape (2 * n_qubits,)
        Trained rotation angles ``(a_0, b_0, a_1, b_1, ...)``.
    alignment_ : float
        Kernel-target alignment of the trained kernel on the training data.
    initial_alignment_ : float
        Alignment at ``initial_point`` (the untrained kernel by default).
    alignment_curve_ : list of float
        Alignment after every iteration.
    n_iter_ : int
        L-BFGS-B iterations run.
    n_features_in_ : int
        Number of features seen in ``fit``.
    trained_feature_map_ : qiskit.circuit.QuantumCircuit
        The trained rotations (bound) followed by the feature map: the circuit whose
        states the kernel compares, with one parameter per feature.

    References
    ----------
    .. [1] T. Hubregtsen et al., "Training quantum embedding kernels on near-term quantum
       computers", Phys. Rev. A 106, 042431 (2022). :doi:`10.1103/PhysRevA.106.042431`
    .. [2] N. Cristianini et al., "On kernel-target alignment", Advances in Neural
       Information Processing Systems 14 (2001). :doi:`10.7551/mitpress/1120.003.0052`
    .. [3] R. H. Byrd, P. Lu, J. Nocedal and C. Zhu, "A limited memory algorithm for bound
       constrained optimization", SIAM J. Sci. Comput. 16, 1190-1208 (1995).
       :doi:`10.1137/0916069`

    Examples
    --------
    >>> import numpy as np
    >>> from qbloodcell.quantum import TrainableQuantumKernel
    >>> rng = np.random.default_rng(0)
    >>> X = rng.uniform(0, 1, size=(40, 3))
    >>> y = (X[:, 0] > 0.5).astype(int)
    >>> kernel = TrainableQuantumKernel(max_iter=10).fit(X, y)
    >>> kernel.weights_.shape, bool(kernel.alignment_ >= kernel.initial_alignment_)
    ((6,), True)
    >>> kernel(X[:2], X).shape
    (2, 40)
    """

    _needs_fit = True

    _parameter_specs: ClassVar[dict[str, list[Spec]]] = {
        **_FEATURE_MAP_SPECS,
        "bandwidth": [Real(0, closed="neither")],
        "max_iter": [Integer(1)],
        "tol": [Real(0, closed="neither")],
        "initial_point": [NoneValue(), InstanceOf((list, tuple, np.ndarray), "array-like")],
        **_SAMPLING_SPECS,
        "verbose": [Integer(0)],
    }

    def __init__(
        self,
        *,
        feature_map: Any = None,
        feature_map_reps: int = 2,
        entanglement: str = "full",
        bandwidth: float = 1.0,
        max_iter: int = 50,
        tol: float = 1e-6,
        initial_point: Any = None,
        sampler: Any = None,
        shots: int | None = None,
        random_state: Any = None,
        verbose: int = 0,
    ) -> None:
        super().__init__(
            feature_map=feature_map,
            feature_map_reps=feature_map_reps,
            entanglement=entanglement,
            bandwidth=bandwidth,
            sampler=sampler,
            shots=shots,
            random_state=random_state,
        )
        self.max_iter = max_iter
        self.tol = tol
        self.initial_point = initial_point
        self.verbose = verbose

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        tags.input_tags.allow_nan = False
        return tags

    def _inverse_simulator(self, n_features: int) -> FusedCircuit:
        def build() -> FusedCircuit:
            circuit = self._feature_map_for(n_features)
            return FusedCircuit(circuit.inverse(), tuple(circuit.parameters))

        return self._cached("inverse", n_features, build)

    def fit(self, X: Any, y: Any) -> TrainableQuantumKernel:
        """Train the rotations to maximise the kernel-target alignment on ``(X, y)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training samples (angles ``bandwidth * X``).
        y : array-like of shape (n_samples,)
            Class labels (two or more classes).

        Returns
        -------
        self : TrainableQuantumKernel
            The fitted kernel.
        """
        validate_params(self)
        X, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        classes, y_index = np.unique(y, return_inverse=True)
        if classes.size < 2:
            raise ValueError(
                f"y contains 1 class ({classes[0]!r}); kernel-target alignment needs at least "
                "2 classes."
            )
        A = np.asarray(self.bandwidth * X, dtype=np.float64)
        forward = self._simulator(self.n_features_in_)
        inverse = self._inverse_simulator(self.n_features_in_)
        n_qubits = forward.n_qubits
        target = _alignment_target(y_index, classes.size)
        start = self._initial_point(n_qubits)
        objective = _AlignmentObjective(forward, inverse, A, target)
        curve: list[float] = []

        def record(weights: FloatArray) -> None:
            curve.append(objective.alignment_at(weights))
            if self.verbose:
                print(f"[TrainableQuantumKernel] iteration {len(curve)}: alignment {curve[-1]:.6f}")

        with _one_blas_thread():
            initial_alignment = objective.alignment_at(start)
            result = minimize(
                objective,
                start,
                jac=True,
                method="L-BFGS-B",
                callback=record,
                options={"maxiter": self.max_iter, "ftol": self.tol, "gtol": self.tol},
            )
        weights = np.asarray(result.x, dtype=float)
        alignment = objective.alignment_at(weights)
        if not np.isfinite(alignment):
            raise FloatingPointError(
                "The kernel-target alignment became non-finite during training; check the "
                "input features and the bandwidth."
            )
        self.weights_ = weights
        self.alignment_ = float(alignment)
        self.initial_alignment_ = float(initial_alignment)
        self.alignment_curve_ = curve
        self.n_iter_ = int(result.nit)
        self.trained_feature_map_ = _trained_circuit(
            self._feature_map_for(self.n_features_in_), weights
        )
        return self

    def _initial_point(self, n_qubits: int) -> FloatArray:
        n_weights = 2 * n_qubits
        if self.initial_point is None:
            return np.zeros(n_weights)
        point = np.asarray(self.initial_point, dtype=float)
        if point.shape != (n_weights,):
            raise ValueError(
                f"initial_point must have shape ({n_weights},) (an R_Y and an R_Z angle for "
                f"each of the {n_qubits} qubits); got {point.shape}."
            )
        if not np.all(np.isfinite(point)):
            raise ValueError("initial_point contains NaN or infinite values.")
        return point

    def _states(self, A: FloatArray) -> ComplexArray:
        simulator = self._simulator(A.shape[1])
        start = np.repeat(_product_state(self.weights_)[None, :], A.shape[0], axis=0)
        return simulator.evolve(A, start)

    def _sampler_feature_map(self, n_features: int) -> Any:
        return self.trained_feature_map_


def _alignment_target(y_index: NDArray[np.intp], n_classes: int) -> FloatArray:
    same = y_index[:, None] == y_index[None, :]
    return np.where(same, 1.0, -1.0 / (n_classes - 1))


def _rotation_factors(weights: FloatArray) -> tuple[ComplexArray, ComplexArray, ComplexArray]:
    """Per qubit: R_Z(b) R_Y(a)|0> and its derivatives in a and b, each (n_qubits, 2)."""
    a, b = weights[0::2], weights[1::2]
    cos, sin = np.cos(a / 2), np.sin(a / 2)
    minus, plus = np.exp(-0.5j * b), np.exp(0.5j * b)
    state = np.stack([minus * cos, plus * sin], axis=1)
    d_a = np.stack([-0.5 * minus * sin, 0.5 * plus * cos], axis=1)
    d_b = np.stack([-0.5j * minus * cos, 0.5j * plus * sin], axis=1)
    return state, d_a, d_b


def _product_state(weights: FloatArray) -> ComplexArray:
    factors, _, _ = _rotation_factors(weights)
    state = np.ones(1, dtype=complex)
    # Qiskit order: qubit 0 is the rightmost (fastest-varying) Kronecker factor
    for factor in factors:
        state = np.kron(factor, state)
    return state


def _trained_circuit(feature_map: Any, weights: FloatArray) -> Any:
    from qiskit.circuit import QuantumCircuit

    layer = QuantumCircuit(feature_map.num_qubits)
    for qubit in range(feature_map.num_qubits):
        layer.ry(float(weights[2 * qubit]), qubit)
        layer.rz(float(weights[2 * qubit + 1]), qubit)
    return layer.compose(feature_map)


class _AlignmentObjective:
    """Minus the kernel-target alignment and its exact gradient in the rotation angles."""

    def __init__(
        self, forward: FusedCircuit, inverse: FusedCircuit, A: FloatArray, target: FloatArray
    ) -> None:
        self.forward = forward
        self.inverse = inverse
        self.A = A
        self.target = target
        self.target_norm = float(np.linalg.norm(target))
        self.n_qubits = forward.n_qubits
        self._last: tuple[bytes, float] | None = None

    def _states(self, weights: FloatArray) -> ComplexArray:
        start = np.repeat(_product_state(weights)[None, :], self.A.shape[0], axis=0)
        return self.forward.evolve(self.A, start)

    def alignment_at(self, weights: FloatArray) -> float:
        key = np.asarray(weights, dtype=float).tobytes()
        if self._last is not None and self._last[0] == key:
            return self._last[1]
        states = self._states(weights)
        gram = _fidelities(states, states)
        return float(np.sum(gram * self.target) / (np.linalg.norm(gram) * self.target_norm))

    def __call__(self, weights: FloatArray) -> tuple[float, FloatArray]:
        weights = np.asarray(weights, dtype=float)
        states = self._states(weights)
        overlaps = states.conj() @ states.T  # g_ij = <phi_i|phi_j>
        gram = np.square(overlaps.real) + np.square(overlaps.imag)
        gram_norm = float(np.linalg.norm(gram))
        alignment = float(np.sum(gram * self.target)) / (gram_norm * self.target_norm)
        self._last = (weights.tobytes(), alignment)
        # dA/dK_ij, then dA/dtheta = 4 Re sum_j <chi_j | dw/dtheta> with
        # phi'_j = sum_i G_ij g_ij |phi_i> and chi_j = U_j^dagger phi'_j (adjoint pass)
        sensitivity = self.target / (gram_norm * self.target_norm) - alignment * gram / gram_norm**2
        weighted = (sensitivity * overlaps).T @ states
        chi = self.inverse.evolve(self.A, weighted).sum(axis=0)
        gradient = 4.0 * _product_state_gradient(chi, weights, self.n_qubits)
        return -alignment, -gradient


def _product_state_gradient(chi: ComplexArray, weights: FloatArray, n_qubits: int) -> FloatArray:
    """Re <chi | d w / d weight_k> for the product state w(weights), every k."""
    factors, d_a, d_b = _rotation_factors(weights)
    # tensor axes in Qiskit order: axis 0 is the highest qubit, the last axis qubit 0
    tensor = chi.conj().reshape((2,) * n_qubits)
    gradient = np.empty(2 * n_qubits)
    for qubit in range(n_qubits):
        # this qubit's axis first; the others stay in descending order, so contracting the
        # last axis with the lowest remaining qubit's factor leaves this qubit's 2-vector
        environment = np.moveaxis(tensor, n_qubits - 1 - qubit, 0)
        for other in range(n_qubits):
            if other != qubit:
                environment = environment @ factors[other]
        gradient[2 * qubit] = float(np.real(environment @ d_a[qubit]))
        gradient[2 * qubit + 1] = float(np.real(environment @ d_b[qubit]))
    return gradient


# --------------------------------------------------------------------------------------------
# the classifier
# --------------------------------------------------------------------------------------------
def _probability_enabled(classifier: QuantumKernelSVC) -> bool:
    return bool(classifier.probability)


class QuantumKernelSVC(ClassifierMixin, BaseEstimator):
    """Support vector classifier with a quantum kernel (fidelity, projected or trainable).

    ``fit`` scales the features to encoding angles (:class:`InputScaling`, as
    :class:`VQCClassifier` does), computes the quantum Gram matrix of the training samples
    once, and fits :class:`sklearn.svm.SVC` on it (``kernel="precomputed"``). Predictions
    evaluate the kernel against the support vectors only, which matters on hardware, where
    each kernel entry is a circuit.

    Parameters
    ----------
    kernel : {"fidelity", "projected", "trainable"}, default="fidelity"
        :class:`FidelityQuantumKernel`, :class:`ProjectedQuantumKernel` (uses ``gamma``) or
        :class:`TrainableQuantumKernel` (trained by kernel-target alignment in ``fit``, uses
        ``alignment_max_iter``).
    feature_map : qiskit.circuit.QuantumCircuit, default=None
        A feature map with one parameter per feature; by default the ZZ feature map with
        one qubit per feature.
    feature_map_reps : int, default=1
        Repetitions of the default ZZ feature map, chosen with ``bandwidth`` by
        cross-validation (see the user guide; :class:`VQCClassifier` and the kernel objects
        use 2, the study's circuit).
    entanglement : {"full", "linear", "reverse_linear", "circular", "sca", "pairwise"}, \
default="full"
        Entanglement of the default ZZ feature map.
    input_scaling : {"minmax", "standard"} or None, default="minmax"
        How ``fit`` maps features to angles: ``"minmax"`` sends each feature's training
        range to ``[0, bandwidth]``, ``"standard"`` to ``bandwidth`` times its z-score;
        new samples are clipped to the training range of angles. ``None`` uses the
        features as angles unchanged (and ignores ``bandwidth``), as the study's pipeline
        with its own ``MinMaxScaler((0, 2))`` does.
    bandwidth : float, default=None
        Angle range of the scaled features: the kernel's width. ``None`` takes the
        kernel's default (``KERNEL_DEFAULTS``: 0.5 for ``"fidelity"``, 0.05 for
        ``"projected"``, 0.3 for ``"trainable"``), chosen by cross-validation on training
        splits of real and synthetic cells with ``input_scaling="minmax"`` and
        ``feature_map_reps=1`` (the kernels page of the user guide has the numbers).
    gamma : float, default=None
        Width of the projected kernel's RBF (``kernel="projected"`` only); ``None`` takes
        the cross-validated default, 100 (with the default bandwidth the angles are small,
        so the one-qubit states are close together and need a large gamma).
    C : float, default=1.0
        Regularisation of :class:`~sklearn.svm.SVC`.
    class_weight : dict, "balanced" or None, default=None
        As in :class:`~sklearn.svm.SVC`.
    probability : bool, default=False
        Enable ``predict_proba``: Platt scaling fitted on 5-fold cross-validated decision
        values of the training Gram matrix
        (``CalibratedClassifierCV(method="sigmoid", ensemble=False)``, what scikit-learn
        recommends instead of ``SVC(probability=True)``).
    alignment_max_iter : int, default=50
        L-BFGS-B iterations of the kernel alignment (``kernel="trainable"`` only).
    sampler : qiskit.primitives.BaseSamplerV2, default=None
        Estimate the kernel with this sampler instead of exactly.
    shots : int, default=None
        Measurements per kernel entry (qiskit-aer's SamplerV2 when ``sampler=None``).
    random_state : int, RandomState instance or None, default=None
        Seeds the built-in Aer sampler.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Feature names, when ``X`` has string column names.
    input_scaling_ : InputScaling
        The fitted map from features to angles.
    bandwidth_ : float
        The bandwidth used (``bandwidth``, or the kernel's default).
    gamma_ : float
        The projected kernel's gamma used (``gamma``, or the default).
    kernel_ : FidelityQuantumKernel, ProjectedQuantumKernel or TrainableQuantumKernel
        The kernel on the angles (``bandwidth=1``: the scaling is ``input_scaling_``);
        fitted for ``kernel="trainable"``.
    svc_ : sklearn.svm.SVC
        The fitted support vector classifier on the precomputed Gram matrix.
    calibrated_ : sklearn.calibration.CalibratedClassifierCV or None
        The probability calibration (``probability=True``), else None.
    support_ : ndarray of shape (n_support_vectors,)
        Indices of the support vectors in the training set.

    See Also
    --------
    FidelityQuantumKernel, ProjectedQuantumKernel, TrainableQuantumKernel : the kernels.
    VQCClassifier : the variational classifier on the same feature map.

    References
    ----------
    .. [1] V. Havlíček et al., "Supervised learning with quantum-enhanced feature spaces",
       Nature 567, 209-212 (2019). :doi:`10.1038/s41586-019-0980-2`
    .. [2] H.-Y. Huang et al., "Power of data in quantum machine learning", Nat. Commun. 12,
       2631 (2021). :doi:`10.1038/s41467-021-22539-9`
    .. [3] T. Hubregtsen et al., "Training quantum embedding kernels on near-term quantum
       computers", Phys. Rev. A 106, 042431 (2022). :doi:`10.1103/PhysRevA.106.042431`

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from qbloodcell.quantum import QuantumKernelSVC
    >>> X, y = make_classification(n_samples=80, n_features=4, n_redundant=0, random_state=0)
    >>> clf = QuantumKernelSVC().fit(X[:60], y[:60])
    >>> clf.predict(X[60:]).shape, clf.decision_function(X[60:]).shape
    ((20,), (20,))
    >>> clf.kernel_.evaluate(clf.input_scaling_.transform(X[:3])).shape
    (3, 3)
    """

    _parameter_specs: ClassVar[dict[str, list[Spec]]] = {
        "kernel": [Options(KERNELS)],
        **_FEATURE_MAP_SPECS,
        "input_scaling": [NoneValue(), Options(INPUT_SCALINGS)],
        "bandwidth": [NoneValue(), Real(0, closed="neither")],
        "gamma": [NoneValue(), Real(0, closed="neither")],
        "C": [Real(0, closed="neither")],
        "class_weight": [
            NoneValue(),
            Options(["balanced"]),
            InstanceOf(dict, "a dict {class: weight}"),
        ],
        "probability": [Boolean()],
        "alignment_max_iter": [Integer(1)],
        **_SAMPLING_SPECS,
    }

    def __init__(
        self,
        *,
        kernel: str = "fidelity",
        feature_map: Any = None,
        feature_map_reps: int = DEFAULT_FEATURE_MAP_REPS,
        entanglement: str = "full",
        input_scaling: str | None = "minmax",
        bandwidth: float | None = None,
        gamma: float | None = None,
        C: float = 1.0,
        class_weight: Any = None,
        probability: bool = False,
        alignment_max_iter: int = 50,
        sampler: Any = None,
        shots: int | None = None,
        random_state: Any = None,
    ) -> None:
        self.kernel = kernel
        self.feature_map = feature_map
        self.feature_map_reps = feature_map_reps
        self.entanglement = entanglement
        self.input_scaling = input_scaling
        self.bandwidth = bandwidth
        self.gamma = gamma
        self.C = C
        self.class_weight = class_weight
        self.probability = probability
        self.alignment_max_iter = alignment_max_iter
        self.sampler = sampler
        self.shots = shots
        self.random_state = random_state

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags

    def __sklearn_clone__(self) -> QuantumKernelSVC:
        params = self.get_params(deep=False)
        shared = {name: params.pop(name) for name in _SHARED_PARAMETERS}
        copied = {name: clone(value, safe=False) for name, value in params.items()}
        return type(self)(**copied, **shared)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(super().__getstate__())
        value = state.get("sampler")
        if value is not None:
            try:
                pickle.dumps(value)
            except Exception as error:
                warnings.warn(
                    f"sampler of type {type(value).__name__} cannot be pickled ({error}); it "
                    "is left out, and the unpickled classifier has sampler=None until you "
                    "set it again with set_params(sampler=...).",
                    UserWarning,
                    stacklevel=2,
                )
                state["sampler"] = None
        return state

    def _make_kernel(self, seed: int) -> _QuantumKernel:
        common = {
            "feature_map": self.feature_map,
            "feature_map_reps": self.feature_map_reps,
            "entanglement": self.entanglement,
            # the fitted input scaling already holds the bandwidth
            "bandwidth": 1.0,
            "sampler": self.sampler,
            "shots": self.shots,
            "random_state": seed,
        }
        if self.kernel == "projected":
            return ProjectedQuantumKernel(gamma=self.gamma_, **common)
        if self.kernel == "trainable":
            return TrainableQuantumKernel(max_iter=self.alignment_max_iter, **common)
        return FidelityQuantumKernel(**common)

    def fit(self, X: Any, y: Any) -> QuantumKernelSVC:
        """Compute the training Gram matrix and fit the support vector classifier.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training features (one qubit per feature with the default feature map).
        y : array-like of shape (n_samples,)
            Class labels (two or more classes).

        Returns
        -------
        self : QuantumKernelSVC
            The fitted classifier.
        """
        validate_params(self)
        X, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        classes = np.unique(y)
        if classes.size < 2:
            raise ValueError(
                f"y contains 1 class ({classes[0]!r}); QuantumKernelSVC needs at least 2 classes."
            )
        rng = check_random_state(self.random_state)
        kernel_seed = int(rng.randint(2**31 - 1))
        defaults = KERNEL_DEFAULTS[self.kernel]
        self.bandwidth_ = float(defaults["bandwidth"] if self.bandwidth is None else self.bandwidth)
        self.gamma_ = float(defaults.get("gamma", 1.0) if self.gamma is None else self.gamma)
        self.input_scaling_ = InputScaling.fit(X, self.input_scaling, self.bandwidth_)
        angles = self.input_scaling_.transform(X)
        kernel = self._make_kernel(kernel_seed)
        if isinstance(kernel, TrainableQuantumKernel):
            kernel.fit(angles, y)
        gram = kernel.evaluate(angles)
        svc = SVC(kernel="precomputed", C=self.C, class_weight=self.class_weight)
        self.calibrated_: CalibratedClassifierCV | None = None
        if self.probability:
            # Platt scaling on 5-fold cross-validated decision values of the same Gram
            # matrix (the replacement scikit-learn names for SVC(probability=True)); the
            # classifier itself is the SVC fitted on all samples
            calibrated = CalibratedClassifierCV(svc, method="sigmoid", cv=5, ensemble=False)
            calibrated.fit(gram, y)
            self.calibrated_ = calibrated
            svc = calibrated.calibrated_classifiers_[0].estimator
        else:
            svc.fit(gram, y)
        self.kernel_ = kernel
        self.svc_ = svc
        self.classes_ = svc.classes_
        self.support_ = svc.support_
        self._n_train = X.shape[0]
        self._support_angles = angles[svc.support_]
        return self

    def _test_gram(self, X: Any) -> FloatArray:
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        angles = self.input_scaling_.transform(X)
        # SVC reads only the support-vector columns of a precomputed kernel
        gram = np.zeros((X.shape[0], self._n_train))
        gram[:, self.support_] = self.kernel_.evaluate(angles, self._support_angles)
        return gram

    def decision_function(self, X: Any) -> FloatArray:
        """Signed distance to the separating hyperplane, as :meth:`sklearn.svm.SVC.decision_function`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Features.

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            Positive means ``classes_[1]`` in the binary case; one column per class
            (one-vs-rest shape) otherwise.
        """
        gram = self._test_gram(X)
        return np.asarray(self.svc_.decision_function(gram), dtype=float)

    def predict(self, X: Any) -> NDArray[Any]:
        """Predict class labels.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Features.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Predicted labels.
        """
        gram = self._test_gram(X)
        return np.asarray(self.svc_.predict(gram))

    @available_if(_probability_enabled)
    def predict_proba(self, X: Any) -> FloatArray:
        """Class probabilities (Platt scaling; only with ``probability=True``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Features.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities in the order of ``classes_``.
        """
        gram = self._test_gram(X)
        assert self.calibrated_ is not None
        return np.asarray(self.calibrated_.predict_proba(gram), dtype=float)

    @available_if(_probability_enabled)
    def predict_log_proba(self, X: Any) -> FloatArray:
        """Logarithm of :meth:`predict_proba` (only with ``probability=True``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Features.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Log-probabilities in the order of ``classes_``.
        """
        return np.log(self.predict_proba(X))
