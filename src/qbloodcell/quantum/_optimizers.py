"""The optimizers of the quantum classifiers, behind one function.

:func:`minimize_weights` runs the method named by a classifier's ``optimizer`` parameter on
a loss of the circuit weights and returns the best weights it saw. NLopt's compiled COBYLA
is the default of every quantum classifier; the gradient-free methods of
:func:`scipy.optimize.minimize` stay available (SciPy's COBYLA is the study's optimizer).
Adam and SciPy's L-BFGS-B use the exact parameter-shift gradient of the loss
(:mod:`qbloodcell.quantum._gradients`); SPSA (Spall) estimates a gradient from two loss
evaluations per step, for shot-based and hardware runs.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize

#: Gradient-free optimizers of :func:`scipy.optimize.minimize` accepted by ``optimizer``, with
#: the option that caps the number of objective evaluations for each.
SCIPY_OPTIMIZERS = {
    "COBYLA": "maxiter",
    "COBYQA": "maxfev",
    "Nelder-Mead": "maxfev",
    "Powell": "maxfev",
}
#: NLopt's C implementation of COBYLA (the default); since SciPy 1.16 SciPy's COBYLA is
#: pure Python, and its bookkeeping outweighs the exact simulation of a step.
NLOPT_COBYLA = "nlopt-COBYLA"
#: Optimizers that need the exact gradient of the loss (one evaluation: loss and gradient).
GRADIENT_OPTIMIZERS = ("adam", "l-bfgs-b")
#: Simultaneous perturbation stochastic approximation: two loss evaluations per step.
SPSA = "spsa"
#: Every accepted value of ``optimizer``, the default first.
OPTIMIZERS = (NLOPT_COBYLA, *SCIPY_OPTIMIZERS, *GRADIENT_OPTIMIZERS, SPSA)
#: Methods that build a linear model of the loss from ``n_weights + 1`` points first.
COBYLA_METHODS = ("COBYLA", NLOPT_COBYLA)
#: Default final trust-region radius, as SciPy's COBYLA (``tol=None``).
_COBYLA_RHOEND = 1e-4


#: Adam's moment decay rates and denominator offset (Kingma and Ba's defaults).
ADAM_BETAS = (0.9, 0.999)
ADAM_EPSILON = 1e-8
#: SPSA's perturbation size and gain exponents (Spall's recommended alpha, gamma); the
#: stability constant is a tenth of the number of steps.
SPSA_PERTURBATION = 0.1
SPSA_ALPHA = 0.602
SPSA_GAMMA = 0.101

LossAndGradient = Callable[[NDArray[np.float64]], tuple[float, NDArray[np.float64]]]


class _BudgetSpent(Exception):
    """Raised inside an optimizer's objective once ``max_iter`` evaluations are used."""


def minimize_weights(
    loss: Callable[[NDArray[np.float64]], float],
    initial_point: NDArray[np.float64],
    *,
    method: str,
    max_iter: int,
    tol: float | None,
    loss_and_gradient: LossAndGradient | None = None,
    learning_rate: float = 0.1,
    random_state: np.random.Generator | None = None,
) -> NDArray[np.float64]:
    """Minimise ``loss`` from ``initial_point`` with at most ``max_iter`` evaluations.

    The gradient methods (:data:`GRADIENT_OPTIMIZERS`) call ``loss_and_gradient`` instead,
    at most ``max_iter`` times. Returns the point of the lowest loss evaluated (COBYLA's last
    iterate need not be it).
    """
    best: list[Any] = [np.inf, np.array(initial_point, dtype=float)]
    count = [0]

    def remember(weights: NDArray[np.float64], value: float) -> None:
        count[0] += 1
        if value < best[0]:
            best[0], best[1] = value, np.array(weights, dtype=float)

    def tracked(weights: NDArray[np.float64]) -> float:
        if count[0] >= max_iter and method in (*GRADIENT_OPTIMIZERS, SPSA):
            raise _BudgetSpent
        value = loss(np.asarray(weights, dtype=float))
        remember(weights, value)
        return value

    def tracked_gradient(weights: NDArray[np.float64]) -> tuple[float, NDArray[np.float64]]:
        if count[0] >= max_iter:
            raise _BudgetSpent
        assert loss_and_gradient is not None
        value, gradient = loss_and_gradient(np.asarray(weights, dtype=float))
        remember(weights, value)
        return value, np.asarray(gradient, dtype=float)

    if method in GRADIENT_OPTIMIZERS:
        if loss_and_gradient is None:  # pragma: no cover - the classifiers always pass it
            raise ValueError(f"optimizer={method!r} needs the gradient of the loss.")
        with contextlib.suppress(_BudgetSpent):
            if method == "adam":
                _adam(tracked_gradient, initial_point, max_iter, tol, learning_rate)
            else:
                options: dict[str, Any] = {"maxfun": max_iter, "maxiter": max_iter}
                minimize(
                    tracked_gradient,
                    np.array(initial_point, dtype=float),
                    jac=True,
                    method="L-BFGS-B",
                    tol=tol,
                    options=options,
                )
        return np.asarray(best[1], dtype=float)
    if method == SPSA:
        rng = np.random.default_rng() if random_state is None else random_state
        with contextlib.suppress(_BudgetSpent):
            _spsa(tracked, initial_point, max_iter, learning_rate, rng)
        return np.asarray(best[1], dtype=float)
    if method == NLOPT_COBYLA:
        _nlopt_cobyla(tracked, initial_point, max_iter, tol)
    else:
        minimize(
            tracked,
            initial_point,
            method=method,
            tol=tol,
            options={SCIPY_OPTIMIZERS[method]: max_iter},
        )
    return np.asarray(best[1], dtype=float)


