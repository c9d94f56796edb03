"""The sampler route of the quantum kernels: circuits for a primitive, measured bits.

:func:`sampled_fidelity_gram` estimates the fidelity kernel from a Qiskit sampler (the
user's, or Aer's with ``shots``), optionally with zero-noise extrapolation; the projected
kernel reads its measured bits with :func:`_bit_array`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.utils import check_random_state

from qbloodcell.quantum._estimators import backend_with_target

FloatArray = NDArray[np.float64]


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


def _bit_array(pub_result: Any) -> Any:
    """The measured bits of a sampler PUB result (the one classical register)."""
    data = pub_result.data
    registers = list(data.keys()) if hasattr(data, "keys") else []
    if not registers:
        raise RuntimeError("The sampler returned no measured bits.")
    return data[registers[0]]


def sampled_fidelity_gram(kernel: Any, A: FloatArray, B: FloatArray | None) -> FloatArray:
    """The fidelity kernel's Gram matrix estimated from samples of compute-uncompute circuits.

    Each entry is the frequency of the all-zeros outcome of ``U(x)^dagger``-composed
    circuits; with ``kernel.mitigation`` the circuit is folded at each scale factor and the
    frequencies are extrapolated to zero noise, then clipped to [0, 1].
    """
    from qiskit.circuit import ParameterVector

    n_features = A.shape[1]
    feature_map = kernel._sampler_feature_map(n_features)
    parameters = tuple(feature_map.parameters)
    first = ParameterVector("kernel_x", n_features)
    second = ParameterVector("kernel_y", n_features)
    circuit = feature_map.assign_parameters(dict(zip(parameters, first, strict=True)))
    circuit = circuit.compose(
        feature_map.inverse().assign_parameters(dict(zip(parameters, second, strict=True)))
    )
    rng = check_random_state(kernel.random_state)
    circuits = [circuit] if kernel.mitigation is None else kernel.mitigation.fold(circuit)
    samplers = [kernel._sampler(rng) for _ in circuits]
    measured = []
    for scaled, sampler in zip(circuits, samplers, strict=True):
        scaled = scaled.measure_all(inplace=False)
        measured.append(_for_primitive(scaled, sampler))
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
        pubs = []
        for scaled in measured:
            values = np.empty((rows.size, scaled.num_parameters))
            for position, parameter in enumerate(scaled.parameters):
                side, j = column_of[parameter]
                values[:, position] = A[rows, j] if side == "x" else B_rows[columns, j]
            pubs.append((scaled, values))
        if kernel.sampler is not None:
            # the user's sampler: every scale factor in one job
            results = list(kernel.sampler.run(pubs, shots=kernel.shots).result())
        else:
            # the built-in Aer sampler: one seed per scale factor, independent shot noise
            results = [
                sampler.run([pub], shots=kernel.shots).result()[0]
                for pub, sampler in zip(pubs, samplers, strict=True)
            ]
        # all qubits measured 0: every byte of the packed outcome is zero
        probabilities = np.stack(
            [
                np.asarray(
                    np.all(np.asarray(_bit_array(result).array) == 0, axis=-1).mean(axis=-1),
                    dtype=float,
                ).reshape(rows.size)
                for result in results
            ]
        )
        if kernel.mitigation is None:
            zeros = probabilities[0]
        else:
            zeros = np.clip(kernel.mitigation.extrapolate(probabilities), 0.0, 1.0)
        gram[rows, columns] = zeros
        if B is None:
            gram[columns, rows] = zeros
    return gram
