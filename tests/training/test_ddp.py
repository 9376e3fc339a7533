"""LoRA fine-tuning under ``accelerate launch`` with two CPU processes (DDP over gloo), for real."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file

from sagepred.cli import main

ACCELERATE = Path(sys.executable).with_name("accelerate")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def subset(tmp_path_factory, data_dir) -> Path:
    from sagepred.importers import load_records
    from sagepred.records import write_jsonl_records

    records = load_records(
        str(data_dir / "castillo"), model="meta-llama--Llama-3.1-8B-Instruct", split="validate"
    )
    path = tmp_path_factory.mktemp("ddp") / "subset.jsonl"
    write_jsonl_records(records[:48], path)
    return path


def train_args(subset: Path, output: Path) -> list[str]:
    return [
        "train",
        "--model",
        "llama-3.1-8b",
        "--data",
        str(subset),
        "--lora",
        "--epochs",
        "1",
        "--no-dropout",
        "--no-mlflow",
        "--output",
        str(output),
        "--json",
        f"{output}.json",
    ]


@pytest.mark.skipif(not ACCELERATE.exists() and shutil.which("accelerate") is None, reason="no accelerate")
def test_two_processes_equal_one_at_the_same_global_batch(tmp_path, subset):
    launcher = str(ACCELERATE if ACCELERATE.exists() else shutil.which("accelerate"))
    env = {**os.environ, "SAGEPRED_TORCH_THREADS": "1", "SAGEPRED_NO_PROGRESS": "1"}
    two = tmp_path / "runs" / "two"
    command = [
        launcher,
        "launch",
        "--multi_gpu",  # accelerate's multi-process launcher; without a GPU sagepred asks for the CPU (gloo)
        "--num_processes",
        "2",
        "--num_machines",
        "1",
        "--mixed_precision",
        "no",
        "--dynamo_backend",
        "no",
        "--main_process_port",
        str(free_port()),
        "-m",
        "sagepred",
        *train_args(subset, two),
    ]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("checkpoint: ") == 1  # the main process alone reports and writes
    summary = json.loads(Path(f"{two}.json").read_text())
    assert summary["distributed"] == {"processes": 2, "backend": "gloo", "device": "cpu:0"}
    assert json.loads((two / "config.json").read_text())["training"]["processes"] == 2
    assert sorted(p.name for p in two.parent.iterdir()) == ["two", "two.json"]  # no temp folder left

    one = tmp_path / "one"
    assert main(train_args(subset, one)) == 0
    for name in ("model.safetensors", "adapter_model.safetensors"):
        a, b = load_file(str(two / name)), load_file(str(one / name))
        assert a.keys() == b.keys()
        for key in a:
            np.testing.assert_allclose(a[key], b[key], atol=1e-5, err_msg=f"{name}:{key}")
    reference = json.loads(Path(f"{one}.json").read_text())
    assert summary["metrics"]["crps"] == pytest.approx(reference["metrics"]["crps"], rel=1e-4)


def test_frozen_training_under_a_multi_process_launch_is_a_one_line_error(
    monkeypatch, capsys, subset, tmp_path
):
    monkeypatch.setenv("WORLD_SIZE", "2")
    out = ["--output", str(tmp_path / "out")]
    assert main(["train", "--model", "llama-3.1-8b", "--data", str(subset), "--no-mlflow", *out]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--lora" in err
