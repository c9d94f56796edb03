"""Equilibrium Propagation classifier with a scikit-learn API."""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from qbloodcell import _threads
from qbloodcell._early_stopping import EarlyStopping, continued_history, validation_split
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
from qbloodcell.ep import _training
from qbloodcell.ep._network import ACTIVATIONS, Dynamics, Network, RelaxStats


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
        The cap is high because a few samples linger near a saddle of the energy before
        they settle, and such rows cost little once the rest of the batch has stopped
        (see :ref:`ep` for the sweep counts).
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
        fewer sweeps (measured in :ref:`ep`). The free phases start with 3 plain sweeps
        from zero states; samples still moving after 15 sweeps continue with
        ``1 + 1.5 (omega - 1)`` (at most 1.9); the nudged output layer always takes the
        plain step. When the energy has several
        minima the one reached can depend on ``omega``; ``fit`` and ``predict`` use the
        same dynamics. 1 gives plain block coordinate descent.
    alpha : float, default=0.0
        Strength of an L2 penalty ``alpha / 2 * sum ||W_l||^2`` on the weights (not the
        biases), added to the mean cost: each step adds ``alpha * W_l`` to the EP estimate
        of the gradient. Same meaning as in :class:`~sklearn.neural_network.MLPClassifier`
        up to the scaling (there, the penalty is divided by the batch size).
    learning_rate_init : float or sequence of float, default=0.005
        Initial learning rate, either one for all layers or one per weight matrix (input to
        first hidden layer first; ``len(hidden_layer_sizes) + 1`` values). Larger rates
        can drive the network into saturated states that no nudge moves (:ref:`ep`).
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
        weights of the best epoch (:ref:`early-stopping`, the same for the CNN).
    validation_fraction : float, default=0.2
        Fraction of the training data held out for early stopping, in ``(0, 1)``. The
        default is larger than scikit-learn's 0.1: with the study's few training images
        per class, a 10 % split scores each epoch on a handful of images.
    n_iter_no_change : int, default=15
        Patience of early stopping, in epochs.
    warm_start : bool, default=False
        Start from the weights of the previous call to ``fit`` (same classes and number of
        features); ``n_iter_``, ``loss_curve_`` and ``validation_scores_`` continue. The
        momentum and the learning-rate schedule restart.
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
        "activation": [Options(sorted(ACTIVATIONS))],
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
        continuing = bool(self.warm_start) and hasattr(self, "coefs_")
        X, y = validate_data(self, X, y, dtype=np.float64, order="C", reset=not continuing)
        _training.warn_if_unscaled(X)
        check_classification_targets(y)
        classes, encoded = np.unique(y, return_inverse=True)
        _training.check_classes(
            classes, hidden, (self.classes_, self._hidden_layer_sizes()) if continuing else None
        )
        rng = check_random_state(self.random_state)
        self.classes_ = classes
        network = Network((X.shape[1], *hidden, classes.shape[0]))
        dynamics = Dynamics.of(self)
        targets = _training.output_targets(encoded, classes.shape[0], self.activation)

        if continuing:
            weights, biases = network.flatten(self.coefs_, self.intercepts_)
        else:
            weights, biases = network.initial_parameters(rng)
            self.n_iter_ = 0
            self.loss_curve_ = []
        scores = continued_history(
            getattr(self, "validation_scores_", None), self.early_stopping, continuing
        )
        self.validation_scores_ = scores
        if scores is not None:
            train_idx, valid_idx = validation_split(encoded, self.validation_fraction, rng)
            X_train, t_train = X[train_idx], targets[train_idx]
            X_valid, y_valid = X[valid_idx], encoded[valid_idx]
            monitor = EarlyStopping(self.n_iter_no_change, self.tol)
            best = (weights.copy(), biases.copy())
        else:
            X_train, t_train = X, targets

        optimizer = _training.MomentumSGD(network, rates, self.momentum, self.alpha)
        weight_gradient = np.empty_like(weights)
        bias_gradient = np.empty_like(biases)
        beta = float(self.beta)
        n_train = X_train.shape[0]
        batch_size = min(int(self.batch_size), n_train)
        stats = RelaxStats(self.relax_tol)

        # BLAS on one thread for the small products of the batches (see qbloodcell._threads)
        with _threads.single_threaded_blas():
            for epoch in range(self.max_iter):
                schedule = 0.5 * (1.0 + math.cos(math.pi * epoch / self.max_iter))
                order = rng.permutation(n_train)
                epoch_cost = 0.0
                for start in range(0, n_train, batch_size):
                    batch = order[start : start + batch_size]
                    inputs = np.ascontiguousarray(X_train[batch])
                    batch_targets = np.ascontiguousarray(t_train[batch])
                    # 1. free phase; 2. nudged phase(s); 3. EP update
                    free = network.free_phase(inputs, weights, biases, dynamics, stats)
                    epoch_cost += network.cost(free, batch_targets)
                    plus = network.nudged_phase(
                        inputs, weights, biases, free, batch_targets, beta, dynamics, stats
                    )
                    if self.symmetric_nudging:
                        minus = network.nudged_phase(
                            inputs, weights, biases, free, batch_targets, -beta, dynamics, stats
                        )
                        scale = 2.0 * beta
                    else:
                        minus, scale = free, beta
                    network.gradient(inputs, plus, minus, scale, weight_gradient, bias_gradient)
                    optimizer.step(weights, biases, weight_gradient, bias_gradient, schedule)
                    _training.raise_if_diverged(weights, biases, stats.last_change, epoch)

                self.n_iter_ += 1
                self.loss_curve_.append(epoch_cost / n_train)
                message = f"Epoch {self.n_iter_}: cost = {self.loss_curve_[-1]:.6f}"
                if scores is not None:
                    outputs = network.free_outputs(X_valid, weights, biases, dynamics)
                    score = float(np.mean(np.argmax(outputs, axis=1) == y_valid))
                    scores.append(score)
                    message += f", validation accuracy = {score:.4f}"
                    if monitor.update(score):
                        best = (weights.copy(), biases.copy())
                if self.verbose:
                    print(message)
                if self.early_stopping and monitor.should_stop:
                    if self.verbose:
                        print(
                            f"Validation accuracy did not improve for {self.n_iter_no_change} "
                            "epochs: stopping."
                        )
                    break

        if self.early_stopping:
            weights, biases = best
            self.best_validation_score_ = float(monitor.best_score)
        else:
            self.best_validation_score_ = None
        self.coefs_, self.intercepts_ = network.unflatten(weights, biases)
        self.mean_free_steps_ = stats.mean_free()
        self.mean_nudged_steps_ = stats.mean_nudged()
        stats.warn()
        return self

    def _hidden_layer_sizes(self) -> tuple[int, ...]:
        return tuple(int(w.shape[1]) for w in self.coefs_[:-1])

    # ------------------------------------------------------------------ prediction
    def _output_activity(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, order="C", reset=False)
        layer_sizes = [w.shape[0] for w in self.coefs_] + [self.coefs_[-1].shape[1]]
        network = Network(layer_sizes)
        weights, biases = network.flatten(self.coefs_, self.intercepts_)
        stats = RelaxStats(self.relax_tol)
        outputs = network.free_outputs(X, weights, biases, Dynamics.of(self), stats)
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
        low = _training.TARGET_VALUES[self.activation][0]
        activity = np.clip(outputs - low, 0.0, None)
        total = activity.sum(axis=1, keepdims=True)
        n_classes = activity.shape[1]
        with np.errstate(invalid="ignore", divide="ignore"):
            proba = np.where(total > 0, activity / np.where(total > 0, total, 1.0), 1.0 / n_classes)
        return proba
