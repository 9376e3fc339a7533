"""Length-instruction probes: the file reader, the scores, and the packaged zoo on the probe sets."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from sagepred.errors import InputError
from sagepred.loading import load_predictor
from sagepred.probes import read_probes, score_probes

DATA = Path(__file__).resolve().parents[1] / "data"
PROBE_FILES = [
    DATA / "length_probes.jsonl",
    DATA / "length_probes_varied.jsonl",
    DATA / "length_probes_requirements.jsonl",
    DATA / "length_probes_multilingual.jsonl",
]
COUNT_PROBE_FILES = [DATA / "length_probes_lists.jsonl", DATA / "length_probes_counts.jsonl"]
"""Probes whose instructions differ only in a count: of items, lines, characters, items of N sentences."""


def _probe(**changes) -> str:
    row = {
        "id": "p",
        "topic": "t",
        "instruction": "one_word",
        "instructed_words": 1,
        "prompt": "In one word?",
    }
    row.update(changes)
    return json.dumps(row)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", ":2: malformed JSON"),
        ("[1, 2]", ":2: expected an object"),
        (_probe(instructed_words="many"), ":2: field 'instructed_words': missing or not a number"),
        (_probe(instructed_words=0), ":2: field 'instructed_words': must be positive"),
        (_probe(prompt=None), ":2: field 'prompt': missing or not a string"),
    ],
)
def test_a_malformed_probe_names_file_and_line(tmp_path, line, message):
    path = tmp_path / "probes.jsonl"
    path.write_text(_probe() + "\n" + line + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=message):
        read_probes(path)


def test_scores_follow_the_medians():
    probes = read_probes(PROBE_FILES[0])
    words = np.array([p.instructed_words for p in probes])
    right = score_probes(probes, 2.0 * words + 1.0)
    assert right["summary"]["spearman_min"] > 0.99
    wrong = score_probes(probes, 1.0 / words)
    assert wrong["summary"]["spearman_mean"] < -0.99 and wrong["summary"]["ratio_min"] < 1.0
    assert set(right["topics"]) == {p.topic for p in probes}
    with pytest.raises(ValueError, match="medians for"):
        score_probes(probes, words[:-1])


def test_the_sets_differ_in_topics_and_wording():
    fixed, varied, requirements, multilingual, lists, counts = (
        read_probes(path) for path in PROBE_FILES + COUNT_PROBE_FILES
    )
    topics = [
        {p.topic for p in probes} for probes in (fixed, varied, requirements, multilingual, lists, counts)
    ]
    assert all(not a & b for i, a in enumerate(topics) for b in topics[i + 1 :])
    assert len({p.instruction for p in varied}) > len({p.instruction for p in fixed})
    assert not {p.prompt for p in requirements} & {p.prompt for p in fixed + varied}
    everything = fixed + varied + requirements + multilingual + lists + counts
    assert len({p.id for p in everything}) == len(everything)


@pytest.mark.parametrize("name", ["gpt-4", "llama-3.1-8b", "llama-2-7b"])
@pytest.mark.parametrize("path", PROBE_FILES, ids=lambda p: p.stem)
def test_packaged_zoo_checkpoints_read_length_instructions(name, path):
    """Per topic the predicted medians rank as the instructed lengths, from a word to thousands."""
    probes = read_probes(path)
    predictor = load_predictor(name, zoo_source="packaged")
    median = predictor.predict([p.prompt for p in probes]).quantile(0.5).ravel()
    scores = score_probes(probes, median)
    assert scores["summary"]["spearman_min"] >= 0.85, scores["topics"]
    assert scores["summary"]["ratio_min"] >= 100, scores["topics"]


@pytest.mark.parametrize("name", ["gpt-4", "llama-3.1-8b", "llama-2-7b", "mixtral-8x7b-alpacaeval"])
@pytest.mark.parametrize("path", COUNT_PROBE_FILES, ids=lambda p: p.stem)
def test_packaged_zoo_checkpoints_follow_a_count(name, path):
    """Asked for 100 items, a list is predicted about as much longer than one of 3 as such lists run,
    "in 40 lines" ten times "in 4 lines" (elasticity near 1 on the sized lengths), not the 1.5–2× of
    a head that barely reads the count."""
    probes = read_probes(path)
    predictor = load_predictor(name, zoo_source="packaged")
    median = predictor.predict([p.prompt for p in probes]).quantile(0.5).ravel()
    scores = score_probes(probes, median)
    assert scores["summary"]["spearman_min"] >= 0.95, scores["topics"]
    assert 0.7 <= scores["summary"]["elasticity_min"] <= scores["summary"]["elasticity_max"] <= 1.4, scores[
        "topics"
    ]


@pytest.mark.parametrize("name", ["gpt-4", "llama-3.1-8b", "llama-2-7b"])
def test_packaged_zoo_checkpoints_follow_a_length_in_tokens(name):
    """Asked for 50 to 1,000 tokens (four topics, each phrased its own way), the predicted median follows
    the count in the target's own tokens, whatever its tokenizer (cl100k, Llama-3, Llama-2)."""
    probes = read_probes(DATA / "length_probes_tokens.jsonl")
    assert not {p.topic for p in probes} & {
        p.topic for path in PROBE_FILES + COUNT_PROBE_FILES for p in read_probes(path)
    }
    predictor = load_predictor(name, zoo_source="packaged")
    median = predictor.predict([p.prompt for p in probes]).quantile(0.5).ravel()
    scores = score_probes(probes, median)
    assert scores["summary"]["spearman_min"] > 0.999, scores["topics"]
    assert 0.75 <= scores["summary"]["elasticity_min"] <= scores["summary"]["elasticity_max"] <= 1.2
    asked = np.array([float(p.instruction.split("_")[1]) for p in probes])
    assert np.all(np.abs(np.log(median / asked)) < np.log(1.5)), list(zip(asked, median, strict=True))


