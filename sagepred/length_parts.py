"""An answer asked for in sized parts.

Templates and careful users often size the answer part by part instead of as a whole: "Structure
your answer as: 1) TL;DR in at most 25 words 2) Analysis of about 200 words 3) Recommendation in 50
words", a layout of lines ("## Summary (~100 words)" / "## Risks (3 bullets)", "headline (max 10
words)" / "subheadline (max 20 words)"), one sentence ("Format: Summary (max 50 words), then 3
must-fix issues (1-2 sentences each), then 3 nice-to-haves (one sentence each)."), the objects of a
request ("Give me a catchy title (max 8 words), a description of about 135 words, and 5 bullet
highlights."), or a sentence of labelled parts after the request ("Background (2 sentences), Methods (3
sentences), Results (about 60 words)."). The answer's length is then the sum of its parts.
:func:`answer_parts` finds the parts, as spans of the prompt, where an instruction introduces them; the
grammar (:mod:`sagepred.length_instructions`) sizes each part, sums them when two or more are sized,
and multiplies the sum when the parts repeat for each of several things ("Create 3 buyer personas. For
each: …").

A set of parts is not the answer's when its introduction describes something that exists ("Our
handbook currently has these sections: …"), when a part says what something is ("Part A is 10 short
answers …"), when the parts are the fields of a form or a table the prompt asks code for, or when the
prompt closes with a question of its own about them ("… How should I split my time?").
"""

from __future__ import annotations

import re

