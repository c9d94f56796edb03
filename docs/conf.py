"""Sphinx configuration for the qbloodcell documentation."""

from __future__ import annotations

import os
import re

import qbloodcell

os.environ.setdefault("TQDM_DISABLE", "1")

project = "qbloodcell"
author = "The qbloodcell developers"
copyright = "2026, the qbloodcell developers"
version = release = qbloodcell.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.extlinks",
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

# the docstrings cite papers as :doi:`10.xxxx/...`
extlinks = {"doi": ("https://doi.org/%s", "doi:%s")}

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


# scikit-learn sets ``set_fit_request``, ``set_score_request``, ... on every estimator class
# (metadata routing); their docstrings point at labels of scikit-learn's own documentation,
# which cannot be resolved without intersphinx, and they say nothing specific to qbloodcell.
_METADATA_REQUEST_METHOD = re.compile(r"set_\w+_request")


def _skip_metadata_request_methods(app, what, name, obj, skip, options):
    if _METADATA_REQUEST_METHOD.fullmatch(name):
        return True
    return None


def _literal_shape_names(app, what, name, obj, options, lines):
    # "ndarray of shape (n_features_in_,)" in a numpydoc type: reST would read the trailing
    # underscore as a hyperlink reference, so the attribute name is made a literal
    for index, line in enumerate(lines):
        lines[index] = line.replace("(n_features_in_,)", "(``n_features_in_``,)")


def setup(app):
    app.connect("autodoc-skip-member", _skip_metadata_request_methods)
    app.connect("autodoc-process-docstring", _literal_shape_names)
