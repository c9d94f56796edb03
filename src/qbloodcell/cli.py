"""The ``qbloodcell`` command: a thin argparse layer over the Python API.

``qbloodcell benchmark`` runs :func:`qbloodcell.benchmark.run_benchmark` and prints the
Table II-shaped results table and where the files are; ``qbloodcell --version`` prints the
version. Invalid arguments and unusable data end with a one-line message (in the command's
own words: ``--resume``, not ``resume=True``) and exit status 2, a run with failed fits lists
them and exits with status 1, an interrupted run prints a hint to ``--resume`` and exits
with status 130. ``python -m qbloodcell`` is the same command.
"""

from __future__ import annotations

import argparse
import re
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import qbloodcell

#: Default output folder of ``qbloodcell benchmark``.
DEFAULT_OUT = "qbloodcell-benchmark"

#: run_benchmark's words in its error messages, and the command's words for them.
_CLI_WORDS: tuple[tuple[str, str], ...] = (
    (r"\bresume=True \(--resume\)", "--resume"),
    (r"\boverwrite=True \(--overwrite\)", "--overwrite"),
    (r"\bresume=True\b", "--resume"),
    (r"\boverwrite=True\b", "--overwrite"),
    (r"\bscheduler_address=", "--scheduler "),
    (r"\bscheduler_address\b", "--scheduler"),
    (r"\bbackend='dask'", "--backend dask"),
    (r"\bbackend=", "--backend "),
    (r"\bn_seeds\b", "--seeds"),
    (r"\bn_jobs\b", "--n-jobs"),
    (r"\brandom_state=", "--random-state "),
    (r"\brandom_state\b", "--random-state"),
    (r"\bclass_mapping\b", "--class-mapping"),
    (r"\(sizes\)", "(--sizes)"),
    (r"^sizes\b", "--sizes"),
    (r"\bchoose sizes\b", "choose --sizes"),
    (r"\bdata=PATH\b", "--data PATH"),
    (r"^data=", "--data "),
)


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line, without the usage block."""

    def error(self, message: str) -> Any:
        self.exit(2, f"{self.prog}: error: {message}\n")


def _in_cli_words(message: str) -> str:
    """An error message of :func:`run_benchmark` on one line, in the command's words."""
    text = " ".join(str(message).split())
    for pattern, words in _CLI_WORDS:
        text = re.sub(pattern, words, text)
    return text


