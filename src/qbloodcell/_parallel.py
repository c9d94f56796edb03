"""What ``n_jobs`` means, defined once for every estimator and function of the package.

``n_jobs`` follows scikit-learn's glossary, through :func:`joblib.effective_n_jobs`:

- ``None``: one job, unless the call runs inside a ``joblib.parallel_config(n_jobs=k)``
  block, which then sets it (so a whole pipeline can be made parallel from outside);
- a positive integer ``k``: ``k`` jobs (threads or processes, as each parameter's
  documentation says), capped at the pool the work runs in;
- ``-1``: all the cores this process may use (its CPU affinity and container limit);
  ``-2`` all but one, and so on.

``0`` is rejected at validation (:class:`qbloodcell._validation.NJobs`).
"""

from __future__ import annotations

import joblib


def effective_n_jobs(n_jobs: int | None, *, cap: int | None = None) -> int:
    """The number of jobs ``n_jobs`` stands for (at least 1, at most ``cap`` if given)."""
    count = int(joblib.effective_n_jobs(n_jobs))
    if cap is not None:
        count = min(count, int(cap))
    return max(1, count)
