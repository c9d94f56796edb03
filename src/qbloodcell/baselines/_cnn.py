"""A small convolutional network for single-cell images behind the scikit-learn API."""

from __future__ import annotations

import time
from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_consistent_length, check_is_fitted, column_or_1d

from qbloodcell._early_stopping import continued_history, validation_split
from qbloodcell._images import MIN_IMAGE_SIDE, check_images
from qbloodcell._validation import (
    Boolean,
    InstanceOf,
    Integer,
    IntegerSequence,
    NJobs,
    NoneValue,
    RandomState,
    Real,
    Spec,
    validate_params,
)
from qbloodcell.baselines._cnn_torch import (
    build_network,
    evaluate,
    restore_network,
    train,
)
from qbloodcell.baselines._torch import (
    device_types,
    import_torch,
    optimizer_to,
    resolve_device,
    tensors_to_numpy,
    torch_threads,
)


class CNNClassifier(ClassifierMixin, BaseEstimator):
    """Small convolutional network for single-cell images (the study's classical CNN).

    Images go through the same validation as :class:`qbloodcell.BloodCellFeatures`
    (:func:`qbloodcell._images.check_images` in ``"rgb"`` mode): any batch it accepts
    (uint8, uint16 or float in [0, 1]; grayscale, RGB or RGBA; arrays or lists of images
    of any sizes) is resized to ``image_size`` x ``image_size`` RGB. Each colour channel
    is then standardised with the mean and standard deviation learned on the training
    images.

    **Architecture.** For ``hidden_channels=(c1, c2, ..., ck)``:

    1. Stem: 3 x 3 convolution with stride 2 (3 -> c1 channels), batch normalisation,
       ReLU and 2 x 2 max pooling; the image side shrinks by 4.
    2. For every further ``c``: 3 x 3 convolution with stride 1 and padding 1, batch
       normalisation, ReLU and 2 x 2 max pooling (side halves).
    3. Head: global average pooling over the remaining positions, then one linear layer
       ``ck -> n_classes``; a softmax gives :meth:`predict_proba`.

    With the defaults (64 x 64 images, channels ``(16, 32, 64)``) the feature maps are
    16 x 16, 8 x 8 and 4 x 4; downsampling early keeps the fit cheap on a CPU
    (:ref:`baselines`). Convolutions are initialised with He (Kaiming) normal weights, the
    head with Glorot uniform weights.

    **Training.** Cross-entropy loss minimised with Adam (``weight_decay`` adds an L2
    penalty to the gradients, as in :class:`torch.optim.Adam`) over shuffled mini-batches
    of ``batch_size`` images for at most ``max_iter`` epochs. With ``augment=True`` every
    training image is replaced, each time it is drawn, by one of its eight images under
    the symmetries of the square (horizontal flip combined with 0, 90, 180 or 270 degree
    rotations): single cells have no preferred orientation. With ``early_stopping=True``
    a stratified ``validation_fraction`` of the training images is held out and the
    validation accuracy is measured after every epoch; training stops after
    ``n_iter_no_change`` epochs in which it did not rise, and the weights of the best
    epoch are kept (highest validation accuracy, ties broken by the lower validation
    loss).

    Parameters
    ----------
    image_size : int, default=64
        Side of the square images the network sees; inputs of another size are resized.
        Must be at least ``2 ** (len(hidden_channels) + 1)`` so that one position is
        left before the global pooling.
    hidden_channels : tuple of int, default=(16, 32, 64)
        Number of channels of each convolutional block; its length is the depth.
    max_iter : int, default=100
        Maximum number of epochs (passes over the training images) per call to
        :meth:`fit`.
    batch_size : int, default=32
        Images per mini-batch.
    learning_rate : float, default=3e-3
        Adam step size.
    weight_decay : float, default=1e-4
        L2 penalty added by Adam to the gradients.
    early_stopping : bool, default=True
        Hold out a stratified validation set, stop when its accuracy stops improving and
        keep the best weights (:ref:`early-stopping`, the same for EP). Needs at least two
        images of every class.
    validation_fraction : float, default=0.2
        Fraction of the training images held out when ``early_stopping=True``.
    n_iter_no_change : int, default=10
        Epochs without a rise of the validation accuracy before training stops.
    augment : bool, default=True
        Train on random flips and 90-degree rotations of the images.
    device : str or torch.device, default="cpu"
        Where the network is trained and evaluated: ``"cpu"``, ``"cuda"``,
        ``"cuda:1"``, ``"mps"``. A GPU is never required.
    n_jobs : int or None, default=None
        Number of CPU threads torch uses during :meth:`fit` and :meth:`predict`
        (torch's setting is restored afterwards), with the package's one meaning of
        ``n_jobs`` (:ref:`parallelism`): ``None`` is one thread unless the call runs
        inside :func:`joblib.parallel_config`, ``-1`` all cores. Results are
        bit-identical only for the same number of threads.
    warm_start : bool, default=False
        When True and the model is already fitted, :meth:`fit` continues training the
        current network (and its optimizer state, and the input standardisation) for up
        to ``max_iter`` more epochs instead of starting again; ``n_iter_``,
        ``loss_curve_`` and the validation histories continue.
    random_state : int, RandomState instance or None, default=None
        Seeds the weight initialisation, the validation split, the shuffling and the
        augmentation. With an integer two fits on the same CPU with the same ``n_jobs``
        give bit-identical predictions. No global random state is used.
    verbose : int, default=0
        Print the training and validation loss after every epoch when positive.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    module_ : torch.nn.Module
        The trained network (with the best weights when ``early_stopping=True``), on
        ``device``.
    optimizer_ : torch.optim.Adam
        The optimizer, kept so that ``warm_start`` continues where training stopped.
    channel_mean_ : ndarray of shape (3,)
        Per-channel mean of the training images (in [0, 1] units).
    channel_std_ : ndarray of shape (3,)
        Per-channel standard deviation of the training images (1 for constant channels).
    n_iter_ : int
        Number of epochs run, summed over warm-started calls to :meth:`fit`.
    loss_curve_ : list of float
        Mean training loss of every epoch.
    validation_scores_ : list of float or None
        Validation accuracy after every epoch; None when ``early_stopping=False``.
    validation_loss_curve_ : list of float or None
        Validation loss after every epoch; None when ``early_stopping=False``.
    best_validation_score_ : float or None
        Validation accuracy of the kept weights; None when ``early_stopping=False``.
    fit_time_ : float
        Wall-clock seconds of the last call to :meth:`fit`.

    Notes
    -----
    The input is a batch of images, not a feature matrix, so the estimator has no
    ``n_features_in_``: images of any size are accepted and resized to ``image_size``,
    exactly as :class:`qbloodcell.BloodCellFeatures` does.

    A pickled model stores its weights as NumPy arrays and loads on a machine without a
    GPU; a model trained with ``device="cuda"`` is used there after
    ``set_params(device="cpu")``. Unpickling needs torch.

    References
    ----------
    .. [1] C. Matek, S. Schwarz, K. Spiekermann and C. Marr, "Human-level recognition of
       blast cells in acute myeloid leukaemia with convolutional neural networks",
       Nature Machine Intelligence 1, 538-544 (2019). :doi:`10.1038/s42256-019-0101-9`
    .. [2] D. P. Kingma and J. Ba, "Adam: A method for stochastic optimization", ICLR
       (2015). :doi:`10.48550/arXiv.1412.6980`
    .. [3] S. Ioffe and C. Szegedy, "Batch normalization: accelerating deep network
       training by reducing internal covariate shift", ICML (2015).
       :doi:`10.48550/arXiv.1502.03167`

    Examples
    --------
    >>> import numpy as np
    >>> from qbloodcell.baselines import CNNClassifier
    >>> rng = np.random.default_rng(0)
    >>> images = rng.integers(0, 60, size=(40, 16, 16, 3), dtype=np.uint8)
    >>> images[20:, 4:12, 4:12] += 150  # a bright square marks the second class
    >>> y = np.repeat(["healthy", "AML"], 20)
    >>> cnn = CNNClassifier(image_size=16, max_iter=15, early_stopping=False, random_state=0)
    >>> cnn.fit(images, y).classes_
    array(['AML', 'healthy'], dtype='<U7')
    >>> cnn.score(images, y) > 0.9
    True
    >>> cnn.predict_proba(images[:2]).shape
    (2, 2)
    """

    _parameter_specs: ClassVar[dict[str, list[Spec]]] = {
        "image_size": [Integer(MIN_IMAGE_SIDE)],
        "hidden_channels": [IntegerSequence(1, example="(16, 32, 64)")],
        "max_iter": [Integer(1)],
        "batch_size": [Integer(1)],
        "learning_rate": [Real(0, closed="neither")],
        "weight_decay": [Real(0)],
        "early_stopping": [Boolean()],
        "validation_fraction": [Real(0, 1, closed="neither")],
        "n_iter_no_change": [Integer(1)],
        "augment": [Boolean()],
        "device": [
            InstanceOf(device_types, "a device name such as 'cpu' or 'cuda:1', or a torch.device")
        ],
        "n_jobs": [NoneValue(), NJobs()],
        "warm_start": [Boolean()],
        "random_state": [NoneValue(), RandomState()],
        "verbose": [Integer(0)],
    }

    # fitted attributes (declared for type checkers; set by ``fit``)
    classes_: np.ndarray
    _fitted_hidden_channels: tuple[int, ...]
    best_validation_score_: float | None

    def __init__(
        self,
        *,
        image_size: int = 64,
        hidden_channels: tuple[int, ...] = (16, 32, 64),
        max_iter: int = 100,
        batch_size: int = 32,
        learning_rate: float = 3e-3,
        weight_decay: float = 1e-4,
        early_stopping: bool = True,
        validation_fraction: float = 0.2,
        n_iter_no_change: int = 10,
        augment: bool = True,
        device: Any = "cpu",
        n_jobs: int | None = None,
        warm_start: bool = False,
        random_state: Any = None,
        verbose: int = 0,
    ) -> None:
        self.image_size = image_size
        self.hidden_channels = hidden_channels
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.augment = augment
        self.device = device
        self.n_jobs = n_jobs
        self.warm_start = warm_start
        self.random_state = random_state
        self.verbose = verbose

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        # a batch of images, (n, H, W) or (n, H, W, channels), not a feature matrix
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = True
        return tags

    # ------------------------------------------------------------------ validation
    def _check_combinations(self) -> None:
        """Rules between parameters, after :func:`~qbloodcell._validation.validate_params`."""
        n_blocks = len(self.hidden_channels)
        minimum_size = max(2 ** (n_blocks + 1), MIN_IMAGE_SIDE)
        if self.image_size < minimum_size:
            raise ValueError(
                f"image_size must be an integer >= {minimum_size} for {n_blocks} "
                "convolutional blocks (each halves the side, the stem quarters it); got "
                f"{self.image_size!r}. Use larger images or fewer hidden_channels."
            )

    def _load_images(self, X: Any) -> np.ndarray:
        return check_images(X, image_size=self.image_size, mode="rgb", argument="X")

    def _to_tensor(self, torch: Any, images: np.ndarray, device: Any) -> Any:
        standardised = (images - self.channel_mean_) / self.channel_std_
        # NHWC float64 -> NCHW float32, the layout torch convolutions expect
        array = np.ascontiguousarray(standardised.transpose(0, 3, 1, 2), dtype=np.float32)
        return torch.from_numpy(array).to(device)

    # ------------------------------------------------------------------ fit
    def fit(self, X: Any, y: Any) -> CNNClassifier:
        """Train the network on images.

        Parameters
        ----------
        X : array-like of shape (n_samples, H, W) or (n_samples, H, W, channels)
            Images, or a list of images of any sizes (see the class description).
        y : array-like of shape (n_samples,)
            Class labels (at least two classes; any hashable labels, e.g. strings).

        Returns
        -------
        self : CNNClassifier
            The fitted classifier.
        """
        start_time = time.perf_counter()
        validate_params(self)
        self._check_combinations()
        torch = import_torch()
        device = resolve_device(torch, self.device)
        images = self._load_images(X)
        y = column_or_1d(y, warn=True)
        check_consistent_length(images, y)
        check_classification_targets(y)

        continuing = self.warm_start and hasattr(self, "module_")
        if continuing:
            unknown = np.setdiff1d(np.unique(y), self.classes_)
            if unknown.size:
                raise ValueError(
                    f"warm_start=True but y holds classes {unknown.tolist()} not seen in the "
                    f"first fit (classes_ = {self.classes_.tolist()}); fit with "
                    "warm_start=False to start again."
                )
            if tuple(self.hidden_channels) != self._fitted_hidden_channels:
                raise ValueError(
                    "warm_start=True but hidden_channels changed from "
                    f"{self._fitted_hidden_channels} to {tuple(self.hidden_channels)}; fit with "
                    "warm_start=False to start again."
                )
            y_encoded: np.ndarray = np.searchsorted(self.classes_, y)
        else:
            classes, y_encoded = np.unique(y, return_inverse=True)
            if classes.size < 2:
                raise ValueError(
                    f"y holds a single class ({classes[0]!r}); CNNClassifier needs at least "
                    "two classes."
                )
        n_classes = len(self.classes_) if continuing else classes.size

        rng = check_random_state(self.random_state)
        train_index, validation_index = self._split(y_encoded, rng)

        if not continuing:
            self.classes_ = classes
            train_images = images[train_index]
            self.channel_mean_ = train_images.mean(axis=(0, 1, 2))
            std = train_images.std(axis=(0, 1, 2))
            self.channel_std_ = np.where(std > 1e-6, std, 1.0)

        torch_seed = int(rng.randint(np.iinfo(np.int32).max))
        generator = torch.Generator(device="cpu").manual_seed(torch_seed)

        with torch_threads(torch, self.n_jobs):
            if not continuing:
                self.module_ = build_network(
                    torch, tuple(self.hidden_channels), n_classes, generator
                )
                self.module_.to(device)
                self.optimizer_ = torch.optim.Adam(
                    self.module_.parameters(),
                    lr=self.learning_rate,
                    weight_decay=self.weight_decay,
                )
                self._fitted_hidden_channels = tuple(int(c) for c in self.hidden_channels)
                self.n_iter_ = 0
                self.loss_curve_: list[float] = []
            else:
                self.module_.to(device)
                optimizer_to(self.optimizer_, device)
                for group in self.optimizer_.param_groups:
                    group["lr"] = self.learning_rate
                    group["weight_decay"] = self.weight_decay
            self.validation_scores_: list[float] | None = continued_history(
                getattr(self, "validation_scores_", None), self.early_stopping, continuing
            )
            self.validation_loss_curve_: list[float] | None = continued_history(
                getattr(self, "validation_loss_curve_", None), self.early_stopping, continuing
            )

            inputs = self._to_tensor(torch, images, device)
            targets = torch.from_numpy(y_encoded.astype(np.int64)).to(device)
            train(self, torch, inputs, targets, train_index, validation_index, generator)

        self.fit_time_ = time.perf_counter() - start_time
        return self

    def _split(
        self, y_encoded: np.ndarray, rng: np.random.RandomState
    ) -> tuple[np.ndarray, np.ndarray | None]:
        if not self.early_stopping:
            return np.arange(y_encoded.size), None
        train_index, validation_index = validation_split(
            y_encoded, self.validation_fraction, rng, samples="images"
        )
        # the images keep their order on each side (the batches are drawn from it)
        return np.sort(train_index), np.sort(validation_index)

    def _diverged(self, loss: float) -> FloatingPointError:
        return FloatingPointError(
            f"The training loss became {loss} at epoch {self.n_iter_ + 1}: training "
            f"diverged with learning_rate={self.learning_rate}. Use a smaller learning_rate."
        )

    # ------------------------------------------------------------------ predict
    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities of images.

        Parameters
        ----------
        X : array-like of shape (n_samples, H, W) or (n_samples, H, W, channels)
            Images, or a list of images of any sizes.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Probabilities, columns in the order of ``classes_``.
        """
        check_is_fitted(self, "module_")
        torch = import_torch()
        device = resolve_device(torch, self.device)
        images = self._load_images(X)
        with torch_threads(torch, self.n_jobs):
            self.module_.to(device)
            probabilities, _ = evaluate(
                torch, self.module_, self._to_tensor(torch, images, device), None
            )
            return probabilities.cpu().numpy().astype(np.float64)

    def predict(self, X: Any) -> np.ndarray:
        """Predicted class labels of images.

        Parameters
        ----------
        X : array-like of shape (n_samples, H, W) or (n_samples, H, W, channels)
            Images, or a list of images of any sizes.

        Returns
        -------
        ndarray of shape (n_samples,)
            Labels taken from ``classes_``.
        """
        check_is_fitted(self, "module_")
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    # ------------------------------------------------------------------ pickling
    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        if "module_" in state:
            state = dict(state)
            state["module_"] = tensors_to_numpy(self.module_.state_dict())
            state["optimizer_"] = tensors_to_numpy(self.optimizer_.state_dict())
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state = dict(state)
        module_state = state.pop("module_", None)
        optimizer_state = state.pop("optimizer_", None)
        super().__setstate__(state)
        if module_state is None:
            return
        module, optimizer = restore_network(
            import_torch(),
            self._fitted_hidden_channels,
            len(self.classes_),
            module_state,
            optimizer_state,
            learning_rate=self.learning_rate,
            weight_decay=self.weight_decay,
        )
        self.module_ = module
        self.optimizer_ = optimizer
