"""The Qiskit-primitive route of the quantum classifiers: expectation values from an Estimator.

With ``shots``, ``noise_model`` or ``estimator``, a classifier evaluates its circuit on a
Qiskit EstimatorV2 instead of the exact simulator: qiskit-aer's (built here by
:func:`aer_estimator`) or the user's, including IBM hardware. All samples go into one
batched PUB per optimizer step.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from qbloodcell.quantum._circuits import z0_observable


def backend_with_target(estimator: Any) -> Any:
    """The backend an estimator runs on, when it exposes one with a transpiler target."""
    for name in ("backend", "mode"):
        try:
            candidate = getattr(estimator, name, None)
        except Exception:  # a property of a remote primitive may fail offline
            continue
        if candidate is not None and getattr(candidate, "target", None) is not None:
            return candidate
    return None


class EstimatorExpectations:
    """<Z0> for every sample from a Qiskit EstimatorV2: one PUB, one ``run`` per evaluation.

    Calling it with a weight vector returns one expectation value per sample;
    :meth:`for_weight_rows` evaluates several weight vectors (one per sub-model) in one PUB.
    """

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
        backend = backend_with_target(estimator)
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

    def for_weight_rows(self, weights: NDArray[np.float64]) -> NDArray[np.float64]:
        # every sub-model in one PUB: parameter array of shape (n_models, n_samples, n_params)
        values = np.repeat(self.values[None], weights.shape[0], axis=0)
        values[:, :, self.weight_positions] = weights[:, None, self.weight_indices]
        return self._run(values)


def aer_estimator(*, shots: int | None, noise_model: Any, seed: int) -> Any:
    """qiskit-aer's EstimatorV2 for ``shots`` (None: exact) and an optional noise model."""
    from qiskit_aer.primitives import EstimatorV2 as AerEstimator

    backend_options: dict[str, Any] = {}
    if noise_model is not None:
        backend_options = {"method": "density_matrix", "noise_model": noise_model}
    return AerEstimator(
        options={
            "default_precision": 0.0 if shots is None else 1.0 / np.sqrt(shots),
            "backend_options": backend_options,
            "run_options": {"seed_simulator": seed},
        }
    )
