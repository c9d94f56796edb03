"""The optimizers behind ``optimizer=``: Adam against torch, budgets, SPSA, classifier use."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import make_classification

from qbloodcell.quantum import DataReuploadingClassifier, VQCClassifier
from qbloodcell.quantum._optimizers import OPTIMIZERS, minimize_weights


def _quadratic(center):
    def loss(w):
        return float(np.sum((w - center) ** 2 * np.arange(1, w.size + 1)))

    def loss_and_gradient(w):
        return loss(w), 2 * (w - center) * np.arange(1, w.size + 1)

    return loss, loss_and_gradient


def test_adam_follows_torch_adam_step_by_step():
    torch = pytest.importorskip("torch")
    center = np.array([0.5, -1.0, 2.0])
    start = np.array([2.0, 1.0, -1.0])
    ours = []
    loss, loss_and_gradient = _quadratic(center)

    def recorded(w):
        ours.append(w.copy())
        return loss_and_gradient(w)

    minimize_weights(
        loss,
        start,
        method="adam",
        max_iter=25,
        tol=None,
        loss_and_gradient=recorded,
        learning_rate=0.05,
    )
    weights = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    reference = torch.optim.Adam([weights], lr=0.05, betas=(0.9, 0.999), eps=1e-8)
    scale = torch.arange(1, 4, dtype=torch.float64)
    for step in range(25):
        np.testing.assert_allclose(ours[step], weights.detach().numpy(), rtol=1e-10, atol=1e-12)
        reference.zero_grad()
        torch.sum((weights - torch.as_tensor(center)) ** 2 * scale).backward()
        reference.step()


@pytest.mark.parametrize("method", ["adam", "l-bfgs-b", "spsa"])
def test_budget_is_respected_and_the_best_point_returned(method):
    center = np.array([0.3, -0.2, 0.1, 0.4])
    loss, loss_and_gradient = _quadratic(center)
    calls = []

    def counted_loss(w):
        calls.append(loss(w))
        return calls[-1]

    def counted_gradient(w):
        calls.append(loss(w))
        return loss_and_gradient(w)

    best = minimize_weights(
        counted_loss,
        np.zeros(4),
        method=method,
        max_iter=40,
        tol=None,
        loss_and_gradient=counted_gradient,
        learning_rate=0.1,
        random_state=np.random.default_rng(0),
    )
    assert 0 < len(calls) <= 40
    assert loss(best) == pytest.approx(min(calls))
    assert loss(best) < 0.5 * loss(np.zeros(4))


def test_lbfgsb_converges_on_a_quadratic():
    center = np.array([0.3, -0.2, 0.1, 0.4])
    loss, loss_and_gradient = _quadratic(center)
    best = minimize_weights(
        loss,
        np.zeros(4),
        method="l-bfgs-b",
        max_iter=100,
        tol=1e-12,
        loss_and_gradient=loss_and_gradient,
    )
    np.testing.assert_allclose(best, center, atol=1e-6)


def test_spsa_decreases_a_noisy_loss():
    rng = np.random.default_rng(1)
    center = np.full(6, 0.5)
    loss, _ = _quadratic(center)

    def noisy(w):
        return loss(w) + rng.normal(scale=0.01)

    best = minimize_weights(
        noisy,
        np.zeros(6),
        method="spsa",
        max_iter=400,
        tol=None,
        learning_rate=0.05,
        random_state=np.random.default_rng(2),
    )
    assert loss(best) < 0.1 * loss(np.zeros(6))


def test_every_optimizer_is_accepted():
    assert {"adam", "l-bfgs-b", "spsa", "nlopt-COBYLA"} <= set(OPTIMIZERS)


@pytest.fixture(scope="module")
def data():
    return make_classification(n_samples=120, n_features=4, n_redundant=0, random_state=0)


def _loss_at(classifier, X, y, kind):
    z = classifier.decision_function(X)
    target = np.where(y == classifier.classes_[1], 1.0, -1.0)
    if kind == "mse":
        return np.mean((z - target) ** 2)
    p = np.clip((1 + z) / 2, 1e-7, 1 - 1e-7)
    return -np.mean(np.where(target > 0, np.log(p), np.log(1 - p)))


@pytest.mark.parametrize("optimizer", ["adam", "l-bfgs-b", "spsa"])
@pytest.mark.parametrize("loss", ["mse", "cross_entropy"])
def test_vqc_trains_with_each_optimizer_and_loss(data, optimizer, loss):
    X, y = data
    clf = VQCClassifier(optimizer=optimizer, loss=loss, max_iter=40, random_state=0).fit(X, y)
    assert clf.n_iter_ <= 40
    # the loss curve is the chosen loss, and weights_ is its best point
    assert _loss_at(clf, X, y, loss) == pytest.approx(min(clf.loss_curve_), rel=1e-9)
    assert min(clf.loss_curve_) < clf.loss_curve_[0]
    if optimizer != "spsa":
        assert clf.score(X, y) > 0.8


def test_gradient_training_of_the_reuploading_classifier():
    from sklearn.datasets import make_moons

    X, y = make_moons(n_samples=100, noise=0.1, random_state=0)
    clf = DataReuploadingClassifier(
        n_layers=2, optimizer="l-bfgs-b", loss="cross_entropy", max_iter=30, random_state=0
    ).fit(X, y)
    assert min(clf.loss_curve_) < 0.5 * clf.loss_curve_[0]
    assert clf.score(X, y) > 0.8


def test_multiclass_with_adam():
    X, y = make_classification(
        n_samples=90, n_features=4, n_informative=3, n_redundant=0, n_classes=3, random_state=1
    )
    clf = VQCClassifier(optimizer="adam", max_iter=10, random_state=0).fit(X, y)
    assert clf.weights_.shape[0] == 3
    assert list(clf.n_iter_) == [10, 10, 10]


@pytest.mark.parametrize("optimizer", ["adam", "l-bfgs-b"])
def test_gradient_optimizers_refuse_the_estimator_route(data, optimizer):
    X, y = data
    with pytest.raises(ValueError, match="optimizer='spsa'"):
        VQCClassifier(optimizer=optimizer, shots=100, max_iter=5).fit(X, y)


def test_spsa_runs_with_shots(data):
    X, y = data
    clf = VQCClassifier(
        ansatz="real_amplitudes",
        ansatz_reps=1,
        optimizer="spsa",
        shots=256,
        max_iter=6,
        random_state=0,
    ).fit(X[:30], y[:30])
    assert clf.n_iter_ == 6


def test_custom_ansatz_without_shift_rule_is_a_value_error_with_gradients(data):
    from qiskit.circuit import ParameterVector, QuantumCircuit

    X, y = data
    t = ParameterVector("t", 2)
    ansatz = QuantumCircuit(4)
    ansatz.r(t[0], t[1], 0)
    with pytest.raises(ValueError, match="no parameter-shift rule"):
        VQCClassifier(ansatz=ansatz, optimizer="adam", max_iter=3).fit(X, y)
    # gradient-free optimizers still train it
    VQCClassifier(ansatz=ansatz, optimizer="spsa", max_iter=4).fit(X, y)
