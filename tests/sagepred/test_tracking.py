"""MLflow as its users use it: a pyfunc model per training run, the ``champion`` alias, report artifacts.

Real trainings (llama-3-8b recipe, AlpacaEval data) against a real SQLite store in a temp folder.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from sagepred.cli import main
from sagepred.mlflow_model import OUTPUT_COLUMNS, QUANTILE_LEVELS
from sagepred.tracking import CHAMPION_ALIAS, CRPS_TAG, HOLDOUT_TAG, holdout_fingerprint

MODEL = "sagepred-Meta-Llama-3-8B-Instruct"
PROMPTS = ["Write a detailed essay on the history of the Roman Empire.", "Say hi.", "List three colours."]


def train(uri: str, folder: Path, *extra: str) -> dict:
    """``sagepred train`` of the llama-3-8b recipe into ``folder``; returns the JSON summary."""
    args = ["train", "--model", "llama-3-8b", "--output", str(folder / "ckpt"), "--tracking-uri", uri]
    assert main([*args, "--json", str(folder / "summary.json"), *extra]) == 0
    return json.loads((folder / "summary.json").read_text())


def champion_matches_the_checkpoint(uri: str, checkpoint: Path) -> None:
    """``models:/…@champion`` predicts what ``LengthPredictor`` predicts from the checkpoint folder."""
    import mlflow
    import pandas as pd

    from sagepred.predictor import LengthPredictor

    mlflow.set_tracking_uri(uri)
    model = mlflow.pyfunc.load_model(f"models:/{MODEL}@{CHAMPION_ALIAS}")
    out = model.predict(pd.DataFrame({"prompt": PROMPTS}))
    assert list(out.columns) == list(OUTPUT_COLUMNS) and len(out) == len(PROMPTS)
    expected = LengthPredictor.from_pretrained(checkpoint).predict(PROMPTS)
    np.testing.assert_allclose(out["mean"].to_numpy(), expected.mean(), rtol=1e-5)
    np.testing.assert_allclose(
        out[list(OUTPUT_COLUMNS[1:])].to_numpy(), expected.quantile(np.array([QUANTILE_LEVELS])), rtol=1e-5
    )
    assert np.all(np.diff(out[list(OUTPUT_COLUMNS[1:])].to_numpy(), axis=1) >= 0)


def version_crps(client, version: str) -> float:
    return float(client.get_model_version(MODEL, version).tags[CRPS_TAG])


@pytest.mark.slow
def test_champion_alias_follows_the_best_crps_on_the_same_held_out_data(tmp_path, data_dir):
    import mlflow
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{tmp_path}/mlflow.db"
    client = MlflowClient(uri)
    first = train(uri, tmp_path / "a", "--epochs", "2")
    assert first["mlflow"]["model_version"] == first["mlflow"]["champion"] == "1"
    assert first["mlflow"]["champion_moved"]
    champion_matches_the_checkpoint(uri, tmp_path / "a" / "ckpt")

    # The version carries the held-out data's fingerprint and CRPS; the run has the report.
    from sagepred.predictor import LengthPredictor
    from sagepred.training.data import held_out_records

    config = LengthPredictor.from_pretrained(tmp_path / "a" / "ckpt").config
    v1 = client.get_model_version(MODEL, "1")
    assert v1.tags[HOLDOUT_TAG] == holdout_fingerprint(held_out_records(config.data))
    assert version_crps(client, "1") == pytest.approx(first["metrics"]["crps"])
    run = client.get_run(first["mlflow"]["run_id"])
    assert run.data.params["holdout_sha256"] == v1.tags[HOLDOUT_TAG]
    assert run.data.metrics["eval_crps"] == pytest.approx(first["metrics"]["crps"])
    assert run.data.metrics["eval_pinball.0.9"] == pytest.approx(first["metrics"]["pinball"]["0.9"])
    low, high = first["metrics"]["coverage_80_ci95"]
    assert low <= first["metrics"]["coverage_80"] <= high
    assert run.data.metrics["eval_coverage_80_ci95.low"] == pytest.approx(low)
    assert run.data.metrics["eval_coverage_80_ci95.high"] == pytest.approx(high)
    report = {Path(a.path).name for a in client.list_artifacts(run.info.run_id, "report")}
    assert report == {
        "metrics.json",
        "pit_histogram.png",
        "reliability.png",
        "crps_by_length.png",
        "predicted_vs_observed.png",
    }
    info = mlflow.models.get_model_info(f"models:/{MODEL}/1")
    assert info.signature.inputs.input_names() == ["prompt"]
    assert info.signature.outputs.input_names() == list(OUTPUT_COLUMNS)
    assert info.flavors["python_function"]["loader_module"] == "mlflow.pyfunc.loaders.code_model"
    logged = Path(mlflow.artifacts.download_artifacts(f"models:/{MODEL}/1", dst_path=str(tmp_path / "dl")))
    assert not list(logged.rglob("*.pkl")), "a model from code: nothing pickled"
    assert [p.name for p in (logged / "artifacts").glob("*/model.safetensors")] == ["model.safetensors"]
    assert info.run_id == run.info.run_id

    worse = train(uri, tmp_path / "b", "--epochs", "1")
    assert version_crps(client, "2") > version_crps(client, "1"), "one epoch should score worse than two"
    assert not worse["mlflow"]["champion_moved"] and worse["mlflow"]["champion"] == "1"
    assert str(client.get_model_version_by_alias(MODEL, CHAMPION_ALIAS).version) == "1"

    better = train(uri, tmp_path / "c")  # the recipe's full schedule with early stopping
    assert version_crps(client, "3") < version_crps(client, "1"), "full training should beat two epochs"
    assert better["mlflow"]["champion_moved"] and "beats champion v1" in better["mlflow"]["champion_reason"]
    assert str(client.get_model_version_by_alias(MODEL, CHAMPION_ALIAS).version) == "3"
    champion_matches_the_checkpoint(uri, tmp_path / "c" / "ckpt")

    other = train(uri, tmp_path / "d", "--epochs", "1", "--seed", "1")  # another hold-out
    assert client.get_model_version(MODEL, "4").tags[HOLDOUT_TAG] != v1.tags[HOLDOUT_TAG]
    assert not other["mlflow"]["champion_moved"]
    assert "other held-out data" in other["mlflow"]["champion_reason"]
    assert str(client.get_model_version_by_alias(MODEL, CHAMPION_ALIAS).version) == "3"


def test_fingerprint_ignores_order_and_sees_lengths():
    from sagepred.records import LengthRecord

    a = LengthRecord(prompt="hi", output_lens=(3,))
    b = LengthRecord(prompt="write an essay", output_lens=(400, 380))
    assert holdout_fingerprint([a, b]) == holdout_fingerprint([b, a])
    assert holdout_fingerprint([a, b]) != holdout_fingerprint(
        [a, LengthRecord(prompt=b.prompt, output_lens=(401, 380))]
    )
    capped = LengthRecord(prompt=b.prompt, output_lens=(400, 380), censored=(True, False))
    assert holdout_fingerprint([a, b]) != holdout_fingerprint([a, capped])
    assert holdout_fingerprint([a]) != holdout_fingerprint([a, b])
