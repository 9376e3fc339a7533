"""The simulator on a small real workload (CASTILLO lengths, Azure arrivals) at a load where requests
queue, KV memory runs out and the policy preempts: accounting invariants, and jumps equal single steps."""

from __future__ import annotations

import numpy as np
import pytest

from sagepred.scheduler.cost import CostModel
from sagepred.scheduler.policies import PreemptionRule, make_policy
from sagepred.scheduler.profile import EngineProfile, load_profile
from sagepred.scheduler.simulator import SimConfig, simulate
from sagepred.scheduler.traces import load_trace, scaled_arrivals
from sagepred.scheduler.workload import build_workload, samples_predictor

# The H100 profile with a twentieth of its KV memory: memory preemption happens at this load.
SMALL_MEMORY = EngineProfile(
    **{**load_profile("llama-3.1-8b-h100").to_dict(), "kv_capacity_tokens": 20_000, "max_num_seqs": 64}
)


@pytest.fixture(scope="module")
def workload(data_dir, llama_records):
    trace = load_trace(str(data_dir / "traces" / "azure_2023" / "AzureLLMInferenceTrace_conv.csv"))
    arrivals = scaled_arrivals(trace, 400, 40.0)
    return build_workload(arrivals, llama_records[:800], lambda r, t: samples_predictor(r, t), seed=7)


@pytest.mark.parametrize(
    ("name", "config"),
    [
        ("fcfs", SimConfig(check_invariants=True)),
        ("trail", SimConfig(check_invariants=True)),
        ("gittins", SimConfig(check_invariants=True)),
        ("gittins", SimConfig(check_invariants=True, memory_victim="worst_key")),
        ("gittins", SimConfig(check_invariants=True, preemption=PreemptionRule(naive=True))),
        ("oracle", SimConfig(check_invariants=True)),
    ],
)
def test_real_workload_invariants(workload, name, config):
    policy = make_policy(name, CostModel.from_profile(SMALL_MEMORY), bucket_tokens=50)
    r = simulate(workload, policy, SMALL_MEMORY, config)
    fits = ~r.rejected
    assert np.all(r.completed == fits) and fits.sum() > 350
    assert np.array_equal(r.generated[fits], workload.output_len[fits])
    assert np.all(r.first_token[fits] > workload.arrival[fits])
    assert np.all(r.finish[fits] >= r.first_token[fits])
    assert r.max_blocks_used <= r.num_blocks
    assert int(r.preemptions.sum()) == r.memory_preemptions + r.policy_preemptions
    assert r.memory_preemptions > 0  # the load is high enough to matter
    assert sorted(r.admit_order) == sorted(np.flatnonzero(fits).tolist())
    if not policy.preemptive:
        assert r.policy_preemptions == 0
    if config.preemption.naive:
        assert r.policy_preemptions > 0
    ttlt = r.finish[fits] - workload.arrival[fits]
    assert np.all(ttlt >= r.first_token[fits] - workload.arrival[fits])


def test_real_workload_jumps_equal_single_steps(workload):
    policy = make_policy("gittins", CostModel.from_profile(SMALL_MEMORY), bucket_tokens=50)
    jumped = simulate(workload, policy, SMALL_MEMORY)
    single = simulate(workload, policy, SMALL_MEMORY, SimConfig(max_macro_steps=1))
    assert jumped.iterations < single.iterations
    assert jumped.steps == single.steps
    assert jumped.admit_order == single.admit_order
    np.testing.assert_array_equal(jumped.preemptions, single.preemptions)
    np.testing.assert_allclose(jumped.finish, single.finish, rtol=1e-9)
    np.testing.assert_allclose(jumped.first_token, single.first_token, rtol=1e-9)


def test_gittins_beats_fcfs_and_the_oracle_beats_both_on_the_real_workload(workload):
    cost = CostModel.from_profile(SMALL_MEMORY)
    mean = {
        name: simulate(workload, make_policy(name, cost), SMALL_MEMORY).summary()["mean_ttlt_s"]
        for name in ("fcfs", "gittins", "oracle")
    }
    assert mean["oracle"] < mean["gittins"] < mean["fcfs"]
