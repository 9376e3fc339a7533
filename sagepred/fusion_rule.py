"""The fusion rule: a prior distribution updated by neighbours' observed lengths (pure functions).

For a prompt with prior CDF ``F_head`` and neighbours ``i`` (similarity ``s_i``, observed length
samples ``y_ij``) the fused distribution is the mixture

    F = (α · F_head + Σ_ij w_i · G_ij) / (α + Σ_ij w_i),     w_i = s_i ** similarity_power,

where ``α`` is ``prior_strength`` (the prior's weight in pseudo-samples) and ``G_ij`` puts the sample's
mass uniformly on its histogram bin — on a histogram head this is exactly Dirichlet pseudo-counts on
the bins. A censored sample (``y ≥ c``) spreads its mass over the bins from ``c``'s upwards in
proportion to the prior's own mass there. For a quantile head the mixture is taken on the union of the
head's knots and the bin edges, so it stays exact. A prompt with no neighbour gets the prior unchanged.

SageSched's predictor (:func:`history_only`) is the neighbours' (weighted) histogram alone, padded up
to ``min_samples`` with a padding histogram (the window's global one).
"""

from __future__ import annotations

import numpy as np

from sagepred.distribution import LengthDistribution, bin_index
from sagepred.history import Neighbours


def evidence_counts(
    neighbours: Neighbours,
    edges: np.ndarray,
    similarity_power: float = 1.0,
    tail_probs: np.ndarray | None = None,
) -> np.ndarray:
    """``(n, K)`` weighted sample counts per bin.

    A censored sample's weight goes to the bins from its own upwards, in proportion to ``tail_probs``
    (``(n, K)`` or ``(K,)``, e.g. the head's bin probabilities); uniformly over them when absent or zero.
    """
    n, num_bins = len(neighbours), edges.shape[0] - 1
    counts = np.zeros((n, num_bins))
    mask = neighbours.sample_mask()
    if not mask.any():
        return counts
    weight = np.power(np.maximum(neighbours.similarity.astype(np.float64), 0.0), similarity_power)
    rows, slots, samples = np.nonzero(mask)
    lengths = neighbours.lengths[rows, slots, samples].astype(np.float64)
    w = weight[rows, slots]
    bins = bin_index(lengths, edges)
    cens = neighbours.censored[rows, slots, samples]
    np.add.at(counts, (rows[~cens], bins[~cens]), w[~cens])
    if cens.any():
        shape = np.broadcast_to(np.ones(num_bins) if tail_probs is None else tail_probs, (n, num_bins))
        for r, b, wt in zip(rows[cens], bins[cens], w[cens], strict=True):
            tail = np.asarray(shape[r, b:], dtype=np.float64)
            tail = tail if tail.sum() > 0 else np.ones_like(tail)
            counts[r, b:] += wt * tail / tail.sum()
    return counts


def bin_probs(dist: LengthDistribution, edges: np.ndarray) -> np.ndarray:
    """``(n, K)`` probability of each bin under ``dist`` (through its CDF at the edges)."""
    cdf = dist.cdf(np.asarray(edges, dtype=np.float64)[None, :])
    cdf[:, -1] = 1.0
    return np.maximum(np.diff(cdf, axis=1), 0.0)


