"""The code the README and the quickstart show runs as shown, after the documented install."""

from __future__ import annotations

import re

import pytest

from _snippets import ROOT, markdown_section, readme_pipeline, rst_python_blocks

QUICKSTART = ROOT / "docs" / "quickstart.rst"
README = ROOT / "README.md"


def _extras(command: str) -> set[str]:
    match = re.search(r'-e "\.\[([\w,-]+)\]"', command)
    return set(match.group(1).split(",")) if match else set()


def _readme_install_command() -> str:
    text = markdown_section(README.read_text(encoding="utf-8"), "Set-up: two commands")
    commands = [line for line in text.splitlines() if line.startswith("pip install ")]
    assert len(commands) == 1, commands
    return commands[0]


def test_readme_install_brings_what_the_quickstart_uses():
    # the quickstart calls set_output(transform="pandas"): the README's install must bring
    # pandas, through an extra that pyproject.toml defines
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    extras = _extras(_readme_install_command())
    optional = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "optional-dependencies"
    ]
    assert "pandas" in extras
    assert extras <= set(optional), extras - set(optional)
    assert any(requirement.startswith("pandas") for requirement in optional["pandas"])
    assert 'transform="pandas"' in QUICKSTART.read_text(encoding="utf-8")


def test_quickstart_names_the_extra_it_needs():
    text = QUICKSTART.read_text(encoding="utf-8")
    assert '".[torch,pandas]"' in text or '".[pandas]"' in text


def test_quickstart_features_block_returns_a_dataframe():
    # the documented features block, unchanged, on a few images instead of 500
    pytest.importorskip("pandas")
    import pandas as pd

    from qbloodcell import make_blood_cells

    blocks = rst_python_blocks(QUICKSTART)
    features = next(block for block in blocks if 'set_output(transform="pandas")' in block)
    namespace = {"cells": make_blood_cells(n_samples_per_class=3, random_state=0)}
    exec(compile(features, str(QUICKSTART), "exec"), namespace)
    table = namespace["table"]
    assert isinstance(table, pd.DataFrame)
    assert table.shape == (6, 20)
    assert table.notna().all().all()


def test_readme_minimal_pipeline_is_found():
    code = readme_pipeline(README)
    assert "make_pipeline(" in code
    assert ".fit(" in code
    compile(code, "README.md", "exec")


def test_snippets_reads_rst_code_blocks(tmp_path):
    page = tmp_path / "page.rst"
    page.write_text(
        "Title\n=====\n\n.. code-block:: python\n   :caption: one\n\n   x = 1\n\n   y = x + 1\n"
        "\ntext\n\n.. code-block:: bash\n\n   ls\n\n.. code-block:: python\n\n   z = 3\n",
        encoding="utf-8",
    )
    assert rst_python_blocks(page) == ["x = 1\n\ny = x + 1\n", "z = 3\n"]


@pytest.mark.slow
def test_quickstart_runs_as_shown(capsys):
    pytest.importorskip("pandas")
    namespace: dict[str, object] = {}
    for block in rst_python_blocks(QUICKSTART):
        exec(compile(block, str(QUICKSTART), "exec"), namespace)
    printed = capsys.readouterr().out.split()
    # "VQC <accuracy>" and "EP <accuracy>"
    scores = dict(zip(printed[::2], map(float, printed[1::2]), strict=True))
    assert set(scores) == {"VQC", "EP"}
    assert all(0.5 < score <= 1.0 for score in scores.values())
