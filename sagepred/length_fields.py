"""Lengths stated as a template's fields.

Applications send prompts built from templates: sections ("## Format", "CONSTRAINTS:"), key: value
spec sheets ("Length: 150-200 words", "Tone: friendly"), XML tags ("<length>short</length>") and
JSON configs (``{"max_words": 120}``). A count that opens the value of a field about the answer sizes
it ("Length: approximately 120 words", "- Response length: 2 paragraphs", a bullet "- 120–150 words"
under "## Constraints"); one in a field about the input does not ("Input limit: the user text is at
most 2000 characters", "Context: the 3 paragraphs below"). :func:`field_of` names the field a count
opens; :func:`keyed_length` reads the fields whose key names the unit and whose value is a bare
number ("max_words": 120, ``number_of_sentences: 6``, ``<word_limit>200</word_limit>``, "num_bullets":
3 with "words_per_bullet": 10); :func:`relative_field` a field whose value is a size word ("Length:
short", "Mode: quick answer", "Detail level: high").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

FieldKind = Literal["answer", "input"]

_HEDGES = (
    r"(?:(?:approx(?:imately|\.)?|about|around|roughly|~|exactly|up to|max(?:imum)?|min(?:imum)?|"
    r"at most|at least|no more than|no less than|no longer than|under|below|less than|fewer than|"
    r"between|a|an|one|single|only|just|strictly|ideally|target(?:ing)?|aim for)\s*)*"
)
_FIELD_BEFORE = re.compile(
    rf"(?:^|[.!?;]\s+|[{{,]\s*)[\"']?(?:[-*•]+\s*|\d{{1,2}}[.)]\s*|#+\s*)?"
    rf"(?P<label>[A-Za-z][\w /&'-]{{0,38}}?)[\"']?\s*(?:\([^()\n]{{0,30}}\)\s*)?[:=]\s*[\"']?{_HEDGES}$|"
    rf"<(?P<tag>[A-Za-z][\w-]{{0,30}})(?:\s[^<>\n]*)?>\s*{_HEDGES}$",
    re.IGNORECASE,
)
"""A field whose value opens at the end of a line's text: "Length: approximately", "- Output:",
'"length": "', "<length>"."""
_LINE_LABEL = re.compile(r"[ \t]*(?:[-*•]+[ \t]*)?(?P<label>[A-Za-z][\w /&'-]{0,38}?)[ \t]*:")
"""The label that opens a line ("Input limit: the user text is at most 2000 characters")."""
_LINE_OPENS = re.compile(rf"^\s*(?:[-*•]+\s*|\d{{1,2}}[.)]\s*)?{_HEDGES}$", re.IGNORECASE)
"""A count that opens its line, alone or as a bullet: "- 120–150 words", "Exactly 3 paragraphs"."""
_SECTION = re.compile(
    r"^\s*(?:#{1,6}\s*(?P<header>[^\n#]{1,40}?)\s*#*|\**(?P<label>[A-Za-z][\w /&'-]{0,38}?)\**\s*:|"
    r"<(?P<tag>[A-Za-z][\w-]{0,30})(?:\s[^<>\n]*)?>)\s*$",
    re.IGNORECASE,
)
"""A line that opens a section: "## Format", "CONSTRAINTS:", "<format>"."""
_BULLET = re.compile(r"\s*(?:[-*•]|\d{1,2}[.)])\s")
_SECTION_REACH = 8
"""Lines above a count's line searched for the header of its section (blank lines end a section)."""
_INPUT_WORDS = re.compile(
    r"\b(?:input|source|context|document|doc|user (?:text|input|message|content|draft)|transcript|excerpt|passage|original|notes?|data|student|"
    r"background|reference|examples?|sample|previous|prior|current|existing|retrieved|candidate|attachment)\b",
    re.IGNORECASE,
)
_ANSWER_WORDS = re.compile(
    r"\b(?:length|size|words?|word count|limit|max|maximum|min|minimum|target|format|formatting|output|"
    r"response|answer|reply|constraints?|requirements?|guidelines?|rules|instructions?|sentences?|"
    r"paragraphs?|bullets?|points?|pages?|characters?|chars?|tokens?|lines?|deliverables?|spec|structure)\b",
    re.IGNORECASE,
)


