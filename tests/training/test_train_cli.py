"""`sagepred train` / `sagepred predict` end to end on real data, with MLflow on SQLite."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from sagepred.cli import main
from sagepred.distribution import LengthDistribution
from sagepred.importers import load_records
from sagepred.records import write_jsonl_records


@pytest.fixture(scope="module")
def trained(tmp_path_factory, data_dir):
    """One real training run of the README's main job (llama-3-8b recipe, AlpacaEval data)."""
    out = tmp_path_factory.mktemp("train")
    code = main(
        [
            "train",
            "--model",
            "llama-3-8b",
            "--output",
            str(out / "ckpt"),
            "--tracking-uri",
            f"sqlite:///{out}/mlflow.db",
            "--json",
            str(out / "summary.json"),
        ]
    )
    assert code == 0
    return out


def test_training_writes_checkpoint_card_and_beats_the_global_histogram(trained):
    summary = json.loads((trained / "summary.json").read_text())
    assert sorted(p.name for p in (trained / "ckpt").iterdir()) == [
        "README.md",
        "calibration.json",
        "config.json",
        "model.safetensors",
        "reference.safetensors",
        "train_prompts.safetensors",
    ]
    assert summary["data"]["kind"] == "recipe" and summary["data"]["train_records"] > 500
    metrics, baseline = summary["metrics"], summary["baseline_global"]
    assert metrics["crps"] < 0.9 * baseline["crps"]
    assert metrics["kendall_tau"] > 0.25
    assert 0.65 < metrics["coverage_80"] < 0.95
    card = (trained / "ckpt" / "README.md").read_text()
    assert f"value: {round(metrics['crps'], 4)}" in card and "cc-by-nc-4.0" in card


def test_the_main_job_reads_length_instructions(trained):
    """The README's checkpoint carries the instruction adjustment and its tokenizer family, and the
    probe sets rank by instructed length (a head trained alone would not: ρ about 0.2 on some topics)."""
    from sagepred.instruction_adjust import released_settings
    from sagepred.predictor import LengthPredictor
    from sagepred.probes import read_probes, score_probes

    predictor = LengthPredictor.from_pretrained(trained / "ckpt")
    assert predictor.config.instructions == released_settings()
    assert predictor.config.tokenizer == "llama3"
    data = Path(__file__).resolve().parents[1] / "data"
    for name in ("length_probes.jsonl", "length_probes_varied.jsonl", "length_probes_requirements.jsonl"):
        probes = read_probes(data / name)
        summary = score_probes(probes, predictor.predict([p.prompt for p in probes]).quantile(0.5))["summary"]
        assert summary["spearman_min"] >= 0.85 and summary["ratio_min"] >= 100, (name, summary)


def test_the_readmes_try_it_command_prints_the_instruction_read(trained, capsys):
    prompts = ["Write a history of the Silk Road, 1,500 words.", "Is Paris in France? Yes or no."]
    assert main(["predict", "--checkpoint", str(trained / "ckpt"), *prompts]) == 0
    out = capsys.readouterr().out
    assert "tokens of Meta-Llama-3-8B-Instruct" in out
    assert "1,500 words" in out and "a word or so" in out


def test_mlflow_run_has_params_metrics_and_registered_model(trained):
    import mlflow
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{trained}/mlflow.db"
    client = MlflowClient(uri)
    summary = json.loads((trained / "summary.json").read_text())
    run = client.get_run(summary["mlflow"]["run_id"])
    assert run.info.status == "FINISHED"
    assert run.data.params["recipe"] == "llama-3-8b"
    assert run.data.metrics["eval_crps"] == pytest.approx(summary["metrics"]["crps"])
    assert len(client.get_metric_history(run.info.run_id, "val_loss")) >= 2
    versions = client.search_model_versions("name='sagepred-Meta-Llama-3-8B-Instruct'")
    assert [v.run_id for v in versions] == [run.info.run_id]
    mlflow.set_tracking_uri(uri)
    artifacts = {Path(a.path).name for a in client.list_artifacts(run.info.run_id, "checkpoint")}
    assert {"config.json", "model.safetensors", "README.md"} <= artifacts


