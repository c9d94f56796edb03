"""The study's benchmark as a Python API: protocol, results, tables and plots.

- :func:`run_benchmark` fits every method on balanced subsets of several sizes and seeds
  (stratified 80/20 splits), in parallel if asked, resumable, and writes a CSV, a JSON
  summary, a Markdown table shaped like the study's Table II and two plots.
- :class:`StudyProtocol` names the undeclared choices of the study's published code
  (``run_benchmark(protocol=...)``), for the protocol audit.
- :class:`BenchmarkResult` holds what a run measured (``to_frame``, ``to_markdown``).

The command line ``qbloodcell benchmark`` is a thin layer over :func:`run_benchmark`.
"""

from qbloodcell.benchmark._protocol import PROTOCOL_SWITCHES, StudyProtocol
from qbloodcell.benchmark._report import BenchmarkResult
from qbloodcell.benchmark._runner import run_benchmark

__all__ = ["PROTOCOL_SWITCHES", "BenchmarkResult", "StudyProtocol", "run_benchmark"]
