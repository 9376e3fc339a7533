"""Recipes resolve by name and alias; unknown names list close matches; downloads are checksum-verified."""

from __future__ import annotations

import hashlib

import pytest

from sagepred.errors import InputError
from sagepred.training.data import download_verified
from sagepred.training.recipes import list_recipes, load_recipe


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
