"""Fitted input scaling of the quantum estimators: features -> encoding angles.

A feature map such as the ZZ map turns each feature into rotation angles. How far apart two
samples end up in the Hilbert space depends on the angle range: wide ranges (the study's
[0, 2] after PCA, with products of two features in the entangling phases) make the encoded
states of nearby samples nearly orthogonal, so a kernel becomes close to the identity and a
variational model close to a random function of the input; narrow ranges make every state
alike. The angle range is the *bandwidth* of the quantum model (Shaydulin & Wild 2022,
Canatar et al. 2022), and it is a hyperparameter like the width of an RBF kernel.

Every quantum estimator of the package takes ``input_scaling`` and ``bandwidth`` and scales
its input in ``fit`` with :class:`InputScaling`, so that a pipeline needs no hand-tuned
scaler in front of it. ``input_scaling=None`` passes the features through unchanged (the
study's recipe, with its own ``MinMaxScaler((0, 2))`` in the pipeline).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

#: Accepted values of ``input_scaling`` besides None.
INPUT_SCALINGS = ("minmax", "standard")


@dataclass(frozen=True)
class InputScaling:
    """A fitted affine map from features to angles, clipped to the training range.

    ``angles = clip(X * scale + offset, low, high)`` column by column. With "minmax" the
    training range of each feature becomes ``[0, bandwidth]``; with "standard" each feature
    becomes ``bandwidth * (x - mean) / std``. Either way new samples are clipped to the
    angles seen in training, so that a far outlier cannot wrap around the rotation period
    and land next to an unrelated training sample.
    """

    scale: NDArray[np.float64]
    offset: NDArray[np.float64]
    low: NDArray[np.float64]
    high: NDArray[np.float64]

    @classmethod
    def fit(cls, X: NDArray[np.float64], method: str | None, bandwidth: float) -> InputScaling:
        """Fit the map on training features ``X`` of shape (n_samples, n_features)."""
        n_features = X.shape[1]
        if method is None:
            ones, zeros = np.ones(n_features), np.zeros(n_features)
            return cls(ones, zeros, np.full(n_features, -np.inf), np.full(n_features, np.inf))
        if method == "minmax":
            minimum, maximum = X.min(axis=0), X.max(axis=0)
            spread = maximum - minimum
            # a constant feature maps to angle 0 (scale 0) rather than dividing by zero
            scale = np.divide(bandwidth, spread, out=np.zeros(n_features), where=spread > 0)
            offset = -minimum * scale
        elif method == "standard":
            mean, std = X.mean(axis=0), X.std(axis=0)
            scale = np.divide(bandwidth, std, out=np.zeros(n_features), where=std > 0)
            offset = -mean * scale
        else:  # pragma: no cover - rejected by parameter validation
            raise ValueError(f"input_scaling must be one of {INPUT_SCALINGS} or None.")
        angles = X * scale + offset
        return cls(scale, offset, angles.min(axis=0), angles.max(axis=0))

    def transform(self, X: NDArray[np.float64]) -> NDArray[np.float64]:
        """The angles for features ``X`` (clipped to the training range)."""
        return np.clip(X * self.scale + self.offset, self.low, self.high)
