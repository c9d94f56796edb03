"""The top-level package: lazy imports, version, public names."""

from __future__ import annotations

import subprocess
import sys

import pytest

import qbloodcell


def test_version_is_a_string():
    assert isinstance(qbloodcell.__version__, str)
    assert qbloodcell.__version__.count(".") == 2


def test_import_pulls_in_neither_qiskit_nor_torch():
    code = (
        "import sys, time; t = time.perf_counter(); import qbloodcell; "
        "elapsed = time.perf_counter() - t; "
        "heavy = sorted(m for m in ('qiskit', 'torch', 'numba', 'skimage') if m in sys.modules); "
        "print(heavy, elapsed)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    heavy, elapsed = out.stdout.rsplit(" ", 1)
    assert heavy == "[]"
    assert float(elapsed) < 1.0


def test_unknown_attribute_raises_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'NotAThing'"):
        _ = qbloodcell.NotAThing


def test_dir_lists_public_names():
    assert "BloodCellFeatures" in dir(qbloodcell)
    assert "VQCClassifier" in qbloodcell.__all__
