"""Cluster benchmark: routing by predicted work (least overlap, least cost) + Gittins per replica against
Ray Serve's default (power of two choices on queue length) + FCFS, at 16 and 64 replicas and 70–95%
utilisation.

    python benchmarks/cluster_bench.py [--replicas 16,64] [--utils 0.7,0.85,0.95] [--seeds 0,1,2]
        [--requests-per-replica 6000] [--warmup 0.3] [--aging 0] [--json] [--plot PNG]
    python benchmarks/cluster_bench.py --speed 1000000 [--speed-combos p2c/fcfs,least-cost/gittins]

Utilisation is the cluster arrival rate over ``replicas × capacity``, ``capacity`` one engine's
steady completion rate under FCFS with a deep queue (40,000 requests arrive at once; completions per
second between the 20th and 80th percentile of finish times). The queue must be deep: the batch
takes minutes to fill with the long requests it holds in steady state (length-biased, they fill the
KV cache and get preempted), and the first minutes complete requests a third faster (12,000 requests
gave 24.1 req/s on the H100 profile, 40,000 give 18.3; a long run at 85% of 24.1 builds an unbounded
queue). ``scheduler_bench.py``'s saturation rate (admissions while a deep queue drains, 28.8 req/s)
overstates it further: short requests are admitted fastest.

Latencies are measured in steady state: each cell replays ``requests_per_replica`` per replica (6,000:
about six minutes of arrivals at 95%) and scores only the requests arriving after the first
``warmup`` share of the arrival span (an empty engine serves the first minutes faster).
Arrivals: the Azure conv trace rescaled to that rate; requests: CASTILLO Llama-3.1-8B-Instruct
prompts and sampled lengths; predictor ``samples`` (each record's other nine samples: a calibrated
predictor, so this measures the router and the policy, not a model). Every ratio is paired (same
workload and seed) and averaged over seeds with a 95% t interval. The decomposition: scheduling alone
(p2c + gittins over p2c + fcfs), routing on top (least-overlap or least-cost + gittins over p2c + gittins).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from sagepred.argtypes import positive_int, probability
from sagepred.scheduler.cluster import ClusterConfig, simulate_cluster
from sagepred.scheduler.cost import CostModel
from sagepred.scheduler.experiment import arrivals_for, load_records, trace_or_poisson
from sagepred.scheduler.policies import make_policy
from sagepred.scheduler.profile import load_profile
from sagepred.scheduler.report import steady_completion_rate
from sagepred.scheduler.simulator import simulate
from sagepred.scheduler.workload import build_workload, resolve_predictor

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
TRACE = "traces/azure_2023/AzureLLMInferenceTrace_conv.csv"
LLAMA = "meta-llama--Llama-3.1-8B-Instruct"
COMBOS = (
    ("p2c", "fcfs"),
    ("p2c", "gittins"),
    ("least-cost", "fcfs"),
    ("least-cost", "gittins"),
    ("least-overlap", "fcfs"),
    ("least-overlap", "gittins"),
)
BASELINE, CANDIDATE = "p2c/fcfs", "least-overlap/gittins"
RATIOS = {
    "overlap+gittins vs p2c+fcfs": (CANDIDATE, BASELINE),
    "cost+gittins vs p2c+fcfs": ("least-cost/gittins", BASELINE),
    "scheduling: p2c+gittins vs p2c+fcfs": ("p2c/gittins", BASELINE),
    "routing: overlap+gittins vs p2c+gittins": (CANDIDATE, "p2c/gittins"),
    "routing: cost+gittins vs p2c+gittins": ("least-cost/gittins", "p2c/gittins"),
    "routing alone: overlap+fcfs vs p2c+fcfs": ("least-overlap/fcfs", BASELINE),
}


def capacity_rate(records, profile, predictor, seed: int, n: int = 40_000) -> float:
    """One engine's steady completion rate under FCFS with a deep queue (requests per second)."""
    probe = build_workload(arrivals_for(None, n, 1e6, seed), records, predictor, seed)
    return steady_completion_rate(simulate(probe, make_policy("fcfs"), profile).finish)


def interval(values: list[float]) -> tuple[float, float]:
    """Mean and the half-width of its 95% t interval (0 for one value)."""
    from scipy import stats

    a = np.asarray(values, dtype=np.float64)
    if a.size < 2:
        return float(a.mean()), 0.0
    half = stats.t.ppf(0.975, a.size - 1) * a.std(ddof=1) / np.sqrt(a.size)
    return float(a.mean()), float(half)