_MARKER = r"(?:[-*•·]|\d{1,2}[.)]|[a-z][.)]|#{1,6}|\(\w\))"
_PART_LINE = re.compile(
    rf"\s*(?:{_MARKER}\s+|\*\*|(?=\d{{1,3}}\s+[^\W\d_])|(?=(?:[~≈<≤]|about |around |max |under |up to |at most )\s*\d)|"
    r"(?=[^\W\d_][^:\n()]{0,48}?\s*(?:[:(]|\s[-–—]\s)))",
)
"""A line of a layout: a bullet, a number, a header or a label before a colon or a parenthesis
("- Overview (2 paragraphs)", "Pros: 4 bullets", "headline (max 10 words)", "3 feature blocks …")."""
_LABEL_THEN_SIZE = re.compile(
    rf"\s*(?:{_MARKER}\s+)?(?:[^\W\d_][^:\n()—–]{{0,48}}?\s*(?:\(|(?::|\s[—–-])\s*(?:[~≈≤<]|(?:about|around|"
    r"approx\w*|max\w*|min\w*|under|up to|at most|at least|no more than|exactly|one|two|three|four|five|six|"
    r"seven|eight|nine|ten|half|an?|\d+)\b))|#)",
    re.IGNORECASE,
)
"""A layout line whose size follows its label, in parentheses ("Hero headline (≤10 words)") or after a
colon or a dash ("Purpose — 1 sentence"), or a header: such lines are a layout even when the line
before them does not end in a colon."""
_LABEL_THEN_NUMBER = re.compile(
    rf"\s*(?:{_MARKER}\s+)?\**[^\W\d_][^:：\n()（）—–]{{0,40}}?\**\s*(?:[(（]|[:：]|\s[—–-])[^\n\d]{{0,40}}?\d",
)
"""In any language: a layout line whose label is followed by a number ("Introducción (unas 80 palabras)",
"Betreff: max. 10 Wörter", "Absatz 1: Grund der Erhöhung, 2–3 Sätze", "摘要（100字左右）"); whether the
number is a size, the grammar of the prompt's language decides."""
_LINE_PART_CHARS = 200
"""The longest line read as one part of a layout (a longer one is a paragraph of its own)."""
_INTRO_ENDS = re.compile(r"[:：]\s*\**\s*$")
_ASKS = re.compile(
    r"\b(?:write|draft|create|generate|give|make|produce|compose|prepare|include|needs?|want|output|return|"
    r"respond|reply|answer|use|follow|fill|structure|format|sections?|fields?|template|layout|parts?|"
    r"contain|provide|summari[sz]e|explain|plan|outline|copy|build|requirements|deliverables?|in order)\b",
    re.IGNORECASE,
)
"""Words of a line that introduces a layout as the answer's ("Write the README … Sections:", "Landing
page copy for Scribbly")."""
_DESCRIBES = re.compile(
    r"\b(?:has|have|had|contains?|consists? of|is made of|already|attached|below|above|existing|"
    r"current(?:ly)?|we wrote|i wrote|was|were)\b",
    re.IGNORECASE,
)
"""In an introduction: the parts describe a text that exists ("The report has 3 sections: …")."""
_IMPERATIVE = re.compile(
    r"\s*(?:[\w'’-]+\s*[:,]\s*)?(?:please\s+)?(?:(?:can|could|would) (?:you|u)\s+(?:please\s+)?)?"
    r"(?:write|draft|create|generate|give|make|produce|compose|prepare|use|follow|structure|format|include|"
    r"summari[sz]e|explain|outline|fill|turn|convert|rewrite|split|break|organi[sz]e|put|return|output|"
    r"respond|reply|answer)\b|"
    r".*\b(?:(?:i|we) (?:need|want|'d like|would like)|must|should|needs? to|has to|have to)\b",
    re.IGNORECASE,
)
"""An introduction that asks, whatever else it says ("Summarize the reviews below into:", "I need the
current draft split into:"): a description word in it does not make the parts a description."""
_PART_IS = re.compile(
    r"\s*(?:[\w&'’/-]+\s+){1,4}(?:is|are|was|were|has|have|had)\s+(?:an?|one|two|three|four|five|six|\d+)\b",
    re.IGNORECASE,
)
"""A part that says what something is ("Part A is 10 short answers (2-3 sentences each)")."""
_CODE_FIELDS = re.compile(
    r"\b(?:form(?! of)|html|sql|regex|zod|schema|maxlength|varchar|database|table|pydantic)\b",
    re.IGNORECASE,
)
"""Before the parts: they are the fields of a form, a table or a schema the prompt asks code for
("Generate an HTML intake form …: chief complaint (max 200 chars), …")."""
_CLOSING_QUESTION = re.compile(
    r"(?:^|[.!?\n]\s*)(?:so\s+)?(?:how|what|which|where|why|when|who|is|are|does|do|did|should|will|"
    r"can (?:i|we)|could (?:i|we)|am i|would it|any)\b[^?\n]{0,200}\?\s*$",
    re.IGNORECASE,
)
"""How a prompt ends when it asks a question of its own about the parts before it ("… How should I split
my time?", "Where should a new policy go?")."""
_INLINE_OPENER = re.compile(
    r"(?:[:：]|\b(?:in|into)\s+(?:\w+\s+){0,2}?(?:parts|sections|pieces|blocks)\b\s*:?|"
    r"\bfor each(?: one| [a-z][\w-]*)?\b\s*[:,]?)\s*",
    re.IGNORECASE,
)
"""Where a sentence starts listing the parts of its answer: a colon, "in 3 parts", "for each one"."""
_EACH_INTRO = re.compile(
    r"\s*(?:for each|for every|each|per)(?: [\w-]+)?(?: one)?(?:\s+(?:needs|gets|should have|i need|we need))?\s*|"
    r"\s*(?:\d+|two|three|four|five|six|seven|eight|nine|ten)\s+(?:parts|sections|paragraphs|pieces|blocks)\s*",
    re.IGNORECASE,
)
"""An introduction of parts that repeat for each of several things ("For each:", "Each one:", "Each email
needs:"), or that counts them ("… a cover letter. 3 paragraphs: opening ~60 words, …")."""
_NUMBERED_INLINE = re.compile(r"(?:^|\s)\(?\d{1,2}\)\s+")
"""Inline part numbers: "1) TL;DR … 2) Analysis …"."""
_SEPARATOR = re.compile(
    r"\s*(?:;|,\s*(?:and\s+|then\s+|plus\s+)?|\s(?:and then|then|plus|followed by)\s+|"
    r"\sand\s+(?=(?:an?|one|two|three|four|five|six|seven|eight|nine|ten|half|\d+)\b))\s*",
    re.IGNORECASE,
)
"""Between two parts of one sentence: a semicolon, a comma (", and", ", then"), "then", "plus", and an
"and" before a count ("… and half a page of …")."""
_MODIFIER = re.compile(
    r"(?:max(?:imum)?|under|at most|no more than|up to|about|around|roughly|approximately|~|each|"
    r"at least|min(?:imum)?|between|less than|fewer than)\b",
    re.IGNORECASE,
)
"""What opens a piece that sizes the part before it rather than naming a part of its own."""
_SENTENCE_END = re.compile(r"[.!?](?=\s+[A-Z\"'(]|\s*$)|\n")


