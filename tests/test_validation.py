"""The one parameter-validation mechanism: its specs, and a sweep over every public parameter.

The sweep takes every estimator in ``ESTIMATORS`` and every public function in
``FUNCTIONS`` (one line each: a new one joins there) and, for every parameter, checks that

(a) a value of a type no alternative of its spec accepts raises TypeError,
(b) a value of an accepted type that its spec rejects raises ValueError,

both with a message starting with the parameter's name, and (c) that every parameter has a
spec. The values come from the specs themselves (``Spec.invalid_values``, and those of the
candidates in ``WRONG_TYPES`` that no alternative accepts), so a parameter added to an
estimator is swept without editing this file.
"""

from __future__ import annotations

import inspect
import math
import re
from typing import ClassVar

import joblib
import numpy as np
import pytest
from sklearn.base import BaseEstimator
from sklearn.linear_model import LogisticRegression

from qbloodcell import _parallel, calibration
from qbloodcell._validation import (
    _NO_VALUE,
    AnyCallable,
    Boolean,
    HasMethods,
    InstanceOf,
    Integer,
    IntegerSequence,
    NJobs,
    NoneValue,
    Options,
    PathLike,
    RandomState,
    Real,
    RealSequence,
    check_arguments,
    check_value,
    validate_params,
)
from qbloodcell.baselines import CNNClassifier, _dense, make_dense_classifier
from qbloodcell.benchmark import StudyProtocol, _protocol, _runner, run_benchmark
from qbloodcell.calibration import compare_feature_distributions, plot_feature_distributions
from qbloodcell.datasets import _sampling, _synthetic, balanced_indices, make_blood_cells
from qbloodcell.ep import EquilibriumPropagationClassifier
from qbloodcell.features import BloodCellFeatures
from qbloodcell.model_selection import BalancedSubsampleClassifier
from qbloodcell.quantum import (
    DataReuploadingClassifier,
    FidelityQuantumKernel,
    ProjectedQuantumKernel,
    QuantumKernelSVC,
    TrainableQuantumKernel,
    VQCClassifier,
    ZeroNoiseExtrapolation,
    _diagnostics,
    _mitigation,
    circuit_depth_report,
    gradient_variance,
)


# ---------------------------------------------------------------------------------------
# the specs one by one
def _error(value, alternatives, name="n"):
    """The exception check_value raises (None when the value is accepted)."""
    try:
        check_value(name, value, alternatives)
    except (TypeError, ValueError) as exc:
        return exc
    return None


def test_messages_name_the_parameter_the_value_and_what_is_accepted():
    with pytest.raises(ValueError, match="max_iter") as info:
        check_value("max_iter", 0, [Integer(1)])
    assert str(info.value) == "max_iter must be an integer >= 1; got 0."
    with pytest.raises(TypeError) as info:
        check_value("max_iter", 1.5, [Integer(1)])
    # a wrong type also says which type was received
    assert str(info.value) == "max_iter must be an integer >= 1; got 1.5 of type float."
    with pytest.raises(TypeError) as info:
        check_value("shots", "many", [NoneValue(), Integer(1)])
    assert str(info.value) == "shots must be None or an integer >= 1; got 'many' of type str."
    with pytest.raises(TypeError) as info:
        check_value("tol", [1], [NoneValue(), Real(0), Options(["auto"])])
    assert str(info.value).startswith(
        "tol must be None, a finite real number >= 0 or one of ['auto']; got [1]"
    )


def test_hint_follows_the_message():
    with pytest.raises(ValueError, match=r"^beta must be .*; got 2\.0\. Use a smaller beta\.$"):
        check_value("beta", 2.0, [Real(0, 1)], hint="Use a smaller beta.")


def test_objects_are_named_by_their_type():
    with pytest.raises(TypeError, match=r"got an object of type object\.$"):
        check_value("n", object(), [Integer()])
    with pytest.raises(TypeError, match=r"got an object of type list\.$"):
        check_value("n", list(range(100)), [Integer()])


