"""Length instructions in Spanish, Portuguese, French, Italian, German, Russian, Chinese and Japanese.

:func:`detect_languages` says which of these a prompt is written in (by script, then by common words),
and :func:`parse_multilingual_request` reads its request with the word lists of
:mod:`sagepred.length_grammars`: a count and its unit ("en 200 palabras", "drei Sätze", "в двух
абзацах", "500字以内", "3つ挙げて"), a list's size ("dame 5 ideas"), one word, yes or no, "just the
number", and a shorter or longer answer than usual ("brevemente", "ausführlich", "详细"). It is a
smaller grammar than the English one (:mod:`sagepred.length_instructions`) and errs the same way, towards
reading nothing: a count must sit in a sentence that asks for something (a request cue or a preposition
that sizes the answer: "en", "in", "в", "で") and is skipped when it is quoted, describes a text that
exists ("este artículo de 3000 palabras", "这篇文章有3000字"), reports someone else's rule ("mi profesor
dice que…"), asks how many ("combien de mots"), or is a rate ("20 páginas al día").

Lengths are in the language's words (Chinese and Japanese: characters); :data:`TOKENS_PER_WORD_BY_LANGUAGE`
turns them into tokens. Four rounds of probe sets written by helpers who never saw this grammar measure
it (``tests/data/length_instructions_multilingual_*.jsonl``, docs/predictor.md).
"""

from __future__ import annotations

import bisect
import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sagepred.code_only import CODE_ONLY_MULTIPLIER, names_code
from sagepred.length_fields import answer_field_line, field_of, keyed_length, relative_field, section_of
from sagepred.length_grammars import GRAMMARS, LanguageGrammar, word_set
from sagepred.length_parts import answer_parts
from sagepred.list_sizes import list_kind_in, list_words

if TYPE_CHECKING:
    from sagepred.length_instructions import LengthRequest

CJK_CHARS_PER_WORD = 1.7
"""Characters of Chinese or Japanese text per English word of the same content (the unit sizes of
:data:`sagepred.length_instructions.WORDS_PER_UNIT` in characters)."""

TOKENS_PER_WORD_BY_LANGUAGE: dict[str, dict[str | None, float]] = {
    "es": {
        "cl100k": 1.538,
        "llama3": 1.536,
        "qwen": 1.542,
        "llama2": 1.773,
        "mistral-v1": 1.848,
        "mistral-v3": 1.848,
    },
    "pt": {
        "cl100k": 1.666,
        "llama3": 1.665,
        "qwen": 1.639,
        "llama2": 1.924,
        "mistral-v1": 2.018,
        "mistral-v3": 2.018,
    },
    "fr": {
        "cl100k": 1.653,
        "llama3": 1.650,
        "qwen": 1.631,
        "llama2": 1.842,
        "mistral-v1": 1.883,
        "mistral-v3": 1.883,
    },
    "it": {
        "cl100k": 1.774,
        "llama3": 1.769,
        "qwen": 1.765,
        "llama2": 1.892,
        "mistral-v1": 2.002,
        "mistral-v3": 2.002,
    },
    "de": {
        "cl100k": 1.859,
        "llama3": 1.843,
        "qwen": 1.850,
        "llama2": 2.035,
        "mistral-v1": 2.188,
        "mistral-v3": 2.188,
    },
    "ru": {
        "cl100k": 3.110,
        "llama3": 2.047,
        "qwen": 2.192,
        "llama2": 2.538,
        "mistral-v1": 2.781,
        "mistral-v3": 2.781,
    },
    "zh": {
        "cl100k": 1.183,
        "llama3": 0.821,
        "qwen": 0.628,
        "llama2": 1.487,
        "mistral-v1": 1.150,
        "mistral-v3": 1.150,
    },
    "ja": {
        "cl100k": 1.067,
        "llama3": 0.733,
        "qwen": 0.669,
        "llama2": 1.246,
        "mistral-v1": 1.161,
        "mistral-v3": 1.161,
    },
}
"""Tokens per word (Chinese and Japanese: per character, whitespace aside) of each tokenizer family, measured
on about 1,200 words (2,000 characters) of assistant-style answers per language written for the
purpose (``tests/data/length_prose_*.txt``); None, families not listed: their mean."""
for _table in TOKENS_PER_WORD_BY_LANGUAGE.values():
    _table[None] = round(sum(_table.values()) / len(_table), 3)

CHARACTER_LANGUAGES = frozenset({"zh", "ja"})
"""Languages whose lengths are counted in characters."""

MAX_COUNT = 100_000
"""No request asks for more units than this; a larger number is data ("9,000,000 palabras")."""

