"""Heads: censored losses behave as 'at least c', quantiles stay monotone, outputs become distributions."""

from __future__ import annotations

import numpy as np
import torch

from sagepred.heads import DistributionHead, HeadConfig


def make_head(kind: str) -> DistributionHead:
    torch.manual_seed(0)
    return DistributionHead.create(HeadConfig(kind=kind, input_dim=8, hidden_dim=16, label_smoothing=0.0))


def test_histogram_censored_loss_is_tail_mass():
    head = make_head("histogram")
    logits = torch.zeros(1, head.config.num_bins)
    logits[0, -5:] = 4.0  # mass concentrated in the longest bins
    lengths = torch.tensor([[100.0]])
    mask = torch.ones(1, 1, dtype=torch.bool)
    censored_loss = head.loss(logits, lengths, torch.tensor([[True]]), mask)
    observed_loss = head.loss(logits, lengths, torch.tensor([[False]]), mask)
    probs = torch.softmax(logits, -1)[0]
    bin_of_100 = int(torch.searchsorted(head.edges, torch.tensor(100.0)) - 1)
    assert torch.isclose(censored_loss, -torch.log(probs[bin_of_100 + 1 :].sum()), atol=1e-5)
    assert censored_loss < observed_loss  # "at least 100" is likely under a long-tailed prediction


def test_quantile_censored_pinball_only_penalises_low_quantiles():
    head = make_head("quantile")
    outputs = torch.log1p(torch.linspace(10, 1000, head.config.num_quantiles)).unsqueeze(0)
    mask = torch.ones(1, 1, dtype=torch.bool)
    # censoring below every quantile costs nothing: the truth is consistent with all of them
    free = head.loss(outputs, torch.tensor([[5.0]]), torch.tensor([[True]]), mask)
    assert float(free) == 0.0
    charged = head.loss(outputs, torch.tensor([[5000.0]]), torch.tensor([[True]]), mask)
    uncensored = head.loss(outputs, torch.tensor([[5000.0]]), torch.tensor([[False]]), mask)
    assert float(charged) > 0 and torch.isclose(charged, uncensored)


def test_padding_samples_do_not_count():
    head = make_head("histogram")
    logits = torch.randn(2, head.config.num_bins)
    lengths = torch.tensor([[10.0, 99999.0], [50.0, 60.0]])
    mask = torch.tensor([[True, False], [True, True]])
    censored = torch.zeros_like(mask)
    reference = head.loss(
        logits,
        torch.tensor([[10.0, 10.0], [50.0, 60.0]]),
        censored,
        torch.tensor([[True, False], [True, True]]),
    )
    assert torch.isclose(head.loss(logits, lengths, censored, mask), reference)


def test_quantile_head_is_monotone_and_distribution_valid():
    head = make_head("quantile")
    out = head(torch.randn(5, 8), torch.tensor([10.0, 100.0, 1000.0, 1.0, 0.0]))
    assert torch.all(out[:, 1:] >= out[:, :-1])
    dist = head.distribution(out)
    grid = np.geomspace(1, 30000, 50)[None, :]
    assert np.all(np.diff(dist.cdf(grid), axis=1) >= -1e-12)


def test_histogram_head_distribution_matches_softmax():
    head = make_head("histogram")
    out = head(torch.randn(3, 8), torch.tensor([10.0, 100.0, 1000.0]))
    dist = head.distribution(out)
    np.testing.assert_allclose(dist.segment_probs(), torch.softmax(out, -1).detach().numpy(), atol=1e-6)


def make_ensemble(members: int = 3) -> DistributionHead:
    torch.manual_seed(0)
    config = HeadConfig(input_dim=8, hidden_dim=16, label_smoothing=0.0, dropout=0.0, members=members)
    return DistributionHead.create(config)


def test_an_ensemble_predicts_the_average_of_its_members_histograms():
    head = make_ensemble()
    head.eval()
    x, n = torch.randn(5, 8), torch.tensor([10.0, 50.0, 3.0, 900.0, 1.0])
    probs, _ = head.probabilities(head(x, n))
    inputs = torch.cat([x, torch.log1p(n).unsqueeze(-1) / np.log1p(32768)], dim=-1)
    members = [torch.softmax(mlp(inputs), dim=-1) for mlp in head.member_mlps]
    assert len(members) == 3
    assert not torch.allclose(members[0], members[1])  # independently initialised
    np.testing.assert_allclose(probs, torch.stack(members).mean(0).detach().numpy(), rtol=1e-5, atol=1e-7)


def test_an_ensemble_trains_each_member_on_its_own_loss():
    head = make_ensemble()
    head.train()
    x, n = torch.randn(4, 8), torch.full((4,), 20.0)
    lengths, censored = torch.full((4, 1), 300.0), torch.zeros(4, 1, dtype=torch.bool)
    mask = torch.ones(4, 1, dtype=torch.bool)
    outputs = head(x, n)
    assert outputs.shape == (3, 4, head.config.num_bins)
    per_member = [float(head.loss(o, lengths, censored, mask)) for o in outputs]
    assert np.isclose(float(head.loss(outputs, lengths, censored, mask)), np.mean(per_member), rtol=1e-6)
    # a member's own inputs: giving member 1 other inputs changes member 1 only
    other = torch.stack([x, torch.randn(4, 8), x])
    changed = head(other, n)
    assert torch.equal(changed[0], outputs[0]) and torch.equal(changed[2], outputs[2])
    assert not torch.equal(changed[1], outputs[1])


def test_the_quantile_head_has_no_ensemble():
    import pytest

    with pytest.raises(ValueError, match="histogram head"):
        DistributionHead.create(HeadConfig(kind="quantile", members=2))
    with pytest.raises(ValueError, match="at least 1"):
        DistributionHead.create(HeadConfig(members=0))
