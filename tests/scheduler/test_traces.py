"""Traces: the real Azure and Mooncake traces load; scaling keeps shape and hits the rate; bad files fail clearly."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sagepred.errors import InputError
from sagepred.scheduler.traces import load_trace, poisson_arrivals, scaled_arrivals


@pytest.mark.parametrize(
    ("relative", "rows"),
    [
        ("traces/azure_2023/AzureLLMInferenceTrace_code.csv", 8819),
        ("traces/azure_2023/AzureLLMInferenceTrace_conv.csv", 19366),
        ("traces/mooncake/conversation_trace.jsonl", 12031),
    ],
)
def test_real_traces_load(data_dir, relative, rows):
    trace = load_trace(data_dir / relative)
    assert len(trace) == rows
    assert trace.times[0] == 0.0 and np.all(np.diff(trace.times) >= 0)
    assert 3000 < trace.times[-1] < 4000  # one hour each
    assert np.all(trace.output_len >= 0) and trace.input_len.mean() > 100


def test_scaling_hits_the_rate_and_keeps_the_shape(data_dir):
    trace = load_trace(data_dir / "traces/azure_2023/AzureLLMInferenceTrace_conv.csv")
    arrivals = scaled_arrivals(trace, 2000, rate=12.5)
    assert len(arrivals) == 2000
    assert (len(arrivals) - 1) / arrivals[-1] == pytest.approx(12.5)
    original = np.diff(trace.times[:2000])
    scaled = np.diff(arrivals)
    factor = arrivals[-1] / trace.times[1999]
    np.testing.assert_allclose(scaled, original * factor, atol=1e-9)
    # the real trace is burstier than Poisson (coefficient of variation of the gaps above 1), and stays so
    assert np.std(scaled) / np.mean(scaled) == pytest.approx(np.std(original) / np.mean(original))
    assert np.std(scaled) / np.mean(scaled) > 1.05


def test_short_traces_repeat_end_to_end(data_dir):
    trace = load_trace(data_dir / "traces/mooncake/conversation_trace.jsonl")
    arrivals = scaled_arrivals(trace, 30000, rate=50.0)
    assert len(arrivals) == 30000 and np.all(np.diff(arrivals) >= 0)
    assert 29999 / arrivals[-1] == pytest.approx(50.0)


def test_poisson_rate_and_seed():
    a = poisson_arrivals(20000, rate=8.0, seed=1)
    assert a[0] == 0.0 and np.all(np.diff(a) >= 0)
    assert np.mean(np.diff(a)) == pytest.approx(1 / 8.0, rel=0.03)
    np.testing.assert_array_equal(a, poisson_arrivals(20000, rate=8.0, seed=1))
    assert not np.array_equal(a, poisson_arrivals(20000, rate=8.0, seed=2))
    with pytest.raises(InputError):
        poisson_arrivals(10, rate=0.0)


def test_azure_missing_column(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("TIMESTAMP,ContextTokens\n2023-11-16 18:17:03.97,10\n")
    with pytest.raises(InputError) as err:
        load_trace(path)
    assert err.value.field == "GeneratedTokens" and str(path) in str(err.value)


def test_azure_negative_and_bad_values(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text(
        "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:17:03.97,10,5\n2023-11-16 18:17:04.00,10,-3\n"
    )
    with pytest.raises(InputError) as err:
        load_trace(path)
    assert (err.value.field, err.value.line) == ("GeneratedTokens", 3)
    path.write_text("TIMESTAMP,ContextTokens,GeneratedTokens\nyesterday,10,5\n")
    with pytest.raises(InputError) as err:
        load_trace(path)
    assert err.value.field == "TIMESTAMP"


def test_mooncake_bad_rows(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_text(json.dumps({"timestamp": -5, "input_length": 3, "output_length": 4}) + "\n")
    with pytest.raises(InputError) as err:
        load_trace(path)
    assert err.value.field == "timestamp"
    path.write_text(json.dumps({"timestamp": 5, "input_length": 3}) + "\n")
    with pytest.raises(InputError) as err:
        load_trace(path)
    assert err.value.field == "output_length"
    path.write_text("{not json\n")
    with pytest.raises(InputError, match="malformed"):
        load_trace(path)
    with pytest.raises(InputError, match="unknown trace format"):
        load_trace(tmp_path / "trace.parquet")


@pytest.mark.parametrize("name", ["t.jsonl", "t.csv"])
def test_a_trace_that_is_not_utf8_is_one_line(tmp_path, name):
    path = tmp_path / name
    header = b"TIMESTAMP,ContextTokens,GeneratedTokens\n" if name.endswith(".csv") else b""
    path.write_bytes(header + "caf\u00e9,1,2\n".encode("latin-1"))
    with pytest.raises(InputError, match="not UTF-8") as err:
        load_trace(path)
    assert err.value.path == str(path)
    path.write_bytes("TIMESTAMP,ContextTokens,GeneratedTokens\n".encode("utf-16"))
    with pytest.raises(InputError, match="not UTF-8"):
        load_trace(path)
