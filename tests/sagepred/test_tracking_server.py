"""Training against a real ``mlflow server`` process on 127.0.0.1, then loading the champion back over HTTP."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from sagepred.cli import main
from sagepred.tracking import CHAMPION_ALIAS

MODEL = "sagepred-Meta-Llama-3-8B-Instruct"
HEALTH_TIMEOUT = 60.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture()
def mlflow_server(tmp_path) -> Iterator[str]:
    """``mlflow server`` on a SQLite store and a local artifact folder; its URL once /health answers."""
    port = free_port()
    log = (tmp_path / "server.log").open("wb")
    command = [
        sys.executable,
        "-m",
        "mlflow",
        "server",
        "--backend-store-uri",
        f"sqlite:///{tmp_path}/server.db",
    ]
    command += [
        "--artifacts-destination",
        str(tmp_path / "artifacts"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    command += ["--workers", "1"]
    proc = subprocess.Popen(
        command, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path, start_new_session=True
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + HEALTH_TIMEOUT
        while True:
            if proc.poll() is not None:
                pytest.fail(
                    f"mlflow server exited ({proc.returncode}): {(tmp_path / 'server.log').read_text()[-2000:]}"
                )
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"mlflow server not healthy after {HEALTH_TIMEOUT:.0f} s")
            time.sleep(0.5)
        yield url
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)  # the server and the workers it started
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
        log.close()


@pytest.mark.slow
def test_train_against_a_tracking_server_and_load_the_champion(mlflow_server, tmp_path, data_dir):
    import mlflow
    import pandas as pd

    from sagepred.predictor import LengthPredictor

    args = ["train", "--model", "llama-3-8b", "--epochs", "1", "--output", str(tmp_path / "ckpt")]
    assert main([*args, "--tracking-uri", mlflow_server, "--json", str(tmp_path / "summary.json")]) == 0
    mlflow.set_tracking_uri(mlflow_server)
    client = mlflow.tracking.MlflowClient(mlflow_server)
    assert str(client.get_model_version_by_alias(MODEL, CHAMPION_ALIAS).version) == "1"
    prompts = ["Write a detailed essay on climate change.", "Say hi."]
    out = mlflow.pyfunc.load_model(f"models:/{MODEL}@{CHAMPION_ALIAS}").predict(
        pd.DataFrame({"prompt": prompts})
    )
    expected = LengthPredictor.from_pretrained(tmp_path / "ckpt").predict(prompts).mean()
    np.testing.assert_allclose(out["mean"].to_numpy(), expected, rtol=1e-5)
    # The artifacts went through the server into its own folder, not beside the test.
    assert list(Path(tmp_path / "artifacts").rglob("model.safetensors"))
