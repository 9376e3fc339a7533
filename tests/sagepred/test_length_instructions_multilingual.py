"""Length instructions in Spanish, Portuguese, French, Italian, German, Russian, Chinese and Japanese.

The cases here are our own wordings, not the blind probe sets' (those are scored at the end, as the
English ones are in test_length_instructions.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from sagepred.length_grammars import GRAMMARS
from sagepred.length_instructions import NO_REQUEST, parse_length_request
from sagepred.length_instructions_multilingual import (
    CJK_CHARS_PER_WORD,
    TOKENS_PER_WORD_BY_LANGUAGE,
    _compiled,
    detect_languages,
)
from sagepred.list_sizes import list_words
from sagepred.probes import score_parser

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.mark.parametrize(
    ("prompt", "language", "unit", "words"),
    [
        # counts and their units, with digits and number words
        ("Escribe un artículo de 1.200 palabras sobre el cambio climático.", "es", "word", 1200),
        ("Resume la Revolución Rusa en tres frases.", "es", "sentence", 54),
        ("Explica la fotosíntesis en dos párrafos, por favor.", "es", "paragraph", 94),
        ("Redacta un informe de una página y media sobre las ventas.", "es", "page", 750),
        ("Necesito una carta de presentación de unas 250 palabras.", "es", "word", 250),
        ("Escreva um texto de no máximo 300 palavras sobre o SUS.", "pt", "word", 240),
        ("Resuma o filme em duas frases.", "pt", "sentence", 36),
        ("Rédige une lettre de motivation d'une page pour un stage.", "fr", "page", 500),
        ("Explique la blockchain en 100 mots maximum.", "fr", "word", 80),
        ("Écris un poème de quatre strophes de quatre vers sur l'automne.", "fr", "line", 160),
        ("Scrivi un saggio di almeno 800 parole sull'Unione Europea.", "it", "word", 920),
        ("Spiegami il Bitcoin in cinque righe.", "it", "line", 50),
        ("Schreibe einen Aufsatz mit 500 Wörtern über den Klimawandel.", "de", "word", 500),
        ("Erkläre die Inflation in zwei Sätzen.", "de", "sentence", 36),
        ("Fasse den Roman auf einer halben Seite zusammen.", "de", "page", 250),
        ("Verfasse einen zweiseitigen Brief an den Vermieter.", "de", "page", 1000),
        ("Напиши эссе на 300 слов о дружбе.", "ru", "word", 300),
        ("Объясни квантовую механику в трёх предложениях.", "ru", "sentence", 54),
        ("Опиши Москву не более чем в двух абзацах.", "ru", "paragraph", 94),
        ("请用三句话介绍一下长城。", "zh", "sentence", 91.8),
        ("写一篇关于环保的作文，800字左右。", "zh", "character", 800),
        ("帮我写一段自我介绍，不超过两百字。", "zh", "character", 160),
        ("东京について300字で説明してください。", "ja", "character", 300),
        ("この映画のあらすじを3文でまとめて。", "ja", "sentence", 91.8),
        # lists
        ("Dame 5 ideas para un cumpleaños infantil.", "es", "item", list_words(5, "point")),
        ("Quais são as 5 melhores praias do Nordeste?", "pt", "item", list_words(5, "thing")),
        ("Nenne mir mindestens 10 Gründe für das Ehrenamt.", "de", "item", list_words(10 * 1.15, "point")),
        ("Предложи 4 названия для кофейни.", "ru", "item", list_words(4, "label")),
        ("给我列出5个学习英语的方法。", "zh", "item", list_words(5, "point") * CJK_CHARS_PER_WORD),
        ("週末の過ごし方を3つ挙げてください。", "ja", "item", list_words(3, "thing") * CJK_CHARS_PER_WORD),
        # a word or so
        ("¿Es Madrid la capital de España? Responde sí o no.", "es", "yes_no", 1),
        ("Décris Paris en un seul mot.", "fr", "one_word", 1),
        ("Wer schrieb den Faust? Nur den Namen.", "de", "short_answer", 1),
        ("水的化学式是什么？只回答答案，不要解释。", "zh", "short_answer", 1),
    ],
)
def test_counts_and_short_answers(prompt: str, language: str, unit: str, words: float) -> None:
    request = parse_length_request(prompt)
    assert request.kind == "absolute", request
    assert request.language == language
    assert request.unit == unit
    assert request.requested_words == pytest.approx(words, rel=0.01)


@pytest.mark.parametrize(
    ("prompt", "multiplier"),
    [
        ("Explica brevemente qué es un ETF.", 0.5),
        ("Explique-moi en détail le fonctionnement d'un moteur diesel.", 1.6),
        ("Erkläre ausführlich, wie ein Kühlschrank funktioniert.", 1.6),
        ("Кратко: что такое инфляция?", 0.5),
        ("请详细介绍一下量子计算的原理。", 1.6),
        ("简单说说什么是区块链，别展开。", 0.5),
        ("量子コンピュータについて簡潔に教えて。", 0.5),
        ("Spiegami in dettaglio come funziona la borsa.", 1.6),
    ],
)
def test_shorter_and_longer_answers(prompt: str, multiplier: float) -> None:
    request = parse_length_request(prompt)
    assert request.kind == "relative"
    assert request.multiplier == multiplier


@pytest.mark.parametrize(
    "prompt",
    [
        # someone else's rule, a text that exists, a question about a count, a rate, quotes, data
        "Mi profesora dice que el trabajo tiene que tener 10 páginas. ¿Qué tema me recomiendas?",
        "Ce roman fait 400 pages, est-ce que ça vaut la peine de le lire ?",
        "Quante parole ha la Divina Commedia?",
        "Ich lese 30 Seiten pro Tag. Wann bin ich mit dem Buch fertig?",
        "Was bedeutet 'Fasse den Text in drei Sätzen zusammen' auf Englisch?",
        "Мой диплом сейчас примерно 80 страниц, это нормально?",
        "这本书有300页，适合初中生读吗？",
        "卒論は2万字以上って言われたけど、参考文献も数えるの？",
        "Tengo que escribir un ensayo de 3000 palabras para el lunes, ¿cómo me organizo?",
        "Il mio file CSV ha 2000 righe: come rimuovo i duplicati con pandas?",
        "Traduce al inglés:\n\nEl informe final tendrá 40 páginas y cinco capítulos.\n\nGracias.",
        "Escribe una regex que valide contraseñas de 8 a 16 caracteres.",
        "Um livro tem 300 páginas e eu leio 20 páginas por dia. Quantos dias demoro?",
    ],
)
def test_counts_that_set_no_length_are_not_read(prompt: str) -> None:
    assert parse_length_request(prompt).kind != "absolute", parse_length_request(prompt)


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        ("Escribe un cuento sobre un dragón.", ["es"]),
        ("Écris un poème sur la mer.", ["fr"]),
        ("Schreib mir eine E-Mail an meinen Chef.", ["de"]),
        ("Напиши письмо другу.", ["ru"]),
        ("写一首关于月亮的诗", ["zh"]),
        ("月についての詩を書いて", ["ja"]),
        # English prompts stay English, whatever they quote or however they open
        ("Describe a scene in a few sentences.", []),
        ("Propose a strategy to build a strong online presence", []),
        ("Translate from Chinese to English.\nInput: 他坚持不懈。", []),
        ("Web search results:\n\n[1] The solar system ...\n\nReply in Español", []),
        ("Summarize this Spanish article in two sentences:\n\nEl gobierno aprobó ayer la ley.", []),
    ],
)
def test_language_detection(prompt: str, expected: list[str]) -> None:
    assert detect_languages(prompt)[: len(expected)] == expected
    if not expected:
        assert detect_languages(prompt) == []


def test_the_request_decides_the_language_not_the_material_it_pastes() -> None:
    request = parse_length_request("Resume este texto en dos frases:\n\nThe city council voted on Tuesday.")
    assert (request.language, request.unit, request.count) == ("es", "sentence", 2)
    assert "es" in detect_languages("Resume este texto en dos frases:\n\nThe city council voted on Tuesday.")


@pytest.mark.parametrize(
    ("code", "text", "value"),
    [
        ("es", "dos mil quinientas", 2500),
        ("es", "1.500", 1500),
        ("es", "1,5", 1.5),
        ("fr", "deux cents", 200),
        ("it", "duecentocinquanta", 250),
        ("de", "zweihundertfünfzig", 250),
        ("de", "eine halbe", 0.5),
        ("ru", "пол", 0.5),
        ("ru", "две тысячи", 2000),
        ("zh", "两千五百", 2500),
        ("zh", "一百五十", 150),
        ("zh", "十五", 15),
        ("zh", "三五", 4),
        ("zh", "20万", 200_000),
        ("ja", "三千", 3000),
    ],
)
def test_numbers(code: str, text: str, value: float) -> None:
    assert _compiled(code).number(text) == pytest.approx(value)


def test_lengths_in_tokens_follow_the_language_and_the_tokenizer() -> None:
    spanish = parse_length_request("Escribe un ensayo de 1000 palabras sobre Cervantes.")
    english = parse_length_request("Write a 1000-word essay on Cervantes.")
    chinese = parse_length_request("写一篇1000字的文章，介绍鲁迅。")
    assert spanish.requested_tokens("llama3") == pytest.approx(
        1000 * TOKENS_PER_WORD_BY_LANGUAGE["es"]["llama3"]
    )
    assert spanish.requested_tokens("llama3") > english.requested_tokens("llama3")
    assert chinese.describe() == "1,000 characters"
    assert chinese.requested_tokens("qwen") < chinese.requested_tokens("llama2")
    assert spanish.requested_tokens("unknown-family") == pytest.approx(
        1000 * TOKENS_PER_WORD_BY_LANGUAGE["es"][None]
    )


def test_tokens_per_word_are_measured_on_the_bundled_prose(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The table is what the real tokenizers count on tests/data/length_prose_*.txt."""
    from sagepred.tokenizers import load_tokenizer

    monkeypatch.setenv("SAGEPRED_TOKENIZERS_DIR", str(data_dir / "tokenizers"))
    for language, table in TOKENS_PER_WORD_BY_LANGUAGE.items():
        text = (DATA / f"length_prose_{language}.txt").read_text(encoding="utf-8")
        units = len(re.sub(r"\s", "", text)) if language in ("zh", "ja") else len(text.split())
        for family in ("llama3", "qwen", "llama2"):
            tokens = load_tokenizer(family).count(text)
            assert tokens / units == pytest.approx(table[family], rel=0.01), (language, family)


