"""Priority mode: an integer vLLM ``priority`` per request from its predicted distribution.

For users who keep vLLM's own scheduler (``--scheduling-policy priority``, lower runs first): the
policy's key (Gittins by default) at age zero is mapped to an integer on a log scale, ``levels_per_doubling``
levels per doubling of the key, so priorities stay small and ordered like the keys. vLLM never
refreshes or preempts by priority, so this is the policy without its bucket refreshes and preemption.
:class:`RequestAnnotator` adds ``priority`` (and the prediction as ``vllm_xargs``, for the plug-in) to
OpenAI request bodies; the proxy (:mod:`.proxy`) applies it to every request.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from sagepred.distribution import LengthDistribution
from sagepred.records import estimate_prompt_tokens, prompt_text
from sagepred.scheduler.cost import CostModel
from sagepred.scheduler.policies import RequestState, make_policy
from sagepred.scheduler.router_hints import HEADER, HintConfig, dynamo_hints, format_length_header
from sagepred.scheduler.serving import prediction_args

MAX_PRIORITY = 2**31 - 1


class Predicts(Protocol):
    def predict(self, prompts: Sequence[str]) -> LengthDistribution: ...


@dataclass(frozen=True)
class PriorityConfig:
    """How keys become integer priorities."""

    policy: str = field(
        default="gittins", metadata={"help": "scheduler-core policy whose key sets the order"}
    )
    levels_per_doubling: float = field(
        default=8.0, metadata={"help": "priority levels per doubling of the key"}
    )
    add_priority: bool = field(default=True, metadata={"help": "set the body's 'priority'"})
    add_prediction: bool = field(default=True, metadata={"help": "carry the prediction in 'vllm_xargs'"})
    add_prompt: bool = field(
        default=True,
        metadata={
            "help": "with the prediction, carry the predictor's text as 'sagepred_prompt' (online learning)"
        },
    )
    hints: HintConfig = field(
        default_factory=HintConfig,
        metadata={"help": "router hint forms besides vLLM's: Dynamo's nvext.agent_hints, llm-d's header"},
    )


def policy_keys(
    dist: LengthDistribution, prompt_len: np.ndarray | Sequence[int], policy: str = "gittins"
) -> np.ndarray:
    """The policy's key of each row at age zero (arrival 0: no aging term)."""
    n = len(dist)
    state = RequestState(
        arrival=np.zeros(n),
        prompt_len=np.asarray(prompt_len, dtype=np.float64).reshape(n),
        age=np.zeros(n),
        dist=dist,
        true_len=dist.mean(),
    )
    return make_policy(policy, CostModel.paper()).keys(state)


def keys_to_priorities(keys: np.ndarray, levels_per_doubling: float = 8.0) -> np.ndarray:
    """``round(levels · log2(1 + key))`` clipped to vLLM's int range; monotone in the key."""
    keys = np.maximum(np.nan_to_num(np.asarray(keys, dtype=np.float64), nan=0.0, posinf=1e300), 0.0)
    return np.clip(np.round(levels_per_doubling * np.log2(1.0 + keys)), 0, MAX_PRIORITY).astype(np.int64)


def priorities(
    dist: LengthDistribution,
    prompt_len: np.ndarray | Sequence[int],
    policy: str = "gittins",
    levels_per_doubling: float = 8.0,
) -> np.ndarray:
    """Integer vLLM priorities (lower first) of each row of ``dist``."""
    return keys_to_priorities(policy_keys(dist, prompt_len, policy), levels_per_doubling)


def prompt_of(body: dict[str, Any]) -> str:
    """The predictor's text of an OpenAI completions (``prompt``) or chat (``messages``) body.

    Chat messages are flattened by :func:`~sagepred.records.prompt_text`, the text the predictor was
    trained on; a list of completion prompts is joined with spaces.
    """
    if "messages" in body:
        return prompt_text([m for m in body.get("messages") or [] if isinstance(m, dict)])
    prompt = body.get("prompt", "")
    if isinstance(prompt, list):
        return " ".join(p for p in prompt if isinstance(p, str))
    return str(prompt)


class RequestAnnotator:
    """Adds ``priority`` and ``vllm_xargs`` (the prediction) to OpenAI request bodies, batched."""

    def __init__(self, predictor: Predicts, config: PriorityConfig | None = None) -> None:
        self.predictor = predictor
        self.config = config or PriorityConfig()

    def annotate(self, bodies: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """New bodies; fields the caller already set (``priority``, ``vllm_xargs`` entries) are kept."""
        return self.annotate_with_headers(bodies)[0]

    def annotate_with_headers(
        self, bodies: Sequence[dict[str, Any]]
    ) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
        """New bodies and, per body, the request headers to add (llm-d's :data:`HEADER` when enabled).

        With the ``vllm`` hint form (the default) bodies get ``priority`` and ``vllm_xargs``; with ``dynamo``
        they get ``nvext.agent_hints`` (``osl``, ``priority``; entries the caller set are kept).
        """
        if not bodies:
            return [], []
        prompts = [prompt_of(b) for b in bodies]
        dist = self.predictor.predict(prompts)
        prompt_len = np.array([estimate_prompt_tokens(p) for p in prompts])
        prio = priorities(dist, prompt_len, self.config.policy, self.config.levels_per_doubling)
        pairs = [
            _hinted(body, dist, i, prompts[i], int(prompt_len[i]), int(prio[i]), self.config)
            for i, body in enumerate(bodies)
        ]
        return [b for b, _ in pairs], [h for _, h in pairs]


def with_hints(
    body: dict[str, Any], dist: LengthDistribution, index: int = 0, config: PriorityConfig | None = None
) -> tuple[dict[str, Any], dict[str, str]]:
    """``body`` annotated with row ``index`` of an already computed ``dist``, and the headers to add.

    The same forms as :meth:`RequestAnnotator.annotate_with_headers` (``config.hints.forms``), for callers
    that predict elsewhere (``sagepred predict`` output read back with ``LengthDistribution.from_dict``).
    """
    config = config or PriorityConfig()
    prompt = prompt_of(body)
    prompt_len = estimate_prompt_tokens(prompt)
    row = dist[index : index + 1]
    prio = int(priorities(row, [prompt_len], config.policy, config.levels_per_doubling)[0])
    return _hinted(body, row, 0, prompt, prompt_len, prio, config)


def _hinted(
    body: dict[str, Any],
    dist: LengthDistribution,
    i: int,
    prompt: str,
    prompt_len: int,
    prio: int,
    config: PriorityConfig,
) -> tuple[dict[str, Any], dict[str, str]]:
    body = dict(body)
    forms = config.hints.forms
    if "vllm" in forms:
        if config.add_priority and "priority" not in body:
            body["priority"] = prio
        if config.add_prediction:
            carried = prediction_args(dist, i, prompt=prompt if config.add_prompt else None)
            body["vllm_xargs"] = {**carried, **(body.get("vllm_xargs") or {})}
    if "dynamo" in forms:
        nvext = dict(body.get("nvext") or {})
        hints = dynamo_hints(dist, i, prio, config.hints.osl_statistic)
        nvext["agent_hints"] = {**hints, **(nvext.get("agent_hints") or {})}
        body["nvext"] = nvext
    headers = {}
    if "llm-d" in forms:
        headers[HEADER] = format_length_header(dist, i, config.hints.header_levels, prompt_tokens=prompt_len)
    return body, headers
