"""The study's dense network: engineered features -> StandardScaler -> MLPClassifier."""

from __future__ import annotations

import inspect
from typing import Any

from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from qbloodcell._validation import IntegerSequence, NoneValue, RandomState, Spec, check_arguments

#: What the named arguments of :func:`make_dense_classifier` accept; ``**mlp_params`` are
#: checked by :class:`~sklearn.neural_network.MLPClassifier` itself, in ``fit``.
_MAKE_DENSE_CLASSIFIER_SPECS: dict[str, list[Spec]] = {
    "hidden_layer_sizes": [IntegerSequence(1, scalar_ok=True, example="(256, 128, 64)")],
    "random_state": [NoneValue(), RandomState()],
}

#: MLPClassifier settings of the Dense NN that differ from scikit-learn's defaults;
#: any of them can be overridden through ``**mlp_params``.
DENSE_DEFAULTS: dict[str, Any] = {"early_stopping": True, "max_iter": 500}


def make_dense_classifier(
    *,
    hidden_layer_sizes: tuple[int, ...] = (256, 128, 64),
    random_state: Any = None,
    **mlp_params: Any,
) -> Pipeline:
    """Build the study's "Dense NN": image features, standardised, into a multilayer perceptron.

    The pipeline is :class:`qbloodcell.BloodCellFeatures` (the 20 engineered features of
    every image), :class:`~sklearn.preprocessing.StandardScaler` and
    :class:`~sklearn.neural_network.MLPClassifier` with ReLU layers of
    ``hidden_layer_sizes``, Adam, and early stopping on a stratified 10 % validation split
    (scikit-learn's implementation). scikit-learn already trains such a network well and
    fast, so none is written here; the pipeline is an ordinary scikit-learn estimator
    (``clone``, ``GridSearchCV``, pickling) that takes images.

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default=(256, 128, 64)
        Widths of the hidden layers.
    random_state : int, RandomState instance or None, default=None
        Seeds the weight initialisation, the validation split and the shuffling.
    **mlp_params
        Further :class:`~sklearn.neural_network.MLPClassifier` parameters (for example
        ``alpha``, ``learning_rate_init``, ``max_iter``, ``early_stopping``). The
        defaults differ from scikit-learn's in ``early_stopping=True`` and
        ``max_iter=500``.

    Returns
    -------
    sklearn.pipeline.Pipeline
        Steps ``"bloodcellfeatures"``, ``"standardscaler"`` and ``"mlpclassifier"``;
        tune them with ``set_params(mlpclassifier__alpha=...)`` and the like.

    Raises
    ------
    TypeError
        For an unknown ``MLPClassifier`` parameter in ``mlp_params``, or a
        ``hidden_layer_sizes`` or ``random_state`` of the wrong type.
    ValueError
        For an empty ``hidden_layer_sizes`` or one with a width below 1.

    References
    ----------
    .. [1] G. E. Hinton, "Connectionist learning procedures", Artificial Intelligence 40,
       185-234 (1989). :doi:`10.1016/0004-3702(89)90049-0`
    .. [2] D. P. Kingma and J. Ba, "Adam: A method for stochastic optimization", ICLR
       (2015). :doi:`10.48550/arXiv.1412.6980`

    Examples
    --------
    >>> from qbloodcell.baselines import make_dense_classifier
    >>> dense = make_dense_classifier(random_state=0, alpha=1e-3)
    >>> [name for name, _ in dense.steps]
    ['bloodcellfeatures', 'standardscaler', 'mlpclassifier']
    >>> dense[-1].hidden_layer_sizes, dense[-1].early_stopping, dense[-1].alpha
    ((256, 128, 64), True, 0.001)
    """
    from qbloodcell.features import BloodCellFeatures

    check_arguments(
        {"hidden_layer_sizes": hidden_layer_sizes, "random_state": random_state},
        _MAKE_DENSE_CLASSIFIER_SPECS,
    )
    accepted = set(inspect.signature(MLPClassifier).parameters)
    unknown = sorted(set(mlp_params) - accepted)
    if unknown:
        raise TypeError(
            f"make_dense_classifier got unknown MLPClassifier parameter(s) {unknown}; "
            f"accepted are {sorted(accepted - {'hidden_layer_sizes', 'random_state'})}."
        )
    params = {**DENSE_DEFAULTS, **mlp_params}
    return make_pipeline(
        BloodCellFeatures(),
        StandardScaler(),
        MLPClassifier(hidden_layer_sizes=hidden_layer_sizes, random_state=random_state, **params),
    )