_OR_QUESTION = re.compile(r"(?:还是|還是|それとも).*[?？]")
_QUESTION = re.compile(r"[?？]$|(?:ますか|ですか|でしょうか|の|かな|吗|嗎|呢)$")
"""A question's end (in Japanese also without a question mark)."""
_SENTENCE_END = re.compile(r"(?<!\bmax)(?<!\bmin)(?<!\bca)(?<!\bapprox)(?<!\baprox)(?<!\bz\.B)[.?!。？！\n]")
_CLAUSE_END = re.compile(r"[.?!。？！\n,;:，、；：–—(（]")
_QUOTE_PAIRS = (('"', '"'), ("“", "”"), ("«", "»"), ("„", "“"), ("「", "」"), ("『", "』"), ("‘", "’"))
_CONTRAST = re.compile(
    r"\b(?:pero|mas|mais|ma|aber|но|однако)\b|但是|但|不过|不過|でも|しかし", re.IGNORECASE
)
_TOP = re.compile(r"(?<!\w)(?:top|топ)[ -]?(?P<n>\d{1,3})(?!\w)", re.IGNORECASE)
_HAN = re.compile(r"[\u4e00-\u9fff]")
_KANA = re.compile(r"[\u3040-\u30ff]")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]")
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
_ENGLISH = word_set(
    """the a an and or but of to on at by for from with about as into than then so if is are was were be
    been being do does did have has had i you he she it we they me my your our their this that these those
    what which who whom how why when where there here not no yes can could would should will shall may might
    must please just also very more most some any all each every other such only own same few many much
    write describe explain list name give tell make create generate suggest compose summarize summarise
    provide find identify classify convert translate rewrite edit answer imagine brainstorm design develop
    compare analyze analyse discuss outline draft plan show help need want like use using word words
    sentence sentences paragraph paragraphs page pages story essay poem following input text below
    propose present perform given set let reply question problem statement suppose each get made
    one two three first new now way people time out up down them him her his its over after before
    itinerary trip stops"""
)
_ENGLISH_NOUNS = word_set(
    "page pages phrase phrases points questions options suggestions arguments titles slogans tips "
    "strategies ideas lines line stanzas items"
)
"""Unit nouns English shares with the other languages: no sign of them in a prompt of unknown language."""
_MARKS = {"es": "ñ¿¡", "pt": "ãõ", "de": "ßäöü", "fr": "œêë", "it": "ìòù"}
_SOFTWARE = re.compile(
    r"maxlength|<\w+|```|\bfunci[oó]n\b|\bfun[cz]ione\b|\bfonction\b|\bfunktion\b|функци|函数|函數|関数|"
    r"\btextarea\b|\bregex\b|正規表現|正则|正則|\bexcel\b|\bplanilha\b|hoja de c[aá]lculo|\bcsv\b|varchar|"
    r"регулярк\w*",
    re.IGNORECASE,
)
"""Software and data: a count of characters or lines there is a field's or a file's, not the answer's."""
_SOFTWARE_NEAR = re.compile(
    r"\bstring\b|\bstringa\b|\bcha[iî]ne\b|\bcadena\b|\bcampo\b|\bchamp\b|\bfeld\b|\binput\b|"
    r"\bsheets?\b|\bsql\b|\bpython\b|\bjavascript\b|\bscript\b|эксел\w*|\bexcel\w*|"
    r"парол\w*|\bpassword\b|contrase[ñn]a|mot de passe|passwort|\bsenha\b|密码|密碼|パスワード",
    re.IGNORECASE,
)
"""The same, in the count's own sentence only ("a bio of 2,000 characters. I know SQL, Python" is prose)."""
_BOUND_AFTER = re.compile(
    r"\s*,?\s*(?P<most>max\.?|maximum|m[aá]x(?:imo)?|massimo|maximal|h[öo]chstens|максимум|tops|como mucho|"
    r"au maximum|como m[aá]ximo|no m[aá]ximo|al massimo|или меньше|ou moins|o menos|o meno|oder weniger)"
    r"|\s*,?\s*(?P<least>minimum|m[ií]nimo|minimo|mindestens|минимум|au moins|como m[ií]nimo|no m[ií]nimo|"
    r"al minimo|или больше|ou plus|o m[aá]s|ou mais|o pi[uù]|oder mehr)(?!\w)",
    re.IGNORECASE,
)
"""A bound after the unit ("150 caractères max", "500 Wörter mindestens")."""
_JA_EXISTS = re.compile(
    r"\s*(?:以上|以下|くらい|ぐらい|ほど|程度|近く)?(?:ある|あります|あった|もある|からなる|から成る)"
)
_JA_TEXT_OF = re.compile(r"\s*(?:以上|以下|くらい|ぐらい|ほど|程度|近く)?の(?:小説|本|論文|記事|文章|作品)")
"""After a Japanese count: a text that has it ("500ページある小説"), or, in a sentence that asks for
nothing, a text of that length ("500ページの小説")."""
_AND_A_HALF = re.compile(
    r"\s+(?:y media|y medio|e meia|e meio|et demie?|e mezz[oa]|und ein halb|с половиной)\b", re.I
)
_FENCE = re.compile(r"```.*?(?:```|$)", re.DOTALL)
_SINGLE_QUOTED = re.compile(r"(?<!\w)'[^'\n]{1,300}'(?!\w)")
"""Text in straight single quotes (not an elision: "l'article", "d'une")."""


def _instruction_lines(prompt: str) -> str | None:
    """The first and last lines of a prompt of three or more, the first of two (the request, not the
    material it pastes: "Resume esto en dos frases:\n<an English article>"); None for one line."""
    lines = [line for line in prompt.splitlines() if line.strip()]
    if len(lines) < 2 or len(lines[0].strip()) < 6:
        return None
    return lines[0] + "\n" + lines[-1] if len(lines) >= 3 else lines[0]


def _scores(sample: str) -> tuple[dict[str, float], bool, int]:
    """Each language's evidence in ``sample`` (kept where it beats English's), whether the script alone
    decided (Chinese, Japanese, Russian), and the English words. A language's request verbs are only
    looked for when it has a common word there or English has few (most prompts: English, in ASCII)."""
    if not sample.isascii():
        han, kana = len(_HAN.findall(sample)), len(_KANA.findall(sample))
        latin = len(_LATIN.findall(sample))
        if kana >= 2 and (han + kana) * 2 >= latin:
            return {"ja": 10.0}, True, 0
        if han >= 2 and han * 2 >= latin:
            return {"zh": 10.0}, True, 0
        if len(_CYRILLIC.findall(sample)) > latin:
            return {"ru": 10.0}, True, 0
    words = [w.lower() for w in _WORD.findall(sample) if len(w) > 1]
    english = sum(w in _ENGLISH for w in words)
    foreign = [w for w in words if w not in _ENGLISH]
    scores: dict[str, float] = {}
    for code, grammar in GRAMMARS.items():
        if grammar.no_spaces or not grammar.stopwords:
            continue
        score = float(sum(w in grammar.stopwords for w in foreign))
        if score or english < 2:
            requests = _compiled(code).request.findall(sample[:1000])
            score += 2 * sum(cue.lower() not in _ENGLISH for cue in requests)
        score += any(mark in sample for mark in _MARKS.get(code, ""))
        if (score >= 2 and score > english) or (score >= 1 and english == 0 and len(words) <= 12):
            scores[code] = score
    return scores, False, english


def detect_languages(prompt: str) -> list[str]:
    """The languages of :data:`~sagepred.length_grammars.GRAMMARS` ``prompt`` may be written in, most
    likely first; empty for English (or a language not read). Chinese and Japanese are told by their
    script (kana is Japanese), Russian by Cyrillic, the others by their common words, letters and
    request words. A prompt of several lines is judged by its request (first and last lines) when that
    says so clearly, else as a whole: an English request may quote Spanish, and the other way round."""
    instruction = _instruction_lines(prompt)
    if instruction is not None:
        scores, by_script, english = _scores(instruction[:4000])
        if by_script or (scores and max(scores.values()) >= 3):
            return sorted(scores, key=lambda code: -scores[code])
        if english >= 2 and not scores:
            return []
    scores, _, _ = _scores(prompt[:4000])
    return sorted(scores, key=lambda code: -scores[code])


def _alternation(words: object) -> str:
    return "|".join(sorted((str(w) for w in words), key=len, reverse=True))


