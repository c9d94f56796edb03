"""
==================================================
Equilibrium Propagation against backpropagation
==================================================

:class:`qbloodcell.EquilibriumPropagationClassifier` trains a layered network with
symmetric connections without backpropagating anything: each update compares the relaxed
states of the network with and without a small nudge of its outputs towards the targets.
Here it learns from the 20 engineered image features, standardised as in the study, next
to scikit-learn's :class:`~sklearn.neural_network.MLPClassifier`, a network of the same
size trained by backpropagation.
"""

# %%
# Features
# --------
# The features are computed once for all images; both models then see the same
# standardised training data.
import time

import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from qbloodcell import BloodCellFeatures, EquilibriumPropagationClassifier, make_blood_cells

images, y = make_blood_cells(n_samples_per_class=150, random_state=0, return_X_y=True)
features = BloodCellFeatures().fit_transform(images)
X_train, X_test, y_train, y_test = train_test_split(
    features, y, test_size=0.2, stratify=y, random_state=0
)

# %%
# Two networks of the same shape
# ------------------------------
# Both networks have the study's hidden layers of 256, 128 and 64 units, and both hold
# out 20 % of the training data (EP's default; the MLP is given the same fraction) and
# stop when the validation accuracy has not improved for 15 epochs. EP's other settings
# are the defaults (tanh units, symmetric nudging with ``beta=0.5``, momentum 0.9, a
# cosine learning-rate schedule over ``max_iter`` epochs).
hidden = (256, 128, 64)
models = {
    "EP": make_pipeline(
        StandardScaler(),
        EquilibriumPropagationClassifier(hidden_layer_sizes=hidden, random_state=0),
    ),
    "MLP (backprop)": make_pipeline(
        StandardScaler(),
        MLPClassifier(
            hidden_layer_sizes=hidden,
            early_stopping=True,
            validation_fraction=0.2,
            n_iter_no_change=15,
            max_iter=500,
            random_state=0,
        ),
    ),
}
for name, model in models.items():
    start = time.perf_counter()
    model.fit(X_train, y_train)
    seconds = time.perf_counter() - start
    print(
        f"{name:15s} test accuracy {model.score(X_test, y_test):.3f}, "
        f"{model[-1].n_iter_} epochs, {seconds:.2f} s"
    )

# %%
# EP spends its time relaxing: every mini-batch needs one free and two nudged
# relaxations, each a few sweeps over the layers until no unit moves by more than
# ``relax_tol``.
ep = models["EP"][-1]
print(f"mean sweeps per free phase:   {ep.mean_free_steps_:.1f}")
print(f"mean sweeps per nudged phase: {ep.mean_nudged_steps_:.1f}")

# %%
# Learning curves
# ---------------
# ``loss_curve_`` is not the same quantity for the two models: EP records the squared
# error of its output units at the free fixed point, the MLP its cross-entropy. Their
# shapes can be compared, not their values. ``validation_scores_`` is the accuracy on the
# held-out 20 % after every epoch for both.
mlp = models["MLP (backprop)"][-1]
best_epoch = int(np.argmax(ep.validation_scores_)) + 1
print(f"EP: best validation accuracy {ep.best_validation_score_:.3f} at epoch {best_epoch}")
fig, (ax_loss, ax_validation) = plt.subplots(1, 2, figsize=(10, 4))
ax_loss.plot(ep.loss_curve_, label="EP: squared error at the free state")
ax_loss.plot(mlp.loss_curve_, label="MLP: cross-entropy")
ax_loss.set_xlabel("epoch")
ax_loss.set_ylabel("training loss")
ax_loss.set_title("Training loss")
ax_loss.legend()
ax_validation.plot(ep.validation_scores_, marker="o", label="EP")
ax_validation.plot(mlp.validation_scores_, marker="o", label="MLP (backprop)")
ax_validation.set_xlabel("epoch")
ax_validation.set_ylabel("validation accuracy")
ax_validation.set_title("Held-out accuracy")
ax_validation.legend()
fig.tight_layout()
plt.show()

# %%
# EP's training is less smooth than backpropagation's here: its training cost falls with a
# few bumps, and its validation accuracy climbs in steps, with long plateaus (on 48
# held-out images, one image is about 2 points). Early stopping keeps the weights of the
# best validation epoch, so the test accuracy printed above is that of the best epoch,
# not of the last one.
