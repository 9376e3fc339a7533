"""Reading a count: the count variants, the measured slope, the weight it implies, the move the
instruction adjustment makes with it, and the parser's readings of counted items."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from sagepred.count_reading import (
    MIN_LISTS,
    count_slope,
    count_variants,
    list_count_weight,
    list_counts,
    measure_count_reading,
    reference_count,
)
from sagepred.instruction_adjust import (
    InstructionSettings,
    absolute_weight,
    adjust_histograms,
    count_shift,
    log_median,
    released_settings,
)
from sagepred.length_instructions import parse_length_request
from sagepred.list_sizes import LIST_EXPONENT

THINGS = (
    "rivers",
    "birds",
    "poets",
    "bridges",
    "islands",
    "painters",
    "castles",
    "lakes",
    "deserts",
    "volcanoes",
)
LISTS = [f"List {n} famous {thing} for a school project." for n, thing in enumerate(THINGS, start=2)]
"""Ten list prompts with their counts in digits, 2 to 11."""


def _follows_counts(prompts: list[str]) -> np.ndarray:
    """A predictor whose log median follows each list's size exactly."""
    return np.array([LIST_EXPONENT * math.log(int(re.search(r"\d+", p).group())) for p in prompts])


def test_variants_change_the_count_once_and_know_the_size_ratio() -> None:
    variants = count_variants(
        ["List 10 fruits.", "Name 3 rivers in Europe, 3 words each.", "Name three rivers."]
    )
    assert [v.variant for v in variants] == ["List 5 fruits.", "List 20 fruits.", "List 40 fruits."]
    assert [round(v.log_size_ratio, 4) for v in variants] == [
        round(LIST_EXPONENT * math.log(f), 4) for f in (0.5, 2.0, 4.0)
    ]
    assert count_variants(["Give me 1,500 ideas."]) == []  # the count is not written as its digits
    assert count_variants(["Explain tides in 300 words."]) == []  # no list


def test_the_slope_is_one_for_a_predictor_that_follows_counts_and_zero_for_one_that_does_not() -> None:
    variants = count_variants(LISTS)
    assert count_slope(_follows_counts, variants) == pytest.approx(1.0, abs=0.02)
    assert count_slope(lambda prompts: np.full(len(prompts), 5.0), variants) == pytest.approx(0.0)
    with pytest.raises(ValueError, match="no count variants"):
        count_slope(_follows_counts, [])


def test_the_weight_makes_up_what_the_head_and_list_weight_leave_out() -> None:
    assert list_count_weight(0.2, 0.05) == pytest.approx(0.75)
    assert list_count_weight(0.2, 0.9) == 0.0
    assert list_count_weight(0.0, -0.3) == 1.0
    assert reference_count([2, 8]) == pytest.approx(4.0)
    with pytest.raises(ValueError):
        reference_count([])


def test_measure_needs_enough_lists() -> None:
    assert measure_count_reading(_follows_counts, LISTS[: MIN_LISTS - 1], 0.2) is None
    reading = measure_count_reading(_follows_counts, [*LISTS, "Explain tides."], 0.2)
    assert reading is not None and reading.lists == len(LISTS)
    assert reading.list_count_weight == 0.0  # the head follows counts by itself
    assert reading.reference_count == pytest.approx(math.exp(np.mean(np.log(range(2, 12)))))
    flat = measure_count_reading(lambda prompts: np.zeros(len(prompts)), LISTS, 0.2)
    assert flat is not None and flat.list_count_weight == pytest.approx(0.8)
    assert set(flat.to_dict()) == {"slope", "list_count_weight", "reference_count", "lists", "variants"}
    assert [p for p, _ in list_counts(["Name 4 birds.", "Write 200 words."])] == ["Name 4 birds."]


def test_the_count_moves_a_lists_prediction_by_its_share_and_nothing_else() -> None:
    settings = InstructionSettings(list_weight=0.2, list_count_weight=0.75, list_reference_count=5.0)
    fifty, five = parse_length_request("List 50 fruits."), parse_length_request("List 5 fruits.")
    assert count_shift(five, settings) == 0.0
    assert count_shift(fifty, settings) == pytest.approx(0.75 * LIST_EXPONENT * math.log(10))
    assert count_shift(parse_length_request("Explain tides in 300 words."), settings) == 0.0
    assert count_shift(fifty, InstructionSettings(list_count_weight=0.0)) == 0.0

    edges = np.concatenate([[0.0], np.geomspace(1, 16384, 40)])
    probs = np.full((2, len(edges) - 1), 1.0 / (len(edges) - 1))
    prompts = ["List 5 fruits.", "List 50 fruits."]
    for weight, expected in ((0.0, 0.2), (0.75, 0.95)):
        moved = adjust_histograms(
            probs,
            prompts,
            edges,
            ["llama3", "llama3"],
            InstructionSettings(list_weight=0.2, list_count_weight=weight, list_floor=None),
        )
        medians = log_median(moved, edges)
        asked = math.log(
            parse_length_request(prompts[1]).requested_words
            / parse_length_request(prompts[0]).requested_words
        )
        assert (medians[1] - medians[0]) / asked == pytest.approx(expected, abs=0.05)


def test_released_settings_follow_counts_almost_fully() -> None:
    settings = released_settings()
    assert 0.9 <= settings.list_weight + settings.list_count_weight <= 1.0


