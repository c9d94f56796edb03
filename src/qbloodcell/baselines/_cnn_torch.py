"""The torch side of the CNN baseline: network, augmentation, epochs, evaluation, restore.

:mod:`qbloodcell.baselines._cnn` holds the scikit-learn side (parameters, input checks,
standardisation, pickling). Every function here takes the ``torch`` module as an
argument, so that importing ``qbloodcell.baselines`` does not import torch.
"""

from __future__ import annotations

import math
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from qbloodcell._early_stopping import EarlyStopping
from qbloodcell.baselines._torch import numpy_to_tensors

if TYPE_CHECKING:
    from qbloodcell.baselines._cnn import CNNClassifier

# images per forward pass in predict_proba and in validation; bounds memory, not results
_EVAL_BATCH_SIZE = 256


def build_network(
    torch: Any, hidden_channels: tuple[int, ...], n_classes: int, generator: Any
) -> Any:
    """The network described in ``CNNClassifier``, initialised from ``generator``."""
    nn = torch.nn
    # layer constructors draw default initial weights from torch's global generator;
    # fork_rng puts that state back, and the weights are redrawn from ``generator`` below
    with torch.random.fork_rng(devices=[]):
        layers: list[Any] = []
        in_channels = 3
        for index, out_channels in enumerate(hidden_channels):
            stride = 2 if index == 0 else 1
            layers += [
                nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False),
                nn.BatchNorm2d(out_channels),
                nn.ReLU(),
                nn.MaxPool2d(2),
            ]
            in_channels = out_channels
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(in_channels, n_classes)]
        network = nn.Sequential(*layers)
    for layer in network:
        if isinstance(layer, nn.Conv2d):
            nn.init.kaiming_normal_(
                layer.weight, mode="fan_out", nonlinearity="relu", generator=generator
            )
        elif isinstance(layer, nn.Linear):
            nn.init.xavier_uniform_(layer.weight, generator=generator)
            nn.init.zeros_(layer.bias)
    return network


def augment_batch(torch: Any, batch: Any, generator: Any) -> Any:
    """Apply one random symmetry of the square (flip, 90-degree rotation) per image."""
    codes = torch.randint(0, 8, (batch.shape[0],), generator=generator).tolist()
    out = batch.clone()
    for code in set(codes):
        chosen = torch.tensor([i for i, c in enumerate(codes) if c == code], device=batch.device)
        images = batch[chosen]
        if code >= 4:
            images = torch.flip(images, dims=(3,))
        if code % 4:
            images = torch.rot90(images, k=code % 4, dims=(2, 3))
        out[chosen] = images
    return out


def evaluate(torch: Any, module: Any, inputs: Any, targets: Any) -> tuple[Any, float]:
    """Softmax probabilities (and the mean loss when ``targets`` is given), in eval mode."""
    was_training = module.training
    module.eval()
    chunks = []
    total_loss = 0.0
    with torch.inference_mode():
        for start in range(0, inputs.shape[0], _EVAL_BATCH_SIZE):
            logits = module(inputs[start : start + _EVAL_BATCH_SIZE])
            if targets is not None:
                total_loss += float(
                    torch.nn.functional.cross_entropy(
                        logits, targets[start : start + _EVAL_BATCH_SIZE], reduction="sum"
                    )
                )
            chunks.append(torch.softmax(logits, dim=1))
    module.train(was_training)
    loss = total_loss / inputs.shape[0] if targets is not None else float("nan")
    return torch.cat(chunks), loss


def train_epoch(
    torch: Any,
    module: Any,
    optimizer: Any,
    inputs: Any,
    targets: Any,
    batch_size: int,
    generator: Any,
    *,
    augment: bool,
) -> float:
    """One pass over shuffled mini-batches; the mean training loss.

    Raises OverflowError when torch refuses a step whose size overflows float32 (the
    training diverged).
    """
    module.train()
    n_train = inputs.shape[0]
    order = torch.randperm(n_train, generator=generator)
    total_loss = 0.0
    for start in range(0, n_train, batch_size):
        batch = order[start : start + batch_size].to(inputs.device)
        batch_inputs = inputs[batch]
        if augment:
            batch_inputs = augment_batch(torch, batch_inputs, generator)
        optimizer.zero_grad(set_to_none=True)
        loss = torch.nn.functional.cross_entropy(module(batch_inputs), targets[batch])
        loss.backward()
        try:
            optimizer.step()
        except RuntimeError as error:
            if "overflow" not in str(error):
                raise
            raise OverflowError(str(error)) from error
        total_loss += float(loss.detach()) * batch.shape[0]
    return total_loss / n_train


