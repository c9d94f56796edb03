"""Sphinx configuration for the qbloodcell documentation."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
from pathlib import Path

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
html_static_path = ["_static/css"]
html_css_files = ["qbloodcell.css"]
# The left column holds the section's pages and, below them, this page's sections; there
# is no right column. Both sidebars next to the article left about 600 px for it at
# 1280 px, less than the 100-character lines of the code blocks. Top-level pages without
# children (quickstart, results, ...) get only their own sections there instead of an
# empty "Section Navigation".
_PAGE_TOC_ONLY = ["page-toc"]
_SECTION_AND_PAGE_TOC = ["sidebar-nav-bs", "page-toc"]
html_sidebars = {
    "**": _SECTION_AND_PAGE_TOC,
    "index": [],
    "install": _PAGE_TOC_ONLY,
    "quickstart": _PAGE_TOC_ONLY,
    "results": _PAGE_TOC_ONLY,
    "api": _PAGE_TOC_ONLY,
}
html_theme_options = {
    "show_toc_level": 2,
    "navigation_with_keys": False,
    "secondary_sidebar_items": [],
    "primary_sidebar_end": ["sourcelink"],
}

# Maths: MathJax 3 from the django-static-mathjax wheel (MathJax's own es5 build, Apache
# 2.0; the docs dependency group installs it), copied into the built site's _static by
# _copy_mathjax below, so that the pages render formulas without a network connection.
# Nothing of MathJax is kept in this repository.
MATHJAX_FILES = (
    "tex-chtml.js",
    "input/tex/extensions",  # loaded on demand by TeX's autoload (\boldsymbol, ...)
    "output/chtml/fonts/woff-v2",
    "ui",  # the right-click menu
    "a11y",  # assistive MathML, loaded by the menu
)
mathjax_path = "mathjax/tex-chtml.js"

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


def _mathjax_es5() -> Path:
    spec = importlib.util.find_spec("mathjax")
    locations = spec.submodule_search_locations if spec is not None else None
    if locations:
        es5 = Path(next(iter(locations))) / "static" / "mathjax" / "es5"
        if (es5 / MATHJAX_FILES[0]).is_file():
            return es5
    raise RuntimeError(
        "the documentation needs a local copy of MathJax: install the docs dependency group "
        "(pip install --group docs, or nox -s docs), which contains django-static-mathjax"
    )


def _check_mathjax(app):
    if app.builder.format == "html":
        _mathjax_es5()


def _copy_mathjax(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    source = _mathjax_es5()
    target = Path(app.outdir) / "_static" / "mathjax"
    for name in MATHJAX_FILES:
        if (source / name).is_dir():
            shutil.copytree(source / name, target / name, dirs_exist_ok=True)
        else:
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source / name, target / name)


def setup(app):
    app.connect("builder-inited", _check_mathjax)
    app.connect("build-finished", _copy_mathjax)
    app.connect("autodoc-skip-member", _skip_metadata_request_methods)
    app.connect("autodoc-process-docstring", _literal_shape_names)
