"""List sizes: the kind of a list's items, its length by count and kind, and the fit on the real data."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

from sagepred.length_instructions import parse_length_request
from sagepred.list_sizes import LIST_EXPONENT, WORDS_OF_FIVE, list_kind, list_words

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"


@pytest.mark.parametrize(
    ("after_count", "kind"),
    [
        (" fruits.", "thing"),
        (" countries in Africa", "thing"),
        (" famous composers from the Baroque era", "thing"),
        (" positive words starting with the letter C", "label"),
        (" dynamic business names for a consulting firm", "label"),
        (" catchy slogans for a bakery", "label"),
        (" tips for better sleep", "point"),
        (" most important facts from the text", "point"),
        (" ways to reduce stress", "point"),
        (" multiple-choice questions about photosynthesis", "question"),
        (" examples of rodents", "thing"),  # the items are rodents, not explanations
        (" things you could do to help", "thing"),
        (" of the tips below", "thing"),  # the clause ends before the naming words
    ],
)
def test_kind_is_read_from_the_words_that_name_the_items(after_count: str, kind: str) -> None:
    assert list_kind(after_count) == kind


def test_a_list_grows_with_its_count_but_less_than_linearly() -> None:
    for kind in WORDS_OF_FIVE:
        sizes = [list_words(n, kind) for n in (2, 5, 10, 30, 100)]
        assert sizes == sorted(sizes)
        assert list_words(10, kind) / list_words(5, kind) == pytest.approx(2**LIST_EXPONENT)
        assert list_words(10, kind) < 2 * list_words(5, kind)
    assert (
        list_words(5, "label") < list_words(5, "question") < list_words(5, "thing") < list_words(5, "point")
    )


@pytest.mark.parametrize(
    ("prompt", "kind", "count"),
    [
        ("List 30 fruits.", "thing", 30),
        ("Give me 10 tips for better sleep.", "point", 10),
        ("Suggest 15 names for a golden retriever.", "label", 15),
        ("Write 10 multiple-choice questions about photosynthesis.", "question", 10),
        ("Name the three Baltic states.", "thing", 3),
    ],
)
def test_the_parser_sizes_a_list_by_its_kind(prompt: str, kind: str, count: int) -> None:
    request = parse_length_request(prompt)
    assert (request.unit, request.item_kind, request.count) == ("item", kind, count)
    assert request.requested_words == pytest.approx(list_words(count, kind))


def test_a_list_reading_names_its_items() -> None:
    words = f"{WORDS_OF_FIVE['point']:,.0f} words"
    assert parse_length_request("Give me 5 reasons to learn Python.").describe() == f"5 points ({words})"
    assert (
        parse_length_request("List 20 words that rhyme with cat.").describe().startswith("20 short items (")
    )
    assert parse_length_request("Write 50 short stories under ten words").describe() == "50 items (400 words)"


def _benchmark():
    spec = importlib.util.spec_from_file_location("list_sizes_bench", ROOT / "benchmarks" / "list_sizes.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass resolves its annotations through the module
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def test_shipped_sizes_are_the_fit_on_the_training_prompts_and_beat_a_flat_size_held_out(data_dir) -> None:
    """benchmarks/list_sizes.py refits the constants on the pooled model's training prompts of the real
    data; held out, sizing by kind and count is nearer the observed answers than 23 words an item."""
    bench = _benchmark()
    requests = bench.list_requests(data_dir)
    assert len(requests) >= 100 and any(r.held_out for r in requests)
    exponent, levels = bench.fit_sizes([r for r in requests if not r.held_out])
    assert exponent == pytest.approx(LIST_EXPONENT, abs=0.02)
    for kind, words in WORDS_OF_FIVE.items():
        assert levels[kind] == pytest.approx(words, rel=0.05), kind
    table = bench.held_out_table(requests, exponent, levels)
    flat, by_kind = table["flat 23 words an item"], table["count ** exponent, by kind"]
    assert by_kind["rms_log_error"] < 0.8 * flat["rms_log_error"]
    assert by_kind["r_log"] > flat["r_log"]


@pytest.mark.parametrize(
    ("name", "least_counts", "least_kinds"),
    [
        # held out: 48 of 70 (the first version of list kinds), 47 kinds right; 39 at the stop's start
        ("length_lists_blind_1.jsonl", 66, 65),
        # held out after the first set's lessons: 47 of 70, 43 kinds right; 30 at the stop's start
        ("length_lists_blind_2.jsonl", 66, 61),
    ],
)
def test_list_sets_written_without_the_grammar(name: str, least_counts: int, least_kinds: int) -> None:
    """Lists asked for by count in many wordings (a count that closes the request, "Which 7 cities", "I
    need 6 songs", "7 easy weeknight dinners?") and look-alikes whose numbers ask for no list, written by
    helpers who never saw the grammar: the count read (within 15%), the kind of item, and no look-alike
    read as a list."""
    rows = [json.loads(line) for line in (DATA / name).read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 100
    asked = [(row, parse_length_request(row["prompt"])) for row in rows if row["count"]]
    counted = [
        (row, request)
        for row, request in asked
        if request.unit == "item" and _count_read(request.count, row["count"])
    ]
    assert len(counted) >= least_counts, [row["prompt"] for row, r in asked if (row, r) not in counted]
    assert sum(row["kind"] == request.item_kind for row, request in counted) >= least_kinds
    lists_read = [
        row["prompt"]
        for row in rows
        if not row["count"] and parse_length_request(row["prompt"]).unit == "item"
    ]
    assert not lists_read


def test_hard_negatives_of_the_list_rules() -> None:
    """60 prompts by a helper who never saw the grammar with a number beside a plural noun in the list
    rules' own shapes ("I need 3 volunteers … How do I ask …?", "Which 3 bedroom apartment …", "We want 4
    nights in Lisbon — is that enough?") and 20 lists in the same shapes. Held out: 9 of the 60 read as
    lists (the user's own need before a question, compound adjectives), all 20 lists read; after: one
    ("What were the 95 theses actually arguing about?", a question about a known set since 2026-12-07:
    none), besides a rewrite sized by its quoted sentence."""
    rows = [
        json.loads(line) for line in (DATA / "length_lists_hard_negatives.jsonl").read_text().splitlines()
    ]
    assert len(rows) == 80
    read_as_lists = [
        r["prompt"] for r in rows if not r["count"] and parse_length_request(r["prompt"]).unit == "item"
    ]
    assert not read_as_lists, read_as_lists
    lists = [r for r in rows if r["count"]]
    counted = [r for r in lists if _count_read(parse_length_request(r["prompt"]).count, r["count"])]
    assert len(counted) == len(lists) == 20  # "Write 10 haiku about autumn" as ten haiku


def _count_read(count: float | None, asked: float) -> bool:
    return count is not None and abs(count - asked) <= 0.15 * asked


@pytest.mark.parametrize(
    ("prompt", "language", "kind", "count"),
    [
        ("Dame 10 nombres para mi perro.", "es", "label", 10),
        ("Escribe 10 preguntas sobre la fotosíntesis.", "es", "question", 10),
        ("Dame cinco consejos para dormir mejor.", "es", "point", 5),
        ("Dame 5 películas de terror.", "es", "thing", 5),
        ("Dá-me 8 nomes para uma padaria.", "pt", "label", 8),
        ("Donne-moi 5 idées de cadeaux.", "fr", "point", 5),
        ("Dammi 10 nomi per un gatto.", "it", "label", 10),
        ("Nenne mir 10 Namen für einen Hund.", "de", "label", 10),
        ("Придумай 5 вопросов для викторины.", "ru", "question", 5),
        ("Назови 5 условий успеха.", "ru", "thing", 5),  # "условий" holds "слов" (words) inside it
        ("请给我5个面试问题。", "zh", "question", 5),
        ("给我列出5个学习英语的方法。", "zh", "point", 5),
        ("猫の名前を5つ考えてください。", "ja", "label", 5),  # the noun before the count
    ],
)
def test_the_other_languages_read_the_kind_of_a_list(
    prompt: str, language: str, kind: str, count: int
) -> None:
    from sagepred.length_instructions_multilingual import CJK_CHARS_PER_WORD

    request = parse_length_request(prompt)
    assert (request.language, request.unit, request.item_kind, request.count) == (
        language,
        "item",
        kind,
        count,
    )
    per_word = CJK_CHARS_PER_WORD if language in ("zh", "ja") else 1.0
    assert request.requested_words == pytest.approx(list_words(count, kind) * per_word)
