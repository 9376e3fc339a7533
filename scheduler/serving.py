"""Serve-time scheduling without vLLM: plug-in settings, predictions carried by requests, keys, learners.

Everything here is engine-agnostic so it can be tested without vLLM; :mod:`.vllm_plugin` binds it to
vLLM's scheduler. A request reaches the plug-in as a :class:`ServedRequest` (its id, arrival, prompt
length, tokens generated so far and the prediction it carries); :class:`KeyBook` turns those into the
policy's sort keys (the same :class:`~sagepred.scheduler.policies.Policy` objects the simulator runs),
cached per request and refreshed at the policy's bucket boundaries.

Predictions travel in ``SamplingParams.extra_args`` (the OpenAI body's ``vllm_xargs``), flat because
``vllm_xargs`` only carries strings, numbers and lists: ``sagepred_knots`` and ``sagepred_cdf`` (one
row of :meth:`LengthDistribution.to_dict`, the wire format ``sagepred predict`` writes; ``sagepred_levels``
and ``sagepred_quantiles`` are read too), optionally ``sagepred_id`` (the caller's id; vLLM
suffixes its own), ``sagepred_prompt`` (text for online learning) and ``sagepred_len`` (a known true
length, read only by the oracle policy). In-process callers may nest them: ``{"sagepred": {"knots":
…, "cdf": …}}`` (a whole line of ``sagepred predict`` output fits there).
"""

from __future__ import annotations

import dataclasses
import logging
import math
import queue
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sagepred import loading
from sagepred.distribution import LengthDistribution
from sagepred.errors import InputError
from sagepred.records import prompt_text
from sagepred.scheduler.cost import COST_MODELS, cost_model
from sagepred.scheduler.keys import KeyCache
from sagepred.scheduler.policies import Policy, PreemptionRule, RequestState, SlackConfig, make_policy
from sagepred.scheduler.profile import load_profile

log = logging.getLogger("sagepred.serving")

PREFIX = "sagepred_"
PREEMPTION_MODES = ("cost", "off")


