"""One in-process vLLM engine, scheduled by the sagepred plug-in, driven by its own thread.

A Ray Serve replica (:mod:`.ray_engine`) holds one :class:`EngineLoop`: callers :meth:`~EngineLoop.submit`
request bodies from any thread and get a future; the loop thread adds them to the engine, steps it and
resolves the futures, and between steps snapshots the plug-in's predicted outstanding work
(:class:`~sagepred.scheduler.routing_cost.ReplicaLoad`) for the replica's routing stats. Only the loop
thread touches the engine and the scheduler, so the snapshot is consistent and needs no lock.

A request body is the completions subset the engine needs: ``prompt`` (text) or ``prompt_token_ids``,
``max_tokens``, ``temperature``, ``ignore_eos``, ``vllm_xargs`` (the prediction, as for the plug-in) and
an optional ``id``.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import itertools
import logging
import os
import queue
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sagepred.scheduler.routing_cost import ReplicaLoad, outstanding_cost, outstanding_curve

log = logging.getLogger("sagepred.serving")


class RequestError(ValueError):
    """A request body the engine cannot run (one line: which field, what was expected)."""


@dataclass(frozen=True)
class EngineSettings:
    """The engine each replica builds (``vllm.LLM`` keyword arguments plus the plug-in's settings)."""

    model: str = field(metadata={"help": "vLLM's --model: a folder or Hub id"})
    plugin: dict[str, Any] = field(
        default_factory=dict, metadata={"help": "PluginConfig fields (additional_config['sagepred'])"}
    )
    llm_kwargs: dict[str, Any] = field(
        default_factory=dict,
        metadata={"help": "further vllm.LLM keyword arguments (load_format, max_model_len, max_num_seqs, …)"},
    )
    stats_interval_s: float = field(
        default=0.05, metadata={"help": "least seconds between two snapshots of the predicted load"}
    )
    torch_threads: int | None = field(
        default=None, metadata={"help": "torch threads in the replica (None: vLLM's default)"}
    )

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def build_llm(settings: EngineSettings) -> Any:
    """An in-process ``vllm.LLM`` (no engine-core process) with the sagepred scheduler plug-in."""
    os.environ["VLLM_ENABLE_V1_MULTIPROCESSING"] = "0"
    if settings.torch_threads:
        import torch

        torch.set_num_threads(settings.torch_threads)
    from vllm import LLM

    from sagepred.scheduler.vllm_plugin import SagepredScheduler

    kwargs = {"enforce_eager": True, **settings.llm_kwargs}
    return LLM(
        model=settings.model,
        scheduler_cls=SagepredScheduler,
        additional_config={"sagepred": dict(settings.plugin)},
        **kwargs,
    )


def sampling_inputs(body: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """The engine prompt and ``SamplingParams`` keyword arguments of a request body."""
    if not isinstance(body, Mapping):
        raise RequestError(f"expected a JSON object as the request body, got {type(body).__name__}")
    ids, text = body.get("prompt_token_ids"), body.get("prompt")
    if ids is not None:
        if not isinstance(ids, list) or not ids or not all(isinstance(t, int) for t in ids):
            raise RequestError("prompt_token_ids: expected a non-empty list of integers")
        prompt: dict[str, Any] = {"prompt_token_ids": ids}
    elif isinstance(text, str) and text:
        prompt = {"prompt": text}
    else:
        raise RequestError("prompt: expected a non-empty string (or prompt_token_ids)")
    max_tokens = body.get("max_tokens", 16)
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
        raise RequestError(f"max_tokens: expected a positive integer, got {max_tokens!r}")
    temperature = body.get("temperature", 0.0)
    if not isinstance(temperature, int | float) or temperature < 0:
        raise RequestError(f"temperature: expected a non-negative number, got {temperature!r}")
    xargs = body.get("vllm_xargs")
    if xargs is not None and not isinstance(xargs, Mapping):
        raise RequestError("vllm_xargs: expected an object")
    params = {
        "max_tokens": max_tokens,
        "temperature": float(temperature),
        "ignore_eos": bool(body.get("ignore_eos", False)),
        "extra_args": dict(xargs) if xargs else None,
    }
    return prompt, params


@dataclass
class _Call:
    future: concurrent.futures.Future
    caller_id: str
    arrival: float
    first_token: float | None = None


class EngineLoop:
    """Runs one engine in a thread; :meth:`submit` from anywhere, :meth:`load` for routing stats."""

    def __init__(self, llm: Any, stats_interval_s: float = 0.05) -> None:
        self.llm = llm
        self.engine = llm.llm_engine
        self.scheduler = self.engine.engine_core.engine_core.scheduler
        self.stats_interval_s = stats_interval_s
        self.failure: str | None = None
        """Why the loop stopped (an engine error); ``None`` while it runs."""
        self.completed = 0
        self._inbox: queue.SimpleQueue[tuple[str, dict, dict, _Call] | None] = queue.SimpleQueue()
        self._calls: dict[str, _Call] = {}
        self._ids = itertools.count()
        self._load = self._snapshot()
        self._last_snapshot = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sagepred-engine", daemon=True)
        self._thread.start()

    @classmethod
    def start(cls, settings: EngineSettings) -> EngineLoop:
        return cls(build_llm(settings), settings.stats_interval_s)

    def submit(self, body: Any) -> concurrent.futures.Future:
        """Queue one request; the future holds its result dict or a :class:`RequestError` / engine error."""
        future: concurrent.futures.Future = concurrent.futures.Future()
        if self.failure is not None:
            future.set_exception(RuntimeError(f"the engine stopped: {self.failure}"))
            return future
        try:
            prompt, params = sampling_inputs(body)
        except RequestError as err:
            future.set_exception(err)
            return future
        request_id = f"r{next(self._ids)}"
        caller_id = str(body.get("id", request_id))
        self._inbox.put((request_id, prompt, params, _Call(future, caller_id, time.time())))
        return future

    def load(self) -> ReplicaLoad:
        """The latest snapshot of this engine's predicted outstanding work (its ``ongoing`` is current)."""
        return dataclasses.replace(self._load, ongoing=len(self._calls) + self._inbox.qsize())

    def close(self) -> None:
        self._stop.set()
        self._inbox.put(None)
        self._thread.join(timeout=10)

    # ------------------------------------------------------------------ loop thread
    def _snapshot(self) -> ReplicaLoad:
        sched = self.scheduler
        cost = sched.book.policy.cost
        total, unpredicted = outstanding_cost(sched.book, cost)
        return ReplicaLoad(
            predicted_cost=total,
            requests=len(sched.waiting) + len(sched.running),
            waiting=len(sched.waiting),
            running=len(sched.running),
            unpredicted=unpredicted,
            at=time.time(),
            cost_a=float(cost.a),
            cost_b=float(cost.b),
            batch_curve=tuple(float(v) for v in outstanding_curve(sched.book)),
        )

    def _take_inbox(self, block: bool) -> None:
        from vllm import SamplingParams

        while True:
            try:
                item = self._inbox.get(timeout=0.05) if block else self._inbox.get_nowait()
            except queue.Empty:
                return
            block = False
            if item is None:
                return
            request_id, prompt, params, call = item
            try:
                self.engine.add_request(request_id, prompt, SamplingParams(**params))
            except Exception as err:  # vLLM's own validation (too long a prompt, …)
                call.future.set_exception(RequestError(f"the engine refused the request: {err}"))
                continue
            self._calls[request_id] = call

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                self._take_inbox(block=not self.engine.has_unfinished_requests())
                if self.engine.has_unfinished_requests():
                    self._finish(self.engine.step())
                if time.monotonic() - self._last_snapshot >= self.stats_interval_s:
                    self._load = self._snapshot()
                    self._last_snapshot = time.monotonic()
        except Exception as err:
            self.failure = f"{type(err).__name__}: {err}"
            log.exception("sagepred: the engine loop failed; failing its %d requests", len(self._calls))
            for call in self._calls.values():
                call.future.set_exception(RuntimeError(f"the engine stopped: {self.failure}"))
            self._calls.clear()

    def _finish(self, outputs: list[Any]) -> None:
        now = time.time()
        for out in outputs:
            call = self._calls.get(out.request_id)
            if call is None:
                continue
            completion = out.outputs[0] if out.outputs else None
            if call.first_token is None and completion is not None and completion.token_ids:
                call.first_token = now
            if out.finished:
                del self._calls[out.request_id]
                self.completed += 1
                call.future.set_result(
                    {
                        "id": call.caller_id,
                        "text": completion.text if completion is not None else "",
                        "output_tokens": len(completion.token_ids) if completion is not None else 0,
                        "finish_reason": completion.finish_reason if completion is not None else None,
                        "arrival": call.arrival,
                        "first_token": call.first_token,
                        "finished": now,
                    }
                )
