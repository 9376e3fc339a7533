"""Trace loaders on the small real samples in tests/data (these run on a bare clone, without ../shared)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sagepred.scheduler.traces import load_trace, scaled_arrivals

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "traces"


@pytest.mark.parametrize(
    ("name", "rows", "first"),
    [
        ("AzureLLMInferenceTrace_conv.head500.csv", 500, (374, 44)),
        ("mooncake_conversation_trace.head200.jsonl", 200, (6758, 500)),
    ],
)
def test_sample_traces_load(name, rows, first):
    trace = load_trace(SAMPLES / name)
    assert len(trace) == rows
    assert trace.times[0] == 0.0 and np.all(np.diff(trace.times) >= 0)
    assert (int(trace.input_len[0]), int(trace.output_len[0])) == first
    assert np.all(trace.output_len >= 0) and trace.input_len.mean() > 100


def test_sample_scaling_hits_the_rate_and_keeps_the_shape():
    trace = load_trace(SAMPLES / "AzureLLMInferenceTrace_conv.head500.csv")
    arrivals = scaled_arrivals(trace, 400, rate=5.0)
    assert (len(arrivals) - 1) / arrivals[-1] == pytest.approx(5.0)
    original, scaled = np.diff(trace.times[:400]), np.diff(arrivals)
    np.testing.assert_allclose(scaled, original * (arrivals[-1] / trace.times[399]), atol=1e-9)
    assert np.std(scaled) / np.mean(scaled) == pytest.approx(np.std(original) / np.mean(original))
