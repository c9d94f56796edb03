"""Development sessions: ``nox -l`` lists them; ``nox`` alone runs the tests."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
from pathlib import Path

import nox

nox.options.sessions = ["tests"]
nox.options.reuse_existing_virtualenvs = False

PYPROJECT = nox.project.load_toml("pyproject.toml")
# every install goes through constraints.txt: it pins torch to 2.13.0 (the CPU build where
# the machine carries it, see docs/install.rst)
CONSTRAINTS = ("--constraint", "constraints.txt")


def install_project(
    session: nox.Session, *, extras: str = "", groups: tuple[str, ...] = ()
) -> None:
    """Install the project (editable) with its extras and dependency groups."""
    target = f".[{extras}]" if extras else "."
    session.install(*CONSTRAINTS, "-e", target, *nox.project.dependency_groups(PYPROJECT, *groups))


@nox.session
def tests(session: nox.Session) -> None:
    """The default test run (slow tests left out); stays under 10 minutes on 2 cores."""
    install_project(session, extras="torch", groups=("test",))
    session.run("pytest", *session.posargs)


@nox.session
def slow(session: nox.Session) -> None:
    """Only the tests marked slow (long accuracy and end-to-end runs)."""
    install_project(session, extras="torch", groups=("test",))
    session.run("pytest", "-m", "slow", *session.posargs)


@nox.session
def coverage(session: nox.Session) -> None:
    """Line coverage with numba's JIT turned off, so that kernel bodies are counted."""
    install_project(session, extras="torch", groups=("test",))
    session.install("coverage[toml]")
    session.run("coverage", "run", "-m", "pytest", *session.posargs, env={"NUMBA_DISABLE_JIT": "1"})
    session.run("coverage", "report", "--show-missing")


@nox.session
def lint(session: nox.Session) -> None:
    """ruff (lint and format check) and mypy on the package."""
    install_project(session, groups=("lint",))
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("mypy")


@nox.session
def docs(session: nox.Session) -> None:
    """Build the Sphinx site with warnings as errors."""
    install_project(session, extras="torch", groups=("docs",))
    session.run(
        "sphinx-build",
        "-W",
        "--keep-going",
        "-b",
        "html",
        "docs",
        "docs/_build/html",
        *session.posargs,
    )


@nox.session
def screenshots(session: nox.Session) -> None:
    """Screenshots of the docs in a headless Chromium, checked for offline maths and layout.

    Builds the site without running the gallery into ``docs/_build/html-screenshots``
    (``nox -s screenshots -- --reuse`` checks ``docs/_build/html`` of ``nox -s docs``
    instead), then ``docs/screenshots.py`` writes a PNG per page to
    ``docs/_build/screenshots`` and fails on an untypeset formula, a request off the
    machine, a cut code block or an empty left navigation. Needs a Chromium: Debian's
    ``chromium`` package, or ``-- --chromium PATH``.
    """
    args = [arg for arg in session.posargs if arg != "--reuse"]
    if "--reuse" in session.posargs:
        html = "docs/_build/html"
        session.install(*nox.project.dependency_groups(PYPROJECT, "screenshots"))
    else:
        html = "docs/_build/html-screenshots"
        install_project(session, extras="torch", groups=("docs", "screenshots"))
        session.run(
            "sphinx-build", "-W", "--keep-going", "-b", "html", "-D", "plot_gallery=0", "docs", html
        )
    session.run("python", "docs/screenshots.py", html, "docs/_build/screenshots", *args)


def _readme_pipeline() -> str:
    """The README's minimal pipeline, read by tests/_snippets.py (also used by the tests)."""
    spec = importlib.util.spec_from_file_location("_snippets", "tests/_snippets.py")
    assert spec is not None
    assert spec.loader is not None
    snippets = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(snippets)
    return snippets.readme_pipeline()


