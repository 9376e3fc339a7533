"""`sagepred profile`: the step-time fit, and a real (tiny, CPU) vLLM engine measured end to end."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sagepred.cli import main
from sagepred.scheduler.profile import load_profile
from sagepred.scheduler.profiling import StepSample, fit_step_model


def test_fit_recovers_a_known_step_model():
    rng = np.random.default_rng(0)
    truth = np.array([5e-3, 2e-5, 4e-8])
    samples = []
    for _ in range(200):
        tokens, kv = int(rng.integers(1, 2000)), int(rng.integers(0, 200_000))
        seconds = truth @ [1.0, tokens, kv] * (1 + rng.normal(0, 0.01))
        samples.append(StepSample(tokens, kv, 1, float(seconds)))
    coef, r2 = fit_step_model(samples)
    np.testing.assert_allclose(coef, truth, rtol=0.05)
    assert r2 > 0.99


def test_bad_sweep_is_exit_2(tmp_path, capsys):
    assert (
        main(["profile", "--model", "tiny", "--output", str(tmp_path / "p.yaml"), "--batch-sizes", "0"]) == 2
    )
    assert "batch-sizes" in capsys.readouterr().err
    assert not (tmp_path / "p.yaml").exists()


def test_profile_a_real_cpu_engine(tmp_path):
    pytest.importorskip("vllm")
    out, js = tmp_path / "tiny.yaml", tmp_path / "tiny.json"
    code = main(
        [
            "profile",
            "--model",
            "tiny",
            "--output",
            str(out),
            "--json",
            str(js),
            "--batch-sizes",
            "1,4",
            "--prompt-lens",
            "16,96",
            "--decode-tokens",
            "8",
            "--max-num-seqs",
            "4",
        ]
    )
    assert code == 0
    profile = load_profile(out)
    payload = json.loads(js.read_text())
    assert profile.max_num_seqs == 4 and profile.kv_capacity_tokens > 0
    assert profile.step_base_s > 0 and profile.per_token_s > 0 and profile.per_kv_token_s > 0
    # the engine loop's own time was measured: taking a request in costs something, and far less than a step
    assert 0 < profile.host_per_request_s < profile.step_base_s
    assert 0 < profile.host_per_step_s < profile.step_base_s
    steps = payload["steps"]
    assert len(steps) >= 4 * 8  # every decode step of every recorded batch
    assert max(s["sequences"] for s in steps) == 4
    assert any(s["batched_tokens"] >= 4 * 96 for s in steps)  # a full prefill batch was recorded