class _Compiled:
    """A grammar's regular expressions, built once."""

    def __init__(self, grammar: LanguageGrammar) -> None:
        self.grammar = grammar
        flags = re.IGNORECASE
        pieces = _alternation([*grammar.numbers, *grammar.multipliers])
        self.piece = re.compile(pieces, flags)
        digits = r"\d{1,3}(?:[.,\u00a0\u202f ]\d{3})+(?!\d)|\d+(?:[.,]\d{1,2})?"
        if grammar.no_spaces:
            number = rf"(?:(?:{digits})[十百千万萬]?|(?>(?:{pieces}){{1,8}}))"
            b, e = "", ""
        else:
            joined = r"(?:\s+(?:y|e|et|und|и)\s+|[\s-]+)?"
            number = rf"(?:{digits}|(?>(?:{pieces}){{1,4}})(?:{joined}(?>(?:{pieces}){{1,4}})){{0,3}})"
            b, e = r"(?<![\w])", r"(?![\w])"
        compound = r"(?:\w{1,20}-){0,2}\w{0,12}?" if grammar.code == "de" else ""
        units = "|".join(f"(?P<{unit}>{nouns})" for unit, nouns in grammar.units.items())
        units += f"|(?P<item>{compound}(?:{grammar.items}))"
        gap = "" if grammar.no_spaces else r"(?:[\s-]+|[\s-]*(?:\w+[\s-]+)??)"
        article = "" if grammar.no_spaces else r"(?:(?:le|las|los|les|as|os|i|gli|die)\s+)?"
        rng = rf"(?:\s*(?:{grammar.range_join})\s*{article}(?P<high>{number}))?"
        measure = r"(?:个|個)?" if grammar.code == "zh" else ""
        self.count = re.compile(rf"{b}(?P<low>{number}){rng}{gap}{measure}(?:{units}){e}", flags)
        self.speech = re.compile(rf"{b}(?:{grammar.speeches}){e}", flags)
        durations = [
            rf"{b}(?P<low>{number}){rng}\s*(?:(?P<minute>{grammar.minutes})|(?P<second>{grammar.seconds})){e}"
        ]
        self.inverted = None
        if grammar.code == "ru":  # "строк 12", "предложения в два", "минуты на 2-3": about so many
            after = rf"\s+(?:на\s+|в\s+)?(?P<low>{number})(?:\s*(?:-|–|до)\s*(?P<high>{number}))?{e}"
            prose = "|".join(f"(?P<{unit}>{nouns})" for unit, nouns in grammar.units.items())
            self.inverted = re.compile(rf"{b}(?:{prose}){after}", flags)
            durations.append(rf"{b}(?:(?P<minute>{grammar.minutes})|(?P<second>{grammar.seconds})){after}")
        self.durations = [re.compile(d, flags) for d in durations]
        self.compound = (
            re.compile(rf"(?<!\w)(?P<low>{digits}|(?:{pieces}){{1,6}})-?(?P<unit>seitig|zeilig)\w*", flags)
            if grammar.code == "de"
            else None
        )
        self.listed = re.compile(
            rf"{b}(?:{grammar.list_verbs}){e}\s*(?:(?:me|mir|мне|moi|mi|nos|us)\s+)?"
            rf"(?P<bound>(?:{grammar.at_most}|{grammar.at_least}|{grammar.about})\s+)?(?P<n>{number}){e}\s*\w",
            flags,
        )
        ranked = grammar.superlative.split("{n}")
        ranked_sizes = [f"(?P<n{i}>{number})" for i in range(len(ranked) - 1)]
        ranked_pattern = "".join(p + s for p, s in zip(ranked, [*ranked_sizes, ""], strict=True))
        self.superlative = re.compile(rf"{b}(?:{ranked_pattern}){e}", flags)
        self.line_unit = re.compile(rf"\s*(?:{grammar.units.get('line', '(?!)')})", flags)
        self.at_most = re.compile(rf"{b}(?:{grammar.at_most})\s*$", flags)
        self.at_least = re.compile(rf"{b}(?:{grammar.at_least})\s*$", flags)
        self.about = re.compile(rf"{b}(?:{grammar.about})\s*$", flags)
        self.lead_in = re.compile(rf"{b}(?:{grammar.lead_in})\s*$", flags)
        self.lead_after = re.compile(grammar.lead_after, flags)
        self.request = re.compile(rf"{b}(?:{grammar.request}){e}", flags)
        self.list_verb = re.compile(rf"{b}(?:{grammar.list_verbs}){e}", flags)
        bounds = f"{grammar.about}|{grammar.at_most}|{grammar.at_least}"
        self.describes = (
            re.compile(rf"(?:{grammar.describes})(?:{bounds})?\s*$", flags)
            if grammar.no_spaces
            else re.compile(rf"{b}(?:{grammar.describes}){e}(?:\s+\S+){{0,2}}?\s*$", flags)
        )
        self.reported = re.compile(rf"{b}(?:{grammar.reported}){e}", flags)
        self.how_many = re.compile(rf"{b}(?:{grammar.how_many}){e}", flags)
        self.rate = re.compile(rf"\s*(?:{grammar.rate})", flags)
        self.rate_before = re.compile(rf"(?:{grammar.rate})\s*$", flags)
        self.modal = re.compile(rf"{b}(?:{grammar.modal}){e}", flags)
        self.own_task = re.compile(rf"{b}(?:{grammar.own_task}){e}", flags)
        self.explains_code = re.compile(rf"{b}(?:{grammar.explains_code})", flags)
        self.answer_subject = re.compile(rf"{b}(?:{grammar.answer_subject}){e}", flags)
        self.each = re.compile(rf"{b}(?:{grammar.each}){e}", flags)
        self.possessive = re.compile(rf"{b}(?:{grammar.possessive}){e}", flags)
        self.forms = [
            (re.compile(rf"{b}(?:{form}){e}", flags), words) for form, words in grammar.forms.items()
        ]
        self.one_word = re.compile(rf"{b}(?:{grammar.one_word}){e}", flags)
        self.yes_no = re.compile(rf"{b}(?:{grammar.yes_no}){e}", flags)
        self.short_answer = re.compile(rf"{b}(?:{grammar.short_answer}){e}", flags)
        self.code_only = re.compile(rf"{b}(?:{grammar.code_only}){e}", flags)
        self.reasons = re.compile(rf"{b}(?:{grammar.reasons})", flags)
        self.no_reasons = re.compile(grammar.no_reasons, flags)
        self.few_words = re.compile(rf"{b}(?:{grammar.few_words}){e}", flags)
        self.brief = re.compile(rf"{b}(?:{grammar.brief}){e}", flags)
        self.detailed = re.compile(rf"{b}(?:{grammar.detailed}){e}", flags)
        self.at_most_after = re.compile(rf"\s*(?:{grammar.at_most_after or '(?!)'})", flags)
        self.at_least_after = re.compile(rf"\s*(?:{grammar.at_least_after or '(?!)'})", flags)
        self.about_after = re.compile(rf"\s*(?:{grammar.about_after or '(?!)'})", flags)

    def number(self, text: str) -> float | None:
        """A number phrase's value: digits ("2.000", "1,5"), words ("dos mil", "zweihundertfünfzig",
        "两千五百"), and in Chinese two neighbouring digits as a range ("三五句": four)."""
        phrase = text.strip().lower()
        if not phrase:
            return None
        if phrase[0].isdigit() and phrase[-1] in self.grammar.multipliers:
            head = self.number(phrase[:-1])
            return head * self.grammar.multipliers[phrase[-1]] if head is not None else None
        if phrase[0].isdigit():
            if re.fullmatch(r"\d{1,3}(?:[.,\u00a0\u202f ]\d{3})+", phrase):
                return float(re.sub(r"\D", "", phrase))
            try:
                return float(phrase.replace(",", "."))
            except ValueError:
                return None
        pieces = [p.lower() for p in self.piece.findall(phrase)]
        values = [self.grammar.numbers.get(p) for p in pieces]
        if 0.5 in values:  # "eine halbe Seite", "полстраницы", "半页": half of one
            rest = sum(v for v in values if v not in (None, 0.5))
            return (rest if rest > 1 else 0.0) + 0.5
        if self.grammar.no_spaces:
            return _cjk_number(pieces, self.grammar)
        total, current = 0.0, 0.0
        for piece in pieces:
            if piece in self.grammar.multipliers:
                scale = self.grammar.multipliers[piece]
                if scale >= 1000:
                    total, current = total + max(current, 1.0) * scale, 0.0
                else:
                    current = max(current, 1.0) * scale
            else:
                current += self.grammar.numbers.get(piece, 0.0)
        value = total + current
        return value if value > 0 else None

    def joined_range(self, text: str) -> tuple[float, float] | None:
        """Two number words joined by "and" that count up, a range ("zwischen drei und fünf Absätzen",
        "entre dos y tres páginas"), not a compound ("vingt et un", "hundert und fünf")."""
        parts = re.split(r"\s+(?:y|e|et|und|и)\s+", text.strip(), maxsplit=1, flags=re.IGNORECASE)
        if len(parts) != 2:
            return None
        low, high = self.number(parts[0]), self.number(parts[1])
        return (low, high) if low is not None and high is not None and low < high else None