@dataclass(frozen=True)
class PluginConfig:
    """Settings of the scheduler plug-in (vLLM ``additional_config``, key ``"sagepred"``)."""

    policy: str = field(default="gittins", metadata={"help": "fcfs, sjf, ltr, trail, tie, gittins or oracle"})
    bucket_tokens: int = field(default=200, metadata={"help": "tokens between key refreshes (Gittins)"})
    cost: str = field(
        default="paper",
        metadata={
            "help": "'paper': SageSched's O²/2 + I·O orders requests; 'calibrated': a·(I+O) + b·(O²/2 + I·O) in "
            "seconds from `profile` (weights prompt tokens with the per-step share; see docs/serving.md). "
            "Preemption is always judged in the profile's seconds"
        },
    )
    profile: str | None = field(
        default=None,
        metadata={
            "help": "engine profile pricing the cost model and preemption's recompute: a shipped name or a "
            "YAML from `sagepred profile` (default: llama-3.1-8b-h100)"
        },
    )
    preemption: str = field(
        default="off",
        metadata={
            "help": "'off': never preempt for the policy (vLLM still preempts when KV blocks run out); 'cost': "
            "preempt a running request only when the expected gain exceeds its recompute, measured online on "
            "this engine. Default off: on the replay bench 'cost' was 2-6% worse in mean TTLT in every run "
            "(docs/serving.md), the simulator finds them equal"
        },
    )
    aging: float = field(
        default=0.0,
        metadata={
            "help": "tail guard: a request's key falls by this many seconds of expected work per second since "
            "arrival (0: off; see TailGuard)"
        },
    )
    slack_epsilon: float | None = field(
        default=None,
        metadata={
            "help": "slack guard (see SlackGuard): a request whose slack to arrival + (1 + this) x its virtual "
            "FCFS latency runs out goes ahead of every key, earliest deadline first (null: off)"
        },
    )
    slack_quantile: float = field(
        default=0.9,
        metadata={
            "help": "slack guard: quantile of the predicted length taken as a request's remaining steps"
        },
    )
    slack_floor_quantile: float | None = field(
        default=0.95,
        metadata={"help": "slack guard's tail floor: quantile of recent virtual FCFS latencies (null: none)"},
    )
    slack_target_quantile: float | None = field(
        default=None,
        metadata={
            "help": "slack guard's tail target instead of per-request deadlines: every deadline is arrival + "
            "(1 + slack_epsilon) x this quantile of FCFS latency, estimated online (slack_epsilon may be "
            "negative; null: per-request deadlines; see SlackConfig.target_quantile)"
        },
    )
    preempt_margin: float = field(
        default=1.0, metadata={"help": "recompute costs a preemption's gain must exceed"}
    )
    max_preemptions_per_step: int = field(default=1, metadata={"help": "policy preemptions per engine step"})
    max_preemptions_per_request: int = field(
        default=2, metadata={"help": "policy preemptions of one request"}
    )
    naive_preemption: bool = field(
        default=False, metadata={"help": "preempt whenever outranked (no cost check)"}
    )
    max_wait_s: float | None = field(
        default=60.0,
        metadata={
            "help": "a request waiting longer than this goes ahead of every key (starvation bound; null: off)"
        },
    )
    max_wait_steps: int | None = field(
        default=None,
        metadata={"help": "the same bound in engine steps since arrival (deterministic; null: off)"},
    )
    memory_victim: str = field(
        default="newest",
        metadata={"help": "who vLLM preempts when KV blocks run out: 'newest' admitted or 'worst_key'"},
    )
    fallback_median_tokens: float = field(
        default=256.0,
        metadata={
            "help": "median of the prior given to requests without a prediction (one shared key: FCFS among them)"
        },
    )
    predictor: str | None = field(
        default=None,
        metadata={
            "help": "checkpoint folder, zoo name or Hub id: predict requests that carry no prediction from "
            "their prompt"
        },
    )
    predictor_mode: str = field(
        default="async",
        metadata={
            "help": "'async': a worker thread predicts in batches off the engine step; 'sync': batched in the step"
        },
    )
    predictor_batch: int = field(default=64, metadata={"help": "most prompts per predictor call"})
    predictor_timeout_s: float = field(
        default=5.0,
        metadata={
            "help": "a prediction arriving later than this after its request is ignored (the request keeps the "
            "fallback key; counted in stats)"
        },
    )
    online_learning: bool = field(
        default=True,
        metadata={"help": "feed finished requests (prompt, true length) to the predictor's semantic history"},
    )

    def __post_init__(self) -> None:
        if self.bucket_tokens < 1:
            raise InputError(f"expected at least 1, got {self.bucket_tokens}", field="bucket_tokens")
        if self.memory_victim not in ("newest", "worst_key"):
            raise InputError(
                f"expected 'newest' or 'worst_key', got {self.memory_victim!r}", field="memory_victim"
            )
        if self.predictor_mode not in ("async", "sync"):
            raise InputError(
                f"expected 'async' or 'sync', got {self.predictor_mode!r}", field="predictor_mode"
            )
        make_policy(self.policy)
        if self.preemption not in PREEMPTION_MODES:
            raise InputError(
                f"expected one of {', '.join(PREEMPTION_MODES)}, got {self.preemption!r}", field="preemption"
            )
        if not (self.aging >= 0 and np.isfinite(self.aging)):
            raise InputError(f"expected a non-negative number, got {self.aging!r}", field="aging")
        if not self.predictor_timeout_s > 0:
            raise InputError(
                f"expected a positive number, got {self.predictor_timeout_s!r}", field="predictor_timeout_s"
            )
        if self.cost not in COST_MODELS:
            raise InputError(f"expected one of {', '.join(COST_MODELS)}, got {self.cost!r}", field="cost")
        self.slack_config()

    def slack_config(self) -> SlackConfig | None:
        """The slack guard's settings, or ``None`` when it is off (the simulator's ``SimConfig.slack``)."""
        if self.slack_epsilon is None:
            return None
        return SlackConfig(
            epsilon=float(self.slack_epsilon),
            quantile=float(self.slack_quantile),
            floor_quantile=self.slack_floor_quantile,
            target_quantile=self.slack_target_quantile,
        )

    @classmethod
    def from_additional_config(cls, additional: Mapping[str, Any] | None) -> PluginConfig:
        """Read ``additional_config["sagepred"]`` (or a flat mapping of these fields); unknown keys are errors."""
        payload = dict((additional or {}).get("sagepred", additional or {}))
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(payload) - known)
        if unknown:
            raise InputError(f"unknown setting (known: {', '.join(sorted(known))})", field=unknown[0])
        return cls(**payload)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def make_value_policy(self) -> Policy:
        """The policy over the profile's calibrated cost: expected remaining work in seconds of engine time.

        Preemption compares a waiting request's value, the running requests' and a recompute in these
        units whatever cost orders the queue: the paper cost counts KV reads only, so it would price the
        wait for a free slot (whole decode steps) far below a recompute (prefill tokens).
        """
        return make_policy(
            self.policy,
            cost_model("calibrated", load_profile(self.profile)),
            bucket_tokens=self.bucket_tokens,
            aging=self.aging,
        )

    def make_policy(self) -> Policy:
        """The configured policy over the configured cost model (the profile is read here)."""
        return make_policy(
            self.policy,
            cost_model(self.cost, load_profile(self.profile)),
            bucket_tokens=self.bucket_tokens,
            aging=self.aging,
        )

    def preemption_rule(self) -> PreemptionRule:
        return PreemptionRule(
            margin=self.preempt_margin,
            max_per_step=0 if self.preemption == "off" else self.max_preemptions_per_step,
            max_per_request=self.max_preemptions_per_request,
            naive=self.naive_preemption,
        )


