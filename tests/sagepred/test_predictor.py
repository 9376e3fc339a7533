"""Predictor checkpoints: safetensors + JSON round trips (frozen and LoRA), clear errors on bad folders."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from sagepred.errors import CheckpointError
from sagepred.heads import HeadConfig
from sagepred.predictor import LengthPredictor, LoraSettings, PredictorConfig

PROMPTS = [
    "Write a Python function that checks whether a number is prime.",
    "What is the capital of France?",
    "Write a 1000-word essay on the history of the Roman empire.",
]


@pytest.fixture(scope="module")
def encoder():
    from sagepred.encoders import TextEncoder

    return TextEncoder()


def randomise(predictor: LengthPredictor) -> None:
    torch.manual_seed(1)
    with torch.no_grad():
        for param in predictor.head.parameters():
            param.normal_(0, 0.3)


@pytest.mark.parametrize("kind", ["histogram", "quantile"])
def test_save_and_load_reproduce_predictions(tmp_path, encoder, kind):
    predictor = LengthPredictor(
        PredictorConfig(target_model="demo", head=HeadConfig(kind=kind)), encoder=encoder
    )
    randomise(predictor)
    before = predictor.predict(PROMPTS)
    folder = predictor.save_pretrained(tmp_path / "ckpt")
    assert sorted(p.name for p in folder.iterdir()) == ["README.md", "config.json", "model.safetensors"]
    assert not list(tmp_path.glob(".ckpt*")), "temp folders must not be left behind"
    loaded = LengthPredictor.from_pretrained(folder, encoder=encoder)
    after = loaded.predict(PROMPTS)
    np.testing.assert_allclose(
        after.quantile(np.array([[0.1, 0.5, 0.9]])), before.quantile(np.array([[0.1, 0.5, 0.9]]))
    )
    card = (folder / "README.md").read_text()
    assert card.startswith("---\n") and "model-index" in card and "demo" in card


def test_lora_adapter_round_trip(tmp_path):
    config = PredictorConfig(
        target_model="demo", head=HeadConfig(kind="histogram"), lora=LoraSettings(r=4, alpha=8)
    )
    predictor = LengthPredictor(config)
    randomise(predictor)
    with torch.no_grad():
        for name, param in predictor.encoder.model.named_parameters():
            if "lora_B" in name:
                param.normal_(0, 0.2)  # make the adapter change the embeddings
    before = predictor.predict(PROMPTS)
    folder = predictor.save_pretrained(tmp_path / "lora")
    names = {p.name for p in folder.iterdir()}
    assert {"adapter_config.json", "adapter_model.safetensors"} <= names
    adapter_config = json.loads((folder / "adapter_config.json").read_text())
    assert adapter_config["base_model_name_or_path"] == config.encoder  # a name, never a local path
    loaded = LengthPredictor.from_pretrained(folder)
    np.testing.assert_allclose(loaded.predict(PROMPTS).mean(), before.mean(), rtol=1e-5)
    plain = LengthPredictor(PredictorConfig(target_model="demo"))
    plain.head.load_state_dict(predictor.head.state_dict())
    assert not np.allclose(plain.predict(PROMPTS).mean(), before.mean(), rtol=1e-4), "the adapter must matter"


def test_bad_checkpoints_fail_with_checkpoint_error(tmp_path, encoder):
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        LengthPredictor.from_pretrained(tmp_path / "missing")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(CheckpointError, match=r"missing config\.json"):
        LengthPredictor.from_pretrained(empty)
    predictor = LengthPredictor(PredictorConfig(target_model="demo"), encoder=encoder)
    folder = predictor.save_pretrained(tmp_path / "ok")
    config = json.loads((folder / "config.json").read_text())
    config["format_version"] = 99
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="format version 99"):
        LengthPredictor.from_pretrained(folder)
    config["format_version"] = 1
    config["head"]["num_bins"] = 10
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="do not match"):
        LengthPredictor.from_pretrained(folder, encoder=encoder)
    (folder / "config.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="malformed JSON"):
        LengthPredictor.from_pretrained(folder)


def test_failed_save_leaves_previous_checkpoint_intact(tmp_path, encoder, monkeypatch):
    predictor = LengthPredictor(PredictorConfig(target_model="demo"), encoder=encoder)
    folder = predictor.save_pretrained(tmp_path / "ckpt")
    original = (folder / "model.safetensors").read_bytes()

    def explode(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr("sagepred.model_card.render_model_card", explode)
    with pytest.raises(RuntimeError):
        predictor.save_pretrained(folder)
    assert (folder / "model.safetensors").read_bytes() == original
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt"]


def test_loaded_encoder_stays_in_eval_mode(encoder):
    fresh = LengthPredictor(PredictorConfig(target_model="demo"))
    first = fresh.predict(PROMPTS).mean()
    assert not fresh.encoder.training and not fresh.encoder.model.training
    np.testing.assert_allclose(fresh.predict(PROMPTS).mean(), first)
    assert not fresh.encoder.model.training, "encode must not leave dropout on"


def test_instruction_adjustment_moves_only_prompts_that_ask_for_a_length(tmp_path, encoder):
    """A checkpoint with ``instructions`` moves "in one word" down and "a 2,000-word essay" up; a prompt
    with no length request, and predictions from features without prompts, are the head alone."""
    from sagepred.instruction_adjust import InstructionSettings

    config = PredictorConfig(
        target_model="demo", instructions=InstructionSettings(weight=0.9), tokenizer="llama3"
    )
    predictor = LengthPredictor(config, encoder=encoder)
    randomise(predictor)
    prompts = [
        "In one word, what is the capital of France?",
        "What is the capital of France?",
        "Write a comprehensive 2,000-word essay on the capital of France.",
    ]
    adjusted = predictor.predict(prompts)
    head_only = predictor.predict_from_features(*predictor.features(prompts))
    median, plain = adjusted.quantile(0.5), head_only.quantile(0.5)
    assert median[0] < 0.5 * plain[0] and median[0] < 10
    assert median[1] == pytest.approx(plain[1])
    assert median[2] > 2 * plain[2] and median[2] > 1000
    loaded = LengthPredictor.from_pretrained(predictor.save_pretrained(tmp_path / "ckpt"), encoder=encoder)
    assert loaded.config.instructions == config.instructions and loaded.config.tokenizer == "llama3"
    np.testing.assert_allclose(loaded.predict(prompts).quantile(0.5), median, rtol=1e-6)
    payload = json.loads((tmp_path / "ckpt" / "config.json").read_text())
    payload["head"]["kind"] = "quantile"
    with pytest.raises(CheckpointError, match="histogram head"):
        PredictorConfig.from_dict(payload)
