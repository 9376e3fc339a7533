"""The cluster simulator: N engines behind a router, on real CASTILLO records and real traces."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sagepred.cli import main
from sagepred.distribution import LengthDistribution
from sagepred.errors import InputError
from sagepred.records import write_jsonl_records
from sagepred.scheduler.cluster import ClusterConfig, _route_by_epoch, simulate_cluster
from sagepred.scheduler.cost import CostModel
from sagepred.scheduler.policies import make_policy
from sagepred.scheduler.profile import load_profile
from sagepred.scheduler.routers import ROUTERS, ReplicaStats, make_router, router_class
from sagepred.scheduler.simulator import Engine, simulate
from sagepred.scheduler.traces import load_trace, scaled_arrivals
from sagepred.scheduler.workload import Workload, build_workload, samples_predictor

PROFILE = load_profile("llama-3.1-8b-h100")
COST = CostModel.from_profile(PROFILE)
SATURATION = 28.8
"""Requests per second one engine of this profile serves on CASTILLO Llama lengths (docs/scheduler.md)."""


@pytest.fixture(scope="module")
def mooncake(data_dir):
    return load_trace(data_dir / "traces/mooncake/conversation_trace.jsonl")


def _workload(records, trace, n: int, rate: float, seed: int = 0) -> Workload:
    return build_workload(
        scaled_arrivals(trace, n, rate), records, lambda r, t: samples_predictor(r, t), seed=seed
    )


@pytest.mark.parametrize("router", sorted(ROUTERS))
def test_one_replica_equals_simulate_exactly(llama_records, mooncake, router):
    workload = _workload(llama_records, mooncake, 1200, 35.0)
    for name in ("fcfs", "gittins"):
        policy = make_policy(name, COST)
        alone = simulate(workload, policy, PROFILE)
        cluster = simulate_cluster(workload, policy, PROFILE, ClusterConfig(replicas=1, router=router))
        assert np.array_equal(alone.finish, cluster.combined.finish)
        assert np.array_equal(alone.first_token, cluster.combined.first_token, equal_nan=True)
        assert alone.steps == cluster.combined.steps and alone.admit_order == cluster.combined.admit_order
        assert alone.busy_s == pytest.approx(cluster.combined.busy_s, rel=1e-12)


def test_one_replica_stepped_by_epoch_matches_simulate(llama_records, mooncake):
    """Stopping at every refresh only splits decode jumps: equal up to float rounding."""
    workload = _workload(llama_records, mooncake, 1200, 35.0)
    policy = make_policy("gittins", COST)
    alone = simulate(workload, policy, PROFILE)
    engines = Engine.replicas(workload, policy, PROFILE, 1)
    _, epochs = _route_by_epoch(workload, make_router("p2c", 1), engines, ClusterConfig(refresh_s=0.05))
    assert epochs > 100
    stepped = engines[0].result()
    np.testing.assert_allclose(stepped.finish, alone.finish, rtol=1e-9)
    assert stepped.admit_order == alone.admit_order


def _stats(outstanding, kv, cost) -> ReplicaStats:
    return ReplicaStats(np.asarray(outstanding, float), np.asarray(kv, float), np.asarray(cost, float))


def test_routers_choose_on_hand_built_states():
    stats = _stats([5, 1, 3], [10, 30, 0], [2.0, 9.0, 4.0])
    one = np.zeros(1)
    assert make_router("least-requests", 3).route(stats, one, one)[0] == 1
    stats = _stats([5, 1, 3], [10, 30, 0], [2.0, 9.0, 4.0])
    assert make_router("least-kv", 3).route(stats, one, one)[0] == 2
    stats = _stats([5, 1, 3], [10, 30, 0], [2.0, 9.0, 4.0])
    assert make_router("least-cost", 3).route(stats, one, one)[0] == 0
    p2c, p2c_cost = make_router("p2c", 3), make_router("p2c-cost", 3)
    pair = np.array([0, 1])
    assert p2c.pick(_stats([5, 1, 3], [0, 0, 0], [0, 0, 0]), pair) == 1
    assert p2c_cost.pick(_stats([5, 1, 3], [0, 0, 0], [2.0, 9.0, 4.0]), pair) == 0


def test_router_counts_what_it_sent_between_refreshes():
    """Least requests from equal stale stats spreads a burst instead of herding it onto one replica."""
    stats = _stats([0, 0, 0, 0], [0] * 4, [0] * 4)
    chosen = make_router("least-requests", 4).route(stats, np.ones(8), np.ones(8))
    assert np.bincount(chosen, minlength=4).tolist() == [2, 2, 2, 2]
    assert stats.outstanding.tolist() == [2, 2, 2, 2] and stats.cost.tolist() == [2, 2, 2, 2]


def test_p2c_picks_two_distinct_replicas():
    router = make_router("p2c", 2, seed=3)
    pairs = router._pairs(1000)
    assert np.all(pairs[:, 0] != pairs[:, 1])


def test_round_robin_is_balanced(llama_records, mooncake):
    workload = _workload(llama_records, mooncake, 1003, 4 * 25.0)
    result = simulate_cluster(
        workload, make_policy("fcfs"), PROFILE, ClusterConfig(replicas=4, router="round-robin")
    )
    assert np.bincount(result.replica, minlength=4).tolist() == [251, 251, 251, 250]


@pytest.mark.parametrize("router", sorted(ROUTERS))
def test_every_request_completes_exactly_once(llama_records, mooncake, router):
    workload = _workload(llama_records, mooncake, 2000, 4 * SATURATION * 0.9, seed=1)
    result = simulate_cluster(
        workload, make_policy("gittins", COST), PROFILE, ClusterConfig(replicas=4, router=router)
    )
    assert np.all(np.isfinite(result.combined.finish))
    assert np.all(result.combined.generated == workload.output_len)
    assert np.all(result.combined.finish > workload.arrival)
    counts = np.bincount(result.replica, minlength=4)
    assert counts.sum() == len(workload) and np.all(counts > 0)
    admitted = [i for part in result.replicas for i in part.admit_order]
    assert sorted(admitted) == list(range(len(workload)))
    for k, part in enumerate(result.replicas):
        assert set(part.admit_order) == set(np.flatnonzero(result.replica == k).tolist())


def _long_and_short() -> Workload:
    """A very long request, three short ones, then another long one, all in one refresh interval."""
    lens = [8000, 20, 20, 20, 8000]
    dist = LengthDistribution.from_samples([[n] * 9 for n in lens])
    return Workload([0.0] * 5, [50] * 5, lens, dist)


def test_predicted_cost_sends_a_long_request_away_from_long_work():
    workload = _long_and_short()
    cost_routed = simulate_cluster(
        workload, make_policy("fcfs"), PROFILE, ClusterConfig(replicas=2, router="least-cost")
    )
    assert cost_routed.replica[0] != cost_routed.replica[3]
    queue_routed = simulate_cluster(
        workload, make_policy("fcfs"), PROFILE, ClusterConfig(replicas=2, router="least-requests")
    )
    # two requests each by count: the second long request joins the first
    assert queue_routed.replica[0] == queue_routed.replica[4]


def test_overlap_router_keeps_long_requests_apart_and_spreads_the_short_ones():
    routed = simulate_cluster(
        _long_and_short(), make_policy("fcfs"), PROFILE, ClusterConfig(replicas=2, router="least-overlap")
    )
    assert routed.replica[0] != routed.replica[4]  # the second long one avoids the first
    assert routed.replica[1] != routed.replica[0]  # the first short one too
    assert sorted(np.bincount(routed.replica[1:4], minlength=2).tolist()) == [1, 2]


def test_overlap_router_ranks_as_the_ray_router_does():
    """The simulator's router and the Ray Serve router score replicas with the same function."""
    from sagepred.scheduler.routing_cost import ReplicaLoad, RequestPrice, batch_curve, rank_replicas

    dists = LengthDistribution.from_samples([[n] * 9 for n in (3000, 40, 40, 300, 12, 900)])
    curves = batch_curve(dists)
    replica_curves = np.stack([curves[0], curves[1] + curves[2], curves[3]])
    for new in (4, 5):
        stats = _stats([1, 2, 1], [0, 0, 0], [0, 0, 0])
        stats.curve = replica_curves.copy()
        chosen = make_router("least-overlap", 3).route(stats, np.zeros(1), np.zeros(1), curves[new : new + 1])
        loads = {
            k: ReplicaLoad(0.0, requests=1, at=1.0, batch_curve=tuple(replica_curves[k])) for k in range(3)
        }
        ranking = rank_replicas(loads, {}, RequestPrice(0.0, curves[new]), 1.5, 2.0)
        assert chosen[0] == ranking.order[0]
        assert np.allclose(stats.curve[chosen[0]], replica_curves[chosen[0]] + curves[new])


