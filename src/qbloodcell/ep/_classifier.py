"""Equilibrium Propagation classifier with a scikit-learn API."""

from __future__ import annotations

import functools
import math
import numbers
import warnings
from collections.abc import Sequence
from itertools import pairwise
from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from qbloodcell._validation import (
    Boolean,
    Integer,
    IntegerSequence,
    NoneValue,
    Options,
    RandomState,
    Real,
    RealSequence,
    Spec,
    validate_params,
)
from qbloodcell.ep import _kernels, _threads

#: Largest absolute feature value fit accepts without a warning (standardised features
#: stay far below it; one above it saturates every unit it feeds).
_LARGE_FEATURE = 1e3
_ACTIVATIONS = {"tanh": _kernels.TANH, "hard_sigmoid": _kernels.HARD_SIGMOID}
# (off, on) target values of the output units, matched to the range of each activation
_TARGET_VALUES = {"tanh": (-1.0, 1.0), "hard_sigmoid": (0.0, 1.0)}
# a batch is relaxed in groups of rows on several threads only when each group has at
# least this many samples (below it, one multi-threaded BLAS call is as fast)
_MIN_ROWS_PER_THREAD = 40
# sweeps without over-relaxation at the start of a free phase (from zero states): the
# states first move into the basin of the fixed point that plain sweeps reach
_PLAIN_SWEEPS = 3
# samples still moving after this many sweeps converge slowly: they continue with a
# larger over-relaxation factor (see _late_factor)
_EARLY_SWEEPS = 15
# weights this large mean training has run away (inputs are expected to be standardised)
_MAX_ABS_WEIGHT = 1e6
# relaxation warning: more than this fraction of phases at the step cap, or one phase
# whose last sweep left a unit further than this many times relax_tol from its plain update
_NOT_CONVERGED_FRACTION = 0.02
_NOT_CONVERGED_FACTOR = 10.0


class _Architecture:
    """Flat-buffer layout of a layered network (see ``_kernels``)."""

    def __init__(self, layer_sizes: Sequence[int]) -> None:
        sizes = np.asarray(layer_sizes, dtype=np.int64)
        self.layer_sizes = sizes
        self.weight_offsets = np.concatenate(([0], np.cumsum(sizes[:-1] * sizes[1:]))).astype(
            np.int64
        )
        self.bias_offsets = np.concatenate(([0], np.cumsum(sizes[1:]))).astype(np.int64)
        self.state_offsets = self.bias_offsets
        self.n_weights = int(self.weight_offsets[-1])
        self.n_biases = int(self.bias_offsets[-1])
        self.n_states = int(self.bias_offsets[-1])
        self.n_outputs = int(sizes[-1])

    def relax(
        self,
        inputs: np.ndarray,
        weights: np.ndarray,
        biases: np.ndarray,
        states: np.ndarray,
        targets: np.ndarray,
        beta: float,
        activation: int,
        max_steps: int,
        tol: float,
        omega: float = 1.0,
        n_plain: int = 0,
    ) -> tuple[int, float]:
        # the kernel indexes these without bounds checks
        n_samples = inputs.shape[0]
        if inputs.ndim != 2 or inputs.shape[1] != self.layer_sizes[0]:
            raise ValueError(
                f"inputs of shape {inputs.shape} for {self.layer_sizes[0]} input units"
            )
        if targets.shape != (n_samples, self.n_outputs):
            raise ValueError(
                f"targets of shape {targets.shape} for {n_samples} samples and "
                f"{self.n_outputs} output units"
            )
        if states.shape != (n_samples * self.n_states,):
            raise ValueError(f"states of shape {states.shape} for {n_samples} samples")
        # BLAS on one thread; the cores are used by groups of rows instead (see _threads)
        with _threads.single_threaded_blas():
            n_groups = n_samples // _MIN_ROWS_PER_THREAD
            if n_groups > 1:
                n_groups = min(n_groups, _threads.blas_threads())
            # samples relax independently of one another: groups of rows of the one state
            # buffer relax in threads, each kernel call writing only its own rows (a single
            # group runs in the calling thread)
            bounds = np.linspace(0, n_samples, max(n_groups, 1) + 1).astype(np.int64)
            results = _threads.run_concurrently(
                [
                    functools.partial(
                        self._relax_rows,
                        np.ascontiguousarray(inputs[a:b]),
                        weights,
                        biases,
                        states,
                        np.ascontiguousarray(targets[a:b]),
                        beta,
                        activation,
                        max_steps,
                        tol,
                        omega,
                        n_plain,
                        int(a),
                    )
                    for a, b in pairwise(bounds)
                ]
            )
            steps = max(result[0] for result in results)
            changes = [result[1] for result in results]
            change = math.nan if any(math.isnan(c) for c in changes) else max(changes)
            return steps, change

    def _relax_rows(
        self,
        inputs: np.ndarray,
        weights: np.ndarray,
        biases: np.ndarray,
        states: np.ndarray,
        targets: np.ndarray,
        beta: float,
        activation: int,
        max_steps: int,
        tol: float,
        omega: float = 1.0,
        n_plain: int = 0,
        first_row: int = 0,
    ) -> tuple[int, float]:
        steps, change = _kernels.relax(
            inputs,
            weights,
            biases,
            self.layer_sizes,
            self.weight_offsets,
            self.bias_offsets,
            self.state_offsets,
            states,
            targets,
            float(beta),
            activation,
            int(max_steps),
            float(tol),
            float(omega),
            int(n_plain),
            _late_factor(omega),
            _EARLY_SWEEPS,
            int(first_row),
        )
        return int(steps), float(change)

    def outputs(self, states: np.ndarray, n_samples: int) -> np.ndarray:
        start = n_samples * (self.n_states - self.n_outputs)
        return states[start:].reshape(n_samples, self.n_outputs)