def restore_network(
    torch: Any,
    hidden_channels: tuple[int, ...],
    n_classes: int,
    module_state: Any,
    optimizer_state: Any,
    *,
    learning_rate: float,
    weight_decay: float,
) -> tuple[Any, Any]:
    """The network and its Adam optimizer from pickled NumPy states, on the CPU."""
    # weights come back on the CPU; fit and predict move them to ``device``
    generator = torch.Generator(device="cpu").manual_seed(0)
    module = build_network(torch, hidden_channels, n_classes, generator)
    module.load_state_dict(numpy_to_tensors(torch, module_state))
    module.eval()
    optimizer = torch.optim.Adam(module.parameters(), lr=learning_rate, weight_decay=weight_decay)
    optimizer.load_state_dict(numpy_to_tensors(torch, optimizer_state))
    return module, optimizer


def train(
    estimator: CNNClassifier,
    torch: Any,
    inputs: Any,
    targets: Any,
    train_index: np.ndarray,
    validation_index: np.ndarray | None,
    generator: Any,
) -> None:
    """The epochs of ``CNNClassifier.fit``: training passes, validation, early stopping.

    Appends to the estimator's histories (``loss_curve_``, ``n_iter_``, the validation
    curves), keeps the best epoch's weights (:mod:`qbloodcell._early_stopping`) and warns
    when ``max_iter`` ends the training before the patience does.
    """
    device = inputs.device
    train_inputs = inputs[torch.from_numpy(train_index).to(device)]
    train_targets = targets[torch.from_numpy(train_index).to(device)]
    if validation_index is not None:
        validation_inputs = inputs[torch.from_numpy(validation_index).to(device)]
        validation_targets = targets[torch.from_numpy(validation_index).to(device)]

    monitor = EarlyStopping(estimator.n_iter_no_change)
    best_state = None
    stopped_early = False
    module, optimizer = estimator.module_, estimator.optimizer_

    for _epoch in range(estimator.max_iter):
        try:
            epoch_loss = train_epoch(
                torch,
                module,
                optimizer,
                train_inputs,
                train_targets,
                estimator.batch_size,
                generator,
                augment=estimator.augment,
            )
        except OverflowError as error:
            raise estimator._diverged(float("inf")) from error
        if not math.isfinite(epoch_loss):
            raise estimator._diverged(epoch_loss)
        estimator.loss_curve_.append(epoch_loss)
        estimator.n_iter_ += 1
        message = f"epoch {estimator.n_iter_}: training loss {epoch_loss:.4f}"

        if validation_index is not None:
            assert estimator.validation_scores_ is not None
            assert estimator.validation_loss_curve_ is not None
            probabilities, validation_loss = evaluate(
                torch, module, validation_inputs, validation_targets
            )
            accuracy = float((probabilities.argmax(1) == validation_targets).float().mean().cpu())
            estimator.validation_scores_.append(accuracy)
            estimator.validation_loss_curve_.append(validation_loss)
            message += f", validation loss {validation_loss:.4f}, accuracy {accuracy:.4f}"
            # patience runs out on accuracy alone: at equal accuracy a lower loss
            # still selects the kept weights, but does not prolong training
            if monitor.update(accuracy, validation_loss):
                best_state = {
                    name: value.detach().clone() for name, value in module.state_dict().items()
                }
            if estimator.verbose:
                print(message)
            if monitor.should_stop:
                stopped_early = True
                break
        elif estimator.verbose:
            print(message)

    if validation_index is not None:
        assert best_state is not None
        module.load_state_dict(best_state)
        estimator.best_validation_score_ = monitor.best_score
        if not stopped_early:
            warnings.warn(
                f"CNNClassifier reached max_iter={estimator.max_iter} epochs while the "
                "validation score was still improving; increase max_iter (or fit again "
                "with warm_start=True).",
                ConvergenceWarning,
                stacklevel=3,
            )
    else:
        estimator.best_validation_score_ = None
    module.eval()
