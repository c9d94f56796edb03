"""
==============================================
How many images per class? A grid search
==============================================

The study asks how accuracy grows with the number of training images per class (50, 100,
200, 250): its claim is that the VQC is flat over that range while the CNN keeps
improving. :class:`qbloodcell.model_selection.BalancedSubsampleClassifier` turns "images
per class" into an ordinary hyper-parameter: its ``fit`` draws ``n_samples_per_class``
samples of every class from the data it gets, and fits a clone of the wrapped model on
them. ``GridSearchCV`` then scores every size on the same held-out folds.
"""

# %%
# Features of a synthetic pool of images
# --------------------------------------
# The 20 features are computed once: the grid search fits only the cheap part of each
# pipeline, many times.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.decomposition import PCA
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from qbloodcell import BloodCellFeatures, VQCClassifier, make_blood_cells
from qbloodcell.model_selection import BalancedSubsampleClassifier

images, y = make_blood_cells(n_samples_per_class=150, random_state=0, return_X_y=True)
features = BloodCellFeatures().fit_transform(images)

# %%
# Two models, wrapped
# -------------------
# The VQC as in the study (standardise, 4 principal components, angles in [0, 2]) and a
# small dense network trained by backpropagation. Scalers and PCA are fitted inside each
# subsample, on the training images only.
models = {
    "VQC": make_pipeline(
        StandardScaler(),
        PCA(4),
        MinMaxScaler((0, 2)),
        VQCClassifier(max_iter=100, random_state=0),
    ),
    "Dense NN": make_pipeline(
        StandardScaler(), MLPClassifier((32,), alpha=1e-2, max_iter=1000, random_state=0)
    ),
}

# %%
# The search
# ----------
# Four stratified folds of the 300 images leave about 112 training images per class in
# every fold, so sizes up to 100 per class can be drawn; each fold is scored on its 75
# held-out images, whatever the size of the subsample. ``refit=False``: the point is the
# table of scores, not a final model.
sizes = [10, 25, 50, 100]
cv = StratifiedKFold(n_splits=4, shuffle=True, random_state=0)
curves = {}
for name, model in models.items():
    search = GridSearchCV(
        BalancedSubsampleClassifier(model, random_state=0),
        {"n_samples_per_class": sizes},
        cv=cv,
        refit=False,
    )
    search.fit(features, y)
    mean = search.cv_results_["mean_test_score"]
    std = search.cv_results_["std_test_score"]
    curves[name] = (mean, std)
    for size, m, s in zip(sizes, mean, std, strict=True):
        print(f"{name:9s} {size:4d} per class: accuracy {m:.3f} ± {s:.3f}")

# %%
# Accuracy against images per class
# ---------------------------------
# Error bars are the standard deviation over the four folds. On synthetic images the
# curves say how each model behaves on this generator; the same code with the real images
# (:func:`qbloodcell.load_aml_cytomorphology`) would test the study's claim.
fig, ax = plt.subplots(figsize=(6, 4))
for name, (mean, std) in curves.items():
    ax.errorbar(sizes, mean, yerr=std, marker="o", capsize=3, label=name)
ax.set_xscale("log")
ax.set_xticks(sizes, [str(size) for size in sizes])
ax.set_xlabel("training images per class")
ax.set_ylabel("cross-validated accuracy")
ax.set_ylim(top=1.0)
ax.axhline(0.5, color="gray", linestyle=":", label="chance")
ax.legend()
ax.set_title("Data efficiency on synthetic cells")
fig.tight_layout()
plt.show()

print(f"largest fold-to-fold spread: {max(np.max(s) for _, s in curves.values()):.3f}")