def _top_level(text: str) -> list[tuple[int, int]]:
    """Spans of ``text`` outside parentheses and brackets (a part's aside may hold a comma)."""
    spans, depth, start = [], 0, 0
    for i, char in enumerate(text):
        if char in "([{":
            if depth == 0 and i > start:
                spans.append((start, i))
            depth += 1
        elif char in ")]}" and depth:
            depth -= 1
            if depth == 0:
                start = i + 1
    if depth == 0 and start < len(text):
        spans.append((start, len(text)))
    return spans


def _split_inline(text: str, offset: int) -> list[tuple[int, int]]:
    """The parts of an inline enumeration ``text`` (at ``offset`` in the prompt), split at separators
    outside parentheses, or at inline part numbers."""
    numbered = list(_NUMBERED_INLINE.finditer(text))
    if len(numbered) >= 2:
        ends = [m.start() for m in numbered[1:]] + [len(text)]
        return [(offset + m.end(), offset + end) for m, end in zip(numbered, ends, strict=True)]
    cuts: list[tuple[int, int]] = []
    for start, end in _top_level(text):
        cuts.extend(m.span() for m in _SEPARATOR.finditer(text, start, end))
    parts, previous = [], 0
    for cut_start, cut_end in cuts:
        parts.append((offset + previous, offset + cut_start))
        previous = cut_end
    parts.append((offset + previous, offset + len(text)))
    merged: list[tuple[int, int]] = []
    for start, end in parts:
        if merged and _MODIFIER.match(text, start - offset):
            merged[-1] = (merged[-1][0], end)  # "4 bullets, max 12 words each": one part, sized
        elif end > start:
            merged.append((start, end))
    return merged


def _foreign_layouts(prompt: str) -> list[list[tuple[int, int]]]:
    """In a prompt in another language, where no English word tells a request: runs of consecutive lines
    (blank lines between them allowed) of which two or more put a number after their label, after a line
    that is not a question; the other lines of the run are its unsized parts ("Oggetto", "Saluto
    formale")."""
    blocks: list[list[tuple[int, int]]] = []
    run: list[tuple[int, int]] = []
    sized = 0
    previous, position = "", 0
    for line in prompt.split("\n"):
        start, end = position, position + len(line)
        position = end + 1
        if not line.strip():
            continue
        numbered = _LABEL_THEN_NUMBER.match(line) is not None
        part_like = len(line) <= _LINE_PART_CHARS and not line.rstrip().endswith(("?", "？"))
        if (
            part_like
            and (numbered or (run and len(line) <= 60))
            and (run or not previous.rstrip().endswith(("?", "？")))
        ):
            run.append((start, end))
            sized += numbered
            continue
        if sized >= 2:
            blocks.append(run)
        run, sized, previous = [], 0, line
    if sized >= 2:
        blocks.append(run)
    return blocks


def _layout_blocks(prompt: str) -> list[list[tuple[int, int]]]:
    """Runs of two or more consecutive layout lines (blank lines between them allowed), each introduced
    by the line before it."""
    lines, position = [], 0
    for line in prompt.split("\n"):
        lines.append((position, position + len(line), line))
        position += len(line) + 1
    blocks: list[list[tuple[int, int]]] = []
    run: list[tuple[int, int]] = []
    previous = ""
    for start, end, line in lines:
        if not line.strip():
            continue
        is_part = bool(
            len(line) <= _LINE_PART_CHARS and _PART_LINE.match(line) and not line.rstrip().endswith("?")
        )
        if is_part and (
            run
            or _introduces(previous, line)
            or (_sized_layout_starts(prompt, start) and _may_precede(previous))
        ):
            run.append((start, end))
            continue
        if len(run) >= 2:
            blocks.append(run)
        run = []
        previous = line
    if len(run) >= 2:
        blocks.append(run)
    return blocks


def _may_precede(line: str) -> bool:
    """Whether ``line`` may stand before a layout it does not introduce: not a question, not a
    description ("My essay is 2,500 words … Which sections are weakest?"), not a line of a layout
    already refused."""
    return (
        "?" not in line
        and not _PART_LINE.match(line)
        and not (_DESCRIBES.search(line) and not _IMPERATIVE.match(line))
    )


