"""Tests of CNNClassifier, following skorch: each network is trained once per module.

scikit-learn's ``parametrize_with_checks`` is not run over CNNClassifier: its checks feed
2-D tabular ``X`` of shape (n_samples, n_features) with arbitrary real values, which is
not a batch of images (CNNClassifier declares ``two_d_array=False`` in its tags, and
scikit-learn then skips every check with a SkipTestWarning). The checks that need no data
run in ``tests/test_common.py``; fitting, cloning, pickling, grid search, determinism and
input errors are tested here on images.
"""

from __future__ import annotations

import pickle
import subprocess
import sys
import warnings

import joblib
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.model_selection import GridSearchCV
from sklearn.utils import get_tags

from qbloodcell.baselines import CNNClassifier

torch = pytest.importorskip("torch")

# small networks on 32 x 32 images keep the whole module to seconds
SMALL = {"image_size": 32, "hidden_channels": (8, 16), "batch_size": 16}


@pytest.fixture(scope="module")
def fitted(cells):
    X_train, y_train, _, _ = cells
    cnn = CNNClassifier(**SMALL, max_iter=60, n_iter_no_change=6, random_state=0)
    return cnn.fit(X_train, y_train)


@pytest.fixture(scope="module")
def fitted_three(three_cell_types):
    X_train, y_train, _, _ = three_cell_types
    cnn = CNNClassifier(**SMALL, max_iter=60, n_iter_no_change=6, random_state=0)
    return cnn.fit(X_train, y_train)


def short(**params):
    """A few epochs without early stopping: for tests of mechanics, not of accuracy."""
    return CNNClassifier(**{**SMALL, "max_iter": 3, "early_stopping": False, **params})


# ---------------------------------------------------------------- optional torch
def test_import_does_not_import_torch():
    code = "import sys, qbloodcell.baselines; print('torch' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


class _BlockTorch:
    """A meta-path finder under which ``import torch`` fails, as on a machine without it."""

    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ModuleNotFoundError(f"No module named {name!r}")
        return None


def test_missing_torch_raises_install_hint(monkeypatch, cells):
    X_train, y_train, _, _ = cells
    monkeypatch.delitem(sys.modules, "torch")
    monkeypatch.setattr(sys, "meta_path", [_BlockTorch(), *sys.meta_path])
    cnn = CNNClassifier()
    with pytest.raises(ImportError, match=r"pip install 'qbloodcell\[torch\]'"):
        cnn.fit(X_train, y_train)


def test_missing_torch_in_fresh_interpreter():
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'torch':\n"
        "            raise ModuleNotFoundError(name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "import numpy as np, qbloodcell\n"
        "from qbloodcell.baselines import CNNClassifier\n"
        "try:\n"
        "    CNNClassifier().fit(np.zeros((4, 16, 16), np.uint8), [0, 1, 0, 1])\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert "pip install 'qbloodcell[torch]'" in result.stdout


# ---------------------------------------------------------------- fitted model
def test_fitted_attributes(fitted, cells):
    _X_train, _y_train, _, _ = cells
    np.testing.assert_array_equal(fitted.classes_, [0, 1])
    assert 1 <= fitted.n_iter_ <= 60
    assert len(fitted.loss_curve_) == fitted.n_iter_
    assert len(fitted.validation_scores_) == fitted.n_iter_
    assert len(fitted.validation_loss_curve_) == fitted.n_iter_
    assert fitted.best_validation_score_ == max(fitted.validation_scores_)
    assert fitted.loss_curve_[-1] < fitted.loss_curve_[0]
    assert fitted.channel_mean_.shape == fitted.channel_std_.shape == (3,)
    assert fitted.fit_time_ > 0
    # images of any size are resized, so there is no feature count to remember
    assert not hasattr(fitted, "n_features_in_")
    assert isinstance(fitted.module_, torch.nn.Module)


def test_early_stopping_stops_before_max_iter(fitted):
    scores = fitted.validation_scores_
    best_epoch = int(np.argmax(scores))
    assert fitted.n_iter_ < 60
    # stopped exactly n_iter_no_change epochs after the last rise of the accuracy
    assert fitted.n_iter_ - 1 - best_epoch == 6


def test_accuracy_on_held_out_images(fitted, cells):
    _, _, X_test, y_test = cells
    assert fitted.score(X_test, y_test) >= 0.9


def test_predict_proba(fitted, cells):
    _, _, X_test, _ = cells
    probabilities = fitted.predict_proba(X_test)
    assert probabilities.shape == (len(X_test), 2)
    assert probabilities.dtype == np.float64
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(
        fitted.predict(X_test), fitted.classes_[probabilities.argmax(axis=1)]
    )