def test_predict_cli_writes_99_monotone_quantiles(trained, tmp_path):
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text(
        json.dumps({"id": "a", "prompt": "Write a detailed essay on climate change."})
        + "\n"
        + json.dumps({"prompt": [{"role": "user", "content": "Say hi."}]})
        + "\n"
    )
    out = tmp_path / "preds.jsonl"
    assert (
        main(
            ["predict", "--checkpoint", str(trained / "ckpt"), "--input", str(prompts), "--output", str(out)]
        )
        == 0
    )
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == ["a", "prompts:2"]  # the id the record reader gives that line
    for row in rows:
        assert len(row["levels"]) == len(row["quantiles"]) == 99
        assert LengthDistribution.from_dict(row).to_dict(0) == {k: v for k, v in row.items() if k != "id"}
        assert row["levels"][0] == 0.01 and row["levels"][-1] == 0.99
        assert np.all(np.diff(row["quantiles"]) >= 0) and row["mean"] > 0
    assert rows[0]["mean"] > rows[1]["mean"]  # an essay is longer than a greeting


def test_lora_mode_trains_and_saves_an_adapter(tmp_path, data_dir):
    records = load_records(
        str(data_dir / "castillo"), model="meta-llama--Llama-3.1-8B-Instruct", split="validate"
    )
    subset = tmp_path / "subset.jsonl"
    write_jsonl_records(records[:160], subset)
    code = main(
        [
            "train",
            "--model",
            "llama-3.1-8b",
            "--data",
            str(subset),
            "--lora",
            "--epochs",
            "1",
            "--output",
            str(tmp_path / "lora"),
            "--no-mlflow",
            "--json",
            str(tmp_path / "s.json"),
        ]
    )
    assert code == 0
    names = {p.name for p in (tmp_path / "lora").iterdir()}
    assert {"adapter_config.json", "adapter_model.safetensors", "model.safetensors"} <= names
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["mode"] == "lora" and summary["data"]["kind"] == "user"
    assert np.isfinite(summary["metrics"]["crps"])


