"""Requests for code alone ("Output only the query, no explanation") and their reading."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sagepred.code_only import CODE_ONLY_MULTIPLIER, find_code_only, names_code
from sagepred.length_instructions import FULL_CODE_MULTIPLIER, parse_length_request

DATA = Path(__file__).resolve().parents[1] / "data"
CODE_ONLY_UNITS = ("code_only", "full_code_only")


@pytest.mark.parametrize(
    "prompt",
    [
        "Write a SQL query that returns the top 5 customers by revenue. Output only the query, no explanation.",
        "Implement binary search in Java. Just the code please.",
        "Convert this to TypeScript, code only:\n```js\nfunction add(a,b){return a+b}\n```",
        "You are a code generator. Output only code.\nWrite a Go HTTP server that returns hello.",
        "Give me the bash command to find files larger than 1GB. Only the command.",
        "Write an Excel formula to sum column B where column A is 'yes'. Just the formula.",
        "awk to sum column 3 of a comma-separated file, skipping the header. one line, no prose",
        "Fix it and give me back the corrected function, nothing else\n\ndef f(a):\n    return a[0]",
        "Kotlin data class for a User with an id and an email. The answer should be just the code.",
        "sed one-liner that deletes blank lines in place. reply w/ only the command",
        "BigQuery SQL: daily active users from events(user_id, ts). I'm piping it into a file, so the query alone.",
        "Write a python function to reverse a string. No explanation needed.",
    ],
)
def test_requests_for_code_alone_are_read(prompt):
    request = parse_length_request(prompt)
    assert request.kind == "relative" and request.unit == "code_only", request
    assert request.multiplier == CODE_ONLY_MULTIPLIER and request.describe() == "x0.5 (code only)"


@pytest.mark.parametrize(
    "prompt",
    [
        "Write a function that returns only the even numbers from a list in Python.",
        "Explain why this code only works on Linux:\n```\nimport os\nos.fork()\n```",
        "Write a python script that prints just the file names in a folder.",
        "Write a regex that matches only digits.",
        "How do I make my Flask endpoint return just the JSON and nothing else?",
        "My commit tool fails with `Error: response must contain only code, no explanation`. What does that mean?",
        "My script outputs nothing — no error, no explanation, it just exits. Why?\n```python\nimport sys\n```",
        "I need a prompt that forces the model to output only SQL with no explanation. Write one and explain "
        "the design choices.",
        'What does this error mean? "Only one usage of each socket address is permitted." No explanation of '
        "sockets in general, please.",
        "No need to explain what a closure is, I get it. But why does this print 3?\n```js\nvar i = 3;\n```",
        "~~~if-not:python\n* ignore these marks, they're for Python only\n~~~\ndef permutation_average(n):\n\tpass",
    ],
)
def test_look_alikes_are_not_requests_for_code_alone(prompt):
    assert parse_length_request(prompt).unit not in CODE_ONLY_UNITS


def test_the_full_program_and_code_only_multiply():
    request = parse_length_request(
        "Write the complete Python script for a todo CLI, code only, no explanation."
    )
    assert request.unit == "full_code_only"
    assert request.multiplier == pytest.approx(FULL_CODE_MULTIPLIER * CODE_ONLY_MULTIPLIER)
    assert parse_length_request("Write the full program for a todo app in Python.").unit == "full_code"


def test_no_explanation_is_a_brief_answer_where_no_code_is_named():
    request = parse_length_request("Why is the sky blue? No explanation needed, just the gist.")
    assert request.unit == "brief" and request.multiplier == 0.5
    assert not names_code("Why is the sky blue?")
    assert names_code("awk to sum column 3") and names_code("a Dockerfile for a Flask app")


def test_a_match_reports_where_its_words_start():
    prompt = "Write an Excel formula to sum column B where column A is 'yes'. Just the formula."
    found = find_code_only(prompt)
    assert found is not None and found.text == "Just the formula"
    assert prompt[found.start : found.end] == found.text
    assert find_code_only(prompt, quoted=lambda at: True) is None


@pytest.mark.parametrize(
    ("prompt", "language"),
    [
        (
            "Donne-moi uniquement le code, sans explication : une fonction JavaScript debounce(fn, delay).",
            "fr",
        ),
        ("Nur den Regex bitte, keine Erklärung: E-Mail-Adressen, deren Domain auf .de endet.", "de"),
        ("Dame solo el código, sin explicación: una función que invierta una cadena.", "es"),
        ("Escribe un script de bash que haga copias de seguridad. Sin explicaciones.", "es"),
        ("Напиши функцию на Python, которая сортирует список. Только код, без объяснений.", "ru"),
        ("用Python写一个快速排序函数，只要代码，不要解释。", "zh"),
        ("Pythonでクイックソートの関数を書いて。コードのみ、説明は不要です。", "ja"),
    ],
)
def test_requests_for_code_alone_in_other_languages(prompt, language):
    request = parse_length_request(prompt)
    assert (request.unit, request.language, request.multiplier) == (
        "code_only",
        language,
        CODE_ONLY_MULTIPLIER,
    )


def test_the_code_of_a_postcode_is_still_a_short_answer():
    request = parse_length_request("¿Cuál es el código postal de Madrid centro? Solo el código.")
    assert request.unit == "short_answer" and request.language == "es"


@pytest.mark.parametrize(
    ("name", "asked", "least_read", "most_false"),
    [
        ("length_code_only_blind_1.jsonl", 45, 44, 0),
        ("length_code_only_blind_2.jsonl", 40, 35, 0),
        ("length_code_only_blind_3.jsonl", 40, 38, 0),
        ("length_code_only_multilingual.jsonl", 40, 39, 1),
        ("length_code_only_blind_4.jsonl", 30, 27, 1),
    ],
)
def test_blind_sets_of_requests_for_code_alone(name, asked, least_read, most_false):
    """Three sets by helpers who never saw the grammar (each asking for code alone or not, half of the
    rest hard look-alikes). Scored before their lessons: 6 of 45 read at the code's share before this
    reading (as "brief"); the second, held out, 24 of 40 and no false reading; the third, held out,
    30 of 40 and 3 false readings of 40. A fourth, in the eight other languages (five of each kind per
    language), held out: 19 of 40 and one false reading (a discount code asked for "nur den Code", in
    a prompt that names a Python course). A fifth, in English after all those lessons, held out: 20 of
    30 and one false reading of 30 (docs/predictor.md)."""
    rows = [json.loads(line) for line in (DATA / name).read_text(encoding="utf-8").splitlines()]
    read = [parse_length_request(r["prompt"]).unit in CODE_ONLY_UNITS for r in rows]
    assert sum(r["code_only"] for r in rows) == asked
    assert sum(hit for hit, r in zip(read, rows, strict=True) if r["code_only"]) >= least_read
    assert sum(hit for hit, r in zip(read, rows, strict=True) if not r["code_only"]) <= most_false
