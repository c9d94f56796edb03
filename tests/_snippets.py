"""The code the README and the docs pages show, read from their sources.

Used by tests/test_docs.py, which runs it, and by ``nox -s build``, which runs the README's
minimal pipeline against the built wheel. Standard library only (the nox session imports
it outside the project's environment).
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_MARKDOWN_PYTHON = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def markdown_section(text: str, heading: str) -> str:
    """The text of the Markdown section ``## heading``, up to the next heading of that level."""
    match = re.search(
        rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", text, re.MULTILINE | re.DOTALL
    )
    if match is None:
        raise ValueError(f"no section '## {heading}'")
    return match.group(1)


def readme_pipeline(readme: Path = ROOT / "README.md") -> str:
    """The Python block of the README's "A minimal pipeline" section."""
    blocks = _MARKDOWN_PYTHON.findall(
        markdown_section(readme.read_text(encoding="utf-8"), "A minimal pipeline")
    )
    if len(blocks) != 1:
        raise ValueError(f"'A minimal pipeline' of {readme} has {len(blocks)} python blocks, not 1")
    return blocks[0]


def rst_python_blocks(page: Path) -> list[str]:
    """The ``.. code-block:: python`` blocks of a reST page, dedented, in page order."""
    lines = page.read_text(encoding="utf-8").splitlines()
    blocks = []
    index = 0
    while index < len(lines):
        if lines[index].strip() != ".. code-block:: python":
            index += 1
            continue
        index += 1
        while index < len(lines) and re.match(r"\s+:[\w-]+:", lines[index]):
            index += 1  # the directive's options
        body = []
        while index < len(lines) and (not lines[index].strip() or lines[index][:1].isspace()):
            body.append(lines[index])
            index += 1
        blocks.append(textwrap.dedent("\n".join(body)).strip("\n") + "\n")
    return blocks
