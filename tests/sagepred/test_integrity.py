"""Checkpoint integrity: ``config.json`` records every weight file's sha256 and loading verifies it."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from sagepred.cli import main
from sagepred.errors import CheckpointError
from sagepred.io import sha256_file
from sagepred.predictor import LengthPredictor, LoraSettings, PredictorConfig
from sagepred.zoo import PACKAGED_ZOO

PROMPTS = ["Write a detailed essay on climate change.", "Say hi."]


@pytest.fixture(scope="module")
def encoder():
    from sagepred.encoders import TextEncoder

    return TextEncoder()


@pytest.fixture()
def checkpoint(tmp_path, encoder) -> Path:
    predictor = LengthPredictor(PredictorConfig(target_model="demo"), encoder=encoder)
    torch.manual_seed(3)
    with torch.no_grad():
        for param in predictor.head.parameters():
            param.normal_(0, 0.3)
    return predictor.save_pretrained(tmp_path / "ckpt")


def flip_past_header(path: Path, count: int = 1000) -> None:
    """XOR ``count`` bytes of the tensor data (after the 8-byte length and the JSON header)."""
    data = bytearray(path.read_bytes())
    start = 8 + struct.unpack("<Q", bytes(data[:8]))[0]
    assert len(data) - start > count + 100
    for i in range(start + 50, start + 50 + count):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))


def predict(checkpoint: Path, tmp_path: Path) -> tuple[int, Path]:
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text("".join(json.dumps({"prompt": p}) + "\n" for p in PROMPTS))
    out = tmp_path / "preds.jsonl"
    code = main(["predict", "--checkpoint", str(checkpoint), "--input", str(prompts), "--output", str(out)])
    return code, out


def test_config_records_the_sha256_of_the_weights_not_of_itself_or_the_card(checkpoint):
    files = json.loads((checkpoint / "config.json").read_text())["files"]
    assert files == {"model.safetensors": sha256_file(checkpoint / "model.safetensors")}


def test_unchanged_checkpoint_predicts_and_flipped_bytes_are_one_line_exit_2(checkpoint, tmp_path, capsys):
    code, out = predict(checkpoint, tmp_path)
    assert code == 0 and len(out.read_text().splitlines()) == len(PROMPTS)
    out.unlink()
    capsys.readouterr()
    # The header stays valid, so safetensors alone would load the garbage weights without a word.
    flip_past_header(checkpoint / "model.safetensors")
    from safetensors.torch import load_file

    assert load_file(str(checkpoint / "model.safetensors"))  # still a readable safetensors file
    code, out = predict(checkpoint, tmp_path)
    err = capsys.readouterr().err.strip()
    assert code == 2 and not out.exists()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    recorded = json.loads((checkpoint / "config.json").read_text())["files"]["model.safetensors"]
    actual = sha256_file(checkpoint / "model.safetensors")
    assert "model.safetensors" in err and recorded in err and actual in err


def test_checkpoints_without_the_field_still_load(checkpoint, encoder):
    config = json.loads((checkpoint / "config.json").read_text())
    del config["files"]
    (checkpoint / "config.json").write_text(json.dumps(config))
    before = LengthPredictor.from_pretrained(checkpoint, encoder=encoder).predict(PROMPTS).mean()
    assert np.all(np.isfinite(before))


def test_missing_listed_file_and_malformed_field_are_checkpoint_errors(checkpoint, encoder):
    config = json.loads((checkpoint / "config.json").read_text())
    (checkpoint / "config.json").write_text(json.dumps({**config, "files": {"extra.bin": "0" * 64}}))
    with pytest.raises(CheckpointError, match=r"extra\.bin: listed in .*config\.json but missing"):
        LengthPredictor.from_pretrained(checkpoint, encoder=encoder)
    (checkpoint / "config.json").write_text(json.dumps({**config, "files": ["model.safetensors"]}))
    with pytest.raises(CheckpointError, match="field 'files' must map"):
        LengthPredictor.from_pretrained(checkpoint, encoder=encoder)
    (checkpoint / "config.json").write_text(json.dumps({**config, "files": {"../config.json": "0" * 64}}))
    with pytest.raises(CheckpointError, match="missing from the checkpoint"):
        LengthPredictor.from_pretrained(checkpoint, encoder=encoder)


@pytest.mark.parametrize(
    ("edit", "needle"),
    [
        ({"head": {"num_bins": -3}}, "num_bins=-3"),
        ({"head": {"max_length": 0}}, "max_length=0"),
        ({"head": {"dropout": 1.5}}, "dropout=1.5"),
        ({"head": {"kind": "gaussian"}}, "kind='gaussian'"),
        ({"head": {"members": True}}, "members=True"),
        ({"encoder_max_length": -1}, "encoder_max_length must be a positive integer"),
        ({"encoder_max_length": "256"}, "encoder_max_length must be a positive integer"),
    ],
    ids=["bins", "max-length", "dropout", "kind", "members", "encoder-length", "encoder-length-str"],
)
def test_a_hand_edited_config_is_a_one_line_error_at_load(checkpoint, tmp_path, edit, needle, capsys):
    """Only the weights carry a checksum: the config's numbers are checked when they are read."""
    config = json.loads((checkpoint / "config.json").read_text())
    for key, value in edit.items():
        config[key] = {**config[key], **value} if isinstance(value, dict) else value
    (checkpoint / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="malformed predictor config") as raised:
        PredictorConfig.from_dict(config)
    assert needle in str(raised.value)
    code, out = predict(checkpoint, tmp_path)
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and needle in err and not out.exists()