def test_multiclass_string_labels(fitted_three, three_cell_types):
    _, y_train, X_test, y_test = three_cell_types
    np.testing.assert_array_equal(fitted_three.classes_, np.unique(y_train))
    assert fitted_three.predict_proba(X_test).shape == (len(X_test), 3)
    predictions = fitted_three.predict(X_test)
    assert predictions.dtype == y_train.dtype
    assert set(predictions) <= set(y_train)
    assert fitted_three.score(X_test, y_test) >= 0.8  # chance is 1/3


def test_accepts_the_inputs_of_check_images(fitted, cells):
    _, _, X_test, _ = cells
    expected = fitted.predict_proba(X_test[:3])
    as_float = fitted.predict_proba(X_test[:3].astype(np.float64) / 255.0)
    np.testing.assert_allclose(as_float, expected, atol=1e-6)
    # a list of images of different sizes is resized to image_size
    mixed = [X_test[0], np.kron(X_test[1], np.ones((2, 2, 1), np.uint8)), X_test[2][..., 0]]
    assert fitted.predict_proba(mixed).shape == (3, 2)


def test_tags():
    tags = get_tags(CNNClassifier())
    assert tags.estimator_type == "classifier"
    assert not tags.input_tags.two_d_array
    assert tags.input_tags.three_d_array


# ---------------------------------------------------------------- sklearn API
def test_clone_is_unfitted(fitted, cells):
    copy = clone(fitted)
    assert copy.get_params() == fitted.get_params()
    assert not hasattr(copy, "module_")
    with pytest.raises(NotFittedError):
        copy.predict(cells[2])


def test_pickle_round_trip(fitted, cells):
    _, _, X_test, _ = cells
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(restored.predict_proba(X_test), fitted.predict_proba(X_test))
    assert restored.n_iter_ == fitted.n_iter_
    assert restored.loss_curve_ == fitted.loss_curve_


def test_pickle_holds_no_tensors(fitted):
    """Weights are pickled as NumPy arrays, so a pickle never refers to a CUDA device."""

    def tensors(value):
        if isinstance(value, torch.Tensor):
            yield value
        elif isinstance(value, dict):
            for item in value.values():
                yield from tensors(item)
        elif isinstance(value, list | tuple):
            for item in value:
                yield from tensors(item)

    state = fitted.__getstate__()
    assert not list(tensors(state))
    assert not any(isinstance(v, torch.nn.Module | torch.optim.Optimizer) for v in state.values())
    assert isinstance(state["module_"]["0.weight"], np.ndarray)


def test_warm_start_after_unpickling_continues(cells):
    X_train, y_train, _, _ = cells
    cnn = short(random_state=0).fit(X_train, y_train)
    restored = pickle.loads(pickle.dumps(cnn))
    restored.set_params(warm_start=True, max_iter=1)
    cnn.set_params(warm_start=True, max_iter=1)
    # the optimizer state travels with the pickle: both continue identically
    np.testing.assert_array_equal(
        restored.fit(X_train, y_train).predict_proba(X_train[:10]),
        cnn.fit(X_train, y_train).predict_proba(X_train[:10]),
    )


def test_grid_search(cells):
    X_train, y_train, _, _ = cells
    search = GridSearchCV(short(random_state=0, max_iter=2), {"learning_rate": [1e-3, 1e-2]}, cv=2)
    search.fit(X_train, y_train)
    assert search.best_params_["learning_rate"] in (1e-3, 1e-2)
    assert search.predict(X_train[:5]).shape == (5,)
    assert search.best_estimator_.n_iter_ == 2


# ---------------------------------------------------------------- reproducibility
def test_same_seed_gives_identical_fits(cells):
    X_train, y_train, X_test, _ = cells
    first = CNNClassifier(**SMALL, max_iter=3, n_iter_no_change=2, random_state=7)
    second = clone(first)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        first.fit(X_train, y_train)
        second.fit(X_train, y_train)
    np.testing.assert_array_equal(first.predict_proba(X_test), second.predict_proba(X_test))
    assert first.loss_curve_ == second.loss_curve_
    assert first.validation_scores_ == second.validation_scores_


def test_other_seed_gives_other_fit(cells):
    X_train, y_train, X_test, _ = cells
    first = short(random_state=0).fit(X_train, y_train)
    second = short(random_state=1).fit(X_train, y_train)
    assert not np.array_equal(first.predict_proba(X_test), second.predict_proba(X_test))


def test_random_state_instance_is_accepted(cells):
    X_train, y_train, X_test, _ = cells
    first = short(random_state=np.random.RandomState(3)).fit(X_train, y_train)
    second = short(random_state=np.random.RandomState(3)).fit(X_train, y_train)
    np.testing.assert_array_equal(first.predict_proba(X_test), second.predict_proba(X_test))


