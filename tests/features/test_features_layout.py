"""The column layout of the feature sets: named once, every index derived from the names."""

from __future__ import annotations

import numpy as np
import pytest

from qbloodcell.features import FEATURE_NAMES, STUDY_CODE_FEATURE_NAMES, BloodCellFeatures, _layout


@pytest.mark.parametrize(
    ("groups", "names"),
    [
        (_layout.FEATURE_GROUPS, FEATURE_NAMES),
        (_layout.STUDY_CODE_FEATURE_GROUPS, STUDY_CODE_FEATURE_NAMES),
    ],
)
def test_groups_tile_the_names(groups, names):
    assert len(names) == len(set(names)) == 20
    assert list(groups) == ["intensity", "glcm", "morphology", "edges", "frequency"]
    covered = []
    for group in groups:
        columns = _layout.group_slice(groups, group)
        assert names[columns] == groups[group]
        covered.extend(range(20)[columns])
    assert covered == list(range(20))


def test_named_columns_hold_what_their_names_say():
    rng = np.random.default_rng(0)
    images = rng.uniform(0.2, 0.9, (3, 32, 32))
    features = BloodCellFeatures(image_size=None).transform(images)
    column = _layout.COLUMN
    np.testing.assert_array_equal(features[:, column["intensity_min"]], images.min(axis=(1, 2)))
    np.testing.assert_array_equal(features[:, column["intensity_max"]], images.max(axis=(1, 2)))
    np.testing.assert_allclose(features[:, column["intensity_mean"]], images.mean(axis=(1, 2)))
    assert _layout.N_KERNEL_FEATURES == _layout.FREQUENCY_START == 17
    assert (_layout.CELL_AREA, _layout.CELL_SOLIDITY) == (10, 13)
