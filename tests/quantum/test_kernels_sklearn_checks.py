"""scikit-learn's estimator checks on the quantum kernel estimators."""

from __future__ import annotations

from sklearn.utils.estimator_checks import parametrize_with_checks

from qbloodcell.quantum import QuantumKernelSVC, TrainableQuantumKernel

# cheap arguments: the checks test the API, not accuracy
_CHECKED = [
    QuantumKernelSVC(),
    QuantumKernelSVC(kernel="projected"),
    QuantumKernelSVC(kernel="trainable", alignment_max_iter=3),
    TrainableQuantumKernel(max_iter=3),
]
_EXPECTED_FAILED_CHECKS: dict[str, dict[str, str]] = {}


def _expected_failures(estimator):
    return _EXPECTED_FAILED_CHECKS.get(repr(estimator), {})


@parametrize_with_checks(_CHECKED, expected_failed_checks=_expected_failures)
def test_sklearn_compatible(estimator, check):
    check(estimator)
