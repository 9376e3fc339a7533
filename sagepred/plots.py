"""Calibration plots of one evaluation (PNG, matplotlib's Agg backend, no display needed).

Written into ``sagepred eval`` reports and logged to training runs (their ``report/`` artifacts).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from sagepred.metrics import BUCKET_WIDTH, NUM_BUCKETS, RELIABILITY_LEVELS, SampleScores, length_bucket

PLOT_FILES = {
    "pit": "pit_histogram.png",
    "reliability": "reliability.png",
    "crps_by_length": "crps_by_length.png",
    "scatter": "predicted_vs_observed.png",
}


def _figure():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _save(plt: Any, fig: Any, path: Path) -> None:
    """Lay out, write ``path`` as PNG and free the figure."""
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_pit(scores: SampleScores, path: Path, title: str) -> None:
    """PIT histogram (10 bins) against the uniform line."""
    plt = _figure()
    hist = scores.pit.histogram()
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.bar(np.arange(hist.size) / hist.size, hist, width=1 / hist.size, align="edge", edgecolor="white")
    ax.axhline(1 / hist.size, color="black", linestyle="--", linewidth=1, label="calibrated")
    ax.set(xlabel="PIT  F(y)", ylabel="share of samples", title=f"PIT histogram — {title}", xlim=(0, 1))
    ax.legend()
    _save(plt, fig, path)


def plot_reliability(scores: SampleScores, path: Path, title: str) -> None:
    """Observed frequency below each predicted quantile level against the level."""
    plt = _figure()
    levels = np.asarray(RELIABILITY_LEVELS)
    observed = scores.pit.cdf(levels)
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.plot([0, 1], [0, 1], color="black", linestyle="--", linewidth=1, label="calibrated")
    ax.plot(levels, observed, marker="o", label="observed")
    ax.set(
        xlabel="quantile level q",
        ylabel="share of samples below predicted q-quantile",
        title=f"Reliability — {title}",
        xlim=(0, 1),
        ylim=(0, 1),
    )
    ax.legend()
    _save(plt, fig, path)


def plot_crps_by_length(scores: SampleScores, path: Path, title: str) -> None:
    """Mean CRPS per true-length bucket (20 × 100 tokens, last open-ended) with sample counts."""
    plt = _figure()
    buckets = length_bucket(scores.samples.observed)
    counts = np.bincount(buckets, minlength=NUM_BUCKETS)
    sums = np.bincount(buckets, weights=scores.crps, minlength=NUM_BUCKETS)
    means = np.divide(sums, counts, out=np.full(NUM_BUCKETS, np.nan), where=counts > 0)
    labels = [f"{int(i * BUCKET_WIDTH)}" for i in range(NUM_BUCKETS)]
    labels[-1] += "+"
    fig, ax = plt.subplots(figsize=(8, 3.8))
    ax.bar(np.arange(NUM_BUCKETS), means)
    for i, count in enumerate(counts):
        if count:
            ax.text(i, means[i], str(count), ha="center", va="bottom", fontsize=7)
    ax.set_xticks(np.arange(NUM_BUCKETS), labels, rotation=60, fontsize=7)
    ax.set(
        xlabel="true length bucket (tokens; count above bar)",
        ylabel="mean CRPS (tokens)",
        title=f"CRPS by true length — {title}",
    )
    _save(plt, fig, path)


def plot_scatter(scores: SampleScores, path: Path, title: str) -> None:
    """Predicted mean against observed mean length per prompt (log axes) with the 80% band."""
    plt = _figure()
    predicted = np.maximum(scores.predicted_mean, 1.0)
    observed = np.maximum(scores.observed_mean, 1.0)
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.scatter(observed, predicted, s=6, alpha=0.4, linewidths=0)
    lo, hi = min(predicted.min(), observed.min()), max(predicted.max(), observed.max())
    ax.plot([lo, hi], [lo, hi], color="black", linestyle="--", linewidth=1)
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="observed mean length (tokens)",
        ylabel="predicted mean length (tokens)",
        title=f"Predicted vs observed — {title}",
    )
    _save(plt, fig, path)


def write_plots(scores: SampleScores, folder: Path, title: str) -> list[str]:
    """Write every plot into ``folder``; returns the file names."""
    folder.mkdir(parents=True, exist_ok=True)
    plot_pit(scores, folder / PLOT_FILES["pit"], title)
    plot_reliability(scores, folder / PLOT_FILES["reliability"], title)
    plot_crps_by_length(scores, folder / PLOT_FILES["crps_by_length"], title)
    plot_scatter(scores, folder / PLOT_FILES["scatter"], title)
    return list(PLOT_FILES.values())
