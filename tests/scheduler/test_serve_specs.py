"""``sagepred serve`` takes any predictor name a user knows: a zoo name, a target alias, a folder."""

from __future__ import annotations

import json
from pathlib import Path

from sagepred.cli import main


def _plugin_config(out: str) -> dict:
    return json.loads(out.split("--additional-config ")[1].strip().split("\n")[0])["sagepred"]


def test_serve_resolves_a_zoo_alias_to_the_pulled_checkpoint(capsys):
    assert main(["serve", "--served-model", "m", "--predictor", "llama-3.1-8b", "--dry-run"]) == 0
    folder = Path(_plugin_config(capsys.readouterr().out)["predictor"])
    assert (
        folder.is_absolute()
        and (folder / "config.json").is_file()
        and (folder / "model.safetensors").is_file()
    )

    assert (
        main(["serve", "--served-model", "m", "--predictor", "meta-llama/Llama-3.1-8B-Instruct", "--dry-run"])
        == 0
    )
    assert Path(_plugin_config(capsys.readouterr().out)["predictor"]) == folder, "target id and alias agree"

    assert (
        main(["serve", "--served-model", "m", "--predictor", str(folder), "--mode", "priority", "--dry-run"])
        == 0
    )
    out = capsys.readouterr().out
    assert "priority proxy" in out and str(folder) in out and "--scheduling-policy priority" in out


def test_serve_refuses_a_predictor_that_cannot_predict_new_prompts(capsys):
    assert main(["serve", "--served-model", "m", "--predictor", "baseline:global", "--dry-run"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "cannot predict new requests" in err
    assert main(["serve", "--served-model", "m", "--predictor", "no-such-target-xyz", "--dry-run"]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
