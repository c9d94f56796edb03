"""Quantum classifiers and kernels (Qiskit).

Importing this subpackage imports Qiskit; ``import qbloodcell`` alone does not.
"""

from qbloodcell.quantum._classifier import STUDY_VQC_SETTINGS, VQCClassifier
from qbloodcell.quantum._diagnostics import (
    GradientVarianceResult,
    circuit_depth_report,
    gradient_variance,
)
from qbloodcell.quantum._kernel_svc import QuantumKernelSVC
from qbloodcell.quantum._kernels import FidelityQuantumKernel
from qbloodcell.quantum._mitigation import ZeroNoiseExtrapolation
from qbloodcell.quantum._projected import ProjectedQuantumKernel
from qbloodcell.quantum._reuploading import DataReuploadingClassifier
from qbloodcell.quantum._trainable import TrainableQuantumKernel

__all__ = [
    "STUDY_VQC_SETTINGS",
    "DataReuploadingClassifier",
    "FidelityQuantumKernel",
    "GradientVarianceResult",
    "ProjectedQuantumKernel",
    "QuantumKernelSVC",
    "TrainableQuantumKernel",
    "VQCClassifier",
    "ZeroNoiseExtrapolation",
    "circuit_depth_report",
    "gradient_variance",
]
