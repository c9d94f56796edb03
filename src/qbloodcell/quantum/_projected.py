"""The projected quantum kernel: an RBF kernel on the one-qubit reduced density matrices."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from sklearn.utils import check_random_state

from qbloodcell._validation import (
    Real,
    Spec,
    validate_params,
)
from qbloodcell.quantum._kernels import (
    _FEATURE_MAP_SPECS,
    _SAMPLING_SPECS,
    ComplexArray,
    FloatArray,
    _one_blas_thread,
    _QuantumKernel,
)
from qbloodcell.quantum._sampling import _bit_array, _for_primitive


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
    # the per-qubit views below are reshapes of C-ordered rows (the simulator returns the
    # transpose of its column-major batch)
    states = np.ascontiguousarray(states)
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
