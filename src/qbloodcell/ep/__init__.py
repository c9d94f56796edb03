"""Equilibrium Propagation: a layered Hopfield-like network trained without backpropagation.

>>> from qbloodcell.ep import EquilibriumPropagationClassifier
>>> EquilibriumPropagationClassifier(hidden_layer_sizes=(16,)).hidden_layer_sizes
(16,)
"""

from qbloodcell.ep._classifier import EquilibriumPropagationClassifier

__all__ = ["EquilibriumPropagationClassifier"]
