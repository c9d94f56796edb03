"""Construction and validation of the classifier's circuits, and their hardware cost."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from qiskit.circuit import Parameter, QuantumCircuit
from qiskit.circuit.library import efficient_su2, real_amplitudes, zz_feature_map
from qiskit.quantum_info import SparsePauliOp
from qiskit.transpiler import generate_preset_pass_manager

#: Entanglement patterns accepted for the default ZZ feature map.
ENTANGLEMENT_OPTIONS = ("full", "linear", "reverse_linear", "circular", "sca", "pairwise")
#: Basis of IBM superconducting devices, used to report the depth a device would run.
HARDWARE_BASIS_GATES = ("rz", "sx", "x", "cx")
#: Fixed transpiler settings, so that ``circuit_depth_`` is reproducible.
HARDWARE_OPTIMIZATION_LEVEL = 1
HARDWARE_SEED_TRANSPILER = 0
#: The default circuit uses one qubit per feature; beyond this the exact simulation and the
#: circuit stop being a sensible default, and the features should be reduced first.
MAX_DEFAULT_QUBITS = 12

_NON_UNITARY = frozenset({"measure", "reset", "initialize", "store"})


@dataclass(frozen=True)
class ClassifierCircuits:
    """The circuits of a fitted classifier.

    ``circuit`` is ``feature_map`` followed by ``ansatz``. Feature ``j`` binds
    ``feature_parameters[j]`` and weight ``k`` binds ``weight_parameters[k]``; both follow
    Qiskit's parameter order (sorted by name, ``ParameterVector`` elements by index).
    """

    feature_map: QuantumCircuit
    ansatz: QuantumCircuit
    circuit: QuantumCircuit
    feature_parameters: tuple[Parameter, ...]
    weight_parameters: tuple[Parameter, ...]

    @property
    def n_qubits(self) -> int:
        return int(self.circuit.num_qubits)


def build_feature_map(n_qubits: int, reps: int, entanglement: str) -> QuantumCircuit:
    """The ZZ feature map (second-order Pauli-Z expansion) on ``n_qubits`` qubits."""
    return zz_feature_map(n_qubits, reps=reps, entanglement=entanglement, parameter_prefix="x")


#: Named trainable circuits accepted by ``ansatz``: RealAmplitudes (RY layers and CX chains,
#: ``n_qubits * (reps + 1)`` weights, real amplitudes only) and EfficientSU2 (RY and RZ
#: layers and CX chains, ``2 * n_qubits * (reps + 1)`` weights).
ANSATZ_OPTIONS = ("real_amplitudes", "efficient_su2")


def build_ansatz(n_qubits: int, reps: int, kind: str = "real_amplitudes") -> QuantumCircuit:
    """A named ansatz of :data:`ANSATZ_OPTIONS` on ``n_qubits`` qubits."""
    if kind == "efficient_su2":
        return efficient_su2(n_qubits, reps=reps, parameter_prefix="θ")
    return real_amplitudes(n_qubits, reps=reps, parameter_prefix="θ")


def _check_unitary(circuit: QuantumCircuit, argument: str) -> None:
    for instruction in circuit.data:
        name = instruction.operation.name
        if name in _NON_UNITARY or instruction.clbits:
            raise ValueError(
                f"{argument} contains the non-unitary instruction {name!r}; pass a unitary "
                "circuit without measurements or resets (the classifier measures <Z> on "
                "qubit 0 itself)."
            )


def make_circuits(
    n_features: int,
    *,
    feature_map_reps: int,
    ansatz_reps: int,
    entanglement: str,
    feature_map: Any = None,
    ansatz: Any = None,
) -> ClassifierCircuits:
    """Build (or validate user-supplied) feature map and ansatz for ``n_features`` inputs."""
    if feature_map is None:
        if n_features < 2:
            raise ValueError(
                f"X has {n_features} feature(s), but the default ZZ feature map needs at least "
                "2 (it uses one qubit per feature and couples them in pairs). Pass a custom "
                "feature_map circuit for one-dimensional data."
            )
        if n_features > MAX_DEFAULT_QUBITS:
            raise ValueError(
                f"X has {n_features} features, but the default circuit uses one qubit per "
                f"feature and supports at most {MAX_DEFAULT_QUBITS}. Reduce the features first, "
                "e.g. make_pipeline(StandardScaler(), PCA(n_components=4), "
                "MinMaxScaler((0, 2)), VQCClassifier()) as in the study."
            )
        feature_map = build_feature_map(n_features, feature_map_reps, entanglement)
    else:
        if not isinstance(feature_map, QuantumCircuit):
            raise TypeError(
                "feature_map must be None or a qiskit.circuit.QuantumCircuit; got "
                f"{type(feature_map).__name__}."
            )
        _check_unitary(feature_map, "feature_map")
        if feature_map.num_parameters != n_features:
            raise ValueError(
                f"feature_map has {feature_map.num_parameters} parameter(s) but X has "
                f"{n_features} feature(s); they must match (feature j binds the j-th parameter "
                "in feature_map.parameters). Reduce the features to the circuit's size, e.g. "
                f"with PCA(n_components={feature_map.num_parameters})."
            )
    if ansatz is None or isinstance(ansatz, str):
        ansatz = build_ansatz(feature_map.num_qubits, ansatz_reps, ansatz or "real_amplitudes")
    else:
        if not isinstance(ansatz, QuantumCircuit):
            raise TypeError(
                "ansatz must be None or a qiskit.circuit.QuantumCircuit; got "
                f"{type(ansatz).__name__}."
            )
        _check_unitary(ansatz, "ansatz")
        if ansatz.num_parameters < 1:
            raise ValueError("ansatz has no parameters; it needs at least one trainable weight.")
    if ansatz.num_qubits != feature_map.num_qubits:
        raise ValueError(
            f"ansatz acts on {ansatz.num_qubits} qubit(s) but the feature map acts on "
            f"{feature_map.num_qubits} (the default feature map uses one qubit per feature). "
            "They must act on the same qubits."
        )
    shared = set(feature_map.parameters) & set(ansatz.parameters)
    if shared:
        raise ValueError(
            f"feature_map and ansatz share the parameter(s) {sorted(str(p) for p in shared)}; "
            "features and trainable weights need distinct parameters."
        )
    circuit = feature_map.compose(ansatz)
    return ClassifierCircuits(
        feature_map=feature_map,
        ansatz=ansatz,
        circuit=circuit,
        feature_parameters=tuple(feature_map.parameters),
        weight_parameters=tuple(ansatz.parameters),
    )


def z0_observable(n_qubits: int) -> SparsePauliOp:
    """Pauli Z on qubit 0 (Qiskit labels are little-endian: qubit 0 is the last character)."""
    return SparsePauliOp("I" * (n_qubits - 1) + "Z")


def hardware_cost(circuit: QuantumCircuit) -> tuple[int, dict[str, int]]:
    """Depth and gate counts of ``circuit`` transpiled to :data:`HARDWARE_BASIS_GATES`.

    All-to-all connectivity is assumed (no routing), with ``optimization_level=1`` and
    ``seed_transpiler=0``, so the numbers are reproducible.
    """
    pass_manager = generate_preset_pass_manager(
        optimization_level=HARDWARE_OPTIMIZATION_LEVEL,
        basis_gates=list(HARDWARE_BASIS_GATES),
        seed_transpiler=HARDWARE_SEED_TRANSPILER,
    )
    transpiled = pass_manager.run(circuit)
    return int(transpiled.depth()), {name: int(n) for name, n in transpiled.count_ops().items()}
