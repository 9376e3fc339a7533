"""Scheduler benchmark: policies at three loads on two traces and two engine profiles, Gittins' share
of the oracle's gain, the cost of preemption rules, Gittins index speed, and simulator speed.

    python benchmarks/scheduler_bench.py [--num-requests 2000] [--speed-requests 100000] [--json OUT]

Loads are set per profile from a measured capacity: FCFS is run once at a rate far above what the
engine can serve, and its completion rate is the saturation rate ``r_sat``; the three loads are
0.6, 1.0 and 1.5 × ``r_sat`` (light, near saturation, overloaded). Every ratio is against FCFS or
the oracle simulated in the same run on the same workload.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from sagepred.distribution import LengthDistribution
from sagepred.scheduler.cost import CostModel
from sagepred.scheduler.experiment import arrivals_for, load_records, run_policies, trace_or_poisson
from sagepred.scheduler.gittins import gittins_index
from sagepred.scheduler.policies import PreemptionRule, make_policy, parse_policies
from sagepred.scheduler.profile import load_profile
from sagepred.scheduler.report import oracle_gain_share, print_table, write_json
from sagepred.scheduler.simulator import SimConfig, simulate
from sagepred.scheduler.workload import build_workload, resolve_predictor

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
TRACES = {
    "azure-conv": "traces/azure_2023/AzureLLMInferenceTrace_conv.csv",
    "mooncake-conv": "traces/mooncake/conversation_trace.jsonl",
}
PROFILES = ("llama-3.1-8b-h100", "qwen3-32b-h800")
LOADS = {"light": 0.6, "saturated": 1.0, "overloaded": 1.5}


def saturation_rate(records, profile, predictor, seed: int) -> float:
    """Steady admission rate of FCFS while a deep queue drains (requests per second).

    3,000 requests arrive at once; over the second half of the time the queue takes to drain,
    requests are admitted exactly as fast as others finish.
    """
    probe = build_workload(arrivals_for(None, 3000, 1e5, seed), records, predictor, seed)
    first = simulate(probe, make_policy("fcfs"), profile).first_token
    drained = float(np.nanmax(first))
    return float(np.sum(first > drained / 2) / (drained / 2))


def speed(records, predictor, profile, num: int, rate: float, seed: int) -> dict:
    """Simulated requests per wall second for FCFS and Gittins at ``rate``."""
    trace = trace_or_poisson(str(DATA / TRACES["azure-conv"]))
    started = time.perf_counter()
    workload = build_workload(arrivals_for(trace, num, rate, seed), records, predictor, seed)
    build_s = time.perf_counter() - started
    out = {"num_requests": num, "rate": rate, "workload_build_s": round(build_s, 2)}
    cost = CostModel.from_profile(profile)
    for name in ("fcfs", "gittins", "oracle"):
        result = simulate(workload, make_policy(name, cost), profile)
        out[name] = {
            "wall_s": round(result.wall_s, 2),
            "requests_per_s": round(num / result.wall_s),
            "steps": result.steps,
            "iterations": result.iterations,
        }
    return out


def gittins_speed(num: int = 10_000, seed: int = 0) -> dict:
    """Time to index ``num`` queued requests (condition on age, map to cost, Gittins)."""
    rng = np.random.default_rng(seed)
    dist = LengthDistribution.from_samples([rng.lognormal(6, 0.8, 9) for _ in range(num)])
    cost = CostModel.paper()
    prompts, ages = rng.integers(10, 2000, num), rng.integers(0, 1000, num)
    times = []
    for _ in range(3):
        started = time.perf_counter()
        gittins_index(cost.remaining_cost_distribution(dist, prompts, ages))
        times.append(time.perf_counter() - started)
    return {"num_requests": num, "knots": int(dist.knots.shape[1]), "best_s": round(min(times), 4)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num-requests", type=int, default=2000, help="requests per table cell")
    parser.add_argument(
        "--speed-requests", type=int, default=100_000, help="requests for the speed run (0: skip)"
    )
    parser.add_argument(
        "--predictor", default="samples", help="samples, baseline:NAME or a checkpoint folder"
    )
    parser.add_argument("--model", default="meta-llama/Llama-3.1-8B-Instruct", help="CASTILLO target model")
    parser.add_argument("--policies", default="fcfs,sjf,ltr,trail,tie,gittins,oracle")
    parser.add_argument("--profiles", default=",".join(PROFILES))
    parser.add_argument("--traces", default=",".join(TRACES))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", default=None, help="write every number as JSON")
    args = parser.parse_args(argv)

    records = load_records(str(DATA / "castillo"), model=args.model)
    fit = []
    if args.predictor.startswith("baseline:"):
        from sagepred.records import split_records

        records, fit = split_records(records, 0.5, args.seed)
    predictor = resolve_predictor(args.predictor, fit)
    doc: dict = {
        "predictor": args.predictor,
        "model": args.model,
        "num_requests": args.num_requests,
        "cells": [],
        "preemption_rules": [],
        "saturation_rate": {},
    }
    shares = []
    for profile_name in args.profiles.split(","):
        profile = load_profile(profile_name)
        cost = CostModel.from_profile(profile)
        policies = parse_policies(args.policies, cost)
        r_sat = saturation_rate(records, profile, predictor, args.seed)
        doc["saturation_rate"][profile_name] = round(r_sat, 2)
        for trace_name in args.traces.split(","):
            trace = trace_or_poisson(str(DATA / TRACES[trace_name]))
            for load, factor in LOADS.items():
                rate = round(factor * r_sat, 2)
                workload = build_workload(
                    arrivals_for(trace, args.num_requests, rate, args.seed), records, predictor, args.seed
                )
                results = run_policies(workload, policies, profile)
                share = oracle_gain_share(results)
                print_table(
                    results,
                    f"{profile_name} · {trace_name} · {load} ({rate} req/s, "
                    f"{factor} × saturation) · {args.predictor}",
                )
                doc["cells"].append(
                    {
                        "profile": profile_name,
                        "trace": trace_name,
                        "load": load,
                        "rate": rate,
                        "policies": results,
                        "gittins_share_of_oracle_gain": share,
                    }
                )
                fcfs_mean = results["fcfs"]["mean_ttlt_s"] if "fcfs" in results else None
                oracle_mean = results["oracle"]["mean_ttlt_s"] if "oracle" in results else None
                if share is not None and fcfs_mean and oracle_mean and oracle_mean < 0.95 * fcfs_mean:
                    shares.append(share)
        # the preemption rule, near saturation on the first trace: none / naive / cost-aware
        trace = trace_or_poisson(str(DATA / TRACES[args.traces.split(",")[0]]))
        workload = build_workload(
            arrivals_for(trace, args.num_requests, round(1.0 * r_sat, 2), args.seed),
            records,
            predictor,
            args.seed,
        )
        fcfs = simulate(workload, make_policy("fcfs"), profile).summary()["mean_ttlt_s"]
        for label, rule in (
            ("no policy preemption", PreemptionRule(max_per_step=0)),
            ("naive", PreemptionRule(naive=True, max_per_step=4, max_per_request=1000)),
            ("cost-aware (default)", PreemptionRule()),
        ):
            for name in ("gittins", "oracle"):
                row = simulate(
                    workload, make_policy(name, cost), profile, SimConfig(preemption=rule)
                ).summary()
                doc["preemption_rules"].append(
                    {
                        "profile": profile_name,
                        "rule": label,
                        "policy": name,
                        "mean_ttlt_s": row["mean_ttlt_s"],
                        "vs_fcfs": row["mean_ttlt_s"] / fcfs,
                        "policy_preemptions": row["policy_preemptions"],
                    }
                )
    print("\npreemption rules near saturation (mean TTLT / FCFS's on the same workload):")
    for row in doc["preemption_rules"]:
        print(
            f"  {row['profile']:20s} {row['policy']:8s} {row['rule']:22s} {row['vs_fcfs']:.3f}  "
            f"({row['policy_preemptions']} preemptions)"
        )
    if shares:
        doc["gittins_share_mean_where_oracle_gains_5pct"] = float(np.mean(shares))
        print(
            f"\ngittins share of the oracle's gain over FCFS, mean over the {len(shares)} cells where the oracle "
            f"gains at least 5%: {np.mean(shares):.1%}"
        )
    doc["gittins_index_speed"] = gittins_speed()
    print(f"gittins index of 10,000 queued requests: {doc['gittins_index_speed']['best_s'] * 1000:.1f} ms")
    if args.speed_requests:
        profile = load_profile(PROFILES[0])
        rate = doc["saturation_rate"].get(PROFILES[0]) or saturation_rate(
            records, profile, predictor, args.seed
        )
        doc["simulator_speed"] = speed(records, predictor, profile, args.speed_requests, rate, args.seed)
        s = doc["simulator_speed"]
        print(
            f"simulator speed, {s['num_requests']:,} requests near saturation on {PROFILES[0]}: "
            + ", ".join(
                f"{name} {s[name]['wall_s']} s ({s[name]['requests_per_s']:,} req/s)"
                for name in ("fcfs", "gittins", "oracle")
            )
            + f"; workload build {s['workload_build_s']} s"
        )
    if args.json:
        write_json(args.json, doc)
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
