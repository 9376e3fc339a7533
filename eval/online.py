"""Evaluation over time: replay a stream of requests, predicting each before observing it.

The records are shuffled with a seed and replayed one by one. At step ``t`` every predictor predicts
request ``t`` from what it has seen so far, then the history observes request ``t``'s outcome:
``observe="one"`` feeds one of the record's samples (drawn with the seed) — what a server sees, one
response per request; ``observe="all"`` feeds every sample. Predictions are always scored against
*all* of the record's samples (CASTILLO has ten), with the metrics of :mod:`sagepred.metrics`,
in consecutive blocks of ``block`` requests. Three predictors share one history window:

* ``head`` — the trained head alone (does not learn online);
* ``history`` — SageSched's predictor: neighbours' histogram (uniform weights, cosine ≥ threshold),
  padded with the window's global histogram up to ``min_samples``; before any observation it is the
  uniform histogram unless warm-started;
* ``fused`` — the head as prior (recalibrated online with the PITs of past outcomes unless
  ``fusion.recalibrate`` is off), neighbours as evidence (:mod:`sagepred.fusion`);
* ``head+online`` (with ``online_recalibration``) — the head (with its static calibration) under
  :class:`sagepred.calibration.OnlineRecalibrator`, adaptive conformal inference on the PIT levels
  fed by the same observed lengths the history sees (no neighbours).
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sagepred.distribution import LengthDistribution
from sagepred.fusion import FusedPredictor, FusionConfig
from sagepred.history import HistoryConfig, HistoryIndex
from sagepred.records import LengthRecord

SUMMARY_KEYS = ("crps", "kendall_tau", "coverage_80", "pit_ks", "mae_median")
ONLINE_JSON = "online.json"
ONLINE_MODE = "head+online"
ONLINE_PLOT = "online.png"


@dataclass
class OnlineConfig:
    """Settings of an online replay."""

    seed: int = field(default=0, metadata={"help": "seed of the stream order and of the observed sample"})
    block: int = field(default=200, metadata={"help": "requests per scoring block (the plot's resolution)"})
    observe: str = field(
        default="one", metadata={"help": "'one' sampled length per request, or 'all' samples"}
    )
    max_requests: int | None = field(default=None, metadata={"help": "replay only the first N of the stream"})
    history_only: bool = field(
        default=False, metadata={"help": "replay the history predictor alone (no head)"}
    )
    history: HistoryConfig = field(default_factory=HistoryConfig, metadata={"help": "window settings"})
    fusion: FusionConfig = field(
        default_factory=FusionConfig, metadata={"help": "fusion settings (fused mode)"}
    )
    paper_similarity_power: float = field(
        default=0.0,
        metadata={"help": "history mode: neighbour weight = similarity ** power (paper: 0, uniform)"},
    )
    online_recalibration: bool = field(
        default=False,
        metadata={"help": "also replay the head under online recalibration (mode 'head+online')"},
    )

    def __post_init__(self) -> None:
        if self.observe not in ("one", "all"):
            raise ValueError(f"observe must be 'one' or 'all', got {self.observe!r}")
        if self.block < 1:
            raise ValueError("block must be positive")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class OnlineResult:
    """Per-block and whole-stream metrics of each predictor over one replay."""

    config: OnlineConfig
    modes: list[str]
    n_requests: int
    blocks: dict[str, list[dict[str, Any]]]
    overall: dict[str, dict[str, Any]]
    neighbour_rate: list[float]
    seconds: float
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "config": self.config.to_dict(),
            "modes": self.modes,
            "n_requests": self.n_requests,
            "blocks": self.blocks,
            "overall": self.overall,
            "neighbour_rate": self.neighbour_rate,
            "seconds": round(self.seconds, 2),
            "data": self.data,
        }

    def requests_to_match(
        self, mode: str = "fused", reference: str = "head", key: str = "crps"
    ) -> int | None:
        """Requests seen at the end of the first block where ``mode`` beats ``reference`` on ``key`` and stays ahead."""
        lower_is_better = key != "kendall_tau"
        ahead = []
        for mine, ref in zip(self.blocks.get(mode, []), self.blocks.get(reference, []), strict=True):
            a, b = mine.get(key), ref.get(key)
            ahead.append(a is not None and b is not None and ((a < b) if lower_is_better else (a > b)))
        for i in range(len(ahead)):
            if all(ahead[i:]):
                return self.blocks[mode][i]["seen"]
        return None

    def save(self, directory: str | Path) -> Path:
        """Write ``online.json`` and ``online.png`` into ``directory``."""
        from sagepred.io import atomic_write_text

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        atomic_write_text(directory / ONLINE_JSON, json.dumps(self.to_dict(), indent=2) + "\n")
        plot_online(self, directory / ONLINE_PLOT)
        return directory


def _summary(metrics: dict[str, Any]) -> dict[str, Any]:
    return {k: metrics.get(k) for k in SUMMARY_KEYS}


def stream_order(n: int, seed: int) -> np.ndarray:
    """The seeded replay order of ``n`` records."""
    return np.random.default_rng(seed).permutation(n)


def replay(
    records: Sequence[LengthRecord],
    head: Any | None = None,
    config: OnlineConfig | None = None,
    embeddings: np.ndarray | None = None,
    token_counts: np.ndarray | None = None,
    warm_start: Sequence[LengthRecord] = (),
    encoder: Any | None = None,
) -> OnlineResult:
    """Replay ``records`` as a stream (see the module docstring) and score each predictor per block.

    ``embeddings`` / ``token_counts`` (aligned with ``records``) skip the encoder; ``warm_start``
    records fill the window before the stream starts (the paper's padding).
    """
    from sagepred.metrics import compute_metrics

    config = config or OnlineConfig()
    started = time.perf_counter()
    if len(records) == 0:
        raise ValueError("replay needs at least one record")
    if head is None and not config.history_only:
        raise ValueError("a replay with the head needs a head (or history_only=True)")
    modes = ["history"] if config.history_only else ["head", "history", "fused"]
    if config.online_recalibration and not config.history_only:
        modes.append(ONLINE_MODE)
    order = stream_order(len(records), config.seed)
    if config.max_requests is not None:
        order = order[: config.max_requests]
    stream = [records[i] for i in order]
    if encoder is None:
        encoder = head.encoder if head is not None else None
    if embeddings is None:
        if encoder is None:
            from sagepred.encoders import TextEncoder

            encoder = TextEncoder()
        from sagepred.encoders import EmbeddingCache

        embeddings = EmbeddingCache().encode(encoder, [r.prompt_text for r in stream])
    else:
        embeddings = np.asarray(embeddings, dtype=np.float32)[order]
    window = HistoryIndex(dataclasses.replace(config.history, dim=int(embeddings.shape[1])))
    fused = FusedPredictor(head, window, config.fusion) if head is not None else None
    paper_fusion = dataclasses.replace(
        config.fusion, mode="history", similarity_power=config.paper_similarity_power
    )
    paper = FusedPredictor(None, window, paper_fusion, encoder=encoder)
    if fused is not None:
        paper.edges = fused.edges
    if warm_start:
        paper.warm_start(list(warm_start))
    head_all: LengthDistribution | None = None
    if head is not None:
        if token_counts is None:
            token_counts = np.asarray(
                head.encoder.count_tokens([r.prompt_text for r in stream]), dtype=np.float32
            )
        else:
            token_counts = np.asarray(token_counts, dtype=np.float32)[order]
        head_all = head.predict_from_features(
            embeddings, token_counts, prompts=[r.prompt_text for r in stream]
        )
    rng = np.random.default_rng(config.seed + 1)
    rows: dict[str, list[LengthDistribution]] = {m: [] for m in modes if m != "head"}
    from sagepred.calibration import OnlineRecalibrator, apply_map, pit_midpoint

    online = OnlineRecalibrator() if ONLINE_MODE in modes else None
    found_any = np.zeros(len(stream), dtype=bool)
    for t, record in enumerate(stream):
        found = window.query(embeddings[t : t + 1])
        found_any[t] = bool(found.valid.any())
        rows["history"].append(paper.predict_from_features(embeddings[t : t + 1], neighbours=found))
        if fused is not None:
            rows["fused"].append(
                fused.predict_from_features(embeddings[t : t + 1], head_dist=head_all[t], neighbours=found)
            )
        if config.observe == "one":
            j = int(rng.integers(record.num_samples))
            lengths, censored = record.output_lens[j], record.censored[j]
        else:
            cap = config.history.max_samples
            lengths, censored = record.output_lens[:cap], record.censored[:cap]
        if online is not None:
            rows[ONLINE_MODE].append(apply_map(head_all[t], *online.mapping()))
            online.update(pit_midpoint(head_all[t], lengths, censored))
        if fused is not None:
            fused.observe(embeddings[t], lengths, censored, float(t), head_dist=head_all[t])
        else:
            window.observe(embeddings[t], lengths, censored, float(t))
    dists = {m: LengthDistribution.concat(parts) for m, parts in rows.items()}
    if head_all is not None:
        dists["head"] = head_all
    blocks: dict[str, list[dict[str, Any]]] = {m: [] for m in modes}
    rates = []
    for start in range(0, len(stream), config.block):
        stop = min(start + config.block, len(stream))
        rates.append(float(found_any[start:stop].mean()))
        for mode in modes:
            entry = _summary(compute_metrics(dists[mode][np.arange(start, stop)], stream[start:stop]))
            blocks[mode].append({"seen": stop, **entry})
    overall = {m: _summary(compute_metrics(dists[m], stream)) for m in modes}
    return OnlineResult(config, modes, len(stream), blocks, overall, rates, time.perf_counter() - started)


def plot_online(result: OnlineResult, path: str | Path) -> Path:
    """CRPS, Kendall τ and 80% coverage per block against requests seen, one line per predictor."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = (
        ("crps", "CRPS (tokens, lower is better)"),
        ("kendall_tau", "Kendall τ"),
        ("coverage_80", "80% coverage"),
    )
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    for ax, (key, title) in zip(axes, panels, strict=True):
        for mode in result.modes:
            seen = [b["seen"] for b in result.blocks[mode]]
            values = [np.nan if b[key] is None else b[key] for b in result.blocks[mode]]
            ax.plot(seen, values, marker="o", markersize=3, label=mode)
        if key == "coverage_80":
            ax.axhline(0.8, color="grey", linestyle=":", linewidth=1)
        ax.set_title(title)
        ax.set_xlabel("requests seen")
        ax.grid(alpha=0.3)
    axes[0].legend()
    fig.suptitle(
        f"online replay: {result.n_requests} requests, block {result.config.block}, observe={result.config.observe}"
    )
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def format_table(result: OnlineResult, keys: Sequence[str] = ("crps", "kendall_tau", "coverage_80")) -> str:
    """A plain-text table: one row per block, one column per (predictor, metric)."""
    header = ["seen", "nbr"] + [f"{m}:{k}" for m in result.modes for k in keys]
    lines = ["  ".join(f"{h:>16}" for h in header)]
    for i, rate in enumerate(result.neighbour_rate):
        cells = [str(result.blocks[result.modes[0]][i]["seen"]), f"{rate:.2f}"]
        for mode in result.modes:
            for key in keys:
                value = result.blocks[mode][i][key]
                cells.append("-" if value is None else f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}")
        lines.append("  ".join(f"{c:>16}" for c in cells))
    return "\n".join(lines)


