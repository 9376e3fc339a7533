"""Requests to transform a pasted text are sized by the text (sagepred.length_transforms).

Real parts: the parser itself, the real tokenizers' tokens-per-word table, parallel texts for the
translation ratios, and prompt sets written by helpers who never saw the grammar.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from sagepred.length_instructions import parse_length_request
from sagepred.length_transforms import (
    LANGUAGE_NAMES,
    LONGER_FACTOR,
    PREAMBLE_WORDS,
    SHORTER_FACTOR,
    TOKENS_PER_WORD_TRANSLATED,
    UNITS_PER_ENGLISH_WORD,
    PastedTransform,
    find_transform,
)
from sagepred.probes import score_parser

DATA = Path(__file__).resolve().parents[1] / "data"
TEXT = (
    "The committee met on Tuesday to discuss the budget for the coming year. After a long debate, "
    "members agreed to increase funding for public libraries and to reduce spending on road maintenance. "
    "Several residents spoke during the public comment period, raising concerns about park safety. "
)
WORDS = len(TEXT.split())  # 45


def words_for(factor: float, text_words: float = WORDS, language: str = "en") -> float:
    return (text_words * factor + PREAMBLE_WORDS) * UNITS_PER_ENGLISH_WORD[language]


@pytest.mark.parametrize(
    ("prompt", "factor", "language"),
    [
        (f"Proofread this:\n\n{TEXT}", 1.0, "en"),
        (f"Hey, could you fix the typos in my email? Thanks!\n\n{TEXT}", 1.0, "en"),
        (f"{TEXT}\n\ncan you make this sound less robotic?", 1.0, "en"),
        (f"{TEXT}\n\npls fix grammar and spelling, dont change the content", 1.0, "en"),
        (f"Translate into French: {TEXT}", 1.0, "fr"),
        (f"Translate this letter into Spanish, French and German:\n\n{TEXT}", 3.0, "es"),
        (f"I need this notice in both Spanish and Portuguese:\n\n{TEXT}", 2.0, "es"),
        (f"Can you put this into simplified Chinese?\n\n{TEXT}", 1.0, "zh"),
        (f"Make this more concise:\n{TEXT}", SHORTER_FACTOR, "en"),
        (f"Rewrite the following passage and reduce it by half\n\n{TEXT}", 0.5, "en"),
        (f"Make this about 30% shorter for the newsletter:\n\n{TEXT}", 0.7, "en"),
        (f"The 'Our Story' page feels too short. Can you make it about twice as long?\n\n{TEXT}", 2.0, "en"),
        (f"Flesh this out for the website:\n\n{TEXT}", LONGER_FACTOR, "en"),
        (f"Can you elaborate on this paragraph for my essay?\n\n{TEXT}", LONGER_FACTOR, "en"),
        (f"Improve this article:\n\n{TEXT}", LONGER_FACTOR, "en"),  # models expand what they improve
        (f"Can you improve the wording a bit? Don't make it longer.\n\n{TEXT}", 1.0, "en"),
        (f"Give me 3 different versions of this email:\n\n{TEXT}", 3.0, "en"),
        (f"Rewrite in third person for the speaker bio (my name is Tessa Moreau):\n\n{TEXT}", 1.0, "en"),
        (f"Proofread my grandmother's obituary before we send it:\n\n{TEXT}", 1.0, "en"),
    ],
)
def test_a_transform_is_as_long_as_its_text(prompt: str, factor: float, language: str) -> None:
    request = parse_length_request(prompt)
    assert request.kind == "absolute" and request.unit == "pasted_text", request
    assert request.language == language
    assert request.requested_words == pytest.approx(words_for(factor, language=language), rel=0.02)


def test_a_translation_is_counted_in_its_language_and_tokenizer() -> None:
    english = parse_length_request(f"Proofread this:\n\n{TEXT}")
    chinese = parse_length_request(f"Translate this into Chinese:\n\n{TEXT}")
    assert chinese.language == "zh" and chinese.describe() == "the pasted text in zh (78 characters)"
    assert chinese.requested_words == pytest.approx(english.requested_words * UNITS_PER_ENGLISH_WORD["zh"])
    assert chinese.requested_tokens("qwen") < chinese.requested_tokens("llama2")
    back = parse_length_request(
        "Translate to English:\n" + "人工智能正在改变我们的生活方式，从医疗到交通都有它的身影。" * 3
    )
    characters = (
        len(re.findall(r"[\u4e00-\u9fff]", "人工智能正在改变我们的生活方式，从医疗到交通都有它的身影。")) * 3
    )
    assert back.language == "en"
    assert back.requested_words == pytest.approx(characters / UNITS_PER_ENGLISH_WORD["zh"] + PREAMBLE_WORDS)


def test_a_translation_into_a_language_of_unknown_length_is_not_read() -> None:
    assert parse_length_request(f"Translate this into Swedish:\n\n{TEXT}").kind == "none"
    assert find_transform(f"Translate this into Indonesian and French:\n\n{TEXT}") is None


@pytest.mark.parametrize("language", ["ko", "nl", "pl", "tr", "vi", "ar", "hi"])
def test_languages_without_a_grammar_are_translation_targets(language: str) -> None:
    """Korean, Dutch, Polish, Turkish, Vietnamese, Arabic and Hindi have no length grammar, but a
    translation into them is sized (their words per English word and tokens per word are measured on
    the parallel texts), and a text in them is told by its script or its letters."""
    name = next(key for key, code in LANGUAGE_NAMES.items() if code == language)
    request = parse_length_request(f"Translate this into {name.title()}:\n\n{TEXT}")
    assert request.unit == "pasted_text" and request.language == language
    assert request.requested_words == pytest.approx(words_for(1.0, language=language))
    assert request.requested_tokens("llama3") == pytest.approx(
        request.requested_words * TOKENS_PER_WORD_TRANSLATED[language]["llama3"]
    )
    if language != "nl":  # Dutch passes as English, word for word
        translated = (DATA / "parallel" / f"{language}_2.txt").read_text(encoding="utf-8")
        back = parse_length_request(f"Translate this into English:\n\n{translated}")
        assert back.language == "en" and back.requested_words == pytest.approx(
            len(translated.split()) / UNITS_PER_ENGLISH_WORD[language] + PREAMBLE_WORDS
        )


def test_tokens_per_word_of_the_translation_targets_are_measured(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The table is what the real tokenizers count on the parallel translations."""
    from sagepred.tokenizers import load_tokenizer

    monkeypatch.setenv("SAGEPRED_TOKENIZERS_DIR", str(data_dir / "tokenizers"))
    for language, table in TOKENS_PER_WORD_TRANSLATED.items():
        texts = [(DATA / "parallel" / f"{language}_{n}.txt").read_text(encoding="utf-8") for n in (1, 2, 3)]
        words = sum(len(text.split()) for text in texts)
        for family in ("llama3", "qwen", "llama2", "cl100k"):
            tokens = sum(load_tokenizer(family).count(text) for text in texts)
            assert tokens / words == pytest.approx(table[family], abs=0.001), (language, family)


