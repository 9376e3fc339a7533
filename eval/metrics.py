"""Kept for imports written before the metrics moved to the core: use :mod:`sagepred.metrics`.

The metrics live in the core so that training (model cards) and evaluation share them without the
training layer importing this one (docs/architecture.md).
"""

from sagepred.metrics import (
    BUCKET_WIDTH,
    COVERAGE_BOOTSTRAP,
    NUM_BUCKETS,
    PINBALL_LEVELS,
    PIT_BINS,
    RELIABILITY_LEVELS,
    PitValues,
    Samples,
    SampleScores,
    compute_metrics,
    coverage_interval,
    crps,
    kendall_tau,
    length_bucket,
    pinball_loss,
    pit_values,
    score_samples,
    summarise_scores,
)

__all__ = [
    "BUCKET_WIDTH",
    "COVERAGE_BOOTSTRAP",
    "NUM_BUCKETS",
    "PINBALL_LEVELS",
    "PIT_BINS",
    "RELIABILITY_LEVELS",
    "PitValues",
    "SampleScores",
    "Samples",
    "compute_metrics",
    "coverage_interval",
    "crps",
    "kendall_tau",
    "length_bucket",
    "pinball_loss",
    "pit_values",
    "score_samples",
    "summarise_scores",
]
