"""The ``qbloodcell`` command, run in-process through ``main(argv)``."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

import qbloodcell
from qbloodcell import cli
from qbloodcell.benchmark import StudyProtocol, _methods


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"qbloodcell {qbloodcell.__version__}"


def test_no_command_prints_help(capsys):
    assert cli.main([]) == 2
    assert "benchmark" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["benchmark", "--data", "no/such/folder"], "--data no/such/folder: no such folder"),
        (["benchmark", "--sizes", "3"], "sizes must be None or an integer >= 5"),
        (["benchmark", "--seeds", "0"], "--seeds must be None or an integer >= 1"),
        (["benchmark", "--n-jobs", "0"], "--n-jobs must be None or a non-zero integer"),
        (["benchmark", "--methods", "lstm"], "invalid choice: 'lstm'"),
        (["benchmark", "--scheduler", "tcp://a:1"], "--scheduler needs --backend dask"),
        (["benchmark", "--resume", "--overwrite"], "not allowed with argument"),
        (["benchmark", "--class-mapping", "study"], "--class-mapping needs --data"),
        (["benchmark", "--class-mapping", "blasts"], "the first value may name a grouping"),
        (["benchmark", "--class-mapping", "MYO=AML", "study"], "the first value may name"),
        (["benchmark", "--class-mapping", "MYO=blast"], "write NAME=AML, NAME=healthy"),
        (["benchmark", "--class-mapping", "=AML"], "write NAME=AML, NAME=healthy"),
    ],
)
def test_bad_arguments_exit_2_with_a_message(argv, message, capsys, tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        cli.main([*argv, "--out", str(tmp_path / "out"), "--no-progress"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_arguments_reach_run_benchmark(monkeypatch, tmp_path, capsys):
    """The CLI is a thin layer: every option maps onto a run_benchmark argument."""
    seen = {}

    def fake_run_benchmark(**kwargs):
        seen.update(kwargs)
        raise KeyboardInterrupt

    import qbloodcell.benchmark

    monkeypatch.setattr(qbloodcell.benchmark, "run_benchmark", fake_run_benchmark)
    status = cli.main(
        [
            "benchmark",
            "--methods",
            "ep",
            "vqc",
            "--sizes",
            "50",
            "100",
            "--seeds",
            "5",
            "--data",
            str(tmp_path),
            "--target",
            "morphology",
            "--out",
            str(tmp_path / "out"),
            "--resume",
            "--n-jobs",
            "2",
            "--backend",
            "dask",
            "--scheduler",
            "tcp://127.0.0.1:8786",
            "--quick",
            "--random-state",
            "7",
            "--no-progress",
            "--protocol",
            "study-ansatz",
            "scale-on-all",
            "--vqc-search-budget",
            "20",
        ]
    )
    assert seen == {
        "methods": ["ep", "vqc"],
        "sizes": [50, 100],
        "n_seeds": 5,
        "data": tmp_path,
        "target": "morphology",
        "class_mapping": None,
        "out": tmp_path / "out",
        "resume": True,
        "overwrite": False,
        "n_jobs": 2,
        "backend": "dask",
        "scheduler_address": "tcp://127.0.0.1:8786",
        "progress": False,
        "random_state": 7,
        "quick": True,
        "protocol": StudyProtocol(scale_on_all=True, study_ansatz=True, vqc_search_budget=20),
    }
    # Ctrl-C: a hint to resume and exit status 130, no traceback
    assert status == 130
    assert "--resume" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("specs", "expected"),
    [
        (["study"], "study"),
        (["blast"], "blast"),
        (["MYO=AML", "NGS=Healthy", "KSC=none"], {"MYO": "AML", "NGS": "healthy", "KSC": None}),
    ],
)
def test_class_mapping_reaches_run_benchmark(monkeypatch, tmp_path, specs, expected):
    seen = {}

    def fake_run_benchmark(**kwargs):
        seen.update(kwargs)
        raise KeyboardInterrupt

    import qbloodcell.benchmark

    monkeypatch.setattr(qbloodcell.benchmark, "run_benchmark", fake_run_benchmark)
    argv = ["benchmark", "--data", str(tmp_path), "--class-mapping", *specs, "--no-progress"]
    assert cli.main([*argv, "--out", str(tmp_path / "out")]) == 130
    assert seen["class_mapping"] == expected


def test_class_mapping_grouping_with_changes_is_written_out(monkeypatch, tmp_path):
    from qbloodcell.datasets import CLASS_MAPPINGS

    seen = {}

    def fake_run_benchmark(**kwargs):
        seen.update(kwargs)
        raise KeyboardInterrupt

    import qbloodcell.benchmark

    monkeypatch.setattr(qbloodcell.benchmark, "run_benchmark", fake_run_benchmark)
    argv = ["benchmark", "--data", str(tmp_path), "--class-mapping", "study", "KSC=none"]
    cli.main([*argv, "--out", str(tmp_path / "out"), "--no-progress"])
    assert seen["class_mapping"] == {**CLASS_MAPPINGS["study"], "KSC": None}


def test_folder_data_needing_a_mapping_exits_2_naming_the_folders(tmp_path, capsys):
    from PIL import Image

    for name in ("blasts", "neutrophils"):
        (tmp_path / "cells" / name).mkdir(parents=True)
        for i in range(6):
            Image.new("RGB", (16, 16), (i * 20, 50, 90)).save(
                tmp_path / "cells" / name / f"{i}.png"
            )
    argv = ["benchmark", "--data", str(tmp_path / "cells"), "--out", str(tmp_path / "out")]
    with pytest.raises(SystemExit) as exit_info:
        cli.main([*argv, "--no-progress"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "['blasts', 'neutrophils']" in err
    assert "--class-mapping blasts=AML neutrophils=healthy" in err
    assert "Traceback" not in err


def _mean_colour(batch):
    return np.asarray(batch, dtype=float).reshape(len(batch), -1, 3).mean(axis=1)


def cheap_method(*, random_state, quick=False):
    return make_pipeline(FunctionTransformer(_mean_colour), LogisticRegression())


def test_benchmark_end_to_end_prints_the_table_and_the_files(monkeypatch, tmp_path, capsys):
    cheap = _methods._DefaultMethod(
        "Cheap (test)", "mean colour -> LogisticRegression", cheap_method
    )
    monkeypatch.setattr(_methods, "DEFAULT_METHODS", {"cheap": cheap})
    out = tmp_path / "results"
    # one fit at a time: the test's methods live in this test module, which worker
    # processes cannot import (pytest imports it from outside sys.path)
    argv = ["benchmark", "--sizes", "5", "10", "--seeds", "2", "--out", str(out), "--no-progress"]
    argv += ["--n-jobs", "1"]
    assert cli.main(argv) == 0
    printed = capsys.readouterr().out
    assert "| Method | Accuracy | Balanced accuracy | ROC AUC | Training | Test |" in printed
    assert "| Cheap (test) | " in printed
    for name in ("results.csv", "summary.json", "table.md", "accuracy_vs_samples.png"):
        assert str(out / name) in printed
        assert (out / name).exists()
    # a second run into the same folder asks for --resume or --overwrite
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == 2
    assert "already exists: pass --resume to continue" in capsys.readouterr().err
    assert cli.main([*argv, "--resume"]) == 0


def test_python_dash_m_runs_the_command():
    import os
    import subprocess
    import sys
    from pathlib import Path

    src = str(Path(qbloodcell.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", "")}
    done = subprocess.run(
        [sys.executable, "-m", "qbloodcell", "--version"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"qbloodcell {qbloodcell.__version__}"


def test_errors_are_one_line_in_the_command_words(tmp_path, capsys):
    with pytest.raises(SystemExit):
        cli.main(["benchmark", "--seeds", "0", "--out", str(tmp_path), "--no-progress"])
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "usage:" not in err
    assert err.startswith("qbloodcell benchmark: error: --seeds must be")
    # argparse's own errors too
    with pytest.raises(SystemExit):
        cli.main(["benchmark", "--methods", "lstm"])
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "invalid choice: 'lstm'" in err


def test_cli_words_translate_run_benchmark_messages():
    assert (
        cli._in_cli_words("pass resume=True (--resume) to continue") == "pass --resume to continue"
    )
    assert cli._in_cli_words("n_jobs must be None") == "--n-jobs must be None"
    assert cli._in_cli_words("Cannot draw 9 images per class (sizes): AML has 4") == (
        "Cannot draw 9 images per class (--sizes): AML has 4"
    )


def test_a_data_mismatch_on_resume_is_explained(monkeypatch, tmp_path, capsys):
    cheap = _methods._DefaultMethod("Cheap", "mean colour -> LogisticRegression", cheap_method)
    monkeypatch.setattr(_methods, "DEFAULT_METHODS", {"cheap": cheap})
    out = str(tmp_path / "results")
    assert (
        cli.main(
            [
                "benchmark",
                "--sizes",
                "7",
                "--seeds",
                "1",
                "--out",
                out,
                "--no-progress",
                "--n-jobs",
                "1",
            ]
        )
        == 0
    )
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        # another largest size: another synthetic pool
        cli.main(
            [
                *("benchmark", "--sizes", "8", "--seeds", "1", "--out", out, "--resume"),
                *("--no-progress", "--n-jobs", "1"),
            ]
        )
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "made on other images" in err
    assert "--quick" in err
    assert err.count("\n") == 1


def broken_method(*, random_state, quick=False):
    return make_pipeline(FunctionTransformer(_raise), LogisticRegression())


def _raise(batch):
    raise RuntimeError("diverged")


def test_failed_fits_exit_1_and_are_listed(monkeypatch, tmp_path, capsys):
    methods = {
        "cheap": _methods._DefaultMethod("Cheap", "cheap", cheap_method),
        "broken": _methods._DefaultMethod("Broken", "broken", broken_method),
    }
    monkeypatch.setattr(_methods, "DEFAULT_METHODS", methods)
    argv = ["benchmark", "--sizes", "7", "--seeds", "2", "--out", str(tmp_path), "--no-progress"]
    argv += ["--n-jobs", "1"]  # the test's methods cannot be imported by worker processes
    with pytest.warns(UserWarning, match="2 of 4 runs failed"):
        assert cli.main(argv) == 1
    err = capsys.readouterr().err
    assert "2 of 4 fits failed:" in err
    assert "broken n=7 seed=0: RuntimeError: diverged" in err
    assert "broken n=7 seed=1: RuntimeError: diverged" in err


def _accuracies(out):
    import csv

    with (out / "results.csv").open() as file:
        rows = list(csv.DictReader(file))
    return sorted((r["method"], r["n_samples_per_class"], r["seed"], r["accuracy"]) for r in rows)


DASK_ARGV = ["benchmark", "--methods", "dense", "--sizes", "10", "--seeds", "2", "--no-progress"]


def test_dask_from_the_cli_with_no_client_anywhere(tmp_path):
    """The user's first way in: ``--backend dask`` with no cluster and no default client."""
    distributed = pytest.importorskip("distributed", reason="needs dask.distributed")
    with pytest.raises(ValueError, match="No clients found"):
        distributed.default_client()
    assert (
        cli.main([*DASK_ARGV, "--backend", "dask", "--n-jobs", "2", "--out", str(tmp_path / "d")])
        == 0
    )
    assert cli.main([*DASK_ARGV, "--out", str(tmp_path / "serial")]) == 0
    assert _accuracies(tmp_path / "d") == _accuracies(tmp_path / "serial")
    assert len(_accuracies(tmp_path / "d")) == 2


