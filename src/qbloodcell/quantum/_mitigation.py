"""Zero-noise extrapolation (ZNE) of the classifiers' expectation values.

The noise of a circuit ``U`` is scaled by unitary folding, ``U -> U (U^dagger U)^n``: the
folded circuit computes the same state without noise, and runs ``2n + 1`` times as many
gates, so gate errors grow by that factor. Expectation values measured at several such
scale factors are extrapolated to scale 0.

Why this module folds and extrapolates itself instead of calling mitiq (measured with
``benchmarks/bench_zne.py``, numbers on the user-guide page :ref:`nisq`): mitiq works on
one bound circuit at a time and converts every circuit to Cirq and back, so each optimizer
step would bind every sample, convert and fold ``n_samples x n_scale_factors`` circuits and
send as many PUBs; that round trip costs far more than the simulation itself, and it
renames Qiskit's ``p`` gates to ``rz``, which changes which errors a noise model attaches.
Here the *parametrised* circuit is folded once per ``fit`` (and per prediction call), each
scale factor is one batched PUB over all samples, and Richardson and linear extrapolation
are fixed linear combinations of the scaled values, computed for every sample at once with
NumPy. The tests check both against mitiq's ``fold_global`` and extrapolation factories.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from qbloodcell._validation import IntegerSequence, Options, Spec, check_arguments

__all__ = ["EXTRAPOLATIONS", "ZeroNoiseExtrapolation"]

#: The extrapolations to zero noise: through every point, or a least-squares straight line.
EXTRAPOLATIONS = ("richardson", "linear")

_ZNE_SPECS: dict[str, list[Spec]] = {
    "scale_factors": [IntegerSequence(1, example="(1, 3, 5)")],
    "extrapolation": [Options(EXTRAPOLATIONS)],
}


class ZeroNoiseExtrapolation:
    """Zero-noise extrapolation by global unitary folding.

    Pass it as ``mitigation=`` to :class:`~qbloodcell.quantum.VQCClassifier` or
    :class:`~qbloodcell.quantum.DataReuploadingClassifier` together with ``noise_model``,
    ``shots`` or ``estimator``. The classifier then evaluates its circuit folded at every
    scale factor :math:`\\lambda` and uses the extrapolation of
    :math:`\\langle Z_0 \\rangle(\\lambda)` to :math:`\\lambda = 0` in training and in
    prediction.

    Folding: the circuit :math:`U` becomes :math:`U (U^\\dagger U)^n` for the scale factor
    :math:`\\lambda = 2n + 1`, with barriers between the parts so that no transpiler pass
    cancels them. Without noise the folded circuit prepares the same state; with gate
    errors it runs :math:`\\lambda` times as many noisy gates [2]_.

    Extrapolation [1]_: ``"richardson"`` passes a polynomial of degree ``m - 1`` through the
    ``m`` scaled values; ``"linear"`` fits a straight line by least squares. Both return a
    fixed linear combination :math:`\\sum_k c_k \\langle Z_0 \\rangle(\\lambda_k)` with
    :math:`\\sum_k c_k = 1` (``coefficients``): shot noise of standard deviation
    :math:`\\sigma` in each value becomes :math:`\\sigma \\sqrt{\\sum_k c_k^2}` in the
    estimate, and mitigated values may leave :math:`[-1, 1]`.

    Parameters
    ----------
    scale_factors : sequence of int, default=(1, 3, 5)
        Distinct odd noise scale factors (at least two); 1 is the unfolded circuit.
    extrapolation : {"richardson", "linear"}, default="richardson"
        How the values are extrapolated to zero noise.

    Attributes
    ----------
    coefficients : ndarray of shape (n_scale_factors,)
        The weights :math:`c_k` of the zero-noise estimate.

    See Also
    --------
    VQCClassifier : its ``mitigation`` parameter takes this object.

    Notes
    -----
    Each scale factor is one circuit and one PUB holding every sample, so a classifier with
    ``m`` scale factors runs ``m`` PUBs per optimizer step, in one ``estimator.run`` call
    (hardware: one job per step). The built-in Aer simulator with ``shots`` gets one call
    per scale factor instead, each with its own seed, so the shot noise of the scaled values
    is independent, as on a device. On hardware the folded circuits are transpiled with
    the barriers in place; routing may differ between folds, so the noise scales only
    approximately by :math:`\\lambda`.

    References
    ----------
    .. [1] K. Temme, S. Bravyi and J. M. Gambetta, "Error mitigation for short-depth quantum
       circuits", Physical Review Letters 119, 180509 (2017).
       :doi:`10.1103/PhysRevLett.119.180509`
    .. [2] T. Giurgica-Tiron, Y. Hindy, R. LaRose, A. Mari and W. J. Zeng, "Digital zero
       noise extrapolation for quantum error mitigation", 2020 IEEE International
       Conference on Quantum Computing and Engineering (QCE), 306-316 (2020).
       :doi:`10.1109/QCE49297.2020.00045`

    Examples
    --------
    >>> from qiskit import QuantumCircuit
    >>> from qbloodcell.quantum import ZeroNoiseExtrapolation
    >>> zne = ZeroNoiseExtrapolation(scale_factors=(1, 3, 5))
    >>> zne.coefficients
    array([ 1.875, -1.25 ,  0.375])
    >>> circuit = QuantumCircuit(2)
    >>> _ = circuit.h(0)
    >>> _ = circuit.cx(0, 1)
    >>> [folded.count_ops()["cx"] for folded in zne.fold(circuit)]
    [1, 3, 5]

    Values on a straight line in the scale factor extrapolate to its intercept:

    >>> float(zne.extrapolate([0.9, 0.7, 0.5]))
    1.0

    With a classifier: a depolarising noise model shrinks :math:`\\langle Z_0 \\rangle`,
    and extrapolation brings it back towards the exact value.

    >>> import numpy as np
    >>> from qiskit_aer.noise import NoiseModel, depolarizing_error
    >>> from qbloodcell.quantum import STUDY_VQC_SETTINGS, VQCClassifier
    >>> X = np.random.default_rng(0).uniform(0, 2, size=(20, 4))
    >>> y = (X[:, 0] > X[:, 1]).astype(int)
    >>> clf = VQCClassifier(**{**STUDY_VQC_SETTINGS, "max_iter": 20}, random_state=0).fit(X, y)
    >>> exact = clf.decision_function(X)
    >>> noise = NoiseModel()
    >>> noise.add_all_qubit_quantum_error(depolarizing_error(0.02, 2), ["cx"])
    >>> noisy = clf.set_params(noise_model=noise).decision_function(X)
    >>> mitigated = clf.set_params(mitigation=zne).decision_function(X)
    >>> bool(np.abs(mitigated - exact).mean() < np.abs(noisy - exact).mean())
    True
    """

    def __init__(
        self,
        scale_factors: Sequence[int] = (1, 3, 5),
        extrapolation: str = "richardson",
    ) -> None:
        check_arguments(
            {"scale_factors": scale_factors, "extrapolation": extrapolation}, _ZNE_SPECS
        )
        factors = tuple(int(factor) for factor in scale_factors)
        even = [factor for factor in factors if factor % 2 == 0]
        if even:
            raise ValueError(
                f"scale_factors must be odd (unitary folding scales the noise by 1, 3, 5, ...); "
                f"got {factors}, with the even factor(s) {even}."
            )
        if len(set(factors)) != len(factors) or len(factors) < 2:
            raise ValueError(
                f"scale_factors must hold at least two distinct factors to extrapolate from; "
                f"got {factors}."
            )
        self._scale_factors = factors
        self._extrapolation = extrapolation
        self._coefficients = _coefficients(np.asarray(factors, dtype=float), extrapolation)

    @property
    def scale_factors(self) -> tuple[int, ...]:
        """The noise scale factors, in the order given."""
        return self._scale_factors

    @property
    def extrapolation(self) -> str:
        """``"richardson"`` or ``"linear"``."""
        return self._extrapolation

    @property
    def coefficients(self) -> NDArray[np.float64]:
        """The weights of the zero-noise estimate, one per scale factor (a copy)."""
        return self._coefficients.copy()

    def __repr__(self) -> str:
        return (
            f"ZeroNoiseExtrapolation(scale_factors={self._scale_factors!r}, "
            f"extrapolation={self._extrapolation!r})"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ZeroNoiseExtrapolation):
            return NotImplemented
        return (self._scale_factors, self._extrapolation) == (
            other._scale_factors,
            other._extrapolation,
        )

    def __hash__(self) -> int:
        return hash((self._scale_factors, self._extrapolation))

    def fold(self, circuit: Any) -> list[Any]:
        """The circuit folded at every scale factor (global unitary folding).

        Parameters
        ----------
        circuit : qiskit.circuit.QuantumCircuit
            A unitary circuit (no measurements or resets); it may have free parameters.

        Returns
        -------
        folded : list of qiskit.circuit.QuantumCircuit
            One circuit per scale factor :math:`\\lambda = 2n + 1`: ``circuit``, then ``n``
            times its inverse and ``circuit`` again, separated by barriers.
        """
        from qiskit.circuit import QuantumCircuit
        from qiskit.circuit.exceptions import CircuitError

        if not isinstance(circuit, QuantumCircuit):
            raise TypeError(
                f"circuit must be a qiskit QuantumCircuit; got an object of type "
                f"{type(circuit).__name__}."
            )
        non_unitary = sorted(
            {
                instruction.operation.name
                for instruction in circuit.data
                if instruction.operation.name in ("measure", "reset") or instruction.clbits
            }
        )
        if non_unitary:
            raise ValueError(
                f"Only unitary circuits can be folded; this one contains {non_unitary}."
            )
        try:
            inverse = circuit.inverse()
        except CircuitError as error:
            raise ValueError(
                f"The circuit cannot be folded: it has no inverse ({error})."
            ) from error
        folded = []
        for factor in self._scale_factors:
            scaled = circuit.copy()
            for _ in range((factor - 1) // 2):
                scaled.barrier()
                scaled.compose(inverse, inplace=True)
                scaled.barrier()
                scaled.compose(circuit, inplace=True)
            folded.append(scaled)
        return folded

    def extrapolate(self, values: ArrayLike) -> NDArray[np.float64]:
        """The zero-noise estimate from values measured at every scale factor.

        Parameters
        ----------
        values : array-like of shape (n_scale_factors, ...)
            ``values[k]`` holds the expectation values measured at ``scale_factors[k]``
            (any trailing shape: one value per sample, per sub-model and sample, ...).

        Returns
        -------
        estimate : ndarray of the trailing shape of ``values``
            The extrapolation to zero noise of every entry.
        """
        values = np.asarray(values, dtype=float)
        if values.ndim == 0 or values.shape[0] != len(self._scale_factors):
            raise ValueError(
                f"values must have one row per scale factor ({len(self._scale_factors)}) "
                f"along axis 0; got shape {values.shape}."
            )
        return np.asarray(np.tensordot(self._coefficients, values, axes=1), dtype=float)


def _coefficients(factors: NDArray[np.float64], extrapolation: str) -> NDArray[np.float64]:
    """The weights ``c`` with ``estimate = c @ values`` for the zero-noise limit."""
    if extrapolation == "richardson":
        # Lagrange basis polynomials evaluated at 0
        return np.array(
            [
                np.prod([other / (other - factor) for other in factors if other != factor])
                for factor in factors
            ]
        )
    # least-squares line a + b * factor: the intercept is the first row of the pseudo-inverse
    design = np.column_stack([np.ones_like(factors), factors])
    return np.asarray(np.linalg.pinv(design)[0], dtype=float)