def prediction_args(
    dist: LengthDistribution, index: int = 0, request_id: str | None = None, prompt: str | None = None
) -> dict[str, Any]:
    """The flat ``extra_args`` / ``vllm_xargs`` entries carrying one row of ``dist``.

    The entries are the wire format of :meth:`LengthDistribution.to_dict` (its exact part, ``knots`` and
    ``cdf``), each key prefixed with ``sagepred_``.
    """
    args: dict[str, Any] = {f"{PREFIX}{k}": v for k, v in dist.to_dict(index, summary=False).items()}
    if request_id is not None:
        args[f"{PREFIX}id"] = str(request_id)
    if prompt is not None:
        args[f"{PREFIX}prompt"] = prompt
    return args


def _fields(extra_args: Mapping[str, Any] | None) -> dict[str, Any]:
    if not extra_args:
        return {}
    nested = extra_args.get("sagepred")
    out = {k[len(PREFIX) :]: v for k, v in extra_args.items() if isinstance(k, str) and k.startswith(PREFIX)}
    if isinstance(nested, Mapping):
        out.update(nested)
    return out


PREDICTION_FIELDS = ("knots", "cdf", "levels", "quantiles")


def parse_prediction(extra_args: Mapping[str, Any] | None) -> LengthDistribution | None:
    """The prediction a request carries, or ``None`` when it has none or it is malformed (logged).

    Any form :meth:`LengthDistribution.from_dict` reads: ``knots`` + ``cdf``, or ``levels`` +
    ``quantiles`` (a line of ``sagepred predict`` output, nested under ``sagepred`` or prefixed).
    """
    fields = _fields(extra_args)
    if not any(k in fields for k in PREDICTION_FIELDS):
        return None
    try:
        return LengthDistribution.from_dict(fields)
    except ValueError as err:
        log.warning("sagepred: ignoring a malformed prediction (%s); the request is served without one", err)
        return None


def carried_field(extra_args: Mapping[str, Any] | None, name: str) -> Any:
    """One of the other ``sagepred_*`` fields (``id``, ``prompt``, ``len``), or ``None``."""
    return _fields(extra_args).get(name)


def fallback_prior(median_tokens: float) -> LengthDistribution:
    """A broad prior (deciles spread over ×1/16 … ×16 of the median) for requests without a prediction."""
    m = float(median_tokens)
    return LengthDistribution(
        np.array([[0.0, m / 16, m / 4, m, 4 * m, 16 * m]]), np.array([[0.0, 0.05, 0.2, 0.5, 0.8, 1.0]])
    )


@dataclass
class ServedRequest:
    """What the plug-in knows of one request."""

    request_id: str
    arrival: float
    prompt_len: int
    dist: LengthDistribution | None = None
    true_len: int | None = None
    arrival_step: int = 0
    age: int = 0
    policy_preemptions: int = 0
    registered: float = 0.0
    """``time.monotonic()`` when the plug-in first saw the request (predictions later than the timeout are ignored)."""
    starved_marked: bool = False
    """Set once the request has been re-keyed as past the starvation bound (it stays starved)."""
    deadline: float = math.inf
    """The slack guard's deadline (wall-clock seconds, like ``arrival``); orders promoted requests."""
    promote_at: float = math.inf
    """When the slack guard promotes the request if it still waits (inf: never, or no guard)."""
    cache: tuple[int, float, float, float] | None = None
    """``(bucket, key, value, age limit for policy preemption)`` at the last refresh."""


