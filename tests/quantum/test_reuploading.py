"""DataReuploadingClassifier: its circuit, exact outputs, learning and the Estimator route."""

from __future__ import annotations

import numpy as np
import pytest
from qiskit.primitives import StatevectorEstimator
from qiskit.quantum_info import SparsePauliOp, Statevector
from sklearn.datasets import make_moons

from qbloodcell.quantum import DataReuploadingClassifier
from qbloodcell.quantum._reuploading import build_reuploading_circuit


@pytest.fixture(scope="module")
def moons():
    return make_moons(n_samples=120, noise=0.1, random_state=0)


@pytest.fixture(scope="module")
def fitted(moons):
    X, y = moons
    return DataReuploadingClassifier(n_layers=3, random_state=0).fit(X, y)


@pytest.mark.parametrize(
    ("entanglement", "n_cz"), [("linear", 2 * 2), ("circular", 2 * 3), ("none", 0)]
)
def test_circuit_layout(entanglement, n_cz):
    circuits = build_reuploading_circuit(3, 3, entanglement)
    counts = circuits.circuit.count_ops()
    assert counts["ry"] == counts["rz"] == 3 * 3
    assert counts.get("cz", 0) == n_cz
    assert len(circuits.feature_parameters) == 3
    assert len(circuits.weight_parameters) == 4 * 3 * 3
    # every feature is uploaded in every layer
    for x in circuits.feature_parameters:
        uses = sum(
            x in instruction.operation.params[0].parameters
            for instruction in circuits.circuit.data
            if instruction.operation.params
        )
        assert uses == 2 * 3


def test_outputs_are_z0_of_qiskit_statevector(moons, fitted):
    X, _ = moons
    angles = fitted.input_scaling_.transform(X[:5])
    observable = SparsePauliOp("IZ")
    expected = []
    for row in angles:
        binding = dict(zip(fitted.feature_parameters_, row, strict=True))
        binding |= dict(zip(fitted.weight_parameters_, fitted.weights_, strict=True))
        state = Statevector(fitted.circuit_.assign_parameters(binding))
        expected.append(state.expectation_value(observable).real)
    np.testing.assert_allclose(fitted.decision_function(X[:5]), expected, atol=1e-10)


def test_learns_a_non_linear_boundary(moons, fitted):
    X, y = moons
    assert fitted.score(X, y) >= 0.85
    assert min(fitted.loss_curve_) < 0.6 * fitted.loss_curve_[0]
    assert fitted.weights_.shape == (4 * 3 * 2,)
    assert fitted.n_iter_ == len(fitted.loss_curve_) <= 300


def test_more_layers_fit_better_than_one(moons):
    X, y = moons
    one = DataReuploadingClassifier(n_layers=1, random_state=0).fit(X, y)
    three = DataReuploadingClassifier(n_layers=3, random_state=0).fit(X, y)
    assert min(three.loss_curve_) < min(one.loss_curve_)


def test_estimator_route_matches_the_exact_simulator(moons, fitted):
    X, _ = moons
    on_estimator = DataReuploadingClassifier(n_layers=3, estimator=StatevectorEstimator())
    on_estimator.set_params(initial_point=fitted.weights_, max_iter=26, random_state=0)
    on_estimator.fit(X, moons[1])
    exact = DataReuploadingClassifier(n_layers=3, initial_point=fitted.weights_, max_iter=26)
    exact.fit(X, moons[1])
    np.testing.assert_allclose(on_estimator.loss_curve_, exact.loss_curve_, atol=1e-9)
    np.testing.assert_allclose(
        on_estimator.decision_function(X[:10]), exact.decision_function(X[:10]), atol=1e-9
    )


def test_too_many_features_are_rejected():
    X = np.random.default_rng(0).normal(size=(10, 13))
    with pytest.raises(ValueError, match="at most 12"):
        DataReuploadingClassifier().fit(X, np.repeat([0, 1], 5))