def test_offline_fresh_machine_falls_back_to_the_bundled_sample(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SAGEPRED_DATA_DIR", str(tmp_path / "no-data-here"))
    monkeypatch.setenv("SAGEPRED_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr("sagepred.training.data.download_verified", _offline)
    code = main(
        [
            "train",
            "--model",
            "llama-3-8b",
            "--epochs",
            "3",
            "--output",
            str(tmp_path / "ckpt"),
            "--no-mlflow",
            "--json",
            str(tmp_path / "s.json"),
        ]
    )
    assert code == 0
    assert "bundled with sagepred" in capsys.readouterr().err
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["data"]["kind"] == "bundled" and summary["data"]["train_records"] >= 300


def _offline(*args, **kwargs):
    raise OSError("network unreachable")


def _bad(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bad.jsonl"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            '{"prompt": "hi", "output_len": 5}\n{"prompt": "x", "output_len": 3\n',
            "bad.jsonl:2: malformed JSON",
        ),
        ('{"prompt": "hi"}\n', "bad.jsonl:1: field 'output_len'"),
        ('{"prompt": "  ", "output_len": 4}\n', "bad.jsonl:1: field 'prompt': the prompt is empty"),
        (
            '{"prompt": "hi", "output_len": 0}\n',
            "bad.jsonl:1: field 'output_len': expected a positive length",
        ),
        ("", "bad.jsonl: no records"),
    ],
)
def test_bad_training_data_is_one_line_exit_2_and_writes_nothing(tmp_path, capsys, content, expected):
    data = _bad(tmp_path, content)
    code = main(
        [
            "train",
            "--model",
            "llama-3-8b",
            "--data",
            str(data),
            "--output",
            str(tmp_path / "out"),
            "--no-mlflow",
        ]
    )
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert expected in err and len(err.splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_unknown_target_and_missing_tokenizer_are_clear(tmp_path, capsys, data_dir, monkeypatch):
    assert main(["train", "--model", "llama-9-8b", "--no-mlflow"]) == 2
    assert "unknown target model 'llama-9-8b'" in capsys.readouterr().err
    monkeypatch.setenv("SAGEPRED_TOKENIZERS_DIR", str(tmp_path / "no-tokenizers"))
    outputs = tmp_path / "Meta-Llama-3-8B-Instruct.json"
    shutil.copy(data_dir / "alpaca_eval/model_outputs/Meta-Llama-3-8B-Instruct.json", outputs)
    assert (
        main(
            [
                "train",
                "--model",
                "llama-3-8b",
                "--data",
                str(outputs),
                "--no-mlflow",
                "--output",
                str(tmp_path / "out"),
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert "tokenizer" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_predict_rejects_bad_prompt_files(tmp_path, capsys, trained):
    data = _bad(tmp_path, '{"id": 1}\n')
    code = main(
        [
            "predict",
            "--checkpoint",
            str(trained / "ckpt"),
            "--input",
            str(data),
            "--output",
            str(tmp_path / "p.jsonl"),
        ]
    )
    assert code == 2 and "bad.jsonl:1: field 'prompt': missing" in capsys.readouterr().err
    assert not (tmp_path / "p.jsonl").exists()
    code = main(
        [
            "predict",
            "--checkpoint",
            str(tmp_path),
            "--input",
            str(data),
            "--output",
            str(tmp_path / "p.jsonl"),
        ]
    )
    assert code == 2


def test_held_out_records_are_rebuilt_from_the_checkpoint(trained):
    from sagepred.predictor import LengthPredictor
    from sagepred.training.data import held_out_records

    predictor = LengthPredictor.from_pretrained(trained / "ckpt")
    held = held_out_records(predictor.config.data)
    assert len(held) == predictor.config.data["eval_records"]
    from sagepred.metrics import compute_metrics

    again = compute_metrics(predictor.predict([r.prompt_text for r in held]), held)
    assert again["crps"] == pytest.approx(predictor.config.metrics["crps"], rel=1e-6)


def test_same_seed_gives_the_same_checkpoint_and_another_seed_does_not(tmp_path):
    def train(name: str, seed: int) -> dict[str, np.ndarray]:
        from safetensors.numpy import load_file

        args = ["train", "--model", "llama-3-8b", "--epochs", "2", "--seed", str(seed), "--no-mlflow"]
        assert main([*args, "--output", str(tmp_path / name)]) == 0
        return load_file(str(tmp_path / name / "model.safetensors"))

    first, again, other = train("a", 0), train("b", 0), train("c", 1)
    assert first.keys() == again.keys()
    assert all(np.array_equal(first[k], again[k]) for k in first)
    assert any(not np.array_equal(first[k], other[k]) for k in first)


def test_split_override_records_the_protocol_it_used(tmp_path, data_dir):
    args = ["train", "--model", "llama-3.1-8b", "--train-split", "train", "--eval-split", "validate"]
    one_layer = "sentence-transformers/all-MiniLM-L6-v2?layers=1&quant=int8"  # the protocol, not the encoder, is tested
    assert (
        main(
            [
                *args,
                "--epochs",
                "1",
                "--encoder",
                one_layer,
                "--no-mlflow",
                "--output",
                str(tmp_path / "ckpt"),
            ]
        )
        == 0
    )
    card = (tmp_path / "ckpt" / "README.md").read_text()
    assert "trained on the source's `train` split, evaluated on its `validate` split" in card
    assert "pooled" not in card
    config = json.loads((tmp_path / "ckpt" / "config.json").read_text())
    records = load_records(str(data_dir / "castillo"), model=config["target_model"])
    assert config["data"]["eval_records"] == sum(r.split == "validate" for r in records)


@pytest.mark.parametrize(
    ("splits", "expected"),
    [
        (["--train-split", "train"], "only --train-split was named"),
        (["--eval-split", "validate"], "only --eval-split was named"),
        (["--train-split", "train", "--eval-split", "nosuch"], "the records have: train, validate"),
        (["--train-split", "nosuch", "--eval-split", "validate"], "no records in split 'nosuch'"),
    ],
    ids=["train-only", "eval-only", "unknown-eval", "unknown-train"],
)
def test_a_split_that_cannot_be_used_is_one_line_not_a_silent_random_hold_out(
    tmp_path, capsys, splits, expected
):
    rows = [
        {
            "prompt": f"Question {i} about topic {i % 7}?",
            "output_len": 10 + i,
            "split": "train" if i % 4 else "validate",
        }
        for i in range(40)
    ]
    data = tmp_path / "splits.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    argv = [
        "train",
        "--model",
        "llama-3-8b",
        "--data",
        str(data),
        "--no-mlflow",
        "--output",
        str(tmp_path / "out"),
    ]
    assert main([*argv, *splits]) == 2
    err = capsys.readouterr().err.strip()
    assert expected in err and len(err.splitlines()) == 1, err
    assert not (tmp_path / "out").exists()
    bare = tmp_path / "bare.jsonl"
    bare.write_text("".join(json.dumps({k: v for k, v in r.items() if k != "split"}) + "\n" for r in rows))
    both = ["--train-split", "train", "--eval-split", "validate"]
    out = ["--output", str(tmp_path / "out")]
    assert main(["train", "--model", "llama-3-8b", "--data", str(bare), "--no-mlflow", *both, *out]) == 2
    assert "the records carry no split" in capsys.readouterr().err


def test_members_without_the_pooled_model_is_one_line(tmp_path, capsys):
    argv = [
        "train",
        "--model",
        "llama-3-8b",
        "--members",
        "3",
        "--no-mlflow",
        "--output",
        str(tmp_path / "o"),
    ]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "--members" in err and "--model all" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "o").exists()