def test_english_readings_are_unchanged_by_the_other_grammars() -> None:
    assert parse_length_request("Describe how cryptocurrencies work in a few sentences.").language == "en"
    assert parse_length_request("List 5 adjectives that describe a sunny day.").unit == "item"
    assert parse_length_request("Propose a procedure for presenting a report.") == NO_REQUEST


def test_every_grammar_compiles_and_reads_its_own_unit_nouns() -> None:
    for code in GRAMMARS:
        compiled = _compiled(code)
        assert compiled.count.pattern and compiled.request.pattern


@pytest.mark.parametrize(
    ("name", "least_read", "most_wrong", "most_false_positives", "most_relative_misses"),
    [
        ("length_instructions_multilingual_1.jsonl", 248, 1, 0, 0),
        ("length_instructions_multilingual_2.jsonl", 248, 2, 2, 0),
        ("length_instructions_multilingual_3.jsonl", 250, 0, 0, 0),
        ("length_instructions_multilingual_4.jsonl", 242, 1, 6, 7),  # held out (229), then code explanations
    ],
)
def test_probe_sets_written_without_the_grammar_are_read(
    name: str, least_read: int, most_wrong: int, most_false_positives: int, most_relative_misses: int
) -> None:
    """Four rounds of prompts by helpers that never saw the grammar, 60 per language and round (32
    with a length, 8 shorter / longer, 20 whose numbers set no length), each scored before the grammar
    learnt from it (docs/predictor.md). Held out, the first two rounds were read 378 of 512 times, the
    second (after the first's lessons) 205 of 256, the third 229, the fourth 229 (one rule came after
    it: explanations of pasted code); "a few words" counts as read here when both readings are five
    words or fewer (eight characters), as the sets call it five and the grammar three."""
    rows = [json.loads(line) for line in (DATA / name).read_text(encoding="utf-8").splitlines()]
    score = score_parser(rows, few_words=True)
    assert len(rows) == 480 and score.lengths == 256
    assert score.read >= least_read, score.read
    assert len(score.wrong) <= most_wrong, score.wrong
    assert len(score.false_positives) <= most_false_positives, score.false_positives
    assert len(score.relative_misses) <= most_relative_misses, score.relative_misses


