"""How long a list of N things runs: the length a "list 30 fruits" / "give me 5 tips" request asks for.

Models do not write a list's items at one size. Names, words and titles take a few words each; things
(countries, books, composers) a name and often a line about it; points (tips, reasons, ways, benefits)
a sentence or a short paragraph; questions a sentence. And the more items asked for, the shorter each
one: three tips come with a paragraph apiece, thirty with a line. So a list of ``n`` items of a kind
runs ``WORDS_OF_FIVE[kind] * (n / 5) ** LIST_EXPONENT`` words, the kind read from the words that name
the items (:func:`list_kind`).

The sizes were fitted by least squares on ``log(words)`` over the list requests of CASTILLO and
AlpacaEval (``../shared/data``; observed: the median answer over the data's models, in words),
on the prompts the pooled model trains on only (its held-out 20% stay unseen):
``benchmarks/list_sizes.py`` refits them and scores them on the held-out prompts, and a test checks
that the constants below are its fit.
"""

from __future__ import annotations

import re

LIST_EXPONENT = 0.57
"""How a list's length grows with its item count: ``n ** 0.57`` (fitted; linear would be 1)."""

WORDS_OF_FIVE: dict[str, float] = {
    "label": 90.0,
    "thing": 210.0,
    "point": 245.0,
    "question": 155.0,
    "": 200.0,
}
"""Words of a five-item list by kind of item (fitted); ``""`` is a list whose kind is not read."""

_LABEL = (
    r"(?:key)?words?|adjectives?|adverbs?|verbs?|nouns?|synonyms?|antonyms?|rhymes?|(?:nick|user|"
    r"domain |brand |business |company |baby |dog |cat |pet |band |team |product )?names?|titles?|"
    r"keywords?|key ?phrases?|hashtags?|slogans?|taglines?|mottos?|headlines?|subject lines?|terms?|"
    r"phrases?|puns?|emojis?|acronyms?|abbreviations?|captions?"
)
_POINT = (
    r"tips?|reasons?|ways?|ideas?|strateg(?:y|ies)|benefits?|advantages?|disadvantages?|drawbacks?|"
    r"methods?|steps?|facts?|arguments?|causes?|effects?|factors?|suggestions?|insights?|techniques?|"
    r"points?|bullet(?:[ -]?points?|s)?|measures?|implications?|goals?|pros|cons|features?|"
    r"characteristics?|elements?|components?|principles?|rules?|habits?|mistakes?|lessons?|challenges?|"
    r"risks?|uses?|applications?|changes?|metrics?|topics?|recommendations?|approaches|practices|"
    r"considerations?|differences|similarities|solutions?|tricks?|hacks?|activities|"
    r"action items?|takeaways?|best practices|pitfalls?|signs?|symptoms?"
)
_QUESTION = (
    r"word problems?|(?:[\w-]+ )?questions?|quiz(?:zes)?|problems?|exercises?|riddles?|prompts?|statements?|"
    r"icebreakers|flashcards?|clues?"
)
_KIND = re.compile(rf"\b(?:(?P<question>{_QUESTION})|(?P<label>{_LABEL})|(?P<point>{_POINT}))\b", re.I)
_CLAUSE_END = re.compile(
    r"[.,:;?!()\n\"“”]|\b(?:of|for|to|that|which|who|about|on|from|in|with|by|and|or|"
    r"where|when|why|how|starting|describing|related)\b",
    re.I,
)
_QUOTED_MODIFIER = re.compile(r"^\s*[\"“'‘][^\"”'’\n]{1,40}[\"”'’]")
"""A quoted modifier right after the count: five "fill in the blank" questions."""
_NAMING_WORDS = 5
"""Words after the count that may name the items ("five most important facts", "30 dynamic business
names"): the clause's first words, before a preposition or a relative clause."""


def list_kind(after_count: str) -> str:
    """The kind of item a list request names, from the text just after its count ("30 fruits",
    " positive words starting with C", " tips for better sleep"): ``"label"``, ``"point"``,
    ``"question"``, else ``"thing"``."""
    after_count = _QUOTED_MODIFIER.sub(" ", after_count, count=1)
    end = _CLAUSE_END.search(after_count)
    naming = after_count[: end.start() if end else len(after_count)]
    words = naming.split()[:_NAMING_WORDS]
    found = _KIND.search(" ".join(words))
    return found.lastgroup if found is not None and found.lastgroup else "thing"


