"""Classical baselines: a small CNN on images and the dense network on features.

- :class:`CNNClassifier` trains a small convolutional network on the images themselves
  (PyTorch, an optional dependency: ``pip install 'qbloodcell[torch]'``).
- :func:`make_dense_classifier` builds the study's "Dense NN": the 20 engineered
  features, standardised, into scikit-learn's :class:`~sklearn.neural_network.MLPClassifier`.

Importing this module does not import torch; the CNN imports it when it is fitted or
used, and raises an ImportError with the install command when it is missing.
"""

from qbloodcell.baselines._cnn import CNNClassifier
from qbloodcell.baselines._dense import make_dense_classifier

__all__ = ["CNNClassifier", "make_dense_classifier"]
