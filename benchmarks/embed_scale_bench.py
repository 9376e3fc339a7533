"""Embedding a growing prompt log into the Arrow store: records/s, peak RSS per size, cold vs warm cache.

Prompts are real: the 805 AlpacaEval instructions and the 6,765 CASTILLO prompts, cycled to the size
asked for; every repeat after the first pass gets a numbered suffix (" (variant k)") so each of the N
prompts is distinct and really embedded. Each size runs in a fresh child process (its own peak RSS,
``ru_maxrss``) against a fresh cache folder: once cold (everything embedded), once warm (nothing
embedded, the ordered view reused or rebuilt).

    python benchmarks/embed_scale_bench.py --sizes 2000,6000,20000 --json

The full 100k takes about 100k x per-prompt time on this machine; ``--sizes`` picks what to run and the
JSON states an extrapolation to 100k from the largest size run.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "embed_scale_bench.json"


def real_prompts(data_dir: Path) -> list[str]:
    """AlpacaEval instructions then CASTILLO prompts, as in the shared data folder."""
    texts = []
    with (data_dir / "alpaca_eval" / "instructions.jsonl").open() as handle:
        texts += [json.loads(line)["instruction"] for line in handle]
    with (data_dir / "castillo" / "castillo_prompts.jsonl").open() as handle:
        texts += [json.loads(line)["prompt_text"] for line in handle]
    return texts


def grown(base: list[str], size: int) -> Iterator[str]:
    """``size`` distinct prompts: ``base`` cycled, later passes with a numbered variant suffix."""
    for i in range(size):
        text = base[i % len(base)]
        variant = i // len(base)
        yield text if variant == 0 else f"{text} (variant {variant})"


def child(size: int, data_dir: str, cache: str, workers: int, spec: str) -> dict:
    """One size: cold then warm embedding in this process; returns timings and peak RSS."""
    import resource

    import torch

    torch.set_num_threads(1)
    from sagepred.encoders import load_encoder
    from sagepred.training.embed_at_scale import ArrowEmbeddingStore, EmbedConfig, prompts_dataset

    encoder = load_encoder(spec)
    store = ArrowEmbeddingStore(cache, EmbedConfig(num_proc=workers))
    base = real_prompts(Path(data_dir))
    with tempfile.TemporaryDirectory() as tmp:
        dataset = prompts_dataset(grown(base, size), Path(tmp) / "prompts.arrow")
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        tic = time.perf_counter()
        cold = store.embed(dataset, encoder)
        cold_s = time.perf_counter() - tic
        tic = time.perf_counter()
        embeddings, _ = store.features(encoder, dataset)
        view_s = time.perf_counter() - tic
        tic = time.perf_counter()
        warm = store.embed(dataset, encoder)
        embeddings, _ = store.features(encoder, dataset)
        warm_s = time.perf_counter() - tic
        assert embeddings.shape[0] == size and cold.embedded == size and warm.embedded == 0
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {
        "size": size,
        "workers": workers,
        "cold_seconds": round(cold_s, 2),
        "cold_records_per_s": round(size / cold_s, 1),
        "view_seconds": round(view_s, 2),
        "warm_seconds": round(warm_s, 2),
        "warm_records_per_s": round(size / warm_s, 1),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "rss_after_model_load_mib": round(rss_before / 1024, 1),
        "peak_rss_workers_mib": round(children / 1024, 1),
        "embedding_bytes_mib": round(size * encoder.dim * 4 / 2**20, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="2000,6000,20000", help="comma-separated log sizes")
    parser.add_argument("--workers", type=int, default=1, help="Dataset.map processes (num_proc)")
    parser.add_argument("--data-dir", default=None, help="the real-data folder (default: sagepred's)")
    parser.add_argument("--encoder", default=None, help="encoder spec (default: the training default)")
    parser.add_argument("--json", action="store_true", help=f"write {RESULTS.relative_to(ROOT)}")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--cache", help=argparse.SUPPRESS)
    args = parser.parse_args()
    from sagepred.encoders import FAST_ENCODER
    from sagepred.paths import default_data_dir

    args.data_dir = args.data_dir or str(default_data_dir())
    args.encoder = args.encoder or FAST_ENCODER
    if args.child:
        print(json.dumps(child(args.child, args.data_dir, args.cache, args.workers, args.encoder)))
        return 0
    rows = []
    for size in [int(s) for s in args.sizes.split(",")]:
        with tempfile.TemporaryDirectory(prefix="embed-bench-") as cache:
            command = [sys.executable, __file__, "--child", str(size), "--cache", cache]
            command += [
                "--data-dir",
                args.data_dir,
                "--workers",
                str(args.workers),
                "--encoder",
                args.encoder,
            ]
            out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
            rows.append(json.loads(out.strip().splitlines()[-1]))
            print(json.dumps(rows[-1]))
    largest = max(rows, key=lambda r: r["size"])
    result = {
        "prompts": "AlpacaEval instructions + CASTILLO prompts cycled, repeats suffixed ' (variant k)'",
        "encoder": f"{args.encoder} (torch, 1 thread per process)",
        "rows": rows,
        "extrapolated_100k_cold_minutes": round(100_000 / largest["cold_records_per_s"] / 60, 1),
        "extrapolated_from_size": largest["size"],
    }
    print(json.dumps({k: v for k, v in result.items() if k != "rows"}))
    if args.json:
        from sagepred.io import atomic_write_text

        atomic_write_text(RESULTS, json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