@pytest.mark.parametrize("spec", [Integer(), Integer(0), Real(), IntegerSequence(1)])
@pytest.mark.parametrize("flag", [True, False, np.bool_(True)])
def test_a_bool_is_not_a_number(spec, flag):
    assert isinstance(_error(flag, [spec]), TypeError)


def test_numpy_scalars_are_numbers():
    assert _error(np.int64(3), [Integer(1)]) is None
    assert _error(np.uint8(3), [Integer(1)]) is None
    assert _error(np.float32(0.5), [Real(0, 1)]) is None
    assert _error(np.int64(2), [Real(0, 1)]) is not None
    assert _error(np.bool_(False), [Boolean()]) is None


def test_integer_bounds_are_inclusive():
    spec = [Integer(2, 5)]
    assert [_error(v, spec) is None for v in (1, 2, 5, 6)] == [False, True, True, False]
    assert isinstance(_error(6, spec), ValueError)
    assert Integer(2, 5).describe() == "an integer from 2 to 5"
    assert Integer(high=3).describe() == "an integer <= 3"
    assert _error(4, [Integer(high=3)]) is not None
    assert _error(-(10**30), [Integer()]) is None
    assert Integer().invalid_value() is _NO_VALUE
    assert Integer().invalid_values() == []
    assert Integer(2, 5).invalid_values() == [1, 6]


@pytest.mark.parametrize(
    ("closed", "accepted", "shown"),
    [
        ("both", [True, True, True], "[0, 1]"),
        ("left", [True, True, False], "[0, 1)"),
        ("right", [False, True, True], "(0, 1]"),
        ("neither", [False, True, False], "(0, 1)"),
    ],
)
def test_real_intervals_open_and_closed(closed, accepted, shown):
    spec = Real(0, 1, closed=closed)
    assert [_error(v, [spec]) is None for v in (0, 0.5, 1)] == accepted
    assert spec.describe() == f"a real number in {shown}"
    assert isinstance(_error(spec.invalid_value(), [spec]), ValueError)


def test_half_bounded_reals():
    assert Real(0).describe() == "a finite real number >= 0"
    assert Real(0, closed="neither").describe() == "a finite real number > 0"
    assert Real(high=1, closed="left").describe() == "a finite real number < 1"
    assert _error(0, [Real(0, closed="neither")]) is not None
    assert _error(1e-300, [Real(0, closed="neither")]) is None
    assert _error(1, [Real(high=1, closed="left")]) is not None
    # an int too large for a float is still a finite number
    assert _error(10**400, [Real(0)]) is None


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, np.float64("nan")])
@pytest.mark.parametrize("spec", [Real(), Real(0), Real(0, 1), Real(high=0)])
def test_nan_and_inf_are_rejected(value, spec):
    # a float of the right type but no finite value: ValueError, whatever the bounds
    assert isinstance(_error(value, [spec]), ValueError)


def test_real_rejects_an_unknown_closed():
    with pytest.raises(ValueError, match="closed must be"):
        Real(0, 1, closed="open")


def test_boolean_and_options():
    assert isinstance(_error(1, [Boolean()]), TypeError)
    assert isinstance(_error("yes", [Boolean()]), TypeError)
    spec = Options(["tanh", "hard_sigmoid"])
    assert _error("tanh", [spec]) is None
    error = _error("relu", [spec], name="activation")
    assert isinstance(error, ValueError)
    assert str(error) == "activation must be one of ['tanh', 'hard_sigmoid']; got 'relu'."
    assert isinstance(_error(3, [spec]), TypeError)


