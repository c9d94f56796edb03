"""VQCClassifier in exact mode: learning, fitted attributes, validation, scikit-learn API."""

from __future__ import annotations

import pickle
import subprocess
import sys

import numpy as np
import pytest
from qiskit.circuit import ParameterVector, QuantumCircuit
from qiskit.circuit.library import real_amplitudes, zz_feature_map
from qiskit.quantum_info import SparsePauliOp, Statevector
from qiskit.transpiler import generate_preset_pass_manager
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.decomposition import PCA
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from qbloodcell.quantum import STUDY_VQC_SETTINGS, VQCClassifier

# The study's model (its circuit, its [0, 2] angles taken as given, SciPy's COBYLA). These
# tests check the simulation and API machinery on it; the defaults are tested in
# test_vqc_defaults.py.
STUDY = STUDY_VQC_SETTINGS


def study_vqc(**params):
    return VQCClassifier(**{**STUDY, **params})


def _exact_z(classifier, X, weights=None):
    """<Z on qubit 0> from Qiskit's Statevector on the bound circuit_."""
    weights = classifier.weights_ if weights is None else weights
    observable = SparsePauliOp("I" * (classifier.circuit_.num_qubits - 1) + "Z")
    values = []
    for row in X:
        binding = dict(zip(classifier.feature_parameters_, row, strict=True))
        binding |= dict(zip(classifier.weight_parameters_, weights, strict=True))
        state = Statevector(classifier.circuit_.assign_parameters(binding))
        values.append(state.expectation_value(observable).real)
    return np.array(values)


@pytest.fixture(scope="module")
def teacher_data():
    """Labels produced by the model class itself, so a correct fit must learn them."""
    rng = np.random.default_rng(1)
    X = rng.uniform(0, 2, size=(160, 4))
    teacher = study_vqc(max_iter=10, random_state=0).fit(X, rng.integers(0, 2, 160))
    z = _exact_z(teacher, X, weights=rng.uniform(-np.pi, np.pi, 8))
    y = np.where(z > 0, "AML", "healthy")
    return X, y


@pytest.fixture(scope="module")
def fitted(teacher_data):
    X, y = teacher_data
    return study_vqc(random_state=3).fit(X, y)


def test_learns_a_circuit_teacher(teacher_data, fitted):
    X, y = teacher_data
    assert fitted.score(X, y) >= 0.9
    assert min(fitted.loss_curve_) < 0.85 * fitted.loss_curve_[0]


def test_fitted_attributes(fitted):
    assert list(fitted.classes_) == ["AML", "healthy"]
    assert fitted.n_features_in_ == 4
    assert fitted.weights_.shape == (8,)
    assert isinstance(fitted.n_iter_, int)
    assert 10 <= fitted.n_iter_ <= 200
    assert len(fitted.loss_curve_) == fitted.n_iter_
    assert fitted.circuit_.num_qubits == 4
    assert fitted.circuit_.num_parameters == 12
    assert len(fitted.feature_parameters_) == 4
    assert [p.name for p in fitted.weight_parameters_] == [f"θ[{i}]" for i in range(8)]
    # depth and gate counts are those of Qiskit's transpiler with the documented settings
    pass_manager = generate_preset_pass_manager(
        optimization_level=1, basis_gates=["rz", "sx", "x", "cx"], seed_transpiler=0
    )
    reference = pass_manager.run(fitted.circuit_)
    assert fitted.circuit_depth_ == reference.depth()
    assert fitted.circuit_gate_counts_ == dict(reference.count_ops())
    assert fitted.circuit_gate_counts_["cx"] == 27


def test_weights_are_the_best_point_seen(teacher_data, fitted):
    X, y = teacher_data
    target = np.where(y == fitted.classes_[1], 1.0, -1.0)
    mse = np.mean((fitted.decision_function(X) - target) ** 2)
    assert mse == pytest.approx(min(fitted.loss_curve_), rel=1e-10)


def test_decision_function_is_z0_of_qiskit_statevector(teacher_data, fitted):
    X, _ = teacher_data
    np.testing.assert_allclose(fitted.decision_function(X[:8]), _exact_z(fitted, X[:8]), atol=1e-10)


