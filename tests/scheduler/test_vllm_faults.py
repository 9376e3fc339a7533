"""Faults on the real in-process engine: a predictor that throws or answers too late, a request aborted
mid-run, a burst of ten times the KV cache: nothing is dropped, the fallback is taken and counted."""

from __future__ import annotations

import itertools
import time

import numpy as np
import pytest

pytest.importorskip("vllm")

from sagepred.distribution import LengthDistribution
from sagepred.scheduler.serving import PluginConfig, prediction_args
from sagepred.scheduler.tiny_model import tiny_engine, write_tiny_model

_ids = itertools.count()


class FailingPredictor:
    """A predictor whose every call raises (a broken checkpoint, an out-of-memory encoder)."""

    calls = 0

    def predict(self, texts):
        FailingPredictor.calls += 1
        raise RuntimeError("predictor unavailable")


class SlowPredictor:
    """A predictor that answers, but only after ``delay_s``."""

    def __init__(self, delay_s: float) -> None:
        self.delay_s = delay_s

    def predict(self, texts):
        time.sleep(self.delay_s)
        n = len(texts)
        return LengthDistribution(np.tile([0.0, 1.0, 2.0], (n, 1)), np.tile([0.0, 0.5, 1.0], (n, 1)))


@pytest.fixture(scope="module")
def small_kv(tmp_path_factory):
    """An engine whose KV cache holds about 768 tokens (one max-length request and a half)."""
    from sagepred.scheduler.vllm_plugin import SagepredScheduler

    llm = tiny_engine(
        write_tiny_model(tmp_path_factory.mktemp("tiny")),
        tmp_path_factory.mktemp("cache"),
        max_num_seqs=16,
        kv_cache_bytes=2**20,
        scheduler_cls=SagepredScheduler,
        additional_config={"sagepred": {"policy": "gittins"}},
    )
    yield llm
    del llm


def scheduler_of(llm):
    return llm.llm_engine.engine_core.engine_core.scheduler


def run(llm, requests, abort_after: dict[str, int] | None = None, max_steps: int = 20000):
    """Submit ``(label, length, extra)`` requests at once and step to completion; ``abort_after`` aborts a
    label at that step. Returns ``{label: tokens produced}`` of finished requests and the step count."""
    from vllm import SamplingParams

    engine = llm.llm_engine
    names, done = {}, {}
    for label, length, extra in requests:
        rid = f"{label}-{next(_ids)}"
        names[rid] = label
        sp = SamplingParams(max_tokens=int(length), ignore_eos=True, temperature=0.0, extra_args=extra)
        engine.add_request(rid, {"prompt_token_ids": [7] * 16}, sp)
    by_label = {v: k for k, v in names.items()}
    step = 0
    while engine.has_unfinished_requests():
        step += 1
        assert step < max_steps, "the engine stalled"
        for label, at in (abort_after or {}).items():
            if at == step:
                engine.abort_request([by_label[label]])
        for out in engine.step():
            if out.finished:
                done[names[out.request_id]] = len(out.outputs[0].token_ids)
    return done, step


def _configure(llm, predictor, **settings):
    sched = scheduler_of(llm)
    sched.configure(PluginConfig(policy="gittins", max_wait_s=None, **settings))
    sched.predictor = predictor
    if settings.get("predictor_mode") == "async":
        from sagepred.scheduler.serving import BatchWorker

        sched.predict_worker = BatchWorker(sched._predict_batch, 64, "sagepred-predict")
    else:
        sched.predict_worker = None
    return sched


def test_a_predictor_that_throws_falls_back_to_arrival_order(small_kv):
    sched = _configure(small_kv, FailingPredictor(), predictor_mode="sync", online_learning=False)
    before = FailingPredictor.calls
    reqs = [(f"p{i}", 6 + (i * 5) % 13, None) for i in range(8)]
    done, _ = run(small_kv, reqs)
    assert done == {label: n for label, n, _ in reqs}, "nothing dropped, every token produced"
    stats = sched.sagepred_stats()
    assert FailingPredictor.calls > before
    assert stats["predictor_errors"] >= 1


def test_late_predictions_are_ignored_and_counted(small_kv):
    sched = _configure(
        small_kv, SlowPredictor(0.2), predictor_mode="async", predictor_timeout_s=0.02, online_learning=False
    )
    # One request long enough (480 steps of ~2 ms) to be in flight when the 0.2 s answers arrive.
    reqs = [(f"s{i}", 40, None) for i in range(4)] + [("long", 480, None)]
    done, _ = run(small_kv, reqs)
    sched.predict_worker.wait_idle()
    assert done == {label: n for label, n, _ in reqs}
    stats = sched.sagepred_stats()
    # Every answer comes 0.2 s after its request registered, past the 0.02 s timeout: none is applied,
    # each one reaching a step is counted late (request in flight) or unused (request already gone).
    assert stats["applied_predictions"] == 0
    assert stats["late_predictions"] >= 1, "the long request was in flight when its prediction arrived"
    assert stats["late_predictions"] + stats["unused_predictions"] <= stats["predicted"]


def test_malformed_predictions_are_counted(small_kv):
    sched = _configure(small_kv, None)
    reqs = [("bad", 5, {"sagepred_knots": [0, 3, 1], "sagepred_cdf": [0, 0.5, 1]}), ("ok", 5, None)]
    done, _ = run(small_kv, reqs)
    assert done == {"bad": 5, "ok": 5}
    assert sched.sagepred_stats()["malformed_predictions"] == 1


def test_a_request_aborted_mid_run_is_freed_and_the_rest_finish(small_kv):
    sched = _configure(small_kv, None)
    sharp = LengthDistribution(np.array([[0.0, 30.0, 31.0]]), np.array([[0.0, 0.0, 1.0]]))
    reqs = [(f"a{i}", 30, prediction_args(sharp)) for i in range(5)]
    done, _ = run(small_kv, reqs, abort_after={"a1": 3, "a3": 8})
    assert set(done) >= {"a0", "a2", "a4"}
    assert all(done[label] == 30 for label in ("a0", "a2", "a4"))
    assert sched.sagepred_stats()["aborted"] == 2
    assert not sched.book.requests, "aborted requests leave the key book"


def test_a_burst_of_ten_times_the_kv_cache_finishes_with_recompute_measured(small_kv):
    sched = _configure(small_kv, None)
    rng = np.random.default_rng(1)
    lengths = rng.integers(60, 180, size=60)  # 60 × (16 + ~120) ≈ 8,000 tokens against ~768 of KV
    reqs = []
    for i, n in enumerate(lengths):
        d = LengthDistribution(np.array([[0.0, 0.8 * n, 1.2 * n]]), np.array([[0.0, 0.0, 1.0]]))
        reqs.append((f"b{i}", int(n), prediction_args(d)))
    done, _ = run(small_kv, reqs)
    assert done == {label: n for label, n, _ in reqs}, "every request of the burst finishes in full"
    stats = sched.sagepred_stats()
    model = stats["step_model"]
    assert model["steps"] >= 32 and model["per_token_s"] > 0
    assert model["recompute_tokens"] > 0, "KV exhaustion preempted requests and their re-prefill was measured"