def _cjk_number(pieces: list[str], grammar: LanguageGrammar) -> float | None:
    """A Chinese or Japanese numeral: "一百五十" 150, "两千五百" 2,500, "十五" 15, "三五" (two neighbouring
    digits, a range) 4."""
    if len(pieces) == 2 and all(p in grammar.numbers for p in pieces):
        first, second = (grammar.numbers[p] for p in pieces)
        if 1 <= first < second <= first + 2:
            return (first + second) / 2
    total, section, digit = 0.0, 0.0, 0.0
    for piece in pieces:
        if piece in grammar.numbers:
            digit = grammar.numbers[piece]
        elif grammar.multipliers[piece] < 10000:
            section += (digit or 1.0) * grammar.multipliers[piece]
            digit = 0.0
        else:
            total += (section + digit or 1.0) * grammar.multipliers[piece]
            section, digit = 0.0, 0.0
    value = total + section + digit
    return value if value > 0 else None


@functools.cache
def _compiled(code: str) -> _Compiled:
    return _Compiled(GRAMMARS[code])


def _quoted_spans(prompt: str) -> list[tuple[int, int]]:
    spans = [m.span() for m in _FENCE.finditer(prompt)]
    spans += [m.span() for m in _SINGLE_QUOTED.finditer(prompt)]
    for opening, closing in _QUOTE_PAIRS:
        start = 0
        while (i := prompt.find(opening, start)) >= 0:
            j = prompt.find(closing, i + 1)
            if j < 0:
                break
            spans.append((i, j))
            start = j + 1
    return spans


def _inside(spans: list[tuple[int, int]], position: int) -> bool:
    return any(a < position < b for a, b in spans)


def _sentence_of(prompt: str, start: int, end: int) -> tuple[str, str]:
    """The text of a match's sentence before it and after it (with the mark that ends it)."""
    before = _SENTENCE_END.split(prompt[max(0, start - 240) : start])[-1]
    rest = prompt[end : end + 240]
    stop = _SENTENCE_END.search(rest)
    after = rest[: stop.end()] if stop is not None else rest
    return before, after


def _previous_sentence(prompt: str, start: int) -> str:
    sentences = [s for s in _SENTENCE_END.split(prompt[max(0, start - 400) : start]) if s.strip()]
    return sentences[-2] if len(sentences) >= 2 else ""


@functools.lru_cache(maxsize=16)
def _line_spans(prompt: str) -> list[tuple[int, int]]:
    """Where each non-blank line of ``prompt`` starts and ends."""
    return [(m.start(), m.end()) for m in re.finditer(r"[^\n]*\S[^\n]*", prompt)]


def _in_pasted_material(prompt: str, start: int, c: _Compiled, closed: bool = False) -> bool:
    """Whether ``start`` lies in text the prompt quotes: a middle line of a prompt of three lines or
    more, or a later line after one that ends with a colon or a first line that asks for something
    ("Translate this notice:"), unless it is a short closing line (the request after the material).
    ``closed`` (a closed answer: "nur die Kategorie", "solo la etiqueta"): a middle line is the
    instruction's unless material was introduced before it ("Aufgabe: …\nAusgabe: nur die Kategorie.\n\nSatz: …")."""
    lines = _line_spans(prompt)
    if len(lines) < 2:
        return False
    index = max(0, bisect.bisect_right(lines, (start, len(prompt) + 1)) - 1)
    if answer_field_line(prompt[lines[index][0] : lines[index][1]]) or section_of(prompt, start) == "answer":
        return False  # a template's field or rule about the answer: "Länge: kurz", "Requisitos:\n1. … 2 parágrafos."
    colon = any(prompt[a:b].rstrip().endswith((":", "：")) for a, b in lines[:index])
    introduced = colon or bool(c.request.search(prompt[lines[0][0] : lines[0][1]]))
    if 0 < index < len(lines) - 1:
        return colon if closed else True
    short = 35 if c.grammar.no_spaces else 100
    last_is_short = index == len(lines) - 1 and lines[index][1] - lines[index][0] <= short
    return index > 0 and introduced and not last_is_short


_NOUN_BEFORE_COUNT = 12
"""Characters before a list's count where Chinese and Japanese may name its items ("猫の名前を5つ")."""


@functools.cache
def _item_nouns(code: str) -> re.Pattern[str]:
    """The grammar's nouns of list items (ideas, tips, reasons…), compiled."""
    return re.compile(GRAMMARS[code].items, re.IGNORECASE)


def _words(count: float, unit: str, grammar: LanguageGrammar) -> float:
    from sagepred.length_instructions import WORDS_PER_UNIT

    if unit == "item":  # a list of items whose kind these grammars do not read
        words = list_words(count)
        return words * CJK_CHARS_PER_WORD if grammar.no_spaces else words
    per = WORDS_PER_UNIT.get(unit, 1.0)
    if grammar.no_spaces:
        per = 1.0 if unit == "character" else per * CJK_CHARS_PER_WORD
    return count * per


@dataclass(frozen=True)
class _Reading:
    """One count's reading: the words it asks for, its unit and count, the text read, and whether a
    lead-in or a bound sizes it ("en 200 palabras", "höchstens 2 Seiten")."""

    words: float
    unit: str
    count: float
    text: str
    sized: bool

    @property
    def rank(self) -> tuple[bool, bool, bool]:
        """Word and character counts first (the most precise), then counts of more than one ("write a
        paragraph, at most five sentences"), then counts a lead-in sizes."""
        return (self.unit not in ("word", "character"), self.count == 1, not self.sized)


_SPOKEN_REACH = (80, 160)
"""Characters before and after a spoken text's noun where its duration is looked for."""