def test_the_fifth_round_written_without_the_grammar_is_read() -> None:
    """A fifth round, 40 prompts per language (20 with a length, 6 shorter / longer, 14 whose numbers set
    no length), by four helpers writing as native speakers who never saw the grammar. Held out: 135 of
    160 read, 1 wrong, 15 false readings (six of them a pasted text to translate or correct, sized by the
    text as designed), 7 relative requests missed (four "en pocas palabras" and the like, read as a few
    words). After its lessons (spoken texts timed in minutes or seconds, a count before a colon that
    opens the question, "ma nouvelle de 500 mots", "Mein Lehrer will …", "140字未満", 「はい」か「いいえ」,
    Russian counts after their noun, "me lister 10 films", Chinese measure words, "zwischen drei und
    fünf") 152 of 160, none wrong (docs/predictor.md)."""
    rows = [
        json.loads(line)
        for line in (DATA / "length_instructions_multilingual_5.jsonl")
        .read_text(encoding="utf-8")
        .splitlines()
    ]
    score = score_parser(rows, few_words=True)
    assert len(rows) == 320 and score.lengths == 160
    assert score.read >= 152, score.read
    assert not score.wrong and len(score.false_positives) <= 12, (score.wrong, score.false_positives)
    assert len(score.relative_misses) <= 7, score.relative_misses