def _nlopt_cobyla(
    loss: Callable[[NDArray[np.float64]], float],
    initial_point: NDArray[np.float64],
    max_iter: int,
    tol: float | None,
) -> None:
    """NLopt's COBYLA with SciPy's COBYLA defaults (initial radius 1, final ``tol`` or 1e-4)."""
    try:
        import nlopt
    except ImportError:
        raise ImportError(
            f"optimizer={NLOPT_COBYLA!r} needs NLopt, which is not installed: "
            "pip install nlopt (a dependency of qbloodcell: reinstall qbloodcell to get it)."
        ) from None

    def nlopt_loss(weights: NDArray[np.float64], gradient: NDArray[np.float64]) -> float:
        return loss(weights)

    optimizer = nlopt.opt(nlopt.LN_COBYLA, len(initial_point))
    optimizer.set_min_objective(nlopt_loss)
    optimizer.set_maxeval(int(max_iter))
    optimizer.set_initial_step(1.0)
    optimizer.set_xtol_abs(_COBYLA_RHOEND if tol is None else float(tol))
    # RoundoffLimited: no further progress is possible; the best point so far is the answer
    with contextlib.suppress(nlopt.RoundoffLimited):
        optimizer.optimize(np.array(initial_point, dtype=float))


def _adam(
    loss_and_gradient: LossAndGradient,
    initial_point: NDArray[np.float64],
    max_iter: int,
    tol: float | None,
    learning_rate: float,
) -> None:
    """Adam (Kingma and Ba 2015) for ``max_iter`` steps, or until max |gradient| < ``tol``."""
    weights = np.array(initial_point, dtype=float)
    first = np.zeros_like(weights)
    second = np.zeros_like(weights)
    beta1, beta2 = ADAM_BETAS
    for step in range(1, max_iter + 1):
        _, gradient = loss_and_gradient(weights)
        if tol is not None and float(np.max(np.abs(gradient))) < tol:
            return
        first = beta1 * first + (1.0 - beta1) * gradient
        second = beta2 * second + (1.0 - beta2) * gradient**2
        corrected_first = first / (1.0 - beta1**step)
        corrected_second = second / (1.0 - beta2**step)
        weights = weights - learning_rate * corrected_first / (
            np.sqrt(corrected_second) + ADAM_EPSILON
        )


def _spsa(
    loss: Callable[[NDArray[np.float64]], float],
    initial_point: NDArray[np.float64],
    max_iter: int,
    learning_rate: float,
    rng: np.random.Generator,
) -> None:
    """SPSA (Spall 1992): two evaluations per step, at ``w ± c_k Δ`` with random signs Δ.

    Gains ``a_k = learning_rate * ((1 + A) / (k + 1 + A))**alpha`` (the first step's gain
    is ``learning_rate``) and ``c_k = SPSA_PERTURBATION / (k + 1)**gamma``, ``A`` a tenth of
    the number of steps.
    """
    weights = np.array(initial_point, dtype=float)
    n_steps = max(1, max_iter // 2)
    stability = 0.1 * n_steps
    for k in range(n_steps):
        gain = learning_rate * ((1.0 + stability) / (k + 1.0 + stability)) ** SPSA_ALPHA
        perturbation = SPSA_PERTURBATION / (k + 1.0) ** SPSA_GAMMA
        delta = rng.choice((-1.0, 1.0), size=weights.size)
        plus = loss(weights + perturbation * delta)
        minus = loss(weights - perturbation * delta)
        weights = weights - gain * (plus - minus) / (2.0 * perturbation) * delta
