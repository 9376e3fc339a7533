"""Recipes resolve by name and alias; unknown names list close matches; downloads are checksum-verified."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from sagepred.cli import main
from sagepred.errors import InputError
from sagepred.heads import HeadConfig
from sagepred.training.data import download_verified
from sagepred.training.recipes import PredictorSection, list_recipes, load_recipe
from sagepred.training.trainer import TrainingConfig


def test_required_recipes_exist_and_parse():
    names = {r.name for r in list_recipes()}
    assert {"llama-3-8b", "llama-3.1-8b"} <= names
    for recipe in list_recipes():
        assert recipe.target_model and recipe.data.source and recipe.data.licence != "unknown"


@pytest.mark.parametrize(
    ("name", "recipe"),
    [
        ("llama-3-8b", "llama-3-8b"),
        ("Meta-Llama-3-8B-Instruct", "llama-3-8b"),
        ("meta-llama/Llama-3.1-8B-Instruct", "llama-3.1-8b"),
        ("LLAMA-3.1-8B", "llama-3.1-8b"),
    ],
)
def test_names_and_aliases_resolve(name, recipe):
    assert load_recipe(name).name == recipe


def test_unknown_target_lists_close_matches():
    with pytest.raises(InputError, match=r"unknown target model 'llama-3-8bb'.*did you mean.*llama-3-8b"):
        load_recipe("llama-3-8bb")


def test_recipe_sources_exist_in_the_shared_data(data_dir):
    for recipe in list_recipes():
        assert (data_dir / recipe.resolved_source(data_dir).split(str(data_dir) + "/", 1)[1]).exists()


def test_download_is_verified_and_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("SAGEPRED_CACHE_DIR", str(tmp_path / "cache"))
    source = tmp_path / "outputs.json"
    source.write_text('[{"instruction": "hi", "output": "hello"}]')
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    path = download_verified(source.as_uri(), digest, "demo.json")
    assert path.read_bytes() == source.read_bytes()
    with pytest.raises(InputError, match="checksum mismatch"):
        download_verified(source.as_uri(), "0" * 64, "other.json")
    assert not (tmp_path / "cache" / "downloads" / "other.json").exists()


def test_every_shipped_recipe_loads_with_typed_sections():
    recipes = list_recipes()
    assert len(recipes) == 47
    for recipe in recipes:
        assert isinstance(recipe.predictor, PredictorSection) and isinstance(
            recipe.predictor.head, HeadConfig
        )
        assert isinstance(recipe.training, TrainingConfig) and recipe.training.epochs >= 1
    assert load_recipe("llama-3.1-8b").training.lora_epochs == 3


def _recipe_with(tmp_path, old: str, new: str):
    text = (REPO_RECIPES / "llama-3.1-8b.yaml").read_text()
    assert old in text
    path = tmp_path / "typo.yaml"
    path.write_text(text.replace(old, new))
    return path


REPO_RECIPES = Path(__file__).resolve().parents[2] / "training" / "recipes"


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("  epochs: 150", "  epoch: 150", r"field 'training.epoch': unknown key \(did you mean 'epochs'\?"),
        (
            "    kind: histogram",
            "    knd: histogram",
            r"field 'predictor.head.knd': unknown key \(did you mean 'kind'",
        ),
        (
            "  encoder_max_length: 256",
            "  encoder_max_len: 256",
            r"'predictor.encoder_max_len'.*'encoder_max_length'",
        ),
        ("  epochs: 150", "  epochs: many", r"field 'training.epochs': expected int, got 'many'"),
        ("  lora_epochs: 3", "  lora_epochs: 3\n  seed: 4", r"field 'training.seed': not a recipe setting"),
        ("  eval_fraction: 0.2", "  eval_frac: 0.2", r"field 'data.eval_frac'.*'eval_fraction'"),
    ],
)
def test_unknown_or_mistyped_recipe_keys_are_one_line_errors(tmp_path, old, new, expected):
    path = _recipe_with(tmp_path, old, new)
    with pytest.raises(InputError, match=expected) as err:
        load_recipe(str(path))
    assert err.value.path == str(path) and err.value.line is not None


def test_train_with_a_recipe_typo_exits_2_naming_file_line_and_key(tmp_path, capsys):
    path = _recipe_with(tmp_path, "  epochs: 150", "  epoch: 150")
    assert main(["train", "--model", str(path), "--no-mlflow", "--output", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    line = next(i for i, text in enumerate(path.read_text().splitlines(), 1) if text.startswith("  epoch:"))
    assert (
        len(err.splitlines()) == 1 and f"{path}:{line}: field 'training.epoch'" in err and "'epochs'" in err
    )


def test_malformed_recipe_yaml_names_the_file_and_line(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("name: broken\ntarget_model: x\npredictor:\n  head: [unclosed\n")
    with pytest.raises(InputError) as err:
        load_recipe(str(path))
    message = str(err.value)
    assert "malformed YAML" in message and "broken.yaml" in message and "\n" not in message
    assert err.value.line is not None and err.value.line > 1