def test_n_jobs_and_random_state():
    n_jobs = [NoneValue(), NJobs()]
    assert all(_error(v, n_jobs) is None for v in (None, 1, 4, -1, -2))
    assert isinstance(_error(0, n_jobs), ValueError)
    assert isinstance(_error(1.5, n_jobs), TypeError)
    seed = [NoneValue(), RandomState()]
    assert all(_error(v, seed) is None for v in (None, 0, 2**32 - 1, np.random.RandomState(0)))
    assert isinstance(_error(-1, seed), ValueError)
    assert isinstance(_error(2**32, seed), ValueError)
    assert isinstance(_error("0", seed), TypeError)
    assert isinstance(_error(np.random.default_rng(0), seed), TypeError)


def test_integer_sequences():
    spec = IntegerSequence(1)
    assert all(_error(v, [spec]) is None for v in ((16, 32), [4], range(1, 3), np.array([2, 3])))
    assert isinstance(_error((), [spec]), ValueError)
    assert isinstance(_error((8, 0), [spec]), ValueError)
    assert isinstance(_error((8, 1.5), [spec]), TypeError)
    # a str is a sequence of characters, never of sizes
    assert isinstance(_error("ab", [spec]), TypeError)
    assert isinstance(_error(8, [spec]), TypeError)
    assert _error(8, [IntegerSequence(1, scalar_ok=True)]) is None
    assert isinstance(_error(0, [IntegerSequence(1, scalar_ok=True)]), ValueError)
    assert "such as (256, 128)" in IntegerSequence(example="(256, 128)").describe()


def test_real_sequences():
    spec = RealSequence(Real(0, closed="neither"))
    assert _error((0.1, 2), [spec]) is None
    assert _error(np.array([0.1, 0.2]), [spec]) is None
    assert isinstance(_error((), [spec]), ValueError)
    assert isinstance(_error((0.1, -1.0), [spec]), ValueError)
    assert isinstance(_error((0.1, math.nan), [spec]), ValueError)
    assert isinstance(_error((0.1, "a"), [spec]), TypeError)
    assert isinstance(_error((0.1, True), [spec]), TypeError)
    assert spec.describe().startswith("a non-empty sequence of numbers, each a finite real")


def test_duck_typed_and_lazy_specs():
    class Runner:
        def run(self):
            return None

    has_run = HasMethods(["run"], "an object with run()")
    assert _error(Runner(), [has_run]) is None
    error = _error(object(), [has_run], name="estimator")
    assert isinstance(error, TypeError)
    assert str(error).startswith("estimator must be an object with run(); got")
    # the types of InstanceOf may be given by a callable, resolved only when checking
    lazy = InstanceOf(lambda: (int, str), "an int or a str")
    assert _error("a", [lazy]) is None
    assert isinstance(_error(1.5, [lazy]), TypeError)
    assert _error(len, [AnyCallable()]) is None
    assert isinstance(_error(3, [AnyCallable()]), TypeError)
    import pathlib

    assert _error(pathlib.Path("x"), [PathLike()]) is None
    assert isinstance(_error(3, [PathLike()]), TypeError)


def test_a_missing_spec_is_a_bug_not_a_user_error():
    with pytest.raises(KeyError):
        check_arguments({"n": 1, "m": 2}, {"n": [Integer()]})

    class Forgetful(BaseEstimator):
        _parameter_specs: ClassVar[dict] = {"a": [Integer()]}

        def __init__(self, a=1, b=2):
            self.a = a
            self.b = b

    with pytest.raises(RuntimeError, match=r"parameters without a spec: \['b'\]"):
        validate_params(Forgetful())


def test_effective_n_jobs_is_the_one_meaning_of_n_jobs():
    assert _parallel.effective_n_jobs(None) == 1
    assert _parallel.effective_n_jobs(3) == 3
    assert _parallel.effective_n_jobs(-1) == joblib.cpu_count()
    assert _parallel.effective_n_jobs(-1, cap=1) == 1
    assert _parallel.effective_n_jobs(-(10**6)) == 1
    with joblib.parallel_config(n_jobs=3):
        assert _parallel.effective_n_jobs(None) == 3
        assert _parallel.effective_n_jobs(2) == 2


