"""The online step-time fit that prices a preemption's recompute."""

from __future__ import annotations

import numpy as np
import pytest

from sagepred.scheduler.online_cost import OnlineStepModel


def test_recovers_the_step_model_from_noisy_steps():
    rng = np.random.default_rng(0)
    model = OnlineStepModel()
    base, per_token, per_kv = 0.012, 4e-5, 2e-7
    for _ in range(400):
        tokens = int(rng.integers(1, 300))
        kv = int(rng.integers(100, 5000))
        t = (base + per_token * tokens + per_kv * kv) * rng.lognormal(0, 0.05)
        model.observe(tokens, kv, t)
    assert model.ready
    assert model.per_token_s == pytest.approx(per_token, rel=0.15)
    assert model.step_base_s == pytest.approx(base, rel=0.1)
    assert model.recompute_cost_s(200) == pytest.approx(per_token * 200 + per_kv * 200 * 201 / 2, rel=0.2)


def test_not_ready_before_enough_steps_and_ignores_bad_times():
    model = OnlineStepModel(min_steps=5)
    for _ in range(4):
        model.observe(10, 100, 0.01)
    model.observe(10, 100, float("nan"))
    model.observe(10, 100, -1.0)
    assert not model.ready and model.steps == 4


def test_accumulates_the_recompute_paid():
    model = OnlineStepModel(min_steps=1)
    for i in range(50):
        model.observe(1 + i % 7 * 20, 500, 0.01 + 1e-4 * (1 + i % 7 * 20))
    model.observe(120, 500, 0.01 + 1e-4 * 120, recomputed_tokens=100)
    assert model.recompute_tokens == 100
    assert model.recompute_s == pytest.approx(100 * 1e-4, rel=0.1)
