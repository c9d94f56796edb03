"""The exact expectation evaluators of the variational classifiers.

Every evaluator a classifier trains on has one interface: ``f(weights)`` gives
:math:`\\langle Z_0 \\rangle` for every sample (shape (n_samples,)), ``f.many(weight_rows)``
the values for several weight vectors at once (shape (n_rows, n_samples): one row per
one-vs-rest sub-model) and, for the exact ones here, ``f.value_and_jacobian(weights)`` the
values and their parameter-shift Jacobian in the weights (shape (n_samples, n_weights)).

* :class:`PreparedStatesExpectations` (:class:`~qbloodcell.quantum.VQCClassifier`): the
  feature-map states are prepared once, the weight-only ansatz is applied per call;
* :class:`CircuitExpectations` (:class:`~qbloodcell.quantum.DataReuploadingClassifier`):
  inputs and weights enter the same gates, so the whole circuit is simulated per call;
* :class:`~qbloodcell.quantum._estimators.EstimatorExpectations` (shots, noise, hardware):
  the same calls through a Qiskit Estimator, without a Jacobian.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from qbloodcell.quantum._gradients import AnsatzGradient, CircuitGradient
from qbloodcell.quantum._statevector import CompiledCircuit, ZExpectation, z_expectation

FloatArray = NDArray[np.float64]


class PreparedStatesExpectations:
    """<Z0> for every sample, exactly: feature-map states prepared once, ansatz per call.

    :meth:`value_and_jacobian` needs ``ansatz_circuit`` and ``weight_parameters`` (the
    gradient circuit is built from them on first use).
    """

    def __init__(
        self,
        feature_map: CompiledCircuit,
        ansatz: CompiledCircuit,
        X: Any,
        ansatz_circuit: Any = None,
        weight_parameters: tuple[Any, ...] = (),
    ) -> None:
        self._states = feature_map.evolve(X)
        self._expectation = ZExpectation(ansatz, self._states)
        self._ansatz_circuit = ansatz_circuit
        self._weight_parameters = weight_parameters
        self._gradient: AnsatzGradient | None = None
        self.n_calls = 0

    def __call__(self, weights: FloatArray) -> FloatArray:
        self.n_calls += 1
        return self._expectation(weights)

    def many(self, weight_rows: FloatArray) -> FloatArray:
        return np.stack([self._expectation(row) for row in weight_rows])

    def value_and_jacobian(self, weights: FloatArray) -> tuple[FloatArray, FloatArray]:
        if self._gradient is None:
            if self._ansatz_circuit is None:
                raise ValueError("value_and_jacobian needs the ansatz circuit and its weights.")
            self._gradient = AnsatzGradient(
                self._ansatz_circuit, self._weight_parameters, self._states
            )
        self.n_calls += 1
        return self._gradient.value_and_jacobian(weights)


class CircuitExpectations:
    """<Z0> for every sample, exactly: the whole circuit simulated for the batch per call.

    ``circuits`` is (circuit, input parameters, weight parameters), for
    :meth:`value_and_jacobian`.
    """

    def __init__(self, compiled: CompiledCircuit, X: FloatArray, circuits: Any = None) -> None:
        self.compiled = compiled
        self.X = X
        self.circuits = circuits
        self._gradient: CircuitGradient | None = None
        self.n_calls = 0

    def __call__(self, weights: FloatArray) -> FloatArray:
        self.n_calls += 1
        values = np.column_stack([self.X, np.broadcast_to(weights, (len(self.X), weights.size))])
        return z_expectation(self.compiled.evolve(values))

    def many(self, weight_rows: FloatArray) -> FloatArray:
        return np.stack([self(row) for row in weight_rows])

    def value_and_jacobian(self, weights: FloatArray) -> tuple[FloatArray, FloatArray]:
        if self._gradient is None:
            if self.circuits is None:
                raise ValueError("value_and_jacobian needs the circuit and its parameters.")
            circuit, inputs, weight_parameters = self.circuits
            self._gradient = CircuitGradient(circuit, inputs, weight_parameters, self.X)
        self.n_calls += 1
        return self._gradient.value_and_jacobian(weights)
