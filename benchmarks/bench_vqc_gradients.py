"""Speed of the exact parameter-shift Jacobian against a forward pass and qiskit-machine-learning.

For the default VQC circuit (ZZ map with 1 repetition, EfficientSU2 with 3, 32 weights) and
the study's (ZZ map with 2, RealAmplitudes with 1, 8 weights) on 4 qubits and 400 samples,
measures interleaved (least of 5 repeats):

- one forward evaluation of <Z0> for all samples (what COBYLA pays per step);
- the Jacobian d<Z0>/dw for all samples by parameter shift, batched (what Adam and
  L-BFGS-B pay per step);
- the same Jacobian by qiskit-machine-learning's ``EstimatorQNN.backward`` with
  ``ParamShiftEstimatorGradient`` on Qiskit's ``StatevectorEstimator`` (on 40 samples,
  scaled to 400: it is linear in the samples), after checking that both agree.

Run from the project root: ``python benchmarks/bench_vqc_gradients.py``. Timings on a
loaded machine are inflated; the ratios in one run are what counts.
"""

from __future__ import annotations

import time

import numpy as np
from threadpoolctl import threadpool_limits

from qbloodcell.quantum._circuits import make_circuits, z0_observable
from qbloodcell.quantum._gradients import AnsatzGradient
from qbloodcell.quantum._statevector import CompiledCircuit, ZExpectation

CIRCUITS = {
    "default (EfficientSU2 x3)": {"feature_map_reps": 1, "ansatz": "efficient_su2", "reps": 3},
    "study (RealAmplitudes x1)": {"feature_map_reps": 2, "ansatz": "real_amplitudes", "reps": 1},
}
N_SAMPLES = 400
N_QML_SAMPLES = 40


def least_time(function, repeats: int = 5) -> float:
    best = np.inf
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    from qiskit.primitives import StatevectorEstimator
    from qiskit_machine_learning.gradients import ParamShiftEstimatorGradient
    from qiskit_machine_learning.neural_networks import EstimatorQNN

    rng = np.random.default_rng(0)
    for name, spec in CIRCUITS.items():
        circuits = make_circuits(
            4,
            feature_map_reps=spec["feature_map_reps"],
            ansatz_reps=spec["reps"],
            entanglement="full",
            ansatz=spec["ansatz"],
        )
        X = rng.uniform(0, 2, (N_SAMPLES, 4))
        w = rng.uniform(-np.pi, np.pi, len(circuits.weight_parameters))
        states = CompiledCircuit(circuits.feature_map, circuits.feature_parameters).evolve(X)
        forward = ZExpectation(CompiledCircuit(circuits.ansatz, circuits.weight_parameters), states)
        gradient = AnsatzGradient(circuits.ansatz, circuits.weight_parameters, states)
        estimator = StatevectorEstimator()
        qnn = EstimatorQNN(
            circuit=circuits.circuit,
            estimator=estimator,
            observables=z0_observable(4),
            input_params=list(circuits.feature_parameters),
            weight_params=list(circuits.weight_parameters),
            gradient=ParamShiftEstimatorGradient(estimator),
            default_precision=0.0,
        )
        _, reference = qnn.backward(X[:N_QML_SAMPLES], w)
        ours = gradient.value_and_jacobian(w)[1][:N_QML_SAMPLES]
        error = float(np.max(np.abs(ours - np.asarray(reference)[:, 0, :])))
        t_forward = least_time(lambda f=forward, w=w: f(w))
        t_jacobian = least_time(lambda g=gradient, w=w: g.value_and_jacobian(w))
        t_qml = least_time(lambda q=qnn, X=X[:N_QML_SAMPLES], w=w: q.backward(X, w), repeats=2)
        t_qml *= N_SAMPLES / N_QML_SAMPLES
        print(f"{name}: {len(w)} weights, {N_SAMPLES} samples (max |difference| {error:.1e})")
        print(f"  forward <Z0>                    {1e3 * t_forward:9.2f} ms")
        print(
            f"  parameter-shift Jacobian        {1e3 * t_jacobian:9.2f} ms "
            f"({t_jacobian / t_forward:.1f} forward passes; "
            f"{1 + 2 * len(w)} circuits per sample)"
        )
        print(
            f"  EstimatorQNN.backward (scaled)  {1e3 * t_qml:9.0f} ms "
            f"({t_qml / t_jacobian:.0f} x ours)"
        )


if __name__ == "__main__":
    with threadpool_limits(1):
        main()