def _spoken(prompt: str, c: _Compiled) -> LengthRequest | None:
    """A text to be spoken, timed near its noun ("un discurso que dure unos 3 minutos", "eine Rede, so
    3-4 Minuten", "Massimo 20 secondi" after "il messaggio per la segreteria"), as minutes × the speaking
    rate, with the bound around the duration; in a sentence that asks for it, not someone else's rule
    or the user's own talk ("Meine Präsentation soll 10 Minuten dauern. Wie viele Folien …?")."""
    from sagepred.length_instructions import WORDS_PER_UNIT, LengthRequest

    before, after = _SPOKEN_REACH
    if c.how_many.search(prompt):
        return None  # "… soll 10 Minuten dauern. Wie viele Folien sollte ich einplanen?"
    for noun in c.speech.finditer(prompt):
        if c.possessive.search(" ".join(prompt[: noun.start()].split()[-2:])):
            continue  # "Meine Präsentation …": the user's own talk
        window = (max(0, noun.start() - before), noun.end() + after)
        for duration in (d for pattern in c.durations for d in pattern.finditer(prompt, *window)):
            low = c.number(duration.group("low"))
            high = c.number(duration.group("high")) if duration.group("high") else None
            if low is None or low <= 0:
                continue
            sentences = [" ".join(_sentence_of(prompt, at, at)) for at in (noun.start(), duration.start())]
            if not any(c.request.search(s) for s in sentences) or any(
                c.reported.search(s) or c.own_task.search(s) for s in sentences
            ):
                continue  # "Unser Lehrer hat gesagt, das Referat soll 10 Minuten dauern": not asked for
            count = (low + high) / 2 if high and high > low else low
            minutes = count / 60.0 if duration.group("second") else count
            minutes *= _bound(
                c, prompt, prompt[max(0, duration.start() - 30) : duration.start()], duration.end()
            )
            return LengthRequest(
                "absolute",
                minutes * WORDS_PER_UNIT["minute"],
                1.0,
                "minute",
                minutes,
                duration.group(0),
                c.grammar.code,
            )
    return None


def _bound(c: _Compiled, prompt: str, near: str, end: int) -> float:
    """The factor of a bound around a count: 0.8 at most, 1.15 at least, 1 otherwise; the longer of two
    matches wins ("не меньше" is at least, not "меньше")."""
    most, least = c.at_most.search(near), c.at_least.search(near)
    if most and least:
        return 0.8 if most.start() < least.start() else 1.15
    if not prompt:
        return 0.8 if most else 1.15 if least else 1.0
    after = _BOUND_AFTER.match(prompt, end)
    if most or c.at_most_after.match(prompt, end) or (after is not None and after.group("most")):
        return 0.8
    if least or c.at_least_after.match(prompt, end) or (after is not None and after.group("least")):
        return 1.15
    return 1.0


_BIG_MULTIPLIER = re.compile(
    r"\s*(?:млн|млрд|тыс\.?|mill(?:ion|ones|ions|ioni|ionen|iarden)?|milh(?:ão|ões)|mrd|mio\.?|万|萬|亿|億)(?!\w)",
    re.IGNORECASE,
)
"""After a count's number: millions or thousands of something, data rather than a length."""
_WHY = re.compile(
    r"(?<!\w)(?:por qu[eé]|por que|pourquoi|perch[eé]|warum|wieso|weshalb|почему|зачем)(?!\w)|为什么|為什麼|为何|なぜ|どうして",
    re.IGNORECASE,
)
"""A question about why (a count in it is the fact asked about: "Xのポストは全角140字までなのに…なぜですか？")."""
_CJK_NOT = re.compile(r"(?:别|別|不要|不用|不必)只[^\W\d_]{0,2}$")
"""Before a count in Chinese: a length the user refuses ("别只回一个字，说说你的理由")."""
_RANGE_OPENER = re.compile(r"(?<!\w)(?:от|entre|zwischen|tra|fra|de|du|da)\s*$", re.IGNORECASE)
"""Before a range's first number ("от трёх до пяти", "entre dos y tres"): its bounds are the range's."""


