"""Real against synthetic: do two image sets look alike to the features?

:func:`compare_feature_distributions` takes the features of a real and a synthetic sample
(both labelled with the same two classes) and reports, per feature, how far the synthetic
class difference and class means sit from the real ones; :func:`plot_feature_distributions`
draws the class-conditional distributions side by side. Together they are how the synthetic
generator (:func:`qbloodcell.datasets.make_blood_cells`) was calibrated, and how anyone can
check it against their own real images (see the calibration page of the user guide).

This is the one module that uses both :mod:`qbloodcell.datasets` and
:mod:`qbloodcell.features`; neither imports the other.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.utils import Bunch

from qbloodcell._validation import (
    Boolean,
    InstanceOf,
    Integer,
    NoneValue,
    Spec,
    check_arguments,
)

__all__ = ["compare_feature_distributions", "plot_feature_distributions"]

_SEQUENCE = InstanceOf((list, tuple, np.ndarray), "a sequence")

#: What each argument of :func:`compare_feature_distributions` accepts.
_COMPARE_SPECS: dict[str, list[Spec]] = {
    "feature_names": [NoneValue(), _SEQUENCE],
    "classes": [NoneValue(), _SEQUENCE],
    "as_frame": [Boolean()],
}

#: What each argument of :func:`plot_feature_distributions` accepts.
_PLOT_SPECS: dict[str, list[Spec]] = {
    "feature_names": [NoneValue(), _SEQUENCE],
    "classes": [NoneValue(), _SEQUENCE],
    "class_names": [NoneValue(), _SEQUENCE],
    "n_columns": [Integer(1)],
    "bins": [Integer(2)],
}


def _check_sample(X: Any, y: Any, which: str) -> tuple[np.ndarray, np.ndarray]:
    """A 2-d finite float feature matrix and a 1-d label vector of the same length."""
    X = np.asarray(X)
    y = np.asarray(y)
    if X.ndim != 2:
        raise ValueError(f"{which}_X must be 2-d (samples, features); got shape {X.shape}.")
    if not (np.issubdtype(X.dtype, np.number) or X.dtype == bool):
        raise TypeError(f"{which}_X must hold numbers; got dtype {X.dtype}.")
    X = X.astype(np.float64)
    if not np.all(np.isfinite(X)):
        raise ValueError(f"{which}_X must be finite; it holds NaN or infinity.")
    if y.ndim != 1 or y.shape[0] != X.shape[0]:
        raise ValueError(
            f"{which}_y must be 1-d with one label per row of {which}_X ({X.shape[0]}); "
            f"got shape {y.shape}."
        )
    return X, y


def _prepare(
    real_X: Any,
    real_y: Any,
    synthetic_X: Any,
    synthetic_y: Any,
    feature_names: Sequence[str] | None,
    classes: Sequence[Any] | None,
) -> tuple[list[np.ndarray], list[np.ndarray], list[str], list[Any]]:
    """Split both samples by class: ``(real per class, synthetic per class, names, classes)``."""
    real_X, real_y = _check_sample(real_X, real_y, "real")
    synthetic_X, synthetic_y = _check_sample(synthetic_X, synthetic_y, "synthetic")
    if real_X.shape[1] != synthetic_X.shape[1]:
        raise ValueError(
            f"real_X and synthetic_X must have the same features; got {real_X.shape[1]} "
            f"and {synthetic_X.shape[1]} columns."
        )
    n_features = real_X.shape[1]
    if feature_names is None:
        try:
            from qbloodcell.features import FEATURE_NAMES

            default = list(FEATURE_NAMES) if n_features == len(FEATURE_NAMES) else None
        except ImportError:  # pragma: no cover - features is part of the package
            default = None
        feature_names = default or [f"feature_{j}" for j in range(n_features)]
    names = [str(name) for name in feature_names]
    if len(names) != n_features:
        raise ValueError(
            f"feature_names must name the {n_features} features; got {len(names)} names."
        )
    if classes is None:
        found = np.unique(real_y)
        if found.shape[0] != 2:
            raise ValueError(
                f"real_y must hold exactly two classes unless classes= picks two; got "
                f"{found.shape[0]}: {found.tolist()}."
            )
        classes = found.tolist()
    classes = list(classes)
    if len(classes) != 2:
        raise ValueError(
            f"classes must be two labels (negative, positive); got {len(classes)}: {classes}."
        )
    real_parts: list[np.ndarray] = []
    synthetic_parts: list[np.ndarray] = []
    for label in classes:
        for which, X, y, parts in (
            ("real", real_X, real_y, real_parts),
            ("synthetic", synthetic_X, synthetic_y, synthetic_parts),
        ):
            part = X[y == label]
            if part.shape[0] < 2:
                raise ValueError(
                    f"{which}_y must hold at least 2 samples of class {label!r}; got "
                    f"{part.shape[0]}."
                )
            parts.append(part)
    return real_parts, synthetic_parts, names, classes


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """``numerator / denominator``, with 0 for 0 / 0 and a signed infinity for x / 0."""
    zero = denominator == 0
    out = numerator / np.where(zero, 1.0, denominator)
    out[zero] = np.where(numerator[zero] == 0, 0.0, np.copysign(np.inf, numerator[zero]))
    return out


def effect_size(negative: np.ndarray, positive: np.ndarray) -> np.ndarray:
    """Per column, ``(mean(positive) - mean(negative)) / sqrt((var_neg + var_pos) / 2)``.

    Variances with ``ddof=1``; 0 where both classes are constant and equal, a signed
    infinity where both are constant and differ.
    """
    pooled = np.sqrt((negative.var(axis=0, ddof=1) + positive.var(axis=0, ddof=1)) / 2)
    return _ratio(positive.mean(axis=0) - negative.mean(axis=0), pooled)


def compare_feature_distributions(
    real_X: Any,
    real_y: Any,
    synthetic_X: Any,
    synthetic_y: Any,
    *,
    feature_names: Sequence[str] | None = None,
    classes: Sequence[Any] | None = None,
    as_frame: bool = False,
) -> Any:
    """Compare the class-conditional feature distributions of a real and a synthetic sample.

    For two classes (negative ``c0``, positive ``c1``) and every feature, with ``m`` the
    class mean and ``s`` the class standard deviation (``ddof=1``):

    - the **effect size** of each sample, ``(m[c1] - m[c0]) / sqrt((s[c0]^2 + s[c1]^2) / 2)``
      (the class difference in units of the root mean of the two class variances), and the
      synthetic minus the real one;
    - per class, the **mean offset**, ``(m_synthetic[c] - m_real[c]) / s_real[c]``: how far
      the synthetic class mean sits from the real one, in real standard deviations;
    - per class, the **sd ratio** ``s_synthetic[c] / s_real[c]``.

    A synthetic sample that looks like the real one to the features has effect-size
    differences and mean offsets near 0 and sd ratios near 1. Where a standard deviation in
    a denominator is 0, the quantity is 0 if its numerator is 0 too, else a signed infinity.

    Parameters
    ----------
    real_X : array-like of shape (n_real, n_features)
        Features of the real images, e.g. ``BloodCellFeatures().fit_transform(images)``.
    real_y : array-like of shape (n_real,)
        Their class labels.
    synthetic_X : array-like of shape (n_synthetic, n_features)
        Features of the synthetic images, the same columns as ``real_X``.
    synthetic_y : array-like of shape (n_synthetic,)
        Their class labels, with the same meaning as ``real_y``'s.
    feature_names : sequence of str or None, default=None
        Names of the columns. ``None``: the names of
        :data:`qbloodcell.features.FEATURE_NAMES` for 20 columns, else ``feature_0``...
    classes : sequence of two labels or None, default=None
        ``(negative, positive)``: the effect sizes are positive minus negative. ``None``:
        the two labels of ``real_y`` in sorted order (it must hold exactly two).
    as_frame : bool, default=False
        Return a :class:`pandas.DataFrame` (pandas must be installed) instead of a Bunch.

    Returns
    -------
    comparison : :class:`~sklearn.utils.Bunch` or pandas.DataFrame
        One entry per feature: ``feature_names``, ``real_effect_size``,
        ``synthetic_effect_size``, ``effect_size_difference`` (synthetic minus real), and
        per class ``c`` (the ``classes``, in order) ``mean_offset_<c>``, ``sd_ratio_<c>``,
        ``real_mean_<c>``, ``synthetic_mean_<c>``. The Bunch also has ``classes``,
        ``max_abs_effect_size_difference`` and ``max_abs_mean_offset`` (over features and
        classes); a DataFrame is indexed by feature name.

    Raises
    ------
    TypeError
        For an argument of the wrong type, or non-numeric features.
    ValueError
        For features of different widths, non-finite features, a class with fewer than 2
        samples in either set, or ``classes`` not naming two labels.

    See Also
    --------
    plot_feature_distributions : The distributions this compares, drawn per feature.

    Examples
    --------
    >>> import numpy as np
    >>> from qbloodcell.calibration import compare_feature_distributions
    >>> y = np.repeat([0, 1], 4)
    >>> real = np.array([[0.0, 0], [1, 1], [2, 2], [3, 3], [2, 4], [3, 5], [4, 6], [5, 7]])
    >>> synthetic = real * [1.0, 0.5]
    >>> result = compare_feature_distributions(real, y, synthetic, y, feature_names=["a", "b"])
    >>> result.real_effect_size.round(2).tolist()
    [1.55, 3.1]
    >>> result.effect_size_difference.round(2).tolist()
    [0.0, 0.0]
    >>> result.mean_offset_1.round(2).tolist()
    [0.0, -2.13]
    """
    check_arguments(
        {"feature_names": feature_names, "classes": classes, "as_frame": as_frame},
        _COMPARE_SPECS,
    )
    real_parts, synthetic_parts, names, classes = _prepare(
        real_X, real_y, synthetic_X, synthetic_y, feature_names, classes
    )
    real_effect = effect_size(*real_parts)
    synthetic_effect = effect_size(*synthetic_parts)
    columns: dict[str, Any] = {
        "feature_names": np.array(names),
        "real_effect_size": real_effect,
        "synthetic_effect_size": synthetic_effect,
        # equal infinities (both samples constant per class, with the same sign) differ by 0
        "effect_size_difference": np.subtract(
            synthetic_effect,
            real_effect,
            out=np.zeros_like(real_effect),
            where=synthetic_effect != real_effect,
        ),
    }
    offsets = []
    for label, real, synthetic in zip(classes, real_parts, synthetic_parts, strict=True):
        real_sd = real.std(axis=0, ddof=1)
        offset = _ratio(synthetic.mean(axis=0) - real.mean(axis=0), real_sd)
        offsets.append(offset)
        columns[f"mean_offset_{label}"] = offset
        columns[f"sd_ratio_{label}"] = _ratio(synthetic.std(axis=0, ddof=1), real_sd)
        columns[f"real_mean_{label}"] = real.mean(axis=0)
        columns[f"synthetic_mean_{label}"] = synthetic.mean(axis=0)
    if as_frame:
        import pandas as pd

        return pd.DataFrame(columns).set_index("feature_names")
    return Bunch(
        **columns,
        classes=classes,
        max_abs_effect_size_difference=float(np.max(np.abs(columns["effect_size_difference"]))),
        max_abs_mean_offset=float(np.max(np.abs(np.array(offsets)))),
    )


def plot_feature_distributions(
    real_X: Any,
    real_y: Any,
    synthetic_X: Any,
    synthetic_y: Any,
    *,
    feature_names: Sequence[str] | None = None,
    classes: Sequence[Any] | None = None,
    class_names: Sequence[str] | None = None,
    n_columns: int = 5,
    bins: int = 30,
) -> Any:
    """Draw, per feature, the real and synthetic class-conditional distributions.

    One panel per feature: a histogram (density) of each class of the real sample (filled)
    and of the synthetic sample (outlined), on bins spanning both samples, titled with the
    real and synthetic effect sizes (as in :func:`compare_feature_distributions`).

    Parameters
    ----------
    real_X, real_y, synthetic_X, synthetic_y, feature_names, classes
        As in :func:`compare_feature_distributions`.
    class_names : sequence of two str or None, default=None
        Legend names of the two classes; ``None``: the labels.
    n_columns : int, default=5
        Panels per row.
    bins : int, default=30
        Histogram bins per panel.

    Returns
    -------
    figure : matplotlib.figure.Figure
        The grid of panels (``ceil(n_features / n_columns)`` rows).

    See Also
    --------
    compare_feature_distributions : The same comparison as numbers.

    Examples
    --------
    >>> import numpy as np
    >>> from qbloodcell.calibration import plot_feature_distributions
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat([0, 1], 100)
    >>> figure = plot_feature_distributions(
    ...     rng.normal(size=(200, 3)) + y[:, None], y, rng.normal(size=(200, 3)), y, n_columns=3
    ... )
    >>> len(figure.axes)
    3
    """
    check_arguments(
        {
            "feature_names": feature_names,
            "classes": classes,
            "class_names": class_names,
            "n_columns": n_columns,
            "bins": bins,
        },
        _PLOT_SPECS,
    )
    real_parts, synthetic_parts, names, classes = _prepare(
        real_X, real_y, synthetic_X, synthetic_y, feature_names, classes
    )
    if class_names is None:
        class_names = [str(label) for label in classes]
    class_names = [str(name) for name in class_names]
    if len(class_names) != 2:
        raise ValueError(f"class_names must be two names; got {len(class_names)}.")
    import matplotlib.pyplot as plt

    n_features = len(names)
    n_columns = min(int(n_columns), n_features)
    n_rows = -(-n_features // n_columns)
    figure, axes = plt.subplots(
        n_rows, n_columns, figsize=(3.0 * n_columns, 2.3 * n_rows), squeeze=False
    )
    real_effect = effect_size(*real_parts)
    synthetic_effect = effect_size(*synthetic_parts)
    colours = ("tab:blue", "tab:red")
    for j, ax in enumerate(axes.ravel()):
        if j >= n_features:
            ax.remove()
            continue
        values = np.concatenate([part[:, j] for part in (*real_parts, *synthetic_parts)])
        low, high = np.percentile(values, [0.5, 99.5])
        if not high > low:
            low, high = low - 0.5, high + 0.5
        edges = np.linspace(low, high, int(bins) + 1)
        for k in range(2):
            ax.hist(
                np.clip(real_parts[k][:, j], low, high),
                bins=edges,
                density=True,
                color=colours[k],
                alpha=0.35,
                label=f"real {class_names[k]}",
            )
            ax.hist(
                np.clip(synthetic_parts[k][:, j], low, high),
                bins=edges,
                density=True,
                histtype="step",
                linewidth=1.5,
                color=colours[k],
                label=f"synthetic {class_names[k]}",
            )
        ax.set_title(
            f"{names[j]}\nd real {real_effect[j]:.2f}, synthetic {synthetic_effect[j]:.2f}",
            fontsize=8,
        )
        ax.tick_params(labelsize=7)
        ax.set_yticks([])
    axes.ravel()[0].legend(fontsize=6, loc="best")
    figure.tight_layout()
    return figure
