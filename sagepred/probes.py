"""Length-instruction probes: prompts that ask for a known length, and how a predictor ranks them.

A probe file is JSONL, one prompt per line with ``id``, ``topic``, ``instruction`` (a short key),
``instructed_words`` (the length it asks for, in words) and ``prompt``. Within a topic the prompts
differ only in what they ask for, so a predictor that reads instructions orders its medians as the
instructed lengths. The source tree has three sets, never trained on: ``tests/data/length_probes.jsonl``
(one wording per instruction), ``tests/data/length_probes_varied.jsonl`` (other topics, each worded
its own way: "respond with just a number", "a sonnet", "in roughly 800 words", "a two-page briefing")
and ``tests/data/length_probes_requirements.jsonl`` (the length as a requirement after the task:
"There should be 3 paragraphs.", "…, 1,500 words.", "(yes/no)", "half a page", "four stanzas");
``benchmarks/length_probes.py`` scores zoo checkpoints on them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sagepred.errors import InputError

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
        for field, kind in _FIELDS.items():
            value = row.get(field)
            if not isinstance(value, kind) or isinstance(value, bool):
                raise InputError(f"missing or not {_kind_name(kind)}", path=path, line=number, field=field)
        if row["instructed_words"] <= 0:
            raise InputError("must be positive", path=path, line=number, field="instructed_words")
        probes.append(Probe(**{field: row[field] for field in _FIELDS}))
    if not probes:
        raise InputError("no probes", path=path)
    return probes


def _kind_name(kind: type | tuple[type, ...]) -> str:
    return "a number" if isinstance(kind, tuple) else "a string"


def score_probes(probes: list[Probe], medians: np.ndarray) -> dict[str, Any]:
    """Per topic: Spearman ρ and Kendall τ between instructed length and predicted median, and the
    longest / shortest instruction's median ratio; ``summary`` holds their minimum and mean (ratio:
    minimum and median)."""
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
            "medians": {probes[i].instruction: float(medians[i]) for i in rows},
        }
    rho = [t["spearman"] for t in topics.values()]
    ratio = [t["ratio_longest_shortest"] for t in topics.values()]
    summary = {
        "spearman_min": min(rho),
        "spearman_mean": float(np.mean(rho)),
        "ratio_min": min(ratio),
        "ratio_median": float(np.median(ratio)),
    }
    return {"summary": summary, "topics": topics}