def _floats(text: str) -> list[float]:
    return [float(x) for x in text.split(",") if x.strip()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replicas", default="16,64", help="cluster sizes (default 16,64)")
    parser.add_argument("--utils", default="0.7,0.85,0.95", help="utilisations (default 0.7,0.85,0.95)")
    parser.add_argument("--seeds", default="0,1,2", help="seeds: workload, arrivals offset, router")
    parser.add_argument(
        "--requests-per-replica",
        type=positive_int,
        default=6000,
        help="requests per replica per cell (default 6000)",
    )
    parser.add_argument(
        "--warmup",
        type=probability,
        default=0.3,
        help="share of the arrival span whose requests are not scored (steady state; default 0.3)",
    )
    parser.add_argument("--profile", default="llama-3.1-8b-h100", help="engine profile of every replica")
    parser.add_argument("--aging", type=float, default=0.0, help="tail guard on the Gittins policy (0: off)")
    parser.add_argument("--refresh-ms", type=float, default=100.0, help="router stats refresh interval")
    parser.add_argument("--json", action="store_true", help="print the results as JSON too")
    parser.add_argument("--out", default=str(ROOT / "benchmarks/results/cluster_bench.json"))
    parser.add_argument("--plot", default=None, metavar="PNG", help="mean TTLT ratio against utilisation")
    parser.add_argument(
        "--speed",
        type=int,
        default=None,
        metavar="N",
        help="instead: time 64 replicas (or the first of --replicas) on N requests at 85%% utilisation",
    )
    parser.add_argument("--speed-combos", default="p2c/fcfs", help="router/policy pairs to time")
    args = parser.parse_args(argv)
    if args.warmup >= 1:
        parser.error("--warmup must leave some requests to score (below 1)")
    if args.speed:
        return speed(args)

    sizes = [int(x) for x in _floats(args.replicas)]
    utils = _floats(args.utils)
    seeds = [int(x) for x in _floats(args.seeds)]
    profile = load_profile(args.profile)
    cost = CostModel.from_profile(profile)
    records = load_records(str(DATA / "castillo"), model=LLAMA)
    predictor = resolve_predictor("samples")
    trace = trace_or_poisson(str(DATA / TRACE))
    r_sat = capacity_rate(records, profile, predictor, 0)
    print(f"{profile.name}: one engine completes {r_sat:.2f} req/s in steady state", flush=True)
    policies = {"fcfs": make_policy("fcfs", cost), "gittins": make_policy("gittins", cost, aging=args.aging)}

    cells = []
    started = time.perf_counter()
    for size in sizes:
        for util in utils:
            rate = util * size * r_sat
            n = args.requests_per_replica * size
            runs = []
            for seed in seeds:
                arrivals = arrivals_for(trace, n, rate, seed)
                workload = build_workload(arrivals, records, predictor, seed=seed)
                warmup_s = args.warmup * float(arrivals[-1] - arrivals[0])
                row = {}
                for router, policy in COMBOS:
                    cluster = ClusterConfig(size, router, refresh_s=args.refresh_ms / 1000.0, seed=seed)
                    row[f"{router}/{policy}"] = simulate_cluster(
                        workload, policies[policy], profile, cluster
                    ).summary(warmup_s)
                runs.append(row)
                print(
                    f"  {size} replicas, {util:.0%}, seed {seed}: "
                    + ", ".join(f"{k} {v['mean_ttlt_s']:.3f}/{v['p99_ttlt_s']:.2f}" for k, v in row.items()),
                    flush=True,
                )
            ratios = {}
            for label, (num, den) in RATIOS.items():
                for stat in ("mean_ttlt_s", "p99_ttlt_s"):
                    mean, half = interval([r[num][stat] / r[den][stat] for r in runs])
                    ratios[f"{label} ({stat[:-2]})"] = {"mean": round(mean, 4), "ci95": round(half, 4)}
            cells.append(
                {
                    "replicas": size,
                    "utilisation": util,
                    "rate": round(rate, 2),
                    "num_requests": n,
                    "ratios": ratios,
                    "runs": runs,
                }
            )

    print(f"\n{profile.name}, Azure conv arrivals, CASTILLO Llama-3.1-8B, predictor samples, seeds {seeds}")
    print(
        "ratio (mean over seeds ± 95% CI)  [goal: predicted work+gittins vs p2c+fcfs mean ≤ 0.75, p99 ≤ 1.0]"
    )
    print(f"{'replicas':>8} {'util':>5}  {'':<38} {'mean TTLT':<15} {'p99 TTLT'}")
    for cell in cells:
        for label in RATIOS:
            m, p = cell["ratios"][f"{label} (mean_ttlt)"], cell["ratios"][f"{label} (p99_ttlt)"]
            print(
                f"{cell['replicas']:>8} {cell['utilisation']:>5.0%}  {label:<38} "
                f"{m['mean']:.3f} ± {m['ci95']:.3f}   {p['mean']:.3f} ± {p['ci95']:.3f}"
            )
    doc = {
        "settings": {
            "profile": profile.name,
            "capacity_rate": round(r_sat, 2),
            "trace": TRACE,
            "records": "castillo",
            "model": LLAMA,
            "predictor": "samples",
            "seeds": seeds,
            "requests_per_replica": args.requests_per_replica,
            "warmup": args.warmup,
            "aging": args.aging,
            "refresh_ms": args.refresh_ms,
            "wall_s": round(time.perf_counter() - started, 1),
        },
        "cells": cells,
    }
    from sagepred.io import atomic_write_text

    _merge_earlier(doc, Path(args.out))
    atomic_write_text(args.out, json.dumps(doc, indent=2) + "\n")
    print(f"wrote {Path(args.out).name}")
    if args.json:
        json.dump(doc, sys.stdout, indent=2)
        print()
    if args.plot:
        _plot(doc["cells"], args.plot)
    return 0


def speed(args: argparse.Namespace) -> int:
    """Wall and CPU seconds for one large cluster run per router/policy pair (workload build apart)."""
    size = int(_floats(args.replicas)[-1]) if args.replicas != "16,64" else 64
    profile = load_profile(args.profile)
    cost = CostModel.from_profile(profile)
    records = load_records(str(DATA / "castillo"), model=LLAMA)
    predictor = resolve_predictor("samples")
    r_cap = capacity_rate(records, profile, predictor, 0)
    rate = 0.85 * size * r_cap
    started = time.perf_counter()
    workload = build_workload(
        arrivals_for(trace_or_poisson(str(DATA / TRACE)), args.speed, rate, 0), records, predictor
    )
    print(
        f"{args.speed:,} requests at {rate:.0f} req/s built in {time.perf_counter() - started:.1f} s",
        flush=True,
    )
    for combo in args.speed_combos.split(","):
        router, policy = combo.split("/")
        wall, cpu = time.perf_counter(), time.process_time()
        result = simulate_cluster(
            workload,
            make_policy(policy, cost),
            profile,
            ClusterConfig(size, router, args.refresh_ms / 1000.0),
        )
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        row = result.summary()
        print(
            f"{size} replicas · {combo}: wall {wall:.1f} s, CPU {cpu:.1f} s, {row['completed']:,} completed, "
            f"{row['epochs']:,} epochs, {result.combined.iterations:,} engine iterations, "
            f"mean TTLT {row['mean_ttlt_s']:.2f} s, imbalance {row['imbalance']:.3f}",
            flush=True,
        )
    return 0


def _merge_earlier(doc: dict, path: Path) -> None:
    """Keep the cells of an earlier run with the same settings that this run did not redo."""
    if not path.is_file():
        return
    old = json.loads(path.read_text())
    same = ("profile", "seeds", "requests_per_replica", "warmup", "aging", "refresh_ms", "predictor", "trace")
    if any(old.get("settings", {}).get(k) != doc["settings"][k] for k in same):
        return
    done = {(c["replicas"], c["utilisation"]) for c in doc["cells"]}
    kept = [c for c in old["cells"] if (c["replicas"], c["utilisation"]) not in done]
    doc["cells"] = sorted(kept + doc["cells"], key=lambda c: (c["replicas"], c["utilisation"]))


def _plot(cells: list[dict], path: str) -> None:
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sagepred.io import atomic_write_bytes

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for size in sorted({c["replicas"] for c in cells}):
        mine = [c for c in cells if c["replicas"] == size]
        for label, style in (
            ("overlap+gittins vs p2c+fcfs", "-"),
            ("cost+gittins vs p2c+fcfs", "--"),
            ("scheduling: p2c+gittins vs p2c+fcfs", ":"),
        ):
            if any(f"{label} (mean_ttlt)" not in c["ratios"] for c in mine):
                continue  # cells merged from an earlier run without this router
            ys = [c["ratios"][f"{label} (mean_ttlt)"] for c in mine]
            ax.errorbar(
                [c["utilisation"] for c in mine],
                [y["mean"] for y in ys],
                yerr=[y["ci95"] for y in ys],
                linestyle=style,
                marker="o",
                label=f"{size} replicas: {label}",
            )
    ax.axhline(1.0, color="grey", linewidth=0.8)
    ax.set_xlabel("utilisation")
    ax.set_ylabel("mean TTLT ratio")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png", dpi=120)
    plt.close(fig)
    atomic_write_bytes(path, buffer.getvalue())


if __name__ == "__main__":
    raise SystemExit(main())