class KeyBook:
    """Policy keys of served requests, cached per request and refreshed at bucket boundaries.

    ``sort_key`` orders a queue: requests past the starvation bound first (oldest first), then by the
    policy key, then by arrival. Requests without a prediction get the key of a shared prior at zero
    prompt length: one key for all of them, so they are served first come, first served among
    themselves, between predicted requests of similar expected cost.
    """

    def __init__(self, config: PluginConfig) -> None:
        self.config = config
        self.policy = config.make_policy()
        needs_own_values = self.policy.preemptive and config.cost != "calibrated"
        self.value_policy = config.make_value_policy() if needs_own_values else self.policy
        self.rule = config.preemption_rule()
        self.cache = KeyCache(self.policy, self.value_policy)
        """The refresh rule (:mod:`.keys`); each request keeps its own entry in ``ServedRequest.cache``."""
        self.requests: dict[str, ServedRequest] = {}
        self.unkeyed: list[ServedRequest] = []
        """Requests registered or re-predicted since the last refresh (their keys are computed in one batch)."""
        self.prior = fallback_prior(config.fallback_median_tokens)
        prior_request = ServedRequest(
            "prior", 0.0, 0, self.prior, true_len=round(config.fallback_median_tokens)
        )
        key, value, _ = self._compute([prior_request])[0]
        self._fallback = (key, value, float("inf"))  # no age limit without a prediction

    @property
    def key_computations(self) -> int:
        """Request keys computed so far (each request once per bucket and prediction)."""
        return self.cache.computations

    def _compute(self, reqs: Sequence[ServedRequest]) -> list[tuple[float, float, float]]:
        """``(key, value, age limit)`` per request in its current bucket, batched over requests whose
        distributions share a knot count."""
        out: list[tuple[float, float, float] | None] = [None] * len(reqs)
        groups: dict[int, list[int]] = {}
        for i, r in enumerate(reqs):
            if (self.policy.needs_prediction and r.dist is None) or (
                self.policy.name == "oracle" and r.true_len is None
            ):
                out[i] = self._fallback
            else:
                groups.setdefault(0 if r.dist is None else r.dist.knots.shape[1], []).append(i)
        for idx in groups.values():
            members = [reqs[i] for i in idx]
            entries = self.cache.compute(
                np.arange(len(members)), np.array([m.age for m in members]), self._state_of(members)
            )
            for j, i in enumerate(idx):
                out[i] = (float(entries.keys[j]), float(entries.values[j]), float(entries.limits[j]))
        return out  # type: ignore[return-value]

    def _state_of(self, members: Sequence[ServedRequest]) -> Callable[[np.ndarray, np.ndarray], RequestState]:
        def state(rows: np.ndarray, ages: np.ndarray) -> RequestState:
            chosen = [members[int(i)] for i in rows]
            dist = None
            if self.policy.needs_prediction:
                dist = LengthDistribution.concat([m.dist for m in chosen])  # type: ignore[misc]
            return RequestState(
                arrival=np.array([m.arrival for m in chosen], dtype=np.float64),
                prompt_len=np.array([m.prompt_len for m in chosen], dtype=np.float64),
                age=np.asarray(ages, dtype=np.float64),
                dist=dist,
                true_len=np.array([m.true_len or 0 for m in chosen], dtype=np.float64),
            )

        return state

    def refresh(self, reqs: Sequence[ServedRequest]) -> None:
        """Recompute the keys of requests whose bucket changed (one batched call)."""
        bucket_of = self.cache.bucket_of
        stale = [r for r in reqs if r.cache is None or r.cache[0] != bucket_of(r.age)]
        if not stale:
            return
        for r, computed in zip(stale, self._compute(stale), strict=True):
            r.cache = (bucket_of(r.age), *computed)

    def key(self, r: ServedRequest) -> float:
        if r.cache is None:
            self.refresh([r])
        return r.cache[1]  # type: ignore[index]

    def value(self, r: ServedRequest) -> float:
        if r.cache is None:
            self.refresh([r])
        return r.cache[2]  # type: ignore[index]

    def preemptible_at_age(self, r: ServedRequest) -> bool:
        """Whether the policy still allows preempting ``r`` at its current age (TRAIL-style: early only)."""
        if r.cache is None:
            self.refresh([r])
        return r.age <= r.cache[3]  # type: ignore[index]

    def past_max_wait(self, r: ServedRequest, now: float, step: int) -> bool:
        """Whether ``r`` has waited past the starvation bound (it may displace without the cost check)."""
        c = self.config
        return bool(
            (c.max_wait_s is not None and now - r.arrival > c.max_wait_s)
            or (c.max_wait_steps is not None and step - r.arrival_step > c.max_wait_steps)
        )

    def starved(self, r: ServedRequest, now: float, step: int) -> bool:
        """Whether ``r`` is past the starvation bound or promoted by the slack guard: it then goes first
        (earliest deadline, else oldest, first) and is not preempted by the policy."""
        return now > r.promote_at or self.past_max_wait(r, now, step)

    def sort_key(self, r: ServedRequest, now: float, step: int) -> tuple[int, float, float, str]:
        if self.starved(r, now, step):
            return (0, r.arrival if math.isinf(r.deadline) else r.deadline, 0.0, r.request_id)
        return (1, self.key(r), r.arrival, r.request_id)

    def add(self, r: ServedRequest) -> None:
        """Track a new request; its key is computed at the next refresh."""
        self.requests[r.request_id] = r
        self.unkeyed.append(r)

    def take_unkeyed(self) -> list[ServedRequest]:
        """Requests added or re-predicted since the last call."""
        taken, self.unkeyed = self.unkeyed, []
        return taken

    def set_prediction(self, request_id: str, dist: LengthDistribution) -> None:
        r = self.requests.get(request_id)
        if r is not None:
            r.dist, r.cache = dist, None
            self.unkeyed.append(r)


