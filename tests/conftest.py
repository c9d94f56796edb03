"""Shared test configuration: the real-image fixture and a temporary image cache."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import pytest

# no display on CI machines; set before any test imports pyplot
matplotlib.use("Agg")

#: Real images beside the project (never inside it): ``../shared/data`` from the root.
_REAL_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session", autouse=True)
def _image_cache_in_tmp(tmp_path_factory):
    """Every test caches loaded images in a temporary folder, never the user's cache.

    Session-scoped, so that it is in place before any fixture of a wider scope loads.
    """
    folder = tmp_path_factory.getbasetemp() / "qbloodcell-image-cache"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("QBLOODCELL_CACHE_DIR", str(folder))
        yield


@pytest.fixture(scope="session")
def real_cells() -> Path:
    """The folder of real AML-Cytomorphology_LMU images; the test is skipped without it.

    It holds ``aml_cytomorphology_sample/AML-Cytomorphology_LMU/<CLASS>/*.tiff`` (15
    classes, 10 images each) and ``matek_myo_ngs/{MYO,NGS}/*.jpg`` (400 each); see its
    README.md.
    """
    expected = ("matek_myo_ngs", "aml_cytomorphology_sample")
    if not all((_REAL_DATA / folder).is_dir() for folder in expected):
        pytest.skip("real images not available")
    return _REAL_DATA


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Mark as slow the common checks that a module lists in ``SLOW_CHECKS``.

    ``SLOW_CHECKS`` (in tests/test_common.py) maps an estimator's label to the checks that
    take minutes for it, with the reason; they run in ``nox -s slow``, not by default.
    Runs before ``-m`` selects the items, so the marker counts.
    """
    for item in items:
        table = getattr(getattr(item, "module", None), "SLOW_CHECKS", None)
        params = getattr(getattr(item, "callspec", None), "params", {})
        if not table or "estimator" not in params or "check" not in params:
            continue
        label = item.module._LABELS.get(id(params["estimator"]))
        check = params["check"]
        name = getattr(check, "func", check).__name__
        if name in table.get(label, {}):
            item.add_marker(pytest.mark.slow)
