"""Reporting: the results table (rich), the JSON document, the load-sweep plot, the oracle-gain share,
the steady completion rate of a deep queue and latency by part of a run."""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from sagepred.io import atomic_write_bytes, atomic_write_text

COLUMNS = (
    ("mean_ttlt_s", "TTLT s"),
    ("p50_ttlt_s", "p50 s"),
    ("p99_ttlt_s", "p99 s"),
    ("mean_ttft_s", "TTFT s"),
    ("throughput_tok_s", "tok/s"),
    ("completed", "done"),
    ("submitted", "sent"),
    ("preemptions", "preempt"),
)
CLUSTER_COLUMNS = (("p99_ttft_s", "p99 TTFT s"), ("imbalance", "imbalance"))
"""Shown when rows come from a cluster (``imbalance``: max over mean of the tokens per replica)."""


def oracle_gain_share(policies: Mapping[str, Mapping[str, Any]], policy: str = "gittins") -> float | None:
    """Share of the oracle's mean-TTLT gain over FCFS that ``policy`` captures (1 = as good as the oracle)."""
    try:
        fcfs = policies["fcfs"]["mean_ttlt_s"]
        oracle = policies["oracle"]["mean_ttlt_s"]
        mine = policies[policy]["mean_ttlt_s"]
    except KeyError:
        return None
    if fcfs is None or oracle is None or mine is None or fcfs - oracle <= 1e-12:
        return None
    return (fcfs - mine) / (fcfs - oracle)


def steady_completion_rate(finish: np.ndarray, low: float = 0.2, high: float = 0.8) -> float:
    """Requests per second completed between the ``low`` and ``high`` quantiles of the finish times.

    Fed with a deep queue (every request submitted at once), this is the engine's steady capacity: the
    first completions come from a fresh batch of average requests (too fast) and the last from a
    draining queue (too slow); in between the batch holds its steady, length-biased share of long ones.
    """
    if not 0.0 <= low < high <= 1.0:
        raise ValueError(f"need 0 <= low < high <= 1, got {low} and {high}")
    done = np.sort(np.asarray(finish, dtype=np.float64)[np.isfinite(finish)])
    first, last = int(low * done.size), min(int(high * done.size), done.size - 1)
    if done.size < 10 or done[last] <= done[first]:
        raise ValueError(f"{done.size} finished requests are too few to measure a completion rate")
    return float((last - first) / (done[last] - done[first]))


def mean_by_part(arrival: np.ndarray, values: np.ndarray, parts: int = 5) -> list[float | None]:
    """Mean of ``values`` over each of ``parts`` equal shares of the requests in arrival order.

    A latency that grows from the first part to the last says the run is past capacity (or a burst
    came late): its mean depends on how long the run was.
    """
    order = np.argsort(np.asarray(arrival), kind="stable")
    chunks = np.array_split(np.asarray(values, dtype=np.float64)[order], parts)
    return [float(np.nanmean(c)) if c.size and np.isfinite(c).any() else None for c in chunks]


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.2f}"
    return str(value)


def results_table(policies: Mapping[str, Mapping[str, Any]], title: str = "") -> Any:
    """A rich table, one row per policy, with the change in mean TTLT against FCFS."""
    from rich.table import Table

    table = Table(title=title or None)
    table.add_column("policy", style="bold", no_wrap=True)
    cluster = any("imbalance" in row for row in policies.values())
    columns = COLUMNS
    if cluster:
        columns = tuple(c for c in COLUMNS if c[0] not in ("throughput_tok_s", "submitted")) + CLUSTER_COLUMNS
    for _, label in columns:
        table.add_column(label, justify="right")
    if not cluster:
        table.add_column("vs fcfs", justify="right")
        table.add_column("busy", justify="right")
        table.add_column("queue avg/max", justify="right")
    fcfs = policies.get("fcfs", {}).get("mean_ttlt_s")
    for name, row in policies.items():
        delta = "-"
        if fcfs and row.get("mean_ttlt_s") is not None:
            delta = f"{100.0 * (row['mean_ttlt_s'] / fcfs - 1.0):+.1f}%"
        busy = "-" if row.get("busy_share") is None else f"{100.0 * row['busy_share']:.0f}%"
        queue = (
            "-" if row.get("mean_queue") is None else f"{row['mean_queue']:.2f}/{row.get('max_queue', '-')}"
        )
        cells = [_fmt(row.get(key)) for key, _ in columns]
        table.add_row(name, *cells) if cluster else table.add_row(name, *cells, delta, busy, queue)
    return table


def load_line(policies: Mapping[str, Mapping[str, Any]]) -> str | None:
    """One line on the engine's load under the first policy (utilisation, requests in the engine, queue)."""
    name, row = next(iter(policies.items()), (None, {}))
    if row.get("busy_share") is None:
        return None
    kv = row.get("kv_peak_share")
    return (
        f"load ({name}): engine busy {100.0 * row['busy_share']:.0f}% of the time, "
        f"{row['mean_in_system']:.2f} requests in the engine on average (max {row['max_in_system']}), "
        f"queue (arrived, no first token yet) mean {row['mean_queue']:.2f} / max {row['max_queue']}"
        + (f", KV peak {100.0 * kv:.0f}%" if kv is not None else "")
    )


def no_queue_hint(policies: Mapping[str, Mapping[str, Any]]) -> str | None:
    """A hint when every policy gave the same mean TTLT: nothing queued long enough to reorder."""
    means = [row.get("mean_ttlt_s") for row in policies.values()]
    if len(means) < 2 or any(m is None for m in means):
        return None
    if max(means) - min(means) > 1e-9 * max(abs(max(means)), 1.0):
        return None
    return (
        "hint: every policy gave the same mean TTLT: policies can only differ where requests queue, "
        "and here none waited long enough to be reordered; raise --rate or --num-requests to see them differ"
    )


def print_table(policies: Mapping[str, Mapping[str, Any]], title: str = "") -> None:
    """Print :func:`results_table` and the Gittins share of the oracle's gain."""
    import shutil

    from rich.console import Console

    console = Console(width=max(112, shutil.get_terminal_size((112, 24)).columns))
    console.print(results_table(policies, title))
    for line in (load_line(policies), no_queue_hint(policies)):
        if line:
            console.print(line, markup=False, soft_wrap=True)
    share = oracle_gain_share(policies)
    if share is not None:
        console.print(f"gittins captures {100 * share:.1f}% of the oracle's mean-TTLT gain over FCFS")


def write_json(path: str | Path, payload: Mapping[str, Any]) -> None:
    """Write a JSON document atomically."""
    atomic_write_text(path, json.dumps(payload, indent=2, sort_keys=False) + "\n")


def plot_sweep(
    sweep: Mapping[float, Mapping[str, Mapping[str, Any]]], path: str | Path, title: str = ""
) -> None:
    """Mean TTLT against arrival rate, one line per policy, written atomically as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rates = sorted(sweep)
    names = list(dict.fromkeys(name for rate in rates for name in sweep[rate]))
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name in names:
        xs = [r for r in rates if sweep[r].get(name, {}).get("mean_ttlt_s") is not None]
        ys = [sweep[r][name]["mean_ttlt_s"] for r in xs]
        ax.plot(xs, ys, marker="o", label=name, linestyle="--" if name == "oracle" else "-")
    ax.set_xlabel("arrival rate (requests / s)")
    ax.set_ylabel("mean TTLT (s)")
    ax.set_title(title or "mean time to last token against load")
    ax.grid(alpha=0.3)
    ax.legend()
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png", dpi=120)
    plt.close(fig)
    atomic_write_bytes(path, buffer.getvalue())
