"""``sagepred simulate`` end to end: real trace and records, JSON and table, sweep plot, bad input → exit 2."""

from __future__ import annotations

import json

import pytest

from sagepred.cli import main
from sagepred.records import write_jsonl_records

KEYS = {
    "mean_ttlt_s",
    "p50_ttlt_s",
    "p99_ttlt_s",
    "mean_ttft_s",
    "throughput_tok_s",
    "completed",
    "submitted",
}


@pytest.fixture(scope="module")
def records_file(tmp_path_factory, llama_records):
    path = tmp_path_factory.mktemp("records") / "llama.jsonl"
    write_jsonl_records(llama_records[:400], path)
    return path


def test_simulate_real_trace_writes_json(tmp_path, data_dir, records_file, capsys):
    out = tmp_path / "sim.json"
    code = main(
        [
            "simulate",
            "--trace",
            str(data_dir / "traces/azure_2023/AzureLLMInferenceTrace_conv.csv"),
            "--records",
            str(records_file),
            "--rate",
            "45",
            "--num-requests",
            "600",
            "--json",
            str(out),
        ]
    )
    assert code == 0
    doc = json.loads(out.read_text())
    assert set(doc["policies"]) == {"fcfs", "sjf", "ltr", "trail", "tie", "gittins", "oracle"}
    for row in doc["policies"].values():
        assert set(row) >= KEYS and row["completed"] == row["submitted"] == 600
    assert doc["policies"]["oracle"]["mean_ttlt_s"] < doc["policies"]["fcfs"]["mean_ttlt_s"]
    printed = capsys.readouterr().out
    assert "gittins" in printed and "oracle's mean-TTLT gain" in printed


def test_sweep_writes_a_png(tmp_path, records_file):
    plot = tmp_path / "sweep.png"
    out = tmp_path / "sweep.json"
    code = main(
        [
            "simulate",
            "--trace",
            "poisson",
            "--records",
            str(records_file),
            "--policies",
            "fcfs,oracle",
            "--num-requests",
            "300",
            "--sweep-rates",
            "10,40",
            "--plot",
            str(plot),
            "--json",
            str(out),
        ]
    )
    assert code == 0
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    doc = json.loads(out.read_text())
    assert [entry["rate"] for entry in doc["sweep"]] == [10.0, 40.0]
    light, heavy = (entry["policies"]["fcfs"]["mean_ttlt_s"] for entry in doc["sweep"])
    assert heavy > light


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--policies", "fcfs,srpt"], "srpt"),
        (["--rate", "-3"], "rate"),
        (["--profile", "no-such-profile"], "unknown profile"),
        (["--predictor", "none", "--policies", "gittins"], "need a predictor"),
        (["--sweep-rates", "5,x", "--plot", "p.png"], "sweep-rates"),
        (["--plot", "p.png"], "--plot draws the --sweep-rates curve"),
        (["--router", "least-cost"], "--router picks among replicas"),
    ],
)
def test_bad_options_exit_2(records_file, capsys, extra, message):
    args = ["simulate", "--trace", "poisson", "--records", str(records_file), "--num-requests", "20"]
    if "--rate" not in extra and "--sweep-rates" not in extra:
        args += ["--rate", "5"]
    assert main(args + extra) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_bad_trace_names_file_and_field(tmp_path, records_file, capsys):
    trace = tmp_path / "trace.csv"
    trace.write_text("TIMESTAMP,GeneratedTokens\n2023-11-16 18:17:03.97,5\n")
    code = main(["simulate", "--trace", str(trace), "--records", str(records_file), "--rate", "5"])
    assert code == 2
    err = capsys.readouterr().err
    assert str(trace) in err and "ContextTokens" in err


def test_bad_profile_file_names_field(tmp_path, records_file, capsys):
    profile = tmp_path / "p.yaml"
    profile.write_text(
        "name: x\nstep_base_s: 0.01\nper_token_s: 1e-5\nper_kv_token_s: -1\nkv_capacity_tokens: 100\n"
    )
    code = main(
        [
            "simulate",
            "--trace",
            "poisson",
            "--records",
            str(records_file),
            "--rate",
            "5",
            "--profile",
            str(profile),
        ]
    )
    assert code == 2
    assert "per_kv_token_s" in capsys.readouterr().err


def test_slack_guard_from_the_cli_guards_gittins_and_leaves_fcfs_alone(tmp_path, data_dir, records_file):
    def run(extra: list[str]) -> dict:
        out = tmp_path / f"sim{len(extra)}.json"
        args = ["simulate", "--trace", str(data_dir / "traces/mooncake/conversation_trace.jsonl")]
        args += ["--records", str(records_file), "--policies", "fcfs,gittins", "--rate", "40"]
        assert main([*args, "--num-requests", "2000", "--json", str(out), *extra]) == 0
        return json.loads(out.read_text())

    plain, guarded = run([]), run(["--slack", "0"])
    assert guarded["settings"]["slack"] == 0.0 and plain["settings"]["slack"] is None
    same = {k: v for k, v in guarded["policies"]["fcfs"].items() if k != "sim_wall_s"}
    assert same == {k: v for k, v in plain["policies"]["fcfs"].items() if k != "sim_wall_s"}, "FCFS unguarded"
    fcfs, g_plain, g_guarded = (
        plain["policies"]["fcfs"],
        plain["policies"]["gittins"],
        guarded["policies"]["gittins"],
    )
    assert g_plain["p99_ttlt_s"] > 1.1 * fcfs["p99_ttlt_s"], "this load must starve long requests unguarded"
    assert g_guarded["p99_ttlt_s"] < g_plain["p99_ttlt_s"]