def test_cost_router_needs_predictions(llama_records, mooncake):
    workload = build_workload(scaled_arrivals(mooncake, 50, 20.0), llama_records, None)
    with pytest.raises(InputError, match="needs a predictor"):
        simulate_cluster(
            workload, make_policy("fcfs"), PROFILE, ClusterConfig(replicas=2, router="least-cost")
        )


def test_bad_router_and_replicas_are_input_errors():
    with pytest.raises(InputError, match="did you mean p2c"):
        router_class("p2x")
    with pytest.raises(InputError, match="at least one replica"):
        ClusterConfig(replicas=0)


def test_real_trace_cluster_run(llama_records, data_dir):
    """Azure conv arrivals on 8 replicas near saturation: the cost router balances, nothing is lost."""
    trace = load_trace(data_dir / "traces/azure_2023/AzureLLMInferenceTrace_conv.csv")
    workload = _workload(llama_records, trace, 4000, 8 * SATURATION * 0.85)
    rows = {}
    for router in ("p2c", "least-cost", "round-robin"):
        result = simulate_cluster(
            workload, make_policy("gittins", COST), PROFILE, ClusterConfig(replicas=8, router=router)
        )
        rows[router] = result.summary()
        assert rows[router]["completed"] == 4000
    assert rows["p2c"]["epochs"] > 100 and rows["round-robin"]["epochs"] == 0
    for row in rows.values():
        assert 1.0 <= row["imbalance"] < 1.5
        assert row["p50_ttlt_s"] <= row["mean_ttlt_s"] < row["p99_ttlt_s"]


