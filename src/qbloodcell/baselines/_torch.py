"""Lazy access to torch, an optional dependency of :mod:`qbloodcell.baselines`."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from qbloodcell._parallel import effective_n_jobs

INSTALL_HINT = (
    "The CNN baseline needs PyTorch, an optional dependency of qbloodcell. Install it with "
    "pip install 'qbloodcell[torch]' (or follow https://pytorch.org/get-started/ for a "
    "GPU build)."
)


def import_torch() -> Any:
    """Import and return :mod:`torch`, or raise an ImportError that says how to install it.

    ``import qbloodcell.baselines`` never imports torch; estimators call this helper from
    ``fit`` and ``predict`` instead.
    """
    try:
        return importlib.import_module("torch")
    except ImportError as exc:
        raise ImportError(INSTALL_HINT) from exc


def effective_n_threads(n_jobs: int | None) -> int:
    """Number of torch threads for ``n_jobs``, in the package's one meaning of ``n_jobs``.

    See :func:`qbloodcell._parallel.effective_n_jobs`: ``None`` is one thread unless the
    call runs inside :func:`joblib.parallel_config`, ``-1`` all cores.
    """
    return effective_n_jobs(n_jobs)


@contextmanager
def torch_threads(torch: Any, n_jobs: int | None) -> Iterator[None]:
    """Run the block with ``torch.set_num_threads`` set from ``n_jobs``, then restore it."""
    n_threads = effective_n_threads(n_jobs)
    previous = torch.get_num_threads()
    torch.set_num_threads(n_threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def resolve_device(torch: Any, device: Any) -> Any:
    """Return ``torch.device(device)`` after checking that the device can be used."""
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise ValueError(
            f"device must be a torch device or its name, such as 'cpu', 'cuda' or 'cuda:1'; "
            f"got {device!r}."
        ) from None
    if resolved.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(
                f"device={device!r} but CUDA is not available to this torch installation "
                f"(torch {torch.__version__}, torch.cuda.is_available() is False). Use "
                "device='cpu', or set_params(device='cpu') on a model trained on a GPU."
            )
        if resolved.index is not None and resolved.index >= torch.cuda.device_count():
            raise ValueError(
                f"device={device!r} but only {torch.cuda.device_count()} CUDA device(s) are "
                "visible."
            )
    elif resolved.type == "mps":
        if not torch.backends.mps.is_available():
            raise ValueError(f"device={device!r} but the MPS backend is not available.")
    elif resolved.type != "cpu":
        raise ValueError(f"device must be 'cpu', 'cuda', 'cuda:<index>' or 'mps'; got {device!r}.")
    return resolved


def device_types() -> tuple[type, ...]:
    # a torch.device exists only once torch is imported: validation never imports it
    torch = sys.modules.get("torch")
    return (str,) if torch is None else (str, torch.device)


def optimizer_to(optimizer: Any, device: Any) -> None:
    for parameter_state in optimizer.state.values():
        for key, value in parameter_state.items():
            # Adam keeps its step counter on the CPU unless told otherwise
            if key != "step" and hasattr(value, "to"):
                parameter_state[key] = value.to(device)


def tensors_to_numpy(value: Any) -> Any:
    if hasattr(value, "detach") and hasattr(value, "cpu"):
        return value.detach().cpu().numpy().copy()
    if isinstance(value, dict):
        return {key: tensors_to_numpy(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(tensors_to_numpy(item) for item in value)
    return value


def numpy_to_tensors(torch: Any, value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return torch.from_numpy(value.copy())
    if isinstance(value, dict):
        return {key: numpy_to_tensors(torch, item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(numpy_to_tensors(torch, item) for item in value)
    return value