def _counts(prompt: str, c: _Compiled, part: bool = False) -> Iterator[_Reading]:
    """Every count of ``prompt`` the grammar reads as a length; ``part``: the text is one part of an
    answer's layout (:func:`parts_request`), whose every count sizes it, as a field about the answer's does."""
    grammar = c.grammar
    quoted = _quoted_spans(prompt)
    matches = list(c.count.finditer(prompt))
    if c.compound is not None:
        matches += list(c.compound.finditer(prompt))
    if c.inverted is not None:
        matches += list(c.inverted.finditer(prompt))
    short_prompt = len(prompt) <= 160 and "\n" not in prompt.strip()
    software = _SOFTWARE.search(prompt) is not None
    consumed: tuple[int, int] = (0, 0)
    for match in matches:
        if consumed[0] <= match.start() < consumed[1]:
            continue  # each item's length, read with its list ("5 Stichpunkte mit je etwa 15 Wörtern")
        if (
            "low" in match.re.groupindex
            and match.group("low")
            and _BIG_MULTIPLIER.match(prompt, match.end("low"))
        ):
            continue  # "на таблице в 5 млн строк": a quantity of data
        field = "answer" if part else field_of(prompt, match.start())
        if field == "input" or _inside(quoted, match.start()):
            continue  # "Eingabetext des Nutzers: max. 5000 Zeichen"
        if field is None and _in_pasted_material(prompt, match.start(), c):
            continue
        unit = next(
            (u for u in (*grammar.units, "item") if u in match.re.groupindex and match.group(u)),
            None,
        )
        if unit is None:
            unit = "page" if match.group("unit").lower() == "seitig" else "line"
        low = c.number(match.group("low"))
        high = (
            c.number(match.group("high")) if "high" in match.re.groupindex and match.group("high") else None
        )
        if high is None and (joined := c.joined_range(match.group("low"))) is not None:
            low, high = joined  # "zwischen drei und fünf Absätzen"
        if low is None:
            continue
        count = (low + high) / 2 if high is not None and high > low else low
        if _AND_A_HALF.match(prompt, match.end()):
            count += 0.5  # "una página y media"
        if (unit == "item" and count < 2) or count > MAX_COUNT:
            continue
        before, after = _sentence_of(prompt, match.start(), match.end())
        sentence = before + match.group(0) + after
        near = before[-60:]
        rate = c.rate.match(prompt, match.end()) or (grammar.no_spaces and c.rate_before.search(near))
        if grammar.no_spaces and _CJK_NOT.search(near):
            continue  # "别只回一个字": a length refused
        if field == "answer" and not rate:  # "Länge: höchstens 100 Wörter", "<字数>不少于800字</字数>"
            factor = (
                1.0
                if high is not None and _RANGE_OPENER.search(near)
                else _bound(c, prompt, near, match.end())
            )
            count *= factor if unit != "item" else 1.0
            per_item = _per_item_words(prompt, match.end(), c) if unit == "item" else None
            if per_item is not None:  # "5 Stichpunkte à 8 Wörter", "5条要点，每条约20字"
                words, consumed = per_item
                yield _Reading(count * words, "items_of", count, match.group(0), True)
            else:
                yield _Reading(_words(count, unit, grammar), unit, count, match.group(0), True)
            continue
        if unit in ("character", "line") and (software or _SOFTWARE_NEAR.search(sentence)):
            continue
        clause_before = _CLAUSE_END.split(before)[-1]
        clause_after = _CLAUSE_END.split(after)[0]
        if rate:
            continue
        reported_in = sentence if grammar.no_spaces else _CONTRAST.split(before)[-1]
        if c.reported.search(reported_in) or c.describes.search(clause_before):
            continue
        if c.own_task.search(before):
            continue  # "Tengo que escribir un ensayo de 2000 palabras, ¿cómo me organizo?"
        if c.possessive.search(
            clause_before[-8:] if grammar.no_spaces else " ".join(clause_before.split()[-3:])
        ):
            continue  # "meine 10 Punkte", "ma nouvelle de 500 mots", "我的論文兩萬字"
        if grammar.code == "ja" and (
            _JA_EXISTS.match(prompt, match.end())
            or (_JA_TEXT_OF.match(prompt, match.end()) and not c.request.search(sentence))
        ):
            continue  # "500ページ以上ある小説"
        clause = clause_before + " " + clause_after
        if unit != "item" and c.each.search(clause) and not c.answer_subject.search(clause):
            continue
        asks = bool(c.request.search(sentence) or (unit == "item" and c.list_verb.search(sentence)))
        factor = _bound(c, prompt, near, match.end())
        if high is not None and _RANGE_OPENER.search(near):
            factor = 1.0  # "от трёх до пяти абзацев": a range, not "at least three"
        bounded = factor != 1.0 or bool(c.about.search(near) or c.about_after.match(prompt, match.end()))
        lead = bool(c.lead_in.search(near) or c.lead_after.match(prompt, match.end()))
        weak_lead = re.search(r"(?<!\w)(?:de|di|d'|von|of|da)\s*$", near, re.IGNORECASE) is not None
        lead = lead and not weak_lead
        if grammar.no_spaces:  # "2000字的实习报告，…", "…お願いします。A4で1ページ分くらい"
            alone = not prompt[: match.start()].strip() or (
                len(sentence.strip()) <= 16
                and bool(c.request.search(_previous_sentence(prompt, match.start())))
            )
        else:
            alone = len(clause_before.split()) <= 1 and len(clause_after.split()) <= 3
            alone = alone and (len(before.split()) <= 1 or short_prompt)
        if c.modal.search(before) and not asks:
            if not c.answer_subject.search(before) and (
                "?" in prompt or "？" in prompt or not c.request.search(prompt[: match.start() - len(before)])
            ):
                continue  # a rule ("the thesis may have at most 40 pages"), not a request
            asks = True  # a requirement on the answer ("Il doit faire 600 mots.")
        if unit == "item" and not prompt[: match.start()].strip():
            asks = True  # "7 советов как быстро уснуть": a title-like request
        if unit == "item" and not (asks or lead or factor != 1.0):
            continue  # "in massimo 6 passaggi", not "约24万种"
        if not (asks or bounded or lead or alone):
            continue
        opens_the_question = re.match(r"\s*[:：]", after) is not None  # "En moins de 100 mots : pourquoi …?"
        if _QUESTION.search(sentence.strip()) and not asks and not lead and not opens_the_question:
            continue
        why_after = _WHY.search(after)
        why_later = why_after is not None and not re.search(r"[:：]", after[: why_after.start()])
        if (
            (_WHY.search(before) or why_later)
            and _QUESTION.search(sentence.strip())
            and not opens_the_question
        ):
            continue  # "¿Por qué Twitter limita los tuits a 280 caracteres?", "…140字までなのに…なぜですか？"
        if grammar.no_spaces and _OR_QUESTION.search(sentence):
            continue  # "简历写一页还是两页比较好？": a choice asked about, not a length asked for
        count *= factor
        if unit == "stanza":  # "4 couplets de 4 lignes", "4 Strophen mit je 4 Zeilen"
            inner = c.count.search(prompt, match.end(), match.end() + 30)
            if inner is not None and inner.group("line") and (lines := c.number(inner.group("low"))):
                yield _Reading(
                    count * lines * _words(1.0, "line", grammar), "line", count * lines, match.group(0), True
                )
                continue
        if unit == "word" and count == 1:
            yield _Reading(1.0, "one_word", 1.0, match.group(0), True)
            continue
        if unit == "word" and 2 <= count <= 20 and c.list_verb.search(" ".join(before.split()[-2:])):
            unit = "item"  # "Lista 15 palavras em inglês …": the words are the list's items
        per_item = _per_item_words(prompt, match.end(), c) if unit == "item" else None
        if per_item is not None:  # "in 5 Stichpunkten zusammen, jeweils etwa 12 Wörter"
            words, consumed = per_item
            yield _Reading(count * words, "items_of", count, match.group(0), True)
            continue
        yield _Reading(_words(count, unit, grammar), unit, count, match.group(0), lead or bounded)


_EACH_ITEM = re.compile(
    r"(?<!\w)(?:cada|chacun\w*|ciascun\w*|je|jeweils|à|каждый|каждого|каждом|каждая|each|per)(?!\w)|每|各|ずつ|につき",
    re.IGNORECASE,
)
_PER_ITEM_REACH = 60
"""Characters after a list's count where each item's length may follow ("…, jeweils etwa 12 Wörter")."""


def _per_item_words(prompt: str, end: int, c: _Compiled) -> tuple[float, tuple[int, int]] | None:
    """The words (characters in Chinese and Japanese) of each item of a list counted just before ``end``,
    when a length said to be each one's follows in its paragraph ("5 Stichpunkte à 8 Wörter", "in 5
    Stichpunkten zusammen, jeweils etwa 12 Wörter", "- Exactamente 5 viñetas\n- Cada viñeta de unas 12
    palabras"), and where that length lies in the prompt."""
    window = prompt[end : end + _PER_ITEM_REACH].split("\n\n", 1)[0]
    per = c.count.search(window)
    if per is None or "low" not in per.re.groupindex or not per.group("low"):
        return None
    unit = next(
        (u for u in ("word", "character", "sentence") if u in per.re.groupindex and per.group(u)), None
    )
    if unit is None or not _EACH_ITEM.search(
        window[: per.start()] + " " + window[per.end() : per.end() + 12]
    ):
        return None
    n = c.number(per.group("low"))
    if n is None:
        return None
    bound = _bound(c, window, window[max(0, per.start() - 30) : per.start()], per.end())
    return _words(n * bound, unit, c.grammar), (end + per.start(), end + per.end())


_WRITES_A_PROMPT = re.compile(
    r"(?<!\w)(?:prompts?|promp?t de sistema|prompt di sistema|systemprompt|промпт\w*)(?!\w)|提示词|提示詞|プロンプト|"
    r"(?<!\w)котор\w+(?!\w)|让它|讓它|让模型|讓模型",
    re.IGNORECASE,
)
"""Before a closed answer in its sentence: the answer is another model's, for a prompt the user wants
written ("Tengo que escribir un prompt para que otro modelo … responda solo con la etiqueta", "写一个提示词，
让它…只输出“是”或“否”") or a model described ("модель, которая … отдаёт только метку")."""


def _others_answer(prompt: str, start: int) -> bool:
    """Whether the closed answer at ``start`` is what another model gives (:data:`_WRITES_A_PROMPT`)."""
    sentence_start = max(prompt.rfind(end, 0, start) for end in (".", "?", "!", "\n", "。", "？", "！"))
    return _WRITES_A_PROMPT.search(prompt, sentence_start + 1, start) is not None


