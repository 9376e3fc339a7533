"""How far a predictor reads a list's item count by itself, measured by changing the count.

A sentence encoder sees "List 5 European cities" and "List 50 European cities" as nearly the same
prompt, so a head over it predicts nearly the same length for both, while the answers differ by about
``(50 / 5) ** LIST_EXPONENT`` (:mod:`sagepred.list_sizes`). The instruction adjustment moves a list's
median a share ``list_weight`` of the way to the list's size; the share of the count's factor that
the head and that move leave out is ``InstructionSettings.list_count_weight``, added as a move by the
count alone (relative to ``list_reference_count``, the typical count the head was trained on):

    log median = centre + list_weight · (log size − centre) + list_count_weight · log(size / size_ref)

The head's own reading of counts (its *count slope*) is measured without labels: every training prompt
that asks for a list of ``n`` items, with ``n`` written once in digits, is predicted again with the
count changed to ``n / 2``, ``2n`` and ``4n``; the slope through zero of the change in the head's log
median on the change in the list's log size is the count slope (0 reads no count, 1 follows it fully).
Then ``list_count_weight = 1 − list_weight − slope`` (clipped to ``[0, 1]``), so the three together
follow the count as the answers do.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from sagepred.list_sizes import LIST_EXPONENT

COUNT_FACTORS = (0.5, 2.0, 4.0)
"""The changes made to each list's count to measure the count slope."""
MIN_LISTS = 8
"""Fewer list prompts than this leave the count weight at its default (nothing measured)."""


@dataclass(frozen=True)
class CountVariant:
    """A list prompt and the same prompt with its count changed."""

    prompt: str
    variant: str
    log_size_ratio: float
    """``log(size of the variant's list / size of the prompt's)``."""


def list_counts(prompts: Sequence[str]) -> list[tuple[str, float]]:
    """The prompts read as a list of items (unit ``item``), with their counts."""
    from sagepred.length_instructions import parse_length_request

    out = []
    for prompt in prompts:
        request = parse_length_request(prompt)
        if request.unit == "item" and request.count:
            out.append((prompt, float(request.count)))
    return out


def count_variants(prompts: Sequence[str], factors: Sequence[float] = COUNT_FACTORS) -> list[CountVariant]:
    """For each list prompt whose count is written once in digits, the prompt with the count times each
    of ``factors`` (rounded, at least 1)."""
    return _variants_of(list_counts(prompts), factors)


def _variants_of(lists: Sequence[tuple[str, float]], factors: Sequence[float]) -> list[CountVariant]:
    """:func:`count_variants` of prompts already read as lists, with their counts."""
    variants = []
    for prompt, count in lists:
        if count != int(count):
            continue
        places = list(re.finditer(rf"(?<![\d.,]){int(count)}(?!\d|[.,]\d)", prompt))
        if len(places) != 1:
            continue
        where = places[0]
        for factor in factors:
            changed = max(1, round(count * factor))
            if changed == count:
                continue
            variant = prompt[: where.start()] + str(changed) + prompt[where.end() :]
            variants.append(CountVariant(prompt, variant, LIST_EXPONENT * math.log(changed / count)))
    return variants


def count_slope(log_medians: Callable[[list[str]], np.ndarray], variants: Sequence[CountVariant]) -> float:
    """The slope through zero of the change in log median on the change in the list's log size.

    ``log_medians`` maps prompts to the predictor's log median *without* the instruction adjustment (a
    pooled predictor may average it over its targets)."""
    if not variants:
        raise ValueError("no count variants to measure the count slope on")
    before = log_medians([v.prompt for v in variants])
    after = log_medians([v.variant for v in variants])
    x = np.array([v.log_size_ratio for v in variants])
    return float(np.sum(x * (after - before)) / np.sum(x * x))


def list_count_weight(list_weight: float, slope: float) -> float:
    """The share of a list's count factor the adjustment adds, so that the head (``slope``), the move
    to the list's size (``list_weight``) and this one follow the count fully."""
    return float(np.clip(1.0 - list_weight - slope, 0.0, 1.0))


def reference_count(counts: Sequence[float]) -> float:
    """The typical count of the lists a head was trained on: the geometric mean."""
    if not counts:
        raise ValueError("no list counts")
    return float(np.exp(np.mean(np.log(np.asarray(counts, dtype=float)))))


@dataclass(frozen=True)
class CountReading:
    """What :func:`measure_count_reading` found: the head's count slope, the weight it implies, the
    reference count and how many prompts and variants measured it."""

    slope: float
    list_count_weight: float
    reference_count: float
    lists: int
    variants: int

    def to_dict(self) -> dict[str, float | int]:
        return {
            "slope": round(self.slope, 4),
            "list_count_weight": round(self.list_count_weight, 4),
            "reference_count": round(self.reference_count, 3),
            "lists": self.lists,
            "variants": self.variants,
        }


def measure_count_reading(
    log_medians: Callable[[list[str]], np.ndarray], training_prompts: Sequence[str], list_weight: float
) -> CountReading | None:
    """Measure the count slope on the list prompts of ``training_prompts`` and derive
    ``list_count_weight`` and the reference count; ``None`` with fewer than :data:`MIN_LISTS` lists."""
    lists = list_counts(training_prompts)
    variants = _variants_of(lists, COUNT_FACTORS)
    if len(lists) < MIN_LISTS or len({v.prompt for v in variants}) < MIN_LISTS:
        return None
    slope = count_slope(log_medians, variants)
    return CountReading(
        slope,
        list_count_weight(list_weight, slope),
        reference_count([count for _, count in lists]),
        len(lists),
        len(variants),
    )