@pytest.mark.slow
def test_dask_from_the_cli_against_a_scheduler_and_workers_in_other_processes(tmp_path):
    """The second way in: ``dask scheduler`` and two ``dask worker`` on loopback."""
    pytest.importorskip("distributed", reason="needs dask.distributed")
    import json
    import os
    import subprocess
    import sys
    import time
    from pathlib import Path

    src = str(Path(qbloodcell.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", "")}
    scheduler_file = tmp_path / "scheduler.json"
    common = {"env": env, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "distributed.cli.dask_scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--no-dashboard",
                "--scheduler-file",
                str(scheduler_file),
            ],
            **common,
        )
    ]
    try:
        deadline = time.monotonic() + 60
        while not scheduler_file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert scheduler_file.exists(), "the dask scheduler did not start within 60 s"
        address = json.loads(scheduler_file.read_text())["address"]
        assert address.startswith("tcp://127.0.0.1:")
        for _ in range(2):
            processes.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "distributed.cli.dask_worker",
                        address,
                        "--nthreads",
                        "1",
                        "--no-dashboard",
                        "--host",
                        "127.0.0.1",
                    ],
                    **common,
                )
            )
        from distributed import Client

        with Client(address, set_as_default=False, timeout=60) as client:
            client.wait_for_workers(2, timeout=60)
        argv = [*DASK_ARGV, "--backend", "dask", "--scheduler", address]
        assert cli.main([*argv, "--out", str(tmp_path / "d")]) == 0
        assert cli.main([*DASK_ARGV, "--out", str(tmp_path / "serial")]) == 0
        assert _accuracies(tmp_path / "d") == _accuracies(tmp_path / "serial")
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