def fuse(
    head: LengthDistribution, evidence: np.ndarray, edges: np.ndarray, prior_strength: float
) -> LengthDistribution:
    """The mixture ``(α · head + evidence) / (α + W)``; rows with no evidence are the head exactly.

    ``evidence`` is ``(n, K)`` weighted counts on the bins ``edges`` (uniform within a bin). With no
    evidence at all ``head`` itself is returned. For a quantile head in a batch where some rows have
    evidence, the others keep their knots and CDF values (padded with copies of the last knot), so
    ``cdf`` and ``quantile`` are bit-identical to the head's and moments agree to rounding.
    """
    edges = np.asarray(edges, dtype=np.float64)
    evidence = np.atleast_2d(np.asarray(evidence, dtype=np.float64))
    n = len(head)
    total = evidence.sum(axis=1)
    has = total > 0
    if not has.any():
        return head
    knots, cdf = head.row_knots, head.row_cdf
    cum_evidence = np.concatenate([np.zeros((n, 1)), np.cumsum(evidence, axis=1)], axis=1)
    alpha = float(prior_strength)
    if knots.shape[1] == edges.shape[0] and np.allclose(knots, edges[None, :], rtol=1e-6, atol=1e-6):
        fused = (alpha * cdf + cum_evidence) / (alpha + np.where(has, total, 1.0))[:, None]
        fused[:, -1] = 1.0
        out_cdf = np.where(has[:, None], np.minimum(fused, 1.0), cdf)
        return LengthDistribution(head.knots, out_cdf, kind=head.kind if not has.any() else "histogram")
    # general heads (quantile knots per row): mix on the union of the head's knots and the bin edges
    union = np.concatenate([knots, np.broadcast_to(edges, (n, edges.shape[0]))], axis=1)
    order = np.argsort(union, axis=1, kind="stable")
    union = np.take_along_axis(union, order, axis=1)
    head_at_edges = head.cdf(edges[None, :])
    head_at_union = np.take_along_axis(np.concatenate([cdf, head_at_edges], axis=1), order, axis=1)
    evid = LengthDistribution(edges[None, :], cum_evidence / np.where(has, total, 1.0)[:, None])
    evid_at_union = evid.cdf(union)
    fused = (alpha * head_at_union + total[:, None] * evid_at_union) / (alpha + total)[:, None]
    fused = np.minimum(np.maximum.accumulate(fused, axis=1), 1.0)
    fused[:, -1] = 1.0
    pad = union.shape[1] - knots.shape[1]
    head_knots = np.concatenate([knots, np.repeat(knots[:, -1:], pad, axis=1)], axis=1)
    head_cdf = np.concatenate([cdf, np.repeat(cdf[:, -1:], pad, axis=1)], axis=1)
    out_knots = np.where(has[:, None], union, head_knots)
    out_cdf = np.where(has[:, None], fused, head_cdf)
    return LengthDistribution(out_knots, out_cdf, kind=head.kind if not has.any() else "mixed")


def fuse_neighbours(
    prior: LengthDistribution,
    neighbours: Neighbours,
    edges: np.ndarray,
    prior_strength: float,
    similarity_power: float = 1.0,
) -> LengthDistribution:
    """:func:`fuse` of ``prior`` with the neighbours' evidence (censored samples' tails shaped by the prior)."""
    evidence = evidence_counts(neighbours, edges, similarity_power, bin_probs(prior, edges))
    return fuse(prior, evidence, edges, prior_strength)


def history_only(
    evidence: np.ndarray, edges: np.ndarray, padding: np.ndarray, min_samples: float
) -> LengthDistribution:
    """SageSched's predictor: the neighbours' histogram, padded with ``padding`` up to ``min_samples``."""
    evidence = np.atleast_2d(np.asarray(evidence, dtype=np.float64))
    padding = np.asarray(padding, dtype=np.float64)
    padding = (
        padding / padding.sum()
        if padding.sum() > 0
        else np.full(edges.shape[0] - 1, 1.0 / (edges.shape[0] - 1))
    )
    missing = np.maximum(float(min_samples) - evidence.sum(axis=1), 0.0)
    counts = evidence + missing[:, None] * padding[None, :]
    empty = counts.sum(axis=1) <= 0
    counts[empty] = padding
    return LengthDistribution.from_histogram(counts, edges)


def history_neighbours(
    neighbours: Neighbours,
    edges: np.ndarray,
    padding: np.ndarray,
    min_samples: float,
    similarity_power: float = 1.0,
) -> LengthDistribution:
    """:func:`history_only` of the neighbours' evidence (censored samples' tails shaped by ``padding``)."""
    evidence = evidence_counts(neighbours, edges, similarity_power, padding)
    return history_only(evidence, edges, padding, min_samples)
