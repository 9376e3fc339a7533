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
"""Words of a five-item list by kind of item (fitted); ``""`` is a list whose items are not read (the
other languages' grammars)."""

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
_QUESTION = r"(?:[\w-]+ )?questions?|quiz(?:zes)?|problems?|exercises?|riddles?|prompts?"
_KIND = re.compile(rf"\b(?:(?P<label>{_LABEL})|(?P<point>{_POINT})|(?P<question>{_QUESTION}))\b", re.I)
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


def list_words(count: float, kind: str = "") -> float:
    """Words of a list of ``count`` items of ``kind`` (:data:`WORDS_OF_FIVE`, :data:`LIST_EXPONENT`)."""
    return WORDS_OF_FIVE[kind] * (count / 5.0) ** LIST_EXPONENT
