"""Accuracy, calibration and ranking metrics of predicted output-length distributions.

The definitions are those of ``DESIGN.md`` ("Metrics"); every report, baseline comparison and model
card uses :func:`compute_metrics`. Every sample of a multi-sample record is scored against that
record's predicted distribution (one row of the :class:`LengthDistribution` per record).

Censored samples (a response cut at ``max_tokens``: the true length ``y`` is only known to satisfy
``y ≥ c``, the observed value) are never dropped silently. Each metric uses what is known:

* **CRPS** — the survival (threshold-weighted) form: only ``∫_{x<c} F(x)² dx`` is known, the part
  above ``c`` is unknown and left out. This is a lower bound of the sample's true CRPS.
* **pinball loss** and **MAE of the median** — the known part of the loss: ``q·max(c − Q, 0)`` and
  ``max(c − median, 0)`` (the true loss is at least that).
* **PIT**, its **KS distance**, **coverage** and **quantile reliability** — D-calibration (Haider et
  al., 2020): a censored sample's PIT is only known to lie in ``[F(c), 1]``, so it contributes mass
  spread uniformly on that interval (exact in expectation for a calibrated forecast).
* **bucket accuracy** — the observed bucket is known whenever ``c`` is in the open-ended last bucket;
  otherwise the sample counts as a miss when the predicted bucket lies below ``c``'s bucket and is
  excluded (counted in ``bucket_excluded``) when undetermined.
* **Kendall τ** — per prompt, on the mean of its samples with censored samples at ``c`` (a lower
  bound; censored prompts are the longest, so their rank is rarely affected).

``n_censored`` counts the censored samples in every result.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from sagepred.distribution import LengthDistribution
from sagepred.errors import InputError
from sagepred.records import LengthRecord

PINBALL_LEVELS: tuple[float, ...] = (0.1, 0.5, 0.9)
RELIABILITY_LEVELS: tuple[float, ...] = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95)
PIT_BINS = 10
BUCKET_WIDTH = 100.0
NUM_BUCKETS = 20
_CHUNK = 20_000


# ---------------------------------------------------------------------------- per-sample scores
def _segment_square_integral(a: np.ndarray, b: np.ndarray, fa: np.ndarray, fb: np.ndarray) -> np.ndarray:
    """∫_a^b g(x)² dx for g linear from ``fa`` at ``a`` to ``fb`` at ``b`` (0 where ``b ≤ a``)."""
    width = np.maximum(b - a, 0.0)
    return width * (fa * fa + fa * fb + fb * fb) / 3.0


def _crps_block(knots: np.ndarray, cdf: np.ndarray, y: np.ndarray, censored: np.ndarray) -> np.ndarray:
    """Exact (censored) CRPS for rows of piecewise-linear CDFs; all arrays have ``m`` rows."""
    x0, x1 = knots[:, :-1], knots[:, 1:]
    f0, f1 = cdf[:, :-1], cdf[:, 1:]
    width = x1 - x0
    positive = width > 0
    safe_width = np.where(positive, width, 1.0)
    yy = y[:, None]

    def f_at(points: np.ndarray) -> np.ndarray:
        t = np.where(positive, np.clip((points - x0) / safe_width, 0.0, 1.0), 0.0)
        return f0 + t * (f1 - f0)

    # the part of each segment below y: [x0, min(x1, y)], integrand F²
    hi = np.minimum(x1, yy)
    below = _segment_square_integral(x0, hi, f0, f_at(hi))
    # the part above y: [max(x0, y), x1], integrand (1 − F)²
    lo = np.maximum(x0, yy)
    above = _segment_square_integral(lo, x1, 1.0 - f_at(lo), 1.0 - f1)
    first, last = knots[:, 0], knots[:, -1]
    # outside the knots F is constant (F₀ below, F_J above); y beyond the support adds a flat piece
    below_tail = np.maximum(y - last, 0.0) * cdf[:, -1] ** 2
    above_tail = np.maximum(first - y, 0.0) * (1.0 - cdf[:, 0]) ** 2
    low = below.sum(axis=1) + below_tail
    high = above.sum(axis=1) + above_tail
    return np.where(censored, low, low + high)


def crps(
    dist: LengthDistribution,
    observed: np.ndarray,
    censored: np.ndarray | None = None,
    rows: np.ndarray | None = None,
) -> np.ndarray:
    """Exact CRPS in tokens, ``∫ (F(x) − 1{x ≥ y})² dx``, for the piecewise-linear CDFs of ``dist``.

    Args:
        dist: the predictions.
        observed: ``(m,)`` observed lengths ``y``.
        censored: ``(m,)`` flags; a censored sample (``y ≥ c``, ``c`` observed) scores
            ``∫_{x<c} F(x)² dx`` only (the survival CRPS; see the module docstring).
        rows: ``(m,)`` row of ``dist`` for each sample (default ``arange(m)``).

    Returns:
        ``(m,)`` CRPS per sample. The CDF is taken as ``F₀`` below the first knot and ``F_J`` above
        the last (0 and 1 for every distribution sagepred builds).
    """
    y = np.asarray(observed, dtype=np.float64).reshape(-1)
    cens = np.zeros(y.shape, dtype=bool) if censored is None else np.asarray(censored, dtype=bool).reshape(-1)
    rows = np.arange(y.shape[0]) if rows is None else np.asarray(rows, dtype=np.int64).reshape(-1)
    if rows.shape != y.shape or cens.shape != y.shape:
        raise ValueError("observed, censored and rows need the same length")
    knots, cdf = dist.row_knots, dist.row_cdf
    out = np.empty(y.shape[0])
    for start in range(0, y.shape[0], _CHUNK):
        sl = slice(start, start + _CHUNK)
        r = rows[sl]
        out[sl] = _crps_block(knots[r], cdf[r], y[sl], cens[sl])
    return out


def pinball_loss(
    predicted: np.ndarray, observed: np.ndarray, level: float, censored: np.ndarray | None = None
) -> np.ndarray:
    """Per-sample pinball (quantile) loss of predicted ``level``-quantiles.

    A censored sample contributes the known part ``level · max(c − Q, 0)``.
    """
    q = np.asarray(predicted, dtype=np.float64)
    y = np.asarray(observed, dtype=np.float64)
    diff = y - q
    loss = np.maximum(level * diff, (level - 1.0) * diff)
    if censored is not None:
        loss = np.where(np.asarray(censored, dtype=bool), level * np.maximum(diff, 0.0), loss)
    return loss


def length_bucket(
    lengths: np.ndarray, width: float = BUCKET_WIDTH, num_buckets: int = NUM_BUCKETS
) -> np.ndarray:
    """Bucket index of lengths: ``[0, width)``, ``[width, 2·width)``, …; the last bucket is open-ended."""
    return np.clip(np.floor(np.asarray(lengths, dtype=np.float64) / width), 0, num_buckets - 1).astype(
        np.int64
    )


@dataclass(frozen=True)
class PitValues:
    """PIT of every sample: exact ``F(y)`` when observed, the interval ``[F(c), 1]`` when censored."""

    lower: np.ndarray
    upper: np.ndarray

    @property
    def censored(self) -> np.ndarray:
        return self.upper > self.lower

    def cdf(self, t: np.ndarray | float) -> np.ndarray:
        """Empirical PIT CDF ``G(t)`` (censored samples spread uniformly over their interval)."""
        t = np.atleast_1d(np.asarray(t, dtype=np.float64))
        exact = ~self.censored
        values = np.sort(self.lower[exact])
        total = np.searchsorted(values, t, side="right").astype(np.float64)
        lo, hi = self.lower[~exact], self.upper[~exact]
        if lo.size:
            total += np.clip((t[:, None] - lo[None, :]) / (hi - lo)[None, :], 0.0, 1.0).sum(axis=1)
        return total / max(self.lower.size, 1)

    def histogram(self, bins: int = PIT_BINS) -> np.ndarray:
        """Fraction of the PIT mass in each of ``bins`` bins ``[a, b)`` of [0, 1] (the last bin is closed)."""
        edges = np.linspace(0.0, 1.0, bins + 1)
        g = self._left_limit(edges)
        g[-1] = self.cdf(1.0)[0]
        return np.diff(g)

    def _left_limit(self, t: np.ndarray) -> np.ndarray:
        exact = ~self.censored
        values = np.sort(self.lower[exact])
        total = np.searchsorted(values, t, side="left").astype(np.float64)
        lo, hi = self.lower[~exact], self.upper[~exact]
        if lo.size:
            total += np.clip((t[:, None] - lo[None, :]) / (hi - lo)[None, :], 0.0, 1.0).sum(axis=1)
        return total / max(self.lower.size, 1)

    def inside(self, low: float = 0.1, high: float = 0.9) -> np.ndarray:
        """Per sample, the probability that its PIT lies in ``[low, high]`` (0 or 1 when observed; the
        share of its interval when censored); the mean is the interval's coverage."""
        exact = ~self.censored
        span = np.where(exact, 1.0, self.upper - self.lower)
        part = np.clip((high - self.lower) / span, 0.0, 1.0) - np.clip((low - self.lower) / span, 0.0, 1.0)
        return np.where(exact, ((self.lower >= low) & (self.lower <= high)).astype(np.float64), part)

    def ks_distance(self) -> float:
        """``sup_t |G(t) − t|``, exact: ``G − t`` is piecewise linear between the breakpoints."""
        points = np.unique(np.concatenate([[0.0, 1.0], self.lower, self.upper]))
        points = points[(points >= 0.0) & (points <= 1.0)]
        right = np.abs(self.cdf(points) - points)
        left = np.abs(self._left_limit(points) - points)
        return float(max(right.max(), left.max()))


