"""The small traps of the command line: an existing output folder, an idle simulation, serve without vLLM."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from sagepred.cli import main
from sagepred.scheduler.experiment import load_stats
from sagepred.scheduler.simulator import SimResult

TRAIN = ["train", "--model", "llama-3-8b", "--no-mlflow", "--epochs", "1"]


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_train_refuses_a_non_empty_output_folder(tmp_path, capsys):
    out = tmp_path / "ckpt"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    assert main([*TRAIN, "--output", str(out)]) == 2
    line = _one_line(capsys.readouterr().err)
    assert str(out) in line and "--overwrite" in line
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    clash = tmp_path / "file"
    clash.write_text("x")
    assert main([*TRAIN, "--output", str(clash)]) == 2
    assert "not a folder" in _one_line(capsys.readouterr().err) and clash.read_text() == "x"


def test_train_refuses_the_default_output_folder_too(tmp_path, monkeypatch, capsys):
    from sagepred.training.recipes import load_recipe

    monkeypatch.chdir(tmp_path)
    head = load_recipe("llama-3-8b").predictor.head.kind
    default = tmp_path / "outputs" / f"llama-3-8b-{head}-frozen"
    default.mkdir(parents=True)
    (default / "config.json").write_text("{}")
    assert main(TRAIN) == 2
    assert f"outputs/llama-3-8b-{head}-frozen" in _one_line(capsys.readouterr().err)
    assert (default / "config.json").read_text() == "{}"


def test_train_overwrite_replaces_the_folder(tmp_path, capsys):
    out = tmp_path / "ckpt"
    out.mkdir()
    (out / "stale.txt").write_text("old")
    assert main([*TRAIN, "--output", str(out), "--overwrite"]) == 0
    assert not (out / "stale.txt").exists()
    assert json.loads((out / "config.json").read_text())["target_model"]
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main([*TRAIN, "--output", str(empty)]) == 0  # an empty folder is fine without --overwrite
    assert (empty / "config.json").is_file()


def _result(arrival, first, finish) -> SimResult:
    n = len(arrival)
    return SimResult(
        policy="fcfs",
        arrival=np.asarray(arrival, float),
        prompt_len=np.ones(n),
        output_len=np.ones(n),
        generated=np.ones(n),
        first_token=np.asarray(first, float),
        finish=np.asarray(finish, float),
        rejected=np.zeros(n, bool),
        preemptions=np.zeros(n, int),
        memory_preemptions=0,
        policy_preemptions=0,
        steps=1,
        iterations=1,
        admit_order=list(range(n)),
        max_blocks_used=5,
        num_blocks=20,
        wall_s=0.0,
    )


def test_load_stats_by_hand():
    stats = load_stats(_result([0, 0, 1, 5], [0.1, 0.5, 1.1, 5.5], [1, 2, 3, 6]))
    assert stats["busy_share"] == pytest.approx(4 / 6)  # idle from 3 to 5
    assert stats["mean_in_system"] == pytest.approx((1 + 2 + 2 + 1) / 6)
    assert stats["max_in_system"] == 2  # the first leaves at t=1 as the third arrives
    assert stats["mean_queue"] == pytest.approx((0.1 + 0.5 + 0.1 + 0.5) / 6)
    assert stats["max_queue"] == 2 and stats["kv_peak_share"] == 0.25


@pytest.fixture(scope="module")
def records_file(tmp_path_factory, data_dir):
    from sagepred.importers import load_records
    from sagepred.records import write_jsonl_records

    records = load_records(str(data_dir / "castillo"), model="llama-3.1-8b")
    path = tmp_path_factory.mktemp("records") / "llama.jsonl"
    write_jsonl_records(records[:300], path)
    return path


def _simulate(records_file, rate: str, n: str, tmp_path) -> tuple[str, dict]:
    out = tmp_path / f"sim-{rate}.json"
    args = ["simulate", "--trace", "poisson", "--records", str(records_file), "--num-requests", n]
    assert main([*args, "--rate", rate, "--policies", "fcfs,sjf,oracle", "--json", str(out)]) == 0
    return out.read_text(), json.loads(out.read_text())


def test_simulate_always_prints_the_load_and_hints_when_nothing_queues(records_file, tmp_path, capsys):
    _, idle = _simulate(records_file, "0.05", "200", tmp_path)
    printed = capsys.readouterr().out
    assert "load (fcfs): engine busy" in printed and "queue (arrived, no first token yet) mean" in printed
    assert "policies can only differ where requests queue" in printed
    rows = idle["policies"]
    assert len({row["mean_ttlt_s"] for row in rows.values()}) == 1
    assert rows["fcfs"]["busy_share"] < 1 and rows["fcfs"]["mean_queue"] < 0.1

    _, busy = _simulate(records_file, "100", "800", tmp_path)
    printed = capsys.readouterr().out
    assert "load (fcfs): engine busy" in printed and "can only differ" not in printed
    fcfs = busy["policies"]["fcfs"]
    assert fcfs["busy_share"] > 0.99 and fcfs["max_queue"] > 10 and fcfs["mean_queue"] > 1
    assert busy["policies"]["oracle"]["mean_ttlt_s"] < fcfs["mean_ttlt_s"]


def test_a_rate_too_low_for_float_steps_still_finishes(records_file, tmp_path):
    """At 1e-50 req/s the next arrival is 1e50 s away, beyond what float steps can count one by one:
    the decode jump stops at its own bound instead of counting forever."""
    _, sparse = _simulate(records_file, "1e-50", "5", tmp_path)
    rows = sparse["policies"]
    assert len({row["mean_ttlt_s"] for row in rows.values()}) == 1 and rows["fcfs"]["mean_ttlt_s"] > 0


def test_running_out_of_memory_is_one_line(monkeypatch, capsys):
    from sagepred.cli import simulate

    def exhausted(self, args):
        raise MemoryError

    monkeypatch.setattr(simulate.Command, "run", exhausted)
    assert main(["simulate", "--trace", "poisson", "--records", "r.jsonl", "--rate", "1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "out of memory" in err and "Traceback" not in err


def test_a_reader_that_goes_away_ends_the_command_quietly():
    """``sagepred data fetch --list | head -1``: the pipe's reader is gone before the listing is written."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "sagepred", "data", "fetch", "--list"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    proc.stdout.close()
    err = proc.stderr.read()
    assert proc.wait(timeout=120) == 141
    assert "Traceback" not in err and "BrokenPipe" not in err, err