def test_loss_curve_starts_at_the_initial_point(teacher_data):
    X, y = teacher_data
    start = np.linspace(-1, 1, 8)
    classifier = study_vqc(max_iter=12, initial_point=start).fit(X, y)
    target = np.where(y == classifier.classes_[1], 1.0, -1.0)
    expected = np.mean((_exact_z(classifier, X, weights=start) - target) ** 2)
    assert classifier.loss_curve_[0] == pytest.approx(expected, rel=1e-10)


def test_predict_and_proba_follow_the_sign(teacher_data, fitted):
    X, _ = teacher_data
    z = fitted.decision_function(X)
    np.testing.assert_array_equal(fitted.predict(X), fitted.classes_[(z > 0).astype(int)])
    proba = fitted.predict_proba(X)
    np.testing.assert_allclose(proba[:, 1], (1 + z) / 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def test_same_seed_same_result_different_seed_different_start(teacher_data):
    X, y = teacher_data
    a = study_vqc(max_iter=20, random_state=5).fit(X, y)
    b = study_vqc(max_iter=20, random_state=5).fit(X, y)
    c = study_vqc(max_iter=20, random_state=6).fit(X, y)
    np.testing.assert_array_equal(a.weights_, b.weights_)
    assert a.loss_curve_ == b.loss_curve_
    assert a.loss_curve_[0] != c.loss_curve_[0]


def test_callback_and_verbose(teacher_data, capsys):
    X, y = teacher_data
    seen = []
    classifier = study_vqc(
        max_iter=20, random_state=0, verbose=1, callback=lambda w, loss: seen.append((w, loss))
    ).fit(X, y)
    assert [loss for _, loss in seen] == classifier.loss_curve_
    assert all(w.shape == (8,) for w, _ in seen)
    out = capsys.readouterr().out
    assert "evaluation 10: loss" in out
    assert "evaluation 20: loss" in out


def test_multiclass_one_vs_rest():
    X, y = make_classification(
        n_samples=90,
        n_features=3,
        n_informative=3,
        n_redundant=0,
        n_classes=3,
        n_clusters_per_class=1,
        random_state=0,
    )
    X = MinMaxScaler((0, 2)).fit_transform(X)
    classifier = study_vqc(max_iter=60, ansatz_reps=2, random_state=0).fit(X, y)
    assert classifier.weights_.shape == (3, 9)
    assert classifier.n_iter_.shape == (3,)
    assert len(classifier.loss_curve_) == 3
    scores = classifier.decision_function(X)
    assert scores.shape == (90, 3)
    np.testing.assert_array_equal(classifier.predict(X), np.argmax(scores, axis=1))
    proba = classifier.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(np.argmax(proba, axis=1), np.argmax(scores, axis=1))
    # each sub-model is the binary model of its class against the rest
    for k in range(3):
        binary = study_vqc(
            max_iter=60,
            ansatz_reps=2,
            initial_point=classifier._initial_points(np.random.RandomState(0), 3, 9)[k],
        ).fit(X, y == k)
        np.testing.assert_allclose(binary.weights_, classifier.weights_[k])
    assert classifier.score(X, y) > 0.5


def test_custom_feature_map_and_ansatz():
    x = ParameterVector("x", 3)
    feature_map = QuantumCircuit(3)
    for q in range(3):
        feature_map.h(q)
        feature_map.rz(x[q] * 2, q)
    feature_map.rzz(x[0] * x[2], 0, 2)
    ansatz = real_amplitudes(3, reps=2, entanglement="circular", parameter_prefix="w")
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 2, size=(40, 3))
    y = (X[:, 0] > X[:, 2]).astype(int)
    classifier = study_vqc(feature_map=feature_map, ansatz=ansatz, max_iter=30, random_state=0)
    classifier.fit(X, y)
    assert classifier.weights_.shape == (9,)
    np.testing.assert_allclose(
        classifier.decision_function(X[:5]), _exact_z(classifier, X[:5]), atol=1e-10
    )
    # the user's circuits are not modified
    assert feature_map.num_parameters == 3
    assert ansatz.num_parameters == 9


def test_default_circuit_other_qubit_counts():
    rng = np.random.default_rng(2)
    for n_features in (2, 3, 6):
        X = rng.uniform(0, 2, size=(30, n_features))
        y = rng.integers(0, 2, 30)
        classifier = study_vqc(max_iter=2 * n_features + 2, random_state=0).fit(X, y)
        assert classifier.circuit_.num_qubits == n_features
        np.testing.assert_allclose(
            classifier.decision_function(X[:3]), _exact_z(classifier, X[:3]), atol=1e-10
        )