def test_lines_characters_and_items_of_sentences_move_by_both_weights() -> None:
    """Their size grows with the count exactly and no typical count places the head's centre: the
    count's share moves them toward the size, with list_weight's."""
    settings = InstructionSettings(list_weight=0.2, list_count_weight=0.75)
    for prompt in (
        "Write a poem about rain in 16 lines.",
        "Describe rain in 500 characters.",
        "Give me 4 bullet points about rain, 2 sentences each.",
    ):
        assert absolute_weight(parse_length_request(prompt), settings) == pytest.approx(0.95), prompt
    assert absolute_weight(parse_length_request("List 5 fruits."), settings) == 0.2
    assert absolute_weight(parse_length_request("Explain rain in 300 words."), settings) == settings.weight
    assert (
        absolute_weight(
            parse_length_request("Write a poem in 16 lines."), InstructionSettings(list_weight=0.2)
        )
        == 0.2
    )


@pytest.mark.parametrize(
    ("prompt", "words"),
    [
        ("List 2 steps for starting a compost bin, with 3 sentences per step.", 2 * 3 * 18),
        (
            "Give me 5 tips for sleeping better when traveling across time zones, 2 sentences each.",
            5 * 2 * 18,
        ),
        ("Give me 50 stories under ten words each.", 50 * 10 * 0.8),
    ],
)
def test_each_items_own_length_is_read_in_the_same_sentence(prompt: str, words: float) -> None:
    request = parse_length_request(prompt)
    assert request.unit == "items_of" and request.requested_words == pytest.approx(words)


def test_a_length_in_the_next_sentence_is_not_each_items() -> None:
    request = parse_length_request("Give me 5 tips for sleeping. Then write a summary of 100 words.")
    assert request.unit != "items_of"


@pytest.mark.parametrize(
    ("prompt", "items", "words"),
    [
        ("Summarize the 10 commandments in one sentence each.", 10, 10 * 18),
        ("Describe these 3 products in 50 words each.", 3, 150),
        ("Explain the 3 laws of motion in 2 sentences each, please.", 3, 3 * 2 * 18),
    ],
)
def test_a_length_each_is_for_the_items_its_sentence_names(prompt: str, items: int, words: float) -> None:
    request = parse_length_request(prompt)
    assert (request.unit, request.count, request.requested_words) == ("items_of", items, pytest.approx(words))


@pytest.mark.parametrize(
    "prompt",
    ["Explain tides in 2 sentences each.", "I have 3 kids. Describe each planet in one sentence each."],
)
def test_a_length_each_without_named_items_keeps_its_own_size(prompt: str) -> None:
    assert parse_length_request(prompt).unit != "items_of"


@pytest.mark.parametrize(
    "prompt",
    [
        "What were the 95 theses actually arguing about, in a nutshell?",
        "What were the 13 colonies fighting for?",
        "What are the 3 branches of government all about?",
    ],
)
def test_a_question_about_a_known_set_is_no_list(prompt: str) -> None:
    assert parse_length_request(prompt).unit != "item"


@pytest.mark.parametrize(
    "prompt",
    [
        "What are the 7 wonders of the ancient world?",
        "What are the 10 best books about fighting fatigue?",
        "What are the 5 best podcasts on arguing well?",
    ],
)
def test_a_question_for_a_sets_items_is_a_list(prompt: str) -> None:
    assert parse_length_request(prompt).unit == "item"


@pytest.mark.parametrize(
    "prompt",
    [
        "Separate the different prompts with two new lines.",
        "Put two blank lines between sections, then write a story about a lighthouse.",
        "Use 2 line breaks between paragraphs when you explain photosynthesis.",
    ],
)
def test_lines_that_separate_are_no_length(prompt: str) -> None:
    """Now that lines move a prediction by their count in full, a separator must not read as one."""
    assert parse_length_request(prompt).unit != "line"


def test_a_list_read_far_above_the_heads_centre_is_lifted_to_the_floor() -> None:
    """A head that takes "Write 10 multiple-choice questions" for one short answer (its median a few
    tokens) moves up to ``list_floor`` below the list's read size; a head near the size moves by the
    weights alone, and a prose request is left to its weight."""
    edges = np.concatenate([[0.0], np.geomspace(1, 16384, 60)])
    centres = np.sqrt(edges[1:] * np.maximum(edges[:-1], 0.5))
    quiz = "Write 10 multiple-choice questions about photosynthesis."
    essay = "Write a 500-word essay about photosynthesis."
    request = parse_length_request(quiz)
    assert request.unit == "item" and request.count == 10
    size = math.log1p(request.requested_tokens("llama3"))

    def head_at(tokens: float) -> np.ndarray:
        probs = np.exp(-0.5 * ((np.log(centres) - math.log(tokens)) / 0.3) ** 2)
        return (probs / probs.sum())[None, :]

    settings = InstructionSettings(list_weight=0.2, list_count_weight=0.0)
    short = adjust_histograms(head_at(8.0), [quiz], edges, ["llama3"], settings)
    assert log_median(short, edges)[0] == pytest.approx(size - settings.list_floor, abs=0.05)
    unfloored = adjust_histograms(
        head_at(8.0),
        [quiz],
        edges,
        ["llama3"],
        InstructionSettings(list_weight=0.2, list_count_weight=0.0, list_floor=None),
    )
    assert log_median(unfloored, edges)[0] < size - 1.5
    near = head_at(math.expm1(size - 0.3))
    assert np.allclose(
        adjust_histograms(near, [quiz], edges, ["llama3"], settings),
        adjust_histograms(
            near,
            [quiz],
            edges,
            ["llama3"],
            InstructionSettings(list_weight=0.2, list_count_weight=0.0, list_floor=None),
        ),
    )
    prose = adjust_histograms(head_at(8.0), [essay], edges, ["llama3"], InstructionSettings(weight=0.5))
    essay_size = math.log1p(parse_length_request(essay).requested_tokens("llama3"))
    assert log_median(prose, edges)[0] == pytest.approx(
        log_median(head_at(8.0), edges)[0] + 0.5 * (essay_size - log_median(head_at(8.0), edges)[0]), abs=0.05
    )
