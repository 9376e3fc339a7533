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
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

FieldKind = Literal["answer", "input"]

_LETTER = r"[^\W\d_]"
_LABEL = rf"{_LETTER}[\w /&'’.-]{{0,38}}?"
_HEDGES = (
    r"(?:(?:approx(?:imately|\.)?|about|around|roughly|~|exactly|up to|max(?:imum)?|min(?:imum)?|"
    r"at most|at least|no more than|no less than|no longer than|under|below|less than|fewer than|"
    r"between|a|an|one|single|only|just|strictly|ideally|target(?:ing)?|aim for)\s*)*"
)
_VALUE_HEAD = rf"(?:{_HEDGES}|(?:{_LETTER}[\w.'’-]{{0,14}}\s+){{1,3}}|[~≈約约]?{_LETTER}{{0,4}})"
"""What may open a field's value before its count: English hedges ("approximately"), up to three words
in another language ("höchstens", "не более", "Elenco puntato di"), a few characters in Chinese or
Japanese ("不少于")."""
_FIELD_BEFORE = re.compile(
    rf"(?:^|[.!?;]\s+|[。！？；]\s*|[{{,]\s*(?=[\"']))[\"']?(?:[-*•・—–]+\s*|\d{{1,2}}[.)]\s*|#+\s*)?\**"
    rf"(?P<label>{_LABEL})[\"']?\s*(?:\([^()\n]{{0,30}}\)\s*)?(?:[:=：]\**|\**[:=：]|≈|\s[—–])\s*[\"'「“]?{_VALUE_HEAD}$|"
    rf"<(?P<tag>{_LETTER}[\w-]{{0,30}})(?:\s[^<>\n]*)?>\s*{_VALUE_HEAD}$|"
    rf"^\s*\[(?P<bracket>{_LABEL})\]\s*{_VALUE_HEAD}$|"
    rf"【(?P<cjk>[^】\n]{{1,12}})】\s*{_VALUE_HEAD}$",
    re.IGNORECASE,
)
"""A field whose value opens at the end of a line's text: "Length: approximately", "- Output:",
"**Target length:**", '"length": "', "<length>", "[RESPONSE SPEC]", "Output length ≈", "Länge: höchstens",
"字数：不少于", "【分量】"."""
_LINE_LABEL = re.compile(
    rf"[ \t]*(?:[-*•・—–]+[ \t]*)?(?:(?P<label>{_LABEL})[ \t]*(?:\([^()\n]{{0,80}}\)[ \t]*)?(?:[:：]|\s[—–]\s)|"
    rf"【(?P<cjk>[^】\n]{{1,12}})】|<(?P<tag>{_LETTER}[\w-]{{0,30}})>)"
)
"""The label that opens a line ("Input limit: the user text is at most 2000 characters", "【分量】")."""
_LINE_OPENS = re.compile(rf"^\s*(?:[-*•・—–]+\s*|\d{{1,2}}[.)]\s*)?{_VALUE_HEAD}$", re.IGNORECASE)
"""A count that opens its line, alone or as a bullet: "- 120–150 words", "Exactly 3 paragraphs"."""
_SECTION = re.compile(
    rf"^\s*(?:#{{1,6}}\s*(?P<header>[^\n#]{{1,40}}?)\s*#*|\**(?P<label>{_LABEL})\**\s*[:：]|"
    rf"<(?P<tag>{_LETTER}[\w-]{{0,30}})(?:\s[^<>\n]*)?>|【(?P<cjk>[^】\n]{{1,12}})】)\s*$",
    re.IGNORECASE,
)
"""A line that opens a section: "## Format", "CONSTRAINTS:", "<format>", "RESTRICCIONES:", "【条件】"."""
_BULLET = re.compile(r"\s*(?:[-*•・—–]|\d{1,2}[.)])\s")
_SECTION_REACH = 8
"""Lines above a count's line searched for the header of its section (blank lines end a section)."""
_INPUT_WORDS = re.compile(
    r"\b(?:input|source|context|document|doc|user (?:text|input|message|content|draft)|transcript|excerpt|passage|"
    r"original|notes?|data|student|background|reference|examples?|sample|previous|prior|current|existing|"
    r"retrieved|candidate|attachment|"
    r"contexto|entrada|usuario|usu[aá]rio|notas|documento|fuente|fonte|contexte|entr[ée]e|utilisateur|"
    r"source|contesto|utente|kontext|eingabe\w*|nutzer\w*|kunden\w*|notizen|dokument|quelle|"
    r"контекст|ввод|пользовател\w*|заметки|документ|источник)\b|"
    r"背景|上下文|输入|輸入|用户|用戶|资料|資料|文档|コンテキスト|入力|ユーザー|文書|メモ",
    re.IGNORECASE,
)
_ANSWER_WORDS = re.compile(
    r"\b(?:length|size|words?|word count|limit|max|maximum|min|minimum|target|format|formatting|output|"
    r"response|answer|reply|constraints?|requirements?|guidelines?|rules|instructions?|sentences?|"
    r"paragraphs?|bullets?|points?|pages?|characters?|chars?|tokens?|lines?|deliverables?|spec|structure|"
    r"need|needs|ask|request|regras|reglas|r[èe]gles|regole|regeln|правила|istruzioni|instrucciones|"
    r"instru[cç][oõ]es|consignes|anweisungen|инструкции|indicazioni|indicaciones|indica[cç][oõ]es|hinweise|указания|"
    r"longitud|extensi[oó]n|formato|salida|respuesta|palabras|caracteres|restricciones|requisitos|l[ií]mite|"
    r"tama(?:ñ|nh?)o|extens[aã]o|comprimento|sa[ií]da|resposta|palavras|restri[cç][oõ]es|limite|longueur|taille|"
    r"sortie|r[ée]ponse|mots|caract[èe]res|contraintes|exigences|volume|lunghezza|risposta|parole|caratteri|"
    r"vincoli|requisiti|estensione|l[äa]e?nge|textl[äa]nge|umfang|ausgabe|antwort|w[öo]e?rter|zeichen|vorgaben|"
    r"anforderungen|grenze|длина|объ[её]м|ответ|вывод|формат|слов\w*|символ\w*|ограничения|требования|лимит|"
    r"размер)\b|"
    r"字数|長さ|长度|長度|篇幅|格式|输出|輸出|要求|限制|回答|回复|文字数|分量|形式|出力|条件|制約|ボリューム|规则|規則|ルール|指示",
    re.IGNORECASE,
)


