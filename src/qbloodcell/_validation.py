"""The one parameter-validation mechanism of the package.

Every estimator declares its constructor parameters in a class attribute
``_parameter_specs`` (name -> list of accepted alternatives) and calls
:func:`validate_params` at the top of ``fit``; every public function declares its
arguments the same way and calls :func:`check_arguments` first. One rule for the exception
type holds everywhere:

- a value of a type no alternative accepts raises :class:`TypeError`
  (``max_iter=1.5``, ``early_stopping="yes"``, ``optimizer=3``);
- a value of an accepted type outside every accepted range or set raises
  :class:`ValueError` (``max_iter=0``, ``optimizer="Adam!"``, ``beta=1.0``).

Messages name the parameter, what was received and what is accepted, and may add a hint
(``"reduce the learning rate"``). scikit-learn's own ``_parameter_constraints`` were the
other candidate: its :class:`~sklearn.utils._param_validation.InvalidParameterError` is a
subclass of both ``TypeError`` and ``ValueError`` (so "same bad value, same exception type"
would hold only vacuously), its messages cannot carry a hint, and the constraint classes
live in a private module. This module uses only public Python and NumPy.

Cross-parameter rules (``high_frequency_cutoff >= low_frequency_cutoff``, an image size
large enough for the network depth) stay in the estimator, after :func:`validate_params`.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

__all__ = [
    "AnyCallable",
    "Boolean",
    "HasMethods",
    "InstanceOf",
    "Integer",
    "IntegerSequence",
    "NJobs",
    "NoneValue",
    "Options",
    "PathLike",
    "RandomState",
    "Real",
    "RealSequence",
    "Spec",
    "check_arguments",
    "validate_params",
]


class Spec:
    """One accepted alternative for a parameter.

    ``accepts_type(value)`` says whether the value is of a type this alternative takes;
    ``accepts_value(value)`` (asked only then) whether it is in range. ``describe()`` is the
    phrase used in messages, such as ``"an integer >= 1"``.
    """

    def accepts_type(self, value: Any) -> bool:
        raise NotImplementedError

    def accepts_value(self, value: Any) -> bool:
        return True

    def describe(self) -> str:
        raise NotImplementedError

    # for the parameter sweep test: values this alternative rejects, by kind
    def invalid_value(self) -> Any:
        """A value of an accepted type that this alternative rejects, or ``_NO_VALUE``."""
        return _NO_VALUE

    def invalid_values(self) -> list[Any]:
        """Every kind of value of an accepted type that this alternative rejects.

        :meth:`invalid_value` and, where there are more kinds (a number above the upper
        bound as well as one below the lower, NaN), those too.
        """
        value = self.invalid_value()
        return [] if value is _NO_VALUE else [value]


class _NoValue:
    def __repr__(self) -> str:
        return "<no value>"


#: Marker: a spec whose every value of the accepted type is valid (a flag, a callable).
_NO_VALUE: Any = _NoValue()


def _is_integer(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool | np.bool_)


def _is_real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_)


def _fmt(number: float) -> str:
    return f"{number:g}" if isinstance(number, float) else str(number)


class NoneValue(Spec):
    """``None``."""

    def accepts_type(self, value: Any) -> bool:
        return value is None

    def describe(self) -> str:
        return "None"


class Integer(Spec):
    """An integer (not a bool) in ``[low, high]``; either bound may be ``None``."""

    def __init__(self, low: int | None = None, high: int | None = None) -> None:
        self.low = low
        self.high = high

    def accepts_type(self, value: Any) -> bool:
        return _is_integer(value)

    def accepts_value(self, value: Any) -> bool:
        return (self.low is None or value >= self.low) and (self.high is None or value <= self.high)

    def describe(self) -> str:
        if self.low is not None and self.high is not None:
            return f"an integer from {self.low} to {self.high}"
        if self.low is not None:
            return f"an integer >= {self.low}"
        if self.high is not None:
            return f"an integer <= {self.high}"
        return "an integer"

    def invalid_value(self) -> Any:
        if self.low is not None:
            return self.low - 1
        if self.high is not None:
            return self.high + 1
        return _NO_VALUE

    def invalid_values(self) -> list[Any]:
        below = [] if self.low is None else [self.low - 1]
        return below + ([] if self.high is None else [self.high + 1])


class Real(Spec):
    """A finite real number (integers included, bools not) in an interval.

    ``closed`` is ``"both"``, ``"left"``, ``"right"`` or ``"neither"``; either bound may be
    ``None`` (unbounded on that side).
    """

    def __init__(
        self, low: float | None = None, high: float | None = None, *, closed: str = "both"
    ) -> None:
        if closed not in ("both", "left", "right", "neither"):
            raise ValueError(f"closed must be 'both', 'left', 'right' or 'neither'; got {closed!r}")
        self.low = low
        self.high = high
        self.closed = closed

    def accepts_type(self, value: Any) -> bool:
        return _is_real(value)

    def accepts_value(self, value: Any) -> bool:
        # an int too large for a float is finite (math.isfinite would overflow on it)
        if not isinstance(value, numbers.Integral) and not math.isfinite(value):
            return False
        low_open = self.closed in ("right", "neither")
        high_open = self.closed in ("left", "neither")
        above_low = self.low is None or value > self.low or (value == self.low and not low_open)
        below_high = (
            self.high is None or value < self.high or (value == self.high and not high_open)
        )
        return above_low and below_high

    def describe(self) -> str:
        if self.low is None and self.high is None:
            return "a finite real number"
        if self.high is None:
            sign = ">=" if self.closed in ("both", "left") else ">"
            return f"a finite real number {sign} {_fmt(self.low)}"  # type: ignore[arg-type]
        if self.low is None:
            sign = "<=" if self.closed in ("both", "right") else "<"
            return f"a finite real number {sign} {_fmt(self.high)}"
        left = "[" if self.closed in ("both", "left") else "("
        right = "]" if self.closed in ("both", "right") else ")"
        return f"a real number in {left}{_fmt(self.low)}, {_fmt(self.high)}{right}"

    def invalid_value(self) -> Any:
        if self.low is not None:
            return self.low - 1.0 if self.closed in ("both", "left") else float(self.low)
        if self.high is not None:
            return self.high + 1.0 if self.closed in ("both", "right") else float(self.high)
        return math.inf

    def invalid_values(self) -> list[Any]:
        values: list[Any] = []
        if self.low is not None:
            values.append(self.low - 1.0 if self.closed in ("both", "left") else float(self.low))
        if self.high is not None:
            values.append(self.high + 1.0 if self.closed in ("both", "right") else float(self.high))
        return [*values, math.nan, math.inf]


class Boolean(Spec):
    """``True`` or ``False`` (NumPy bools included)."""

    def accepts_type(self, value: Any) -> bool:
        return isinstance(value, bool | np.bool_)

    def describe(self) -> str:
        return "True or False"


class Options(Spec):
    """One of a fixed set of strings."""

    def __init__(self, options: Iterable[str]) -> None:
        self.options = tuple(options)

    def accepts_type(self, value: Any) -> bool:
        return isinstance(value, str)

    def accepts_value(self, value: Any) -> bool:
        return value in self.options

    def describe(self) -> str:
        return f"one of {list(self.options)}"

    def invalid_value(self) -> Any:
        return "not-an-option"


class AnyCallable(Spec):
    """Any callable."""

    def accepts_type(self, value: Any) -> bool:
        return callable(value)

    def describe(self) -> str:
        return "a callable"


class HasMethods(Spec):
    """An object with the named methods (duck typing, as for a Qiskit primitive)."""

    def __init__(self, methods: Sequence[str], description: str) -> None:
        self.methods = tuple(methods)
        self.description = description

    def accepts_type(self, value: Any) -> bool:
        return all(callable(getattr(value, name, None)) for name in self.methods)

    def describe(self) -> str:
        return self.description


class InstanceOf(Spec):
    """An instance of the given types; ``types`` may be a callable returning them (lazy import)."""

    def __init__(self, types: Any, description: str) -> None:
        self._types = types
        self.description = description

    def accepts_type(self, value: Any) -> bool:
        types = (
            self._types()
            if callable(self._types) and not isinstance(self._types, type)
            else self._types
        )
        return isinstance(value, types)

    def describe(self) -> str:
        return self.description


class PathLike(Spec):
    """A ``str`` or :class:`os.PathLike`."""

    def accepts_type(self, value: Any) -> bool:
        import os

        return isinstance(value, str | os.PathLike)

    def describe(self) -> str:
        return "a str or path-like"


class RandomState(Spec):
    """What :func:`sklearn.utils.check_random_state` takes besides ``None``."""

    def accepts_type(self, value: Any) -> bool:
        return _is_integer(value) or isinstance(value, np.random.RandomState)

    def accepts_value(self, value: Any) -> bool:
        return not _is_integer(value) or 0 <= value < 2**32

    def describe(self) -> str:
        return "an integer from 0 to 2**32 - 1, a numpy.random.RandomState or None"

    def invalid_value(self) -> Any:
        return -1

    def invalid_values(self) -> list[Any]:
        return [-1, 2**32]


class NJobs(Spec):
    """A number of jobs: a non-zero integer (negative counts back from all cores, -1 = all).

    ``None`` is a separate alternative (:class:`NoneValue`); what it means is defined once,
    in :func:`qbloodcell._parallel.effective_n_jobs`.
    """

    def accepts_type(self, value: Any) -> bool:
        return _is_integer(value)

    def accepts_value(self, value: Any) -> bool:
        return value != 0

    def describe(self) -> str:
        return "a non-zero integer (-1 = all cores)"

    def invalid_value(self) -> Any:
        return 0


def _is_sequence(value: Any) -> bool:
    # a str is a sequence of characters, never of numbers; ndarray is no registered Sequence
    return (isinstance(value, Sequence) and not isinstance(value, str | bytes)) or isinstance(
        value, np.ndarray
    )


class IntegerSequence(Spec):
    """A non-empty sequence (tuple, list, range, array) of integers >= ``low``.

    With ``scalar_ok`` one integer is accepted too (it stands for a sequence of one).
    """

    def __init__(self, low: int = 1, *, scalar_ok: bool = False, example: str = "(16, 32)") -> None:
        self.low = low
        self.scalar_ok = scalar_ok
        self.example = example

    def accepts_type(self, value: Any) -> bool:
        if self.scalar_ok and _is_integer(value):
            return True
        return _is_sequence(value) and all(_is_integer(v) for v in value)

    def accepts_value(self, value: Any) -> bool:
        values = [value] if _is_integer(value) else list(value)
        return len(values) > 0 and all(v >= self.low for v in values)

    def describe(self) -> str:
        what = f"a non-empty tuple of integers >= {self.low}, such as {self.example}"
        return f"an integer >= {self.low} or {what}" if self.scalar_ok else what

    def invalid_value(self) -> Any:
        return ()

    def invalid_values(self) -> list[Any]:
        return [(), (self.low, self.low - 1)]


class RealSequence(Spec):
    """A non-empty sequence (tuple, list, array) of finite reals, each accepted by ``element``.

    For a parameter that takes one number or one per item (``learning_rate_init``), pair it
    with the :class:`Real` alternative for the single number. How many entries are needed
    usually depends on another parameter: that rule stays in the estimator.
    """

    def __init__(self, element: Real, *, example: str = "(0.01, 0.005)") -> None:
        self.element = element
        self.example = example

    def accepts_type(self, value: Any) -> bool:
        return _is_sequence(value) and all(_is_real(v) for v in value)

    def accepts_value(self, value: Any) -> bool:
        values = list(value)
        return len(values) > 0 and all(self.element.accepts_value(v) for v in values)

    def describe(self) -> str:
        return (
            f"a non-empty sequence of numbers, each {self.element.describe()}, such as "
            f"{self.example}"
        )

    def invalid_value(self) -> Any:
        return ()

    def invalid_values(self) -> list[Any]:
        return [(), *((value,) for value in self.element.invalid_values())]


def _describe(alternatives: Sequence[Spec]) -> str:
    phrases = [spec.describe() for spec in alternatives]
    if len(phrases) == 1:
        return phrases[0]
    return ", ".join(phrases[:-1]) + " or " + phrases[-1]


def _received(value: Any, *, with_type: bool) -> str:
    simple = value is None or isinstance(value, str | numbers.Number | np.bool_ | tuple | list)
    if not simple or len(repr(value)) > 60:
        return f"an object of type {type(value).__name__}"
    return f"{value!r} of type {type(value).__name__}" if with_type else repr(value)


def check_value(name: str, value: Any, alternatives: Sequence[Spec], *, hint: str = "") -> None:
    """Raise TypeError or ValueError unless ``value`` satisfies one of ``alternatives``."""
    typed = [spec for spec in alternatives if spec.accepts_type(value)]
    if any(spec.accepts_value(value) for spec in typed):
        return
    message = (
        f"{name} must be {_describe(alternatives)}; got {_received(value, with_type=not typed)}."
    )
    if hint:
        message = f"{message} {hint}"
    raise (ValueError if typed else TypeError)(message)


def check_arguments(
    arguments: Mapping[str, Any],
    specs: Mapping[str, Sequence[Spec]],
    *,
    hints: Mapping[str, str] | None = None,
) -> None:
    """Validate the ``arguments`` of a public function against ``specs``.

    Every name in ``arguments`` must have a spec (a forgotten one is a bug here, not the
    caller's), so a new argument cannot go unchecked.
    """
    hints = hints or {}
    for name, value in arguments.items():
        check_value(name, value, specs[name], hint=hints.get(name, ""))


def validate_params(estimator: Any) -> None:
    """Validate an estimator's constructor parameters against its ``_parameter_specs``.

    Called first thing in ``fit`` (parameters are set freely by ``__init__`` and
    ``set_params``, as scikit-learn requires). Parameters absent from the specs are a bug.
    """
    specs: Mapping[str, Sequence[Spec]] = type(estimator)._parameter_specs
    hints: Mapping[str, str] = getattr(type(estimator), "_parameter_hints", {})
    params = estimator.get_params(deep=False)
    missing = sorted(set(params) - set(specs))
    if missing:
        raise RuntimeError(
            f"{type(estimator).__name__} has parameters without a spec: {missing} (a bug in "
            "qbloodcell; please report it)."
        )
    check_arguments(params, specs, hints=hints)
