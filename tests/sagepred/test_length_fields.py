"""Lengths stated as a template's fields (:mod:`sagepred.length_fields`)."""

from __future__ import annotations

import pytest

from sagepred.length_fields import KeyedLength, field_of, keyed_length, relative_field


def _field_at(prompt: str, count: str) -> str | None:
    return field_of(prompt, prompt.index(count))


@pytest.mark.parametrize(
    ("prompt", "count", "kind"),
    [
        ("Tone: friendly\nLength: 150-200 words\nAudience: parents", "150", "answer"),
        ("Task: Write a memo.\n- Response length: 2 paragraphs", "2 paragraphs", "answer"),
        ("Use the documents. Length: approximately 120 words.", "120", "answer"),
        ("<length>about 60 words</length>", "60", "answer"),
        ('{"format": "3 bullet points"}', "3 bullet", "answer"),
        ("## Format\nExactly 3 paragraphs, each around 80 words.", "3 paragraphs", "answer"),
        ("## Constraints\n- One discount code\n- 120–150 words", "120", "answer"),
        ("Input limit: the user text is at most 2000 characters.", "2000", "input"),
        ("Context: 3 paragraphs of meeting notes follow.", "3 paragraphs", "input"),
        ("USER TEXT: 400 words about my trip", "400", "input"),
        ("Audience: 5th graders", "5th", None),
        ("Write 3 paragraphs about otters.", "3 paragraphs", None),
        ("User: Keep your reply to about 90 words.", "90", None),
        ("Context: our survey of 412 firms. Write a blog post of 500-700 words.", "500", None),
    ],
)
def test_the_field_a_count_opens(prompt: str, count: str, kind: str | None) -> None:
    assert _field_at(prompt, count) == kind


def test_a_section_ends_at_a_blank_line_or_a_line_of_prose() -> None:
    assert _field_at("## Format\n\n3 paragraphs.", "3 paragraphs") is None
    assert (
        _field_at("## Format\nWrite it warmly, as the founder would.\n3 paragraphs.", "3 paragraphs") is None
    )


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        ('{"max_words": 120, "style": "formal"}', KeyedLength(120.0, "word", 0.8, '"max_words": 120')),
        (
            "number_of_sentences: 6\nstyle: conversational",
            KeyedLength(6.0, "sentence", 1.0, "number_of_sentences: 6"),
        ),
        ("<word_limit>200</word_limit>", KeyedLength(200.0, "word", 0.8, "<word_limit>200</word_limit>")),
        ('{"target_length_words": 800}', KeyedLength(800.0, "word", 1.0, '"target_length_words": 800')),
        ("Word count: ~500", KeyedLength(500.0, "word", 1.0, "Word count: ~500")),
        ('{"min_paragraphs": 3}', KeyedLength(3.0, "paragraph", 1.15, '"min_paragraphs": 3')),
        (
            '{"num_bullets": 3, "words_per_bullet": 10}',
            KeyedLength(3.0, "item", 1.0, '"num_bullets": 3', per_item=10.0),
        ),
        ('{"max_bullets": 5}', KeyedLength(5.0, "item", 1.0, '"max_bullets": 5')),
        ('{"length_range": "150-250 words"}', None),
        ('{"pages": 4, "reading_time_min": 6}', None),
        ('{"input_max_chars": 4000}', None),
        ('{"max_words": 120}\nWhich field should I drop?', None),
    ],
)
def test_keyed_lengths(prompt: str, expected: KeyedLength | None) -> None:
    assert keyed_length(prompt) == expected


@pytest.mark.parametrize(
    ("prompt", "direction"),
    [
        ("Role: helpdesk bot\nLength: short\nUser: How do I reset it?", -1),
        ("Mode: quick answer", -1),
        ('{"verbosity": "high"}', 1),
        ("<length>detailed</length>", 1),
        ("Response length: very long", 1),
        ("Tone: short and friendly", None),
        ("Length: 200 words", None),
        ("The length: short films are under 40 minutes.", None),
    ],
)
def test_size_words_in_fields(prompt: str, direction: int | None) -> None:
    found = relative_field(prompt)
    assert (found[0] if found else None) == direction


def test_sections_and_their_questions() -> None:
    from sagepred.length_fields import section_of

    rules = "Requisitos:\n1. O texto deve ter 2 parágrafos.\n2. Sem jargão."
    assert section_of(rules, rules.index("2 par")) == "answer"
    asked = "Consignes du rapport :\n- 10 pages maximum\n\nQuelle police je devrais choisir ?"
    assert section_of(asked, asked.index("10")) is None  # the rules are what the question is about
    template = "## 回复要求\n- 不超过300字\n## 用户消息\n还能退吗？"
    assert section_of(template, template.index("300")) == "answer"  # the question is the user message
    assert _field_at("Kontext (5 Treffer, Top 3 angezeigt):\n[1] Urlaub", "Top 3") == "input"
    assert _field_at("Требования:\n1. Объём — около 1860 знаков.", "1860") == "answer"


def test_keys_in_other_languages() -> None:
    units = {"word": r"palabras?", "item": r"puntos|t[oó]picos|punti"}
    assert keyed_length('{"max_palabras": 80}', units) == KeyedLength(80.0, "word", 0.8, '"max_palabras": 80')
    assert keyed_length("Quantidade de tópicos: 6", units) == KeyedLength(
        6.0, "item", 1.0, "Quantidade de tópicos: 6"
    )
    assert keyed_length("<absaetze>4</absaetze>") == KeyedLength(
        4.0, "paragraph", 1.0, "<absaetze>4</absaetze>"
    )
    assert keyed_length("字数上限：200", {"character": "字"}) == KeyedLength(
        200.0, "character", 0.8, "字数上限：200"
    )
