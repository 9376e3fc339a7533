"""Predictions in the forms other routers read: NVIDIA Dynamo's ``nvext.agent_hints`` and a header for llm-d.

* **Dynamo** reads an output-sequence-length point estimate from ``nvext.agent_hints.osl`` (``u32``,
  tokens; its router uses it for output-block tracking and load estimates) and a request priority from
  ``nvext.agent_hints.priority`` (``i32``; in the Dynamo docs of 1.3 to 1.6 and dev, higher runs first
  at Dynamo's API and Dynamo converts it to each engine's convention; older docs forwarded it to the
  engine as is: NVIDIA Dynamo docs, "Agent Hints", "Priority Scheduling", "nvext"). :func:`dynamo_hints` writes the chosen statistic of the predicted distribution
  (``mean`` by default, or a quantile such as ``q0.9`` for a conservative router) and
  ``DYNAMO_PRIORITY_TOP − vLLM priority level`` clipped at 0, so the order is sagepred's.
* **llm-d** data-producer plug-ins read request headers. :data:`HEADER` carries the predicted mean and
  quantiles in a compact, versioned value (grammar below); :func:`format_length_header` writes it and
  :func:`parse_length_header` reads it back (for a plug-in written in Python, and for tests).

Header grammar (ABNF-like, whitespace around ``;`` and ``,`` is ignored)::

    value     = "v1" *( ";" field )
    field     = "mean=" number / "q=" qlist / "n=" number
    qlist     = level ":" number *( "," level ":" number )
    level     = number in (0, 1)          ; a quantile level
    number    = decimal, tokens (mean and quantiles), "n" is the prompt's estimated token count

Unknown fields are ignored by the parser, so later versions may add some without breaking readers; a
value that does not start with ``v1`` is refused.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from sagepred.distribution import LengthDistribution

HEADER = "x-sagepred-output-length"
HEADER_VERSION = "v1"
DEFAULT_HEADER_LEVELS = (0.1, 0.5, 0.9)
DYNAMO_PRIORITY_TOP = 1024
OSL_MAX = 2**32 - 1
"""Dynamo reads ``osl`` as a ``u32``."""
HINT_FORMS = ("vllm", "dynamo", "llm-d")


@dataclass(frozen=True)
class HintConfig:
    """Which router hints to add and how."""

    forms: tuple[str, ...] = field(
        default=("vllm",),
        metadata={
            "help": "hint forms: vllm (priority + vllm_xargs), dynamo (nvext.agent_hints), llm-d (header)"
        },
    )
    osl_statistic: str = field(
        default="mean", metadata={"help": "Dynamo's osl: 'mean' or a quantile 'qL' such as q0.5, q0.9"}
    )
    header_levels: tuple[float, ...] = field(
        default=DEFAULT_HEADER_LEVELS, metadata={"help": "quantile levels carried in the llm-d header"}
    )

    def __post_init__(self) -> None:
        unknown = [f for f in self.forms if f not in HINT_FORMS]
        if unknown:
            raise ValueError(f"unknown hint form {unknown[0]!r}: expected some of {', '.join(HINT_FORMS)}")
        statistic_value(self.osl_statistic)
        if not all(0.0 < q < 1.0 for q in self.header_levels):
            raise ValueError("header quantile levels must lie strictly between 0 and 1")


def parse_forms(text: str) -> tuple[str, ...]:
    """``"vllm,dynamo"`` → ``("vllm", "dynamo")``; an unknown form is a ``ValueError`` naming the choices."""
    forms = tuple(f.strip() for f in text.split(",") if f.strip())
    HintConfig(forms=forms)
    return forms


def statistic_value(statistic: str, dist: LengthDistribution | None = None, index: int = 0) -> float:
    """The value of ``mean`` or ``qL`` for row ``index`` of ``dist`` (only validates when ``dist`` is None)."""
    if statistic == "mean":
        return float(dist.mean()[index]) if dist is not None else 0.0
    if statistic.startswith("q"):
        try:
            level = float(statistic[1:])
        except ValueError:
            level = -1.0
        if 0.0 < level < 1.0:
            return float(dist.quantile(level)[index]) if dist is not None else 0.0
    raise ValueError(f"unknown statistic {statistic!r}: expected 'mean' or 'qL' with 0 < L < 1, e.g. q0.9")


def dynamo_hints(
    dist: LengthDistribution, index: int, vllm_priority: int | None = None, statistic: str = "mean"
) -> dict[str, int]:
    """The ``nvext.agent_hints`` entries for row ``index``: ``osl`` and, given a vLLM level, ``priority``."""
    value = statistic_value(statistic, dist, index)
    osl = min(OSL_MAX, max(1, math.ceil(value))) if math.isfinite(value) else OSL_MAX
    hints = {"osl": osl}
    if vllm_priority is not None:
        hints["priority"] = max(0, DYNAMO_PRIORITY_TOP - int(vllm_priority))
    return hints


def format_length_header(
    dist: LengthDistribution,
    index: int,
    levels: tuple[float, ...] = DEFAULT_HEADER_LEVELS,
    prompt_tokens: int | None = None,
) -> str:
    """The :data:`HEADER` value for row ``index``, e.g. ``v1; mean=412.3; q=0.1:37,0.5:260,0.9:980``."""
    values = [float(dist.quantile(q)[index]) for q in levels]
    qlist = ",".join(f"{q:g}:{v:.1f}" for q, v in zip(levels, values, strict=True))
    parts = [HEADER_VERSION, f"mean={float(dist.mean()[index]):.1f}", f"q={qlist}"]
    if prompt_tokens is not None:
        parts.append(f"n={int(prompt_tokens)}")
    return "; ".join(parts)


@dataclass(frozen=True)
class LengthHeader:
    """A parsed :data:`HEADER` value."""

    mean: float
    quantiles: dict[float, float]
    prompt_tokens: int | None = None


def parse_length_header(value: str) -> LengthHeader:
    """Read a :data:`HEADER` value; a malformed one is a ``ValueError`` saying what was expected."""
    fields = [f.strip() for f in value.split(";")]
    if not fields or fields[0] != HEADER_VERSION:
        raise ValueError(f"{HEADER}: expected a value starting with {HEADER_VERSION!r}, got {value[:40]!r}")
    mean: float | None = None
    quantiles: dict[float, float] = {}
    prompt_tokens: int | None = None
    try:
        for item in fields[1:]:
            key, _, raw = item.partition("=")
            key = key.strip()
            if key == "mean":
                mean = float(raw)
            elif key == "q":
                for pair in raw.split(","):
                    level, _, number = pair.partition(":")
                    quantiles[float(level)] = float(number)
            elif key == "n":
                prompt_tokens = int(float(raw))
    except ValueError as err:
        raise ValueError(f"{HEADER}: malformed field in {value[:80]!r} ({err})") from None
    if mean is None or not math.isfinite(mean):
        raise ValueError(f"{HEADER}: expected a finite 'mean=' field in {value[:80]!r}")
    return LengthHeader(mean=mean, quantiles=quantiles, prompt_tokens=prompt_tokens)
