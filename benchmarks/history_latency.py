"""Per-request latency of the semantic history: prompt embedding + window search, on this machine's CPU.

For batch 1 and batch 32 and windows of 10,000 and 100,000 entries (filled with random unit vectors),
it times embedding (all-MiniLM-L6-v2 on real CASTILLO prompts), search with faiss's flat kernel and
with numpy (same results; the ratio is measured in the same run), the full fused prediction
(search + fusion with a histogram prior), and ``observe``. Prints a table and writes JSON.

    python benchmarks/history_latency.py --output benchmarks/results/history_latency.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from functools import partial
from pathlib import Path

import numpy as np

from sagepred.distribution import LengthDistribution, log_bin_edges
from sagepred.fusion import bin_probs, evidence_counts, fuse
from sagepred.history import HistoryConfig, HistoryIndex

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def _times(fn, repeats: int, warmup: int = 3) -> np.ndarray:
    for _ in range(warmup):
        fn()
    out = np.empty(repeats)
    for i in range(repeats):
        tic = time.perf_counter()
        fn()
        out[i] = time.perf_counter() - tic
    return out


def _cycle(fn, items: list):
    """A no-argument callable applying ``fn`` to ``items`` in turn."""
    state = iter(range(10**12))
    return lambda: fn(items[next(state) % len(items)])


def _unit(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    x = rng.normal(size=(n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _search_and_fuse(
    index: HistoryIndex, queries: np.ndarray, head: LengthDistribution, edges: np.ndarray
) -> None:
    found = index.query(queries)
    fuse(head, evidence_counts(found, edges, 1.0, bin_probs(head, edges)), edges, 4.0)


def _stats(seconds: np.ndarray, batch: int) -> dict[str, float]:
    per_request = seconds * 1e3 / batch
    return {
        "p50_ms_per_request": float(np.percentile(per_request, 50)),
        "p99_ms_per_request": float(np.percentile(per_request, 99)),
        "p50_ms_per_call": float(np.percentile(seconds * 1e3, 50)),
        "calls": int(seconds.size),
    }


def _prompts(data_dir: Path, n: int) -> list[str]:
    path = data_dir / "castillo" / "castillo_prompts.jsonl"
    if not path.is_file():
        return [f"Write a short story about request number {i}." for i in range(n)]
    with path.open(encoding="utf-8") as handle:
        rows = [json.loads(line)["prompt_text"] for _, line in zip(range(4 * n), handle, strict=False)]
    return rows[::4][:n]


def run(windows: list[int], batches: list[int], repeats: int, data_dir: Path, embed: bool) -> dict:
    import torch

    rng = np.random.default_rng(0)
    dim = 384
    edges = log_bin_edges()
    results: list[dict] = []
    encoder = None
    prompts: list[str] = []
    if embed:
        from sagepred.encoders import TextEncoder

        encoder = TextEncoder()
        prompts = _prompts(data_dir, 32 * 8)
    for batch in batches:
        if encoder is not None:
            calls = max(8, repeats // (4 * batch))
            chunks = [(prompts[(i * batch) % len(prompts) :] + prompts)[:batch] for i in range(calls)]
            seconds = _times(_cycle(encoder.encode, chunks), calls, warmup=2)
            results.append({"stage": "embed", "window": None, "batch": batch, **_stats(seconds, batch)})
        for window in windows:
            fill = _unit(rng, window, dim)
            queries = _unit(rng, batch, dim)
            head = LengthDistribution.from_histogram(rng.dirichlet(np.ones(64), size=batch), edges)
            for backend in ("numpy", "faiss"):
                index = HistoryIndex(HistoryConfig(capacity=window, backend=backend, max_samples=1))
                index.observe_many(fill, rng.integers(1, 4000, size=(window, 1)).tolist())
                seconds = _times(partial(index.query, queries), repeats)
                results.append(
                    {
                        "stage": f"search[{backend}]",
                        "window": window,
                        "batch": batch,
                        **_stats(seconds, batch),
                    }
                )
                if backend != "numpy":
                    continue
                seconds = _times(partial(_search_and_fuse, index, queries, head, edges), repeats)
                results.append(
                    {"stage": "search+fuse", "window": window, "batch": batch, **_stats(seconds, batch)}
                )
                lengths = [[float(n)] for n in rng.integers(1, 4000, size=repeats + 3)]
                seconds = _times(_cycle(partial(index.observe, queries[0]), lengths), repeats)
                results.append({"stage": "observe", "window": window, "batch": 1, **_stats(seconds, 1)})
    for row in results:
        if row["stage"] == "search[faiss]":
            numpy_row = next(
                r
                for r in results
                if r["stage"] == "search[numpy]"
                and r["window"] == row["window"]
                and r["batch"] == row["batch"]
            )
            row["speedup_vs_numpy_p50"] = numpy_row["p50_ms_per_request"] / row["p50_ms_per_request"]
    return {
        "machine": {
            "cpu": platform.processor() or platform.machine(),
            "cores": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "python": sys.version.split()[0],
        },
        "repeats": repeats,
        "results": results,
    }


def table(report: dict) -> str:
    lines = [
        f"{'stage':<15} {'window':>8} {'batch':>5} {'p50 ms/req':>11} {'p99 ms/req':>11} {'speed vs numpy':>15}"
    ]
    for r in report["results"]:
        ratio = f"{r['speedup_vs_numpy_p50']:.2f}x" if "speedup_vs_numpy_p50" in r else ""
        window = "-" if r["window"] is None else f"{r['window']:,}"
        lines.append(
            f"{r['stage']:<15} {window:>8} {r['batch']:>5} {r['p50_ms_per_request']:>11.3f} "
            f"{r['p99_ms_per_request']:>11.3f} {ratio:>9}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 32])
    parser.add_argument("--repeats", type=int, default=200, help="timed calls per cell")
    parser.add_argument(
        "--data-dir", type=Path, default=Path(os.environ.get("SAGEPRED_DATA_DIR", DEFAULT_DATA))
    )
    parser.add_argument("--no-embed", action="store_true", help="skip the encoder timings")
    parser.add_argument("--output", type=Path, default=None, help="JSON report path")
    args = parser.parse_args(argv)
    report = run(args.windows, args.batches, args.repeats, args.data_dir, embed=not args.no_embed)
    print(table(report))
    if args.output is not None:
        from sagepred.io import atomic_write_text

        atomic_write_text(args.output, json.dumps(report, indent=2) + "\n")
        print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