def add_online_arguments(parser: Any) -> None:
    """The ``sagepred eval --online`` options (an argparse parser)."""
    from sagepred.argtypes import cosine_similarity, positive_float, positive_int, seed_int

    group = parser.add_argument_group("online replay (--online)")
    group.add_argument(
        "--online",
        action="store_true",
        help="replay --data as a seeded stream (predict, then observe each request) and score "
        "head-only, history-only and fused predictors over time (online.json, online.png)",
    )
    group.add_argument(
        "--history-only",
        action="store_true",
        help="with --online: replay SageSched's history predictor alone (no head needed)",
    )
    group.add_argument(
        "--seed", type=seed_int, default=0, help="stream order and observed-sample seed (default 0)"
    )
    group.add_argument(
        "--block", type=positive_int, default=200, help="requests per scoring block (default 200)"
    )
    group.add_argument(
        "--observe",
        choices=("one", "all"),
        default="one",
        help="feed one sampled length per request (default) or all of its samples",
    )
    group.add_argument(
        "--window", type=positive_int, default=10_000, help="history window size (default 10,000)"
    )
    group.add_argument(
        "--threshold", type=cosine_similarity, default=0.8, help="neighbour cosine similarity (default 0.8)"
    )
    group.add_argument(
        "--online-recalibration",
        action="store_true",
        help="also replay the head under online recalibration (adaptive conformal inference on the "
        "PIT levels, fed by the observed lengths): mode head+online",
    )
    group.add_argument(
        "--prior-strength",
        type=positive_float,
        default=4.0,
        help="the head's weight in pseudo-samples when fusing (default 4)",
    )


