"""Gradient-variance diagnostics and the depth report."""

from __future__ import annotations

import numpy as np
import pytest
from qiskit.quantum_info import SparsePauliOp, Statevector

from qbloodcell.quantum import (
    STUDY_VQC_SETTINGS,
    GradientVarianceResult,
    VQCClassifier,
    circuit_depth_report,
    gradient_variance,
)
from qbloodcell.quantum._diagnostics import (
    _first_weight_derivatives,
    _hardware_efficient,
    _study_family,
)


def _qiskit_z0(circuit, parameters, row):
    bound = circuit.assign_parameters(dict(zip(parameters, row, strict=True)))
    observable = SparsePauliOp("I" * (circuit.num_qubits - 1) + "Z")
    return Statevector(bound).expectation_value(observable).real


@pytest.mark.parametrize("family", ["hardware_efficient", "study"])
def test_first_weight_derivative_matches_qiskit_finite_differences(family):
    rng = np.random.default_rng(0)
    if family == "study":
        circuit, inputs, weights = _study_family(3, 2)
    else:
        circuit, inputs, weights = _hardware_efficient(3, 4, rng)
    parameters = (*inputs, *weights)
    values = rng.uniform(0, 2 * np.pi, (4, len(parameters)))
    derivatives = _first_weight_derivatives(circuit, inputs, weights, values)
    eps = 1e-6
    step = np.zeros(len(parameters))
    step[len(inputs)] = eps
    reference = [
        (_qiskit_z0(circuit, parameters, row + step) - _qiskit_z0(circuit, parameters, row - step))
        / (2 * eps)
        for row in values
    ]
    np.testing.assert_allclose(derivatives, reference, atol=1e-7)


def test_deep_random_circuits_have_vanishing_gradients():
    result = gradient_variance(
        "hardware_efficient", n_qubits=(2, 8), n_layers=40, n_draws=80, random_state=0
    )
    shallow, deep = result.rows
    assert deep["variance"] < shallow["variance"] / 4
    assert abs(deep["mean"]) < 4 * np.sqrt(deep["variance"] / deep["n_draws"]) + 1e-3


def test_table_frame_and_plot():
    result = gradient_variance(
        "study", n_qubits=(2, 4), n_layers=(1, 2), n_draws=10, random_state=1
    )
    assert isinstance(result, GradientVarianceResult)
    assert [(r["n_qubits"], r["n_layers"]) for r in result.rows] == [(2, 1), (2, 2), (4, 1), (4, 2)]
    assert [r["n_weights"] for r in result.rows] == [4, 6, 8, 12]
    assert all(r["variance"] > 0 for r in result.rows)
    combined = result + gradient_variance("hardware_efficient", 2, 1, n_draws=4, random_state=0)
    frame = combined.to_frame()
    assert list(frame.columns)[:3] == ["family", "n_qubits", "n_layers"]
    assert len(frame) == 5
    import matplotlib

    matplotlib.use("Agg")
    ax = combined.plot()
    assert ax.get_yscale() == "log"
    labels = ax.get_legend_handles_labels()[1]
    assert "the study's circuit" in labels


def test_same_seed_same_table():
    first = gradient_variance("hardware_efficient", 3, 3, n_draws=12, random_state=5)
    second = gradient_variance("hardware_efficient", 3, 3, n_draws=12, random_state=5)
    assert first.rows == second.rows


def test_too_many_qubits_is_a_value_error():
    with pytest.raises(ValueError, match=r"^n_qubits must be at most 12"):
        gradient_variance(n_qubits=13)


def test_depth_report_agrees_with_the_fitted_study_circuit():
    rows = circuit_depth_report((0, 1, 3))
    assert rows[0] == {"stage": "paper", "depth": 12, "cx": None, "gates": None}
    X = np.random.default_rng(0).uniform(0, 2, (20, 4))
    study = VQCClassifier(**{**STUDY_VQC_SETTINGS, "max_iter": 10}).fit(X, np.arange(20) % 2)
    built = rows[1]
    assert built["stage"] == "as built"
    assert built["depth"] == study.circuit_.depth()
    level_one = rows[3]
    assert level_one["stage"] == "transpiled (optimization_level=1)"
    assert level_one["depth"] == study.circuit_depth_
    assert level_one["cx"] == study.circuit_gate_counts_["cx"]
    assert all(row["depth"] > 12 for row in rows[1:])
    with pytest.raises(ValueError, match=r"^optimization_levels must be"):
        circuit_depth_report(4)
