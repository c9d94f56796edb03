"""Image -> feature transformation: the 20 engineered features of the study.

:class:`BloodCellFeatures` is a scikit-learn transformer taking batches of blood-cell
images; :data:`FEATURE_NAMES` lists its 20 output features in the paper's order, and
:data:`STUDY_CODE_FEATURE_NAMES` those of ``feature_set="study-code"`` (the study's code).
"""

from qbloodcell.features._layout import FEATURE_NAMES, STUDY_CODE_FEATURE_NAMES
from qbloodcell.features._transformer import BloodCellFeatures

__all__ = ["FEATURE_NAMES", "STUDY_CODE_FEATURE_NAMES", "BloodCellFeatures"]