def test_fit_leaves_global_random_state_alone(cells):
    X_train, y_train, _, _ = cells
    torch_state = torch.random.get_rng_state()
    numpy_state = np.random.get_state()[1].copy()  # noqa: NPY002 (the global state is checked)
    short(random_state=0).fit(X_train, y_train)
    assert torch.equal(torch.random.get_rng_state(), torch_state)
    np.testing.assert_array_equal(np.random.get_state()[1], numpy_state)  # noqa: NPY002


def test_n_jobs_sets_and_restores_torch_threads(cells, monkeypatch):
    X_train, y_train, _, _ = cells
    before = torch.get_num_threads()
    seen = []
    original = torch.nn.functional.cross_entropy

    def spy(*args, **kwargs):
        seen.append(torch.get_num_threads())
        return original(*args, **kwargs)

    monkeypatch.setattr(torch.nn.functional, "cross_entropy", spy)
    short(n_jobs=1, max_iter=1, random_state=0).fit(X_train, y_train)
    assert seen
    assert set(seen) == {1}
    assert torch.get_num_threads() == before


def test_n_jobs_none_is_one_thread_unless_joblib_says_otherwise(cells, monkeypatch):
    # the package's one meaning of n_jobs=None (qbloodcell._parallel.effective_n_jobs)
    X_train, y_train, _, _ = cells
    seen = []
    original = torch.nn.functional.cross_entropy

    def spy(*args, **kwargs):
        seen.append(torch.get_num_threads())
        return original(*args, **kwargs)

    monkeypatch.setattr(torch.nn.functional, "cross_entropy", spy)
    short(max_iter=1, random_state=0).fit(X_train, y_train)
    assert set(seen) == {1}
    seen.clear()
    with joblib.parallel_config(n_jobs=2):
        short(max_iter=1, random_state=0).fit(X_train, y_train)
    assert set(seen) == {2}


def test_warm_start_continues_training(cells):
    X_train, y_train, _, _ = cells
    cnn = short(random_state=0, max_iter=2).fit(X_train, y_train)
    first_curve = list(cnn.loss_curve_)
    first_weights = cnn.module_[0].weight.detach().clone()
    cnn.set_params(warm_start=True, max_iter=3)
    cnn.fit(X_train, y_train)
    assert cnn.n_iter_ == 5
    assert cnn.loss_curve_[:2] == first_curve
    assert len(cnn.loss_curve_) == 5
    assert not torch.equal(cnn.module_[0].weight, first_weights)
    # the continuation starts from the trained weights: no restart at the initial loss
    assert cnn.loss_curve_[2] < first_curve[0]


def test_fit_without_warm_start_restarts(cells):
    X_train, y_train, X_test, _ = cells
    cnn = short(random_state=0).fit(X_train, y_train)
    expected = cnn.predict_proba(X_test)
    cnn.fit(X_train, y_train)  # warm_start=False: same seed, fresh network
    assert cnn.n_iter_ == 3
    np.testing.assert_array_equal(cnn.predict_proba(X_test), expected)


def test_warm_start_continues_the_validation_history(cells):
    # the shared definition (qbloodcell._early_stopping): validation_scores_ continues over
    # warm-started fits; a fit without early stopping has none (the CNN used to keep the
    # stale lists of an earlier fit)
    X_train, y_train, _, _ = cells
    cnn = short(random_state=0, max_iter=1, early_stopping=True)
    with pytest.warns(ConvergenceWarning, match="max_iter"):
        cnn.fit(X_train, y_train)
    first = list(cnn.validation_scores_)
    cnn.set_params(warm_start=True)
    with pytest.warns(ConvergenceWarning, match="max_iter"):
        cnn.fit(X_train, y_train)
    assert cnn.n_iter_ == len(cnn.validation_scores_) == len(cnn.validation_loss_curve_) == 2
    assert cnn.validation_scores_[:1] == first
    cnn.set_params(early_stopping=False).fit(X_train, y_train)
    assert cnn.n_iter_ == 3
    assert cnn.validation_scores_ is None
    assert cnn.validation_loss_curve_ is None
    assert cnn.best_validation_score_ is None


def test_warm_start_rejects_new_classes(cells):
    X_train, y_train, _, _ = cells
    cnn = short(random_state=0, max_iter=1, warm_start=True).fit(X_train, y_train)
    with pytest.raises(ValueError, match=r"classes \[2\] not seen"):
        cnn.fit(X_train, np.where(y_train == 1, 2, y_train))


# ---------------------------------------------------------------- training signals
def test_convergence_warning_when_max_iter_reached(cells):
    X_train, y_train, _, _ = cells
    with pytest.warns(ConvergenceWarning, match="max_iter=1"):
        CNNClassifier(**SMALL, max_iter=1, random_state=0).fit(X_train, y_train)


