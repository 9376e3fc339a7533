"""One predictor spec and one prediction format across commands: zoo names, predict → simulate, eval.

Real CASTILLO records of Llama-3.1-8B-Instruct and the packaged ``llama-3.1-8b`` zoo checkpoint.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from sagepred.cli import main
from sagepred.distribution import LengthDistribution
from sagepred.errors import InputError
from sagepred.loading import load_predictor
from sagepred.records import read_jsonl_records, write_jsonl_records
from sagepred.scheduler.workload import resolve_predictor

from .conftest import castillo_records

ZOO = "llama-3.1-8b"


@pytest.fixture(scope="module")
def records_file(tmp_path_factory, data_dir):
    path = tmp_path_factory.mktemp("records") / "llama.jsonl"
    write_jsonl_records(castillo_records(data_dir, limit=40), path)
    return path


@pytest.fixture(scope="module")
def predictions_file(records_file, tmp_path_factory):
    out = tmp_path_factory.mktemp("preds") / "preds.jsonl"
    assert main(["predict", "--checkpoint", ZOO, "--input", str(records_file), "--output", str(out)]) == 0
    return out


def _simulate(records_file, predictor, tmp_path, **extra) -> int:
    args = [
        "simulate",
        "--trace",
        "poisson",
        "--records",
        str(records_file),
        "--rate",
        "3",
        "--num-requests",
        "60",
        "--policies",
        "fcfs,gittins",
        "--predictor",
        predictor,
        "--json",
        str(tmp_path / "sim.json"),
    ]
    return main(args)


def test_predict_then_simulate_uses_exactly_the_predicted_distributions(
    records_file, predictions_file, tmp_path, capsys
):
    records = read_jsonl_records(records_file)
    lines = [json.loads(line) for line in predictions_file.read_text().splitlines()]
    assert [row["id"] for row in lines] == [r.record_id for r in records]
    written = LengthDistribution.concat([LengthDistribution.from_dict(row) for row in lines])
    from_file = resolve_predictor(str(predictions_file))(records, np.zeros(len(records), dtype=int))
    np.testing.assert_array_equal(from_file.row_knots, written.row_knots)
    np.testing.assert_array_equal(from_file.row_cdf, written.row_cdf)
    # `predict` reads the embedding cache, which other commands may have filled from batches of other
    # prompts: float32 encoder passes of other shapes agree to rounding, not bit for bit.
    direct = load_predictor(ZOO).predict([r.prompt_text for r in records])
    np.testing.assert_array_equal(from_file.row_knots, direct.row_knots)
    np.testing.assert_allclose(from_file.row_cdf, direct.row_cdf, rtol=1e-4, atol=1e-6)
    assert _simulate(records_file, str(predictions_file), tmp_path) == 0
    result = json.loads((tmp_path / "sim.json").read_text())
    assert result["settings"]["predictor"] == str(predictions_file)
    assert result["policies"]["gittins"]["completed"] == 60


def test_simulate_with_a_zoo_name_matches_the_predictions_file(
    records_file, predictions_file, tmp_path, capsys
):
    assert _simulate(records_file, ZOO, tmp_path) == 0
    by_name = json.loads((tmp_path / "sim.json").read_text())["policies"]
    assert _simulate(records_file, str(predictions_file), tmp_path) == 0
    by_file = json.loads((tmp_path / "sim.json").read_text())["policies"]
    assert by_name["gittins"]["mean_ttlt_s"] == pytest.approx(by_file["gittins"]["mean_ttlt_s"], rel=1e-9)


def test_missing_prediction_ids_are_one_clear_error(records_file, predictions_file, tmp_path, capsys):
    partial = tmp_path / "partial.jsonl"
    partial.write_text("".join(predictions_file.read_text().splitlines(keepends=True)[:10]))
    assert _simulate(records_file, str(partial), tmp_path) == 2
    err = capsys.readouterr().err.strip()
    assert (
        "partial.jsonl" in err and "no prediction for 30 record id(s)" in err and len(err.splitlines()) == 1
    )
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x", "knots": [0, 5, 3], "cdf": [0, 0.5, 1]}\n')
    with pytest.raises(InputError, match=r"bad.jsonl:1: not a prediction"):
        resolve_predictor(str(bad))


def test_eval_and_compare_take_a_zoo_name_and_a_predictions_file(
    records_file, predictions_file, tmp_path, capsys
):
    out = tmp_path / "report"
    assert (
        main(["eval", "--checkpoint", ZOO, "--data", str(records_file), "--output", str(out), "--no-mlflow"])
        == 0
    )
    metrics = json.loads((out / "metrics.json").read_text())
    compare_json = tmp_path / "compare.json"
    code = main(
        ["compare", ZOO, str(predictions_file), "--data", str(records_file), "--json", str(compare_json)]
    )
    assert code == 0
    by_name, by_file = json.loads(compare_json.read_text())["results"]
    assert by_file["kind"] == "predictions" and by_name["kind"] == "checkpoint"
    assert by_name["crps"] == pytest.approx(by_file["crps"], rel=1e-9)
    # eval embeds afresh, compare may read the embedding cache: equal to float32 rounding.
    assert metrics["crps"] == pytest.approx(by_name["crps"], rel=1e-6)


def test_unknown_predictor_spec_lists_the_accepted_forms(records_file, tmp_path, capsys):
    assert _simulate(records_file, "llama-3.1-8bb", tmp_path) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    for form in (
        "checkpoint folder",
        "zoo name",
        "Hub repo id",
        "baseline:NAME",
        "samples",
        "none",
        "predictions",
    ):
        assert form in err
    assert "did you mean" in err and "llama-3.1-8b" in err
