"""Router hints (Dynamo's nvext.agent_hints, llm-d's header) and the proxy's fault handling, over real HTTP."""

from __future__ import annotations

import json
import logging
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from sagepred.distribution import LengthDistribution
from sagepred.loading import load_predictor
from sagepred.scheduler.priority import PriorityConfig, RequestAnnotator, prompt_of, with_hints
from sagepred.scheduler.proxy import PriorityProxy
from sagepred.scheduler.router_hints import (
    HEADER,
    HintConfig,
    dynamo_hints,
    format_length_header,
    parse_forms,
    parse_length_header,
)

BODY = {"model": "m", "messages": [{"role": "user", "content": "Write a long essay on the Roman Empire."}]}


@pytest.fixture(scope="module")
def predictor():
    return load_predictor("ministral-8b")


class _Upstream:
    """A real HTTP server on 127.0.0.1 that records every body and header it receives."""

    def __init__(self) -> None:
        received = self.received = []

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, fmt, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    received.append((json.loads(body), dict(self.headers)))
                except ValueError:
                    received.append((body, dict(self.headers)))
                payload = b'{"ok": true}'
                self.send_response(200)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _post(url: str, body: bytes) -> int:
    request = urllib.request.Request(
        url + "/v1/chat/completions", data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()
        return response.status


def test_dynamo_and_llmd_hints_reach_the_upstream_and_parse_back(predictor):
    upstream = _Upstream()
    config = PriorityConfig(hints=HintConfig(forms=("vllm", "dynamo", "llm-d"), osl_statistic="q0.9"))
    proxy = PriorityProxy(upstream.url, RequestAnnotator(predictor, config)).start()
    try:
        assert _post(proxy.url, json.dumps(BODY).encode()) == 200
    finally:
        proxy.close()
        upstream.close()
    body, headers = upstream.received[0]
    dist = predictor.predict([prompt_of(BODY)])
    assert body["nvext"]["agent_hints"]["osl"] == int(np.ceil(dist.quantile(0.9)[0]))
    assert body["nvext"]["agent_hints"]["priority"] == 1024 - body["priority"]
    assert "vllm_xargs" in body
    value = {k.lower(): v for k, v in headers.items()}[HEADER]
    parsed = parse_length_header(value)
    assert parsed.mean == pytest.approx(float(dist.mean()[0]), abs=0.06)
    assert sorted(parsed.quantiles) == [0.1, 0.5, 0.9]
    assert parsed.quantiles[0.5] == pytest.approx(float(dist.quantile(0.5)[0]), abs=0.06)
    assert proxy.stats.annotated == 1 and proxy.stats.annotation_failures == 0


def test_default_forms_are_unchanged(predictor):
    body = RequestAnnotator(predictor, PriorityConfig()).annotate([BODY])[0]
    assert "priority" in body and "vllm_xargs" in body and "nvext" not in body
    only_dynamo = RequestAnnotator(predictor, PriorityConfig(hints=HintConfig(forms=("dynamo",))))
    body = only_dynamo.annotate([{**BODY, "nvext": {"agent_hints": {"osl": 7}}}])[0]
    assert "vllm_xargs" not in body and body["nvext"]["agent_hints"]["osl"] == 7


class _Broken:
    def __init__(self) -> None:
        self.calls = 0

    def predict(self, prompts):
        self.calls += 1
        raise RuntimeError("predictor down")


def test_a_failing_predictor_forwards_every_request_and_logs_once(caplog):
    upstream = _Upstream()
    broken = _Broken()
    proxy = PriorityProxy(upstream.url, RequestAnnotator(broken, PriorityConfig()), warm_up=False).start()
    try:
        with caplog.at_level(logging.WARNING, logger="sagepred.proxy"):
            for _ in range(6):
                assert _post(proxy.url, json.dumps(BODY).encode()) == 200
            assert _post(proxy.url, b"not json") == 200
    finally:
        proxy.close()
        upstream.close()
    assert len(upstream.received) == 7
    assert upstream.received[-1][0] == b"not json"
    assert all("priority" not in body for body, _ in upstream.received[:6])
    assert broken.calls == 6
    assert proxy.stats.annotation_failures == 7
    warnings = [r for r in caplog.records if "unannotated" in r.getMessage()]
    assert len(warnings) == 2  # one per kind: the predictor's error, the malformed body


def test_header_grammar_and_errors(predictor):
    dist = predictor.predict(["hello", "Write a 2,000-word essay."])
    value = format_length_header(dist, 1, (0.25, 0.75), prompt_tokens=9)
    parsed = parse_length_header(value + "; future=1")
    assert parsed.prompt_tokens == 9 and sorted(parsed.quantiles) == [0.25, 0.75]
    with pytest.raises(ValueError, match="v1"):
        parse_length_header("v2; mean=3")
    with pytest.raises(ValueError, match="malformed"):
        parse_length_header("v1; mean=abc")
    with pytest.raises(ValueError, match="mean"):
        parse_length_header("v1; q=0.5:3")
    assert dynamo_hints(dist, 0)["osl"] >= 1
    assert parse_forms("vllm, llm-d") == ("vllm", "llm-d")
    with pytest.raises(ValueError, match="unknown hint form"):
        parse_forms("vllm,sglang")
    with pytest.raises(ValueError, match="statistic"):
        HintConfig(osl_statistic="p90")


def test_with_hints_from_a_predict_line_matches_the_annotator(predictor):
    config = PriorityConfig(hints=HintConfig(forms=("vllm", "dynamo", "llm-d")))
    via_annotator, headers = RequestAnnotator(predictor, config).annotate_with_headers([BODY])
    dist = predictor.predict(["hello", prompt_of(BODY)])
    line = json.loads(json.dumps(dist.to_dicts(summary=True)[1]))  # a line of `sagepred predict` output
    body, extra = with_hints(BODY, LengthDistribution.from_dict(line), config=config)
    assert body["nvext"] == via_annotator[0]["nvext"] and body["priority"] == via_annotator[0]["priority"]
    assert extra == headers[0]
    same_row, _ = with_hints(BODY, dist, index=1, config=config)
    assert same_row["nvext"] == body["nvext"]


def test_osl_is_a_u32():
    huge = LengthDistribution(np.array([[0.0, 1e12, 1e13]]), np.array([[0.0, 0.5, 1.0]]))
    assert dynamo_hints(huge, 0)["osl"] == 2**32 - 1
    tiny = LengthDistribution(np.array([[0.0, 0.1, 0.2]]), np.array([[0.0, 0.5, 1.0]]))
    assert dynamo_hints(tiny, 0, vllm_priority=5000) == {"osl": 1, "priority": 0}


def test_serve_hint_flags(capsys):
    from sagepred.cli import main
    from sagepred.zoo import PACKAGED_ZOO

    ckpt = str(PACKAGED_ZOO / "llama-3-8b")
    base = ["serve", "--served-model", "m", "--mode", "priority", "--predictor", ckpt, "--dry-run"]
    assert main([*base, "--hints", "dynamo,llm-d", "--osl-statistic", "q0.9"]) == 0
    assert "hints dynamo,llm-d" in capsys.readouterr().out
    for bad in (["--hints", "vllm,sglang"], ["--osl-statistic", "p90"], ["--predict-timeout-s", "0"]):
        assert main([*base, *bad]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert err and "Traceback" not in "".join(err) and bad[0] in err[-1]
