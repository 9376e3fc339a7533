"""``sagepred serve`` starts vLLM's OpenAI server with the plug-in; completions and chat completions carry
``vllm_xargs`` and ``priority``, directly and through the priority proxy. Plus the engine-free pieces."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import numpy as np
import pytest

from sagepred.cli import main
from sagepred.distribution import LengthDistribution
from sagepred.errors import InputError, SagepredError
from sagepred.scheduler.priority import PriorityConfig, RequestAnnotator, priorities, prompt_of
from sagepred.scheduler.proxy import PriorityProxy
from sagepred.scheduler.serving import KeyBook, PluginConfig, ServedRequest, parse_prediction, prediction_args


class CharLengthPredictor:
    """Predicts about one output token per prompt character (deterministic, for the proxy)."""

    def predict(self, prompts):
        n = np.array([max(2.0, float(len(p))) for p in prompts])
        return LengthDistribution(
            np.stack([np.zeros_like(n), 0.5 * n, 2 * n], 1), np.tile([[0.0, 0.0, 1.0]], (len(n), 1))
        )


def test_priorities_follow_the_policy_key():
    lengths = np.array([5.0, 50.0, 500.0, 5000.0])
    dist = LengthDistribution(
        np.stack([np.zeros(4), 0.8 * lengths, 1.2 * lengths], 1), np.tile([[0, 0, 1.0]], (4, 1))
    )
    prio = priorities(dist, np.full(4, 20))
    assert prio.dtype == np.int64 and np.all(np.diff(prio) > 0) and prio.min() >= 0


def test_prediction_round_trip_and_malformed_input():
    dist = LengthDistribution(np.array([[0.0, 10.0, 30.0]]), np.array([[0.0, 0.4, 1.0]]))
    back = parse_prediction(prediction_args(dist, request_id="a"))
    assert np.allclose(back.knots, dist.knots) and np.allclose(back.cdf_at_knots, dist.cdf_at_knots)
    assert parse_prediction({"sagepred_knots": [0, 1], "sagepred_cdf": [0, 0.3]}) is None
    assert parse_prediction(None) is None


def test_config_and_version_errors():
    with pytest.raises(InputError, match="unknown setting"):
        PluginConfig.from_additional_config({"sagepred": {"polcy": "gittins"}})
    with pytest.raises(InputError):
        PluginConfig(policy="nope")
    book = KeyBook(PluginConfig(max_wait_steps=3, max_wait_s=None))
    r = ServedRequest("x", arrival=0.0, prompt_len=10, arrival_step=0)
    assert book.sort_key(r, now=0.0, step=2)[0] == 1 and book.sort_key(r, now=0.0, step=4)[0] == 0
    pytest.importorskip("vllm")
    from sagepred.scheduler.vllm_plugin import check_vllm_version

    with pytest.raises(SagepredError, match="not supported"):
        check_vllm_version("0.31.9")


def test_plugin_prices_recompute_in_engine_time():
    """Preemption weighs recompute with the profile's prefill time, not one KV read per token."""
    from sagepred.scheduler.profile import load_profile

    h100 = load_profile("llama-3.1-8b-h100")
    assert PluginConfig().make_policy().cost.name == "paper"
    value_cost = KeyBook(PluginConfig()).value_policy.cost
    assert value_cost.name == "calibrated:llama-3.1-8b-h100"
    assert value_cost.recompute(100) == pytest.approx(100 * h100.per_token_s)
    qwen = load_profile("qwen3-32b-h800")
    calibrated = PluginConfig(cost="calibrated", profile="qwen3-32b-h800").make_policy().cost
    assert calibrated.recompute(100) == pytest.approx(100 * qwen.per_token_s)
    with pytest.raises(InputError, match="expected one of"):
        PluginConfig(cost="tokens")
    with pytest.raises(InputError, match="unknown profile"):
        PluginConfig(profile="no-such-gpu").make_policy()


def test_new_requests_are_keyed_in_one_batch_and_repredicted_ones_again():
    book = KeyBook(PluginConfig(max_wait_s=None))
    narrow = LengthDistribution(np.array([[0.0, 9.0, 11.0]]), np.array([[0.0, 0.0, 1.0]]))
    wide = LengthDistribution(np.array([[0.0, 900.0, 1100.0]]), np.array([[0.0, 0.0, 1.0]]))
    reqs = [ServedRequest(f"r{i}", arrival=float(i), prompt_len=10, dist=narrow) for i in range(3)]
    for r in reqs:
        book.add(r)
    before = book.key_computations
    book.refresh(book.take_unkeyed())
    assert book.key_computations - before == 3 and all(r.cache is not None for r in reqs)
    assert book.take_unkeyed() == []
    short_key = book.key(reqs[0])
    book.set_prediction("r0", wide)
    book.refresh(book.take_unkeyed())
    assert book.key(reqs[0]) > short_key


def test_trail_style_preemption_age_limit_is_cached_with_the_key():
    book = KeyBook(PluginConfig(policy="trail", max_wait_s=None))
    dist = LengthDistribution(np.array([[0.0, 90.0, 110.0]]), np.array([[0.0, 0.0, 1.0]]))
    r = ServedRequest("t", arrival=0.0, prompt_len=10, dist=dist)
    limit = book.policy.early_fraction * 100.0
    assert book.preemptible_at_age(r)
    r.age = int(limit) + 1
    assert not book.preemptible_at_age(r)
    assert KeyBook(PluginConfig(policy="gittins")).preemptible_at_age(
        ServedRequest("g", arrival=0.0, prompt_len=10, dist=dist, age=10_000)
    )