def test_edited_card_does_not_break_the_checkpoint(checkpoint, encoder):
    with (checkpoint / "README.md").open("a") as handle:
        handle.write("\nEdited on the Hub.\n")
    LengthPredictor.from_pretrained(checkpoint, encoder=encoder)


def test_lora_adapter_files_are_recorded_and_verified(tmp_path):
    config = PredictorConfig(target_model="demo", lora=LoraSettings(r=2, alpha=4))
    folder = LengthPredictor(config).save_pretrained(tmp_path / "lora")
    files = json.loads((folder / "config.json").read_text())["files"]
    assert sorted(files) == ["adapter_config.json", "adapter_model.safetensors", "model.safetensors"]
    adapter = json.loads((folder / "adapter_config.json").read_text())
    adapter["r"] = 8
    (folder / "adapter_config.json").write_text(json.dumps(adapter))
    with pytest.raises(CheckpointError, match=r"adapter_config\.json: sha256 .* differs"):
        LengthPredictor.from_pretrained(folder)


def test_zoo_weights_written_through_save_pretrained_are_recorded(tmp_path, encoder):
    predictor = LengthPredictor.from_pretrained(PACKAGED_ZOO / "llama-3-8b", encoder=encoder)
    half = {k: v.half() for k, v in predictor.head.state_dict().items()}
    folder = predictor.save_pretrained(tmp_path / "half", weights=half)
    from safetensors.torch import load_file

    assert {t.dtype for t in load_file(str(folder / "model.safetensors")).values()} == {torch.float16}
    LengthPredictor.from_pretrained(folder, encoder=encoder)  # the recorded sha256 is the float16 file's


WRITE_SCRIPT = """
import sys, numpy as np
from sagepred.checkpoint import write_tensors
tensors = {"b": np.arange(6, dtype=np.float16).reshape(2, 3), "a": np.ones(5, dtype=np.uint8)}
metadata = {"zeta": "1", "alpha": "2", "format": "np", "mid": "3", "digest_bytes": "8"}
write_tensors(tensors, sys.argv[1], metadata=metadata, framework="numpy")
"""


def test_the_same_tensors_give_the_same_bytes_in_every_process(tmp_path):
    """safetensors orders the metadata map by a per-process hash; write_tensors sorts it, so a rebuild
    that changes nothing rewrites nothing (the zoo's weights and digests stay byte-identical)."""
    import subprocess
    import sys

    from safetensors import safe_open

    paths = [tmp_path / f"t{i}.safetensors" for i in range(4)]
    for path in paths:
        subprocess.run([sys.executable, "-c", WRITE_SCRIPT, str(path)], check=True)
    blobs = {path.read_bytes() for path in paths}
    assert len(blobs) == 1
    size = struct.unpack("<Q", paths[0].read_bytes()[:8])[0]
    assert size % 8 == 0
    header = json.loads(paths[0].read_bytes()[8 : 8 + size])
    assert list(header["__metadata__"]) == sorted(header["__metadata__"])
    with safe_open(str(paths[0]), framework="numpy") as handle:
        assert handle.metadata()["mid"] == "3"
        np.testing.assert_array_equal(handle.get_tensor("b"), np.arange(6, dtype=np.float16).reshape(2, 3))
