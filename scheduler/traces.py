"""Arrival traces: Azure LLM inference CSVs, Mooncake JSONL, or Poisson, scaled to a target rate.

A trace supplies *when* requests arrive (and, for reference, its own token counts); the workload
takes prompts and lengths from records. Scaling keeps the trace's burstiness: inter-arrival gaps are
multiplied by one factor so the mean rate of the requests used equals the target.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sagepred.errors import InputError


@dataclass(frozen=True)
class Trace:
    """Arrival times (seconds from the first request, non-decreasing) and the trace's token counts."""

    name: str
    times: np.ndarray
    input_len: np.ndarray
    output_len: np.ndarray

    def __len__(self) -> int:
        return len(self.times)

    @property
    def rate(self) -> float:
        """Mean arrival rate in requests per second."""
        span = float(self.times[-1] - self.times[0])
        return (len(self) - 1) / span if span > 0 else float("inf")


def _nonnegative_int(text: str, *, path: Path, line: int, name: str) -> int:
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise InputError(f"expected a number, got {text!r}", path=path, line=line, field=name) from None
    if not np.isfinite(value) or value < 0 or value != int(value):
        raise InputError(f"expected a non-negative integer, got {text!r}", path=path, line=line, field=name)
    return int(value)


def read_azure_csv(path: str | Path) -> Trace:
    """An Azure LLM inference trace (``TIMESTAMP, ContextTokens, GeneratedTokens``)."""
    path = Path(path)
    if not path.is_file():
        raise InputError("trace file not found", path=path)
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        columns = reader.fieldnames or []
        for name in ("TIMESTAMP", "ContextTokens", "GeneratedTokens"):
            if name not in columns:
                raise InputError(
                    f"missing column (found: {', '.join(columns) or 'none'})", path=path, field=name
                )
        stamps, inputs, outputs = [], [], []
        for line, row in enumerate(reader, start=2):
            stamps.append((row["TIMESTAMP"] or "").strip().replace(" ", "T"))
            inputs.append(_nonnegative_int(row["ContextTokens"], path=path, line=line, name="ContextTokens"))
            outputs.append(
                _nonnegative_int(row["GeneratedTokens"], path=path, line=line, name="GeneratedTokens")
            )
    if not stamps:
        raise InputError("no rows", path=path)
    try:
        when = np.array(stamps, dtype="datetime64[ns]")
    except ValueError:
        bad = next(i for i, s in enumerate(stamps) if not _parses(s))
        raise InputError(
            f"not a timestamp: {stamps[bad]!r}", path=path, line=bad + 2, field="TIMESTAMP"
        ) from None
    seconds = (when - when.min()).astype(np.int64) / 1e9
    return _trace(path.stem, seconds, inputs, outputs)


def _parses(stamp: str) -> bool:
    try:
        np.datetime64(stamp, "ns")
    except ValueError:
        return False
    return True


def read_mooncake_jsonl(path: str | Path) -> Trace:
    """A Mooncake trace: JSONL with ``timestamp`` (ms), ``input_length``, ``output_length``."""
    path = Path(path)
    if not path.is_file():
        raise InputError("trace file not found", path=path)
    stamps, inputs, outputs = [], [], []
    with path.open(encoding="utf-8") as handle:
        for line, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            try:
                obj = json.loads(text)
            except json.JSONDecodeError as err:
                raise InputError(f"malformed JSON ({err.msg})", path=path, line=line) from None
            if not isinstance(obj, dict):
                raise InputError("expected a JSON object", path=path, line=line)
            for name in ("timestamp", "input_length", "output_length"):
                if name not in obj:
                    raise InputError("missing", path=path, line=line, field=name)
            ts = obj["timestamp"]
            if isinstance(ts, bool) or not isinstance(ts, int | float) or not np.isfinite(ts) or ts < 0:
                raise InputError(
                    f"expected a non-negative number of ms, got {ts!r}",
                    path=path,
                    line=line,
                    field="timestamp",
                )
            stamps.append(float(ts) / 1000.0)
            inputs.append(
                _nonnegative_int(str(obj["input_length"]), path=path, line=line, name="input_length")
            )
            outputs.append(
                _nonnegative_int(str(obj["output_length"]), path=path, line=line, name="output_length")
            )
    if not stamps:
        raise InputError("no rows", path=path)
    seconds = np.asarray(stamps)
    return _trace(path.stem, seconds - seconds.min(), inputs, outputs)


def _trace(name: str, seconds: np.ndarray, inputs: list[int], outputs: list[int]) -> Trace:
    order = np.argsort(seconds, kind="stable")
    return Trace(
        name,
        np.asarray(seconds, dtype=np.float64)[order],
        np.asarray(inputs, dtype=np.int64)[order],
        np.asarray(outputs, dtype=np.int64)[order],
    )


def load_trace(path: str | Path) -> Trace:
    """An Azure CSV (``.csv``) or a Mooncake JSONL (``.jsonl``) trace."""
    path = Path(path)
    if path.suffix == ".csv":
        reader = read_azure_csv
    elif path.suffix in (".jsonl", ".json"):
        reader = read_mooncake_jsonl
    else:
        raise InputError(
            "unknown trace format: expected an Azure .csv, a Mooncake .jsonl, or 'poisson'", path=path
        )
    try:
        return reader(path)
    except UnicodeDecodeError as err:
        raise InputError(f"not UTF-8 text ({err.reason} at byte {err.start})", path=path) from None


def poisson_arrivals(num_requests: int, rate: float, seed: int = 0) -> np.ndarray:
    """``num_requests`` arrival times of a Poisson process of ``rate`` per second, from 0."""
    if rate <= 0:
        raise InputError(f"expected a positive rate, got {rate}", field="rate")
    gaps = np.random.default_rng(seed).exponential(1.0 / rate, size=num_requests)
    return np.concatenate([[0.0], np.cumsum(gaps[1:])]) if num_requests else np.zeros(0)


def scaled_arrivals(trace: Trace, num_requests: int, rate: float) -> np.ndarray:
    """The first ``num_requests`` arrivals of ``trace`` (repeated end to end if it is shorter), scaled
    so their mean rate is ``rate`` requests per second."""
    if rate <= 0:
        raise InputError(f"expected a positive rate, got {rate}", field="rate")
    if num_requests < 1:
        raise InputError("expected at least one request", field="num_requests")
    times = trace.times - trace.times[0]
    if len(times) < 2 or times[-1] <= 0:
        raise InputError("the trace needs two or more distinct arrival times", field="timestamp")
    gap = times[-1] / (len(times) - 1)
    reps = -(-num_requests // len(times))
    tiled = np.concatenate([times + r * (times[-1] + gap) for r in range(reps)])[:num_requests]
    if num_requests == 1 or tiled[-1] <= 0:
        return np.zeros(num_requests)
    return tiled * ((num_requests - 1) / tiled[-1] / rate)