def test_serve_dry_run_and_bad_input(capsys, tmp_path):
    pytest.importorskip("vllm")
    assert main(["serve", "--model", "m", "--dry-run", "--", "--dtype", "bfloat16"]) == 0
    out = capsys.readouterr().out
    assert "--scheduler-cls sagepred.scheduler.vllm_plugin.SagepredScheduler" in out and out.strip().endswith(
        "bfloat16"
    )
    assert (
        json.loads(out.split("--additional-config ")[1].split(" --dtype")[0])["sagepred"]["policy"]
        == "gittins"
    )
    assert main(["serve", "--model", "m", "--mode", "priority"]) == 2
    assert "needs --predictor" in capsys.readouterr().err


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _post(url: str, body: dict) -> dict:
    body = {"temperature": 0.0, **body}
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.loads(response.read())


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    pytest.importorskip("vllm")
    from sagepred.scheduler.tiny_model import write_tiny_model

    model = write_tiny_model(tmp_path_factory.mktemp("tiny"))
    cache = tmp_path_factory.mktemp("cache")
    port = _free_port()
    env = {
        **os.environ,
        "VLLM_CACHE_ROOT": str(cache),
        "TORCHINDUCTOR_CACHE_DIR": str(cache),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "VLLM_CPU_KVCACHE_SPACE": "1",
    }
    # float32: with bfloat16 the server's separate worker process dies with SIGILL on this CPU (in-process is fine).
    cmd = [
        sys.executable,
        "-m",
        "sagepred",
        "serve",
        "--model",
        str(model),
        "--port",
        str(port),
        "--",
        "--served-model-name",
        "tiny",
        "--load-format",
        "dummy",
        "--dtype",
        "float32",
        "--enforce-eager",
        "--max-model-len",
        "512",
        "--max-num-seqs",
        "8",
    ]
    log = (tmp_path_factory.mktemp("log") / "server.log").open("w")
    print(f"server log: {log.name}")
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 240
        while True:
            if proc.poll() is not None:
                pytest.fail(f"server exited ({proc.returncode}); log: {log.name}")
            try:
                with urllib.request.urlopen(base + "/health", timeout=2):
                    break
            except OSError:
                if time.time() > deadline:
                    pytest.fail("server not healthy within 240 s")
                time.sleep(1)
        yield base
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


def test_server_with_plugin_serves_completions_and_chat(server):
    dist = LengthDistribution(np.array([[0.0, 10.0, 14.0]]), np.array([[0.0, 0.0, 1.0]]))
    completion = _post(
        server + "/v1/completions",
        {
            "model": "tiny",
            "prompt": "the model length",
            "max_tokens": 12,
            "ignore_eos": True,
            "priority": 3,
            "vllm_xargs": prediction_args(dist, request_id="c1"),
        },
    )
    assert completion["usage"]["completion_tokens"] == 12
    chat = _post(
        server + "/v1/chat/completions",
        {
            "model": "tiny",
            "messages": [{"role": "user", "content": "predict the length"}],
            "max_tokens": 9,
            "ignore_eos": True,
            "vllm_xargs": prediction_args(dist, request_id="c2"),
        },
    )
    assert chat["usage"]["completion_tokens"] == 9 and chat["choices"][0]["message"]["role"] == "assistant"
    malformed = _post(
        server + "/v1/completions",
        {
            "model": "tiny",
            "prompt": "x",
            "max_tokens": 5,
            "ignore_eos": True,
            "vllm_xargs": {"sagepred_knots": [3, 1], "sagepred_cdf": [0, 1]},
        },
    )
    assert malformed["usage"]["completion_tokens"] == 5


def test_priority_proxy_annotates_and_passes_through(server):
    seen = []

    class Recording(RequestAnnotator):
        def annotate_with_headers(self, bodies):
            out, headers = super().annotate_with_headers(bodies)
            seen.extend(out)
            return out, headers

    proxy = PriorityProxy(server, Recording(CharLengthPredictor(), PriorityConfig()), warm_up=False).start()
    try:
        with urllib.request.urlopen(proxy.url + "/v1/models", timeout=30) as response:
            assert json.loads(response.read())["data"][0]["id"] == "tiny"
        out = _post(
            proxy.url + "/v1/chat/completions",
            {
                "model": "tiny",
                "messages": [{"role": "user", "content": "hello there"}],
                "max_tokens": 7,
                "ignore_eos": True,
            },
        )
        assert out["usage"]["completion_tokens"] == 7
        short = _post(
            proxy.url + "/v1/completions",
            {"model": "tiny", "prompt": "a", "max_tokens": 4, "ignore_eos": True},
        )
        assert short["usage"]["completion_tokens"] == 4
    finally:
        proxy.close()
    assert [prompt_of(body) for body in seen] == ["user: hello there", "a"]
    assert isinstance(seen[0]["priority"], int) and seen[1]["priority"] < seen[0]["priority"]
    assert parse_prediction(seen[0]["vllm_xargs"]) is not None