def answer_field_line(line: str) -> bool:
    """Whether ``line`` opens with the label of a field about the answer ("Länge: …", "【分量】…"): a
    template's line, not pasted material."""
    label = _LINE_LABEL.match(line)
    return (
        label is not None
        and _kind_of(label.group("label") or label.group("cjk") or label.group("tag")) == "answer"
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
        return _kind_of(
            field.group("label") or field.group("tag") or field.group("bracket") or field.group("cjk")
        )
    if _in_input_line(prompt, line_start, position):
        return "input"  # "Input limit: the user text is at most …", "Kontext (5 Treffer, Top 3 angezeigt):"
    if _LINE_OPENS.match(head):
        return section_of(prompt, position)
    if _BULLET.match(head) and _INPUT_WORDS.search(head) and section_of(prompt, position) == "answer":
        return "input"  # a rule about the input: "- 入力された質問が2,000文字を超える場合は…"
    return None


def _in_input_line(prompt: str, line_start: int, position: int) -> bool:
    """Whether ``position`` lies in the label or the first sentence of a line labelled as the input."""
    line_end = prompt.find("\n", position)
    label = _LINE_LABEL.match(prompt, line_start, len(prompt) if line_end < 0 else line_end)
    if label is None or _kind_of(label.group("label") or label.group("cjk") or label.group("tag")) != "input":
        return False
    return position < label.end() or not re.search(r"[.!?]\s|[。！？]", prompt[label.end() : position])


def _closes_with_a_question(prompt: str) -> bool:
    """Whether the prompt ends with a question of its own, not a template's labelled field ("Question: …?")
    or the content of its last section ("## 用户消息\n…还能退吗？")."""
    lines = prompt.rstrip().rsplit("\n", _SECTION_REACH)
    if not lines[-1].endswith(("?", "？")) or _LINE_LABEL.match(lines[-1]):
        return False
    for line in reversed(lines[:-1]):
        if not line.strip():
            return True
        if _SECTION.match(line):
            return False
    return True


def section_of(prompt: str, position: int) -> FieldKind | None:
    """The kind of the section ``position`` lies in: its line is the header's next line or one of the
    bullets or numbered items under a header about the answer ("## Format", "Requisitos:") or the input.
    None when the prompt closes with a question of its own: then its rules are what it asks about
    ("Consignes du rapport :\n- 10 pages maximum\n\nQuelle police je devrais choisir ?")."""
    end = prompt.rfind("\n", 0, position)
    for _ in range(_SECTION_REACH):
        if end < 0:
            return None
        start = prompt.rfind("\n", 0, end) + 1
        line, end = prompt[start:end], start - 1
        if not line.strip():
            return None
        section = _SECTION.match(line)
        if section is not None:
            if _closes_with_a_question(prompt):
                return None
            return _kind_of(
                section.group("header")
                or section.group("label")
                or section.group("tag")
                or section.group("cjk")
            )
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
    rf"(?:^|(?<=[\s{{,\[]))[\"']?(?P<key>{_LETTER}[\w '’-]{{1,40}}?)[\"']?\s*[:=：]\s*[\"']?"
    rf"(?P<hedge>~\s*|approx(?:imately|\.)?\s+|about\s+|around\s+)?(?P<n>{_NUMBER})"
    rf"(?:\s*(?:-|–|to)\s*(?P<high>{_NUMBER}))?[\"']?\s*(?=[,}}\]\n]|$)|"
    rf"<(?P<tag>{_LETTER}[\w-]{{1,40}})>\s*~?\s*(?P<tag_n>{_NUMBER})\s*</(?P=tag)>",
    re.MULTILINE,
)
_KEYED_GATE = re.compile(r"[\w\"'] ?[:=：] ?[\"']?~?\d|>\s*~?\d")
"""A cheap test that some field holds a number, before :data:`_KEYED` looks at every position."""
_KEY_UNITS = (
    ("word", r"words?|woerter|w[öo]rter"),
    ("sentence", r"sentences?"),
    ("paragraph", r"paragraphs?|paras?|abs(?:ä|ae)tze?n?"),
    ("character", r"characters?|chars?"),
    ("token", r"tokens?"),
    ("line", r"lines?"),
    ("page", r"pages?"),
    ("item", r"bullets?|bullet points?|items?|points?|tips|ideas|options|examples|questions|steps"),
)
_KEY_BOUNDS = (
    (
        0.8,
        re.compile(
            r"\b(?:max|maximum|limit|cap|up to|at most|budget|ceiling|m[aá]x|m[aá]ximo|massimo|maximal|h[öo]e?chstens|"
            r"l[ií]mite|grenze|максимум|макс|лимит)\b|上限|最大|最多|以内"
        ),
    ),
    (
        1.15,
        re.compile(
            r"\b(?:min|minimum|at least|floor|m[ií]n|m[ií]nimo|minimal|mindestens|минимум|мин)\b|下限|最少|至少"
        ),
    ),
)
_BARE_UNIT_KEY = re.compile(
    r"words|sentences|paragraphs|palabras|palavras|mots|parole|w(?:ö|oe)rter|слов|frases|oraciones|phrases|frasi|"
    r"s(?:ä|ae)tze|предложени[йя]|p[aá]rrafos|par[aá]grafos|paragraphes|paragrafi|abs(?:ä|ae)tze|абзац(?:ев|ы)",
    re.IGNORECASE,
)
"""A key that is a prose unit alone (``<absaetze>4</absaetze>``, ``"words": 120``): its count is the answer's."""
_UNIT_FIELD = re.compile(r"[\"']?\bunits?[\"']?\s*[:=]\s*[\"']?(?P<unit>[A-Za-z]+)")
"""A config's unit for its length key: ``"unit": "characters"``."""
_LENGTH_KEY = re.compile(
    r"\b(?:num|number|count|n|max|maximum|min|minimum|limit|cap|target|length|len|total|desired|budget|"
    r"range|up to|at most|at least|how many|nb|n[uú]mero|nombre|anzahl|количество|objetivo|ziel|cible|quantidade|"
    r"cantidad|quantit[ée]|quantit[àa]|"
    r"m[aá]x|m[aá]ximo|massimo|maximal|m[ií]n|m[ií]nimo|minimal|максимум|минимум|макс|мин|l[ií]mite|grenze)\b|"
    r"上限|下限|最大|最多|最少|至少|以内|数"
)
"""A key that asks for a count of its unit ("max words", "number of sentences"), not one that names
a thing ("page": 3 in a config of a form)."""