# ---------------------------------------------------------------------------------------
# the sweep over every estimator and public function
def _table():
    X = np.random.default_rng(0).normal(size=(20, 4))
    return X, np.repeat([0, 1], 10)


def _images():
    images = np.random.default_rng(0).integers(0, 255, size=(8, 16, 16, 3), dtype=np.uint8)
    return images, np.repeat([0, 1], 4)


#: Every estimator with ``_parameter_specs``: (label, a valid instance, data to fit on).
#: CNNClassifier needs no torch here: the parameters are checked before torch is imported.
ESTIMATORS = [
    ("ep", EquilibriumPropagationClassifier, _table),
    ("vqc", VQCClassifier, _table),
    ("reuploading", DataReuploadingClassifier, _table),
    ("qsvc", QuantumKernelSVC, _table),
    ("fidelity-kernel", FidelityQuantumKernel, _table),
    ("projected-kernel", ProjectedQuantumKernel, _table),
    ("trainable-kernel", TrainableQuantumKernel, _table),
    ("cnn", CNNClassifier, _images),
    ("features", BloodCellFeatures, _images),
    ("subsample", lambda: BalancedSubsampleClassifier(LogisticRegression()), _table),
]

#: The data arguments of the calibration functions.
_SAMPLES = ("real_X", "real_y", "synthetic_X", "synthetic_y")

#: Every public function that checks its arguments with check_arguments: (function, its
#: specs, valid arguments, arguments that are data rather than parameters).
FUNCTIONS = [
    (
        make_blood_cells,
        _synthetic._MAKE_BLOOD_CELLS_SPECS,
        {"n_samples_per_class": 2, "image_size": 8},
        (),
    ),
    (
        balanced_indices,
        _sampling._BALANCED_INDICES_SPECS,
        {"y": np.repeat([0, 1], 5), "n_samples_per_class": 2},
        ("y",),
    ),
    (make_dense_classifier, _dense._MAKE_DENSE_CLASSIFIER_SPECS, {}, ()),
    (
        compare_feature_distributions,
        calibration._COMPARE_SPECS,
        dict(zip(_SAMPLES, (*_table(), *_table()), strict=True)),
        _SAMPLES,
    ),
    (
        plot_feature_distributions,
        calibration._PLOT_SPECS,
        dict(zip(_SAMPLES, (*_table(), *_table()), strict=True)),
        _SAMPLES,
    ),
    (ZeroNoiseExtrapolation, _mitigation._ZNE_SPECS, {}, ()),
    (StudyProtocol, _protocol._STUDY_PROTOCOL_SPECS, {}, ()),
    (
        gradient_variance,
        _diagnostics._GRADIENT_VARIANCE_SPECS,
        {"n_qubits": 2, "n_layers": 1, "n_draws": 4},
        (),
    ),
    (circuit_depth_report, _diagnostics._DEPTH_REPORT_SPECS, {"optimization_levels": 0}, ()),
    (
        run_benchmark,
        _runner._RUN_BENCHMARK_SPECS,
        {
            "methods": {"lr": LogisticRegression()},
            "sizes": [10],
            "data": _table(),
            "progress": False,
        },
        (),
    ),
]

#: Candidate values of a wrong type: each parameter is swept with those its spec rejects.
WRONG_TYPES = [object(), "not-a-value", 1.5, True, 3, None, (1.5, "a"), {"a": 1}]


def _show(value):
    # parameter ids must be the same in every pytest-xdist worker: no memory addresses
    return type(value).__name__ if type(value) is object else repr(value)


def _accepts_type(alternatives, value):
    return any(spec.accepts_type(value) for spec in alternatives)


def _accepts(alternatives, value):
    return any(spec.accepts_type(value) and spec.accepts_value(value) for spec in alternatives)