def _words_of(key: str) -> str:
    """A key as words: ``max_words`` → "max words", ``targetLength`` → "target length"."""
    return re.sub(r"(?<=[a-z])(?=[A-Z])|[_\-]+", " ", key).lower()


def _kind_of(label: str) -> FieldKind | None:
    words = _words_of(label)
    if _INPUT_WORDS.search(words):
        return "input"
    return "answer" if _ANSWER_WORDS.search(words) else None


def field_of(prompt: str, position: int) -> FieldKind | None:
    """Whether the count at ``position`` opens the value of a field about the answer ("answer") or
    the input ("input"), or neither (None): on its own line after ``Label:`` / ``"key":`` / ``<tag>``,
    or opening a line of a section whose header is such a label ("## Format" then "Exactly 3 paragraphs")."""
    line_start = prompt.rfind("\n", 0, position) + 1
    head = prompt[max(line_start, position - 80) : position]
    field = _FIELD_BEFORE.search(head)
    if field is not None:
        return _kind_of(field.group("label") or field.group("tag"))
    if not _LINE_OPENS.match(head):
        label = _LINE_LABEL.match(prompt, line_start, position)
        if label is None or re.search(r"[.!?]\s", prompt[label.end() : position]):
            return None
        return "input" if _kind_of(label.group("label")) == "input" else None
    lines = prompt[:line_start].split("\n")[:-1]
    for line in reversed(lines[-_SECTION_REACH:]):
        if not line.strip():
            return None
        section = _SECTION.match(line)
        if section is not None:
            return _kind_of(section.group("header") or section.group("label") or section.group("tag"))
        if not _BULLET.match(line):
            return None  # a line of prose: the count is not in a section's list
    return None


@dataclass(frozen=True)
class KeyedLength:
    """A length given as a keyed number: ``count`` of ``unit`` (``word``, ``sentence``, ``paragraph``,
    ``character``, ``token``, ``line``, ``page`` or ``item``), scaled by ``bound`` (0.8 for a maximum,
    1.15 for a minimum); ``per_item`` words of each item when a list's key comes with one."""

    count: float
    unit: str
    bound: float
    text: str
    per_item: float | None = None


_NUMBER = r"\d{1,3}(?:,\d{3})+|\d+"
_KEYED = re.compile(
    rf"(?:^|(?<=[\s{{,\[]))[\"']?(?P<key>[A-Za-z][\w -]{{1,40}}?)[\"']?\s*[:=]\s*[\"']?"
    rf"(?P<hedge>~\s*|approx(?:imately|\.)?\s+|about\s+|around\s+)?(?P<n>{_NUMBER})"
    rf"(?:\s*(?:-|–|to)\s*(?P<high>{_NUMBER}))?[\"']?\s*(?=[,}}\]\n]|$)|"
    rf"<(?P<tag>[A-Za-z][\w-]{{1,40}})>\s*~?\s*(?P<tag_n>{_NUMBER})\s*</(?P=tag)>",
    re.MULTILINE,
)
_KEY_UNITS = (
    ("word", r"words?"),
    ("sentence", r"sentences?"),
    ("paragraph", r"paragraphs?|paras?"),
    ("character", r"characters?|chars?"),
    ("token", r"tokens?"),
    ("line", r"lines?"),
    ("page", r"pages?"),
    ("item", r"bullets?|bullet points?|items?|points?|tips|ideas|options|examples|questions|steps"),
)
_KEY_BOUNDS = (
    (0.8, re.compile(r"\b(?:max|maximum|limit|cap|up to|at most|budget|ceiling)\b")),
    (1.15, re.compile(r"\b(?:min|minimum|at least|floor)\b")),
)
_LENGTH_KEY = re.compile(
    r"\b(?:num|number|count|n|max|maximum|min|minimum|limit|cap|target|length|total|desired|budget|"
    r"up to|at most|at least|how many)\b"
)
"""A key that asks for a count of its unit ("max words", "number of sentences"), not one that names
a thing ("page": 3 in a config of a form)."""


