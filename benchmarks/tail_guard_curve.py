"""The tail guard's trade-off on the simulator: mean against p99 TTLT as the aging parameter moves.

Mooncake conversation arrivals scaled to each rate, CASTILLO prompts and true lengths
(Llama-3.1-8B-Instruct), predictions from a predictor spec (default ``samples``: each record's other
samples, the ideal distribution), the default H100 profile and its calibrated cost. For each rate it
simulates FCFS, the oracle, and Gittins with each aging value, and reports every mean and p99 TTLT as
a ratio to FCFS's on the same workload, plus the share of the oracle's mean gain Gittins keeps.

    python benchmarks/tail_guard_curve.py --json benchmarks/results/tail_guard_curve.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from sagepred.argtypes import above_minus_one_list, non_negative_float_list
from sagepred.loading import parse_spec
from sagepred.scheduler.cost import cost_model
from sagepred.scheduler.experiment import arrivals_for, load_records
from sagepred.scheduler.policies import SlackConfig, make_policy
from sagepred.scheduler.profile import load_profile
from sagepred.scheduler.simulator import SimConfig, simulate
from sagepred.scheduler.traces import load_trace
from sagepred.scheduler.workload import build_workload, resolve_predictor

ROOT = Path(__file__).resolve().parents[1]


def curve(args: argparse.Namespace) -> dict:
    profile = load_profile(args.profile)
    cost = cost_model("calibrated", profile)
    records = load_records(
        str(args.data / "castillo"), model="meta-llama--Llama-3.1-8B-Instruct", split=args.split
    )
    if args.exclude_train_overlap:
        records = _unseen(records, args.predictor)
    predictor = resolve_predictor(parse_spec(args.predictor), [], records)
    trace = load_trace(args.data / "traces" / args.trace)
    rows = []
    for seed, rate in [(s, r) for s in args.seeds for r in args.rates]:
        w = build_workload(arrivals_for(trace, args.num_requests, rate, seed), records, predictor, seed=seed)
        fcfs = simulate(w, make_policy("fcfs", cost), profile).summary()
        oracle = simulate(w, make_policy("oracle", cost), profile).summary()
        row = {"seed": seed, "rate": rate, "fcfs": fcfs, "oracle": oracle, "gittins": []}
        gain_oracle = fcfs["mean_ttlt_s"] - oracle["mean_ttlt_s"]
        guards = (
            [("aging", a, None, None) for a in args.aging]
            + [("max_wait_s", 0.0, m, None) for m in args.max_wait]
            + [("slack", 0.0, None, (e, None)) for e in args.slack]
            + [("slack-floor", 0.0, None, (e, q)) for e in args.floor_epsilon for q in args.floor]
            + [("slack-target", 0.0, None, (e, q)) for e in args.target_epsilon for q in args.target]
        )
        for guard, aging, max_wait, slack in guards:
            eps, floor = slack if slack is not None else (None, None)
            target = guard == "slack-target"
            config = SimConfig(
                max_wait_s=max_wait,
                slack=None
                if eps is None
                else SlackConfig(
                    epsilon=eps,
                    floor_quantile=None if target else floor,
                    target_quantile=floor if target else None,
                ),
            )
            s = simulate(w, make_policy("gittins", cost, aging=aging), profile, config).summary()
            s.update(
                guard=guard,
                aging=aging,
                max_wait_s=max_wait,
                slack_epsilon=eps,
                slack_floor_quantile=floor,
                mean_vs_fcfs=s["mean_ttlt_s"] / fcfs["mean_ttlt_s"],
                p99_vs_fcfs=s["p99_ttlt_s"] / fcfs["p99_ttlt_s"],
                share_of_oracle_gain=(fcfs["mean_ttlt_s"] - s["mean_ttlt_s"]) / gain_oracle
                if gain_oracle > 0
                else None,
            )
            row["gittins"].append(s)
            share = s["share_of_oracle_gain"]
            print(
                f"seed {seed} rate {rate:>6g}  {guard} {_param(aging, max_wait, eps):>8g} {floor or '':>5}  mean {s['mean_vs_fcfs']:.3f}x  p99 {s['p99_vs_fcfs']:.3f}x  "
                f"oracle share {share if share is None else round(share, 3)}  "
                f"(fcfs mean {fcfs['mean_ttlt_s']:.2f} s p99 {fcfs['p99_ttlt_s']:.2f} s; "
                f"oracle mean {oracle['mean_ttlt_s'] / fcfs['mean_ttlt_s']:.3f}x "
                f"p99 {oracle['p99_ttlt_s'] / fcfs['p99_ttlt_s']:.3f}x)",
                flush=True,
            )
        rows.append(row)
    return {
        "settings": {
            k: v.name if isinstance(v, Path) else v for k, v in vars(args).items()
        },  # no machine paths
        "rows": rows,
    }


def _unseen(records: list, spec: str) -> list:
    """The records whose prompt the checkpoint ``spec`` names did not train on (its recorded hashes)."""
    from sagepred.contamination import overlap_mask
    from sagepred.loading import MODEL_KINDS, load_predictor

    parsed = parse_spec(spec)
    if parsed.kind not in MODEL_KINDS:
        return records
    hashes = getattr(load_predictor(parsed), "train_prompt_hashes", None)
    if hashes is None:
        raise SystemExit(f"{spec} records no training prompts; drop --exclude-train-overlap")
    seen = overlap_mask([r.prompt_text for r in records], hashes)
    print(f"{int(seen.sum())} of {len(records)} records were in {spec}'s training data: left out", flush=True)
    return [r for r, s in zip(records, seen, strict=True) if not s]


def _param(aging: float, max_wait: float | None, eps: float | None) -> float:
    return eps if eps is not None else (aging if max_wait is None else max_wait)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--data", type=Path, default=ROOT.parent / "shared" / "data", help="shared data folder"
    )
    parser.add_argument("--trace", default="mooncake/conversation_trace.jsonl", help="trace under traces/")
    parser.add_argument("--split", default=None, help="CASTILLO split (default: all)")
    parser.add_argument("--predictor", default="samples", help="predictor spec (see sagepred simulate)")
    parser.add_argument("--profile", default=None, help="engine profile (default llama-3.1-8b-h100)")
    parser.add_argument("--num-requests", type=int, default=4000, help="requests per simulation")
    parser.add_argument(
        "--rates",
        type=lambda t: [float(x) for x in t.split(",")],
        default=[20.0, 40.0, 60.0, 80.0],
        help="comma-separated arrival rates (req/s)",
    )
    parser.add_argument(
        "--aging",
        type=non_negative_float_list,
        default=[0.0, 0.001, 0.003, 0.01, 0.03, 0.1],
        help="comma-separated aging values (seconds of work per second waited)",
    )
    parser.add_argument(
        "--max-wait",
        type=non_negative_float_list,
        default=[2.0, 5.0, 10.0, 20.0],
        help="comma-separated starvation bounds (seconds since arrival)",
    )
    parser.add_argument(
        "--slack",
        type=non_negative_float_list,
        default=[0.0, 0.1, 0.25, 0.5, 1.0],
        help="comma-separated slack-guard epsilons (deadline = (1 + epsilon) x the virtual FCFS latency)",
    )
    parser.add_argument(
        "--floor",
        type=non_negative_float_list,
        default=[0.5, 0.8, 0.9, 0.95],
        help="comma-separated tail-floor quantiles of the slack guard (each with every --floor-epsilon)",
    )
    parser.add_argument(
        "--floor-epsilon",
        type=non_negative_float_list,
        default=[0.1],
        help="comma-separated epsilons used with the tail floor",
    )
    parser.add_argument(
        "--target",
        type=non_negative_float_list,
        default=[],
        help="comma-separated tail-target quantiles of the slack guard (each with every --target-epsilon)",
    )
    parser.add_argument(
        "--target-epsilon",
        type=above_minus_one_list,
        default=[0.0],
        help="comma-separated epsilons used with the tail target (above -1)",
    )
    parser.add_argument(
        "--seeds",
        type=lambda t: [int(x) for x in t.split(",")],
        default=[0],
        help="comma-separated workload seeds (tune on some, report on others)",
    )
    parser.add_argument(
        "--exclude-train-overlap",
        action="store_true",
        help="with a checkpoint predictor: only records whose prompt it did not train on",
    )
    parser.add_argument("--json", type=Path, default=None, help="write results here")
    args = parser.parse_args()
    payload = curve(args)
    if args.json:
        from sagepred.io import atomic_write_text

        atomic_write_text(args.json, json.dumps(payload, indent=2) + "\n")


if __name__ == "__main__":
    main()
