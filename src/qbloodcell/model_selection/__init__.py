"""Model selection over training-set sizes.

- :class:`BalancedSubsampleClassifier` fits a classifier on a class-balanced subsample of
  its training data, so that ``GridSearchCV`` and ``learning_curve`` can treat the number of
  training samples per class as a hyper-parameter.
"""

from qbloodcell.model_selection._subsample import BalancedSubsampleClassifier

__all__ = ["BalancedSubsampleClassifier"]