def pit_values(
    dist: LengthDistribution, observed: np.ndarray, censored: np.ndarray, rows: np.ndarray
) -> PitValues:
    """PIT ``F(y)`` per sample (``[F(c), 1]`` for censored samples)."""
    y = np.asarray(observed, dtype=np.float64)
    knots, cdf = dist.row_knots, dist.row_cdf
    f = np.empty(y.shape[0])
    for start in range(0, y.shape[0], _CHUNK):
        sl = slice(start, start + _CHUNK)
        f[sl] = LengthDistribution(knots[rows[sl]], cdf[rows[sl]]).cdf(y[sl])
    f = np.clip(f, 0.0, 1.0)
    cens = np.asarray(censored, dtype=bool)
    upper = np.where(cens, 1.0, f)
    lower = np.where(cens & (f >= 1.0), 1.0, f)
    return PitValues(lower=lower, upper=upper)


# ---------------------------------------------------------------------------- flattening records
@dataclass(frozen=True)
class Samples:
    """Every sample of a list of records, flattened (``rows[k]`` is the record of sample ``k``)."""

    observed: np.ndarray
    censored: np.ndarray
    rows: np.ndarray

    @classmethod
    def from_records(cls, records: Sequence[LengthRecord]) -> Samples:
        if len(records) == 0:
            raise InputError("no records to evaluate (the data set is empty)", field="output_lens")
        observed, censored, rows = [], [], []
        for i, record in enumerate(records):
            if not record.output_lens:
                raise InputError(
                    f"record {record.record_id or i} has no output lengths; every metric needs them",
                    field="output_lens",
                )
            observed.extend(record.output_lens)
            censored.extend(record.censored)
            rows.extend([i] * len(record.output_lens))
        return cls(np.asarray(observed, dtype=np.float64), np.asarray(censored, dtype=bool), np.asarray(rows))