# run in the fresh environment: the package comes from the wheel, at the version the
# source declares (src/qbloodcell/__init__.py, the one place it is set)
_WHEEL_CHECK = """
import importlib.metadata, pathlib, sys
import qbloodcell
installed = importlib.metadata.version("qbloodcell")
assert installed == qbloodcell.__version__ == sys.argv[1], (installed, qbloodcell.__version__)
assert pathlib.Path(sys.prefix) in pathlib.Path(qbloodcell.__file__).parents, qbloodcell.__file__
print("qbloodcell", installed, "from", qbloodcell.__file__)
"""


@nox.session
def build(session: nox.Session) -> None:
    """Wheel and sdist into ``dist/``, ``twine check``, then the wheel in a fresh venv.

    The wheel is built from the sdist (so a file missing from the sdist fails here). Both
    pass ``twine check --strict`` (metadata and the README as long description). The
    wheel, without extras and through constraints.txt, goes into a new virtual environment
    outside the checkout, which then runs the README's minimal pipeline.
    """
    session.install("build", "twine")
    dist = Path("dist")
    shutil.rmtree(dist, ignore_errors=True)
    session.run("python", "-m", "build", "--outdir", str(dist))
    wheels, sdists = sorted(dist.glob("*.whl")), sorted(dist.glob("*.tar.gz"))
    if len(wheels) != 1 or len(sdists) != 1:
        session.error(f"expected one wheel and one sdist in dist/, found {wheels + sdists}")
    session.run("twine", "check", "--strict", str(wheels[0]), str(sdists[0]))

    init = Path("src/qbloodcell/__init__.py").read_text(encoding="utf-8")
    version = re.search(r'^__version__ = "([^"]+)"', init, re.MULTILINE)
    if version is None or not wheels[0].name.startswith(f"qbloodcell-{version.group(1)}-"):
        session.error(f"{wheels[0].name} does not carry the version of src/qbloodcell/__init__.py")

    tmp = Path(session.create_tmp()).resolve()
    venv = tmp / "wheel-venv"
    session.run("python", "-m", "venv", "--clear", str(venv))
    python = str(venv / ("Scripts" if os.name == "nt" else "bin") / "python")
    constraints = str(Path("constraints.txt").resolve())
    wheel = str(wheels[0].resolve())
    session.run(python, "-m", "pip", "install", "--quiet", "-c", constraints, wheel, external=True)
    pipeline = tmp / "readme_pipeline.py"
    pipeline.write_text(_readme_pipeline(), encoding="utf-8")
    with session.chdir(tmp):  # the checkout's src/ is not importable from here
        session.run(python, "-c", _WHEEL_CHECK, version.group(1), external=True)
        output = session.run(python, str(pipeline), external=True, silent=True)
    print(output)
    if not re.search(r"^test accuracy: (0\.\d+|1\.0+)$", str(output), re.MULTILINE):
        session.error("the README's minimal pipeline did not print its test accuracy")


@nox.session
def bench(session: nox.Session) -> None:
    """Speed benchmarks: each prints ratios against a reference measured in the same run.

    ``nox -s bench -- features`` runs only ``benchmarks/bench_features.py``.
    """
    install_project(session, extras="torch", groups=("test",))
    # reference implementation the VQC benchmark compares against; never a library dependency
    session.install(*CONSTRAINTS, "qiskit-machine-learning")
    names = session.posargs or sorted(
        name[len("bench_") : -len(".py")]
        for name in os.listdir("benchmarks")
        if name.startswith("bench_") and name.endswith(".py")
    )
    for name in names:
        session.run("python", f"benchmarks/bench_{name}.py")


@nox.session
def benchmark(session: nox.Session) -> None:
    """The main job: the study's benchmark on the embedded synthetic data (see the README).

    ``nox -s benchmark -- --quick`` runs the one-minute preset; any other
    ``qbloodcell benchmark`` option passes through the same way.
    """
    install_project(session, extras="torch")
    session.run("qbloodcell", "benchmark", *session.posargs)
