"""``sagepred.loading``: every spec form, what each loads, and one error for an unknown spec."""

from __future__ import annotations

import pytest

from sagepred.errors import InputError
from sagepred.fusion import FusedPredictor
from sagepred.loading import load_predictor, parse_spec
from sagepred.predictions import PredictionTable
from sagepred.predictor import LengthPredictor
from sagepred.zoo import PACKAGED_ZOO


@pytest.mark.parametrize(
    ("spec", "kind", "value"),
    [
        ("none", "none", ""),
        ("samples", "samples", ""),
        ("exact", "exact", ""),
        ("baseline:sagesched", "baseline", "sagesched"),
        ("llama-3.1-8b", "zoo", "llama-3.1-8b"),
        ("meta-llama/Llama-3.1-8B-Instruct", "zoo", "llama-3.1-8b"),
        ("someone/sagepred-custom", "hub", "someone/sagepred-custom"),
    ],
)
def test_spec_forms(spec, kind, value):
    parsed = parse_spec(spec)
    assert (parsed.kind, parsed.value, parsed.text) == (kind, value, spec)


def test_paths_win_over_names(tmp_path):
    folder = tmp_path / "llama-3.1-8b"
    folder.mkdir()
    assert parse_spec(str(folder)).kind == "checkpoint"
    preds = tmp_path / "preds.jsonl"
    preds.write_text('{"id": "a", "knots": [0, 10], "cdf": [0, 1]}\n')
    assert parse_spec(str(preds)).kind == "predictions"
    table = load_predictor(str(preds))
    assert isinstance(table, PredictionTable) and len(table) == 1
    assert table.lookup(["a", "a"]).mean().tolist() == [5.0, 5.0]


def test_checkpoints_load_plain_or_with_online_learning():
    assert isinstance(load_predictor(str(PACKAGED_ZOO / "ministral-8b")), LengthPredictor)
    fused = load_predictor("ministral-8b", online_learning=True)
    assert isinstance(fused, FusedPredictor) and isinstance(fused.head, LengthPredictor)
    assert load_predictor("none") is None


def test_unknown_and_unaccepted_specs_fail_with_the_forms():
    with pytest.raises(InputError) as err:
        parse_spec("no-such-predictor")
    message = str(err.value)
    assert "unknown predictor 'no-such-predictor'" in message
    for form in ("checkpoint folder", "zoo name", "Hub repo id", "baseline:NAME", "samples", "predictions"):
        assert form in message
    with pytest.raises(InputError, match="names no baseline"):
        parse_spec("baseline:")
    with pytest.raises(InputError, match="does not take"):
        load_predictor("baseline:global")
    with pytest.raises(InputError, match=r"does not take.*zoo name"):
        load_predictor("samples", accept=("checkpoint", "zoo", "hub"))
    with pytest.raises(InputError, match=r"exact \(each request's own length.*does not take"):
        load_predictor("exact", accept=("checkpoint", "zoo", "hub", "exact"))
    with pytest.raises(InputError, match="ambiguous"):
        parse_spec("mistralai/Mistral-7B-Instruct-v0.3")