def _sized_layout_starts(prompt: str, start: int) -> bool:
    """Whether the line at ``start`` opens a run of three or more lines that each put a size after their
    label ("Challenge — 80 words" / "Solution — 120 words" / "Results — 3 metrics, one line each"): a
    layout even without an introduction."""
    lines = prompt[start:].split("\n", 3)[:3]
    return len(lines) == 3 and all(
        _LABEL_THEN_SIZE.match(line) and not line.startswith("#") for line in lines
    )


def _introduces(intro: str, first: str) -> bool:
    """Whether the line ``intro`` introduces the layout whose first line is ``first`` as the answer's:
    its last sentence asks for something ("Write the README … Sections:", "Requirements:") and ends in a
    colon, or the layout's lines put their sizes after their labels ("Landing page copy for …" then
    "Hero headline (≤10 words)")."""
    sentence = _last_sentence(intro)
    if not sentence or (_DESCRIBES.search(sentence) and not _IMPERATIVE.match(sentence)):
        return False
    if not _ASKS.search(sentence) or sentence.rstrip().endswith("?"):
        return False
    return bool(_INTRO_ENDS.search(sentence) or _LABEL_THEN_SIZE.match(first))


_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+")


def _last_sentence(text: str) -> str:
    """The last sentence of ``text``, stripped."""
    return _SENTENCE_BREAK.split(text.strip())[-1]


def _inline_parts(prompt: str) -> list[list[tuple[int, int]]]:
    """Each line's first enumeration after an opener whose sentence asks or counts the parts ("…: a, b,
    and c", "in 3 parts: …", "Structure your answer as: 1) … 2) …", "for each one a … and …")."""
    found: list[list[tuple[int, int]]] = []
    for line_match in re.finditer(r"[^\n]+", prompt):
        line, offset = line_match.group(0), line_match.start()
        for opener in _INLINE_OPENER.finditer(line):
            intro = line[: opener.start()]
            sentence = _last_sentence(intro)
            in_parts = opener.group(0).strip(" :：,") != "" or _EACH_INTRO.fullmatch(sentence) is not None
            if not (in_parts or _ASKS.search(sentence)) or (
                _DESCRIBES.search(sentence) and not _IMPERATIVE.match(sentence)
            ):
                continue
            rest = line[opener.end() :]
            end = _sentence_end(rest)
            parts = _split_inline(rest[:end], offset + opener.end())
            if len(parts) >= 2:
                found.append(parts)
                break
    return found


def _sentence_end(text: str) -> int:
    """Where the sentence that ``text`` opens ends, outside parentheses."""
    for start, end in _top_level(text):
        match = _SENTENCE_END.search(text, start, end)
        if match is not None:
            return match.start()
    return len(text)


_REQUEST_OPENER = re.compile(
    r"(?:^|(?<=[.!?]\s)|(?<=\n))\s*(?:please\s+)?(?:(?:can|could|would) you\s+(?:please\s+)?)?"
    r"(?:give|write|create|draft|generate|make|produce|compose|prepare|include|i need|we need|need)\b"
    r"(?:\s+(?:me|us))?\s+",
    re.IGNORECASE,
)
"""A sentence that opens with its request ("Give me …", "Write …", "I need …"), whose objects may be the
answer's parts ("Give me a catchy title (max 8 words), a description of about 135 words, and 5 bullet
highlights.")."""
_DETERMINED = re.compile(
    r"(?:an?|one|two|three|four|five|six|seven|eight|nine|ten|twelve|fifteen|twenty|half|\d+)\b",
    re.IGNORECASE,
)
"""What opens each object of such a request when they are parts: an article or a count."""


def _requested_parts(prompt: str) -> list[list[tuple[int, int]]]:
    """The objects of a request that names two or more parts each opened by an article or a count."""
    found: list[list[tuple[int, int]]] = []
    for opener in _REQUEST_OPENER.finditer(prompt):
        rest = prompt[opener.end() : opener.end() + 600]
        parts = _split_inline(rest[: _sentence_end(rest)], opener.end())
        if len(parts) >= 2 and all(_DETERMINED.match(prompt, start) for start, _ in parts):
            found.append(parts)
    return found