def _wrong_types(alternatives):
    return [value for value in WRONG_TYPES if not _accepts_type(alternatives, value)]


def _wrong_values(alternatives):
    values = [value for spec in alternatives for value in spec.invalid_values()]
    return [
        value
        for value in values
        if _accepts_type(alternatives, value) and not _accepts(alternatives, value)
    ]


def _estimator_cases(kind):
    cases = []
    for label, factory, data in ESTIMATORS:
        specs = type(factory())._parameter_specs
        for name, alternatives in specs.items():
            values = _wrong_types(alternatives) if kind == "type" else _wrong_values(alternatives)
            cases += [
                pytest.param(factory, data, name, value, id=f"{label}-{name}-{_show(value)}")
                for value in values
            ]
    return cases


def _function_cases(kind):
    cases = []
    for function, specs, valid, _ in FUNCTIONS:
        for name, alternatives in specs.items():
            values = _wrong_types(alternatives) if kind == "type" else _wrong_values(alternatives)
            cases += [
                pytest.param(
                    function, valid, name, value, id=f"{function.__name__}-{name}-{_show(value)}"
                )
                for value in values
            ]
    return cases


def _message_names(name):
    return rf"^{re.escape(name)} must be "


def _use(estimator, data):
    """Fit it, or, for a kernel that has nothing to fit, evaluate its Gram matrix."""
    X, y = data()
    if hasattr(estimator, "fit"):
        estimator.fit(X, y)
    else:
        estimator.evaluate(X)


@pytest.mark.parametrize(("factory", "data", "name", "value"), _estimator_cases("type"))
def test_estimator_parameter_of_a_wrong_type_is_a_type_error(factory, data, name, value):
    estimator = factory().set_params(**{name: value})
    with pytest.raises(TypeError, match=_message_names(name)):
        _use(estimator, data)


@pytest.mark.parametrize(("factory", "data", "name", "value"), _estimator_cases("value"))
def test_estimator_parameter_of_a_wrong_value_is_a_value_error(factory, data, name, value):
    estimator = factory().set_params(**{name: value})
    with pytest.raises(ValueError, match=_message_names(name)):
        _use(estimator, data)


@pytest.mark.parametrize(("function", "valid", "name", "value"), _function_cases("type"))
def test_function_argument_of_a_wrong_type_is_a_type_error(function, valid, name, value):
    with pytest.raises(TypeError, match=_message_names(name)):
        function(**{**valid, name: value})


@pytest.mark.parametrize(("function", "valid", "name", "value"), _function_cases("value"))
def test_function_argument_of_a_wrong_value_is_a_value_error(function, valid, name, value):
    with pytest.raises(ValueError, match=_message_names(name)):
        function(**{**valid, name: value})


@pytest.mark.parametrize(
    ("factory", "data"), [pytest.param(f, d, id=label) for label, f, d in ESTIMATORS]
)
def test_every_estimator_parameter_has_a_spec_and_a_wrong_type(factory, data):
    estimator = factory()
    specs = type(estimator)._parameter_specs
    assert set(estimator.get_params(deep=False)) == set(specs)
    for name, alternatives in specs.items():
        assert _wrong_types(alternatives), f"{name}: no wrong-type value to sweep it with"


@pytest.mark.parametrize(
    ("function", "specs", "data_arguments"),
    [pytest.param(f, s, d, id=f.__name__) for f, s, _, d in FUNCTIONS],
)
def test_every_function_argument_has_a_spec_and_a_wrong_type(function, specs, data_arguments):
    parameters = inspect.signature(function).parameters.values()
    named = {p.name for p in parameters if p.kind is not inspect.Parameter.VAR_KEYWORD}
    assert named - set(data_arguments) == set(specs)
    for name, alternatives in specs.items():
        assert _wrong_types(alternatives), f"{name}: no wrong-type value to sweep it with"
