"""A newcomer's terminal: the Hub fails fast offline, MLflow's INFO stays quiet, long paths are not cut."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

LONG = "/tmp/" + "/".join(["a-rather-long-folder-name-for-a-checkpoint"] * 6) + "/llama-3-8b"


def _run(args: list[str], timeout: float = 60, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "COLUMNS": "80", **env},
    )


@pytest.mark.parametrize(
    "argv",
    [["zoo", "pull", "--source", "hf", "llama-3-8b"], ["zoo", "list", "--source", "hf"]],
    ids=["pull", "list"],
)
def test_hub_offline_is_one_line_and_exit_2_within_seconds(argv, tmp_path):
    started = time.monotonic()
    out = _run(["-m", "sagepred", *argv], HF_HUB_OFFLINE="1", SAGEPRED_CACHE_DIR=str(tmp_path))
    elapsed = time.monotonic() - started
    assert out.returncode == 2, out.stderr
    assert out.stdout == ""
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "HF_HUB_OFFLINE" in lines[0], out.stderr
    assert elapsed < 15
    assert not (tmp_path / "zoo").exists() or not any((tmp_path / "zoo").iterdir())


def test_non_tty_output_keeps_long_paths_on_one_line():
    code = (
        "from sagepred.cli.train import print_summary\n"
        "print_summary({'metrics': {'crps': 1.0}, 'baseline_global': {'crps': 2.0}, 'target_model': 't',"
        " 'head': 'histogram', 'mode': 'frozen', 'data': {'eval_records': 3, 'eval_split': 'x'},"
        f" 'checkpoint': {LONG!r}, 'train_seconds': 1.0,"
        " 'mlflow': {'run_id': 'r', 'tracking_uri': 'sqlite:///' + " + repr(LONG) + " + '/mlflow.db',"
        " 'model_version': 1}})\n"
    )
    out = _run(["-c", code])
    assert out.returncode == 0, out.stderr
    assert f"checkpoint: {LONG}" in out.stdout.splitlines()[-2]
    assert f"sqlite:///{LONG}/mlflow.db" in out.stdout.splitlines()[-1]


QUIET = (
    "import logging, sys\n"
    "from sagepred.cli import main\n"
    "main(sys.argv[1:] + ['zoo', 'list', '--json'])\n"
    "import mlflow\n"
    "logging.getLogger('mlflow.tracking').info('INFO-LINE-FROM-MLFLOW')\n"
    "logging.getLogger('mlflow.tracking').warning('WARNING-LINE-FROM-MLFLOW')\n"
)


def test_mlflow_info_is_quiet_unless_verbose():
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_LOGGING_LEVEL"}
    quiet = subprocess.run(
        [sys.executable, "-c", QUIET], capture_output=True, text=True, timeout=120, env=env
    )
    assert quiet.returncode == 0, quiet.stderr
    assert "INFO-LINE-FROM-MLFLOW" not in quiet.stderr
    assert "WARNING-LINE-FROM-MLFLOW" in quiet.stderr
    verbose = subprocess.run(
        [sys.executable, "-c", QUIET, "--verbose"], capture_output=True, text=True, timeout=120, env=env
    )
    assert "INFO-LINE-FROM-MLFLOW" in verbose.stderr