def _key_unit(words: str) -> tuple[str, bool] | None:
    """The unit a key names and whether it names it per item ("words per bullet")."""
    for unit, pattern in _KEY_UNITS:
        found = re.search(rf"\b(?:{pattern})\b", words)
        if found is not None:
            per = re.search(r"\b(?:per|each)\b", words[found.end() :]) is not None
            return unit, per
    return None


def keyed_length(prompt: str) -> KeyedLength | None:
    """The first length given as a keyed number whose key names the unit and asks for a count: JSON or
    YAML fields and XML tags ("max_words": 120, ``number_of_sentences: 6``, ``<word_limit>200</word_limit>``,
    "num_bullets": 3 with "words_per_bullet": 10); keys about the input ("input_max_chars") are not
    the answer's, nor is a config the prompt closes by asking about ("… which one wins?")."""
    if prompt.rstrip().endswith("?"):
        return None  # a question about a config ("which one wins if they conflict?"), not one to follow
    items: KeyedLength | None = None
    per_item: float | None = None
    for match in _KEYED.finditer(prompt):
        key = match.group("key") or match.group("tag")
        words = _words_of(key)
        found = _key_unit(words)
        if found is None or _INPUT_WORDS.search(words):
            continue
        unit, per = found
        if not per and not _LENGTH_KEY.search(words) and words.strip() not in ("words", "sentences"):
            continue
        n = match.group("n") or match.group("tag_n")
        count = float(n.replace(",", ""))
        high = match.group("high")
        if high is not None:
            count = (count + float(high.replace(",", ""))) / 2
        if count <= 0:
            continue
        bound = next((value for value, pattern in _KEY_BOUNDS if pattern.search(words)), 1.0)
        if per:
            per_item = count * (bound if bound < 1 else 1.0)
            continue
        length = KeyedLength(
            count, unit, 1.0 if unit == "item" and bound < 1 else bound, match.group(0).strip()
        )
        if unit != "item":
            return length
        items = items or length
    if items is None:
        return None
    return KeyedLength(items.count, items.unit, items.bound, items.text, per_item)


_SIZE_LABEL = re.compile(
    r"(?:^|\n|[.;]\s+|[{,]\s*)[ \t]*(?:[-*•]+\s*)?[\"']?(?:response |answer |output |reply )?"
    r"(?:length|size|verbosity|detail(?: level)?|level of detail|mode|answer style|response style)"
    r"[\"']?\s*[:=]\s*[\"']?(?P<value>[A-Za-z][\w -]{0,20})|"
    r"<(?P<tag>length|verbosity|size)>\s*(?P<tag_value>[A-Za-z][\w -]{0,20})",
    re.IGNORECASE,
)
_SHORTER = re.compile(
    r"(?:very )?(?:short|brief|concise|terse|quick(?: answer)?|minimal|low|compact|succinct)\b", re.IGNORECASE
)
_LONGER = re.compile(
    r"(?:very )?(?:long|detailed|in-depth|in depth|comprehensive|thorough|extended|high|verbose|exhaustive)\b",
    re.IGNORECASE,
)


def relative_field(prompt: str) -> tuple[int, str] | None:
    """A field that sizes the answer by a word ("Length: short", "Mode: quick answer", "Verbosity:
    high"): ``(-1, text)`` for shorter, ``(1, text)`` for longer, else None."""
    for match in _SIZE_LABEL.finditer(prompt):
        value = match.group("value") or match.group("tag_value")
        if _SHORTER.match(value):
            return -1, match.group(0).strip()
        if _LONGER.match(value):
            return 1, match.group(0).strip()
    return None
