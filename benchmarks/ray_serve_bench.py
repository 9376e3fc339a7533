"""Ray Serve, 2 CPU replicas of vLLM with the sagepred plug-in: Ray's default router against sagepred's.

The applications run side by side on one local Ray cluster (2 replicas each, the ``bench`` dummy-weights
model, Gittins per replica): ``pow2`` is Ray Serve's ``PowerOfTwoChoicesRequestRouter`` (two random
replicas, the shorter queue); ``overlap`` and ``cost`` are
:class:`~sagepred.scheduler.ray_router.PredictedCostRouter` with that score (``--routers``).
An idle application costs no CPU (its engine threads wait), so the one being measured has the machine.
Arrivals are the first ``--num-requests`` of a real trace scaled to ``--rate``; prompt and output lengths
from CASTILLO (Llama-3.1-8B, validate split) divided by ``--length-scale``; each request carries the
distribution of its record's other nine samples (scaled alike) in ``vllm_xargs``, for both routers (the
plug-in orders each replica's queue with it either way; only the routing differs). Requests are sent
through a deployment handle at their arrival times; TTLT is measured at the client.

One warm-up run per router, then ``--repeats`` paired repeats in rotating order. The mean-TTLT ratio
of each sagepred router to pow2 comes with a 95% bootstrap interval (requests resampled, the same resample for
both routers, repeats pooled), and the per-repeat ratios are listed so the noise is visible.

    python benchmarks/ray_serve_bench.py --json benchmarks/results/ray_serve_bench.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from sagepred.io import atomic_write_text
from sagepred.scheduler.experiment import load_records
from sagepred.scheduler.serving import prediction_args
from sagepred.scheduler.tiny_model import BENCH_MODEL, TinyModelConfig, write_tiny_model
from sagepred.scheduler.traces import load_trace, scaled_arrivals
from sagepred.scheduler.workload import Workload, build_workload, samples_predictor

ROOT = Path(__file__).resolve().parents[1]
MAX_LEN = 512
MODELS = {"bench": BENCH_MODEL, "tiny": TinyModelConfig()}
ROUTERS = {
    "pow2": ("pow2", "overlap"),
    "overlap": ("predicted-cost", "overlap"),
    "cost": ("predicted-cost", "cost"),
}
"""``--routers`` labels: (``RayServeConfig.router``, ``route_score``)."""
BASELINE = "pow2"


def workload(args: argparse.Namespace) -> Workload:
    records = load_records(
        str(args.data / "castillo"), model="meta-llama--Llama-3.1-8B-Instruct", split="validate"
    )
    arrivals = scaled_arrivals(load_trace(args.data / "traces" / args.trace), args.num_requests, args.rate)
    w = build_workload(arrivals, records, lambda recs, truth: samples_predictor(recs, truth), seed=args.seed)
    s = args.length_scale
    w.prompt_len = np.clip(np.ceil(w.prompt_len / s), 1, args.max_prompt).astype(np.int64)
    w.output_len = np.clip(np.ceil(w.output_len / s), 1, MAX_LEN - args.max_prompt - 1).astype(np.int64)
    w.dist = w.dist.map_support(lambda x: x / s)
    return w


def bodies(w: Workload) -> list[dict[str, Any]]:
    return [
        {
            "id": str(i),
            "prompt_token_ids": [7] * int(w.prompt_len[i]),
            "max_tokens": int(w.output_len[i]),
            "ignore_eos": True,
            "vllm_xargs": prediction_args(w.dist, i),
        }
        for i in range(len(w.arrival))
    ]


async def replay(handle: Any, w: Workload, reqs: list[dict[str, Any]]) -> dict[str, Any]:
    """Send every request at its arrival time; TTLT per request and the replica that served it."""
    from sagepred.scheduler.ray_engine import generate_with_retry

    start = time.perf_counter()

    async def one(i: int) -> tuple[float, str, int]:
        await asyncio.sleep(max(0.0, float(w.arrival[i]) - (time.perf_counter() - start)))
        sent = time.perf_counter()
        result = await generate_with_retry(handle, reqs[i])
        return time.perf_counter() - sent, result["replica"], int(result["output_tokens"])

    results = await asyncio.gather(*[one(i) for i in range(len(reqs))])
    ttlt = np.array([r[0] for r in results])
    replicas = [r[1] for r in results]
    assert all(r[2] == reqs[i]["max_tokens"] for i, r in enumerate(results)), "a request came back short"
    counts = {name: replicas.count(name) for name in sorted(set(replicas))}
    long_share = {}
    big = w.output_len >= np.quantile(w.output_len, 0.9)
    for name in counts:
        long_share[name] = int(sum(1 for i, r in enumerate(replicas) if r == name and big[i]))
    return {
        "mean_ttlt_s": float(ttlt.mean()),
        "p50_ttlt_s": float(np.median(ttlt)),
        "p99_ttlt_s": float(np.percentile(ttlt, 99)),
        "makespan_s": time.perf_counter() - start,
        "requests_per_replica": sorted(counts.values()),
        "longest_tenth_per_replica": sorted(long_share.values()),
        "ttlt": [round(float(x), 4) for x in ttlt],
    }


def bootstrap_ratio(a_runs: list[dict], b_runs: list[dict], stat, draws: int, seed: int) -> dict[str, Any]:
    """``stat`` of a over b, repeats pooled, with a 95% interval from resampling requests (same for both)."""
    rng = np.random.default_rng(seed)
    a = np.array([r["ttlt"] for r in a_runs])
    b = np.array([r["ttlt"] for r in b_runs])
    point = float(np.mean([stat(x) for x in a]) / np.mean([stat(x) for x in b]))
    n = a.shape[1]
    ratios = []
    for _ in range(draws):
        idx = rng.integers(0, n, n)
        ratios.append(np.mean([stat(x[idx]) for x in a]) / np.mean([stat(x[idx]) for x in b]))
    lo, hi = np.percentile(ratios, [2.5, 97.5])
    return {"ratio": point, "ci95": [float(lo), float(hi)]}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--data", type=Path, default=ROOT.parent / "shared" / "data", help="shared data folder"
    )
    parser.add_argument(
        "--trace", default="azure_2023/AzureLLMInferenceTrace_conv.csv", help="trace under traces/"
    )
    parser.add_argument("--model", choices=sorted(MODELS), default="bench", help="dummy-weights model size")
    parser.add_argument("--num-requests", type=int, default=200, help="requests per run")
    parser.add_argument("--rate", type=float, default=24.0, help="arrival rate over both replicas, req/s")
    parser.add_argument(
        "--length-scale", type=float, default=8.0, help="CASTILLO lengths are divided by this"
    )
    parser.add_argument("--max-prompt", type=int, default=128, help="cap on (scaled) prompt tokens")
    parser.add_argument("--max-num-seqs", type=int, default=8, help="engine max_num_seqs per replica")
    parser.add_argument("--repeats", type=int, default=3, help="paired repeats after one warm-up per router")
    parser.add_argument("--stats-period-s", type=float, default=0.1, help="routing-stats period per replica")
    parser.add_argument("--seed", type=int, default=0, help="workload seed")
    parser.add_argument("--bootstrap", type=int, default=2000, help="bootstrap resamples")
    parser.add_argument(
        "--routers", default="pow2,overlap,cost", help=f"routers to compare, from {', '.join(ROUTERS)}"
    )
    parser.add_argument("--json", type=Path, default=None, help="write results here")
    args = parser.parse_args(argv)
    labels = [r.strip() for r in args.routers.split(",") if r.strip()]
    if BASELINE not in labels or any(r not in ROUTERS for r in labels) or len(set(labels)) != len(labels):
        print(
            f"ray_serve_bench: error: --routers: distinct names from {', '.join(ROUTERS)}, with pow2",
            file=sys.stderr,
        )
        raise SystemExit(2)
    if args.num_requests < 2 or args.rate <= 0 or args.repeats < 1:
        print(
            "ray_serve_bench: error: --num-requests >= 2, --rate > 0 and --repeats >= 1 expected",
            file=sys.stderr,
        )
        raise SystemExit(2)

    import ray
    from ray import serve

    from sagepred.scheduler.engine_loop import EngineSettings
    from sagepred.scheduler.ray_config import RayServeConfig
    from sagepred.scheduler.ray_engine import engine_deployment
    from sagepred.scheduler.ray_router import router_decisions

    w = workload(args)
    reqs = bodies(w)
    tmp = Path(tempfile.mkdtemp(prefix="sagepred-ray-bench-"))
    model = write_tiny_model(tmp / "model", MODELS[args.model])
    env = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "VLLM_CACHE_ROOT": str(tmp / "cache")}
    os.environ.update(env)
    ray.init(
        num_cpus=2 * len(labels) + 1,
        include_dashboard=False,
        object_store_memory=256 * 2**20,
        runtime_env={"env_vars": env},
    )
    settings = EngineSettings(
        model=str(model),
        plugin={"policy": "gittins"},
        llm_kwargs={
            "load_format": "dummy",
            "dtype": "bfloat16",
            "max_model_len": MAX_LEN,
            "max_num_seqs": args.max_num_seqs,
            "kv_cache_memory_bytes": 64 * 2**20,
            "seed": 0,
        },
    )
    handles = {}
    for label in labels:
        router, score = ROUTERS[label]
        config = RayServeConfig(
            replicas=2,
            router=router,
            route_score=score,
            stats_period_s=args.stats_period_s,
            name=f"bench-{label}",
        )
        serve.run(engine_deployment(settings, config), name=config.name, route_prefix=None)
        handles[label] = serve.get_deployment_handle("SagepredEngine", app_name=config.name)
    print(
        f"{len(reqs)} requests at {args.rate} req/s, mean output {w.output_len.mean():.0f} tokens, "
        f"mean prompt {w.prompt_len.mean():.0f}",
        flush=True,
    )
    runs: dict[str, list[dict]] = {r: [] for r in labels}
    order_log = []
    try:
        for repeat in range(args.repeats + 1):
            shift = repeat % len(labels)
            order = labels[shift:] + labels[:shift]
            for router in order:
                before = router_decisions()
                result = asyncio.run(replay(handles[router], w, reqs))
                after = router_decisions()
                result["router_decisions"] = {k: after.get(k, 0) - before.get(k, 0) for k in after}
                label = "warm-up" if repeat == 0 else f"repeat {repeat}"
                print(
                    f"{label:9s} {router:15s} mean TTLT {result['mean_ttlt_s']:.3f} s, p99 "
                    f"{result['p99_ttlt_s']:.3f} s, per replica {result['requests_per_replica']}, longest tenth "
                    f"{result['longest_tenth_per_replica']}",
                    flush=True,
                )
                if repeat > 0:
                    runs[router].append(result)
                    order_log.append(router)
    finally:
        serve.shutdown()
        ray.shutdown()

    base = runs[BASELINE]
    out = {
        "config": {k: v.name if isinstance(v, Path) else v for k, v in vars(args).items() if k != "json"},
        "data": args.data.name,
        "mean_output_tokens": float(w.output_len.mean()),
        "order": order_log,
        "runs": {r: [{k: v for k, v in x.items() if k != "ttlt"} for x in runs[r]] for r in labels},
        "ratios_to_pow2": {},
    }
    for label in labels:
        if label == BASELINE:
            continue
        mine = runs[label]
        m = bootstrap_ratio(mine, base, np.mean, args.bootstrap, args.seed)
        p = bootstrap_ratio(mine, base, lambda x: np.percentile(x, 99), args.bootstrap, args.seed)
        per_repeat = [a["mean_ttlt_s"] / b["mean_ttlt_s"] for a, b in zip(mine, base, strict=True)]
        out["ratios_to_pow2"][label] = {
            "mean_ttlt_ratio": m,
            "p99_ttlt_ratio": p,
            "per_repeat_mean_ratio": per_repeat,
        }
        print(
            f"{label} / pow2: mean TTLT {m['ratio']:.3f} [{m['ci95'][0]:.3f}, {m['ci95'][1]:.3f}], "
            f"p99 {p['ratio']:.3f} [{p['ci95'][0]:.3f}, {p['ci95'][1]:.3f}]; per repeat "
            + ", ".join(f"{x:.3f}" for x in per_repeat)
        )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(args.json, json.dumps(out, indent=2) + "\n")
    return out


if __name__ == "__main__":
    main()