@pytest.mark.parametrize(
    ("prompt", "spoken_words"),
    [
        (
            "Mi hermana se casa y me toca dar el discurso. Escríbeme algo emotivo que dure unos 3 minutos.",
            390.0,
        ),
        ("Preparami un discorso di tre minuti per la festa di laurea di mia sorella.", 390.0),
        ("Kannst du mir eine Rede schreiben, die so 3-4 Minuten dauert?", 455.0),
        ("Mi prepari il messaggio per la segreteria telefonica? Massimo 20 secondi.", 0.8 * 20 / 60 * 130),
    ],
)
def test_a_spoken_text_is_timed_in_other_languages(prompt: str, spoken_words: float) -> None:
    request = parse_length_request(prompt)
    assert request.unit == "minute" and request.requested_words == pytest.approx(spoken_words)


@pytest.mark.parametrize(
    "prompt",
    [
        "Meine Präsentation im Seminar soll 10 Minuten dauern. Wie viele Folien sollte ich einplanen?",
        "Unser Lehrer hat gesagt, das Referat soll 10 Minuten dauern. Welche Themen passen?",
    ],
)
def test_a_talk_that_is_not_asked_for_is_not_timed(prompt: str) -> None:
    assert parse_length_request(prompt).unit != "minute"


@pytest.mark.parametrize(
    ("prompt", "unit", "count"),
    [
        ("入门经济学有什么好书？给我列个书单，3本就够", "item", 3.0),
        ("给我推荐5部科幻电影", "item", 5.0),
        ("澳大利亚的首都是哪个城市？就回答城市名，别的不用说", "short_answer", 1.0),
        ("Tu pourrais me lister 10 films français cultes des années 90 ?", "item", 10.0),
        # a range of number words joined by "and", and "от … до …"
        ("Schreib mir eine sachliche E-Mail, zwischen drei und fünf Absätzen.", "paragraph", 4.0),
        ("Escribe un texto de entre dos y tres páginas sobre el agua.", "page", 2.5),
        ("Напиши текст от трёх до пяти абзацев.", "paragraph", 4.0),
        ("Écris un poème de vingt et un vers sur la mer.", "line", 21.0),
        # a Russian count after its noun: about so many
        ("Напиши стих про зиму в деревне, строк 12, можно без рифмы", "line", 12.0),
        ("Напиши краткую аннотацию к роману, предложения в два.", "sentence", 2.0),
        ("Напиши рассказ, слов на 300.", "word", 300.0),
        ("Нужна речь на выпускной, минуты на 2-3, чтоб трогательно.", "minute", 2.5),
    ],
)
def test_the_readings_the_fifth_round_taught(prompt: str, unit: str, count: float) -> None:
    request = parse_length_request(prompt)
    assert (request.unit, request.count) == (unit, count)


def test_hours_counted_with_a_measure_word_are_no_list() -> None:
    assert parse_length_request("我儿子5岁了，每天看平板差不多两个小时，是不是太多了").kind == "none"


@pytest.mark.parametrize(
    ("prompt", "unit", "count"),
    [
        ("Explain this code in two sentences:\n\n```python\ndef f(x):\n    return x * 2\n```", "sentence", 2),
        (
            "Describe what the following function does in one paragraph.\n\ndef f(xs):\n    return xs[::-1]",
            "paragraph",
            1,
        ),
        (
            "Explica este código en tres frases:\n\n```js\nconst f = (a) => a.map((x) => x * 2);\n```",
            "sentence",
            3,
        ),
        (
            "Que fait cette fonction ? Explique-la en une phrase.\n\ndef g(s):\n    return s.upper()",
            "sentence",
            1,
        ),
        ("Объясни этот код одним абзацем:\n\n```python\nprint(sorted(set(xs)))\n```", "paragraph", 1),
        (
            "下面这段代码是做什么的？用两句话说明。\n```python\ndef f(n):\n    return n * n\n```",
            "sentence",
            2,
        ),
        (
            "```sql\nSELECT * FROM t WHERE id = 1;\n```\nAny problem with this? Keep it to two sentences.",
            "sentence",
            1.6,  # "keep it to" bounds it: at most two
        ),
        ("Give me a 40-word summary of what this does:\n\n```sh\ntar -czf out.tgz ./logs\n```", "word", 40),
    ],
)
def test_an_explanation_of_pasted_code_is_sized_by_its_request(prompt: str, unit: str, count: float) -> None:
    request = parse_length_request(prompt)
    assert (request.unit, request.count) == (unit, count), request