def test_a_follow_up_works_on_the_previous_answer() -> None:
    chat = f"user: Explain how the committee works.\nassistant: {TEXT * 2}\nuser: "
    shorter = parse_length_request(chat + "Make it shorter.")
    assert shorter.unit == "pasted_text" and shorter.requested_words == pytest.approx(
        words_for(0.6, 2 * WORDS)
    )
    half = parse_length_request(chat + "half the length pls")
    assert half.requested_words == pytest.approx(words_for(0.5, 2 * WORDS))
    german = parse_length_request(chat + "perfect. translate to german so I can print it")
    assert german.language == "de"
    assert german.requested_words == pytest.approx(words_for(1.0, 2 * WORDS, "de"))
    assert parse_length_request(chat + "Thanks! What is a quorum?").kind == "none"


@pytest.mark.parametrize(
    ("prompt", "words"),
    [
        (f"Rewrite this in 50 words:\n{TEXT}", 50),
        (f"Can you cut it to 200 words without losing the story?\n\n{TEXT * 6}", 200),
        (f"Can you rewrite this opening paragraph to be 75 words? Recruiters skim.\n\n{TEXT * 2}", 75),
        (f"I need a version of this that's 25 words max for the product card:\n\n{TEXT}", 20),
        (f"Turn this into a 30-second elevator pitch I can say out loud:\n\n{TEXT * 3}", 65),
        (f"Turn this into a tweet:\n{TEXT * 2}", 55),
    ],
)
def test_a_size_in_the_request_wins_over_the_text(prompt: str, words: float) -> None:
    assert parse_length_request(prompt).requested_words == pytest.approx(words, rel=0.01)