def _named_unit(words: str, units: Mapping[str, str] | None = None) -> tuple[str, int] | None:
    """The unit ``words`` name and where the name ends (``units``: a language's unit nouns by unit, as
    :class:`~sagepred.length_grammars.LanguageGrammar` has them, read as well)."""
    for unit, pattern in _KEY_UNITS:
        found = re.search(rf"\b(?:{pattern})\b", words)
        if found is not None:
            return unit, found.end()
    for unit, pattern in (units or {}).items():
        found = re.search(rf"(?:{pattern})", words)
        if found is not None:
            return unit, found.end()
    return None


def _key_unit(words: str, prompt: str, units: Mapping[str, str] | None = None) -> tuple[str, bool] | None:
    """The unit a key names and whether it names it per item ("words per bullet"); a length key that
    names none takes the config's ``"unit"`` field ("maxLen": 600 beside "unit": "characters")."""
    named = _named_unit(words, units)
    if named is not None:
        unit, end = named
        return unit, re.search(r"\b(?:per|each|por|par|pro|je|на)\b|每", words[end:]) is not None
    if not re.search(r"\b(?:len|length|size)\b", words):
        return None
    sibling = _UNIT_FIELD.search(prompt)
    named = _named_unit(sibling.group("unit").lower()) if sibling is not None else None
    return (named[0], False) if named is not None else None


