"""The replay benchmark's workload through the real engine in engine *steps*, free of wall-clock noise.

Each request is submitted at the engine step its arrival time falls in (``--step-ms`` per step), with
its own random prompt tokens as in the replay benchmark (no prefix-cache sharing), and latency is
counted in steps, so two modes that schedule alike give the same numbers however busy the
machine is. It separates the order a mode produces from the wall time its steps take: the plug-in and
vLLM's priority mode are compared on schedule alone.

    python benchmarks/vllm_step_replay.py --rate 25.91 --modes priority,plugin:worst_key,plugin:newest
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("vllm_replay", ROOT / "vllm_replay.py")
replay = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(replay)  # type: ignore[union-attr]


def run_mode(mode: str, args: argparse.Namespace, w, model: Path, cache: Path) -> dict:
    """One engine, requests entered at their arrival steps; latency and TTFT in steps."""
    from vllm import SamplingParams

    from sagepred.scheduler.priority import priorities
    from sagepred.scheduler.serving import prediction_args
    from sagepred.scheduler.tiny_model import kv_bytes_per_token, tiny_engine

    n = len(w.arrival)
    config = replay.MODELS[args.model]
    kw = {"max_num_seqs": args.max_num_seqs, "kv_cache_bytes": args.kv_tokens * kv_bytes_per_token(config)}
    prios, extras = np.zeros(n, dtype=np.int64), [None] * n
    if mode in ("fcfs", "priority"):
        llm = tiny_engine(model, cache, scheduling_policy=mode, **kw)
        if mode == "priority":
            prios = priorities(w.dist, w.prompt_len)
    else:
        from sagepred.scheduler.vllm_plugin import SagepredScheduler

        victim = mode.partition(":")[2] or "newest"
        settings = {"policy": "gittins", "max_wait_s": None, "preemption": "off", "memory_victim": victim}
        llm = tiny_engine(
            model, cache, scheduler_cls=SagepredScheduler, additional_config={"sagepred": settings}, **kw
        )
        extras = [prediction_args(w.dist, i) for i in range(n)]
    engine = llm.llm_engine
    prompts = replay.distinct_prompts(w.prompt_len, config.vocab_size, args.seed)
    arrival_step = np.floor(w.arrival / (args.step_ms / 1e3)).astype(np.int64)
    first, finish = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64)
    step = submitted = 0
    while submitted < n or engine.has_unfinished_requests():
        while submitted < n and arrival_step[submitted] <= step:
            params = SamplingParams(
                max_tokens=int(w.output_len[submitted]),
                ignore_eos=True,
                extra_args=extras[submitted],
                skip_clone=True,
            )
            prompt = {"prompt_token_ids": prompts[submitted]}
            engine.add_request(f"r{submitted}", prompt, params, priority=int(prios[submitted]))
            submitted += 1
        step += 1
        for out in engine.step():
            i = int(out.request_id[1:])
            if out.outputs and out.outputs[0].token_ids and not first[i]:
                first[i] = step
            if out.finished:
                finish[i] = step
    latency, ttft = finish - arrival_step, first - arrival_step
    del llm
    return {
        "mean_steps": float(latency.mean()),
        "p99_steps": float(np.percentile(latency, 99)),
        "mean_ttft_steps": float(ttft.mean()),
        "total_steps": step,
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--data", type=Path, default=ROOT.parent.parent / "shared" / "data", help="shared data"
    )
    parser.add_argument(
        "--trace", default="azure_2023/AzureLLMInferenceTrace_conv.csv", help="trace under traces/"
    )
    parser.add_argument("--model", choices=sorted(replay.MODELS), default="bench", help="dummy-weights model")
    parser.add_argument("--rate", type=float, default=25.91, help="arrival rate (req/s)")
    parser.add_argument(
        "--step-ms", type=float, default=10.4, help="milliseconds per engine step for arrivals"
    )
    parser.add_argument("--num-requests", type=int, default=300, help="requests replayed")
    parser.add_argument("--length-scale", type=float, default=8.0, help="CASTILLO lengths divided by this")
    parser.add_argument("--max-prompt", type=int, default=128, help="cap on (scaled) prompt tokens")
    parser.add_argument("--max-num-seqs", type=int, default=16, help="engine max_num_seqs")
    parser.add_argument("--kv-tokens", type=int, default=2560, help="engine KV pool in tokens")
    parser.add_argument("--seed", type=int, default=0, help="workload seed")
    parser.add_argument(
        "--modes",
        default="fcfs,priority,plugin:worst_key,plugin:newest",
        help="comma-separated: fcfs, priority, plugin:worst_key, plugin:newest (the plug-in's memory victim)",
    )
    parser.add_argument("--json", type=Path, default=None, help="write results here")
    args = parser.parse_args(argv)
    modes = [m for m in args.modes.split(",") if m]
    known = ("fcfs", "priority", "plugin:worst_key", "plugin:newest")
    for mode in modes:
        if mode not in known:
            print(f"vllm_step_replay: unknown mode {mode!r} (modes: {', '.join(known)})", file=sys.stderr)
            raise SystemExit(2)
    w = replay.workload(args, args.rate)
    tmp = Path(tempfile.mkdtemp(prefix="sagepred-step-replay-"))
    model = replay.write_tiny_model(tmp / "model", replay.MODELS[args.model])
    results = {}
    for mode in modes:
        results[mode] = run_mode(mode, args, w, model, tmp / f"cache-{mode.replace(':', '-')}")
        r = results[mode]
        print(
            f"{mode:<18} mean {r['mean_steps']:.1f} steps  p99 {r['p99_steps']:.0f}  "
            f"TTFT {r['mean_ttft_steps']:.1f}  ({r['total_steps']} steps)",
            flush=True,
        )
    doc = {"rate": args.rate, "step_ms": args.step_ms, "model": args.model, "results": results}
    if args.json:
        from sagepred.io import atomic_write_text

        atomic_write_text(args.json, json.dumps(doc, indent=2) + "\n")
    return doc


if __name__ == "__main__":
    main()
