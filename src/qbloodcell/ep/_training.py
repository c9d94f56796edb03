"""Training pieces of Equilibrium Propagation around the network.

The output targets, the optimizer, the divergence test and the ``warm_start`` checks.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from qbloodcell.ep._network import Network

# (off, on) target values of the output units, matched to the range of each activation
TARGET_VALUES = {"tanh": (-1.0, 1.0), "hard_sigmoid": (0.0, 1.0)}
# weights this large mean training has run away (inputs are expected to be standardised)
_MAX_ABS_WEIGHT = 1e6


class MomentumSGD:
    """Momentum SGD on the flat buffers, one learning rate per weight matrix.

    ``alpha`` adds the gradient of the L2 penalty ``alpha / 2 * sum ||W_l||^2`` (weights
    only); ``schedule`` scales the learning rates of a step (the cosine annealing).
    """

    def __init__(self, network: Network, rates: np.ndarray, momentum: float, alpha: float):
        self.weight_rates = np.repeat(rates, np.diff(network.weight_offsets))
        self.bias_rates = np.repeat(rates, np.diff(network.unit_offsets))
        self.momentum = momentum
        self.alpha = alpha
        self.weight_velocity = np.zeros(network.n_weights)
        self.bias_velocity = np.zeros(network.n_units)

    def step(
        self,
        weights: np.ndarray,
        biases: np.ndarray,
        weight_gradient: np.ndarray,
        bias_gradient: np.ndarray,
        schedule: float,
    ) -> None:
        if self.alpha > 0:
            weight_gradient += self.alpha * weights
        self.weight_velocity *= self.momentum
        self.weight_velocity -= schedule * self.weight_rates * weight_gradient
        self.bias_velocity *= self.momentum
        self.bias_velocity -= schedule * self.bias_rates * bias_gradient
        weights += self.weight_velocity
        biases += self.bias_velocity


def raise_if_diverged(
    weights: np.ndarray, biases: np.ndarray, last_change: float, epoch: int
) -> None:
    largest = max(float(np.max(np.abs(weights))), float(np.max(np.abs(biases))))
    if not (largest <= _MAX_ABS_WEIGHT and math.isfinite(last_change)):
        raise FloatingPointError(
            f"Equilibrium Propagation training diverged in epoch {epoch + 1} (largest "
            f"absolute weight {largest:.3g}; non-finite values or weights above "
            f"{_MAX_ABS_WEIGHT:g}). Reduce learning_rate_init or beta."
        )


def check_classes(
    classes: np.ndarray,
    hidden: tuple[int, ...],
    previous: tuple[np.ndarray, tuple[int, ...]] | None,
) -> None:
    """At least two classes, and with ``warm_start`` the classes and hidden sizes of before.

    ``previous`` holds the fitted ``classes_`` and hidden sizes when ``fit`` continues.
    """
    if classes.shape[0] < 2:
        raise ValueError(
            "EquilibriumPropagationClassifier needs samples of at least 2 classes in y, "
            f"got 1 class: {classes[0]!r}."
        )
    if previous is None:
        return
    previous_classes, previous_hidden = previous
    if not np.array_equal(classes, previous_classes):
        raise ValueError(
            f"warm_start=True but y has classes {classes!r}, while the previous fit saw "
            f"{previous_classes!r}; use warm_start=False to train a new network."
        )
    if previous_hidden != tuple(hidden):
        raise ValueError(
            "warm_start=True but hidden_layer_sizes changed since the previous fit; "
            "use warm_start=False to train a new network."
        )


def output_targets(encoded: np.ndarray, n_classes: int, activation: str) -> np.ndarray:
    """Targets of the output units: the true class's unit on, the others off."""
    off, on = TARGET_VALUES[activation]
    targets = np.full((encoded.shape[0], n_classes), off)
    targets[np.arange(encoded.shape[0]), encoded] = on
    return targets


#: Largest absolute feature value fit accepts without a warning (standardised features
#: stay far below it; one above it saturates every unit it feeds).
LARGE_FEATURE = 1e3


def warn_if_unscaled(X: np.ndarray) -> None:
    """Warn when features are so large that every unit they feed saturates."""
    if X.size and (largest := float(np.max(np.abs(X)))) > LARGE_FEATURE:
        warnings.warn(
            f"The features reach {largest:.3g} in absolute value: every unit they feed is "
            "saturated (its activity pinned at a bound), so the network learns nothing "
            "meaningful. Standardise the features first, e.g. with StandardScaler.",
            UserWarning,
            stacklevel=3,
        )
