"""Requests for code alone: "Output only the query, no explanation", "just the regex", "code only pls".

An answer to a request for code is code and prose around it; asked for the code alone, a model writes
the code's share of it, :data:`CODE_ONLY_MULTIPLIER`. :func:`find_code_only` finds such a request in a
prompt, and :func:`names_code` says whether a prompt names code (a language, a tool, "a script"), where
"no explanation" asks for the code alone rather than for a brief answer.

Each phrase is found from the word that carries it ("only", "alone", "nothing else", "no explanation")
and the words before it are then checked ("the code only", "Output only the code"), so the search stays
fast on long prompts. Not read: the program's own behaviour ("a function that returns only the even
numbers", "why does this code only work on Linux"), a question about code ("How do I make my endpoint
return just the JSON and nothing else?"), a quoted message (`` `response must contain only code` ``),
a symptom ("it outputs nothing — no error, no explanation"), and a prompt that also asks for an
explanation ("… output only SQL with no explanation. Can you write one and explain the design?").
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable
from dataclasses import dataclass

CODE_ONLY_MULTIPLIER = 0.5
"""The code's share of an answer to a request for code: the median over the AlpacaEval prompts that ask
for a program (eight, some 47 models each) of the share of the answer's tokens inside its code blocks
(0.34–0.69 per prompt, 0.49 over the 388 answers). "Only the code, no explanation" keeps that share."""

_NOUNS = (
    r"code|query|queries|sql|script|snippet|command|commands|one-liner|formula|regex|regexp|"
    r"regular expression|function|functions|program|implementation|yaml|json|html|css|diff|patch|"
    r"class|method|config|configuration|dockerfile|makefile|solution|pattern|expression|filter|"
    r"file contents|file|contents|manifest|markup|latex|bash|shell|powershell|python|javascript|typescript|"
    r"yml|xml|schema|template|definitions?|impl|(?:code )?blocks?|one line|awk|sed|jq|grep|git command"
)
_LEAD = r"(?:^|[.!?:;,(\n]\s*|\b(?:please|pls|plz|and|then|but|so)\s+|[-–—]\s*)"
_VERB = (
    r"(?:output|return|give(?: me| us)?|respond(?: with)?|reply(?: with)?|answer(?: with)?|print|"
    r"show(?: me)?|write|provide|send(?: me)?|paste|generate|produce|i (?:only |just )?(?:want|need))"
)
_ADJECTIVES = r"(?:[\w.+#-]+\s+){0,2}"
_CLOSES = r"(?=[ \t]*(?:[.,;:!)\]\n]|[-–—]|$|please|pls|plz|no\b|without\b|thanks|thx))"
_NOT_THE_ANSWER = (
    r"(?![\w-]|\s+(?:names?|signatures?|that|which|who|to|for|of|in|is|was|works?|returns?|runs?|prints?|"
    r"outputs?|should|will|would|can|does|did|containing|matching|where|whose|from|contains?|has|have)\b)"
)
_FLAGS = re.IGNORECASE
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)

_PHRASES: tuple[tuple[re.Pattern[str], re.Pattern[str] | None, tuple[str, ...]], ...] = tuple(
    (re.compile(after.removeprefix(r"\b")), re.compile(before + "$") if before else None, needs)
    for after, before, needs in (
        # "the code only", "(SQL only)", not "for Python only"
        (rf"\bonly\b{_CLOSES}", rf"(?<!\bfor )(?<!\bin )(?<!\bon )(?<!\bwith )\b(?:{_NOUNS})[- ]", ("only",)),
        # "the corrected function, nothing else", "a single fenced code block and nothing else"
        (
            r"\bnothing (?:else|more)\b",
            rf"\b(?:{_NOUNS})(?:\s+blocks?)?(?:\s+in full)?\s*,?\s*(?:and\s+)?",
            ("nothing",),
        ),
        # "so the query alone, no words"
        (
            r"\b(?:alone|only)(?=\s*(?:[.,;:!)\n]|[-–—]|$|please|pls|plz))",
            rf"\b(?:the|your)\s+{_ADJECTIVES}(?:{_NOUNS})\s+",
            ("alone", "only"),
        ),
        # "Output only the code", "reply w/ only the command", "just the .proto file"
        (
            rf"\b(?:only|just|solely|nothing but|nothing except)\s+(?:(?:with|in)\s+)?(?:the\s+|a\s+|an\s+|your\s+)?"
            rf"{_ADJECTIVES}(?:{_NOUNS})(?:\s+(?:block|itself|body))?\b{_NOT_THE_ANSWER}",
            rf"{_LEAD}(?:{_VERB}\s+(?:w/\s*)?)?",
            ("only", "just", "solely", "nothing"),
        ),
        # "Only output the code"
        (
            rf"\b(?:only|just)\s+{_VERB}\s+(?:with\s+)?(?:the\s+|a\s+|an\s+|your\s+)?{_ADJECTIVES}(?:{_NOUNS})\b{_NOT_THE_ANSWER}",
            _LEAD,
            ("only", "just"),
        ),
        # "Respond with the schema only"
        (
            r"\b(?:only|alone)\b",
            rf"\b{_VERB}\s+(?:with\s+)?(?:the|a|an|your)\s+{_ADJECTIVES}(?:{_NOUNS})\s+",
            ("only", "alone"),
        ),
        # "The answer should be just the code", "I just need the file"
        (
            r"\b(?:answer|reply|response|output) (?:should|must|will|shall) (?:be|contain|consist of)\s+"
            rf"(?:only|just|solely|nothing but)\s+(?:the\s+|a\s+|an\s+)?{_ADJECTIVES}(?:{_NOUNS})\b",
            None,
            ("only", "just", "solely", "nothing"),
        ),
        (
            rf"\bi (?:only|just) (?:need|want)\s+(?:the\s+|a\s+|an\s+)?{_ADJECTIVES}(?:{_NOUNS})\b{_NOT_THE_ANSWER}",
            None,
            ("i only", "i just"),
        ),
        (r"\b(?:answer|reply|respond) (?:in|with) code\b", None, ("in code", "with code")),
        (r"\bkeep (?:the )?(?:prose|explanations?|commentary|talk|chatter) out\b", None, ("keep",)),
        (r"\bno words(?=\s*(?:[.,;:!)\n]|$))", None, ("no words",)),
        (r"\bzero (?:commentary|explanations?|prose|words|talk)\b", None, ("zero",)),
        (r"\bnothing (?:else )?(?:around|before|after) it\b", None, ("nothing",)),
        # "Strip all explanations.", as an instruction of its own (not "a script that strips all comments")
        (r"\bstrip (?:all |any |the )?(?:explanations?|prose|commentary)\b", _LEAD, ("strip",)),
        # "no explanation", "without any commentary", "skip the preamble", not "no explanation of sockets"
        (
            r"\b(?:no|without(?: any)?|skip(?: the| any)?|omit(?: the| any)?|leave out(?: the| any)?)[ \t]+"
            r"(?:(?:further|additional|extra|other|surrounding|accompanying|written|verbal)[ \t]+)?"
            r"(?:explanations?|explain|commentary|prose|preamble|chit-?chat|yapping|fluff|talk|talking|chatter|small talk|"
            r"(?:text|words) (?:before|after|around|outside)|(?:extra|other|additional) text)\b"
            r"(?!\s+(?:of|about|on|for|why|how|what|as to)\b)",
            None,
            (
                "expla",
                "commentary",
                "prose",
                "preamble",
                "chat",
                "yapping",
                "fluff",
                "talk",
                "chatter",
                "text",
                "words",
            ),
        ),
        # "don't explain", "do not add any commentary", not "don't explain the basics"
        (
            r"\b(?:do not|don't|dont|never)\s+(?:(?:explain|elaborate|narrate)(?=\s*(?:[.,;:!)\n]|[-–—]|$|it\b|anything|"
            r"(?:the|your) (?:code|solution|answer|changes)\b|just\b|only\b))|"
            r"add (?:any )?(?:explanations?|text|prose|commentary)|include (?:any )?(?:explanations?|text|prose|commentary)|"
            r"write (?:any )?(?:explanations?|prose))\b",
            None,
            ("do not", "don't", "dont", "never"),
        ),
        (r"\bnever (?:any )?(?:prose|explanations?|commentary)\b", None, ("never",)),
        (r"\bno need to explain(?=\s*(?:[.,;:!)\n]|[-–—]|$|it\b|anything))", None, ("no need to explain",)),
        (r"\bexplanations? (?:is |are )?(?:not needed|unnecessary)\b", None, ("explanation",)),
    )
)
"""Each phrase: the pattern from its carrying word, what must come just before it (or None), and words
of which the lowered prompt must hold one for the pattern to be tried (a substring test is far cheaper
than a scan). The opening word boundary is checked in :func:`_candidates`: a pattern that opens on a
word scans several times faster than one that opens on ``\\b``."""
_BEFORE_REACH = 120
"""Characters before a carrying word that its phrase may start in."""

_NAMES_CODE = re.compile(rf"\b(?:{_NOUNS})\b", _FLAGS)
_CODE_CONTEXT = re.compile(
    r"```|(?<![a-z0-9_])(?:python|java|javascript|typescript|golang|c\+\+|c#|php|haskell|kotlin|scala|perl|lua|matlab|"
    r"bash|zsh|shell|powershell|sql|postgres(?:ql)?|mysql|sqlite|regexp?|json|yaml|html|css|tailwind|node(?:\.js)?|"
    r"django|flask|fastapi|pandas|numpy|dockerfile|docker|kubernetes|k8s|kubectl|helm|terraform|ansible|nginx|"
    r"git|awk|sed|jq|latex|makefile|cron|graphql|protobuf|vba|vim|pytest|one-liner|code|script|snippet|"
    r"function|query|command|formula|manifest|excel|google sheets|linux|unix|systemd|jquery|ffmpeg|gitignore|"
    r"github actions|npm)(?![a-z0-9_])|(?<![A-Za-z])(?-i:Go|Rust|Swift|React|Ruby)(?![A-Za-z])",
    _FLAGS,
)
_QUESTION_OPENER = re.compile(r"\s*(?:how|why|what|when|where|which|is|are|does|do|did)\b", _FLAGS)
_LISTS_ABSENCES = re.compile(
    r"\bno (?:errors?|output|messages?|warnings?|logs?|crash|exceptions?|traceback|response|results?)\s*[,;]\s*$",
    _FLAGS,
)
_EXPLAIN_REQUEST = re.compile(
    r"(?<!n't )(?<!dont )(?<!not )(?<!never )(?<!need to )(?<!any )(?<!without )(?<!no )"
    r"\b(?:explain|walk (?:me |us )?through)\b|"
    r"\b(?:with|add|include|plus|and) (?:an? |some |short |brief )*explanations?\b",
    _FLAGS,
)
_INLINE_CODE = re.compile(r"`[^`\n]+`")


@dataclass(frozen=True)
class CodeOnly:
    """A request for code alone found in a prompt: where it is and its words."""

    start: int
    end: int
    text: str


_IDENTIFIER_CODE = re.compile(
    r"\b(?:iso(?:[ -]?\d{3,5}(?:-\d)?)?|alpha-?[23]|(?:two|three)-letter|country|currency|postal|zip|airport|"
    r"iata|icao|ticker|hex|colou?r|status|error|promo|coupon|discount|sku|tracking|confirmation|verification|"
    r"language)\b[\w ()-]{0,24}?\bcodes?\b",
    re.IGNORECASE,
)
"""A code that identifies something ("the ISO 639-1 code", "the IATA airport code", "the hex colour
code"): one word of an answer, not a program."""


def _names_an_identifier(prompt: str, found: CodeOnly) -> bool:
    """Whether the "code" a request for code alone names is an identifier's ("the ISO 639-1 code only")."""
    at = found.text.lower().rfind("code")
    if at < 0:
        return False
    end = found.start + at + 4
    named = _IDENTIFIER_CODE.search(prompt, max(0, end - 50), end)
    return named is not None and named.end() == end


def names_code(prompt: str) -> bool:
    """Whether ``prompt`` names code or a programming language or tool ("awk to sum column 3 …", "a
    Dockerfile for …", "una función en Python", "ワークフローのYAMLを書いて": a name among Chinese or Japanese
    characters, hence letters, not word boundaries, around it): where "no explanation" asks for the
    code alone."""
    return _CODE_CONTEXT.search(prompt) is not None


def find_code_only(
    prompt: str, naming_code: bool = False, quoted: Callable[[int], bool] | None = None
) -> CodeOnly | None:
    """The first request for code alone in ``prompt``, or None (also None when the prompt asks for an
    explanation as well). ``naming_code``: only phrases that name the code ("just the regex", not
    "don't explain"); ``quoted(position)``: whether a position is quoted (such phrases are someone
    else's; inline code always is)."""
    for found in _candidates(prompt):
        if naming_code and _NAMES_CODE.search(found.text) is None:
            continue
        if _inside_inline_code(prompt, found.start):
            continue
        if _LISTS_ABSENCES.search(prompt, max(0, found.start - 40), found.start):
            continue
        if _QUESTION_OPENER.match(re.split(r"[.?!\n]", prompt[max(0, found.start - 200) : found.start])[-1]):
            continue
        if quoted is not None and quoted(found.start):
            continue
        if _names_an_identifier(prompt, found):
            continue  # "Output the ISO 3166-1 alpha-2 code only": a country's code, not a program
        return None if _asks_to_explain(prompt, found) else found
    return None


def _candidates(prompt: str) -> list[CodeOnly]:
    """Every phrase of :data:`_PHRASES` in ``prompt`` with what precedes it checked, by position; a
    match starts at its first word (after the punctuation of its lead). The phrases are lower case and
    read an ASCII-lowered copy of the prompt (same positions), which scans faster than a
    case-insensitive pattern."""
    lowered = prompt.translate(_ASCII_LOWER)
    found = []
    for after, before, needs in _PHRASES:
        if not any(word in lowered for word in needs):
            continue
        for match in after.finditer(lowered):
            start = match.start()
            if start > 0 and (prompt[start - 1].isalnum() or prompt[start - 1] == "_"):
                continue
            if before is not None:
                lead = before.search(lowered, max(0, start - _BEFORE_REACH), start)
                if lead is None:
                    continue
                start = lead.start()
            text = prompt[start : match.end()]
            words = len(text) - len(text.lstrip(".!?:;,(\n \t-–—"))
            found.append(CodeOnly(start + words, match.end(), text[words:]))
    return sorted(found, key=lambda f: f.start)


def _inside_inline_code(prompt: str, position: int) -> bool:
    """Whether ``position`` is inside inline code (`` `…` ``): a quoted message or command."""
    return any(m.start() < position < m.end() for m in _INLINE_CODE.finditer(prompt))


def _asks_to_explain(prompt: str, code_only: CodeOnly) -> bool:
    """Whether ``prompt`` asks elsewhere for an explanation: code and prose, not code alone."""
    return any(not code_only.start <= m.start() < code_only.end for m in _EXPLAIN_REQUEST.finditer(prompt))
