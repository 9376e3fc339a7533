"""One prompt text: a chat request gets the same prediction through every path that feeds the predictor.

(a) ``LengthPredictor.predict`` on the record's text, (b) the ``sagepred predict`` CLI, (c) the priority
proxy's :class:`RequestAnnotator` (the prediction it carries in ``vllm_xargs``), (d) the plug-in's path:
:func:`predictor_text` of the carried ``sagepred_prompt`` (flat, or messages nested under ``sagepred``),
then the predictor. The packaged ``ministral-8b`` zoo checkpoint (MiniLM + histogram head).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from sagepred.cli import main
from sagepred.distribution import LengthDistribution
from sagepred.loading import load_predictor
from sagepred.records import LengthRecord, estimate_prompt_tokens, prompt_text
from sagepred.scheduler.priority import PriorityConfig, RequestAnnotator, prompt_of
from sagepred.scheduler.serving import carried_field, parse_prediction, predictor_text

MESSAGES = [
    {"role": "system", "content": "You are a concise assistant."},
    {"role": "user", "content": "Write a detailed essay on the history of the Roman Empire."},
]


def _no_decode(token_ids):
    raise AssertionError("a request carrying its prompt text is never decoded")


@pytest.fixture(scope="module")
def predictor():
    return load_predictor("ministral-8b")


def _same(a: LengthDistribution, b: LengthDistribution) -> None:
    np.testing.assert_array_equal(a.row_knots, b.row_knots)
    np.testing.assert_array_equal(a.row_cdf, b.row_cdf)


def test_a_chat_request_gets_one_prediction_on_every_path(predictor, tmp_path):
    text = prompt_text(MESSAGES)
    assert text.splitlines()[0] == "system: You are a concise assistant."
    record = LengthRecord(prompt=MESSAGES, output_lens=(100,), record_id="c")
    via_record = predictor.predict([record.prompt_text])

    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text(json.dumps({"id": "c", "messages": MESSAGES}) + "\n")
    out = tmp_path / "preds.jsonl"
    assert (
        main(["predict", "--checkpoint", "ministral-8b", "--input", str(prompts), "--output", str(out)]) == 0
    )
    via_cli = LengthDistribution.from_dict(json.loads(out.read_text()))

    body = {"model": "m", "messages": MESSAGES, "max_tokens": 50}
    assert prompt_of(body) == text
    annotated = RequestAnnotator(predictor, PriorityConfig()).annotate([body])[0]
    via_proxy = parse_prediction(annotated["vllm_xargs"])

    carried = carried_field(annotated["vllm_xargs"], "prompt")
    via_plugin = predictor.predict([predictor_text(carried, _no_decode)])
    nested = carried_field({"sagepred": {"prompt": MESSAGES}}, "prompt")
    via_plugin_nested = predictor.predict([predictor_text(nested, _no_decode)])

    for other in (via_cli, via_proxy, via_plugin, via_plugin_nested):
        _same(via_record, other)
    assert predictor_text([1, 2, 3], lambda ids: f"decoded {ids}") == "decoded [1, 2, 3]"


def test_one_prompt_token_estimate(predictor):
    body = {"model": "m", "messages": MESSAGES}
    annotated = RequestAnnotator(predictor, PriorityConfig(policy="sjf")).annotate([body])[0]
    from sagepred.scheduler.priority import priorities
    from sagepred.scheduler.workload import prompt_tokens

    dist = predictor.predict([prompt_text(MESSAGES)])
    tokens = estimate_prompt_tokens(prompt_text(MESSAGES))
    assert tokens == round(len(prompt_text(MESSAGES)) / 4)
    assert annotated["priority"] == int(priorities(dist, [tokens], "sjf")[0])
    assert prompt_tokens(LengthRecord(prompt=MESSAGES, output_lens=(5,))) == tokens
