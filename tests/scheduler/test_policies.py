"""Policies: keys order requests as each policy defines; the preemption rule weighs recompute."""

from __future__ import annotations

import numpy as np
import pytest

from sagepred.distribution import LengthDistribution
from sagepred.errors import InputError
from sagepred.scheduler.cost import CostModel
from sagepred.scheduler.gittins import gittins_index
from sagepred.scheduler.policies import (
    FCFS,
    LTR,
    SJF,
    TIE,
    TRAIL,
    Gittins,
    Oracle,
    PreemptionRule,
    RequestState,
    make_policy,
    parse_policies,
)
from sagepred.scheduler.workload import samples_predictor


@pytest.fixture(scope="module")
def state(llama_records):
    records = llama_records[:300]
    truth = np.zeros(len(records), dtype=int)
    dist = samples_predictor(records, truth)
    rng = np.random.default_rng(0)
    return RequestState(
        arrival=np.sort(rng.uniform(0, 60, len(records))),
        prompt_len=np.array([r.prompt_len for r in records], dtype=float),
        age=np.zeros(len(records)),
        dist=dist,
        true_len=np.array([r.output_lens[0] for r in records], dtype=float),
    )


def test_fcfs_orders_by_arrival(state):
    keys = FCFS().keys(state)
    assert np.array_equal(np.argsort(keys, kind="stable"), np.argsort(state.arrival, kind="stable"))


def test_sjf_orders_by_predicted_mean_and_tie_reduces_to_it(state):
    sjf = SJF().keys(state)
    np.testing.assert_allclose(sjf, state.dist.mean())
    np.testing.assert_allclose(TIE(beta=0.0, aging=0.0).keys(state), sjf)
    tie = TIE(beta=1.0, aging=0.0).keys(state)
    assert np.all(tie >= sjf)


def test_ltr_ranks_by_median_and_aging_promotes_old_requests(state):
    np.testing.assert_allclose(LTR(aging=0.0).keys(state), state.dist.quantile(0.5))
    aged = LTR(aging=1e6).keys(state)
    assert np.array_equal(np.argsort(aged), np.argsort(state.arrival))


def test_oracle_keys_are_true_remaining_costs(state):
    cost = CostModel(a=1.0, b=0.5)
    keys = Oracle(cost).keys(state)
    np.testing.assert_allclose(keys, cost.remaining(state.prompt_len, state.age, state.true_len))


def test_gittins_keys_are_indices_of_the_remaining_cost(state):
    cost = CostModel.paper()
    aged = RequestState(
        state.arrival, state.prompt_len, np.full(len(state), 150.0), state.dist, state.true_len
    )
    keys = Gittins(cost, bucket_tokens=200).keys(aged)
    expected = gittins_index(cost.remaining_cost_distribution(state.dist, state.prompt_len, 150.0))
    np.testing.assert_allclose(keys, expected)
    # Gittins on the record's own samples agrees with the truth more often than chance
    tau = np.corrcoef(np.argsort(np.argsort(keys)), np.argsort(np.argsort(Oracle(cost).keys(aged))))[0, 1]
    assert tau > 0.3


def test_trail_refines_with_age_and_only_preempts_early(state):
    trail = TRAIL(early_fraction=0.25)
    limit = trail.preempt_age_limit(state)
    np.testing.assert_allclose(limit, 0.25 * state.dist.mean())
    older = RequestState(state.arrival, state.prompt_len, np.full(len(state), 100.0), state.dist)
    np.testing.assert_allclose(trail.keys(older), state.dist.condition(100.0).mean())


def test_policy_registry_and_bad_names():
    assert [p.name for p in parse_policies("fcfs, gittins,oracle,fcfs")] == ["fcfs", "gittins", "oracle"]
    assert make_policy("GITTINS", bucket_tokens=50).refresh_tokens == 50
    with pytest.raises(InputError) as err:
        make_policy("srpt")
    assert err.value.field == "policies" and "srpt" in str(err.value)
    with pytest.raises(InputError):
        parse_policies(" , ")


def test_policies_without_predictions_say_so():
    state = RequestState(np.zeros(2), np.ones(2), np.zeros(2))
    with pytest.raises(ValueError, match="needs predicted"):
        SJF().keys(state)


def test_preemption_rule_weighs_recompute():
    rule = PreemptionRule(margin=1.0)
    # not outranked: never
    assert not rule.pays(waiting_value=10.0, victim_value=5.0, victim_recompute=0.0, wait=100.0)
    # a slot frees soon (wait 3): finishing w (cost 2) before it gains 1, which must beat the recompute
    assert rule.pays(2.0, 50.0, victim_recompute=0.5, wait=3.0)
    assert not rule.pays(2.0, 50.0, victim_recompute=1.5, wait=3.0)
    # one sequence in flight: wait is the victim's own value, i.e. SRPT with a recompute margin
    assert rule.pays(10.0, 40.0, victim_recompute=20.0, wait=40.0)
    assert not rule.pays(10.0, 40.0, victim_recompute=40.0, wait=40.0)
    assert PreemptionRule(naive=True).pays(10.0, 10.5, victim_recompute=1e9, wait=0.0)


def test_samples_distribution_is_built_from_other_samples(llama_records):
    record = llama_records[5]
    dist = samples_predictor([record], np.array([3]))
    others = np.delete(record.lengths, 3)
    assert dist.mean()[0] == pytest.approx(others.mean(), rel=0.05)
    assert dist.cdf(others.max() * 1.1)[0] == pytest.approx(1.0)
    assert isinstance(dist, LengthDistribution)
