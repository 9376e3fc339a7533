"""Contamination guard: a checkpoint trained here on real data records its prompts; eval/compare warn and exclude."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sagepred.contamination import (
    TRAIN_PROMPTS_NAME,
    load_hashes,
    normalise_prompt,
    overlap_mask,
    prompt_digest,
    prompt_hashes,
)


def test_normalisation_ignores_case_spacing_and_unicode_forms():
    assert normalise_prompt("  Hello\n\tWORLD  ") == normalise_prompt("hello world")
    assert prompt_digest("Ｈｅｌｌｏ world") == prompt_digest("hello   world")
    assert prompt_digest("hello world") != prompt_digest("hello world!")
    hashes = prompt_hashes(["a", "A ", "b"])
    assert hashes.shape == (2, 16) and hashes.dtype == np.uint8
    assert overlap_mask(["B", "c"], hashes).tolist() == [True, False]


@pytest.fixture(scope="module")
def trained(tmp_path_factory, data_dir):
    """A real checkpoint trained on 160 CASTILLO prompts; 100 other prompts were never seen."""
    from sagepred.importers import load_records
    from sagepred.predictor import LengthPredictor, PredictorConfig
    from sagepred.records import write_jsonl_records
    from sagepred.training.trainer import Trainer, TrainingConfig

    records = load_records(
        str(data_dir / "castillo"), model="meta-llama--Llama-3.2-1B-Instruct", split="validate"
    )
    train, unseen = records[:160], records[160:260]
    predictor = LengthPredictor(PredictorConfig(target_model="meta-llama--Llama-3.2-1B-Instruct"))
    Trainer(predictor, TrainingConfig(epochs=5, seed=0), progress=False).fit(train)
    root = tmp_path_factory.mktemp("contamination")
    folder = predictor.save_pretrained(root / "ckpt")
    eval_path = root / "eval.jsonl"
    write_jsonl_records(train[:40] + unseen, eval_path)  # 40 of 140 evaluation prompts were trained on
    return folder, eval_path, train, unseen


def test_checkpoint_records_hashes_of_its_training_prompts_only(trained):
    folder, _, train, unseen = trained
    hashes = load_hashes(folder)
    assert hashes is not None and len(hashes) == len({normalise_prompt(r.prompt_text) for r in train})
    assert overlap_mask([r.prompt_text for r in train], hashes).all()
    assert not overlap_mask([r.prompt_text for r in unseen], hashes).any()
    assert TRAIN_PROMPTS_NAME in json.loads((folder / "config.json").read_text())["files"]
    raw = (folder / TRAIN_PROMPTS_NAME).read_bytes()
    assert train[0].prompt_text[:40].encode() not in raw  # hashes, never the prompts


def test_eval_warns_and_excludes_the_overlap(trained, tmp_path, capsys):
    from sagepred.cli import main

    folder, eval_path, _, _ = trained
    common = ["eval", "--checkpoint", str(folder), "--data", str(eval_path), "--no-mlflow", "--json"]
    assert main([*common, "--output", str(tmp_path / "a")]) == 0
    captured = capsys.readouterr()
    warning = [line for line in captured.err.splitlines() if "training data" in line]
    assert len(warning) == 1 and "40 of 140 evaluation prompts" in warning[0]
    assert "--exclude-train-overlap" in warning[0]
    assert json.loads(captured.out)["n_prompts"] == 140
    assert main([*common, "--output", str(tmp_path / "b"), "--exclude-train-overlap"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["n_prompts"] == 100
    assert "excluded" in captured.err


def test_compare_warns_per_checkpoint_and_notes_old_checkpoints_once(trained, tmp_path, capsys):
    from sagepred.cli import main

    folder, eval_path, _, _ = trained
    old = tmp_path / "old"
    import shutil

    shutil.copytree(folder, old)
    (old / TRAIN_PROMPTS_NAME).unlink()
    config = json.loads((old / "config.json").read_text())
    del config["files"][TRAIN_PROMPTS_NAME]
    (old / "config.json").write_text(json.dumps(config))
    out = tmp_path / "cmp.json"
    code = main(
        [
            "compare",
            str(folder),
            str(old),
            "--data",
            str(eval_path),
            "--json",
            str(out),
            "--exclude-train-overlap",
        ]
    )
    assert code == 0
    err = capsys.readouterr().err
    assert err.count("no training-prompt record") == 1
    assert err.count("40 of 140 evaluation prompts") == 1
    results = json.loads(out.read_text())["results"]
    assert all(r["n_prompts"] == 100 for r in results)


def test_every_prompt_overlapping_is_a_one_line_error(trained, tmp_path, capsys):
    from sagepred.cli import main
    from sagepred.records import write_jsonl_records

    folder, _, train, _ = trained
    path = tmp_path / "all.jsonl"
    write_jsonl_records(train[:10], path)
    code = main(
        [
            "eval",
            "--checkpoint",
            str(folder),
            "--data",
            str(path),
            "--no-mlflow",
            "--output",
            str(tmp_path / "o"),
            "--exclude-train-overlap",
        ]
    )
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert any("every evaluation prompt" in line for line in err) and "Traceback" not in "\n".join(err)
