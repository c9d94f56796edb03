"""scikit-learn's common estimator checks over every estimator of the package, in one place.

A new estimator joins with one line in ``ESTIMATORS`` (cheap constructor arguments: the
checks fit many times on tiny data sets). The checks it is expected to fail go into
``EXPECTED_FAILED_CHECKS``, each with the reason (imbalanced-learn's
``PER_ESTIMATOR_XFAIL_CHECKS``), and the warnings it is expected to issue on the checks' toy
data into ``EXPECTED_WARNINGS``.

Estimators that take batches of images (tag ``two_d_array=False``) get no checks from
``parametrize_with_checks``, which feeds 2-D tables and skips such estimators with a
warning; they run ``DATA_FREE_CHECKS``, the checks that need no data, instead.
"""

from __future__ import annotations

import warnings

import pytest
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.utils import estimator_checks, get_tags
from sklearn.utils.estimator_checks import parametrize_with_checks

from qbloodcell.baselines import CNNClassifier
from qbloodcell.ep import EquilibriumPropagationClassifier
from qbloodcell.features import BloodCellFeatures
from qbloodcell.model_selection import BalancedSubsampleClassifier
from qbloodcell.quantum import (
    DataReuploadingClassifier,
    QuantumKernelSVC,
    TrainableQuantumKernel,
    VQCClassifier,
)

#: Every estimator of the package, by a short label, with cheap constructor arguments.
ESTIMATORS = {
    "ep": EquilibriumPropagationClassifier(
        hidden_layer_sizes=(8,),
        max_iter=30,
        early_stopping=False,
        learning_rate_init=0.1,
        n_free_steps=100,
        n_nudged_steps=100,
        random_state=0,
    ),
    # a looser final trust radius ends COBYLA sooner: the checks test the API, not accuracy
    # (check_classifiers_train still asks for training accuracy > 0.83 on 2-D blobs)
    "vqc": VQCClassifier(tol=0.01, random_state=0),
    "reuploading": DataReuploadingClassifier(n_layers=2, tol=0.05, random_state=0),
    "subsample-all": BalancedSubsampleClassifier(LogisticRegression()),
    "subsample-drawn": BalancedSubsampleClassifier(
        LogisticRegression(), n_samples_per_class=3, random_state=0
    ),
    "qsvc-fidelity": QuantumKernelSVC(),
    "qsvc-projected": QuantumKernelSVC(kernel="projected"),
    "qsvc-trainable": QuantumKernelSVC(kernel="trainable", alignment_max_iter=3),
    "trainable-kernel": TrainableQuantumKernel(max_iter=3),
    "features": BloodCellFeatures(),
    "cnn": CNNClassifier(image_size=16, hidden_channels=(4,), max_iter=2),
}

#: Checks expected to fail, per label of ``ESTIMATORS``, with the reason.
EXPECTED_FAILED_CHECKS: dict[str, dict[str, str]] = {
    "subsample-drawn": {
        "check_estimators_nan_inf": (
            "only the drawn subsample reaches the wrapped estimator, which rejects NaN in it; "
            "the check's single NaN entry is usually not drawn"
        ),
        "check_dtype_object": (
            "only the drawn subsample reaches the wrapped estimator, which rejects the "
            "non-numeric entry when it is drawn; the check's single bad entry is not"
        ),
    },
}

#: Checks that take minutes for an estimator, per label, with the reason: marked slow (by
#: tests/conftest.py), so they run in ``nox -s slow`` and not in the default run.
SLOW_CHECKS: dict[str, dict[str, str]] = {
    "vqc": {
        "check_dtype_object": (
            "ten features make a 10-qubit circuit with 80 weights and four one-vs-rest "
            "sub-models, each spending the full 800 COBYLA evaluations"
        ),
    },
    "reuploading": {
        "check_dtype_object": (
            "ten features make a 10-qubit re-uploading circuit simulated whole at every "
            "evaluation, for four one-vs-rest sub-models"
        ),
    },
}

#: Warnings expected on the checks' toy data, per label of ``ESTIMATORS``, with the reason.
EXPECTED_WARNINGS: dict[str, dict[type[Warning], str]] = {
    "ep": {
        ConvergenceWarning: (
            "the checks train on unscaled toy data (features up to ~10) where some "
            "relaxations of this tiny network hit the step cap; the warning is correct "
            "behaviour, not a failure of the API"
        ),
    },
}

#: The common checks that need no data: those an image estimator can run.
DATA_FREE_CHECKS = [
    estimator_checks.check_no_attributes_set_in_init,
    estimator_checks.check_parameters_default_constructible,
    estimator_checks.check_get_params_invariance,
    estimator_checks.check_set_params,
    estimator_checks.check_estimator_repr,
    estimator_checks.check_estimator_cloneable,
    estimator_checks.check_do_not_raise_errors_in_init_or_set_params,
    estimator_checks.check_mixin_order,
    estimator_checks.check_valid_tag_types,
    estimator_checks.check_estimator_tags_renamed,
]

_LABELS = {id(estimator): label for label, estimator in ESTIMATORS.items()}


def _takes_tables(estimator):
    return get_tags(estimator).input_tags.two_d_array


def _expected_failed_checks(estimator):
    return EXPECTED_FAILED_CHECKS.get(_LABELS[id(estimator)], {})


def _xfail_marks(label, check_name):
    reason = EXPECTED_FAILED_CHECKS.get(label, {}).get(check_name)
    return [] if reason is None else [pytest.mark.xfail(reason=reason)]


def _run(label, check, *args):
    with warnings.catch_warnings():
        for category in EXPECTED_WARNINGS.get(label, {}):
            warnings.simplefilter("ignore", category)
        check(*args)


def test_every_label_of_the_tables_is_an_estimator():
    # a renamed or removed estimator must not leave an xfail or a warning filter behind
    assert set(EXPECTED_FAILED_CHECKS) <= set(ESTIMATORS)
    assert set(EXPECTED_WARNINGS) <= set(ESTIMATORS)
    assert set(SLOW_CHECKS) <= set(ESTIMATORS)


@parametrize_with_checks(
    [estimator for estimator in ESTIMATORS.values() if _takes_tables(estimator)],
    expected_failed_checks=_expected_failed_checks,
)
def test_common_checks(estimator, check):
    _run(_LABELS[id(estimator)], check, estimator)


@pytest.mark.parametrize(
    ("label", "check"),
    [
        pytest.param(
            label,
            check,
            id=f"{label}-{check.__name__}",
            marks=_xfail_marks(label, check.__name__),
        )
        for label, estimator in ESTIMATORS.items()
        if not _takes_tables(estimator)
        for check in DATA_FREE_CHECKS
    ],
)
def test_data_free_checks_of_image_estimators(label, check):
    estimator = ESTIMATORS[label]
    _run(label, check, type(estimator).__name__, clone(estimator))