def test_study_pipeline_with_pca():
    X, y = make_classification(n_samples=120, n_features=20, random_state=0)
    pipeline = make_pipeline(
        StandardScaler(),
        PCA(n_components=4),
        MinMaxScaler((0, 2)),
        study_vqc(max_iter=30, random_state=0),
    )
    pipeline.fit(X, y)
    assert pipeline.predict(X).shape == (120,)


@pytest.mark.parametrize(
    ("params", "error", "match"),
    [
        ({"entanglement": "all"}, ValueError, "entanglement must be one of"),
        ({"optimizer": "Adam"}, ValueError, "optimizer must be one of"),
        ({"max_iter": 0}, ValueError, "max_iter must be an integer >= 1"),
        ({"max_iter": 5}, ValueError, "at least n_weights \\+ 2 = 10"),
        ({"feature_map_reps": 0}, ValueError, "feature_map_reps"),
        ({"ansatz_reps": 1.5}, TypeError, "ansatz_reps"),
        ({"shots": 0}, ValueError, "shots must be None or an integer >= 1"),
        ({"tol": -1.0}, ValueError, "tol must be None or a finite real number > 0"),
        ({"verbose": -1}, ValueError, "verbose"),
        ({"callback": 3}, TypeError, "callback must be None or a callable"),
        ({"noise_model": "depolarizing"}, TypeError, "NoiseModel"),
        ({"estimator": object()}, TypeError, "EstimatorV2"),
        ({"initial_point": np.zeros(7)}, ValueError, r"initial_point must have shape \(8,\)"),
        ({"initial_point": np.full(8, np.nan)}, ValueError, "NaN"),
        ({"feature_map": "zz"}, TypeError, "feature_map must be None or a"),
        ({"ansatz": 1}, TypeError, "ansatz must be None, one of"),
    ],
)
def test_invalid_parameters(params, error, match):
    X = np.random.default_rng(0).uniform(0, 2, size=(20, 4))
    y = np.arange(20) % 2
    with pytest.raises(error, match=match):
        study_vqc(**params).fit(X, y)


def test_invalid_data_and_circuits():
    rng = np.random.default_rng(0)
    y = np.arange(20) % 2
    with pytest.raises(ValueError, match=r"at most 12.*PCA"):
        study_vqc().fit(rng.uniform(size=(20, 13)), y)
    with pytest.raises(ValueError, match=r"1 feature\(s\)"):
        study_vqc().fit(rng.uniform(size=(20, 1)), y)
    with pytest.raises(ValueError, match="1 class"):
        study_vqc().fit(rng.uniform(size=(20, 4)), np.zeros(20))
    with pytest.raises(ValueError, match="NaN"):
        study_vqc().fit(np.full((20, 4), np.nan), y)
    feature_map = zz_feature_map(4)
    with pytest.raises(ValueError, match=r"4 parameter\(s\) but X has 6.*PCA\(n_components=4\)"):
        study_vqc(feature_map=feature_map).fit(rng.uniform(size=(20, 6)), y)
    with pytest.raises(ValueError, match="ansatz acts on 3 qubit"):
        study_vqc(ansatz=real_amplitudes(3)).fit(rng.uniform(size=(20, 4)), y)
    shared = QuantumCircuit(4)
    shared.ry(feature_map.parameters[0], 0)
    with pytest.raises(ValueError, match="share the parameter"):
        study_vqc(feature_map=feature_map, ansatz=shared).fit(rng.uniform(size=(20, 4)), y)
    with pytest.raises(ValueError, match="no parameters"):
        study_vqc(ansatz=QuantumCircuit(4)).fit(rng.uniform(size=(20, 4)), y)
    measured = zz_feature_map(4)
    measured.measure_all()
    with pytest.raises(ValueError, match="non-unitary instruction 'measure'"):
        study_vqc(feature_map=measured).fit(rng.uniform(size=(20, 4)), y)
    fitted = study_vqc(max_iter=10).fit(rng.uniform(size=(20, 4)), y)
    with pytest.raises(ValueError, match="5 features, but VQCClassifier is expecting 4"):
        fitted.predict(rng.uniform(size=(3, 5)))


def test_other_optimizers(teacher_data):
    X, y = teacher_data
    for optimizer in ("COBYQA", "Nelder-Mead", "Powell"):
        classifier = study_vqc(optimizer=optimizer, max_iter=30, random_state=0).fit(X, y)
        assert classifier.n_iter_ <= 31
        assert min(classifier.loss_curve_) < classifier.loss_curve_[0]


