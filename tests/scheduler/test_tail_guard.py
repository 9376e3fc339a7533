"""The tail guard in the shared policy layer: linear aging (a static key) and the starvation bound
(the simulator's copy of the plug-in's ``max_wait_s``)."""

from __future__ import annotations

import numpy as np
import pytest

from sagepred.distribution import LengthDistribution
from sagepred.errors import InputError
from sagepred.scheduler.cost import CostModel
from sagepred.scheduler.policies import RequestState, TailGuard, make_policy
from sagepred.scheduler.profile import EngineProfile
from sagepred.scheduler.simulator import SimConfig, simulate
from sagepred.scheduler.workload import Workload

ONE_SEQ = EngineProfile(
    name="one-seq",
    step_base_s=0.01,
    per_token_s=1e-4,
    per_kv_token_s=1e-6,
    kv_capacity_tokens=4096,
    block_size=16,
    max_num_seqs=1,
    max_num_batched_tokens=512,
)


def _sharp(lengths: np.ndarray) -> LengthDistribution:
    lengths = np.asarray(lengths, dtype=np.float64)
    return LengthDistribution(
        np.stack([np.zeros_like(lengths), 0.95 * lengths, 1.05 * lengths + 1], axis=1),
        np.tile([0.0, 0.0, 1.0], (len(lengths), 1)),
    )


def _long_then_shorts(n_short: int = 30) -> Workload:
    """One long request behind which a stream of short ones keeps arriving (one sequence slot)."""
    arrival = np.concatenate([[0.0, 0.001], 0.002 + 0.05 * np.arange(n_short)])
    out = np.concatenate([[5, 200], np.full(n_short, 5)]).astype(np.int64)
    return Workload(arrival, np.full(len(out), 8), out, _sharp(out))


def test_aging_key_is_the_inner_key_plus_arrival_in_seconds():
    cost = CostModel(a=0.0, b=2.0, per_second=1000.0)
    inner = make_policy("sjf", cost)
    guard = make_policy("sjf", cost, aging=0.5)
    assert isinstance(guard, TailGuard) and guard.name == "sjf"
    state = RequestState(np.array([0.0, 3.0]), np.array([4.0, 4.0]), np.zeros(2), _sharp(np.array([50, 10])))
    np.testing.assert_allclose(guard.keys(state), inner.keys(state) + 0.5 * 1000.0 * np.array([0.0, 3.0]))
    assert make_policy("fcfs", cost, aging=1.0).name == "fcfs"
    with pytest.raises(InputError):
        make_policy("gittins", cost, aging=-1.0)


def test_aging_moves_gittins_towards_fcfs():
    w = _long_then_shorts()
    plain = simulate(w, make_policy("gittins"), ONE_SEQ)
    huge = simulate(w, make_policy("gittins", aging=1e9), ONE_SEQ)
    fcfs = simulate(w, make_policy("fcfs"), ONE_SEQ)
    assert plain.admit_order.index(1) == len(w) - 1, "unguarded, the long request is served last"
    assert huge.admit_order == fcfs.admit_order


def test_starvation_bound_serves_the_long_request_once_it_has_waited_max_wait():
    w = _long_then_shorts()
    plain = simulate(w, make_policy("gittins"), ONE_SEQ)
    bounded = simulate(w, make_policy("gittins"), ONE_SEQ, SimConfig(max_wait_s=0.3))
    start_plain = plain.finish[1] - (plain.finish[1] - plain.first_token[1])
    assert bounded.finish[1] < plain.finish[1] - 0.5
    assert bounded.admit_order.index(1) < plain.admit_order.index(1)
    # it starts within one short request's service (~0.06 s) of crossing the bound
    first = bounded.first_token[1] - w.arrival[1]
    assert 0.3 <= first <= 0.3 + 0.2, (first, start_plain)
    assert bounded.completed.all() and (bounded.generated == w.output_len).all()


def test_starvation_bound_matches_single_steps():
    w = _long_then_shorts()
    jumped = simulate(w, make_policy("gittins"), ONE_SEQ, SimConfig(max_wait_s=0.3))
    stepped = simulate(w, make_policy("gittins"), ONE_SEQ, SimConfig(max_wait_s=0.3, max_macro_steps=1))
    np.testing.assert_allclose(jumped.finish, stepped.finish)
    assert jumped.admit_order == stepped.admit_order