def keyed_length(prompt: str, units: Mapping[str, str] | None = None) -> KeyedLength | None:
    """The first length given as a keyed number whose key names the unit and asks for a count: JSON or
    YAML fields and XML tags ("max_words": 120, ``number_of_sentences: 6``, ``<word_limit>200</word_limit>``,
    "num_bullets": 3 with "words_per_bullet": 10); keys about the input ("input_max_chars") are not
    the answer's, nor is a config the prompt closes by asking about ("… which one wins?"). ``units``: a
    language's unit nouns by unit ("max_palabras", "字数上限")."""
    if not _KEYED_GATE.search(prompt) or _closes_with_a_question(prompt):
        return None  # a question about a config ("which one wins if they conflict?"), not one to follow
    items: KeyedLength | None = None
    per_item: float | None = None
    for match in _KEYED.finditer(prompt):
        key = match.group("key") or match.group("tag")
        words = _words_of(key)
        found = _key_unit(words, prompt, units)
        if found is None or _INPUT_WORDS.search(words):
            continue
        unit, per = found
        if not per and not _LENGTH_KEY.search(words) and not _BARE_UNIT_KEY.fullmatch(words.strip()):
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


_SIZE_KEYS = (
    r"length|size|verbosity|brevity|detail(?:[ _]level)?|level[ _]of[ _]detail|depth|mode|answer[ _]style|"
    r"response[ _]style|longitud|extensi[oó]n|extens[aã]o|tamanho|comprimento|longueur|lunghezza|l[äa]e?nge|umfang|"
    r"n[ií]vel de detalh?e|niveau de d[ée]tail|livello di dettaglio|detailgrad|detailtiefe|уровень детализации|"
    r"подробность|детализация|nivel de detalle|"
    r"длина|объ[её]м|篇幅|长度|長度|長さ|分量|字数|详细程度|詳しさ"
)
_SIZE_LABEL = re.compile(
    r"(?:^|\n|[.;]\s+|[{,]\s*)[ \t]*(?:[-*•・]+\s*)?[\"'【]?(?:response |answer |output |reply )?(?:[^\W\d_]{1,4}の)?"
    rf"(?P<key>{_SIZE_KEYS})(?:[ \t]+[\w']+){{0,3}}?"
    rf"(?:】\s*[:=：]?|[\"']?\s*[:=：])\s*[\"']?(?P<value>{_LETTER}[\w -]{{0,20}})|"
    rf"<(?P<tag>{_SIZE_KEYS})>\s*(?P<tag_value>{_LETTER}[\w -]{{0,20}})",
    re.IGNORECASE,
)
_SHORTER = re.compile(
    r"(?:very |muy |très |molto |sehr |очень )?(?:short|brief|concise|terse|quick(?: answer)?|minimal|low|compact|"
    r"succinct|cort[oa]|curt[oa]|breve|court|courte|concis[oe]?|kurz|knapp|коротк\w*|кратк\w*|сжат\w*|niedrig|gering|"
    r"baj[oa]|baix[oa]|faible|bass[oa]|низк\w*)\b|"
    r"简短|簡短|简洁|簡潔|精简|短め|短く|簡潔に|手短",
    re.IGNORECASE,
)
_LONGER = re.compile(
    r"(?:very |muy |très |molto |sehr |очень )?(?:long|detailed|in-depth|in depth|comprehensive|thorough|extended|"
    r"high|verbose|exhaustive|max(?:imum)?|full|deep|larg[oa]|detallad[oa]|extens[oa]|detalhad[oa]|longue|"
    r"d[ée]taill[ée]e?|lung[oa]|dettagliat[oa]|ausf[üu]hrlich|lang|подробн\w*|разв[её]рнут\w*|hoch|alt[oa]|[ée]lev[ée]e?|"
    r"elevat[oa]|высок\w*|approfondit[oa]|aprofundad[oa]|a fondo|profond[oe]?)\b|"
    r"详细|詳細|详尽|詳しく|長め|しっかり",
    re.IGNORECASE,
)


def relative_field(prompt: str) -> tuple[int, str] | None:
    """A field that sizes the answer by a word ("Length: short", "Mode: quick answer", "Verbosity:
    high", "Longitud: corta", "篇幅：简短"): ``(-1, text)`` for shorter, ``(1, text)`` for longer, else
    None."""
    for match in _SIZE_LABEL.finditer(prompt):
        value = match.group("value") or match.group("tag_value")
        sign = -1 if (match.group("key") or "").lower() == "brevity" else 1  # "brevity: high" is shorter
        if _SHORTER.match(value):
            return -sign, match.group(0).strip()
        if _LONGER.match(value):
            return sign, match.group(0).strip()
    return None