class BatchWorker:
    """Runs ``fn`` on batches of queued items in a daemon thread; ``fn`` errors are logged, not raised."""

    def __init__(
        self, fn: Callable[[list[Any]], None], batch: int = 64, name: str = "sagepred-worker"
    ) -> None:
        self.fn = fn
        self.batch = batch
        self.items: queue.Queue[Any] = queue.Queue()
        self.busy_s = 0.0
        self.calls = 0
        self.processed = 0
        self.errors = 0
        """Batches on which ``fn`` raised (their items are dropped; the caller's fallback applies)."""
        self._idle = threading.Event()
        self._idle.set()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    def submit(self, item: Any) -> None:
        self._idle.clear()
        self.items.put(item)

    def _loop(self) -> None:
        while True:
            first = self.items.get()
            batch = [first]
            while len(batch) < self.batch:
                try:
                    batch.append(self.items.get_nowait())
                except queue.Empty:
                    break
            started = time.perf_counter()
            try:
                self.fn(batch)
            except Exception:
                self.errors += 1
                log.exception("sagepred: %s failed on a batch of %d", self._thread.name, len(batch))
            self.busy_s += time.perf_counter() - started
            self.calls += 1
            self.processed += len(batch)
            if self.items.empty():
                self._idle.set()

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Block until every submitted item is processed (tests, shutdown)."""
        return self._idle.wait(timeout)


def load_predictor(spec: str, online_learning: bool = True) -> Any:
    """The served predictor (:func:`sagepred.loading.load_predictor` of a checkpoint, zoo name or Hub id):
    a :class:`~sagepred.fusion.FusedPredictor` that learns through ``observe`` with ``online_learning``."""
    return loading.load_predictor(spec, online_learning=online_learning, accept=loading.MODEL_KINDS)


def predictor_text(prompt: Any, decode: Callable[[list[int]], str]) -> str:
    """The predictor's input for a served request: the carried ``sagepred_prompt`` (text or chat messages,
    flattened by :func:`~sagepred.records.prompt_text` like at training time), else ``decode`` of the
    request's prompt token ids (which carry the engine's chat template: send ``sagepred_prompt``, or go
    through the proxy, to predict chat requests on the text the predictor was trained on)."""
    if isinstance(prompt, str) or (isinstance(prompt, list) and prompt and isinstance(prompt[0], dict)):
        return prompt_text(prompt)
    return decode(list(prompt))
