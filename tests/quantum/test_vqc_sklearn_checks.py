"""scikit-learn's estimator checks on VQCClassifier."""

from __future__ import annotations

from sklearn.utils.estimator_checks import parametrize_with_checks

from qbloodcell.quantum import VQCClassifier

# a short optimisation keeps the ~50 checks fast; the checks test the API, not accuracy
_CHECKED = VQCClassifier(max_iter=25, random_state=0)
_EXPECTED_FAILED_CHECKS = {
    "check_classifiers_train": (
        "asserts training accuracy > 0.83 on three standardised 2-D blobs; the default circuit "
        "has one qubit per feature, so here a 2-qubit ZZ map and RealAmplitudes with 4 weights "
        "per one-vs-rest model, which reaches only 0.44-0.47 (measured with 15-200 COBYLA "
        "iterations, ansatz_reps 1 and 2): a capacity limit of the model, not an API defect"
    ),
}


@parametrize_with_checks([_CHECKED], expected_failed_checks=lambda est: _EXPECTED_FAILED_CHECKS)
def test_sklearn_compatible(estimator, check):
    check(estimator)