BLOCK_VLLM = textwrap.dedent(
    """
    import sys

    class _NoVllm:
        def find_spec(self, name, path=None, target=None):
            if name == "vllm" or name.startswith("vllm."):
                raise ImportError("vllm is blocked in this test")
            return None

    sys.meta_path.insert(0, _NoVllm())
    """
)


@pytest.fixture()
def no_vllm_env(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(BLOCK_VLLM)
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}


def _serve(env: dict, *argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sagepred", "serve", *argv],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def test_the_block_really_blocks_vllm(no_vllm_env):
    out = subprocess.run(
        [sys.executable, "-c", "import vllm"], capture_output=True, text=True, env=no_vllm_env, timeout=60
    )
    assert out.returncode != 0 and "vllm is blocked" in out.stderr


def test_serve_dry_run_prints_the_plugin_command_without_vllm(no_vllm_env):
    out = _serve(no_vllm_env, "--served-model", "m", "--dry-run", "--", "--dtype", "bfloat16")
    assert out.returncode == 0, out.stderr
    command = out.stdout.strip()
    assert "vllm.entrypoints.openai.api_server --model m --host 127.0.0.1 --port 8000" in command
    assert "--scheduler-cls sagepred.scheduler.vllm_plugin.SagepredScheduler" in command
    assert json.loads(command.split("--additional-config ")[1].split(" --dtype")[0])["sagepred"]["policy"]
    assert "vLLM is not installed here" in _one_line(out.stderr)


def test_serve_priority_dry_run_shows_the_proxy(no_vllm_env, tmp_path):
    from sagepred.zoo import PACKAGED_ZOO

    ckpt = str(PACKAGED_ZOO / "llama-3-8b")
    out = _serve(
        no_vllm_env,
        "--served-model",
        "m",
        "--mode",
        "priority",
        "--predictor",
        ckpt,
        "--port",
        "9000",
        "--dry-run",
    )
    assert out.returncode == 0, out.stderr
    proxy, command = out.stdout.strip().splitlines()
    assert proxy.startswith("# sagepred priority proxy") and "http://127.0.0.1:9000" in proxy
    assert "vLLM http://127.0.0.1:9001" in proxy and ckpt in proxy
    assert "--port 9001" in command and "--scheduling-policy priority" in command


def test_scheduler_class_names_match_the_plugin():
    pytest.importorskip("vllm")
    from sagepred.cli.serve import SCHEDULER_CLASSES
    from sagepred.scheduler import vllm_plugin

    assert SCHEDULER_CLASSES == {False: vllm_plugin.SCHEDULER, True: vllm_plugin.ASYNC_SCHEDULER}
    assert SCHEDULER_CLASSES[True] == vllm_plugin.scheduler_path(True)


@pytest.mark.parametrize(
    "argv,expected",
    [
        (["--vllm-port", "9001"], "only priority mode"),
        (
            ["--mode", "priority", "--predictor", "llama-3-8b", "--port", "9000", "--vllm-port", "9000"],
            "differ",
        ),
    ],
)
def test_serve_port_traps(argv, expected, capsys):
    assert main(["serve", "--served-model", "m", "--dry-run", *argv]) == 2
    assert expected in _one_line(capsys.readouterr().err)


PROMPTS = [
    "Write a detailed essay on climate change.",
    "Say hi.",
    "List three prime numbers.",
    "Explain how a transformer encoder pools its hidden states.",
]


def _prompts_file(tmp_path):
    path = tmp_path / "prompts.jsonl"
    path.write_text("".join(json.dumps({"id": str(i), "prompt": p}) + "\n" for i, p in enumerate(PROMPTS)))
    return path


@pytest.fixture()
def counted_encodes(monkeypatch, tmp_path):
    """Count the prompts actually run through the encoder; a fresh embedding cache folder."""
    from sagepred.encoders import TextEncoder

    monkeypatch.setenv("SAGEPRED_CACHE_DIR", str(tmp_path / "cache"))
    seen: list[int] = []
    original = TextEncoder.encode_uncached

    def counting(self, texts, batch_size=64, progress=False):
        seen.append(len(texts))
        return original(self, texts, batch_size=batch_size, progress=progress)

    monkeypatch.setattr(TextEncoder, "encode_uncached", counting)
    return seen


def test_predict_reuses_the_trainers_embedding_cache(tmp_path, counted_encodes):
    from sagepred.encoders import EmbeddingCache
    from sagepred.loading import load_predictor

    prompts = _prompts_file(tmp_path)
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    args = ["predict", "--model", "llama-3-8b", "--input", str(prompts)]
    assert main([*args, "--output", str(first), "--batch-size", "3"]) == 0
    assert sum(counted_encodes) == len(PROMPTS)
    assert main([*args, "--output", str(second)]) == 0
    assert sum(counted_encodes) == len(PROMPTS)  # the second run embedded nothing
    assert first.read_text() == second.read_text()

    counted_encodes.clear()  # what the trainer cached (same cache, same encoder) is what predict reads
    encoder = load_predictor("llama-3-8b").encoder
    EmbeddingCache().encode(encoder, ["A prompt the trainer embedded."])
    (tmp_path / "p2.jsonl").write_text(json.dumps({"prompt": "A prompt the trainer embedded."}) + "\n")
    assert (
        main(
            [
                "predict",
                "--model",
                "llama-3-8b",
                "--input",
                str(tmp_path / "p2.jsonl"),
                "--output",
                str(tmp_path / "c.jsonl"),
            ]
        )
        == 0
    )
    assert counted_encodes == [1]


def test_lora_encoders_bypass_the_cache():
    from peft import LoraConfig, get_peft_model

    from sagepred.encoders import EmbeddingCache, TextEncoder

    encoder = TextEncoder()
    assert encoder.cacheable
    encoder.model = get_peft_model(encoder.model, LoraConfig(r=2, target_modules=["query"]))
    assert not encoder.cacheable
    encoder.use_cache(EmbeddingCache("/nonexistent/never-written"))
    assert encoder.encode(["x"]).shape == (1, encoder.dim)
    with pytest.raises(ValueError, match="batch_size"):
        encoder.encode_uncached(["x"], batch_size=0)


def test_predict_and_compare_show_progress(tmp_path, monkeypatch, capsys, counted_encodes, data_dir):
    import sagepred.progress

    monkeypatch.setattr(sagepred.progress, "progress_enabled", lambda: True)
    prompts = _prompts_file(tmp_path)
    assert (
        main(
            [
                "predict",
                "--model",
                "llama-3-8b",
                "--input",
                str(prompts),
                "--output",
                str(tmp_path / "o.jsonl"),
            ]
        )
        == 0
    )
    assert "embedding prompts" in capsys.readouterr().err
    from sagepred.importers import load_records
    from sagepred.records import write_jsonl_records

    castillo = load_records(str(data_dir / "castillo"), model="llama-3.1-8b")
    evaluation, training = tmp_path / "eval.jsonl", tmp_path / "train.jsonl"
    write_jsonl_records(castillo[:40], evaluation)
    write_jsonl_records(castillo[40:140], training)
    argv = ["compare", "llama-3.1-8b", "baseline:global", "--data", str(evaluation)]
    assert main([*argv, "--train-data", str(training)]) == 0
    err = capsys.readouterr().err
    assert (
        "compare: [1/2] llama-3.1-8b: loading" in err and "compare: [2/2] baseline:global: predicting" in err
    )
    assert "embedding prompts" in err


def test_compare_holdout_scores_everyone_on_the_checkpoints_hold_out(tmp_path, capsys, data_dir):
    out = tmp_path / "cmp.json"
    args = ["compare", "baseline:global", "llama-3-8b", "baseline:length", "--data", "holdout"]
    assert main([*args, "--json", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert doc["data"]["source"] == "hold-out of llama-3-8b"
    assert doc["data"]["train_data"] == "recipe llama-3-8b"
    results = {r["predictor"]: r for r in doc["results"]}
    assert len(results) == 3 and len({r["n_prompts"] for r in results.values()}) == 1
    from sagepred.loading import load_predictor

    config = load_predictor("llama-3-8b").config
    assert next(iter(results.values()))["n_prompts"] == config.data["eval_records"]
    crps = {name: r["crps"] for name, r in results.items()}
    assert crps["llama-3-8b"] < crps["baseline:global"]
    capsys.readouterr()
    assert main(["compare", "baseline:global", "--data", "holdout"]) == 2
    assert "needs a checkpoint among the predictors" in _one_line(capsys.readouterr().err)