@pytest.mark.parametrize(
    "prompt",
    [
        # writing code: its counts are the data's, and "explain … in a paragraph" comes with the code
        "Create an algorithm that reverses a string and explain how it works in a paragraph.",
        "Write a function that returns the first 10 lines of a file.\n\ndef head(path):\n    pass",
        "Explain this code:\n\n```python\nfor i in range(10):\n    print(i)\n```\nIt prints 10 lines.",
        "Escribe una función que devuelva las 5 primeras palabras:\n\ndef f(s):\n    pass",
        "Build a Rust CLI that prints a file's last 20 lines, then explain it in one paragraph.",
        "Write a bash one-liner that counts the words in notes.txt.",
        "Why does this print 3 lines instead of 4?\n\n```python\nfor i in range(3):\n    print(i)\n```",
        "def clip(text, n=30):\n    return text[:n]\n\nWhy is the output cut at 30 characters or fewer?",
    ],
)
def test_code_counts_stay_unread(prompt: str) -> None:
    assert parse_length_request(prompt).kind != "absolute", parse_length_request(prompt)


@pytest.mark.parametrize(
    ("name", "size", "lengths", "least_read", "most_wrong", "most_false_positives"),
    [
        # English prompts about code: explanations of pasted code with a size (40), programming tasks
        # whose numbers are the code's (30), explanations with no size (15), write-and-explain (15)
        # "… and explain in like 2 sentences what useState is doing": a React component is not read as a
        # programming task, so its write-and-explain size counts (read since "in like N" is a lead-in)
        ("length_instructions_code.jsonl", 100, 40, 26, 2, 1),
        # two languages meet: a request in one around text in another (35), counts in pasted or
        # quoted foreign text (40), plain requests quoting a foreign phrase (25)
        ("length_instructions_mixed_languages.jsonl", 100, 35, 30, 0, 1),
    ],
)
def test_code_and_mixed_language_sets_written_without_the_grammar(
    name: str, size: int, lengths: int, least_read: int, most_wrong: int, most_false_positives: int
) -> None:
    """Two more sets by helpers who never saw the grammars. Held out: code 18 of 40 read, 8 false
    positives in 60 (16 and 8 with the grammar of the stop's start); mixed languages 30 of 35 read, 1
    false positive in 65 (7 and 2 at the stop's start)."""
    rows = [json.loads(line) for line in (DATA / name).read_text(encoding="utf-8").splitlines()]
    score = score_parser(rows, few_words=True)
    assert len(rows) == size and score.lengths == lengths
    assert score.read >= least_read, score.read
    assert len(score.wrong) <= most_wrong, score.wrong
    assert len(score.false_positives) <= most_false_positives, score.false_positives


def test_language_names_that_are_english_words_make_code_only_capitalised() -> None:
    essay = "Write a 300-word essay on why kids should go outside instead of playing on the app."
    assert parse_length_request(essay).requested_words == 300
    note = "Write a short note on how people react to the new app, 100 words."
    assert parse_length_request(note).requested_words == 100
    server = "Write a Go HTTP server in 50 lines and explain it in a paragraph."
    assert parse_length_request(server).kind == "none"