_LABELLED = re.compile(r"\s*(?:and\s+|then\s+)?[^\W\d_][\w '’/&-]{0,40}?\s*\(", re.IGNORECASE)
"""A part named by its label with its size in parentheses: "Background (2 sentences)"."""
UNIT_LABEL = re.compile(r"\s*(?:[\w'’-]+\s+){1,2}(?:paragraph|sentence|page)\s*", re.IGNORECASE)
"""A part named by a prose unit without a count ("Intro paragraph", "closing sentence"): one of it."""
_MAY_BE_SIZED = re.compile(r"\(|\d|\b(?:paragraph|sentence|page|word|bullet)", re.IGNORECASE)
_SENTENCE = re.compile(r"[^.!?\n]+(?:\([^)\n]*\)[^.!?\n]*)*[.!?]?")


def _labelled_sentences(prompt: str) -> list[list[tuple[int, int]]]:
    """A sentence of its own after a request whose pieces are each a label and a parenthesis, a count, or
    a prose unit: "Write a structured abstract …. Background (2 sentences), Methods (3 sentences),
    Results (about 60 words).", "… Intro paragraph, three body paragraphs of at least 80 words each,
    and a conclusion of 3 sentences."."""
    found: list[list[tuple[int, int]]] = []
    for sentence in _SENTENCE.finditer(prompt):
        text = sentence.group(0)
        if ("," not in text and ";" not in text) or not _MAY_BE_SIZED.search(text):
            continue
        parts = _split_inline(text.rstrip(".!?"), sentence.start())
        if len(parts) < 2 or not all(
            _LABELLED.match(prompt, start, end)
            or _DETERMINED.match(prompt, start, end)
            or UNIT_LABEL.fullmatch(prompt, start, end)
            for start, end in parts
        ):
            continue
        before = prompt[max(0, sentence.start() - 400) : sentence.start()]
        if any(_IMPERATIVE.match(s) for s in re.split(r"(?<=[.!?\n])\s*", before) if s.strip()):
            found.append(parts)
    return found


def answer_parts(prompt: str, foreign: bool = False) -> list[list[tuple[int, int]]]:
    """Candidate sets of the answer's parts: each a list of ``(start, end)`` spans of ``prompt``, from a
    layout of lines, an enumeration after an opener, the objects of a request, or a sentence of labelled
    parts after a request, in that order. ``foreign``: the prompt is in another language; only layouts
    of labelled sizes are read (:func:`_foreign_layouts`), and not when the prompt ends with a question."""
    if foreign:
        if prompt.rstrip().endswith(("?", "？")):
            return []
        return [parts for parts in _foreign_layouts(prompt) if not _states_the_whole(prompt, parts)]
    candidates = (
        _layout_blocks(prompt)
        + _inline_parts(prompt)
        + _requested_parts(prompt)
        + _labelled_sentences(prompt)
    )
    return [parts for parts in candidates if _are_the_answers(prompt, parts)]


_WHOLE_LENGTH = re.compile(
    r"\s*(?:[-*•]\s*)?\**(?:(?:total |overall |target )?(?:length|word count|words|word limit)|文字数|字数|总字数|长度|篇幅|"
    r"分量|longitud|extensi[oó]n|extens[aã]o|tamanho|longueur|lunghezza|l[äa]nge|umfang|wortanzahl|"
    r"объ[её]м|длина)\**\s*[:：]",
    re.IGNORECASE,
)
"""A part whose label names the whole answer's length ("Length: 300 words", "文字数: 1000字以上"): the
other parts are its structure, not more text."""


def _states_the_whole(prompt: str, parts: list[tuple[int, int]]) -> bool:
    """Whether one of the parts states the whole answer's length (:data:`_WHOLE_LENGTH`)."""
    return any(_WHOLE_LENGTH.match(prompt, start, end) for start, end in parts)


def _are_the_answers(prompt: str, parts: list[tuple[int, int]]) -> bool:
    """Whether the parts are the answer's: not when one says what something is ("Part A is …"), when
    they are fields of a form or a table the prompt asks code for, or when the prompt closes with a
    question of its own after them."""
    if any(_PART_IS.match(prompt, start, end) for start, end in parts) or _states_the_whole(prompt, parts):
        return False
    if _CODE_FIELDS.search(_last_sentence(prompt[max(0, parts[0][0] - 300) : parts[0][0]])):
        return False
    last_line = prompt[parts[-1][1] :].strip().rsplit("\n", 1)[-1]
    return _CLOSING_QUESTION.search(last_line) is None