class EquilibriumPropagationClassifier(ClassifierMixin, BaseEstimator):
    r"""Layered Hopfield-like network trained by Equilibrium Propagation.

    The network has a clamped input layer ``s_0 = x``, hidden layers ``s_1 .. s_{L-1}``
    and one output unit per class ``s_L``, with symmetric connections between adjacent
    layers (the same matrix ``W_l`` couples ``s_l`` to ``s_{l+1}`` and back). Its energy is

    .. math::

        E(s) = \sum_{l=1}^{L} \sum_i G(s_{l,i})
               - \sum_{l=0}^{L-1} s_l^\top W_l\, s_{l+1} - \sum_{l=1}^{L} b_l^\top s_l,

    where the states ``s`` are the unit activities and ``G`` is the primitive of the
    inverse activation (``G' = rho^{-1}``), so that a stationary point satisfies
    ``s_l = rho(W_{l-1}^T s_{l-1} + W_l s_{l+1} + b_l)``. For the hard sigmoid
    ``rho(u) = clip(u, 0, 1)``, ``G(s) = s^2 / 2`` on ``[0, 1]`` and this is exactly the
    energy ``1/2 sum s^2 - sum rho(s) W rho(s) - sum b rho(s)`` of Scellier & Bengio (2017)
    with states confined to ``[0, 1]``; for ``rho = tanh`` it is the same energy written in
    the activities ``rho(u)`` of pre-activations ``u`` (the formulation of Laborieux et al.,
    2021), ``G(s) = s artanh(s) + 1/2 log(1 - s^2)``.

    Training, per mini-batch (no backpropagation anywhere):

    1. **Free phase**: relax to a fixed point ``s^0`` of ``E`` (the prediction).
    2. **Nudged phase**: add ``beta * C`` with ``C = 1/2 ||s_L - t||^2``, the squared error
       of the output units against the targets ``t`` (the true class unit at 1, the others
       at -1 for tanh and 0 for the hard sigmoid), and relax again from ``s^0`` to
       ``s^beta``. With symmetric nudging (the default) this is done for ``+beta`` and
       ``-beta``.
    3. **Update**: ``Delta W_l = (lr / beta') (s_l^+ s_{l+1}^{+T} - s_l^- s_{l+1}^{-T})``,
       ``Delta b_l = (lr / beta') (s_l^+ - s_l^-)`` (batch mean), with
       ``(+, -, beta') = (+beta, -beta, 2 beta)`` for symmetric nudging or
       ``(+beta, free, beta)`` for one-sided nudging; the step is applied with momentum SGD
       and a cosine-annealed learning rate. As ``beta -> 0`` this is the gradient of the
       cost at the free fixed point.

    Relaxation is block coordinate descent on the energy: each step sweeps the layers,
    the odd-numbered hidden layers first and then the even-numbered ones (red-black
    order), setting each layer to the exact minimiser of the energy given its neighbours
    (in the nudged phases the
    output layer takes a fixed-point step ``s_L = rho(drive + beta (t - s_L))`` instead),
    until no state would move by more than ``relax_tol`` (or the step cap). The steps are
    over-relaxed by ``over_relaxation`` (successive over-relaxation), which reaches the same
    fixed points in fewer sweeps.

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default=(256, 128, 64)
        Number of units in each hidden layer.
    activation : {"tanh", "hard_sigmoid"}, default="tanh"
        Activation ``rho`` of the hidden and output units.
    beta : float, default=0.5
        Nudging strength, in ``(0, 1)``. Smaller values give a less biased gradient
        estimate but a noisier one when relaxation is inexact.
    symmetric_nudging : bool, default=True
        Nudge with ``+beta`` and ``-beta`` (cancels the first-order bias of the estimate;
        Laborieux et al., 2021). If False, nudge with ``+beta`` only and compare with the
        free phase (cheaper: two relaxations per batch instead of three).
    n_free_steps : int, default=400
        Cap on the number of relaxation sweeps of the free phase (also used in ``predict``).
        Most samples settle in 10-40 sweeps; the cap is high because a few linger near a
        saddle of the energy for tens of sweeps before they settle, and such rows cost
        little once the rest of the batch has stopped.
    n_nudged_steps : int, default=400
        Cap on the number of relaxation sweeps of each nudged phase.
    relax_tol : float, default=1e-3
        A relaxation has converged when, in a sweep, no unit is more than ``relax_tol``
        away from its plain update ``rho(drive)`` (for ``over_relaxation=1``: no unit
        changed by more than ``relax_tol``). A
        :class:`~sklearn.exceptions.ConvergenceWarning` is issued at the end of ``fit``
        when more than 2 % of the relaxations hit their step cap first, or when one of
        them stopped with a unit still more than ``10 * relax_tol`` away from its plain
        update in the last sweep.
    over_relaxation : float, default=1.4
        Factor ``omega`` of successive over-relaxation, in ``(0, 2)``: each update moves a
        layer ``omega`` times the step to ``rho(drive)``, clipped to the range of the
        activation. The fixed points do not depend on it; above 1 the relaxations need
        fewer sweeps (on the benchmark's trained networks, about half as many at 1.4 as at
        1). The free phases start with 3 plain sweeps from zero states; samples still
        moving after 15 sweeps continue with ``1 + 1.5 (omega - 1)`` (at most 1.9); the
        nudged output layer always takes the plain step. When the energy has several
        minima the one reached can depend on ``omega``; ``fit`` and ``predict`` use the
        same dynamics. 1 gives plain block coordinate descent.
    alpha : float, default=0.0
        Strength of an L2 penalty ``alpha / 2 * sum ||W_l||^2`` on the weights (not the
        biases), added to the mean cost: each step adds ``alpha * W_l`` to the EP estimate
        of the gradient. Same meaning as in :class:`~sklearn.neural_network.MLPClassifier`
        up to the scaling (there, the penalty is divided by the batch size).
    learning_rate_init : float or sequence of float, default=0.005
        Initial learning rate, either one for all layers or one per weight matrix (input to
        first hidden layer first; ``len(hidden_layer_sizes) + 1`` values). With momentum
        0.9, a rate of 0.02 drove the study's network, on some splits, into saturated
        states that no nudge moves (the training cost rose and stayed up) within a few
        epochs.
    momentum : float, default=0.9
        Momentum of the SGD updates, in ``[0, 1)``.
    batch_size : int, default=32
        Mini-batch size (clipped to the number of training samples).
    max_iter : int, default=100
        Maximum number of epochs. The learning rate follows a cosine from
        ``learning_rate_init`` at the first epoch to 0 after ``max_iter`` epochs.
    tol : float, default=1e-4
        Early stopping: a validation accuracy counts as an improvement when it beats the
        best so far by more than ``tol``.
    early_stopping : bool, default=True
        Hold out a stratified ``validation_fraction`` of the training data, stop when the
        validation accuracy has not improved for ``n_iter_no_change`` epochs, and keep the
        weights of the best epoch.
    validation_fraction : float, default=0.2
        Fraction of the training data held out for early stopping, in ``(0, 1)``. The
        default is larger than scikit-learn's 0.1: with the study's 40-200 training
        images per class, a 10 % split scores each epoch on a handful of images and
        stops on noise.
    n_iter_no_change : int, default=15
        Patience of early stopping, in epochs.
    warm_start : bool, default=False
        Start from the weights of the previous call to ``fit`` (same classes and number of
        features). The learning-rate schedule restarts.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, the validation split and the batch shuffling.
    verbose : bool, default=False
        Print the training cost (and validation accuracy) after each epoch.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during ``fit``, when ``X`` has string column names.
    coefs_ : list of ndarray
        ``coefs_[l]`` of shape ``(n_l, n_{l+1})`` is the symmetric coupling between layer
        ``l`` and layer ``l + 1``.
    intercepts_ : list of ndarray
        ``intercepts_[l]`` is the bias of layer ``l + 1``.
    n_iter_ : int
        Number of epochs run (over all calls to ``fit`` with ``warm_start``).
    loss_curve_ : list of float
        Mean cost ``C`` at the free fixed point over the training batches of each epoch.
    validation_scores_ : list of float or None
        Validation accuracy after each epoch (None without early stopping).
    best_validation_score_ : float or None
        Best validation accuracy (None without early stopping).
    mean_free_steps_ : float
        Mean number of relaxation sweeps per free phase during the last ``fit``.
    mean_nudged_steps_ : float
        Mean number of relaxation sweeps per nudged phase during the last ``fit``.

    Notes
    -----
    ``predict_proba`` maps each output activity to ``[0, 1]`` through the range of the
    activation (``(s + 1) / 2`` for tanh, ``s`` for the hard sigmoid) and normalises these
    values to sum to one over the classes (uniform when they are all zero). Its argmax is
    the prediction.

    Training raises ``FloatingPointError`` when the weights or states become non-finite
    or exceed ``1e6`` in absolute value (the learning rate or ``beta`` is too large).

    References
    ----------
    .. [1] B. Scellier and Y. Bengio, "Equilibrium Propagation: Bridging the Gap between
       Energy-Based Models and Backpropagation", Frontiers in Computational Neuroscience
       11:24, 2017. :doi:`10.3389/fncom.2017.00024`
    .. [2] A. Laborieux, M. Ernoult, B. Scellier, Y. Bengio, J. Grollier and D. Querlioz,
       "Scaling Equilibrium Propagation to Deep ConvNets by Drastically Reducing Its
       Gradient Estimator Bias", Frontiers in Neuroscience 15:633674, 2021.
       :doi:`10.3389/fnins.2021.633674`

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from qbloodcell.ep import EquilibriumPropagationClassifier
    >>> X, y = make_classification(n_samples=60, n_features=5, random_state=0)
    >>> clf = EquilibriumPropagationClassifier(
    ...     hidden_layer_sizes=(8,),
    ...     learning_rate_init=0.05,
    ...     max_iter=20,
    ...     early_stopping=False,
    ...     random_state=0,
    ... ).fit(X, y)
    >>> clf.predict(X[:3]).shape
    (3,)
    >>> bool(clf.score(X, y) > 0.8)
    True
    """

    _parameter_specs: ClassVar[dict[str, list[Spec]]] = {
        "hidden_layer_sizes": [IntegerSequence(1, scalar_ok=True, example="(256, 128, 64)")],
        "activation": [Options(sorted(_ACTIVATIONS))],
        "beta": [Real(0, 1, closed="neither")],
        "symmetric_nudging": [Boolean()],
        "n_free_steps": [Integer(1)],
        "n_nudged_steps": [Integer(1)],
        "relax_tol": [Real(0, closed="neither")],
        "over_relaxation": [Real(0, 2, closed="neither")],
        "alpha": [Real(0)],
        "learning_rate_init": [
            Real(0, closed="neither"),
            RealSequence(Real(0, closed="neither"), example="(0.01, 0.005, 0.005, 0.002)"),
        ],
        "momentum": [Real(0, 1, closed="left")],
        "batch_size": [Integer(1)],
        "max_iter": [Integer(1)],
        "tol": [Real(0)],
        "early_stopping": [Boolean()],
        "validation_fraction": [Real(0, 1, closed="neither")],
        "n_iter_no_change": [Integer(1)],
        "warm_start": [Boolean()],
        "random_state": [NoneValue(), RandomState()],
        "verbose": [Boolean()],
    }

    # fitted attributes (declared for type checkers; set by ``fit``)
    classes_: np.ndarray
    coefs_: list[np.ndarray]
    intercepts_: list[np.ndarray]
    validation_scores_: list[float] | None
    best_validation_score_: float | None

    def __init__(
        self,
        *,
        hidden_layer_sizes: Sequence[int] = (256, 128, 64),
        activation: str = "tanh",
        beta: float = 0.5,
        symmetric_nudging: bool = True,
        n_free_steps: int = 400,
        n_nudged_steps: int = 400,
        relax_tol: float = 1e-3,
        over_relaxation: float = 1.4,
        alpha: float = 0.0,
        learning_rate_init: float | Sequence[float] = 0.005,
        momentum: float = 0.9,
        batch_size: int = 32,
        max_iter: int = 100,
        tol: float = 1e-4,
        early_stopping: bool = True,
        validation_fraction: float = 0.2,
        n_iter_no_change: int = 15,
        warm_start: bool = False,
        random_state: Any = None,
        verbose: bool = False,
    ) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.beta = beta
        self.symmetric_nudging = symmetric_nudging
        self.n_free_steps = n_free_steps
        self.n_nudged_steps = n_nudged_steps
        self.relax_tol = relax_tol
        self.over_relaxation = over_relaxation
        self.alpha = alpha
        self.learning_rate_init = learning_rate_init
        self.momentum = momentum
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.tol = tol
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.warm_start = warm_start
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------ validation
    def _check_combinations(self) -> tuple[tuple[int, ...], np.ndarray]:
        """Rules between parameters, after :func:`~qbloodcell._validation.validate_params`.

        Returns the hidden layer sizes as a tuple and one learning rate per weight matrix.
        """
        hidden = self.hidden_layer_sizes
        sizes = (int(hidden),) if isinstance(hidden, numbers.Integral) else tuple(map(int, hidden))
        n_matrices = len(sizes) + 1
        rates: Any = self.learning_rate_init
        if isinstance(rates, numbers.Real):
            return sizes, np.full(n_matrices, float(rates))
        if len(rates) != n_matrices:
            raise ValueError(
                "learning_rate_init must be one positive float or len(hidden_layer_sizes) + 1 "
                f"= {n_matrices} of them (one per weight matrix); got {len(rates)} values "
                f"{tuple(rates)!r} for hidden_layer_sizes={hidden!r}."
            )
        return sizes, np.asarray(rates, dtype=np.float64)

    # ------------------------------------------------------------------ fitting
    def fit(self, X: Any, y: Any) -> EquilibriumPropagationClassifier:
        """Train the network by Equilibrium Propagation.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training features (standardise them, e.g. with
            :class:`~sklearn.preprocessing.StandardScaler`).
        y : array-like of shape (n_samples,)
            Class labels (any hashable labels, e.g. strings).

        Returns
        -------
        self : EquilibriumPropagationClassifier
            The fitted classifier.
        """
        validate_params(self)
        hidden, rates = self._check_combinations()
        X, y = validate_data(self, X, y, dtype=np.float64, order="C", reset=not self._warm())
        if X.size and (largest := float(np.max(np.abs(X)))) > _LARGE_FEATURE:
            warnings.warn(
                f"The features reach {largest:.3g} in absolute value: every unit they feed is "
                "saturated (its activity pinned at a bound), so the network learns nothing "
                "meaningful. Standardise the features first, e.g. with StandardScaler.",
                UserWarning,
                stacklevel=2,
            )
        check_classification_targets(y)
        classes, encoded = np.unique(y, return_inverse=True)
        if classes.shape[0] < 2:
            raise ValueError(
                "EquilibriumPropagationClassifier needs samples of at least 2 classes in y, "
                f"got 1 class: {classes[0]!r}."
            )
        warm = self._warm()
        if warm and not np.array_equal(classes, self.classes_):
            raise ValueError(
                f"warm_start=True but y has classes {classes!r}, while the previous fit saw "
                f"{self.classes_!r}; use warm_start=False to train a new network."
            )
        if warm and tuple(w.shape[1] for w in self.coefs_[:-1]) != tuple(hidden):
            raise ValueError(
                "warm_start=True but hidden_layer_sizes changed since the previous fit; "
                "use warm_start=False to train a new network."
            )
        rng = check_random_state(self.random_state)
        self.classes_ = classes
        layer_sizes = (X.shape[1], *hidden, classes.shape[0])
        arch = _Architecture(layer_sizes)
        activation = _ACTIVATIONS[self.activation]
        off, on = _TARGET_VALUES[self.activation]
        targets = np.full((X.shape[0], classes.shape[0]), off)
        targets[np.arange(X.shape[0]), encoded] = on

        if warm:
            weights = np.concatenate([w.ravel() for w in self.coefs_])
            biases = np.concatenate([b.ravel() for b in self.intercepts_])
        else:
            weights, biases = _initial_parameters(arch, rng)
            self.n_iter_ = 0
            self.loss_curve_ = []

        if self.early_stopping:
            counts = np.bincount(encoded)
            n_validation = math.ceil(self.validation_fraction * X.shape[0])
            if counts.min() < 2 or n_validation < classes.shape[0]:
                raise ValueError(
                    "early_stopping=True needs a stratified validation split with every "
                    f"class in it: got {X.shape[0]} samples, class counts {counts.tolist()} "
                    f"and validation_fraction={self.validation_fraction}. Use more samples, "
                    "a larger validation_fraction or early_stopping=False."
                )
            train_idx, valid_idx = train_test_split(
                np.arange(X.shape[0]),
                test_size=self.validation_fraction,
                stratify=encoded,
                random_state=rng,
            )
            X_train, t_train = X[train_idx], targets[train_idx]
            X_valid, y_valid = X[valid_idx], encoded[valid_idx]
            validation_scores: list[float] = []
            self.validation_scores_ = validation_scores
            best_score = -np.inf
            best = (weights.copy(), biases.copy())
            epochs_without_improvement = 0
        else:
            X_train, t_train = X, targets
            self.validation_scores_ = None
            self.best_validation_score_ = None

        weight_velocity = np.zeros_like(weights)
        bias_velocity = np.zeros_like(biases)
        weight_gradient = np.empty_like(weights)
        bias_gradient = np.empty_like(biases)
        weight_rates = np.repeat(rates, np.diff(arch.weight_offsets))
        bias_rates = np.repeat(rates, np.diff(arch.bias_offsets))
        beta = float(self.beta)
        n_train = X_train.shape[0]
        batch_size = min(int(self.batch_size), n_train)
        stats = _RelaxStats(self.relax_tol)

        # BLAS on one thread for the small products of the batches (see _threads)
        with _threads.single_threaded_blas():
            for epoch in range(self.max_iter):
                schedule = 0.5 * (1.0 + math.cos(math.pi * epoch / self.max_iter))
                order = rng.permutation(n_train)
                epoch_cost = 0.0
                for start in range(0, n_train, batch_size):
                    batch = order[start : start + batch_size]
                    inputs = np.ascontiguousarray(X_train[batch])
                    batch_targets = np.ascontiguousarray(t_train[batch])
                    n_batch = inputs.shape[0]
                    free = np.zeros(n_batch * arch.n_states)
                    stats.add_free(
                        arch.relax(
                            inputs,
                            weights,
                            biases,
                            free,
                            batch_targets,
                            0.0,
                            activation,
                            self.n_free_steps,
                            self.relax_tol,
                            self.over_relaxation,
                            _PLAIN_SWEEPS,
                        ),
                        self.n_free_steps,
                    )
                    epoch_cost += 0.5 * float(
                        np.sum((arch.outputs(free, n_batch) - batch_targets) ** 2)
                    )
                    plus = free.copy()
                    stats.add_nudged(
                        arch.relax(
                            inputs,
                            weights,
                            biases,
                            plus,
                            batch_targets,
                            beta,
                            activation,
                            self.n_nudged_steps,
                            self.relax_tol,
                            self.over_relaxation,
                        ),
                        self.n_nudged_steps,
                    )
                    if self.symmetric_nudging:
                        minus = free.copy()
                        stats.add_nudged(
                            arch.relax(
                                inputs,
                                weights,
                                biases,
                                minus,
                                batch_targets,
                                -beta,
                                activation,
                                self.n_nudged_steps,
                                self.relax_tol,
                                self.over_relaxation,
                            ),
                            self.n_nudged_steps,
                        )
                        scale = 2.0 * beta
                    else:
                        minus = free
                        scale = beta
                    _kernels.ep_gradient(
                        inputs,
                        arch.layer_sizes,
                        arch.weight_offsets,
                        arch.bias_offsets,
                        arch.state_offsets,
                        plus,
                        minus,
                        scale,
                        weight_gradient,
                        bias_gradient,
                    )
                    if self.alpha > 0:
                        weight_gradient += self.alpha * weights
                    weight_velocity *= self.momentum
                    weight_velocity -= schedule * weight_rates * weight_gradient
                    bias_velocity *= self.momentum
                    bias_velocity -= schedule * bias_rates * bias_gradient
                    weights += weight_velocity
                    biases += bias_velocity
                    _raise_if_diverged(weights, biases, stats.last_change, epoch)

                self.n_iter_ += 1
                self.loss_curve_.append(epoch_cost / n_train)
                message = f"Epoch {self.n_iter_}: cost = {self.loss_curve_[-1]:.6f}"
                if self.early_stopping:
                    outputs, _ = self._free_outputs(X_valid, weights, biases, arch, stats=None)
                    score = float(np.mean(np.argmax(outputs, axis=1) == y_valid))
                    validation_scores.append(score)
                    message += f", validation accuracy = {score:.4f}"
                    if score > best_score + self.tol:
                        best_score = score
                        best = (weights.copy(), biases.copy())
                        epochs_without_improvement = 0
                    else:
                        epochs_without_improvement += 1
                if self.verbose:
                    print(message)
                if self.early_stopping and epochs_without_improvement >= self.n_iter_no_change:
                    if self.verbose:
                        print(
                            f"Validation accuracy did not improve for {self.n_iter_no_change} "
                            "epochs: stopping."
                        )
                    break

        if self.early_stopping:
            weights, biases = best
            self.best_validation_score_ = float(best_score)
        self.coefs_ = [
            weights[arch.weight_offsets[i] : arch.weight_offsets[i + 1]]
            .reshape(layer_sizes[i], layer_sizes[i + 1])
            .copy()
            for i in range(len(layer_sizes) - 1)
        ]
        self.intercepts_ = [
            biases[arch.bias_offsets[i] : arch.bias_offsets[i + 1]].copy()
            for i in range(len(layer_sizes) - 1)
        ]
        self.mean_free_steps_ = stats.mean_free()
        self.mean_nudged_steps_ = stats.mean_nudged()
        stats.warn()
        return self

    def _warm(self) -> bool:
        return bool(self.warm_start) and hasattr(self, "coefs_")

    # ------------------------------------------------------------------ prediction
    def _free_outputs(
        self,
        X: np.ndarray,
        weights: np.ndarray,
        biases: np.ndarray,
        arch: _Architecture,
        stats: _RelaxStats | None,
    ) -> tuple[np.ndarray, tuple[int, float]]:
        n_samples = X.shape[0]
        states = np.zeros(n_samples * arch.n_states)
        result = arch.relax(
            X,
            weights,
            biases,
            states,
            np.zeros((n_samples, arch.n_outputs)),
            0.0,
            _ACTIVATIONS[self.activation],
            self.n_free_steps,
            self.relax_tol,
            self.over_relaxation,
            _PLAIN_SWEEPS,
        )
        if not np.isfinite(result[1]):
            raise FloatingPointError(
                "The free phase produced non-finite states: the weights are not finite."
            )
        return arch.outputs(states, n_samples).copy(), result

    def _output_activity(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, order="C", reset=False)
        layer_sizes = [w.shape[0] for w in self.coefs_] + [self.coefs_[-1].shape[1]]
        arch = _Architecture(layer_sizes)
        weights = np.concatenate([np.asarray(w, dtype=np.float64).ravel() for w in self.coefs_])
        biases = np.concatenate([np.asarray(b, dtype=np.float64).ravel() for b in self.intercepts_])
        stats = _RelaxStats(self.relax_tol)
        outputs, result = self._free_outputs(X, weights, biases, arch, stats)
        stats.add_free(result, self.n_free_steps)
        stats.warn()
        return outputs

    def predict(self, X: Any) -> np.ndarray:
        """Predict the class of each sample from the free fixed point.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        y : ndarray of shape (n_samples,)
            The class whose output unit is most active at the free fixed point.
        """
        outputs = self._output_activity(X)
        return self.classes_[np.argmax(outputs, axis=1)]

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities from the normalised output activity.

        Each output activity is mapped to ``[0, 1]`` through the range of the activation
        (``(s + 1) / 2`` for tanh, ``s`` for the hard sigmoid) and the values are divided by
        their sum over the classes (uniform when all are zero).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Rows sum to one; columns follow ``classes_``.
        """
        outputs = self._output_activity(X)
        low = _TARGET_VALUES[self.activation][0]
        activity = np.clip(outputs - low, 0.0, None)
        total = activity.sum(axis=1, keepdims=True)
        n_classes = activity.shape[1]
        with np.errstate(invalid="ignore", divide="ignore"):
            proba = np.where(total > 0, activity / np.where(total > 0, total, 1.0), 1.0 / n_classes)
        return proba


class _RelaxStats:
    """Counts relaxation sweeps and relaxations that hit their step cap."""

    def __init__(self, tol: float) -> None:
        self.tol = tol
        self.free_steps = 0
        self.free_phases = 0
        self.nudged_steps = 0
        self.nudged_phases = 0
        self.not_converged = 0
        self.worst_change = 0.0
        self.last_change = 0.0

    def _add(self, result: tuple[int, float], cap: int) -> None:
        change = result[1]
        self.last_change = change
        if not change <= self.tol:
            self.not_converged += 1
            self.worst_change = max(self.worst_change, change)

    def add_free(self, result: tuple[int, float], cap: int) -> None:
        self.free_steps += result[0]
        self.free_phases += 1
        self._add(result, cap)

    def add_nudged(self, result: tuple[int, float], cap: int) -> None:
        self.nudged_steps += result[0]
        self.nudged_phases += 1
        self._add(result, cap)

    def mean_free(self) -> float:
        return self.free_steps / max(self.free_phases, 1)

    def mean_nudged(self) -> float:
        return self.nudged_steps / max(self.nudged_phases, 1)

    def warn(self) -> None:
        # A few phases ending just above the tolerance are harmless; warn when they are
        # more than a sliver of all phases or when one stopped far from its fixed point.
        total = self.free_phases + self.nudged_phases
        if self.not_converged > _NOT_CONVERGED_FRACTION * total or (
            self.worst_change > _NOT_CONVERGED_FACTOR * self.tol
        ):
            warnings.warn(
                f"Relaxation did not converge in {self.not_converged} of {total} phases: "
                "the largest residual |rho(drive) - s| in the last sweep was "
                f"{self.worst_change:.3g} "
                f"(relax_tol={self.tol:g}). Increase n_free_steps / n_nudged_steps or "
                "relax_tol.",
                ConvergenceWarning,
                stacklevel=3,
            )


def _late_factor(omega: float) -> float:
    """Over-relaxation factor for the samples still moving after ``_EARLY_SWEEPS``.

    The best factor of successive over-relaxation, ``2 / (1 + sqrt(1 - r))`` for plain
    sweeps that shrink the error by ``r`` per sweep, grows as ``r`` nears 1: the slow
    samples get ``1 + 1.5 (omega - 1)`` (1.6 for the default 1.4), at most 1.9 and never
    less than ``omega``. Plain sweeps (``omega = 1``) and under-relaxation
    (``omega < 1``) are kept as they are.
    """
    if omega <= 1.0:
        return float(omega)
    return float(max(omega, min(1.0 + 1.5 * (float(omega) - 1.0), 1.9)))


def _initial_parameters(
    arch: _Architecture, rng: np.random.RandomState
) -> tuple[np.ndarray, np.ndarray]:
    """Uniform weights in ``+-1/sqrt(fan_in)`` and zero biases."""
    sizes = arch.layer_sizes
    blocks = [
        rng.uniform(-1.0, 1.0, size=int(sizes[i] * sizes[i + 1])) / math.sqrt(sizes[i])
        for i in range(len(sizes) - 1)
    ]
    return np.concatenate(blocks), np.zeros(arch.n_biases)


def _raise_if_diverged(
    weights: np.ndarray, biases: np.ndarray, last_change: float, epoch: int
) -> None:
    largest = max(float(np.max(np.abs(weights))), float(np.max(np.abs(biases))))
    if not (largest <= _MAX_ABS_WEIGHT and math.isfinite(last_change)):
        raise FloatingPointError(
            f"Equilibrium Propagation training diverged in epoch {epoch + 1} (largest "
            f"absolute weight {largest:.3g}; non-finite values or weights above "
            f"{_MAX_ABS_WEIGHT:g}). Reduce learning_rate_init or beta."
        )