def _build_parser() -> tuple[argparse.ArgumentParser, argparse.ArgumentParser]:
    from qbloodcell.benchmark._methods import DEFAULT_METHODS, builtin_methods
    from qbloodcell.benchmark._protocol import PROTOCOL_SWITCHES
    from qbloodcell.benchmark._runner import DEFAULT_SEEDS, STUDY_SIZES

    parser = _Parser(
        prog="qbloodcell",
        description=(
            "Quantum and quantum-inspired machine learning for blood-cell microscopy. "
            "Run `qbloodcell benchmark` to reproduce the study's benchmark."
        ),
    )
    parser.add_argument(
        "--version", action="version", version=f"qbloodcell {qbloodcell.__version__}"
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    bench = commands.add_parser(
        "benchmark",
        help="run the study's benchmark (methods x samples per class x seeds)",
        description=(
            "Fit every method on balanced subsets of each size (stratified 80/20 splits, "
            "several seeds) and write results.csv, summary.json, table.md and two plots. "
            "Without --data the images are synthetic."
        ),
    )
    bench.add_argument(
        "--methods",
        nargs="+",
        choices=list(builtin_methods()),
        default=list(DEFAULT_METHODS),
        metavar="METHOD",
        help=f"methods to run, among {', '.join(builtin_methods())} (default: "
        f"{', '.join(DEFAULT_METHODS)})",
    )
    bench.add_argument(
        "--sizes",
        nargs="+",
        type=int,
        metavar="N",
        help="images per class of the balanced subsets (default: "
        f"{' '.join(map(str, STUDY_SIZES))}; with --quick: 50 100)",
    )
    bench.add_argument(
        "--seeds",
        type=int,
        metavar="N",
        help=f"repetitions per size, each a new subset and split (default: {DEFAULT_SEEDS}; "
        "with --quick: 2)",
    )
    bench.add_argument(
        "--data",
        type=Path,
        metavar="PATH",
        help="a local AML-Cytomorphology_LMU copy or any folder of class folders, detected "
        "from the folder names; images are cached in $QBLOODCELL_CACHE_DIR or the user "
        "cache folder (default: synthetic images)",
    )
    bench.add_argument(
        "--class-mapping",
        nargs="+",
        metavar="SPEC",
        help="with --data and the binary target, which classes are AML: 'blast' (default: "
        "blasts and promyelocytes), 'study' (all but NGS LYT MON NGB, the study code's "
        "grouping), then optional NAME=AML, NAME=healthy or NAME=none changes, e.g. "
        "'study KSC=none' or 'blasts=AML neutrophils=healthy' for your own folders",
    )
    bench.add_argument(
        "--target",
        choices=["binary", "morphology"],
        default="binary",
        help="AML vs healthy (default), or the morphological cell classes",
    )
    bench.add_argument(
        "--out",
        type=Path,
        default=Path(DEFAULT_OUT),
        metavar="DIR",
        help=f"output folder (default: ./{DEFAULT_OUT})",
    )
    existing = bench.add_mutually_exclusive_group()
    existing.add_argument(
        "--resume", action="store_true", help="keep the finished runs in DIR, run the rest"
    )
    existing.add_argument(
        "--overwrite", action="store_true", help="discard an earlier results.csv in DIR"
    )
    bench.add_argument(
        "--n-jobs",
        type=int,
        default=-1,
        metavar="N",
        help="fits run at once, each on its share of the cores (default: -1, one fit per "
        "core; 1: one fit at a time on every core)",
    )
    bench.add_argument(
        "--backend",
        choices=["loky", "dask"],
        default="loky",
        help="joblib's loky processes (default) or a dask.distributed cluster",
    )
    bench.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="dask scheduler address, e.g. tcp://10.0.0.5:8786 (with --backend dask)",
    )
    bench.add_argument(
        "--quick",
        action="store_true",
        help="demo/CI preset: sizes 50 100, 2 seeds, fewer CNN and EP epochs",
    )
    bench.add_argument(
        "--random-state", type=int, default=0, metavar="N", help="seed of everything (default: 0)"
    )
    bench.add_argument(
        "--protocol",
        nargs="+",
        default=["paper"],
        metavar="SWITCH",
        help=(
            "protocol audit: 'paper' (default, the honest protocol), 'study-code' (every "
            "undeclared choice of the study's code) or one or more switches: "
            f"{' '.join(PROTOCOL_SWITCHES)}"
        ),
    )
    bench.add_argument(
        "--vqc-search-budget",
        type=int,
        default=None,
        metavar="N",
        help="fits of the VQC search on test with --protocol vqc-search-on-test (default 174)",
    )
    bench.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    return parser, bench


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``qbloodcell`` command line.

    Parameters
    ----------
    argv : sequence of str or None, default=None
        The arguments, without the program name; None reads ``sys.argv``.

    Returns
    -------
    status : int
        0 on success, 1 when fits failed (they are listed), 2 for invalid arguments or
        data, 130 when interrupted.

    Examples
    --------
    >>> from qbloodcell.cli import main
    >>> main(["--version"])
    Traceback (most recent call last):
    SystemExit: 0
    """
    parser, bench_parser = _build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    if args.data is not None and not args.data.exists():
        bench_parser.error(
            f"--data {args.data}: no such folder; give a local copy of AML-Cytomorphology_LMU "
            "or any folder with one sub-folder of images per class, or leave --data out for "
            "synthetic images."
        )
    if args.scheduler is not None and args.backend != "dask":
        bench_parser.error("--scheduler needs --backend dask.")
    class_mapping = _parse_class_mapping(args.class_mapping, bench_parser)
    if class_mapping is not None and args.data is None:
        bench_parser.error("--class-mapping needs --data: synthetic images have their labels.")

    from qbloodcell.benchmark import StudyProtocol, run_benchmark

    try:
        presets = ("paper", "study-code")
        names = args.protocol
        protocol = StudyProtocol.from_switches(
            names[0] if len(names) == 1 and names[0] in presets else names,
            **(
                {}
                if args.vqc_search_budget is None
                else {"vqc_search_budget": args.vqc_search_budget}
            ),
        )
    except (TypeError, ValueError) as exc:
        bench_parser.error(f"--protocol: {exc}")

    try:
        with warnings.catch_warnings():
            # unavailable methods and failed runs are reported in the table and the files
            warnings.simplefilter("always")
            result = run_benchmark(
                methods=args.methods,
                sizes=args.sizes,
                n_seeds=args.seeds,
                data=args.data,
                target=args.target,
                class_mapping=class_mapping,
                out=args.out,
                resume=args.resume,
                overwrite=args.overwrite,
                n_jobs=args.n_jobs,
                backend=args.backend,
                scheduler_address=args.scheduler,
                progress=not args.no_progress,
                random_state=args.random_state,
                quick=args.quick,
                protocol=protocol,
            )
    except KeyboardInterrupt:
        print(
            f"\nInterrupted. Finished runs are saved in {args.out / 'results.csv'}; run the "
            "same command with --resume to continue.",
            file=sys.stderr,
        )
        return 130
    except (ValueError, FileNotFoundError, PermissionError, ImportError) as exc:
        bench_parser.error(_in_cli_words(str(exc)))

    print()
    print(result.to_markdown())
    if result.unavailable:
        for name, reason in result.unavailable.items():
            print(f"unavailable: {name}: {reason}")
    print("Files:")
    for path in result.files.values():
        print(f"  {path}")
    failed = [r for r in result.runs if r["status"] == "failed"]
    if failed:
        print(f"\n{len(failed)} of {len(result.runs)} fits failed:", file=sys.stderr)
        for row in failed:
            print(
                f"  {row['method']} n={row['n_samples_per_class']} seed={row['seed']}: "
                f"{row['note'][:200]}",
                file=sys.stderr,
            )
        print("Run the same command with --resume to retry them.", file=sys.stderr)
        return 1
    return 0


def _parse_class_mapping(specs: list[str] | None, parser: argparse.ArgumentParser) -> Any:
    """``--class-mapping`` as ``class_mapping``: a grouping name, or a dict of changes."""
    from qbloodcell.datasets import CLASS_MAPPINGS

    if specs is None:
        return None
    labels = {"aml": "AML", "healthy": "healthy", "none": None}
    base: str | None = None
    changes: dict[str, str | None] = {}
    for position, spec in enumerate(specs):
        name, equals, label = spec.partition("=")
        if not equals:
            if position != 0 or name not in CLASS_MAPPINGS:
                parser.error(
                    f"--class-mapping {spec!r}: the first value may name a grouping "
                    f"({', '.join(CLASS_MAPPINGS)}), the others must be NAME=AML, "
                    "NAME=healthy or NAME=none."
                )
            base = name
        elif not name or label.lower() not in labels:
            parser.error(f"--class-mapping {spec!r}: write NAME=AML, NAME=healthy or NAME=none.")
        else:
            changes[name] = labels[label.lower()]
    if not changes:
        return base
    # a grouping with changes: the grouping written out, then the changes over it
    return {**(CLASS_MAPPINGS[base] if base is not None else {}), **changes}


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
