"""Quantum kernels: what they share, and the fidelity kernel.

A quantum kernel compares two samples through the states a feature map prepares for them.
The kernels are scikit-learn objects used the way kernels already are: a kernel is a
callable ``k(X, Y) -> Gram`` (so ``SVC(kernel=FidelityQuantumKernel())`` works, and
``GridSearchCV`` reaches its parameters as ``kernel__bandwidth``), it also offers
``evaluate(X, Y=None)`` as qiskit-machine-learning's kernels do. This module holds their
base class (feature map, bandwidth, sampler, ``clone`` and ``pickle``) and the fidelity
kernel; ``_projected`` and ``_trainable`` hold the other two, and ``_kernel_svc`` the
ready classifier :class:`QuantumKernelSVC` (a precomputed quantum Gram matrix in
:class:`sklearn.svm.SVC`).

Exact Gram matrices come from one batched preparation of all feature-map states (the
package's simulator, :class:`~qbloodcell.quantum._statevector.CompiledCircuit`) and one
matrix product; on request a
Qiskit sampler estimates them from measurements instead (the hardware route).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray
from sklearn.base import BaseEstimator
from sklearn.utils import check_array
from sklearn.utils.validation import check_is_fitted

from qbloodcell._validation import (
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
from qbloodcell.quantum._mitigation import ZeroNoiseExtrapolation
from qbloodcell.quantum._sampling import sampled_fidelity_gram
from qbloodcell.quantum._shared import clone_sharing, without_unpicklable
from qbloodcell.quantum._statevector import CompiledCircuit

FloatArray = NDArray[np.float64]
ComplexArray = NDArray[np.complex128]

# Parameters holding live objects that clone shares rather than copies (a hardware session
# must not be duplicated); the same rule as VQCClassifier's estimator.
SHARED_PARAMETERS = ("sampler",)


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
_MITIGATION_SPECS: dict[str, list[Spec]] = {
    "mitigation": [
        NoneValue(),
        InstanceOf(ZeroNoiseExtrapolation, "a qbloodcell.quantum.ZeroNoiseExtrapolation"),
    ],
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


# --------------------------------------------------------------------------------------------
# the kernels
# --------------------------------------------------------------------------------------------
class _QuantumKernel(BaseEstimator):
    """What the quantum kernels share: the feature map, the bandwidth and the sampler."""

    _parameter_specs: ClassVar[dict[str, list[Spec]]]

    # set by subclasses: the kernel needs a fitted state before it can be evaluated
    _needs_fit: ClassVar[bool] = False

    def __sklearn_clone__(self) -> Any:
        return clone_sharing(self, SHARED_PARAMETERS)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(super().__getstate__())
        # compiled simulators hold gate builders that are local functions; rebuilt on use
        state.pop("_cache", None)
        return without_unpicklable(
            state,
            SHARED_PARAMETERS,
            owner="kernel",
            consequences={"sampler": "is exact (or uses Aer with shots)"},
        )

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

    def _simulator(self, n_features: int) -> CompiledCircuit:
        def build() -> CompiledCircuit:
            circuit = self._feature_map_for(n_features)
            return CompiledCircuit(circuit, tuple(circuit.parameters), role="kernel")

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

    def _check_combinations(self) -> None:
        """Rules between parameters, after :func:`~qbloodcell._validation.validate_params`."""

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
        self._check_combinations()
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
    mitigation : ZeroNoiseExtrapolation, default=None
        Zero-noise extrapolation of the sampled entries (``sampler`` or ``shots`` only: the
        exact kernel has no noise to mitigate, and ``evaluate`` raises a ValueError). The
        compute-uncompute circuit is folded at every scale factor, the probability of all
        zeros is estimated at each and extrapolated to zero noise; the extrapolated entries
        are clipped to :math:`[0, 1]`, the range of a fidelity. A noisy sampler is the
        user's, e.g. qiskit-aer's ``SamplerV2(options={"backend_options":
        {"noise_model": noise_model}})``; the built-in one (``shots`` alone) is noiseless.

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
        **_MITIGATION_SPECS,
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
        mitigation: ZeroNoiseExtrapolation | None = None,
    ) -> None:
        self.feature_map = feature_map
        self.feature_map_reps = feature_map_reps
        self.entanglement = entanglement
        self.bandwidth = bandwidth
        self.sampler = sampler
        self.shots = shots
        self.random_state = random_state
        self.mitigation = mitigation

    def _check_combinations(self) -> None:
        if self.mitigation is not None and not self._uses_sampler():
            raise ValueError(
                "mitigation applies only to the sampled kernel (sampler or shots); the exact "
                "kernel has no noise to mitigate. Set sampler= (a noisy one, e.g. qiskit-aer's "
                "SamplerV2 with a noise model) or leave mitigation None."
            )

    def statevectors(self, X: Any) -> ComplexArray:
        """The exact feature-map states of ``X``, shape (n_samples, 2**n_qubits).

        Qiskit's little-endian order: amplitude ``i`` belongs to the basis state whose qubit
        ``q`` is bit ``q`` of ``i``.
        """
        validate_params(self)
        self._check_fitted()
        A, _ = self._inputs(X, None)
        with _one_blas_thread():
            return np.ascontiguousarray(self._states(A))

    def _states(self, A: FloatArray) -> ComplexArray:
        return self._simulator(A.shape[1]).evolve(A)

    def _gram(self, A: FloatArray, B: FloatArray | None) -> FloatArray:
        if self._uses_sampler():
            return sampled_fidelity_gram(self, A, B)
        states_a = self._states(A)
        states_b = states_a if B is None else self._states(B)
        return _fidelities(states_a, states_b)


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