@dataclass(frozen=True)
class SampleScores:
    """Per-sample and per-prompt quantities behind the summary metrics (used by reports and plots)."""

    samples: Samples
    crps: np.ndarray
    pit: PitValues
    quantiles: dict[float, np.ndarray]
    median: np.ndarray
    predicted_mean: np.ndarray
    observed_mean: np.ndarray


def score_samples(dist: LengthDistribution, records: Sequence[LengthRecord]) -> SampleScores:
    """Everything :func:`compute_metrics` summarises, per sample (and per prompt for the means)."""
    samples = Samples.from_records(records)
    if len(dist) != len(records):
        raise ValueError(f"{len(dist)} predicted rows for {len(records)} records")
    levels = sorted(set(PINBALL_LEVELS) | set(RELIABILITY_LEVELS))
    per_row = dist.quantile(np.asarray(levels)[None, :])
    quantiles = {q: per_row[samples.rows, j] for j, q in enumerate(levels)}
    observed_mean = np.array([r.mean_length for r in records], dtype=np.float64)
    return SampleScores(
        samples=samples,
        crps=crps(dist, samples.observed, samples.censored, samples.rows),
        pit=pit_values(dist, samples.observed, samples.censored, samples.rows),
        quantiles=quantiles,
        median=quantiles[0.5],
        predicted_mean=dist.mean(),
        observed_mean=observed_mean,
    )