@pytest.mark.parametrize("name", ["gpt-4", "llama-3.1-8b"])
def test_packaged_zoo_checkpoints_follow_a_length_in_a_template(name):
    """A length stated as a template states it ("Length: 250 words", ``"max_words": 250``,
    ``<word_limit>250</word_limit>``, "## Format\n- About 250 words"; 30 to 1,000 words, four topics):
    the predicted median follows it; and a closed answer asked of a classification or an extraction
    ("Output the label only.", "Reply with the ID only") is predicted a few tokens, not the task's usual
    answer."""
    probes = read_probes(DATA / "length_probes_templates.jsonl")
    predictor = load_predictor(name, zoo_source="packaged")
    median = predictor.predict([p.prompt for p in probes]).quantile(0.5).ravel()
    scores = score_probes(probes, median)
    assert scores["summary"]["spearman_min"] > 0.999, scores["topics"]
    assert 0.75 <= scores["summary"]["elasticity_min"] <= scores["summary"]["elasticity_max"] <= 1.2
    review = "\n\nReview: The battery died after two days and support never answered."
    message = (
        '\n\n"Hello, my order #KX-48213-B arrived with a cracked screen. Could you arrange a replacement?"'
    )
    open_tasks = [
        "Classify the sentiment of this review as positive, negative or neutral." + review,
        "Extract the order ID from this message." + message,
    ]
    closed_tasks = [
        "Classify the sentiment of this review as positive, negative or neutral. Output the label only."
        + review,
        "Extract the order ID from this message. Reply with the ID only, no other text." + message,
    ]
    open_median = predictor.predict(open_tasks).quantile(0.5).ravel()
    closed_median = predictor.predict(closed_tasks).quantile(0.5).ravel()
    assert np.all(closed_median <= 5.0) and np.all(closed_median < 0.3 * open_median), (
        open_median,
        closed_median,
    )


def test_the_parser_score_counts_each_kind_of_error():
    from sagepred.probes import score_parser

    rows = [
        {"prompt": "Explain tides in 100 words.", "expected_words": 100, "note": "explicit"},
        {"prompt": "Explain tides in 100 words.", "expected_words": 300, "note": "explicit"},
        {"prompt": "Explain tides.", "expected_words": 50, "note": "explicit"},
        {
            "prompt": "My essay has to be 10 pages; write an outline in 3 sentences.",
            "expected_words": None,
            "note": "tricky",
        },
        {"prompt": "Explain tides in detail.", "expected_words": None, "note": "relative: short"},
        {
            "prompt": "Explica las mareas en pocas palabras.",
            "expected_words": 5,
            "note": "explicit",
            "language": "es",
        },
    ]
    score = score_parser(rows)
    assert (score.lengths, score.read) == (4, 1)
    assert score.wrong == [rows[1]["prompt"], rows[5]["prompt"]]
    assert score.false_positives == [rows[3]["prompt"]] and score.relative_misses == [rows[4]["prompt"]]
    assert score_parser(rows, few_words=True).read == 2  # "a few words": three read, five asked


def test_the_stated_lengths_benchmark_scores_a_blind_set(tmp_path):
    """benchmarks/stated_lengths.py end to end on one checkpoint and the held-out mixed traffic: the
    predicted medians land near the stated lengths; a missing set is a clear error."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "stated_lengths", Path(__file__).resolve().parents[2] / "benchmarks" / "stated_lengths.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = tmp_path / "stated.json"
    args = ["--predictors", "gpt-4", "--sets", "length_mixed_traffic_blind.jsonl", "--json", str(out)]
    assert module.main(args) == 0
    result = json.loads(out.read_text())["gpt-4"]["length_mixed_traffic_blind.jsonl"]
    assert result["n"] == 50 and result["within_2x"] >= 0.85 and result["median_abs_log_error"] < 0.2
    assert module.main(["--sets", "no_such_set.jsonl"]) == 2
    plans = [
        "--predictors",
        "gpt-4",
        "--sets",
        "length_plans_blind_2.jsonl",
        "--category",
        "plan",
        "--json",
        str(out),
    ]
    assert module.main(plans) == 0
    assert (
        json.loads(out.read_text())["gpt-4"]["length_plans_blind_2.jsonl"]["n"] == 45
    )  # the sized plans only