def test_a_description_of_the_text_is_no_size() -> None:
    request = parse_length_request(
        f"can u turn this into numbered steps? my mum wrote it like one long paragraph lol\n\n{TEXT * 3}"
    )
    assert request.unit == "pasted_text" and request.requested_words == pytest.approx(
        words_for(1.0, 3 * WORDS)
    )


@pytest.mark.parametrize(
    "prompt",
    [
        f"Summarize this:\n{TEXT}",
        f"Is this grammatically correct?\n{TEXT}",
        f"What is the tone of this email?\n\n{TEXT}",
        f"In the text below, rewrite only the first sentence.\n\n{TEXT}",
        f"Just translate the headline, not the whole article:\n\n{TEXT}",
        "Translate the word 'giraffe' to French.",
        "What's a good tool to paraphrase text?",
        f"I have to translate this into German myself, so please DON'T translate it. Tell me the hard parts.\n\n{TEXT}",
        "Rewrite the sentence 'He is a smart person' in passive voice.",  # shorter than MIN_SOURCE_WORDS
        "Fix this bug:\n\nfor i in range(10):\n    print(rows[i])\n\nIt fails when there are fewer than 10 lines.",
        "Divide the following expression and simplify it: 8x^3 + 12x^2 - 4x + 16x^5 - 3x^2 + 7x - 2 + x^4",
        'Draft a reply to the customer below, apologetic but firm.\n\nCustomer email:\n"I was charged twice '
        "for my plan this month and waited 35 minutes on the phone. Fix it or I'm leaving.\"",
        f"Pull out all the dates from this email and put them in a list.\n\n{TEXT}",
        f"Write a reply to this email:\n\n{TEXT}",
        f"Rewrite the story of Cinderella from the stepmother's perspective. {TEXT}",
    ],
)
def test_look_alikes_are_not_transforms(prompt: str) -> None:
    assert parse_length_request(prompt).unit != "pasted_text"


@pytest.mark.parametrize(
    ("prompt", "language"),
    [
        (
            "Corrígeme las faltas de este párrafo, porfa:\n\n"
            + "El comité se reunió el martes para hablar del presupuesto. " * 3,
            "es",
        ),
        (
            "Traduz para inglês:\n\n"
            + "O comitê se reuniu na terça-feira para discutir o orçamento do ano. " * 3,
            "en",
        ),
        (
            "Tu peux le rendre plus chaleureux ?\n\n"
            + "Le comité s'est réuni mardi pour discuter du budget de l'année. " * 3,
            "fr",
        ),
        (
            "Traduci in inglese:\n\n"
            + "Il comitato si è riunito martedì per discutere il bilancio dell'anno. " * 3,
            "en",
        ),
        (
            "Kannst du das lockerer formulieren?\n\n"
            + "Der Ausschuss traf sich am Dienstag, um den Haushalt zu besprechen. " * 3,
            "de",
        ),
        (
            "Сократи, пожалуйста, этот текст\n\n"
            + "Комитет собрался во вторник, чтобы обсудить бюджет на следующий год. " * 3,
            "ru",
        ),
        (
            "帮我把这段话翻译成英文：\n\n" + "委员会周二开会讨论了明年的预算，决定增加公共图书馆的经费。" * 3,
            "en",
        ),
        (
            "これを英語に訳してください。\n\n"
            + "委員会は火曜日に集まり、来年度の予算について話し合いました。" * 3,
            "en",
        ),
    ],
)
def test_transforms_in_other_languages(prompt: str, language: str) -> None:
    request = parse_length_request(prompt)
    assert request.unit == "pasted_text" and request.language == language, request


