"""Quantum classifiers and kernels (Qiskit).

Importing this subpackage imports Qiskit; ``import qbloodcell`` alone does not.
"""

from qbloodcell.quantum._classifier import VQCClassifier
from qbloodcell.quantum._kernels import (
    FidelityQuantumKernel,
    ProjectedQuantumKernel,
    QuantumKernelSVC,
    TrainableQuantumKernel,
)

__all__ = [
    "FidelityQuantumKernel",
    "ProjectedQuantumKernel",
    "QuantumKernelSVC",
    "TrainableQuantumKernel",
    "VQCClassifier",
]