def named_kind(text: str) -> str | None:
    """The kind of the first item-naming word in ``text`` ("Podcast name ideas …" → ``"label"``), or None."""
    found = _KIND.search(text)
    return found.lastgroup if found is not None else None


KIND_NOUNS: dict[str, dict[str, str]] = {
    "es": {
        "label": r"nombres|t[ií]tulos|frases|esl[oó]ganes|palabras|sin[oó]nimos|hashtags|titulares|apodos",
        "question": r"preguntas|ejercicios|problemas|acertijos|adivinanzas",
    },
    "pt": {
        "label": r"nomes|t[ií]tulos|frases|slogans|palavras|sin[oô]nimos|hashtags|manchetes|apelidos",
        "question": r"perguntas|exerc[ií]cios|problemas|charadas|adivinhas",
    },
    "fr": {
        "label": r"noms|titres|slogans|mots|synonymes|hashtags|surnoms|accroches",
        "question": r"questions|exercices|probl[eè]mes|devinettes|[ée]nigmes",
    },
    "it": {
        "label": r"nomi|titoli|frasi|slogan|parole|sinonimi|hashtag|soprannomi",
        "question": r"domande|esercizi|problemi|indovinelli",
    },
    "de": {
        "label": r"namen|titel|slogans?|w[öo]rter|synonyme|hashtags|[üu]berschriften|spitznamen",
        "question": r"fragen|aufgaben|[üu]bungen|r[äa]tsel",
    },
    "ru": {
        "label": r"\b(?:назван|имен|слов|заголов|слоган|синоним|хэштег|прозвищ)",
        "question": r"\b(?:вопрос|задач|упражнени|загад)",
    },
    "zh": {
        "label": r"名字|名称|名稱|标题|標題|口号|口號|词语|詞語|单词|單詞|成语|成語|昵称|暱稱|书名|書名",
        "question": r"问题|問題|题目|題目|练习|練習|谜语|謎語",
        "point": r"方法|办法|辦法|建议|建議|理由|原因|技巧|窍门|竅門|步骤|步驟|优点|優點|缺点|缺點|好处|好處|要点|要點|习惯|習慣|策略|注意事项",
    },
    "ja": {
        "label": r"名前|タイトル|キャッチコピー|単語|言葉|見出し|ネーミング|あだ名",
        "question": r"質問|問題|練習|なぞなぞ|クイズ",
        "point": r"方法|コツ|理由|アイデア|アイディア|ポイント|メリット|デメリット|ステップ|習慣|注意点|秘訣|戦略|対策",
    },
}
"""In the other languages' grammars, the nouns of lists of labels and of questions (word stems in
Russian), and in Chinese and Japanese of points (elsewhere the grammar's own item nouns, tips, reasons,
ideas…, are the points, as their measure words are not); any other list is of things."""
_KIND_IN: dict[str, re.Pattern[str]] = {
    code: re.compile("|".join(f"(?P<{kind}>{words})" for kind, words in nouns.items()), re.I)
    for code, nouns in KIND_NOUNS.items()
}
_NAMING_CHARACTERS = 40
"""Characters of a list's own text and what follows it where another language's kind is read."""


def list_kind_in(language: str, listed: str, point_nouns: re.Pattern[str] | None = None) -> str:
    """The kind of a list read in ``language`` from ``listed``, its text and what follows ("dame 10
    nombres para …" → ``"label"``); ``point_nouns``: the grammar's item nouns (tips, reasons, ideas…)."""
    window = listed[:_NAMING_CHARACTERS]
    pattern = _KIND_IN.get(language)
    found = pattern.search(window) if pattern is not None else None
    if found is not None and found.lastgroup:
        return found.lastgroup
    own_points = language in _KIND_IN and "point" in KIND_NOUNS[language]
    return "point" if not own_points and point_nouns is not None and point_nouns.search(window) else "thing"


def list_words(count: float, kind: str = "") -> float:
    """Words of a list of ``count`` items of ``kind`` (:data:`WORDS_OF_FIVE`, :data:`LIST_EXPONENT`)."""
    return WORDS_OF_FIVE[kind] * (count / 5.0) ** LIST_EXPONENT