@pytest.fixture(scope="module")
def records_file(tmp_path_factory, llama_records):
    path = tmp_path_factory.mktemp("records") / "llama.jsonl"
    write_jsonl_records(llama_records[:400], path)
    return path


def test_cli_cluster_sweep_json_and_plot(tmp_path, records_file, capsys):
    out, plot = tmp_path / "c.json", tmp_path / "c.png"
    code = main(
        [
            "simulate", "--trace", "poisson", "--records", str(records_file), "--num-requests", "400",
            "--replicas", "3", "--router", "p2c,least-cost", "--policies", "fcfs,gittins",
            "--sweep-rates", "30,80", "--plot", str(plot), "--json", str(out),
        ]
    )  # fmt: skip
    assert code == 0
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    doc = json.loads(out.read_text())
    assert doc["settings"]["replicas"] == 3 and doc["settings"]["routers"] == ["p2c", "least-cost"]
    rows = doc["sweep"][1]["policies"]
    assert set(rows) == {"p2c/fcfs", "p2c/gittins", "least-cost/fcfs", "least-cost/gittins"}
    assert all(row["completed"] == 400 and row["imbalance"] >= 1.0 for row in rows.values())
    assert "imbalance" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--replicas", "2", "--router", "leastcost"], "did you mean least-cost"),
        (["--replicas", "0"], "expected a positive integer"),
        (["--replicas", "2", "--router", "least-cost", "--predictor", "none", "--policies", "fcfs"], "needs a predictor"),
    ],
)  # fmt: skip
def test_cli_cluster_bad_input_exit_2(records_file, capsys, extra, message):
    args = [
        "simulate",
        "--trace",
        "poisson",
        "--records",
        str(records_file),
        "--num-requests",
        "20",
        "--rate",
        "5",
    ]
    assert main(args + extra) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
