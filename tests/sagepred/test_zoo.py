"""The model zoo: packaged checkpoints and cards, list/pull against a local mirror, checksums, names, push."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml

from sagepred import zoo
from sagepred.cli import main
from sagepred.encoders import POOLED_ENCODER
from sagepred.errors import CheckpointError, InputError
from sagepred.io import sha256_file
from sagepred.training.recipes import list_recipes

REPO_ROOT = Path(__file__).resolve().parents[2]
CARDS = REPO_ROOT / "cards"
MIRRORED = ["llama-3-8b", "llama-3.1-8b", "mistral-7b-v0.3", "mistral-7b-v0.3-alpacaeval"]


@pytest.fixture(scope="module")
def index() -> dict:
    return zoo.load_index(zoo.resolve_source("packaged"))


@pytest.fixture
def mirror(tmp_path, monkeypatch, index) -> Path:
    """A local mirror with a few checkpoints (copied from the packaged zoo) and a private cache."""
    folder = tmp_path / "mirror"
    folder.mkdir()
    for name in MIRRORED:
        shutil.copytree(zoo.PACKAGED_ZOO / name, folder / name)
    subset = {**index, "checkpoints": [e for e in index["checkpoints"] if e["name"] in MIRRORED]}
    (folder / zoo.INDEX_NAME).write_text(json.dumps(subset))
    monkeypatch.setenv("SAGEPRED_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv(zoo.SOURCE_ENV, raising=False)
    return folder


def _front_matter(card: str) -> dict:
    return yaml.safe_load(card.split("---\n")[1])


def test_every_recipe_has_a_packaged_checkpoint_and_a_generated_card(index):
    names = {e["name"] for e in index["checkpoints"]}
    assert names == {r.name for r in list_recipes()}
    assert json.loads((CARDS / zoo.INDEX_NAME).read_text()) == index
    assert index["total_bytes"] < 75e6  # 47 heads reading 2,304 numbers, float16
    for entry in index["checkpoints"]:
        folder = zoo.PACKAGED_ZOO / entry["name"]
        assert sorted(f["path"] for f in entry["files"]) == sorted(p.name for p in folder.iterdir())
        for spec in entry["files"]:
            assert sha256_file(folder / spec["path"]) == spec["sha256"]
        card = (CARDS / f"{entry['name']}.md").read_text()
        assert card == (folder / "README.md").read_text()
        front = _front_matter(card)
        values = {m["type"]: m["value"] for m in front["model-index"][0]["results"][0]["metrics"]}
        assert values["crps"] == pytest.approx(entry["metrics"]["crps"], abs=1e-4)
        assert (
            front["license"] == entry["licence"]
            and "Evaluation protocol" in card
            and "right-censored" in card
        )


def test_castillo_cards_say_which_protocol_was_used(index):
    castillo = [e for e in index["checkpoints"] if e["data_source"] == "castillo"]
    assert len(castillo) == 13
    for entry in castillo:
        card = (CARDS / f"{entry['name']}.md").read_text()
        assert "Both CASTILLO splits pooled" in card and "15000 tokens" in card
        assert entry["metrics"]["crps"] < entry["baseline_global"]["crps"]


def test_list_json_and_table_from_a_mirror(mirror, capsys):
    assert main(["zoo", "list", "--source", str(mirror), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in rows] == sorted(MIRRORED)
    assert all(r["encoder"] == POOLED_ENCODER and r["crps"] > 0 for r in rows)
    assert main(["zoo", "list", "--source", str(mirror)]) == 0
    table = capsys.readouterr().out
    assert "mistral-7b-v0.3-alpacaeval" in table and "CRPS" in table and "MB" in table


def test_pull_verifies_caches_and_copies(mirror, tmp_path, capsys):
    assert (
        main(["zoo", "pull", "llama-3.1-8b", "--source", str(mirror), "--output", str(tmp_path / "out")]) == 0
    )
    cached = zoo.cache_dir() / "llama-3.1-8b"
    for folder in (cached, tmp_path / "out"):
        assert sorted(p.name for p in folder.iterdir()) == [
            "README.md",
            "calibration.json",
            "config.json",
            "model.safetensors",
            "train_prompts.safetensors",
        ]
        assert (folder / "model.safetensors").read_bytes() == (
            mirror / "llama-3.1-8b" / "model.safetensors"
        ).read_bytes()
    stamp = (cached / "config.json").stat().st_mtime_ns
    assert zoo.pull("meta-llama/Llama-3.1-8B-Instruct", str(mirror)) == cached
    assert (cached / "config.json").stat().st_mtime_ns == stamp  # reused, not copied again
    (cached / "model.safetensors").write_bytes(b"corrupt")
    zoo.pull("llama-3.1-8b", str(mirror))
    assert sha256_file(cached / "model.safetensors") == sha256_file(
        mirror / "llama-3.1-8b" / "model.safetensors"
    )


def test_sha256_mismatch_is_one_clear_line_and_leaves_nothing(mirror, capsys):
    weights = mirror / "llama-3-8b" / "model.safetensors"
    payload = bytearray(weights.read_bytes())
    payload[-1] ^= 0xFF
    weights.write_bytes(bytes(payload))
    assert main(["zoo", "pull", "llama-3-8b", "--source", str(mirror)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "sha256 mismatch" in err and "nothing was written" in err
    assert not zoo.cache_dir().exists() or list(zoo.cache_dir().iterdir()) == []


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("llama-3.1-8b", "llama-3.1-8b"),
        ("meta-llama/Llama-3.1-8B-Instruct", "llama-3.1-8b"),
        ("LLAMA3.1-8B", "llama-3.1-8b"),
        ("Meta-Llama-3.1-8B-Instruct-Turbo", "llama-3.1-8b-turbo"),
        ("google--gemma-3-12b-it", "gemma-3-12b"),
        ("gpt4", "gpt-4"),
        ("Qwen/Qwen2.5-32B-Instruct", "qwen2.5-32b"),
    ],
)
def test_aliases_resolve(index, name, expected):
    assert zoo.resolve_entry(index, name)["name"] == expected


def test_ambiguous_and_unknown_names_list_close_matches(index, capsys):
    # The exact target model id of one target wins; a hub id both targets list as an alias is ambiguous.
    assert zoo.resolve_entry(index, "Mistral-7B-Instruct-v0.3")["name"] == "mistral-7b-v0.3-alpacaeval"
    with pytest.raises(InputError, match=r"ambiguous.*mistral-7b-v0.3, mistral-7b-v0.3-alpacaeval"):
        zoo.resolve_entry(index, "mistralai/Mistral-7B-Instruct-v0.3")
    with pytest.raises(InputError, match=r"did you mean.*llama-3.1-8b"):
        zoo.resolve_entry(index, "llama-3.1-8bb")
    assert main(["zoo", "pull", "qwen3-32b"]) == 2
    err = capsys.readouterr().err
    assert "no zoo checkpoint for 'qwen3-32b'" in err and "did you mean" in err


class FakeHub:
    """Records what ``push`` asks of the Hub API; optionally fails like an offline client."""

    def __init__(self, fail: bool = False) -> None:
        self.calls: list[tuple[str, dict]] = []
        self.fail = fail

    def create_repo(self, repo_id, **kwargs):
        if self.fail:
            raise ConnectionError("offline: cannot reach huggingface.co")
        self.calls.append(("create_repo", {"repo_id": repo_id, **kwargs}))
        return f"https://huggingface.co/{repo_id}"

    def upload_folder(self, **kwargs):
        self.calls.append(("upload_folder", kwargs))


def test_push_uploads_the_checkpoint_layout_and_reports_failures(tmp_path):
    folder = zoo.PACKAGED_ZOO / "llama-3-8b"
    hub = FakeHub()
    assert (
        zoo.push(folder, "me/sagepred-llama-3-8b", api=hub) == "https://huggingface.co/me/sagepred-llama-3-8b"
    )
    (_, create), (_, upload) = hub.calls
    assert (
        create["exist_ok"]
        and upload["folder_path"] == str(folder)
        and "README.md" in upload["allow_patterns"]
    )
    with pytest.raises(CheckpointError, match=r"push to me/x failed .*ConnectionError"):
        zoo.push(folder, "me/x", api=FakeHub(fail=True))
    with pytest.raises(CheckpointError, match="not a sagepred checkpoint"):
        zoo.push(tmp_path, "me/x", api=FakeHub())
    with pytest.raises(InputError, match="NAMESPACE/NAME"):
        zoo.push(folder, "no-namespace", api=FakeHub())


def test_push_cli_without_network_exits_2(monkeypatch, capsys):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_TOKEN", "hf_fake")
    assert main(["zoo", "push", str(zoo.PACKAGED_ZOO / "llama-3-8b"), "--repo", "me/sagepred-test"]) == 2
    assert "push to me/sagepred-test failed" in capsys.readouterr().err


def test_predict_with_model_uses_the_zoo_checkpoint(mirror, tmp_path, monkeypatch):
    monkeypatch.setenv(zoo.SOURCE_ENV, str(mirror))
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text(
        '{"id": "a", "prompt": "Write a haiku about autumn."}\n'
        '{"id": "b", "prompt": "Write a detailed essay on the history of the Roman Empire."}\n'
    )
    out_zoo, out_dir = tmp_path / "zoo.jsonl", tmp_path / "dir.jsonl"
    assert (
        main(
            [
                "predict",
                "--model",
                "meta-llama/Llama-3.1-8B-Instruct",
                "--input",
                str(prompts),
                "--output",
                str(out_zoo),
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "predict",
                "--checkpoint",
                str(mirror / "llama-3.1-8b"),
                "--input",
                str(prompts),
                "--output",
                str(out_dir),
            ]
        )
        == 0
    )
    rows = [json.loads(line) for line in out_zoo.read_text().splitlines()]
    assert rows == [json.loads(line) for line in out_dir.read_text().splitlines()]
    assert all(np.all(np.diff(r["quantiles"]) >= 0) and len(r["quantiles"]) == 99 for r in rows)
    assert rows[1]["mean"] > rows[0]["mean"]


def test_predict_needs_a_checkpoint_or_a_model(tmp_path, capsys):
    prompts = tmp_path / "p.jsonl"
    prompts.write_text('{"prompt": "hi"}\n')
    assert main(["predict", "--input", str(prompts), "--output", str(tmp_path / "o.jsonl")]) == 2
    assert "--model TARGET" in capsys.readouterr().err


def test_card_numbers_reproduce_from_a_clean_pull(mirror, tmp_path, capsys):
    folder = zoo.pull("llama-3-8b", str(mirror), output=tmp_path / "clean")
    front = _front_matter((folder / "README.md").read_text())
    card = {m["type"]: m["value"] for m in front["model-index"][0]["results"][0]["metrics"]}
    assert (
        main(
            [
                "eval",
                "--checkpoint",
                str(folder),
                "--data",
                "holdout",
                "--output",
                str(tmp_path / "report"),
                "--no-mlflow",
                "--json",
            ]
        )
        == 0
    )
    measured = json.loads(capsys.readouterr().out)
    assert measured["n_prompts"] == json.loads((folder / "config.json").read_text())["data"]["eval_records"]
    for key in ("crps", "kendall_tau", "coverage_80", "mae_median"):
        assert measured[key] == pytest.approx(card[key], rel=1e-3, abs=1e-3), key


def test_hub_source_without_network_fails_clearly_and_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("SAGEPRED_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    with pytest.raises(CheckpointError, match=r"sagepred/sagepred-llama-3-8b/.*Hub download failed"):
        zoo.pull("llama-3-8b", "hf")
    assert not (tmp_path / "cache" / "zoo" / "llama-3-8b").exists()
    with pytest.raises(InputError, match="zoo source not found"):
        zoo.resolve_source(str(tmp_path / "missing"))


def test_pulls_of_one_checkpoint_at_once_take_turns_and_fetch_it_once(mirror, monkeypatch):
    import threading
    import time

    fetched: list[str] = []
    fetch = zoo._fetch

    def slow_fetch(source, entry, filename, into):
        fetched.append(filename)
        time.sleep(0.05)
        fetch(source, entry, filename, into)

    monkeypatch.setattr(zoo, "_fetch", slow_fetch)
    folders: list[Path] = []
    pulls = [
        threading.Thread(target=lambda: folders.append(zoo.pull("llama-3.1-8b", str(mirror))))
        for _ in range(3)
    ]
    for pull in pulls:
        pull.start()
    for pull in pulls:
        pull.join()
    files = len(zoo.resolve_entry(zoo.load_index(zoo.resolve_source(str(mirror))), "llama-3.1-8b")["files"])
    assert len(folders) == 3 and len(set(folders)) == 1
    assert len(fetched) == files  # one pull fetched; the others waited and found it verified
    assert sorted(p.name for p in folders[0].parent.iterdir()) == ["llama-3.1-8b"]  # no temp or backup left