@pytest.mark.parametrize(
    "prompt",
    [
        "Resume este artículo en dos frases:\n\n"
        + "El comité se reunió el martes para hablar del presupuesto. " * 3,
        "帮我检查一下这封邮件有没有错别字：\n\n张经理您好：附件是我们修改后的方案，共15页。如有问题请随时联系我。",
        "[Sistema] Eres el asistente de una aerolínea.\n[Usuario] mi maleta no ha llegado a Lima y nadie me dice nada",
        "Как лучше перевести на английский слово «компетенции» в этом предложении: «Курс направлен на развитие компетенций»",
    ],
)
def test_look_alikes_in_other_languages(prompt: str) -> None:
    assert parse_length_request(prompt).unit != "pasted_text"


def test_the_translation_ratios_are_measured_on_the_parallel_texts() -> None:
    cjk = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff]")

    def units(language: str) -> int:
        texts = [(DATA / "parallel" / f"{language}_{n}.txt").read_text(encoding="utf-8") for n in (1, 2, 3)]
        return sum(len(cjk.findall(t)) if language in ("zh", "ja") else len(t.split()) for t in texts)

    english = units("en")
    assert english > 1200
    for language, ratio in UNITS_PER_ENGLISH_WORD.items():
        assert units(language) / english == pytest.approx(ratio, abs=0.001), language


def test_a_transform_reads_its_text_in_its_own_language() -> None:
    transform = PastedTransform("Translate", "人工智能" * 10, "zh", "en", 1.0, "")
    assert transform.source_english_words == pytest.approx(40 / UNITS_PER_ENGLISH_WORD["zh"])
    assert transform.requested_words() == pytest.approx(40 / UNITS_PER_ENGLISH_WORD["zh"] + PREAMBLE_WORDS)


@pytest.mark.parametrize(
    ("name", "size", "least_transforms", "least_sized", "most_wrong", "most_read_negatives"),
    [
        # first scored before the grammar saw them: 57 / 80 transforms, 10 / 25 sizes, 6 wrong, 2 negatives
        ("length_transforms_blind_1.jsonl", 160, 74, 19, 4, 4),
        # scored held out after the first set's lessons: 58 / 80, 19 / 25, 1 wrong, 2 negatives
        ("length_transforms_blind_2.jsonl", 150, 76, 21, 1, 2),
        # held out after the second set's lessons: 64 / 80, 15 / 25 (7 wrong), 3 negatives of the older grammar
        ("length_transforms_blind_3.jsonl", 150, 76, 19, 3, 4),
        # held out after the third set's lessons: 73 / 80, 18 / 25 (5 wrong), 6 negatives of the older grammar
        ("length_transforms_blind_4.jsonl", 150, 78, 17, 5, 8),
        # 0 / 96 before the other languages' words, 72 / 96 with their first version
        ("length_transforms_multilingual.jsonl", 160, 92, 19, 4, 2),
        # held out after the first set's lessons: 74 / 96, 16 / 24 (5 wrong), 5 negatives (4 transforms)
        ("length_transforms_multilingual_2.jsonl", 160, 90, 15, 6, 2),
    ],
)
def test_prompt_sets_written_without_the_grammar(
    name: str, size: int, least_transforms: int, least_sized: int, most_wrong: int, most_read_negatives: int
) -> None:
    """Sets of transforms ("kind": "transform", with the pasted "source" and the "factor" asked),
    transforms with a size of their own ("sized") and look-alikes ("none"), written by helpers who
    never saw the grammar. The negatives read in the English sets are readings of the older grammar
    ("Give me 5 title ideas for this blog post", "What are the 3 key takeaways from these notes?", "Give
    me like 8 with tips", "Which 2 should I cut?" and, since 2026-12-07, "Make 5 multiple-choice quiz
    questions from this text" (a list of five questions, rightly) as lists, "Just answer yes or no", "Write a tweet
    announcing this new blog post. Under 280 characters.", "Summarize this chapter in 5 bullet points")."""
    rows = [json.loads(line) for line in (DATA / name).read_text(encoding="utf-8").splitlines()]
    assert len(rows) == size
    score = score_parser(rows)
    assert score.transforms == sum(row["kind"] == "transform" for row in rows)
    assert score.transforms_read >= least_transforms, score.transform_misses
    assert score.read >= least_sized and len(score.wrong) <= most_wrong, score.wrong
    assert len(score.false_positives) <= most_read_negatives, score.false_positives