def test_closed_answers_written_without_the_grammar_are_read() -> None:
    """Closed answers in the eight languages (a label, a letter, a score, true or false, ○ or ×, a name,
    an emoji, one field; 6 per language) and look-alikes (6 per language), by a helper writing as a
    native speaker who never saw the grammar. Held out: 25 of 48 read, none wrong, 4 false readings (three
    of them lists a look-alike asks for: "五款新能源车 … 逐一说明理由", "5 domande"). The three lists stay,
    and two relative requests read as absolute short ones ("en quelques mots") or taken back ("In due
    parole... no dai scherzo")."""
    rows = [
        json.loads(line)
        for line in (DATA / "length_closed_multilingual.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    score = score_parser(rows, few_words=True)
    assert len(rows) == 96 and score.lengths == 48
    assert score.read == 48 and not score.wrong, score.wrong
    assert len(score.false_positives) <= 3, score.false_positives
    assert len(score.relative_misses) <= 2, score.relative_misses


@pytest.mark.parametrize(
    ("prompt", "unit"),
    [
        (
            "Aufgabe: Ordne den Satz einer Kategorie zu (Sport, Politik).\nAusgabe: nur die Kategorie.\n\nSatz: „Der DAX stieg.“",
            "short_answer",
        ),
        ("Réponds uniquement par « vrai » ou « faux » : la tour Eiffel date de 1889.", "yes_no"),
        ("○か×で答えて。理由はいらない。\nクジラは哺乳類である。", "yes_no"),
        (
            "Responde únicamente con una de estas etiquetas: POSITIVO, NEGATIVO, NEUTRO.\n\nReseña: llegó tarde.",
            "short_answer",
        ),
        ("判断对错，只回答“对”或“错”：水的沸点是100摄氏度。", "short_answer"),
        (
            "Определи тональность отзыва. Выведи только метку: positive или negative.\n\nОтзыв: «Быстро.»",
            "short_answer",
        ),
    ],
)
def test_closed_answers_in_other_languages(prompt: str, unit: str) -> None:
    assert parse_length_request(prompt).unit == unit, parse_length_request(prompt)


@pytest.mark.parametrize(
    "prompt",
    [
        "Vrai ou faux : on n'utilise que 10 % de notre cerveau ? J'aimerais une vraie explication, pas juste un oui.",
        "帮我写一个Python函数，判断一个字符串是不是回文，返回True或False，顺便讲讲思路。",
        "¿Verdadero o falso? El Sol es una estrella. Explícame por qué con detalle.",
    ],
)
def test_closed_answers_with_their_reasons_are_not_read(prompt: str) -> None:
    request = parse_length_request(prompt)
    assert request.unit not in ("yes_no", "one_word", "short_answer"), request


def test_templates_in_other_languages_written_without_the_grammar_are_read() -> None:
    """Templates in the eight languages (spec-sheet fields "Länge:", "Объём:", "字数：", "【分量】", sections,
    XML tags, JSON keys "max_palabras" / "字数上限"; 6 with a length and 4 look-alikes per language), by a
    helper writing as a native developer who never saw the grammar. Held out: 2 of 49 read (a middle
    line of a template was taken for pasted material), 2 false readings of 31, all 8 relative requests
    missed. Still unread: "【分量】A4用紙1枚"; a slogan asked in "一句" is read as one sentence."""
    rows = [
        json.loads(line)
        for line in (DATA / "length_templates_multilingual.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    score = score_parser(rows, few_words=True)
    assert len(rows) == 80 and score.lengths == 49
    assert score.read >= 48 and not score.wrong, score.wrong
    assert len(score.false_positives) <= 1 and not score.relative_misses, (
        score.false_positives,
        score.relative_misses,
    )


@pytest.mark.parametrize(
    ("prompt", "words", "unit"),
    [
        (
            "Rolle: Kundenservice\nLänge: 150–200 Wörter\nAufgabe: Erkläre den Abschlag.\n\nKundenanfrage:\n„Warum?“",
            175.0,
            "word",
        ),
        (
            "<角色>行业分析师</角色>\n<字数>不少于800字</字数>\n<要求>数据需注明来源</要求>",
            920.0,
            "character",
        ),
        ("役割：広報担当\n対象：全世帯\n文字数：400字程度\n文体：です・ます調", 400.0, "character"),
        ("Du bist Fachautor.\nThema: Zero Trust\nUmfang: ca. 2 Seiten\nStil: sachlich", 1000.0, "page"),
        (
            'Genera el texto:\n{\n  "tipo": "email",\n  "max_palabras": 80\n}\nDevuelve solo el cuerpo.',
            64.0,
            "word",
        ),
        ('请根据以下配置生成描述：\n{\n  "商品": "榨汁杯",\n  "字数上限": 100\n}', 80.0, "character"),
        (
            "<rolle>HR</rolle>\n<laenge>5 Stichpunkte à 8 Wörter</laenge>\n<gespraech>\nEr möchte 32 Stunden.\n</gespraech>",
            40.0,
            "items_of",
        ),
        ("你是周报助手。\n格式：5条要点，每条约20字\n工作记录：\n周一完成了联调。", 100.0, "items_of"),
        ("## Rol\nEres redactor SEO.\n\n## Formato\n- Máximo 120 palabras\n- Sin emojis", 96.0, "word"),
    ],
)
def test_lengths_in_templates_in_other_languages(prompt: str, words: float, unit: str) -> None:
    request = parse_length_request(prompt)
    assert request.unit == unit and request.requested_words == pytest.approx(words, rel=0.01), request


@pytest.mark.parametrize(
    ("prompt", "kind"),
    [
        (
            "Du bist der Assistent.\nEingabetext des Nutzers: max. 5000 Zeichen.\nOrdne das Anliegen zu.\n\n{{eingabe}}",
            "none",
        ),
        ("你是法律助手。\n用户输入不超过500字，超出部分会被截断。\n请判断问题属于哪个领域。", "none"),
        (
            "Zielgruppe: Azubis im 2. Lehrjahr\nBudget: 500 €\nFormat: Workshop, 1 Tag\n\nSchlage eine Agenda vor.",
            "none",
        ),
        ("Asistente: bot de WhatsApp\nTono: cálido\nLongitud: corta\nDatos: {{nombre}}", "relative"),
        ("场景：App推送通知\n触发条件：用户连续5天未打卡\n篇幅：简短\n语气：轻松幽默", "relative"),
        (
            "App: Estuda+\nIdade do aluno: 14 anos\nNível de detalhe: detalhado, passo a passo\nPergunta: Como resolvo 3x + 7 = 22?",
            "relative",
        ),
    ],
)
def test_template_fields_in_other_languages_that_set_no_count(prompt: str, kind: str) -> None:
    assert parse_length_request(prompt).kind == kind, parse_length_request(prompt)


@pytest.mark.parametrize(
    ("name", "lengths", "least_read", "most_false_positives"),
    [
        # held out: 30 of 40, none wrong, 3 false of 32, 6 of 8 relative requests missed; the false reading
        # left is a translation of a pasted e-mail, sized by the e-mail as designed
        ("length_templates_multilingual_2.jsonl", 40, 40, 1),
        # held out: 26 of 48, 2 wrong (lists of true / false questions read as one), 4 false of 24, 4 of 8
        # relative requests missed
        ("length_closed_multilingual_2.jsonl", 48, 47, 0),
    ],
)
def test_second_rounds_in_other_languages(
    name: str, lengths: int, least_read: int, most_false_positives: int
) -> None:
    """Second rounds by helpers writing as native speakers who never saw the grammar, after the first
    rounds' lessons (docs/predictor.md)."""
    rows = [json.loads(line) for line in (DATA / name).read_text(encoding="utf-8").splitlines()]
    score = score_parser(rows, few_words=True)
    assert len(rows) == 72 and score.lengths == lengths
    assert score.read >= least_read and not score.wrong, score.wrong
    assert len(score.false_positives) <= most_false_positives, score.false_positives
    assert not score.relative_misses, score.relative_misses


@pytest.mark.parametrize(
    ("prompt", "unit"),
    [
        ("Prepárame 8 preguntas de verdadero o falso sobre la Revolución Francesa.", "item"),
        ("出 5 道判断题，考查初中物理的浮力知识，每道题后面标注答案（对/错）。", "item"),
        (
            "Gib genau ein Label aus, sonst nichts.\nNutzer: Hab grad gemerkt, dass mein Portemonnaie weg ist!",
            "short_answer",
        ),
        (
            "[SISTEMA] Devuelve exclusivamente una de estas intenciones: facturacion, averia, baja.\n[USUARIO] Sin fibra.",
            "short_answer",
        ),
        (
            "De este correo sácame la fecha, en formato DD/MM/AAAA y nada más.\n\n---\nHola Marta: lo llevaríamos el jueves.",
            "short_answer",
        ),
        (
            "用一个表情符号回复下面这句话，除了表情什么都别写：\n\n“今天终于把毕业论文交上去了！！！”",
            "short_answer",
        ),
        (
            "Riassumi il tono di questa recensione con un'unica emoji e nient'altro.\n\n«Pizza fredda.»",
            "short_answer",
        ),
    ],
)
def test_closed_answers_and_lists_of_the_second_round(prompt: str, unit: str) -> None:
    assert parse_length_request(prompt).unit == unit, parse_length_request(prompt)


@pytest.mark.parametrize(
    "prompt",
    [
        "帮我写一个给大模型用的提示词，让它判断用户输入是不是广告，只输出“是”或“否”。",
        "是或否：现在学 Rust 还来得及吗？别只回一个字，说说你的理由。",
        "Объясни подробно, как обучить модель, которая на выход отдаёт только метку «позитив» или «негатив».",
        "Consignes du rapport :\n- 10 pages maximum hors annexes\n- police 12\n\nQuelle police je devrais choisir ?",
        "Kontext (5 Treffer aus dem Wiki, Top 3 angezeigt):\n[1] Urlaub 4 Wochen vorher.\n\nFrage: Wann verfällt Resturlaub?",
    ],
)
def test_closed_answers_and_counts_that_are_not_the_answers_in_other_languages(prompt: str) -> None:
    request = parse_length_request(prompt)
    assert request.kind != "absolute", request


def test_a_length_refusal_is_not_a_bound() -> None:
    assert parse_length_request("写一封给客户的道歉邮件，货物延迟发货了。不要超过三段。").unit == "paragraph"


def test_an_hour_of_mixed_traffic_in_other_languages_is_read() -> None:
    """96 prompts sampling an hour of API traffic in the eight languages (12 each: 6 with a length, 2
    relative, 4 without), written after every lesson above by a helper who never saw the grammar. Held
    out: 44 of 48 read, 1 wrong, 7 false readings of 48 (three are translations and a rewrite sized by their
    pasted text, as designed), 1 of 16 relative requests missed. After its lessons (each item's size
    after a list, "5 млн строк", why-questions about a platform's limit, "pede um pré-projeto de até 10
    páginas", "只输出意图标签") 47 of 48; the false reading left beside the transforms: "Un tweet può avere al
    massimo 280 caratteri, …" ("può" also opens a polite request)."""
    rows = [
        json.loads(line)
        for line in (DATA / "length_mixed_traffic_multilingual.jsonl")
        .read_text(encoding="utf-8")
        .splitlines()
    ]
    score = score_parser(rows, few_words=True)
    assert len(rows) == 96 and score.lengths == 48
    assert score.read >= 47 and not score.wrong, score.wrong
    assert len(score.false_positives) <= 4 and not score.relative_misses, (
        score.false_positives,
        score.relative_misses,
    )


@pytest.mark.parametrize(
    ("prompt", "words"),
    [
        (
            "Fasse die Änderungen im Mietvertrag in 5 Stichpunkten zusammen, jeweils etwa 12 Wörter.\n\n§ 3 Miete: 845 €.",
            60.0,
        ),
        ("请用英文回答，写两段话：为什么 Python 适合初学者？", 160.0),
    ],
)
def test_each_items_size_and_a_request_before_a_why_question(prompt: str, words: float) -> None:
    assert parse_length_request(prompt).requested_words == pytest.approx(words, rel=0.01)


@pytest.mark.parametrize(
    "prompt",
    [
        "Почему этот запрос выполняется 12 секунд на таблице в 5 млн строк?\n\nSELECT * FROM orders LIMIT 20;",
        "Xのポストは全角140字までなのに、英語だと280文字まで書けるのはなぜですか？",
        "O edital pede um pré-projeto de no máximo 10 páginas. Quais seções costumam ser obrigatórias?",
    ],
)
def test_counts_in_questions_about_them_are_not_lengths(prompt: str) -> None:
    assert parse_length_request(prompt).kind != "absolute", parse_length_request(prompt)


@pytest.mark.parametrize(
    "prompt",
    [
        "Un tweet può avere al massimo 280 caratteri, mentre un post su Threads 500. Quali sono le differenze?",
        "Un tweet può avere al massimo 280 caratteri? Spiegami il limite.",
    ],
)
def test_puo_opens_a_request_only_before_an_output_verb(prompt: str) -> None:
    """ "Può" is a polite request in "(Mi) può scrivere …", a statement of a rule in "Un tweet può avere …"."""
    assert parse_length_request(prompt).kind != "absolute", parse_length_request(prompt)
    assert parse_length_request("Mi può scrivere un riassunto di 100 parole?").requested_words == 100


@pytest.mark.parametrize(
    ("prompt", "words"),
    [
        (
            "Redacta un post para el blog de nuestra clínica dental.\n\n## Título (máximo 12 palabras)\n"
            "## Introducción (unas 80 palabras)\n## Ventajas (3 viñetas de 20 palabras cada una)",
            0.8 * 12 + 80 + 3 * 20,
        ),
        (
            "Formuliere eine E-Mail an unsere Kunden zur Preiserhöhung:\nBetreff: max. 10 Wörter\nAnrede\n"
            "Absatz 1: Grund der Erhöhung, 3 Sätze\nAbsatz 2: neue Preise, ca. 50 Wörter",
            8 + 54 + 50,
        ),
    ],
)
def test_an_answer_in_sized_parts_is_their_sum_in_other_languages(prompt: str, words: float) -> None:
    request = parse_length_request(prompt)
    assert request.unit == "parts" and request.requested_words == pytest.approx(words, rel=0.05), request


def test_a_part_that_states_the_whole_length_is_not_summed() -> None:
    prompt = "prompt_template: 採用ブログ記事\nテーマ: 入社3年目エンジニアの一日\n文字数: 1000字以上\n見出し: 3つ程度"
    assert parse_length_request(prompt).unit != "parts", parse_length_request(prompt)


def test_the_sized_parts_set_in_other_languages() -> None:
    """``length_parts_multilingual.jsonl`` (64 prompts, 8 per language), by a helper who never saw the
    grammars: held out 1 of 40 read and 3 false of 24 (the parts reader was English); after the layouts
    of labelled sizes were read in every grammar, 8 of 40 and 3 (docs/predictor.md)."""
    rows = [
        json.loads(line)
        for line in (DATA / "length_parts_multilingual.jsonl").read_text("utf-8").splitlines()
    ]
    score = score_parser(rows, few_words=True)
    assert len(rows) == 64 and score.lengths == 40
    assert score.read >= 8, score.wrong
    assert len(score.false_positives) <= 3, score.false_positives
