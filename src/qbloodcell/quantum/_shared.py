"""Parameters that hold live objects: shared by ``clone``, left out of a pickle if need be.

A Qiskit primitive, a Runtime session, a noise model, a pass manager or a callback is a
live object: ``clone`` passes it on rather than copying it (a hardware session must not be
duplicated, and a copied callback would record into a copy of the user's list), and a
pickle that cannot hold one (Qiskit's preset pass managers, a local function) leaves it
out with a warning that says what the unpickled estimator does without it. Used by the
quantum classifiers (``_base``) and the quantum kernels and their SVC.
"""

from __future__ import annotations

import pickle
import warnings
from collections.abc import Iterable, Mapping
from typing import Any

from sklearn.base import BaseEstimator, clone


def clone_sharing(estimator: BaseEstimator, shared: Iterable[str]) -> Any:
    """A clone of ``estimator`` whose ``shared`` parameters are the same objects, not copies."""
    params = estimator.get_params(deep=False)
    kept = {name: params.pop(name) for name in shared if name in params}
    copied = {name: clone(value, safe=False) for name, value in params.items()}
    return type(estimator)(**copied, **kept)


def without_unpicklable(
    state: dict[str, Any],
    shared: Iterable[str],
    *,
    owner: str,
    consequences: Mapping[str, str] | None = None,
    default: str | None = None,
) -> dict[str, Any]:
    """``state`` with each shared parameter that cannot be pickled set to None, with a warning.

    ``consequences[name]`` (else ``default``) says what the unpickled ``owner`` does
    without the parameter; the warning names it. ``stacklevel`` points at the caller of
    ``pickle.dumps`` through the estimator's ``__getstate__``.
    """
    for name in shared:
        value = state.get(name)
        if value is None:
            continue
        try:
            pickle.dumps(value)
        except Exception as error:
            consequence = (consequences or {}).get(name, default)
            without = f" and {consequence}" if consequence else ""
            warnings.warn(
                f"{name} of type {type(value).__name__} cannot be pickled ({error}); it is "
                f"left out, and the unpickled {owner} has {name}=None{without} until you "
                f"set it again with set_params({name}=...).",
                UserWarning,
                stacklevel=3,
            )
            state[name] = None
    return state
