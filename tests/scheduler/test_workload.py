"""Workloads: real CASTILLO records joined with arrivals; the samples predictor never sees the truth."""

from __future__ import annotations

import numpy as np
import pytest

from sagepred.errors import InputError, SagepredError
from sagepred.records import LengthRecord
from sagepred.scheduler.traces import poisson_arrivals
from sagepred.scheduler.workload import build_workload, resolve_predictor


def test_workload_from_real_records(llama_records):
    records = list(llama_records[:500])
    arrivals = poisson_arrivals(1200, 10.0, seed=0)
    w = build_workload(arrivals, records, resolve_predictor("samples"), seed=3)
    assert len(w) == 1200 and len(w.dist) == 1200
    by_id = {r.record_id: r for r in records}
    assert all(n in by_id[rid].output_lens for n, rid in zip(w.output_len, w.record_ids, strict=True))
    assert all(p == by_id[rid].prompt_len for p, rid in zip(w.prompt_len, w.record_ids, strict=True))
    # every record is used once before any repeats
    assert len(set(w.record_ids[:500])) == 500
    # the predicted mean tracks the record's mean length (the prediction comes from the same prompt)
    record_means = np.array([by_id[rid].mean_length for rid in w.record_ids])
    assert np.corrcoef(np.log(w.dist.mean()), np.log(record_means))[0, 1] > 0.9


def test_samples_predictor_leaves_the_truth_out():
    record = LengthRecord(prompt="p", output_lens=(10, 10, 10, 5000), prompt_len=4, record_id="r")
    picks = set()
    for seed in range(40):
        w = build_workload(np.array([0.0]), [record], resolve_predictor("samples"), seed=seed)
        picks.add(int(w.output_len[0]))
        p_long = 1.0 - w.dist.cdf(1000.0)[0]
        assert p_long == pytest.approx(0.0 if w.output_len[0] == 5000 else 1 / 3, abs=1e-9)
    assert picks == {10, 5000}


def test_exact_predictor_knows_each_requests_own_length(llama_records):
    w = build_workload(poisson_arrivals(400, 5.0, seed=0), llama_records, resolve_predictor("exact"), seed=2)
    np.testing.assert_allclose(w.dist.mean(), w.output_len - 0.25)
    np.testing.assert_allclose(w.dist.quantile(0.5), w.output_len, atol=0.5)
    assert np.all(w.dist.cdf(w.output_len - 1.0) == 0.0) and np.all(
        w.dist.cdf(w.output_len.astype(float)) == 1.0
    )
    samples = build_workload(
        poisson_arrivals(400, 5.0, seed=0), llama_records, resolve_predictor("samples"), seed=2
    )
    np.testing.assert_array_equal(w.output_len, samples.output_len)


def test_same_seed_same_workload(llama_records):
    arrivals = poisson_arrivals(300, 5.0, seed=0)
    a = build_workload(arrivals, llama_records, resolve_predictor("samples"), seed=7)
    b = build_workload(arrivals, llama_records, resolve_predictor("samples"), seed=7)
    np.testing.assert_array_equal(a.output_len, b.output_len)
    np.testing.assert_array_equal(a.dist.cdf_at_knots, b.dist.cdf_at_knots)


def test_single_sample_records_and_missing_predictors_fail_clearly(tmp_path):
    record = LengthRecord(prompt="p", output_lens=(10,), record_id="solo")
    with pytest.raises(InputError, match="two or more"):
        build_workload(np.array([0.0]), [record], resolve_predictor("samples"))
    with pytest.raises(SagepredError):
        resolve_predictor(str(tmp_path / "no-checkpoint"))
    assert resolve_predictor("none") is None
    w = build_workload(np.array([0.0, 1.0]), [record], None)
    assert w.dist is None and list(w.output_len) == [10, 10]