# ---------------------------------------------------------------------------- summaries
def _finite(value: float) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def kendall_tau(predicted: np.ndarray, observed: np.ndarray) -> float | None:
    """Kendall τ-b; ``None`` when fewer than two prompts or either side is constant."""
    from scipy.stats import kendalltau

    predicted, observed = np.asarray(predicted), np.asarray(observed)
    if predicted.size < 2 or np.ptp(predicted) == 0 or np.ptp(observed) == 0:
        return None
    return _finite(kendalltau(predicted, observed).statistic)


COVERAGE_BOOTSTRAP = 1000
"""Resamples of the prompts behind ``coverage_80_ci95``."""


def coverage_interval(
    inside: np.ndarray,
    rows: np.ndarray,
    level: float = 0.95,
    resamples: int = COVERAGE_BOOTSTRAP,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap interval of a coverage, resampling prompts (a prompt's samples move together).

    ``inside`` is each sample's share inside the interval (:meth:`PitValues.inside`), ``rows`` its
    prompt. At about 170 prompts of one sample each the 95% interval of a perfectly calibrated 80%
    interval is 0.74–0.86: a zoo checkpoint's coverage can miss 0.80 ± 0.03 by chance alone.
    """
    _, prompt = np.unique(rows, return_inverse=True)
    hits = np.bincount(prompt, weights=inside)
    counts = np.bincount(prompt).astype(np.float64)
    n = hits.size
    if n < 2:
        value = float(hits.sum() / max(counts.sum(), 1.0))
        return value, value
    rng = np.random.default_rng(seed)
    batch = max(1, 4_000_000 // n)
    draws = []
    for start in range(0, resamples, batch):
        weights = rng.multinomial(n, np.full(n, 1.0 / n), size=min(batch, resamples - start)).astype(
            np.float64
        )
        draws.append(weights @ hits / (weights @ counts))
    values = np.concatenate(draws)
    tail = (1.0 - level) / 2.0
    return float(np.quantile(values, tail)), float(np.quantile(values, 1.0 - tail))


def _summarise(scores: SampleScores, sample_mask: np.ndarray, prompt_mask: np.ndarray) -> dict[str, Any]:
    s = scores.samples
    y, cens = s.observed[sample_mask], s.censored[sample_mask]
    pit = PitValues(scores.pit.lower[sample_mask], scores.pit.upper[sample_mask])
    median = scores.median[sample_mask]

    pinball = {
        str(q): float(pinball_loss(scores.quantiles[q][sample_mask], y, q, cens).mean())
        for q in PINBALL_LEVELS
    }
    mae = np.where(cens, np.maximum(y - median, 0.0), np.abs(y - median))

    pred_bucket, true_bucket = length_bucket(median), length_bucket(y)
    known = ~cens | (true_bucket == NUM_BUCKETS - 1) | (pred_bucket < true_bucket)
    hits = (pred_bucket == true_bucket) & known
    coverage = pit.inside().mean() if pit.lower.size else 0.0

    return {
        "crps": float(scores.crps[sample_mask].mean()),
        "pinball": pinball,
        "coverage_80": float(coverage),
        "pit_ks": pit.ks_distance(),
        "pit_histogram": [float(v) for v in pit.histogram()],
        "reliability": {str(q): float(pit.cdf(q)[0]) for q in RELIABILITY_LEVELS},
        "kendall_tau": kendall_tau(scores.predicted_mean[prompt_mask], scores.observed_mean[prompt_mask]),
        "mae_median": float(mae.mean()),
        "bucket_accuracy": float(hits.sum() / max(known.sum(), 1)),
        "bucket_excluded": int((~known).sum()),
        "mean_predicted": float(scores.predicted_mean[prompt_mask].mean()),
        "mean_observed": float(y.mean()),
        "n_prompts": int(prompt_mask.sum()),
        "n_samples": int(sample_mask.sum()),
        "n_censored": int(cens.sum()),
    }


def _group_labels(records: Sequence[LengthRecord], attribute: str) -> list[str | None]:
    labels = [getattr(r, attribute) for r in records]
    return [None if v in (None, "", "undefined") else str(v) for v in labels]


def summarise_scores(scores: SampleScores, records: Sequence[LengthRecord]) -> dict[str, Any]:
    """The metrics dictionary of :func:`compute_metrics` from precomputed per-sample scores."""
    rows = scores.samples.rows
    result = _summarise(scores, np.ones(rows.shape, dtype=bool), np.ones(len(records), dtype=bool))
    result["coverage_80_ci95"] = list(coverage_interval(scores.pit.inside(), rows))
    for key, attribute in (("by_dataset", "dataset"), ("by_category", "category")):
        labels = _group_labels(records, attribute)
        groups = sorted({label for label in labels if label is not None})
        if not groups:
            continue
        label_array = np.asarray([label if label is not None else "" for label in labels], dtype=object)
        result[key] = {}
        for group in groups:
            prompt_mask = label_array == group
            breakdown = _summarise(scores, prompt_mask[rows], prompt_mask)
            breakdown.pop("pit_histogram")
            breakdown.pop("reliability")
            result[key][group] = breakdown
    return result


def compute_metrics(dist: LengthDistribution, records: Sequence[LengthRecord]) -> dict[str, Any]:
    """Every metric of ``DESIGN.md`` for predictions ``dist`` (one row per record) on ``records``.

    Returns a JSON-ready dictionary with ``crps``, ``pinball`` (``"0.1"``, ``"0.5"``, ``"0.9"``),
    ``coverage_80`` (and ``coverage_80_ci95``, its 95% interval by prompt bootstrap; overall only),
    ``pit_ks``, ``pit_histogram`` (10 bins), ``reliability`` (observed frequency
    below each predicted quantile level), ``kendall_tau`` (``None`` if undefined), ``mae_median``,
    ``bucket_accuracy``, ``bucket_excluded``, ``mean_predicted``, ``mean_observed``, ``n_prompts``,
    ``n_samples``, ``n_censored``, and ``by_dataset`` / ``by_category`` breakdowns of the same
    metrics where records carry those labels. Censoring: see the module docstring.

    Raises:
        InputError: no records, or a record without output lengths.
        ValueError: ``dist`` has a different number of rows than ``records``.
    """
    return summarise_scores(score_samples(dist, records), records)