_REASONS_REACH = 160
"""Characters after a closed answer where asking also for its reasons makes the answer a usual one."""


def _reasons_asked(prompt: str, end: int, c: _Compiled) -> bool:
    """Whether the text after a closed answer ending at ``end`` asks for its reasons ("… y explica por
    qué", "J'aimerais une vraie explication"), not without them ("sin explicación", "理由はいらない")."""
    after = prompt[end : end + _REASONS_REACH]
    for m in c.reasons.finditer(after):
        beside = after[max(0, m.start() - (3 if c.grammar.no_spaces else 12)) : m.start()]
        if c.grammar.no_spaces:  # the negation may follow: 理由はいらない
            beside += " " + after[m.end() : m.end() + 8]
        if not c.no_reasons.search(beside):
            return True
    return False


def _unquoted(
    pattern: re.Pattern[str], prompt: str, c: _Compiled, closed: bool = False
) -> re.Match[str] | None:
    """The first match of ``pattern`` outside quotes, pasted material (``closed``: see
    :func:`_in_pasted_material`) and fields about the input ("Kontext (5 Treffer, Top 3 angezeigt):")."""
    quoted = _quoted_spans(prompt)
    return next(
        (
            m
            for m in pattern.finditer(prompt)
            if not _inside(quoted, m.start())
            and not _in_pasted_material(prompt, m.start(), c, closed)
            and field_of(prompt, m.start()) != "input"
        ),
        None,
    )


def _listed(prompt: str, c: _Compiled) -> _Reading | None:
    """A list's size after a list verb ("dame 5 películas", "предложи 4 блюда"), a ranked list ("las 5
    mejores playas"), or "top 10"; not the first lines of a file ("les 10 premières lignes"), nor in a
    prompt about software."""
    if _SOFTWARE.search(prompt):
        return None
    match = _unquoted(c.listed, prompt, c)
    if match is not None and (n := c.number(match.group("n"))) is not None and 2 <= n <= MAX_COUNT:
        n *= _bound(c, "", match.group("bound") or "", 0)
        return _Reading(_words(n, "item", c.grammar), "item", n, match.group(0).rstrip(), False)
    ranked = _unquoted(c.superlative, prompt, c)
    size = next((v for v in ranked.groupdict().values() if v), None) if ranked is not None else None
    if ranked is not None and c.line_unit.search(prompt, ranked.end(), ranked.end() + 24):
        ranked = None
    if ranked is not None and size is not None and (n := c.number(size)) is not None and n >= 2:
        return _Reading(_words(n, "item", c.grammar), "item", n, ranked.group(0), False)
    top = _unquoted(_TOP, prompt, c)
    if top is not None and (n := float(top.group("n"))) >= 2:
        return _Reading(_words(n, "item", c.grammar), "item", n, top.group(0), False)
    return None


def _form(prompt: str, c: _Compiled) -> _Reading | None:
    """A fixed form the prompt asks for ("un haiku", "einen Vierzeiler", "четверостишие", "俳句")."""
    for pattern, words in c.forms:
        match = _unquoted(pattern, prompt, c)
        if match is not None:
            before, after = _sentence_of(prompt, match.start(), match.end())
            if c.request.search(before + after) or c.list_verb.search(before + after):
                return _Reading(words, "form", 1.0, match.group(0), False)
    return None


def _parts_in(prompt: str, layouts: list[list[tuple[int, int]]], c: _Compiled) -> LengthRequest | None:
    """An answer asked for in sized parts, laid out in lines (``layouts``, :mod:`sagepred.length_parts`:
    "## Introducción (unas 80 palabras)" / "## Ventajas (3 viñetas de 20 palabras cada una)", "Betreff: max.
    10 Wörter" / "Absatz 2: …, ca. 50 Wörter"): the sum of the parts this grammar sizes, when two or more
    are."""
    from sagepred.length_instructions import WORDS_PER_PART_ITEM, LengthRequest

    for parts in layouts:
        sized: list[float] = []
        for start, end in parts:
            readings = list(_counts(prompt[start:end], c, part=True))
            prose = sorted((r for r in readings if r.unit != "item"), key=lambda r: r.rank)
            if prose:
                sized.append(prose[0].words)
            elif readings:  # "Deine Aufgaben – 5 Stichpunkte": bullets of a part
                per_item = WORDS_PER_PART_ITEM * (CJK_CHARS_PER_WORD if c.grammar.no_spaces else 1.0)
                sized.append(readings[0].count * per_item)
        if len(sized) >= 2:
            text = prompt[parts[0][0] : parts[-1][1]]
            return LengthRequest(
                "absolute", sum(sized), 1.0, "parts", float(len(sized)), text, c.grammar.code
            )
    return None


def parts_request(prompt: str, languages: list[str]) -> LengthRequest | None:
    """:func:`_parts_in` in the first of ``languages`` that reads one: a layout of sized parts is read
    before anything else (its labels may be verbs, "Formuliere eine E-Mail …:" then "Betreff: max. 10
    Wörter", and must not be taken for a text to rewrite)."""
    layouts = answer_parts(prompt, foreign=True)
    if not layouts:
        return None
    return next(
        (r for code in languages if (r := _parts_in(prompt, layouts, _compiled(code))) is not None), None
    )


