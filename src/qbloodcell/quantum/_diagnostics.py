"""Trainability diagnostics: gradient variance over random parameters, and circuit depth.

:func:`gradient_variance` estimates :math:`\\operatorname{Var}_\\theta[\\partial_{\\theta_1}
\\langle Z_0 \\rangle]` over random parameters for a family of circuits and a grid of qubit
and layer counts, with exact parameter-shift gradients on the batched simulator
(:mod:`qbloodcell.quantum._gradients`). For deep random circuits it decays exponentially
with the number of qubits (the barren plateaus of McClean et al. 2018).
:func:`circuit_depth_report` compares the study's claimed depth with the depth of its
circuit as built and transpiled to a hardware basis.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.utils import check_random_state

from qbloodcell._validation import (
    Integer,
    IntegerSequence,
    NoneValue,
    Options,
    RandomState,
    Spec,
    check_arguments,
)

__all__ = ["GradientVarianceResult", "circuit_depth_report", "gradient_variance"]

#: Circuit families of :func:`gradient_variance`.
FAMILIES = ("study", "hardware_efficient")
#: Largest register :func:`gradient_variance` simulates.
MAX_QUBITS = 12
#: Random circuit instances (axis choices) per configuration of the hardware-efficient family.
_N_INSTANCES = 10
#: The study's circuit: 4 qubits, RealAmplitudes with 1 repetition, ZZ map with 2.
STUDY_N_QUBITS = 4
STUDY_ANSATZ_REPS = 1
STUDY_FEATURE_MAP_REPS = 2
#: The depth the study reports for its circuit.
PAPER_DEPTH = 12
#: Columns of :attr:`GradientVarianceResult.rows`.
COLUMNS = ("family", "n_qubits", "n_layers", "n_weights", "n_draws", "variance", "mean")

_GRADIENT_VARIANCE_SPECS: dict[str, list[Spec]] = {
    "family": [Options(FAMILIES)],
    "n_qubits": [IntegerSequence(2, scalar_ok=True, example="(2, 4, 6)")],
    "n_layers": [IntegerSequence(1, scalar_ok=True, example="(1, 10, 40)")],
    "n_draws": [Integer(2)],
    "random_state": [NoneValue(), RandomState()],
}
_DEPTH_REPORT_SPECS: dict[str, list[Spec]] = {
    "optimization_levels": [IntegerSequence(0, scalar_ok=True, example="(1, 3)")],
}


@dataclass
class GradientVarianceResult:
    """The table of :func:`gradient_variance`: one row (a dict) per configuration.

    ``rows`` hold ``family``, ``n_qubits``, ``n_layers``, ``n_weights``, ``n_draws``,
    ``variance`` (of the derivative of :math:`\\langle Z_0 \\rangle` with respect to the
    first weight, over the draws) and ``mean`` (of that derivative).
    """

    rows: list[dict[str, Any]] = field(default_factory=list)

    def __add__(self, other: GradientVarianceResult) -> GradientVarianceResult:
        return GradientVarianceResult([*self.rows, *other.rows])

    def to_frame(self) -> Any:
        """The rows as a pandas DataFrame (needs pandas)."""
        try:
            import pandas
        except ImportError as exc:  # pragma: no cover - pandas is in the test environment
            raise ImportError(
                "GradientVarianceResult.to_frame needs pandas: pip install 'qbloodcell[pandas]'"
            ) from exc
        return pandas.DataFrame(self.rows, columns=list(COLUMNS))

    def plot(self, ax: Any = None) -> Any:
        """Variance against qubit count on a log scale, one line per family and depth.

        The study's circuit (family ``"study"``, 4 qubits, 1 layer), when in the table, is
        marked with a star. Returns the matplotlib Axes.
        """
        if ax is None:
            import matplotlib.pyplot as plt

            _, ax = plt.subplots(figsize=(6, 4))
        groups: dict[tuple[str, int], list[dict[str, Any]]] = {}
        for row in self.rows:
            groups.setdefault((row["family"], row["n_layers"]), []).append(row)
        for (family, n_layers), rows in groups.items():
            rows = sorted(rows, key=lambda r: r["n_qubits"])
            style = "o-" if family == "hardware_efficient" else "s--"
            label = f"{family.replace('_', '-')}, {n_layers} layer{'s' if n_layers > 1 else ''}"
            ax.semilogy(
                [r["n_qubits"] for r in rows], [r["variance"] for r in rows], style, label=label
            )
        study = [
            r
            for r in self.rows
            if r["family"] == "study"
            and r["n_qubits"] == STUDY_N_QUBITS
            and r["n_layers"] == STUDY_ANSATZ_REPS
        ]
        if study:
            ax.semilogy(
                [STUDY_N_QUBITS],
                [study[0]["variance"]],
                "*",
                color="black",
                markersize=14,
                label="the study's circuit",
            )
        ax.set_xlabel("qubits")
        ax.set_ylabel(r"Var$[\partial_{\theta_1} \langle Z_0 \rangle]$")
        ax.legend(fontsize="small")
        return ax

    def __repr__(self) -> str:
        return f"GradientVarianceResult({len(self.rows)} rows)"


def _hardware_efficient(n_qubits: int, n_layers: int, rng: np.random.Generator) -> Any:
    """McClean et al.'s random circuit: RY(pi/4) on every qubit, then ``n_layers`` x (a
    rotation about a random axis X, Y or Z on every qubit, a CZ ladder)."""
    from qiskit.circuit import ParameterVector, QuantumCircuit

    theta = ParameterVector("θ", n_qubits * n_layers)
    circuit = QuantumCircuit(n_qubits)
    for q in range(n_qubits):
        circuit.ry(math.pi / 4, q)
    k = 0
    for _ in range(n_layers):
        for q in range(n_qubits):
            axis = ("rx", "ry", "rz")[int(rng.integers(3))]
            getattr(circuit, axis)(theta[k], q)
            k += 1
        for q in range(n_qubits - 1):
            circuit.cz(q, q + 1)
    return circuit, (), tuple(theta)


def _study_family(n_qubits: int, n_layers: int) -> Any:
    from qbloodcell.quantum._circuits import make_circuits

    circuits = make_circuits(
        n_qubits,
        feature_map_reps=STUDY_FEATURE_MAP_REPS,
        ansatz_reps=n_layers,
        entanglement="full",
        ansatz="real_amplitudes",
    )
    return circuits.circuit, circuits.feature_parameters, circuits.weight_parameters


def _first_weight_derivatives(
    circuit: Any, inputs: tuple[Any, ...], weights: tuple[Any, ...], values: np.ndarray
) -> np.ndarray:
    """d<Z0>/d(first weight) for each row of ``values`` (inputs then weights)."""
    from qbloodcell.quantum._gradients import gradient_circuit, shifted_expectations
    from qbloodcell.quantum._statevector import CompiledCircuit

    gradient = gradient_circuit(circuit, inputs, weights)
    compiled = CompiledCircuit(gradient.circuit, gradient.parameters)
    which = [g for g, by_weight in enumerate(gradient.derivatives) if 0 in by_weight]
    offsets, coefficients = gradient.shifts(which)
    phi = gradient.angle_values(values)
    shifted = shifted_expectations(compiled, values[:, : len(inputs)], phi, offsets)
    by_angle = coefficients @ shifted[1:]  # (n_angles, n_rows)
    chain = np.zeros((values.shape[0], gradient.n_angles))
    for g in which:
        chain[:, g] = gradient.derivatives[g][0](values)
    return np.asarray(np.sum(by_angle.T * chain, axis=1), dtype=float)


def gradient_variance(
    family: str = "hardware_efficient",
    n_qubits: int | Sequence[int] = (2, 4, 6, 8),
    n_layers: int | Sequence[int] = (1, 10, 40),
    *,
    n_draws: int = 200,
    random_state: Any = None,
) -> GradientVarianceResult:
    """Variance of the gradient of :math:`\\langle Z_0 \\rangle` over random parameters.

    For every qubit count and layer count, draws ``n_draws`` random parameter vectors
    (weights uniform in :math:`[0, 2\\pi)`), computes the exact derivative of
    :math:`\\langle Z_0 \\rangle` with respect to the first weight by the parameter-shift
    rule on the batched simulator, and reports its variance and mean over the draws. A
    variance that falls exponentially with the qubit count is a barren plateau: the
    gradient at a random start is then exponentially small, and training from there needs
    exponentially many shots.

    Parameters
    ----------
    family : {"hardware_efficient", "study"}, default="hardware_efficient"
        ``"hardware_efficient"``: McClean et al.'s random circuits, :math:`R_Y(\\pi/4)` on
        every qubit, then per layer a rotation about a random axis (X, Y or Z) on every
        qubit and a CZ ladder; the axes are drawn for each of 10 circuit instances per
        configuration, the draws spread over them. ``"study"``: the study's circuit family,
        the ZZ feature map (2 repetitions, full entanglement) on a random input in
        :math:`[0, 2]^n` (the study's angle range, a new one per draw) and RealAmplitudes
        with ``n_layers`` repetitions (the study's circuit has 4 qubits and 1).
    n_qubits : int or sequence of int, default=(2, 4, 6, 8)
        Qubit counts (2 to 12).
    n_layers : int or sequence of int, default=(1, 10, 40)
        Layer counts (ansatz repetitions for ``"study"``).
    n_draws : int, default=200
        Random parameter vectors per configuration.
    random_state : int, RandomState instance or None, default=None
        Seeds the draws (and the random axes).

    Returns
    -------
    result : GradientVarianceResult
        ``result.rows``: one dict per configuration (``family``, ``n_qubits``,
        ``n_layers``, ``n_weights``, ``n_draws``, ``variance``, ``mean``);
        ``result.to_frame()`` as a pandas DataFrame; ``result.plot(ax=None)`` draws the
        variance on a log scale. Results of two calls add up with ``+``.

    See Also
    --------
    circuit_depth_report : the study circuit's depth as built and transpiled.

    References
    ----------
    .. [1] J. R. McClean, S. Boixo, V. N. Smelyanskiy, R. Babbush and H. Neven, "Barren
       plateaus in quantum neural network training landscapes", Nature Communications 9,
       4812 (2018). :doi:`10.1038/s41467-018-07090-4`

    Examples
    --------
    >>> from qbloodcell.quantum import gradient_variance
    >>> result = gradient_variance("hardware_efficient", n_qubits=(2, 6), n_layers=30,
    ...                            n_draws=100, random_state=0)
    >>> [row["n_qubits"] for row in result.rows]
    [2, 6]
    >>> result.rows[0]["variance"] > result.rows[1]["variance"]
    True
    """
    check_arguments(
        {
            "family": family,
            "n_qubits": n_qubits,
            "n_layers": n_layers,
            "n_draws": n_draws,
            "random_state": random_state,
        },
        _GRADIENT_VARIANCE_SPECS,
    )
    qubit_counts = [int(n_qubits)] if isinstance(n_qubits, int | np.integer) else list(n_qubits)
    layer_counts = [int(n_layers)] if isinstance(n_layers, int | np.integer) else list(n_layers)
    if max(qubit_counts) > MAX_QUBITS:
        raise ValueError(
            f"n_qubits must be at most {MAX_QUBITS} (exact simulation); got {max(qubit_counts)}."
        )
    rng = np.random.default_rng(check_random_state(random_state).randint(2**31 - 1))
    result = GradientVarianceResult()
    for n in qubit_counts:
        for layers in layer_counts:
            derivatives = []
            if family == "study":
                circuit, inputs, weights = _study_family(int(n), int(layers))
                values = np.column_stack(
                    [
                        rng.uniform(0.0, 2.0, (n_draws, len(inputs))),
                        rng.uniform(0.0, 2 * math.pi, (n_draws, len(weights))),
                    ]
                )
                derivatives.append(_first_weight_derivatives(circuit, inputs, weights, values))
            else:
                n_instances = min(_N_INSTANCES, n_draws)
                for part in np.array_split(np.arange(n_draws), n_instances):
                    circuit, inputs, weights = _hardware_efficient(int(n), int(layers), rng)
                    values = rng.uniform(0.0, 2 * math.pi, (part.size, len(weights)))
                    derivatives.append(_first_weight_derivatives(circuit, inputs, weights, values))
            gradient = np.concatenate(derivatives)
            result.rows.append(
                {
                    "family": family,
                    "n_qubits": int(n),
                    "n_layers": int(layers),
                    "n_weights": len(weights),
                    "n_draws": int(n_draws),
                    "variance": float(np.var(gradient, ddof=1)),
                    "mean": float(np.mean(gradient)),
                }
            )
    return result


def circuit_depth_report(optimization_levels: int | Sequence[int] = (1, 3)) -> list[dict[str, Any]]:
    """The study circuit's depth: as the paper states it, as built, and transpiled.

    The study's circuit (ZZ feature map with 2 repetitions and RealAmplitudes with 1 on 4
    qubits) is built as in :class:`~qbloodcell.quantum.VQCClassifier` with
    ``STUDY_VQC_SETTINGS``, and transpiled to IBM's basis ``["rz", "sx", "x", "cx"]`` with
    all-to-all connectivity and ``seed_transpiler=0`` at each optimization level.

    Parameters
    ----------
    optimization_levels : int or sequence of int, default=(1, 3)
        Transpiler optimization levels (0 to 3) to report.

    Returns
    -------
    rows : list of dict
        One per stage (``"paper"``, ``"as built"``, ``"transpiled (optimization_level=k)"``),
        with ``depth``, ``cx`` (two-qubit CX gates; ``None`` for the paper) and ``gates``
        (all gate counts).

    Examples
    --------
    >>> from qbloodcell.quantum import circuit_depth_report
    >>> [(row["stage"], row["depth"]) for row in circuit_depth_report(1)]
    [('paper', 12), ('as built', 36), ('transpiled (optimization_level=1)', 46)]
    """
    check_arguments({"optimization_levels": optimization_levels}, _DEPTH_REPORT_SPECS)
    levels = (
        [int(optimization_levels)]
        if isinstance(optimization_levels, int | np.integer)
        else [int(level) for level in optimization_levels]
    )
    if max(levels) > 3:
        raise ValueError(f"optimization_levels must be integers from 0 to 3; got {max(levels)}.")
    from qiskit.transpiler import generate_preset_pass_manager

    from qbloodcell.quantum._circuits import HARDWARE_BASIS_GATES, HARDWARE_SEED_TRANSPILER

    circuit = _study_family(STUDY_N_QUBITS, STUDY_ANSATZ_REPS)[0]
    rows: list[dict[str, Any]] = [
        {"stage": "paper", "depth": PAPER_DEPTH, "cx": None, "gates": None},
        {
            "stage": "as built",
            "depth": int(circuit.depth()),
            "cx": int(circuit.count_ops().get("cx", 0)),
            "gates": {name: int(n) for name, n in circuit.count_ops().items()},
        },
    ]
    for level in levels:
        pass_manager = generate_preset_pass_manager(
            optimization_level=level,
            basis_gates=list(HARDWARE_BASIS_GATES),
            seed_transpiler=HARDWARE_SEED_TRANSPILER,
        )
        transpiled = pass_manager.run(circuit)
        counts = {name: int(n) for name, n in transpiled.count_ops().items()}
        rows.append(
            {
                "stage": f"transpiled (optimization_level={level})",
                "depth": int(transpiled.depth()),
                "cx": counts.get("cx", 0),
                "gates": counts,
            }
        )
    return rows