def test_nlopt_cobyla_learns_the_teacher_like_scipy_cobyla(teacher_data, fitted):
    pytest.importorskip("nlopt")
    X, y = teacher_data
    classifier = study_vqc(optimizer="nlopt-COBYLA", random_state=3).fit(X, y)
    assert classifier.score(X, y) >= 0.9
    assert 8 <= classifier.n_iter_ <= 200
    # the same algorithm from the same start: a loss as low as SciPy's, up to its tolerance
    assert min(classifier.loss_curve_) <= min(fitted.loss_curve_) + 0.02
    # the returned weights are the best point evaluated
    np.testing.assert_allclose(
        np.mean((classifier.decision_function(X) - np.where(y == "healthy", 1, -1)) ** 2),
        min(classifier.loss_curve_),
        rtol=1e-9,
    )


def test_nlopt_cobyla_errors(teacher_data, monkeypatch):
    X, y = teacher_data
    with pytest.raises(ValueError, match="max_iter must be at least"):
        study_vqc(optimizer="nlopt-COBYLA", max_iter=5).fit(X, y)
    monkeypatch.setitem(sys.modules, "nlopt", None)
    with pytest.raises(ImportError, match="pip install nlopt"):
        study_vqc(optimizer="nlopt-COBYLA", max_iter=20).fit(X, y)


def test_init_stores_parameters_only_and_clone(teacher_data):
    classifier = study_vqc(ansatz_reps=2, max_iter=12)
    assert set(vars(classifier)) == set(classifier.get_params())
    copy = clone(classifier)
    assert copy.get_params() == classifier.get_params()
    copy.set_params(max_iter=30)
    assert classifier.max_iter == 12


def test_grid_search(teacher_data):
    X, y = teacher_data
    search = GridSearchCV(study_vqc(max_iter=15, random_state=0), {"ansatz_reps": [1, 2]}, cv=2)
    search.fit(X[:60], y[:60])
    assert search.best_params_["ansatz_reps"] in (1, 2)


def test_pickle_round_trip(teacher_data, fitted):
    X, _ = teacher_data
    loaded = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(loaded.decision_function(X), fitted.decision_function(X))
    assert loaded.circuit_depth_ == fitted.circuit_depth_


def test_pickle_with_two_qubit_rotations_and_a_lambda_callback():
    x = ParameterVector("x", 2)
    feature_map = QuantumCircuit(2)
    feature_map.h([0, 1])
    feature_map.rz(x[0], 0)
    feature_map.rz(x[1], 1)
    feature_map.rzz(x[0] * x[1], 0, 1)
    feature_map.cp(x[0], 0, 1)
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 2, size=(30, 2))
    y = (X[:, 0] > X[:, 1]).astype(int)
    fitted = study_vqc(
        feature_map=feature_map, max_iter=20, random_state=0, callback=lambda w, loss: None
    ).fit(X, y)
    with pytest.warns(UserWarning, match="callback of type function cannot be pickled"):
        payload = pickle.dumps(fitted)
    loaded = pickle.loads(payload)
    assert loaded.callback is None
    np.testing.assert_array_equal(loaded.decision_function(X), fitted.decision_function(X))
    np.testing.assert_allclose(loaded.decision_function(X), _exact_z(fitted, X), atol=1e-10)


def test_composite_gates_are_decomposed():
    x = ParameterVector("x", 2)
    bell = QuantumCircuit(2)
    bell.h(0)
    bell.cx(0, 1)
    feature_map = QuantumCircuit(2)
    feature_map.append(bell.to_gate(label="bell"), [0, 1])
    feature_map.rz(x[0], 0)
    feature_map.rz(x[1], 1)
    feature_map.h([0, 1])
    rng = np.random.default_rng(1)
    X = rng.uniform(0, 2, size=(30, 2))
    y = (X[:, 0] > X[:, 1]).astype(int)
    fitted = study_vqc(feature_map=feature_map, max_iter=20, random_state=0).fit(X, y)
    np.testing.assert_allclose(fitted.decision_function(X), _exact_z(fitted, X), atol=1e-10)


def test_import_does_not_pull_in_qiskit():
    code = (
        "import sys, qbloodcell; assert 'qiskit' not in sys.modules; "
        "qbloodcell.VQCClassifier(); assert 'qiskit' in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