def parse_in(prompt: str, code: str) -> LengthRequest | None:
    """``prompt``'s length request read with the grammar of language ``code``, or None."""
    from sagepred.length_instructions import (
        BRIEF_MULTIPLIER,
        DETAILED_MULTIPLIER,
        LengthRequest,
    )

    c = _compiled(code)
    counting = _unquoted(c.how_many, prompt, c) is None
    found = list(_counts(prompt, c)) if counting else []
    prose = sorted((r for r in found if r.unit != "item"), key=lambda r: r.rank)
    if prose:
        best = prose[0]
        if best.unit == "one_word":
            return LengthRequest("absolute", 1.0, 1.0, "one_word", 1.0, best.text, code)
        return LengthRequest("absolute", best.words, 1.0, best.unit, best.count, best.text, code)
    keyed = keyed_length(prompt, {**c.grammar.units, "item": c.grammar.items}) if counting else None
    if keyed is not None and (keyed.unit != "item" or keyed.count >= 2):
        count = keyed.count * keyed.bound
        words = (
            count * keyed.per_item if keyed.per_item is not None else _words(count, keyed.unit, c.grammar)
        )  # "max_palabras": 80, "字数上限": 100
        unit = "items_of" if keyed.per_item is not None else keyed.unit
        return LengthRequest("absolute", words, 1.0, unit, count, keyed.text, code)
    spoken = _spoken(prompt, c)
    if spoken is not None:
        return spoken
    code_only = _code_only(prompt, c)
    if code_only is not None:
        return code_only
    listed_early = next((r for r in found if r.unit == "item"), None) or (
        _listed(prompt, c) if counting else None
    )
    listed_at = prompt.find(listed_early.text) if listed_early is not None else -1
    for pattern, unit in ((c.one_word, "one_word"), (c.yes_no, "yes_no"), (c.short_answer, "short_answer")):
        match = _unquoted(pattern, prompt, c, closed=True)
        if match is not None and (
            _reasons_asked(prompt, match.end(), c) or _others_answer(prompt, match.start())
        ):
            continue  # "Vrai ou faux : … J'aimerais une vraie explication", "写一个提示词，让它…只输出“是”或“否”"
        if match is not None and 0 <= listed_at < match.start():
            break  # "Prepárame 8 preguntas de verdadero o falso": a list of closed questions
        if match is not None and (unit == "one_word" or len(prompt) < 600):
            return LengthRequest("absolute", 1.0, 1.0, unit, 1.0, match.group(0), code)
    few = _unquoted(c.few_words, prompt, c) if counting else None
    if few is not None:
        return LengthRequest("absolute", _words(3.0, "word", c.grammar), 1.0, "word", 3.0, few.group(0), code)
    listed = found[0] if found else (_listed(prompt, c) if counting else None)
    form = _form(prompt, c) if counting else None
    if listed is not None:
        at = prompt.find(listed.text)
        start = max(0, at - _NOUN_BEFORE_COUNT) if c.grammar.no_spaces else at  # "猫の名前を5つ"
        kind = list_kind_in(code, prompt[start:] if at >= 0 else listed.text, _item_nouns(code))
        words = list_words(listed.count, kind) * (CJK_CHARS_PER_WORD if c.grammar.no_spaces else 1.0)
        return LengthRequest("absolute", words, 1.0, "item", listed.count, listed.text, code, item_kind=kind)
    if form is not None:
        return LengthRequest("absolute", form.words, 1.0, "form", 1.0, form.text, code)
    sized = relative_field(prompt)
    if sized is not None:  # "Longitud: corta", "篇幅：简短"
        multiplier, unit = (BRIEF_MULTIPLIER, "brief") if sized[0] < 0 else (DETAILED_MULTIPLIER, "detailed")
        return LengthRequest("relative", None, multiplier, unit, None, sized[1], code)
    detailed = _unquoted(c.detailed, prompt, c)
    brief = _unquoted(c.brief, prompt, c)
    if brief is not None and (detailed is None or brief.start() < detailed.start()):
        return LengthRequest("relative", None, BRIEF_MULTIPLIER, "brief", None, brief.group(0), code)
    if detailed is not None:
        return LengthRequest("relative", None, DETAILED_MULTIPLIER, "detailed", None, detailed.group(0), code)
    return None


_PROGRAM_WORDS = re.compile(
    r"funci[oó]n|fun[cç][aã]o|fonction|funzione|funktion|функци|函数|関数|script|skript|脚本|スクリプト|"
    r"programa|programme|programm|программ|程序|プログラム|regex|正则|正規表現|consulta sql|requ[eê]te sql|abfrage|"
    r"comando|commande|befehl|kommando|команд|命令|コマンド|f[oó]rmula|formule|formel|формул|数式|公式|регулярк|"
    r"запрос|requ[eê]te|consulta|query",
    re.IGNORECASE,
)
"""Words of the grammars' languages that name a program ("una función", "ein Skript"); "the code" alone
does not ("¿cuál es el código postal?")."""


def _code_only(prompt: str, c: _Compiled, code_task: bool = False) -> LengthRequest | None:
    """A request for code alone ("Donne-moi uniquement le code", "Nur den Regex bitte", "sin explicación")
    in a prompt that names a program ("… une fonction JavaScript debounce", "una función que …"): the code's
    share of an answer (:data:`~sagepred.code_only.CODE_ONLY_MULTIPLIER`). In a ``code_task`` (pasted
    code, "write a function"), the prompt needs to name nothing more."""
    from sagepred.length_instructions import LengthRequest

    match = _unquoted(c.code_only, prompt, c)
    if match is None or not (code_task or names_code(prompt) or _PROGRAM_WORDS.search(prompt)):
        return None
    return LengthRequest(
        "relative", None, CODE_ONLY_MULTIPLIER, "code_only", None, match.group(0), c.grammar.code
    )


def code_only_request(prompt: str) -> LengthRequest | None:
    """:func:`_code_only` for a programming task written in another language ("Arregla esto, solo el
    código:" over pasted code), in the languages of its request: its first paragraph, where pasted code
    does not outweigh the words."""
    languages = detect_languages(prompt.split("\n\n", 1)[0])
    return next(
        (r for code in languages if (r := _code_only(prompt, _compiled(code), True)) is not None), None
    )


def parse_multilingual_request(prompt: str, languages: list[str] | None = None) -> LengthRequest | None:
    """The length request of a prompt in one of :data:`~sagepred.length_grammars.GRAMMARS`' languages,
    or None (an English prompt, or nothing read); ``languages``: :func:`detect_languages`' answer
    when the caller has it."""
    for code in detect_languages(prompt) if languages is None else languages:
        request = parse_in(prompt, code)
        if request is not None:
            return request
        if _compiled(code).count.search(prompt):
            return None  # the likeliest language saw a count and refused it: no other may read it
    return None


@functools.cache
def spaced_language_units() -> dict[str, str]:
    """The unit nouns of the languages written with spaces, by unit (and list items as ``item``): for a
    template's keys when its language is not told ("numero_punti: 8" among English words)."""
    units: dict[str, list[str]] = {}
    for grammar in GRAMMARS.values():
        if grammar.no_spaces:
            continue
        for unit, pattern in (*grammar.units.items(), ("item", grammar.items)):
            units.setdefault(unit, []).append(pattern)
    return {unit: "|".join(patterns) for unit, patterns in units.items()}


def explains_code(text: str) -> bool:
    """Whether ``text`` (a request without its pasted code) asks what some code does, in its language:
    "explica este código en dos frases", "Erklär mir diesen Code", "这个函数是干嘛的"."""
    return any(_compiled(code).explains_code.search(text) for code in detect_languages(text))


def parse_unidentified(prompt: str) -> LengthRequest | None:
    """For a prompt too short to tell its language ("riassumi in 3 paragrafi i promessi sposi") that the
    English grammar read nothing in: a unit count in one of the languages spelled with Latin letters
    (their unit nouns are their own: "paragrafi", "palabras", "Wörter"), or None."""
    words = [w.lower() for w in _WORD.findall(prompt)]
    if len(prompt) > 200 or sum(w in _ENGLISH for w in words) > 1:
        return None
    for code, grammar in GRAMMARS.items():
        if grammar.no_spaces or code == "ru":
            continue
        c = _compiled(code)
        if _unquoted(c.how_many, prompt, c) is not None:
            continue
        readings = sorted(
            (r for r in _counts(prompt, c) if _WORD.findall(r.text)[-1].lower() not in _ENGLISH_NOUNS),
            key=lambda r: r.rank,
        )
        if readings and readings[0].unit != "one_word":
            best = readings[0]
            from sagepred.length_instructions import LengthRequest

            return LengthRequest("absolute", best.words, 1.0, best.unit, best.count, best.text, code)
    return None
