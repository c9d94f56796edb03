"""The optimizers of the quantum classifiers, behind one function.

:func:`minimize_weights` runs the method named by a classifier's ``optimizer`` parameter on
a loss of the circuit weights and returns the best weights it saw. NLopt's compiled COBYLA
is the default of every quantum classifier; the gradient-free methods of
:func:`scipy.optimize.minimize` stay available (SciPy's COBYLA is the study's optimizer).
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
#: Every accepted value of ``optimizer``, the default first.
OPTIMIZERS = (NLOPT_COBYLA, *SCIPY_OPTIMIZERS)
#: Methods that build a linear model of the loss from ``n_weights + 1`` points first.
COBYLA_METHODS = ("COBYLA", NLOPT_COBYLA)
#: Default final trust-region radius, as SciPy's COBYLA (``tol=None``).
_COBYLA_RHOEND = 1e-4


def minimize_weights(
    loss: Callable[[NDArray[np.float64]], float],
    initial_point: NDArray[np.float64],
    *,
    method: str,
    max_iter: int,
    tol: float | None,
) -> NDArray[np.float64]:
    """Minimise ``loss`` from ``initial_point`` with at most ``max_iter`` evaluations.

    Returns the point of the lowest loss evaluated (COBYLA's last iterate need not be it).
    """
    best: list[Any] = [np.inf, np.array(initial_point, dtype=float)]

    def tracked(weights: NDArray[np.float64]) -> float:
        value = loss(np.asarray(weights, dtype=float))
        if value < best[0]:
            best[0], best[1] = value, np.array(weights, dtype=float)
        return value

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
