"""Reading what a prompt asks for: move a predicted histogram by its explicit length instruction.

:func:`sagepred.length_instructions.parse_length_request` finds the request ("in one word", "a
2,000-word essay", "list 50 …", "be brief"); this module moves a histogram of output lengths in
``u = log(1 + length)`` accordingly. For an absolute request the median moves a share ``weight`` of
the way to the asked-for tokens and the spread is scaled by ``scale``; for a relative one the median
moves by ``factor ** relative_weight``. The settings are fitted on validation prompts
(``sagepred.training.pooled.fit_instruction_settings``) and stored in the checkpoint, so the pooled
model and every per-target checkpoint exported from it (:meth:`PooledPredictor.export_target
<sagepred.pooled.PooledPredictor.export_target>`) adjust alike.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from sagepred.length_instructions import LengthRequest, parse_length_request
from sagepred.length_instructions_multilingual import CHARACTER_LANGUAGES
from sagepred.list_sizes import LIST_EXPONENT

LIST_UNITS = frozenset({"item", "items_of", "line", "character"})
"""Units whose words-per-unit is a rough average (their weight is fitted apart from prose units')."""


@dataclass
class InstructionSettings:
    """How an explicit length instruction moves the distribution (fitted on validation prompts)."""

    enabled: bool = field(default=True, metadata={"help": "apply the instruction adjustment"})
    weight: float = field(
        default=0.9, metadata={"help": "share of the way the log-median moves to an absolute request"}
    )
    relative_weight: float = field(
        default=1.0, metadata={"help": "exponent on a relative request's factor ('brief': 0.5**w)"}
    )
    list_weight: float = field(
        default=0.5, metadata={"help": "the same for list-like units (items, lines, characters)"}
    )
    list_count_weight: float = field(
        default=0.0,
        metadata={
            "help": "share of a list's count factor added to the move by list_weight "
            "(sagepred.count_reading: 1 - list_weight - the head's own count slope)"
        },
    )
    list_reference_count: float = field(
        default=5.0, metadata={"help": "the count at which the move by the count alone is none"}
    )
    list_count_slope: float | None = field(
        default=None,
        metadata={"help": "the head's own reading of list counts, measured (None: not measured)"},
    )
    scale: float = field(default=1.0, metadata={"help": "log-space spread factor for absolute requests"})
    list_floor: float | None = field(
        default=0.5,
        metadata={
            "help": "a list-like request's median stays at most this far below the size it reads, in "
            "log(1 + length) (about one sd of the list sizes' error): a head that takes 'write 10 "
            "multiple-choice questions' for one short answer is moved up to it (None: no floor)"
        },
    )
    fitted_on: int = field(default=0, metadata={"help": "validation prompts with a request used to fit"})


def released_settings() -> InstructionSettings:
    """The pooled model's fit the zoo ships (on the validation prompts of the CASTILLO targets,
    2026-12-06): what a per-target head trained alone carries, whose early-stopping share holds a
    handful of requests, too few to fit four settings on (``fitted_on`` 0 says so). Its
    ``list_count_weight`` takes the zoo's median count slope, 0.03 (0.004–0.14 over the 47 checkpoints,
    ``training/build_zoo.py --remeasure --count-reading``, 2026-12-07): a head over a sentence encoder
    barely reads a list's count."""
    return InstructionSettings(
        weight=0.9,
        relative_weight=0.5,
        list_weight=0.2,
        list_count_weight=0.77,
        list_reference_count=4.168,
        scale=1.0,
        fitted_on=0,
    )


def is_list_like(request: LengthRequest) -> bool:
    """Whether a request's length is a list's rough size (items, lines, characters of English text)
    rather than prose's; a Chinese or Japanese count of characters is prose's, and exact."""
    if request.unit == "character" and request.language in CHARACTER_LANGUAGES:
        return False
    return request.unit in LIST_UNITS


def _cdf_at_edges(probs: np.ndarray) -> np.ndarray:
    """``(n, K + 1)`` normalised CDF of histogram rows at their edges (0 at the first)."""
    cdf = np.concatenate([np.zeros((probs.shape[0], 1)), np.cumsum(probs, axis=1)], axis=1)
    return cdf / cdf[:, -1:]


def shift_log_histogram(
    probs: np.ndarray, edges: np.ndarray, centre: np.ndarray, shift: np.ndarray, scale: np.ndarray
) -> np.ndarray:
    """Move histograms in ``u = log(1 + length)``: ``u' = centre + shift + scale · (u - centre)``.

    ``probs`` ``(n, K)`` over shared ``edges`` ``(K + 1,)``; ``centre``, ``shift``, ``scale`` ``(n,)``.
    The CDF is taken as linear in ``u`` between edges; mass moved past either end stays in the end
    bins. Returns ``(n, K)`` probabilities over the same edges.
    """
    u = np.log1p(edges)
    cdf = _cdf_at_edges(probs)
    source = centre[:, None] + (u[None, :] - centre[:, None] - shift[:, None]) / scale[:, None]
    moved = np.stack([np.interp(source[i], u, cdf[i]) for i in range(probs.shape[0])])
    moved[:, 0], moved[:, -1] = 0.0, 1.0
    out = np.clip(np.diff(moved, axis=1), 0.0, None)
    return out / out.sum(axis=1, keepdims=True)


def log_median(probs: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """``log(1 + median)`` of histogram rows (CDF linear in ``log(1 + length)`` between edges)."""
    u = np.log1p(edges)
    cdf = _cdf_at_edges(probs)
    return np.array([np.interp(0.5, row, u) for row in np.maximum.accumulate(cdf, axis=1)])


def absolute_weight(request: LengthRequest, settings: InstructionSettings) -> float:
    """The share of the way an absolute request moves the median to its size: ``weight`` for prose,
    ``list_weight`` for a list of items (whose count moves it apart, :func:`count_shift`), and
    ``list_weight + list_count_weight`` for the other list-like units with a count (lines, characters,
    "N items of M sentences"): their size grows with the count exactly, and no typical count of the
    training prompts says where the head's centre stands, so the count's share moves toward the size."""
    if not is_list_like(request):
        return settings.weight
    if request.unit != "item" and request.count:
        return min(settings.list_weight + settings.list_count_weight, 1.0)
    return settings.list_weight


def count_shift(request: LengthRequest, settings: InstructionSettings) -> float:
    """The move in ``log(1 + length)`` by a list's count alone (:mod:`sagepred.count_reading`):
    ``list_count_weight · LIST_EXPONENT · log(count / list_reference_count)``; 0 for other requests."""
    if request.unit != "item" or not request.count or not settings.list_count_weight:
        return 0.0
    ratio = request.count / settings.list_reference_count
    return settings.list_count_weight * LIST_EXPONENT * math.log(ratio)


def request_shifts(
    requests: Sequence[LengthRequest],
    centre: np.ndarray,
    tokenizers: Sequence[str | None],
    settings: InstructionSettings,
) -> tuple[np.ndarray, np.ndarray]:
    """``(shift, scale)`` in ``log(1 + length)`` per row for the parsed requests (0 and 1 for none);
    ``tokenizers`` names each row's tokenizer family (asked-for words to tokens)."""
    shift = np.zeros(len(requests))
    scale = np.ones(len(requests))
    for i, (request, tokenizer) in enumerate(zip(requests, tokenizers, strict=True)):
        if request.kind == "absolute":
            tokens = request.requested_tokens(tokenizer)
            assert tokens is not None
            shift[i] = absolute_weight(request, settings) * (math.log1p(tokens) - centre[i])
            shift[i] += count_shift(request, settings)
            if settings.list_floor is not None and is_list_like(request):
                shift[i] = max(shift[i], math.log1p(tokens) - settings.list_floor - centre[i])
            scale[i] = settings.scale
        elif request.kind == "relative":
            shift[i] = settings.relative_weight * math.log(request.multiplier)
    return shift, scale


def adjust_histograms(
    probs: np.ndarray,
    prompts: Sequence[str],
    edges: np.ndarray,
    tokenizers: Sequence[str | None],
    settings: InstructionSettings,
) -> np.ndarray:
    """Histogram rows ``probs`` ``(n, K)`` moved by each prompt's length instruction.

    ``tokenizers`` names, per row, the tokenizer family that counts the target's tokens (words to
    tokens); rows whose prompt asks for no length, and all rows when ``settings.enabled`` is off,
    are returned unchanged.
    """
    if not settings.enabled:
        return probs
    requests = [parse_length_request(p) for p in prompts]
    rows = [i for i, r in enumerate(requests) if r.kind != "none"]
    if not rows:
        return probs
    out = probs.copy()
    centre = log_median(probs[rows], edges)
    shift, scale = request_shifts(
        [requests[i] for i in rows], centre, [tokenizers[i] for i in rows], settings
    )
    out[rows] = shift_log_histogram(probs[rows], edges, centre, shift, scale)
    return out
