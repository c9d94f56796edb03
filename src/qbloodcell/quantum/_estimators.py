"""The Qiskit-primitive route of the quantum classifiers: expectation values from an Estimator.

With ``shots``, ``noise_model`` or ``estimator``, a classifier evaluates its circuit on a
Qiskit EstimatorV2 instead of the exact simulator: qiskit-aer's (built here by
:func:`aer_estimator`) or the user's, including IBM hardware through qiskit-ibm-runtime
(job, Session and Batch modes, also in its local testing mode). All samples go into one
batched PUB per optimizer step (one per noise scale factor with zero-noise extrapolation).
Circuits are transpiled once per :class:`EstimatorExpectations`, i.e. once per ``fit`` and
once per prediction call, never per step.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from qbloodcell.quantum._circuits import z0_observable

#: The preset pass manager used for a backend found on the estimator.
ISA_OPTIMIZATION_LEVEL = 1
ISA_SEED_TRANSPILER = 0


def _has_target(candidate: Any) -> bool:
    try:
        return getattr(candidate, "target", None) is not None
    except Exception:  # a remote backend may fail to fetch its target offline
        return False


def _attribute(owner: Any, name: str) -> Any:
    """``owner.<name>``, called when it is a method (qiskit-ibm-runtime's ``backend()``)."""
    try:
        value = getattr(owner, name, None)
        # a backend or a Session is not callable; a bound method returning one is
        if callable(value) and not _has_target(value):
            value = value()
    except Exception:  # a property or method of a remote primitive may fail offline
        return None
    return value


def backend_with_target(estimator: Any) -> Any:
    """The backend an estimator runs on, when it exposes one with a transpiler target.

    Looks at ``estimator.backend`` (an attribute, as on ``BackendEstimatorV2``, or a method,
    as on qiskit-ibm-runtime's ``EstimatorV2``, whose ``backend()`` also resolves a Session
    or Batch mode), then ``estimator.mode`` (a backend, or a Session/Batch and its
    ``backend``). ``None`` when none of them is a backend with a ``target``.
    """
    backend = _attribute(estimator, "backend")
    if _has_target(backend):
        return backend
    mode = _attribute(estimator, "mode")
    if _has_target(mode):
        return mode
    backend = _attribute(mode, "backend") if mode is not None else None
    return backend if _has_target(backend) else None


def isa_pass_manager(estimator: Any, pass_manager: Any) -> Any:
    """The pass manager for ``estimator``: the user's, a preset one for its backend, or None."""
    if pass_manager is not None:
        return pass_manager
    backend = backend_with_target(estimator)
    if backend is None:
        return None
    from qiskit.transpiler import generate_preset_pass_manager

    return generate_preset_pass_manager(
        optimization_level=ISA_OPTIMIZATION_LEVEL,
        backend=backend,
        seed_transpiler=ISA_SEED_TRANSPILER,
    )


def _transpile(pass_manager: Any, circuits: list[Any]) -> list[Any]:
    """``pass_manager.run`` on every circuit in one call, with a clear error on failure."""
    from qiskit.circuit import QuantumCircuit

    try:
        transpiled = pass_manager.run(circuits)
    except Exception as error:
        raise RuntimeError(
            f"Transpiling the classifier's circuit with the pass manager "
            f"({type(pass_manager).__name__}) failed: {type(error).__name__}: {error}. Check "
            "that it targets a backend with enough qubits for the circuit."
        ) from error
    if isinstance(transpiled, QuantumCircuit):
        transpiled = [transpiled]
    transpiled = list(transpiled)
    if len(transpiled) != len(circuits) or not all(
        isinstance(circuit, QuantumCircuit) for circuit in transpiled
    ):
        raise TypeError(
            f"pass_manager.run must return one QuantumCircuit per input circuit; "
            f"{type(pass_manager).__name__}.run returned {len(transpiled)} object(s) for "
            f"{len(circuits)} circuit(s)."
        )
    return transpiled


class EstimatorExpectations:
    """<Z0> for every sample from a Qiskit EstimatorV2: one PUB, one ``run`` per evaluation.

    Calling it with a weight vector returns one expectation value per sample;
    :meth:`many` evaluates several weight vectors (one per sub-model) in one PUB.

    The circuit is transpiled here, once: by ``pass_manager``, or else by a preset pass
    manager for the backend of ``estimator`` (:func:`isa_pass_manager`), and the observable
    follows each transpiled circuit's layout. With ``mitigation`` the circuit is first folded
    at every scale factor, each folded circuit is one PUB per evaluation, and the values are
    extrapolated to zero noise.
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
        pass_manager: Any = None,
        mitigation: Any = None,
    ) -> None:
        n_qubits = circuit.num_qubits
        circuits = [circuit] if mitigation is None else mitigation.fold(circuit)
        # hardware (and hardware-like) primitives run only circuits in the device's ISA
        pass_manager = isa_pass_manager(estimator, pass_manager)
        if pass_manager is not None:
            circuits = _transpile(pass_manager, circuits)
        self.circuits = circuits
        self.observables = [
            z0_observable(n_qubits).apply_layout(item.layout, item.num_qubits) for item in circuits
        ]
        self.estimator = estimator
        self.precision = precision
        self.seed_rng = seed_rng
        self.mitigation = mitigation
        self.n_calls = 0
        feature_column = {p: j for j, p in enumerate(feature_parameters)}
        weight_column = {p: k for k, p in enumerate(weight_parameters)}
        known = feature_column.keys() | weight_column.keys()
        # per circuit: the feature values in place, and where the weights go
        self.values, self.weight_positions, self.weight_indices = [], [], []
        for item in circuits:
            parameters = list(item.parameters)
            unknown = [p.name for p in parameters if p not in known]
            if unknown:
                raise ValueError(
                    f"The transpiled circuit has parameters that are neither features nor "
                    f"weights: {unknown}; the pass manager must keep the circuit's parameters."
                )
            values = np.empty((X.shape[0], len(parameters)))
            positions, indices = [], []
            for position, parameter in enumerate(parameters):
                if parameter in feature_column:
                    values[:, position] = X[:, feature_column[parameter]]
                else:
                    positions.append(position)
                    indices.append(weight_column[parameter])
            self.values.append(values)
            self.weight_positions.append(np.asarray(positions, dtype=np.intp))
            self.weight_indices.append(np.asarray(indices, dtype=np.intp))

    @property
    def circuit(self) -> Any:
        """The (transpiled) circuit of the first scale factor: the circuit itself without ZNE."""
        return self.circuits[0]

    @property
    def observable(self) -> Any:
        """The observable of :attr:`circuit`."""
        return self.observables[0]

    def _submit(self, pubs: list[Any]) -> list[Any]:
        if self.seed_rng is None:
            # one job for all the PUBs (on hardware: one job per optimizer step)
            self.n_calls += 1
            return list(self.estimator.run(pubs, precision=self.precision).result())
        results = []
        for pub in pubs:
            # a fresh, reproducible simulator seed per call: independent shot noise per step
            # and per scale factor (Aer draws every PUB of a call from the same seed)
            self.estimator.options.run_options["seed_simulator"] = int(
                self.seed_rng.integers(2**31 - 1)
            )
            self.n_calls += 1
            results.extend(self.estimator.run([pub], precision=self.precision).result())
        return results

    def _run(self, values: Sequence[NDArray[np.float64]]) -> NDArray[np.float64]:
        pubs = [
            (circuit, observable, array)
            for circuit, observable, array in zip(
                self.circuits, self.observables, values, strict=True
            )
        ]
        evs_per_circuit = []
        for result, array in zip(self._submit(pubs), values, strict=True):
            evs = np.asarray(result.data.evs, dtype=float)
            if evs.shape != array.shape[:-1]:
                raise RuntimeError(
                    f"The estimator returned expectation values of shape {evs.shape}; "
                    f"expected {array.shape[:-1]} (one per sample)."
                )
            if not np.all(np.isfinite(evs)):
                raise FloatingPointError("The estimator returned non-finite expectation values.")
            evs_per_circuit.append(evs)
        if self.mitigation is None:
            return evs_per_circuit[0]
        return np.asarray(self.mitigation.extrapolate(np.stack(evs_per_circuit)), dtype=float)

    def __call__(self, weights: NDArray[np.float64]) -> NDArray[np.float64]:
        values = []
        for template, positions, indices in zip(
            self.values, self.weight_positions, self.weight_indices, strict=True
        ):
            array = template.copy()
            array[:, positions] = weights[indices]
            values.append(array)
        return self._run(values)

    def many(self, weights: NDArray[np.float64]) -> NDArray[np.float64]:
        # every sub-model in one PUB: parameter array of shape (n_models, n_samples, n_params)
        values = []
        for template, positions, indices in zip(
            self.values, self.weight_positions, self.weight_indices, strict=True
        ):
            array = np.repeat(template[None], weights.shape[0], axis=0)
            array[:, :, positions] = weights[:, None, indices]
            values.append(array)
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