def test_divergence_raises(cells):
    X_train, y_train, _, _ = cells
    with pytest.raises(FloatingPointError, match="smaller learning_rate"):
        short(learning_rate=1e38, max_iter=5, random_state=0).fit(X_train, y_train)


def test_verbose_prints_progress(cells, capsys):
    X_train, y_train, _, _ = cells
    with pytest.warns(ConvergenceWarning):
        CNNClassifier(**SMALL, max_iter=2, verbose=1, random_state=0).fit(X_train, y_train)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("epoch 1: training loss")
    assert "validation loss" in lines[0]


# ---------------------------------------------------------------- bad input
def test_one_class_raises(cells):
    X_train, _, _, _ = cells
    with pytest.raises(ValueError, match="single class"):
        short().fit(X_train, np.zeros(len(X_train)))


@pytest.mark.parametrize(
    ("X", "match"),
    [
        (np.zeros((4, 32), np.uint8), "single 2-D array"),
        (np.zeros((4, 1, 32, 32, 3), np.uint8), "5 dimensions"),
        (np.full((4, 32, 32, 3), np.nan), "NaN"),
        (np.zeros((4, 32, 32, 3)) + 2.0, r"\[0, 1\]"),
        (np.zeros((4, 32, 32, 5), np.uint8), "channels"),
    ],
)
def test_bad_images_raise_in_fit_and_predict(fitted, X, match):
    with pytest.raises(ValueError, match=match):
        short().fit(X, [0, 1, 0, 1])
    with pytest.raises(ValueError, match=match):
        fitted.predict(X)


def test_non_image_input_raises_type_error():
    with pytest.raises(TypeError, match="must be a batch of images"):
        short().fit("images.png", [0])


def test_inconsistent_lengths_raise(cells):
    X_train, y_train, _, _ = cells
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        short().fit(X_train, y_train[:-1])


def test_continuous_target_raises(cells):
    X_train, _, _, _ = cells
    with pytest.raises(ValueError, match="Unknown label type"):
        short().fit(X_train, np.linspace(0, 1, len(X_train)))


def test_too_few_images_for_early_stopping(cells):
    X_train, y_train, _, _ = cells
    X, y = X_train[[0, 1, 70, 71]], y_train[[0, 1, 70, 71]]
    with pytest.raises(ValueError, match="early_stopping=False"):
        CNNClassifier(**SMALL).fit(X, y)
    # without early stopping, two images suffice
    assert short().fit(X[[0, 2]], y[[0, 2]]).predict(X).shape == (4,)


def test_cuda_unavailable_raises(cells):
    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    X_train, y_train, _, _ = cells
    with pytest.raises(ValueError, match="CUDA is not available"):
        short(device="cuda").fit(X_train, y_train)


def test_predict_on_unavailable_device_after_unpickling(fitted, cells):
    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    restored = pickle.loads(pickle.dumps(fitted))
    restored.set_params(device="cuda")
    with pytest.raises(ValueError, match=r"set_params\(device='cpu'\)"):
        restored.predict(cells[2])


@pytest.mark.parametrize(
    ("params", "error", "match"),
    [
        ({"device": "tpu"}, ValueError, "device must be"),
        ({"device": 3.5}, TypeError, "device must be"),
        ({"max_iter": 0}, ValueError, "max_iter must be an integer >= 1"),
        ({"batch_size": 2.5}, TypeError, "batch_size must be an integer"),
        ({"learning_rate": -1.0}, ValueError, "learning_rate must be a finite real number > 0"),
        ({"weight_decay": float("nan")}, ValueError, "weight_decay"),
        ({"validation_fraction": 1.0}, ValueError, "validation_fraction"),
        ({"n_iter_no_change": 0}, ValueError, "n_iter_no_change"),
        ({"hidden_channels": ()}, ValueError, "hidden_channels"),
        ({"hidden_channels": (8, 0)}, ValueError, "hidden_channels"),
        ({"image_size": 4}, ValueError, "image_size must be an integer >= 8"),
        (
            {"image_size": 16, "hidden_channels": (4, 4, 4, 4)},
            ValueError,
            r"image_size must be .*>= 32",
        ),
        ({"n_jobs": 0}, ValueError, "n_jobs"),
        ({"augment": "yes"}, TypeError, "augment must be True or False"),
    ],
)
def test_bad_parameters_raise(cells, params, error, match):
    X_train, y_train, _, _ = cells
    with pytest.raises(error, match=match):
        short(**params).fit(X_train, y_train)


def test_predict_before_fit_raises(cells):
    with pytest.raises(NotFittedError):
        CNNClassifier().predict(cells[2])
