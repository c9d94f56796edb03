"""Sphinx configuration for the qbloodcell documentation."""

from __future__ import annotations

import os

import qbloodcell

os.environ.setdefault("TQDM_DISABLE", "1")

project = "qbloodcell"
author = "The qbloodcell developers"
copyright = "2026, the qbloodcell developers"
version = release = qbloodcell.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "**.ipynb_checkpoints", "auto_examples/*.ipynb", "auto_examples/*.py"]
html_theme = "pydata_sphinx_theme"
html_title = "qbloodcell"
html_static_path: list[str] = []
html_theme_options = {"show_toc_level": 2, "navigation_with_keys": False}

autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": False}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False

# no network at build time: intersphinx inventories are not fetched
intersphinx_mapping: dict[str, tuple[str, str | None]] = {}

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    "show_memory": False,
    "matplotlib_animations": False,
}
