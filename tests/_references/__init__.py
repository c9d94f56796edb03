"""Plain reference implementations shared by the tests and ``benchmarks/``.

- :mod:`_references.ep`: NumPy Equilibrium Propagation (relaxation, gradient, training).
- :mod:`_references.features`: the 20 blood-cell features from scikit-image, one image at a
  time, and the varied test images they are compared on.

pytest puts ``tests/`` on ``sys.path`` (``pythonpath`` in ``pyproject.toml``); a benchmark,
run as ``python benchmarks/bench_x.py``, puts it there from its own location, so the import
works from any working directory.
"""
