"""One target registry: the matcher's tiers and errors, and every command resolving --model through it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sagepred.cli import main
from sagepred.errors import InputError
from sagepred.records import LengthRecord, write_jsonl_records
from sagepred.targets import (
    AmbiguousTargetError,
    UnknownTargetError,
    data_model_name,
    list_targets,
    match_name,
    resolve_target,
    same_target,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
TWO_TARGETS = FIXTURES / "two_targets.jsonl"
LLAMA31 = "meta-llama--Llama-3.1-8B-Instruct"


def test_registry_joins_recipes_and_zoo():
    targets = {t.name: t for t in list_targets()}
    assert len(targets) == 47
    llama = targets["llama-3.1-8b"]
    assert (llama.target_model, llama.data_model, llama.tokenizer) == (LLAMA31, LLAMA31, "llama3")
    assert llama.recipe_path.endswith("llama-3.1-8b.yaml") and llama.zoo_checkpoint == "llama-3.1-8b"
    assert targets["gemma-3-4b"].tokenizer is None and "gemma3-4b" in targets["gemma-3-4b"].aliases
    assert targets["dbrx"].data_model == "dbrx-instruct" and targets["dbrx"].tokenizer == "cl100k"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("llama-3.1-8b", "llama-3.1-8b"),
        (LLAMA31, "llama-3.1-8b"),
        ("LLAMA-3.1-8B", "llama-3.1-8b"),
        ("meta-llama/Llama-3.1-8B-Instruct", "llama-3.1-8b"),
        ("Mistral-7B-Instruct-v0.3", "mistral-7b-v0.3-alpacaeval"),  # an exact target id beats an alias
        ("mistral-7b-instruct-v0.3", "mistral-7b-v0.3-alpacaeval"),  # case-insensitive beats alias too
    ],
)
def test_tiers(name, expected):
    assert resolve_target(name).name == expected


def test_matcher_tiers_on_plain_names():
    names = [("Alpha", ["a1"]), ("alpha", []), ("beta", ["shared"]), ("gamma", ["shared"])]

    def pick(query):
        return match_name(query, names, lambda c: (c[0],), lambda c: c[1], lambda c: c[0])[0]

    assert pick("Alpha") == "Alpha" and pick("alpha") == "alpha"  # exact wins over case-insensitive
    assert pick("a1") == "Alpha"
    with pytest.raises(AmbiguousTargetError, match="'ALPHA': it names Alpha, alpha"):
        pick("ALPHA")
    with pytest.raises(AmbiguousTargetError) as err:
        pick("SHARED")
    assert err.value.candidates == ["beta", "gamma"]


def test_ambiguous_and_unknown_errors():
    with pytest.raises(
        AmbiguousTargetError, match=r"it names mixtral-8x7b, mixtral-8x7b-alpacaeval; pick one"
    ):
        resolve_target("mistralai/Mixtral-8x7B-Instruct-v0.1")
    with pytest.raises(UnknownTargetError) as err:
        resolve_target("llama-3.1-8bb")
    assert err.value.field == "--model" and err.value.candidates[0] == "llama-3.1-8b"
    assert "did you mean llama-3.1-8b" in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(UnknownTargetError) as err:
        resolve_target("zzzzzz")
    assert err.value.candidates == [] and err.value.hint == ""


def test_data_names_and_same_target():
    assert data_model_name("llama-3-8b") == "Meta-Llama-3-8B-Instruct"
    assert data_model_name("toy") == "toy" and data_model_name(None) is None
    assert same_target("meta-llama/Llama-3.1-8B-Instruct", "llama3.1-8b")
    assert not same_target("llama-3.1-8b", "llama-3-8b") and same_target("toy", "TOY")


# ---------------------------------------------------------------------------- commands


@pytest.mark.parametrize("model", ["llama-3.1-8b", LLAMA31])
def test_simulate_with_an_alias_or_the_data_model_name(tmp_path, model):
    out = tmp_path / "sim.json"
    args = ["simulate", "--trace", "poisson", "--records", str(TWO_TARGETS), "--model", model]
    code = main(
        [*args, "--rate", "2", "--num-requests", "12", "--policies", "fcfs,gittins", "--json", str(out)]
    )
    assert code == 0
    doc = json.loads(out.read_text())
    assert doc["policies"]["gittins"]["completed"] == 12 and doc["settings"]["model"] == model


def test_simulate_castillo_with_the_recipe_name(tmp_path, data_dir):
    out = tmp_path / "sim.json"
    args = [
        "simulate",
        "--trace",
        "poisson",
        "--records",
        str(data_dir / "castillo"),
        "--model",
        "llama-3.1-8b",
    ]
    assert main([*args, "--split", "train", "--rate", "5", "--num-requests", "50", "--json", str(out)]) == 0
    assert json.loads(out.read_text())["policies"]["oracle"]["completed"] == 50


def _train_file(tmp_path: Path) -> Path:
    records = [
        LengthRecord(
            prompt=f"Training prompt number {i} about {topic}.",
            output_lens=(30 + 7 * i, 50 + 5 * i),
            prompt_len=9,
            target_model=model,
        )
        for i, (topic, model) in enumerate(
            [("rivers", LLAMA31), ("stars", "llama-3.1-8b"), ("bread", "Meta-Llama-3-8B-Instruct")] * 3
        )
    ]
    path = tmp_path / "train.jsonl"
    write_jsonl_records(records, path)
    return path


@pytest.mark.parametrize("model", ["llama-3.1-8b", "meta-llama/Llama-3.1-8B-Instruct", LLAMA31])
def test_eval_and_compare_with_an_alias_or_the_data_model_name(tmp_path, capsys, model):
    train = _train_file(tmp_path)
    common = ["--data", str(TWO_TARGETS), "--train-data", str(train), "--model", model]
    with pytest.warns(UserWarning, match="kept 3 of 6"):
        code = main(
            [
                "eval",
                "--checkpoint",
                "baseline:global",
                *common,
                "--output",
                str(tmp_path / "r"),
                "--no-mlflow",
                "--json",
            ]
        )
    assert code == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["n_prompts"] == 3 and doc["data"]["target"] == "llama-3.1-8b"
    assert doc["info"]["train_records"] == 6
    with pytest.warns(UserWarning, match="kept 3 of 6"):
        code = main(
            ["compare", "baseline:global", "baseline:length", *common, "--json", str(tmp_path / "c.json")]
        )
    assert code == 0
    results = json.loads((tmp_path / "c.json").read_text())["results"]
    assert [r["n_prompts"] for r in results] == [3, 3]


def test_eval_model_matching_no_record_is_one_line(tmp_path, capsys):
    code = main(
        [
            "eval",
            "--checkpoint",
            "baseline:global",
            "--data",
            str(TWO_TARGETS),
            "--model",
            "qwen2.5-32b",
            "--train-data",
            str(_train_file(tmp_path)),
            "--output",
            str(tmp_path / "r"),
            "--no-mlflow",
        ]
    )
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "no records of target model 'Qwen--Qwen2.5-32B-Instruct'" in err


@pytest.mark.parametrize("model", ["llama3.1-8b", LLAMA31])
def test_predict_with_an_alias_or_the_data_model_name(tmp_path, model):
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text(json.dumps({"id": "p", "prompt": "Write a limerick about a cat."}) + "\n")
    out = tmp_path / "preds.jsonl"
    assert main(["predict", "--model", model, "--input", str(prompts), "--output", str(out)]) == 0
    assert json.loads(out.read_text().splitlines()[0])["id"] == "p"


def test_unknown_target_in_any_command_names_close_matches(capsys):
    assert (
        main(
            [
                "simulate",
                "--trace",
                "poisson",
                "--records",
                str(TWO_TARGETS),
                "--model",
                "llama-3.1-8bx",
                "--rate",
                "1",
            ]
        )
        == 2
    )
    assert "no records of target model 'llama-3.1-8bx'" in capsys.readouterr().err
    assert main(["train", "--model", "llama-3.1-8bx", "--no-mlflow"]) == 2
    err = capsys.readouterr().err
    assert "unknown target model 'llama-3.1-8bx'; did you mean llama-3.1-8b" in err


# ---------------------------------------------------------------------------- serve and profile


def test_serve_takes_served_model_and_the_deprecated_model(capsys):
    pytest.importorskip("vllm")
    assert main(["serve", "--served-model", "m", "--dry-run"]) == 0
    captured = capsys.readouterr()
    assert " --model m " in captured.out and "deprecated" not in captured.err
    assert main(["serve", "--model", "m", "--dry-run"]) == 0
    captured = capsys.readouterr()
    assert " --model m " in captured.out
    assert captured.err.count("\n") == 1 and "--model is deprecated here" in captured.err
    assert "--served-model" in captured.err


def test_serve_and_profile_need_a_served_model(capsys, tmp_path):
    assert main(["serve", "--dry-run"]) == 2
    assert "field '--served-model': required" in capsys.readouterr().err
    assert main(["serve", "--model", "a", "--served-model", "b", "--dry-run"]) == 2
    assert "disagree" in capsys.readouterr().err
    out = tmp_path / "p.yaml"
    assert main(["profile", "--output", str(out)]) == 2
    assert "field '--served-model': required" in capsys.readouterr().err
    assert main(["profile", "--served-model", "tiny", "--output", str(out), "--batch-sizes", "0"]) == 2
    err = capsys.readouterr().err
    assert "batch-sizes" in err and "deprecated" not in err
    assert main(["profile", "--model", "tiny", "--output", str(out), "--decode-tokens", "1"]) == 2
    err = capsys.readouterr().err
    assert "--model is deprecated here" in err and "decode-tokens" in err and not out.exists()


def test_serve_help_names_served_model(capsys):
    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    text = capsys.readouterr().out
    assert "--served-model MODEL" in text and "DEPRECATED_MODEL" not in text


def test_input_error_type():
    assert issubclass(UnknownTargetError, InputError)
