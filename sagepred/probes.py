"""Length-instruction probes: prompts that ask for a known length, and how a predictor ranks them.

A probe file is JSONL, one prompt per line with ``id``, ``topic``, ``instruction`` (a short key),
``instructed_words`` (the length it asks for, in words) and ``prompt``. Within a topic the prompts
differ only in what they ask for, so a predictor that reads instructions orders its medians as the
instructed lengths. The source tree has six sets, never trained on: ``tests/data/length_probes.jsonl``
(one wording per instruction), ``tests/data/length_probes_varied.jsonl`` (other topics, each worded
its own way: "respond with just a number", "a sonnet", "in roughly 800 words", "a two-page briefing"),
``tests/data/length_probes_requirements.jsonl`` (the length as a requirement after the task:
"There should be 3 paragraphs.", "…, 1,500 words.", "(yes/no)", "half a page", "four stanzas"),
``tests/data/length_probes_multilingual.jsonl`` (one topic in each of eight other languages),
``tests/data/length_probes_lists.jsonl`` (eight topics, a list of 3 to 100 items each, sized by
:func:`sagepred.list_sizes.list_words`) and ``tests/data/length_probes_counts.jsonl`` (lines,
characters and "N items of M sentences", four counts each);
``benchmarks/length_probes.py`` scores zoo checkpoints on them.

:func:`score_parser` scores the instruction parser alone on labelled prompts (the blind sets
``tests/data/length_instructions_*.jsonl``: ``prompt``, ``expected_words`` or null, ``note``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sagepred.errors import InputError

if TYPE_CHECKING:
    from sagepred.length_instructions import LengthRequest

_FIELDS = {"id": str, "topic": str, "instruction": str, "instructed_words": (int, float), "prompt": str}


@dataclass(frozen=True)
class Probe:
    """One probe prompt and the length, in words, it asks for."""

    id: str
    topic: str
    instruction: str
    instructed_words: float
    prompt: str


def read_probes(path: str | Path) -> list[Probe]:
    """The probes of a JSONL file; a malformed line is an :class:`InputError` naming file and line."""
    from sagepred.records import iter_jsonl

    probes = []
    for number, row in iter_jsonl(path):
        if not isinstance(row, dict):
            raise InputError(f"expected an object with {', '.join(_FIELDS)}", path=path, line=number)
        for name, kind in _FIELDS.items():
            value = row.get(name)
            if not isinstance(value, kind) or isinstance(value, bool):
                raise InputError(f"missing or not {_kind_name(kind)}", path=path, line=number, field=name)
        if row["instructed_words"] <= 0:
            raise InputError("must be positive", path=path, line=number, field="instructed_words")
        probes.append(Probe(**{name: row[name] for name in _FIELDS}))
    if not probes:
        raise InputError("no probes", path=path)
    return probes


def _kind_name(kind: type | tuple[type, ...]) -> str:
    return "a number" if isinstance(kind, tuple) else "a string"


def score_probes(probes: list[Probe], medians: np.ndarray) -> dict[str, Any]:
    """Per topic: Spearman ρ and Kendall τ between instructed length and predicted median, the
    longest / shortest instruction's median ratio, and the elasticity (the slope of log median on log
    instructed length: 1 moves by the factor asked, 0 not at all); ``summary`` holds their minimum and
    mean (ratio: minimum and median; elasticity: minimum and maximum)."""
    from scipy.stats import kendalltau, spearmanr

    medians = np.asarray(medians, dtype=float).ravel()
    if len(medians) != len(probes):
        raise ValueError(f"{len(medians)} medians for {len(probes)} probes")
    topics: dict[str, Any] = {}
    for topic in dict.fromkeys(p.topic for p in probes):
        rows = [i for i, p in enumerate(probes) if p.topic == topic]
        words = [probes[i].instructed_words for i in rows]
        topics[topic] = {
            "spearman": float(spearmanr(words, medians[rows]).statistic),
            "kendall": float(kendalltau(words, medians[rows]).statistic),
            "ratio_longest_shortest": float(
                medians[rows[int(np.argmax(words))]] / max(medians[rows[int(np.argmin(words))]], 1e-9)
            ),
            "elasticity": float(np.polyfit(np.log(words), np.log(np.maximum(medians[rows], 1e-9)), 1)[0]),
            "medians": {probes[i].instruction: float(medians[i]) for i in rows},
        }
    rho = [t["spearman"] for t in topics.values()]
    ratio = [t["ratio_longest_shortest"] for t in topics.values()]
    elasticity = [t["elasticity"] for t in topics.values()]
    summary = {
        "spearman_min": min(rho),
        "spearman_mean": float(np.mean(rho)),
        "ratio_min": min(ratio),
        "ratio_median": float(np.median(ratio)),
        "elasticity_min": min(elasticity),
        "elasticity_max": max(elasticity),
    }
    return {"summary": summary, "topics": topics}


@dataclass
class ParserScore:
    """How the instruction parser reads a labelled prompt set (:func:`score_parser`)."""

    lengths: int = field(default=0, metadata={"help": "prompts that ask for a length"})
    read: int = field(default=0, metadata={"help": "of those, read within the tolerance"})
    wrong: list[str] = field(default_factory=list, metadata={"help": "read, but not within it"})
    false_positives: list[str] = field(
        default_factory=list, metadata={"help": "prompts that ask for no length read as asking one"}
    )
    relative_misses: list[str] = field(
        default_factory=list, metadata={"help": "'shorter / longer' prompts not read that way"}
    )
    transforms: int = field(
        default=0, metadata={"help": "prompts asking to transform a pasted text (rows with 'source')"}
    )
    transforms_read: int = field(
        default=0, metadata={"help": "of those, read as the pasted text's length within the tolerance"}
    )
    transform_misses: list[str] = field(
        default_factory=list, metadata={"help": "transforms not read so (or at another length)"}
    )


def score_parser(
    rows: Iterable[Mapping[str, Any]], tolerance: float = 0.25, few_words: bool = False
) -> ParserScore:
    """Score :func:`~sagepred.length_instructions.parse_length_request` on labelled prompts.

    Each row has ``prompt``, ``expected_words`` (the asked length in words, Chinese and Japanese in
    characters, or null) and ``note`` (``"relative: short …"`` / ``"relative: long …"`` for a shorter
    or longer request). A reading within ``tolerance`` of the asked length counts as read, and so does
    any pair of readings of two words or fewer; with ``few_words``, of five words or fewer (eight
    characters in Chinese or Japanese: "in a few words", which sets call five and the parser three).
    A list is read when its count is (the sets size one at :data:`SETS_WORDS_PER_ITEM` words an item).
    A row with ``source`` (the pasted text a request asks to transform), ``factor`` and
    ``target_language`` counts as a transform: read when the reading is the text's length
    (:class:`~sagepred.length_transforms.PastedTransform`) within 25% of the factor's; a translation
    into a language whose lengths are not known is read when nothing is.
    """
    from sagepred.length_instructions import parse_length_request

    score = ParserScore()
    for row in rows:
        request, expected = parse_length_request(row["prompt"]), row["expected_words"]
        note = str(row.get("note", ""))
        if row.get("source") and expected is None:
            _score_transform(score, row, request)
            continue
        if expected is None:
            if note.startswith("relative"):
                direction = -1 if "short" in note else 1
                factor = request.multiplier if request.kind == "relative" else None
                if request.unit == "pasted_text":  # "Condense this: …", sized by the text at a factor
                    factor = request.count
                if factor is None or (factor - 1) * direction <= 0:
                    score.relative_misses.append(row["prompt"])
            elif request.kind == "absolute":
                score.false_positives.append(row["prompt"])
            continue
        score.lengths += 1
        if request.requested_words is None:
            continue
        language = row.get("language") or row.get("language_of_request")
        short = (8 if language in ("zh", "ja") else 5) if few_words else 2
        read = _as_the_sets_count(request)
        if abs(read - expected) <= tolerance * expected or max(expected, read) <= short:
            score.read += 1
        else:
            score.wrong.append(row["prompt"])
    return score


SETS_WORDS_PER_ITEM = 23.0
"""The probe sets' size of a list item: they were written when the parser gave every item 23 words, and
ask for a list by its count times that (a reading of a list is scored by its count)."""


def _as_the_sets_count(request: LengthRequest) -> float:
    """A reading's length in the probe sets' convention: a list's count times
    :data:`SETS_WORDS_PER_ITEM` (in characters in Chinese and Japanese), else its words."""
    from sagepred.length_instructions_multilingual import CHARACTER_LANGUAGES, CJK_CHARS_PER_WORD

    if request.unit != "item" or request.count is None:
        return float(request.requested_words or 0.0)
    per = SETS_WORDS_PER_ITEM * (CJK_CHARS_PER_WORD if request.language in CHARACTER_LANGUAGES else 1.0)
    return request.count * per


def _score_transform(score: ParserScore, row: Mapping[str, Any], request: LengthRequest) -> None:
    """:func:`score_parser` for a row that asks to transform its ``source``."""
    from sagepred.length_transforms import UNITS_PER_ENGLISH_WORD, PastedTransform, text_language

    score.transforms += 1
    source_language = text_language(row["source"]) or "en"
    target = row.get("target_language") or source_language
    if target not in UNITS_PER_ENGLISH_WORD:  # a translation into a language whose lengths are not known
        if request.unit == "pasted_text":
            score.transform_misses.append(row["prompt"])
        else:
            score.transforms_read += 1
        return
    truth = PastedTransform("", row["source"], source_language, target, float(row.get("factor") or 1.0), "")
    expected = truth.requested_words()
    if request.unit == "pasted_text" and abs(request.requested_words - expected) <= 0.25 * expected:
        score.transforms_read += 1
    else:
        score.transform_misses.append(row["prompt"])
