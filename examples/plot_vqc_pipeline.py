"""
=========================================
From images to a 4-qubit circuit: the VQC
=========================================

The study's quantum model is a 4-qubit variational circuit: each image is summarised by
20 engineered features, reduced to 4 numbers (one per qubit), encoded by a ZZ feature map
and classified by a trainable RealAmplitudes ansatz, read out as the expectation value of
Pauli Z on the first qubit.

This example builds that model twice, as the short "design card" pipeline with the
library's defaults (which scale the inputs to a narrow range of angles inside the
classifier) and as the study's exact pipeline, compares their test accuracy on synthetic
images, shows the circuit and reports its depth on hardware.
"""

# %%
# Data
# ----
# :func:`qbloodcell.make_blood_cells` renders synthetic single-cell smear images (no
# download). 100 images per class are enough for a demonstration; the study uses 50 to 250.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from qbloodcell import BloodCellFeatures, VQCClassifier, make_blood_cells
from qbloodcell.quantum import STUDY_VQC_SETTINGS

images, y = make_blood_cells(n_samples_per_class=100, random_state=0, return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    images, y, test_size=0.2, stratify=y, random_state=0
)
print(f"{len(X_train)} training and {len(X_test)} test images of shape {images.shape[1:]}")

# %%
# The design-card pipeline
# ------------------------
# The shortest description of the model: features, PCA to 4 components (one per qubit),
# the circuit. Every step is a scikit-learn estimator, so this is an ordinary pipeline.
# ``VQCClassifier`` learns, in ``fit``, how to map each component to an encoding angle
# (``input_scaling="minmax"``: the training range becomes ``[0, bandwidth]``), so the
# unscaled components need no scaler in front of it.
design_card = make_pipeline(BloodCellFeatures(), PCA(4), VQCClassifier(random_state=0))
design_card.fit(X_train, y_train)
print(f"design card: test accuracy {design_card.score(X_test, y_test):.3f}")

# %%
# The study's pipeline
# --------------------
# The study standardises the features, rescales the 4 components to [0, 2] with its own
# ``MinMaxScaler`` and takes them as angles unchanged (``input_scaling=None``), with a
# deeper feature map (2 repetitions), a shallower real ansatz (RealAmplitudes, 1
# repetition), SciPy's COBYLA and 200 evaluations: ``STUDY_VQC_SETTINGS``.
# Angles spread over [0, 2] make the encoded states of nearby images nearly unrelated
# (the model's *bandwidth* is too large, see :ref:`bandwidth`), which is why this model
# learns little.
study = make_pipeline(
    BloodCellFeatures(),
    StandardScaler(),
    PCA(4),
    MinMaxScaler((0, 2)),
    VQCClassifier(**STUDY_VQC_SETTINGS, random_state=0),
)
study.fit(X_train, y_train)
print(f"study pipeline: test accuracy {study.score(X_test, y_test):.3f}")

card_angles = design_card[-1].input_scaling_.transform(design_card[:-1].transform(X_train))
study_angles = study[:-1].transform(X_train)
print(f"angles, design card: from {card_angles.min():.2f} to {card_angles.max():.2f}")
# (+ 0.0 turns a rounded -0.0 into 0.0)
print(f"angles, study:       from {round(study_angles.min(), 2) + 0.0} to {study_angles.max():.2f}")

# %%
# With 40 test images one image is 2.5 points of accuracy, and these are synthetic
# images: neither number estimates an accuracy on real smears (see the
# :ref:`results <results>` page for both).
#
# The study describes its PCA as "retaining 95 % variance". With exactly 4 components,
# the share of variance kept is whatever the data gives:
kept = study.named_steps["pca"].explained_variance_ratio_
print(f"variance kept by 4 components of the standardised features: {kept.sum():.1%}")

# %%
# The circuit
# -----------
# After fitting, ``circuit_`` holds the full parameterised circuit: the ZZ feature map
# (Hadamards, phases :math:`P(2 x_i)` and entangling phases on every pair of qubits, twice)
# followed by the RealAmplitudes ansatz (two layers of :math:`R_Y` rotations around a CX
# chain, 8 weights): the study's circuit. ``x[i]`` are the 4 inputs, ``θ[k]`` the trained
# weights.
vqc = study.named_steps["vqcclassifier"]
print(vqc.circuit_.draw(output="text", fold=100))

# %%
# ``circuit_depth_`` is the depth of that circuit once transpiled to the basis of IBM
# devices (``rz``, ``sx``, ``x``, ``cx``) with all-to-all connectivity: the depth a device
# would have to run, larger than the depth of the drawing above, and larger than the depth
# of 12 the study reports.
print(f"depth as drawn:       {vqc.circuit_.depth()}")
print(f"depth on hardware:    {vqc.circuit_depth_}")
print(f"gate counts:          {vqc.circuit_gate_counts_}")
print(f"trained weights:      {np.round(vqc.weights_, 2)}")

# %%
# Training and decisions
# ----------------------
# COBYLA minimises the mean squared error between :math:`\langle Z_0 \rangle` and the
# targets :math:`\pm 1`, one circuit batch per evaluation (``loss_curve_``). The model
# predicts the class from the sign of :math:`\langle Z_0 \rangle`
# (``decision_function``).
fig, (ax_loss, ax_decision) = plt.subplots(1, 2, figsize=(10, 4))
ax_loss.plot(design_card[-1].loss_curve_, label="design card")
ax_loss.plot(vqc.loss_curve_, label="study pipeline")
ax_loss.set_xlabel("COBYLA evaluation")
ax_loss.set_ylabel("mean squared error")
ax_loss.set_title("Training loss")
ax_loss.legend()

decision = study.decision_function(X_test)
for label, name in enumerate(["healthy", "AML"]):
    values = decision[y_test == label]
    ax_decision.scatter(values, np.full(values.shape, label), alpha=0.6, label=name)
ax_decision.axvline(0.0, color="gray", linestyle="--")
ax_decision.set_yticks([0, 1], ["healthy", "AML"])
ax_decision.set_xlabel(r"$\langle Z_0 \rangle$ (test images)")
ax_decision.set_title("Decision values, study pipeline")
fig.tight_layout()
plt.show()