def run_online_command(args: Any, records: Sequence[LengthRecord], data: dict[str, Any]) -> int:
    """Body of ``sagepred eval --online``: replay, write ``online.json`` + ``online.png``, print a table."""
    from sagepred.errors import InputError

    head = None
    if not args.history_only:
        if args.checkpoint.startswith("baseline:"):
            raise InputError("--online needs a checkpoint folder (or --history-only)", field="--checkpoint")
        from sagepred.predictor import LengthPredictor

        head = LengthPredictor.from_pretrained(args.checkpoint)
    config = OnlineConfig(
        seed=args.seed,
        block=args.block,
        observe=args.observe,
        history_only=args.history_only,
        history=HistoryConfig(capacity=args.window, threshold=args.threshold),
        fusion=FusionConfig(prior_strength=args.prior_strength),
        online_recalibration=getattr(args, "online_recalibration", False),
    )
    result = replay(records, head, config)
    result.data = {**data, "checkpoint": None if args.history_only else args.checkpoint}
    folder = result.save(args.output)
    if getattr(args, "json", False):
        print(json.dumps(result.to_dict(), indent=2))
        return 0
    print(format_table(result))
    for mode in result.modes:
        print(
            f"{mode:>8}: "
            + ", ".join(f"{k} {v:.3f}" for k, v in result.overall[mode].items() if v is not None)
        )
    if head is not None:
        print(
            f"fused beats head on CRPS from request {result.requests_to_match('fused', 'head')}, "
            f"history-only from {result.requests_to_match('fused', 'history')}"
        )
    print(f"report: {folder / ONLINE_JSON}, {folder / ONLINE_PLOT}")
    return 0
