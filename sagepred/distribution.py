"""Batched output-length distributions.

Every distribution here is a *piecewise-linear CDF* per row: knots ``x[n, j]`` (non-decreasing) with
cumulative probabilities ``F[n, j]`` (non-decreasing, from 0 to 1). Between knots the density is
uniform. The two forms a predictor emits are special cases that share this one implementation:

* **histogram** — fixed log-spaced bin edges shared by every row (``x`` has one row that broadcasts)
  and per-row bin probabilities (``F`` is their cumulative sum);
* **quantile** — fixed quantile levels shared by every row (``F`` has one row) and per-row knot
  values (``x``), with the tails extrapolated linearly to a support bound.

Everything is vectorised with numpy over the batch; a scheduler evaluates thousands of rows per step.
Conditioning (:meth:`LengthDistribution.condition`) and monotone transforms
(:meth:`LengthDistribution.map_support`, used for cost distributions) keep the piecewise-linear form.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

DEFAULT_MAX_LENGTH = 32768.0
QUANTILE_LEVELS_99 = np.round(np.arange(1, 100) / 100.0, 2)


def log_bin_edges(num_bins: int = 64, max_length: float = DEFAULT_MAX_LENGTH) -> np.ndarray:
    """Bin edges ``[0, 1, …, max_length]``: one bin for (0, 1], then log-spaced bins up to ``max_length``."""
    if num_bins < 2:
        raise ValueError("num_bins must be at least 2")
    return np.concatenate([[0.0], np.geomspace(1.0, max_length, num_bins)])


def bin_index(lengths: np.ndarray | Sequence[float], edges: np.ndarray) -> np.ndarray:
    """The bin of each length over ``edges`` (bin ``k`` is ``(edges[k], edges[k + 1]]``), clipped to the range."""
    lengths = np.asarray(lengths, dtype=np.float64)
    return np.clip(np.searchsorted(edges, lengths, side="left") - 1, 0, edges.shape[0] - 2)


def histogram_probs(lengths: np.ndarray | Sequence[float], edges: np.ndarray) -> np.ndarray:
    """``(K,)`` bin probabilities of the pooled ``lengths`` over ``edges`` (uniform when there are none)."""
    counts = np.bincount(bin_index(lengths, edges), minlength=edges.shape[0] - 1).astype(np.float64)
    total = counts.sum()
    return counts / total if total > 0 else np.full(counts.shape, 1.0 / counts.shape[0])


def _row_interp(y: np.ndarray, xp: np.ndarray, fp: np.ndarray) -> np.ndarray:
    """Per-row linear interpolation ``fp(xp)`` at ``y``; ``xp`` non-decreasing per row.

    ``y`` has shape (n, m), ``xp`` and ``fp`` shape (n, J) or (1, J). Outside ``xp`` the end values
    of ``fp`` are returned. Zero-width segments (repeated knots) are handled by taking the right limit.
    """
    n = max(y.shape[0], xp.shape[0], fp.shape[0])
    xp = np.broadcast_to(xp, (n, xp.shape[1]))
    fp = np.broadcast_to(fp, (n, fp.shape[1]))
    y = np.broadcast_to(y, (n, y.shape[1]))
    num_knots = xp.shape[1]
    # index of the first knot strictly greater than y, per row (searchsorted 'right' per row)
    idx = (xp[:, None, :] <= y[:, :, None]).sum(axis=2)
    hi = np.clip(idx, 1, num_knots - 1)
    lo = hi - 1
    rows = np.arange(n)[:, None]
    x0, x1 = xp[rows, lo], xp[rows, hi]
    f0, f1 = fp[rows, lo], fp[rows, hi]
    width = x1 - x0
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(width > 0, (y - x0) / np.where(width > 0, width, 1.0), 1.0)
    out = f0 + np.clip(t, 0.0, 1.0) * (f1 - f0)
    out = np.where(idx == 0, fp[:, :1], out)
    out = np.where(idx >= num_knots, fp[:, -1:], out)
    return out


@dataclass(frozen=True)
class LengthDistribution:
    """A batch of output-length distributions with piecewise-linear CDFs.

    Attributes:
        knots: ``(n, J)`` or ``(1, J)`` knot positions in tokens, non-decreasing along ``J``.
        cdf_at_knots: ``(n, J)`` or ``(1, J)`` CDF values at the knots, from 0 to 1.
        kind: ``"histogram"`` or ``"quantile"`` (how it was built; informational).
    """

    knots: np.ndarray
    cdf_at_knots: np.ndarray
    kind: str = "histogram"

    def __post_init__(self) -> None:
        knots = np.atleast_2d(np.asarray(self.knots, dtype=np.float64))
        probs = np.atleast_2d(np.asarray(self.cdf_at_knots, dtype=np.float64))
        if knots.shape[1] != probs.shape[1] or knots.shape[1] < 2:
            raise ValueError(f"knots {knots.shape} and cdf_at_knots {probs.shape} need the same J >= 2")
        if knots.shape[0] != probs.shape[0] and 1 not in (knots.shape[0], probs.shape[0]):
            raise ValueError(f"batch sizes differ: knots {knots.shape}, cdf_at_knots {probs.shape}")
        object.__setattr__(self, "knots", knots)
        object.__setattr__(self, "cdf_at_knots", probs)

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_histogram(cls, probs: np.ndarray, edges: np.ndarray) -> LengthDistribution:
        """Rows of bin probabilities ``(n, K)`` over shared ``edges`` ``(K + 1,)``; rows are renormalised."""
        probs = np.atleast_2d(np.asarray(probs, dtype=np.float64))
        edges = np.asarray(edges, dtype=np.float64)
        if edges.ndim != 1 or edges.shape[0] != probs.shape[1] + 1:
            raise ValueError(f"{probs.shape[1]} bins need {probs.shape[1] + 1} edges, got {edges.shape}")
        if np.any(np.diff(edges) <= 0):
            raise ValueError("bin edges must be strictly increasing")
        if np.any(probs < 0):
            raise ValueError("bin probabilities must be non-negative")
        total = probs.sum(axis=1, keepdims=True)
        if np.any(total <= 0):
            raise ValueError("every row needs positive total probability")
        cdf = np.concatenate([np.zeros((probs.shape[0], 1)), np.cumsum(probs / total, axis=1)], axis=1)
        cdf[:, -1] = 1.0
        return cls(edges[None, :], np.minimum(cdf, 1.0), kind="histogram")

    @classmethod
    def from_quantiles(
        cls,
        values: np.ndarray,
        levels: np.ndarray,
        min_length: float = 0.0,
        max_length: float = DEFAULT_MAX_LENGTH,
    ) -> LengthDistribution:
        """Rows of quantile values ``(n, M)`` at shared ``levels`` ``(M,)`` strictly inside (0, 1).

        Values are sorted per row (monotone quantiles). The tails below the first and above the
        last level are extrapolated linearly with the slope of the neighbouring segment, clipped to
        ``[min_length, max_length]``.
        """
        values = np.sort(np.atleast_2d(np.asarray(values, dtype=np.float64)), axis=1)
        levels = np.asarray(levels, dtype=np.float64)
        if levels.ndim != 1 or levels.shape[0] != values.shape[1] or levels.shape[0] < 2:
            raise ValueError(f"need one level per quantile column (>= 2), got {levels.shape}")
        if np.any(np.diff(levels) <= 0) or levels[0] <= 0 or levels[-1] >= 1:
            raise ValueError("levels must be strictly increasing inside (0, 1)")
        values = np.clip(values, min_length, max_length)
        low_slope = (values[:, 1] - values[:, 0]) / (levels[1] - levels[0])
        high_slope = (values[:, -1] - values[:, -2]) / (levels[-1] - levels[-2])
        lower = np.clip(values[:, 0] - low_slope * levels[0], min_length, values[:, 0])
        upper = np.clip(values[:, -1] + high_slope * (1 - levels[-1]), values[:, -1], max_length)
        knots = np.concatenate([lower[:, None], values, upper[:, None]], axis=1)
        cdf = np.concatenate([[0.0], levels, [1.0]])[None, :]
        return cls(knots, cdf, kind="quantile")

    @classmethod
    def from_samples(
        cls,
        samples: Sequence[Sequence[float]],
        edges: np.ndarray | None = None,
        weights: Sequence[Sequence[float]] | None = None,
        prior: np.ndarray | None = None,
        prior_strength: float = 0.0,
    ) -> LengthDistribution:
        """Empirical histograms of observed lengths per row over ``edges``.

        ``prior`` (bin probabilities, shape ``(K,)`` or ``(n, K)``) is added with weight
        ``prior_strength`` pseudo-samples; rows with no samples and no prior get a uniform histogram.
        """
        edges = log_bin_edges() if edges is None else np.asarray(edges, dtype=np.float64)
        num_bins = edges.shape[0] - 1
        counts = np.zeros((len(samples), num_bins))
        for i, row in enumerate(samples):
            row = np.asarray(row, dtype=np.float64)
            if row.size == 0:
                continue
            bins = bin_index(row, edges)
            w = np.ones_like(row) if weights is None else np.asarray(weights[i], dtype=np.float64)
            np.add.at(counts[i], bins, w)
        if prior is not None and prior_strength > 0:
            counts = counts + prior_strength * np.broadcast_to(
                np.asarray(prior, dtype=np.float64), counts.shape
            )
        empty = counts.sum(axis=1) <= 0
        counts[empty] = 1.0
        return cls.from_histogram(counts, edges)

    @classmethod
    def tiled_histogram(cls, probs: np.ndarray, edges: np.ndarray, n: int) -> LengthDistribution:
        """The same histogram (bin probabilities ``(K,)`` over ``edges``) for ``n`` rows.

        The knots stay one shared row; the CDF is repeated, so every row can be indexed and updated.
        """
        single = cls.from_histogram(np.asarray(probs, dtype=np.float64)[None, :], edges)
        return cls(single.knots, np.repeat(single.cdf_at_knots, n, axis=0), kind="histogram")

    @classmethod
    def concat(cls, parts: Sequence[LengthDistribution]) -> LengthDistribution:
        """Stack distributions into one batch.

        Rows with fewer knots are padded with copies of their last knot (zero-mass segments), which
        leaves every row's distribution unchanged.
        """
        width = max(p.knots.shape[1] for p in parts)

        def padded(values: np.ndarray) -> np.ndarray:
            return np.concatenate(
                [values, np.repeat(values[:, -1:], width - values.shape[1], axis=1)], axis=1
            )

        knots = np.concatenate([padded(p.row_knots) for p in parts])
        cdf = np.concatenate([padded(p.row_cdf) for p in parts])
        kinds = {p.kind for p in parts}
        return cls(knots, cdf, kind=kinds.pop() if len(kinds) == 1 else "mixed")

    # ------------------------------------------------------------------ basic queries
    def __len__(self) -> int:
        return max(self.knots.shape[0], self.cdf_at_knots.shape[0])

    @property
    def row_knots(self) -> np.ndarray:
        """``(n, J)`` knots, one row per distribution (a read-only broadcast view of shared knots)."""
        return np.broadcast_to(self.knots, (len(self), self.knots.shape[1]))

    @property
    def row_cdf(self) -> np.ndarray:
        """``(n, J)`` CDF values at the knots, one row per distribution (a read-only view)."""
        return np.broadcast_to(self.cdf_at_knots, (len(self), self.cdf_at_knots.shape[1]))

    def __getitem__(self, index: int | slice | np.ndarray) -> LengthDistribution:
        if isinstance(index, int | np.integer):
            index = [int(index)]
        rows = np.arange(len(self))[index]
        knots = self.knots if self.knots.shape[0] == 1 else self.knots[rows]
        cdf = self.cdf_at_knots if self.cdf_at_knots.shape[0] == 1 else self.cdf_at_knots[rows]
        if knots.shape[0] == 1 and cdf.shape[0] == 1 and rows.size != 1:
            knots = np.repeat(knots, rows.size, axis=0)
        return LengthDistribution(knots, cdf, kind=self.kind)

    def _as_columns(self, values: np.ndarray | float) -> tuple[np.ndarray, bool]:
        values = np.asarray(values, dtype=np.float64)
        if values.ndim == 0:
            return np.full((len(self), 1), float(values)), True
        if values.ndim == 1:
            if values.shape[0] != len(self):
                raise ValueError(
                    f"a 1-D argument holds one value per row: expected {len(self)}, got {values.shape[0]}"
                )
            return values[:, None], True
        if values.ndim == 2 and values.shape[0] in (1, len(self)):
            return np.broadcast_to(values, (len(self), values.shape[1])), False
        raise ValueError(
            f"expected a scalar, shape ({len(self)},), (1, m) or ({len(self)}, m); got {values.shape}"
        )

    def cdf(self, lengths: np.ndarray | float) -> np.ndarray:
        """P(L ≤ length).

        A scalar or a ``(n,)`` array (one length per row) gives ``(n,)``; a ``(1, m)`` grid shared by
        all rows or an ``(n, m)`` array gives ``(n, m)``.
        """
        y, squeeze = self._as_columns(lengths)
        out = _row_interp(y, self.knots, self.cdf_at_knots)
        return out[:, 0] if squeeze else out

    def quantile(self, levels: np.ndarray | float) -> np.ndarray:
        """Left-continuous inverse CDF (smallest length with ``F >= level``); shape rules as :meth:`cdf`."""
        q, squeeze = self._as_columns(levels)
        if np.any((q < 0) | (q > 1)):
            raise ValueError("quantile levels must lie in [0, 1]")
        cdf, knots = self.row_cdf, self.row_knots
        num_knots = cdf.shape[1]
        idx = (cdf[:, None, :] < q[:, :, None]).sum(axis=2)
        hi = np.clip(idx, 1, num_knots - 1)
        lo = hi - 1
        rows = np.arange(len(self))[:, None]
        f0, f1 = cdf[rows, lo], cdf[rows, hi]
        x0, x1 = knots[rows, lo], knots[rows, hi]
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.where(f1 > f0, (q - f0) / np.where(f1 > f0, f1 - f0, 1.0), 0.0)
        out = x0 + np.clip(t, 0.0, 1.0) * (x1 - x0)
        # a segment a few ulps wide is a point mass: rounding inside it could land left of the mass
        vertical = (t > 0) & (x1 - x0 <= 8 * np.spacing(np.abs(x1)))
        out = np.where(vertical, x1, out)
        out = np.where(idx == 0, knots[:, :1], out)
        return out[:, 0] if squeeze else out

    def segment_probs(self) -> np.ndarray:
        """``(n, J - 1)`` probability mass of each segment between consecutive knots."""
        return np.diff(self.row_cdf, axis=1)

    def mean(self) -> np.ndarray:
        """Expected length per row, ``(n,)`` (exact for the piecewise-uniform density)."""
        knots = self.row_knots
        mids = 0.5 * (knots[:, 1:] + knots[:, :-1])
        return (self.segment_probs() * mids).sum(axis=1)

    def second_moment(self) -> np.ndarray:
        """E[L²] per row (exact: a uniform segment [a, b] contributes (a² + ab + b²) / 3)."""
        knots = self.row_knots
        a, b = knots[:, :-1], knots[:, 1:]
        return (self.segment_probs() * (a * a + a * b + b * b) / 3.0).sum(axis=1)

    def std(self) -> np.ndarray:
        """Standard deviation per row."""
        return np.sqrt(np.maximum(self.second_moment() - self.mean() ** 2, 0.0))

    def sample(self, num_samples: int = 1, rng: np.random.Generator | int | None = None) -> np.ndarray:
        """``(n, num_samples)`` draws by inverse-CDF sampling."""
        rng = np.random.default_rng(rng)
        return self.quantile(rng.uniform(size=(len(self), num_samples)))

    # ------------------------------------------------------------------ transforms
    def condition(self, age: np.ndarray | float, exhausted_horizon: float = 16.0) -> LengthDistribution:
        """Distribution of the *remaining* length ``L − age`` given ``L > age`` (per-row ages).

        Where the prediction leaves no mass above ``age`` (the request outlived its prediction),
        the remaining length is taken as uniform on ``(0, max(age, exhausted_horizon)]``: the longer
        a request has run past its forecast, the longer it is assumed to keep running.
        """
        age = np.broadcast_to(np.asarray(age, dtype=np.float64).reshape(-1), (len(self),))[:, None]
        knots, cdf = self.row_knots, self.row_cdf
        f_age = _row_interp(age, knots, cdf)
        survival = 1.0 - f_age
        alive = survival[:, 0] > 1e-9
        with np.errstate(divide="ignore", invalid="ignore"):
            new_cdf = np.clip((cdf - f_age) / np.where(alive[:, None], survival, 1.0), 0.0, 1.0)
        new_knots = np.maximum(knots - age, 0.0)
        new_cdf[:, -1] = 1.0
        if not np.all(alive):
            horizon = np.maximum(age[~alive, 0], exhausted_horizon)
            j = knots.shape[1]
            new_knots[~alive] = np.linspace(0.0, 1.0, j)[None, :] * horizon[:, None]
            new_cdf[~alive] = np.linspace(0.0, 1.0, j)[None, :]
        return LengthDistribution(new_knots, new_cdf, kind=self.kind)

    def survival_at(self, age: np.ndarray | float) -> np.ndarray:
        """P(L > age) per row."""
        age = np.broadcast_to(np.asarray(age, dtype=np.float64).reshape(-1), (len(self),))
        return 1.0 - self.cdf(age)

    def map_support(self, fn: Callable[[np.ndarray], np.ndarray]) -> LengthDistribution:
        """Push the knots through a non-decreasing ``fn`` (exact at the knots; e.g. length → cost).

        ``fn`` receives the ``(n, J)`` knot array and must return the same shape.
        """
        knots = self.row_knots
        mapped = np.asarray(fn(knots), dtype=np.float64)
        if mapped.shape != knots.shape:
            raise ValueError(f"map_support: fn returned shape {mapped.shape}, expected {knots.shape}")
        return LengthDistribution(np.maximum.accumulate(mapped, axis=1), self.cdf_at_knots, kind=self.kind)

    def to_dicts(self, summary: bool = True) -> list[dict[str, Any]]:
        """Every row in the wire format of a prediction (what ``sagepred predict`` writes, one per line).

        ``knots`` and ``cdf`` reproduce the row exactly (:meth:`from_dict`); with ``summary`` the object
        also holds what people read: ``mean`` and the quantiles at ``levels`` 0.01 … 0.99 (rounded to
        0.01 token), plus ``kind``. Without it, just ``knots`` and ``cdf`` (the vLLM ``vllm_xargs`` form).
        """
        knots, cdf = self.row_knots, self.row_cdf
        rows: list[dict[str, Any]] = [
            {"knots": k.tolist(), "cdf": c.tolist()} for k, c in zip(knots, cdf, strict=True)
        ]
        if not summary:
            return rows
        means = np.round(self.mean(), 2)
        quantiles = np.round(self.quantile(QUANTILE_LEVELS_99[None, :]), 2)
        levels = QUANTILE_LEVELS_99.tolist()
        return [
            {"mean": float(m), "levels": levels, "quantiles": q.tolist(), "kind": self.kind, **row}
            for m, q, row in zip(means, quantiles, rows, strict=True)
        ]

    def to_dict(self, index: int = 0, summary: bool = True) -> dict[str, Any]:
        """Row ``index`` in the wire format (see :meth:`to_dicts`); :meth:`from_dict` reads it back exactly."""
        return self[index].to_dicts(summary)[0]

    @classmethod
    def from_dict(cls, payload: Mapping[str, Any]) -> LengthDistribution:
        """One row from the wire format: exact from ``knots`` + ``cdf``, else from ``levels`` + ``quantiles``.

        Other keys (``id``, ``mean``, ``kind``) are informational. Raises ``ValueError`` on lists of
        different lengths, non-finite or negative lengths, decreasing values, or a CDF not ending at 1.
        """
        if "knots" in payload or "cdf" in payload:
            knots = _vector(payload, "knots")
            cdf = _vector(payload, "cdf")
            if knots.shape != cdf.shape or knots.size < 2:
                raise ValueError("'knots' and 'cdf' must be lists of the same length (>= 2)")
            if np.any(np.diff(knots) < 0) or np.any(np.diff(cdf) < -1e-12) or not np.isclose(cdf[-1], 1.0):
                raise ValueError("'knots' and 'cdf' must be non-decreasing and 'cdf' must end at 1")
            if knots[0] < 0 or cdf[0] < -1e-12:
                raise ValueError("'knots' and 'cdf' must be non-negative")
            kind = payload.get("kind")
            return cls(knots[None, :], cdf[None, :], kind=kind if isinstance(kind, str) else "histogram")
        if "levels" in payload or "quantiles" in payload:
            levels = _vector(payload, "levels")
            values = _vector(payload, "quantiles")
            if levels.shape != values.shape:
                raise ValueError("'levels' and 'quantiles' must be lists of the same length")
            if np.any(values < 0):
                raise ValueError("'quantiles' must be non-negative")
            return cls.from_quantiles(
                values[None, :], levels, max_length=max(DEFAULT_MAX_LENGTH, values.max())
            )
        raise ValueError("a prediction needs 'knots' and 'cdf' (or 'levels' and 'quantiles')")


def _vector(payload: Mapping[str, Any], key: str) -> np.ndarray:
    """``payload[key]`` as a finite 1-D float array (``ValueError`` naming the key otherwise)."""
    if key not in payload:
        raise ValueError(f"missing {key!r}")
    try:
        values = np.asarray(payload[key], dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{key!r} must be a list of numbers") from None
    if values.ndim != 1 or not np.all(np.isfinite(values)):
        raise ValueError(f"{key!r} must be a flat list of finite numbers")
    return values
