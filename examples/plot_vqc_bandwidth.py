"""
======================================================
Encoding bandwidth: when a variational circuit learns
======================================================

A quantum model sees its inputs as rotation angles, and the range of those angles, its
*bandwidth*, decides whether it can learn: spread the angles over several radians and the
encoded states of neighbouring samples are unrelated; squeeze them together and every
state looks alike.

This example sweeps ``VQCClassifier``'s ``bandwidth`` on synthetic blood cells, compares
it with the study's settings and with a logistic regression on the same four PCA
components, and fits the data re-uploading classifier on the same data. The
:ref:`bandwidth <bandwidth>` page has the same curve on real cells and how the default
was chosen (cross-validation on training splits).
"""

# %%
# Data: 20 features of synthetic images, reduced to four principal components (one per
# qubit). The classifiers scale the components to angles themselves.
import matplotlib.pyplot as plt
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from qbloodcell import BloodCellFeatures, make_blood_cells
from qbloodcell.quantum import STUDY_VQC_SETTINGS, DataReuploadingClassifier, VQCClassifier

images, y = make_blood_cells(n_samples_per_class=120, random_state=1, return_X_y=True)
features = BloodCellFeatures().fit_transform(images)
X_train, X_test, y_train, y_test = train_test_split(
    features, y, test_size=0.25, stratify=y, random_state=0
)

# %%
# The bandwidth sweep: every other parameter at its default (200 evaluations here, to keep
# the example short).
bandwidths = [0.05, 0.25, 1.0, 4.0]
scores = []
for bandwidth in bandwidths:
    model = make_pipeline(PCA(4), VQCClassifier(bandwidth=bandwidth, max_iter=200, random_state=0))
    scores.append(model.fit(X_train, y_train).score(X_test, y_test))
    print(f"bandwidth {bandwidth:4}: test accuracy {scores[-1]:.3f}")

# %%
# References on the same split: a logistic regression on the same four components, the
# study's VQC exactly (its circuit and angles in [0, 2]) and the data re-uploading
# classifier, which re-encodes each feature in every layer through trainable weights.
logistic = make_pipeline(PCA(4), LogisticRegression(max_iter=1000))
study = make_pipeline(
    StandardScaler(),
    PCA(4),
    MinMaxScaler((0, 2)),
    VQCClassifier(**STUDY_VQC_SETTINGS, random_state=0),
)
reuploading = make_pipeline(PCA(4), DataReuploadingClassifier(n_layers=3, random_state=0))
references = {
    "logistic regression": logistic.fit(X_train, y_train).score(X_test, y_test),
    "study's VQC": study.fit(X_train, y_train).score(X_test, y_test),
    "re-uploading": reuploading.fit(X_train, y_train).score(X_test, y_test),
}
for name, score in references.items():
    print(f"{name}: test accuracy {score:.3f}")

fig, ax = plt.subplots(figsize=(6, 4))
ax.plot(bandwidths, scores, "o-", label="VQCClassifier(bandwidth=...)")
for (name, score), style in zip(references.items(), ["--", ":", "-."], strict=True):
    ax.axhline(score, linestyle=style, color="gray", label=name)
ax.set_xscale("log")
ax.set_xticks(bandwidths, [f"{b:g}" for b in bandwidths])
ax.set_xlabel("bandwidth (width of the angle range, radians)")
ax.set_ylabel("test accuracy")
ax.set_title(f"Synthetic cells, {len(X_test)} test images")
ax.legend(fontsize=8)
fig.tight_layout()
plt.show()

# %%
# With 60 test images one image is 1.7 points of accuracy: read the curve's shape (it
# falls at wide angle ranges), not its exact values.
print(f"test images: {len(X_test)}, one image = {100 / len(X_test):.1f} points")
