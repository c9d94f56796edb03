"""The support vector classifier with a quantum kernel (fidelity, projected or trainable)."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.svm import SVC
from sklearn.utils import check_random_state
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from qbloodcell._validation import (
    Boolean,
    InstanceOf,
    Integer,
    NoneValue,
    Options,
    Real,
    Spec,
    validate_params,
)
from qbloodcell.quantum._kernels import (
    _FEATURE_MAP_SPECS,
    _MITIGATION_SPECS,
    _SAMPLING_SPECS,
    SHARED_PARAMETERS,
    FidelityQuantumKernel,
    FloatArray,
    _QuantumKernel,
)
from qbloodcell.quantum._projected import ProjectedQuantumKernel
from qbloodcell.quantum._scaling import INPUT_SCALINGS, InputScaling
from qbloodcell.quantum._shared import clone_sharing, without_unpicklable
from qbloodcell.quantum._trainable import TrainableQuantumKernel

#: Kernels of :class:`QuantumKernelSVC`.
KERNELS = ("fidelity", "projected", "trainable")
#: Defaults of :class:`QuantumKernelSVC` per kernel, for ``bandwidth=None`` and
#: ``gamma=None``: the settings with the best cross-validated accuracy (mean over 5 seeds
#: of real and of synthetic cells, training splits only) in
#: benchmarks/bench_kernel_bandwidth.py; the numbers are on the kernels page of the user
#: guide. The projected kernel's optimum is a ridge along which gamma * bandwidth**2 is
#: about constant, so a small bandwidth goes with a large gamma.
KERNEL_DEFAULTS: dict[str, dict[str, float]] = {
    "fidelity": {"bandwidth": 0.5},
    "projected": {"bandwidth": 0.05, "gamma": 100.0},
    "trainable": {"bandwidth": 0.3},
}
#: Default feature-map repetitions of :class:`QuantumKernelSVC`, chosen with the bandwidth.
DEFAULT_FEATURE_MAP_REPS = 1


# --------------------------------------------------------------------------------------------
# the classifier
# --------------------------------------------------------------------------------------------
def _probability_enabled(classifier: QuantumKernelSVC) -> bool:
    return bool(classifier.probability)


class QuantumKernelSVC(ClassifierMixin, BaseEstimator):
    """Support vector classifier with a quantum kernel (fidelity, projected or trainable).

    ``fit`` scales the features to encoding angles (:class:`InputScaling`, as
    :class:`VQCClassifier` does), computes the quantum Gram matrix of the training samples
    once, and fits :class:`sklearn.svm.SVC` on it (``kernel="precomputed"``). Predictions
    evaluate the kernel against the support vectors only, which matters on hardware, where
    each kernel entry is a circuit.

    Parameters
    ----------
    kernel : {"fidelity", "projected", "trainable"}, default="fidelity"
        :class:`FidelityQuantumKernel`, :class:`ProjectedQuantumKernel` (uses ``gamma``) or
        :class:`TrainableQuantumKernel` (trained by kernel-target alignment in ``fit``, uses
        ``alignment_max_iter``).
    feature_map : qiskit.circuit.QuantumCircuit, default=None
        A feature map with one parameter per feature; by default the ZZ feature map with
        one qubit per feature.
    feature_map_reps : int, default=1
        Repetitions of the default ZZ feature map, chosen with ``bandwidth`` by
        cross-validation (see the user guide; :class:`VQCClassifier` and the kernel objects
        use 2, the study's circuit).
    entanglement : {"full", "linear", "reverse_linear", "circular", "sca", "pairwise"}, \
default="full"
        Entanglement of the default ZZ feature map.
    input_scaling : {"minmax", "standard"} or None, default="minmax"
        How ``fit`` maps features to angles: ``"minmax"`` sends each feature's training
        range to ``[0, bandwidth]``, ``"standard"`` to ``bandwidth`` times its z-score;
        new samples are clipped to the training range of angles. ``None`` uses the
        features as angles unchanged (and ignores ``bandwidth``), as the study's pipeline
        with its own ``MinMaxScaler((0, 2))`` does.
    bandwidth : float, default=None
        Angle range of the scaled features: the kernel's width. ``None`` takes the
        kernel's default (``KERNEL_DEFAULTS``: 0.5 for ``"fidelity"``, 0.05 for
        ``"projected"``, 0.3 for ``"trainable"``), chosen by cross-validation on training
        splits of real and synthetic cells with ``input_scaling="minmax"`` and
        ``feature_map_reps=1`` (the kernels page of the user guide has the numbers).
    gamma : float, default=None
        Width of the projected kernel's RBF (``kernel="projected"`` only); ``None`` takes
        the cross-validated default, 100 (with the default bandwidth the angles are small,
        so the one-qubit states are close together and need a large gamma).
    C : float, default=1.0
        Regularisation of :class:`~sklearn.svm.SVC`.
    class_weight : dict, "balanced" or None, default=None
        As in :class:`~sklearn.svm.SVC`.
    probability : bool, default=False
        Enable ``predict_proba``: Platt scaling fitted on 5-fold cross-validated decision
        values of the training Gram matrix
        (``CalibratedClassifierCV(method="sigmoid", ensemble=False)``, what scikit-learn
        recommends instead of ``SVC(probability=True)``).
    alignment_max_iter : int, default=50
        L-BFGS-B iterations of the kernel alignment (``kernel="trainable"`` only).
    sampler : qiskit.primitives.BaseSamplerV2, default=None
        Estimate the kernel with this sampler instead of exactly.
    shots : int, default=None
        Measurements per kernel entry (qiskit-aer's SamplerV2 when ``sampler=None``).
    random_state : int, RandomState instance or None, default=None
        Seeds the built-in Aer sampler.
    mitigation : ZeroNoiseExtrapolation, default=None
        Zero-noise extrapolation of the sampled kernel entries (``kernel="fidelity"`` with
        ``sampler`` or ``shots`` only), as in :class:`FidelityQuantumKernel`.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Feature names, when ``X`` has string column names.
    input_scaling_ : InputScaling
        The fitted map from features to angles.
    bandwidth_ : float
        The bandwidth used (``bandwidth``, or the kernel's default).
    gamma_ : float
        The projected kernel's gamma used (``gamma``, or the default).
    kernel_ : FidelityQuantumKernel, ProjectedQuantumKernel or TrainableQuantumKernel
        The kernel on the angles (``bandwidth=1``: the scaling is ``input_scaling_``);
        fitted for ``kernel="trainable"``.
    svc_ : sklearn.svm.SVC
        The fitted support vector classifier on the precomputed Gram matrix.
    calibrated_ : sklearn.calibration.CalibratedClassifierCV or None
        The probability calibration (``probability=True``), else None.
    support_ : ndarray of shape (n_support_vectors,)
        Indices of the support vectors in the training set.

    See Also
    --------
    FidelityQuantumKernel, ProjectedQuantumKernel, TrainableQuantumKernel : the kernels.
    VQCClassifier : the variational classifier on the same feature map.

    References
    ----------
    .. [1] V. Havlíček et al., "Supervised learning with quantum-enhanced feature spaces",
       Nature 567, 209-212 (2019). :doi:`10.1038/s41586-019-0980-2`
    .. [2] H.-Y. Huang et al., "Power of data in quantum machine learning", Nat. Commun. 12,
       2631 (2021). :doi:`10.1038/s41467-021-22539-9`
    .. [3] T. Hubregtsen et al., "Training quantum embedding kernels on near-term quantum
       computers", Phys. Rev. A 106, 042431 (2022). :doi:`10.1103/PhysRevA.106.042431`

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from qbloodcell.quantum import QuantumKernelSVC
    >>> X, y = make_classification(n_samples=80, n_features=4, n_redundant=0, random_state=0)
    >>> clf = QuantumKernelSVC().fit(X[:60], y[:60])
    >>> clf.predict(X[60:]).shape, clf.decision_function(X[60:]).shape
    ((20,), (20,))
    >>> clf.kernel_.evaluate(clf.input_scaling_.transform(X[:3])).shape
    (3, 3)
    """

    _parameter_specs: ClassVar[dict[str, list[Spec]]] = {
        "kernel": [Options(KERNELS)],
        **_FEATURE_MAP_SPECS,
        "input_scaling": [NoneValue(), Options(INPUT_SCALINGS)],
        "bandwidth": [NoneValue(), Real(0, closed="neither")],
        "gamma": [NoneValue(), Real(0, closed="neither")],
        "C": [Real(0, closed="neither")],
        "class_weight": [
            NoneValue(),
            Options(["balanced"]),
            InstanceOf(dict, "a dict {class: weight}"),
        ],
        "probability": [Boolean()],
        "alignment_max_iter": [Integer(1)],
        **_SAMPLING_SPECS,
        **_MITIGATION_SPECS,
    }

    def __init__(
        self,
        *,
        kernel: str = "fidelity",
        feature_map: Any = None,
        feature_map_reps: int = DEFAULT_FEATURE_MAP_REPS,
        entanglement: str = "full",
        input_scaling: str | None = "minmax",
        bandwidth: float | None = None,
        gamma: float | None = None,
        C: float = 1.0,
        class_weight: Any = None,
        probability: bool = False,
        alignment_max_iter: int = 50,
        sampler: Any = None,
        shots: int | None = None,
        random_state: Any = None,
        mitigation: Any = None,
    ) -> None:
        self.kernel = kernel
        self.feature_map = feature_map
        self.feature_map_reps = feature_map_reps
        self.entanglement = entanglement
        self.input_scaling = input_scaling
        self.bandwidth = bandwidth
        self.gamma = gamma
        self.C = C
        self.class_weight = class_weight
        self.probability = probability
        self.alignment_max_iter = alignment_max_iter
        self.sampler = sampler
        self.shots = shots
        self.random_state = random_state
        self.mitigation = mitigation

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags

    def __sklearn_clone__(self) -> QuantumKernelSVC:
        return clone_sharing(self, SHARED_PARAMETERS)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(super().__getstate__())
        return without_unpicklable(state, SHARED_PARAMETERS, owner="classifier")

    def _make_kernel(self, seed: int) -> _QuantumKernel:
        common = {
            "feature_map": self.feature_map,
            "feature_map_reps": self.feature_map_reps,
            "entanglement": self.entanglement,
            # the fitted input scaling already holds the bandwidth
            "bandwidth": 1.0,
            "sampler": self.sampler,
            "shots": self.shots,
            "random_state": seed,
        }
        if self.kernel == "projected":
            return ProjectedQuantumKernel(gamma=self.gamma_, **common)
        if self.kernel == "trainable":
            return TrainableQuantumKernel(max_iter=self.alignment_max_iter, **common)
        return FidelityQuantumKernel(mitigation=self.mitigation, **common)

    def fit(self, X: Any, y: Any) -> QuantumKernelSVC:
        """Compute the training Gram matrix and fit the support vector classifier.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training features (one qubit per feature with the default feature map).
        y : array-like of shape (n_samples,)
            Class labels (two or more classes).

        Returns
        -------
        self : QuantumKernelSVC
            The fitted classifier.
        """
        validate_params(self)
        if self.mitigation is not None and self.kernel != "fidelity":
            raise ValueError(
                f"mitigation applies only to kernel='fidelity' (the compute-uncompute circuit "
                f"it folds); got kernel={self.kernel!r}. Leave mitigation None."
            )
        X, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        classes = np.unique(y)
        if classes.size < 2:
            raise ValueError(
                f"y contains 1 class ({classes[0]!r}); QuantumKernelSVC needs at least 2 classes."
            )
        rng = check_random_state(self.random_state)
        kernel_seed = int(rng.randint(2**31 - 1))
        defaults = KERNEL_DEFAULTS[self.kernel]
        self.bandwidth_ = float(defaults["bandwidth"] if self.bandwidth is None else self.bandwidth)
        self.gamma_ = float(defaults.get("gamma", 1.0) if self.gamma is None else self.gamma)
        self.input_scaling_ = InputScaling.fit(X, self.input_scaling, self.bandwidth_)
        angles = self.input_scaling_.transform(X)
        kernel = self._make_kernel(kernel_seed)
        if isinstance(kernel, TrainableQuantumKernel):
            kernel.fit(angles, y)
        gram = kernel.evaluate(angles)
        svc = SVC(kernel="precomputed", C=self.C, class_weight=self.class_weight)
        self.calibrated_: CalibratedClassifierCV | None = None
        if self.probability:
            # Platt scaling on 5-fold cross-validated decision values of the same Gram
            # matrix (the replacement scikit-learn names for SVC(probability=True)); the
            # classifier itself is the SVC fitted on all samples
            calibrated = CalibratedClassifierCV(svc, method="sigmoid", cv=5, ensemble=False)
            calibrated.fit(gram, y)
            self.calibrated_ = calibrated
            svc = calibrated.calibrated_classifiers_[0].estimator
        else:
            svc.fit(gram, y)
        self.kernel_ = kernel
        self.svc_ = svc
        self.classes_ = svc.classes_
        self.support_ = svc.support_
        self._n_train = X.shape[0]
        self._support_angles = angles[svc.support_]
        return self

    def _test_gram(self, X: Any) -> FloatArray:
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        angles = self.input_scaling_.transform(X)
        # SVC reads only the support-vector columns of a precomputed kernel
        gram = np.zeros((X.shape[0], self._n_train))
        gram[:, self.support_] = self.kernel_.evaluate(angles, self._support_angles)
        return gram

    def decision_function(self, X: Any) -> FloatArray:
        """Signed distance to the separating hyperplane, as :meth:`sklearn.svm.SVC.decision_function`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Features.

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            Positive means ``classes_[1]`` in the binary case; one column per class
            (one-vs-rest shape) otherwise.
        """
        gram = self._test_gram(X)
        return np.asarray(self.svc_.decision_function(gram), dtype=float)

    def predict(self, X: Any) -> NDArray[Any]:
        """Predict class labels.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Features.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Predicted labels.
        """
        gram = self._test_gram(X)
        return np.asarray(self.svc_.predict(gram))

    @available_if(_probability_enabled)
    def predict_proba(self, X: Any) -> FloatArray:
        """Class probabilities (Platt scaling; only with ``probability=True``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Features.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities in the order of ``classes_``.
        """
        gram = self._test_gram(X)
        assert self.calibrated_ is not None
        return np.asarray(self.calibrated_.predict_proba(gram), dtype=float)

    @available_if(_probability_enabled)
    def predict_log_proba(self, X: Any) -> FloatArray:
        """Logarithm of :meth:`predict_proba` (only with ``probability=True``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Features.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Log-probabilities in the order of ``classes_``.
        """
        return np.log(self.predict_proba(X))
