"""scikit-learn's estimator checks on VQCClassifier."""

from __future__ import annotations

from sklearn.utils.estimator_checks import parametrize_with_checks

from qbloodcell.quantum import VQCClassifier

# a short optimisation keeps the ~50 checks fast; the checks test the API, not accuracy
_CHECKED = VQCClassifier(max_iter=50, random_state=0)
# check_classifiers_train (three standardised 2-D blobs, training accuracy > 0.83) failed
# with the study's settings (angles taken as given); with the fitted input scaling it passes
_EXPECTED_FAILED_CHECKS: dict[str, str] = {}


@parametrize_with_checks([_CHECKED], expected_failed_checks=lambda est: _EXPECTED_FAILED_CHECKS)
def test_sklearn_compatible(estimator, check):
    check(estimator)
