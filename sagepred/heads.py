"""Distribution heads: a small MLP from (prompt embedding, prompt-length feature) to a length distribution.

* :class:`HistogramHead` — logits over fixed log-spaced bins; trained with the (censored)
  negative log-likelihood: an observed length scores its bin, a censored one the mass above it.
* :class:`QuantileHead` — monotone quantiles of ``log(1 + length)`` at fixed levels (a first value
  plus cumulative softplus increments); trained with the pinball loss, censored samples with the
  censored pinball loss (only quantiles below the censoring point are penalised).

Both take the same inputs and return a :class:`~sagepred.distribution.LengthDistribution` through
:meth:`DistributionHead.distribution`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from torch import nn

from sagepred.distribution import DEFAULT_MAX_LENGTH, LengthDistribution, log_bin_edges

LENGTH_FEATURE_SCALE = math.log1p(DEFAULT_MAX_LENGTH)


def length_feature(prompt_lens: torch.Tensor) -> torch.Tensor:
    """The prompt-length feature: ``log(1 + tokens) / log(1 + 32768)``, shape ``(batch, 1)``."""
    return (torch.log1p(prompt_lens.float().clamp(min=0)) / LENGTH_FEATURE_SCALE).unsqueeze(-1)


@dataclass
class HeadConfig:
    """Settings of a distribution head (saved in the checkpoint's ``config.json``)."""

    kind: str = field(default="histogram", metadata={"help": "'histogram' or 'quantile'"})
    input_dim: int = field(default=384, metadata={"help": "encoder embedding size"})
    hidden_dim: int = field(default=256, metadata={"help": "hidden width of the MLP"})
    num_layers: int = field(default=2, metadata={"help": "hidden layers of the MLP"})
    dropout: float = field(default=0.1, metadata={"help": "dropout between hidden layers"})
    num_bins: int = field(default=48, metadata={"help": "histogram: log-spaced bins from 1 to max_length"})
    max_length: float = field(default=16384.0, metadata={"help": "largest length the head can express"})
    label_smoothing: float = field(
        default=1.0,
        metadata={
            "help": "histogram: Gaussian smoothing of the target over neighbouring bins (in bins; 0 = none)"
        },
    )
    num_quantiles: int = field(default=49, metadata={"help": "quantile: levels 1/(M+1) … M/(M+1)"})
    crps_weight: float = field(
        default=0.0,
        metadata={"help": "histogram: weight of a CRPS term on the log-length grid added to the NLL"},
    )
    members: int = field(
        default=1,
        metadata={
            "help": "histogram: independently initialised MLPs, each trained on its own loss, whose "
            "histograms are averaged (a deep ensemble; their disagreement widens the distribution)"
        },
    )

    def __post_init__(self) -> None:
        checks = {
            "kind": self.kind in ("histogram", "quantile"),
            "input_dim": _whole(self.input_dim) and self.input_dim >= 1,
            "hidden_dim": _whole(self.hidden_dim) and self.hidden_dim >= 1,
            "num_layers": _whole(self.num_layers) and self.num_layers >= 0,
            "dropout": _number(self.dropout) and 0 <= self.dropout < 1,
            "num_bins": _whole(self.num_bins) and self.num_bins >= 2,
            "max_length": _number(self.max_length) and self.max_length > 1,
            "label_smoothing": _number(self.label_smoothing) and self.label_smoothing >= 0,
            "num_quantiles": _whole(self.num_quantiles) and self.num_quantiles >= 1,
            "crps_weight": _number(self.crps_weight) and self.crps_weight >= 0,
            "members": _whole(self.members) and self.members >= 1,
        }
        bad = [name for name, ok in checks.items() if not ok]
        if bad:
            raise ValueError(
                "head settings out of range: "
                + ", ".join(f"{name}={getattr(self, name)!r}" for name in bad)
                + " (kind histogram or quantile; sizes and counts at least 1, num_bins at least 2, "
                "max_length above 1, dropout in [0, 1))"
            )

    def to_dict(self) -> dict:
        return asdict(self)


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _mlp(config: HeadConfig, out_dim: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    width = config.input_dim + 1
    for _ in range(config.num_layers):
        layers += [nn.Linear(width, config.hidden_dim), nn.GELU(), nn.Dropout(config.dropout)]
        width = config.hidden_dim
    layers.append(nn.Linear(width, out_dim))
    return nn.Sequential(*layers)


class DistributionHead(nn.Module):
    """Common interface of the heads."""

    config: HeadConfig

    def loss(
        self, outputs: torch.Tensor, lengths: torch.Tensor, censored: torch.Tensor, mask: torch.Tensor
    ) -> torch.Tensor:
        """Mean loss over the valid samples. ``lengths``, ``censored``, ``mask``: ``(batch, samples)``."""
        raise NotImplementedError

    def distribution(self, outputs: torch.Tensor) -> LengthDistribution:
        """Turn raw outputs ``(batch, ·)`` into distributions."""
        raise NotImplementedError

    @staticmethod
    def create(config: HeadConfig) -> DistributionHead:
        """Build the head named by ``config.kind``."""
        if config.kind == "histogram":
            return HistogramHead(config)
        if config.kind == "quantile":
            return QuantileHead(config)
        raise ValueError(f"unknown head kind {config.kind!r} (expected 'histogram' or 'quantile')")


class HistogramHead(DistributionHead):
    """Logits over ``num_bins`` bins: one for (0, 1] and log-spaced ones up to ``max_length``.

    With ``config.members`` > 1 the head is a deep ensemble: ``mlp`` is the first member and
    ``more_members`` the others. In training mode :meth:`forward` returns every member's logits
    ``(members, batch, bins)`` and :meth:`loss` averages the members' own losses (each member learns on
    its own); in eval mode it returns the mixture's log-probabilities ``(batch, bins)``, so a softmax of
    the output is the average of the members' histograms.
    """

    def __init__(self, config: HeadConfig) -> None:
        super().__init__()
        if config.members < 1:
            raise ValueError(f"members must be at least 1, got {config.members}")
        self.config = config
        self.mlp = _mlp(config, config.num_bins)
        self.more_members = nn.ModuleList(_mlp(config, config.num_bins) for _ in range(config.members - 1))
        edges = torch.tensor(log_bin_edges(config.num_bins, config.max_length), dtype=torch.float32)
        self.register_buffer("edges", edges, persistent=False)

    @property
    def member_mlps(self) -> list[nn.Sequential]:
        """Every member's MLP, the first one first."""
        return [self.mlp, *self.more_members]

    def forward(
        self, embeddings: torch.Tensor, prompt_lens: torch.Tensor, scale: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Logits from ``embeddings`` ``(batch, dim)``, or ``(members, batch, dim)`` to give each member
        inputs of its own; ``scale`` (``(batch, 1)``, an inverse temperature) multiplies each member's
        logits before the members are mixed."""
        feature = length_feature(prompt_lens)
        if embeddings.dim() == 3:
            if len(embeddings) != self.config.members:
                raise ValueError(f"inputs for {len(embeddings)} members, the head has {self.config.members}")
            feature = feature.expand(len(embeddings), -1, -1)
        inputs = torch.cat([embeddings, feature], dim=-1)
        if not self.more_members:
            logits = self.mlp(inputs[0] if inputs.dim() == 3 else inputs)
            return logits if scale is None else logits * scale
        logits = self._member_logits(inputs, scale)
        if self.training:
            return logits
        return torch.logsumexp(torch.log_softmax(logits, dim=-1), dim=0) - math.log(len(logits))

    def member_logits(
        self, embeddings: torch.Tensor, prompt_lens: torch.Tensor, scale: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Every member's logits ``(members, batch, bins)``, in any mode (inputs as :meth:`forward`'s)."""
        feature = length_feature(prompt_lens)
        if embeddings.dim() == 3:
            feature = feature.expand(len(embeddings), -1, -1)
        return self._member_logits(torch.cat([embeddings, feature], dim=-1), scale)

    def _member_logits(self, inputs: torch.Tensor, scale: torch.Tensor | None) -> torch.Tensor:
        member_inputs = inputs if inputs.dim() == 3 else [inputs] * self.config.members
        logits = torch.stack([mlp(x) for mlp, x in zip(self.member_mlps, member_inputs, strict=True)])
        return logits if scale is None else logits * scale

    def _bin_index(self, lengths: torch.Tensor) -> torch.Tensor:
        return (torch.searchsorted(self.edges, lengths.float(), right=False) - 1).clamp(
            0, self.config.num_bins - 1
        )

    def loss(
        self, outputs: torch.Tensor, lengths: torch.Tensor, censored: torch.Tensor, mask: torch.Tensor
    ) -> torch.Tensor:
        if outputs.dim() == 3:
            return torch.stack([self.loss(member, lengths, censored, mask) for member in outputs]).mean()
        log_probs = torch.log_softmax(outputs, dim=-1)
        bins = self._bin_index(lengths)
        centres = torch.arange(self.config.num_bins, device=outputs.device, dtype=outputs.dtype)
        if self.config.label_smoothing > 0:
            distance = centres.view(1, 1, -1) - bins.unsqueeze(-1).to(outputs.dtype)
            kernel = torch.exp(-0.5 * (distance / self.config.label_smoothing) ** 2)
            target = kernel / kernel.sum(dim=-1, keepdim=True)
            observed = -(target * log_probs.unsqueeze(1)).sum(dim=-1)
        else:
            observed = -log_probs.gather(1, bins)
        above = centres.view(1, 1, -1) > bins.unsqueeze(-1).to(outputs.dtype)
        tail = torch.logsumexp(log_probs.unsqueeze(1).masked_fill(~above, -torch.inf), dim=-1)
        censored_loss = -torch.where(torch.isfinite(tail), tail, torch.zeros_like(tail))
        per_sample = torch.where(censored, censored_loss, observed)
        if self.config.crps_weight > 0:
            per_sample = per_sample + self.config.crps_weight * self._log_grid_crps(log_probs, bins, censored)
        weights = mask.to(outputs.dtype)
        return (per_sample * weights).sum() / weights.sum().clamp(min=1.0)

    def _log_grid_crps(
        self, log_probs: torch.Tensor, bins: torch.Tensor, censored: torch.Tensor
    ) -> torch.Tensor:
        """CRPS of log-length on the bin grid (every bin one unit wide); censored: only below c counts."""
        cdf = torch.cumsum(log_probs.exp(), dim=-1).unsqueeze(1)
        index = torch.arange(self.config.num_bins, device=log_probs.device).view(1, 1, -1)
        step = (index >= bins.unsqueeze(-1)).to(cdf.dtype)
        squared = (cdf - step) ** 2
        known = ~(censored.unsqueeze(-1) & (index >= bins.unsqueeze(-1)))
        return (squared * known).sum(dim=-1) / self.config.num_bins * 4.0

    def probabilities(self, outputs: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        """``(probs (n, bins), edges (bins + 1,))`` of raw outputs, float64."""
        probs = torch.softmax(outputs.detach().float(), dim=-1)
        if probs.dim() == 3:
            probs = probs.mean(dim=0)
        probs = probs.cpu().numpy().astype(np.float64)
        return probs, self.edges.cpu().numpy().astype(np.float64)

    def distribution(self, outputs: torch.Tensor) -> LengthDistribution:
        return LengthDistribution.from_histogram(*self.probabilities(outputs))


class QuantileHead(DistributionHead):
    """Monotone quantiles of ``log(1 + length)`` at ``num_quantiles`` evenly spaced levels."""

    def __init__(self, config: HeadConfig) -> None:
        super().__init__()
        if config.members != 1:
            raise ValueError(
                "an ensemble (members > 1) needs the histogram head; the quantile head has one MLP"
            )
        self.config = config
        self.mlp = _mlp(config, config.num_quantiles)
        levels = torch.arange(1, config.num_quantiles + 1, dtype=torch.float32) / (config.num_quantiles + 1)
        self.register_buffer("levels", levels, persistent=False)

    def forward(self, embeddings: torch.Tensor, prompt_lens: torch.Tensor) -> torch.Tensor:
        raw = self.mlp(torch.cat([embeddings, length_feature(prompt_lens)], dim=-1))
        start = raw[:, :1] + 5.0
        steps = nn.functional.softplus(raw[:, 1:]) * 0.1
        return torch.cat([start, start + torch.cumsum(steps, dim=-1)], dim=-1)

    def loss(
        self, outputs: torch.Tensor, lengths: torch.Tensor, censored: torch.Tensor, mask: torch.Tensor
    ) -> torch.Tensor:
        target = torch.log1p(lengths.float()).unsqueeze(-1)
        error = target - outputs.unsqueeze(1)
        levels = self.levels.view(1, 1, -1)
        pinball = torch.maximum(levels * error, (levels - 1) * error)
        censored_pinball = levels * error.clamp(min=0)
        per_sample = torch.where(censored.unsqueeze(-1), censored_pinball, pinball).mean(dim=-1)
        weights = mask.to(outputs.dtype)
        return (per_sample * weights).sum() / weights.sum().clamp(min=1.0)

    def distribution(self, outputs: torch.Tensor) -> LengthDistribution:
        values = torch.expm1(outputs.detach().float()).cpu().numpy().astype(np.float64)
        return LengthDistribution.from_quantiles(
            values,
            self.levels.cpu().numpy().astype(np.float64),
            min_length=0.0,
            max_length=self.config.max_length,
        )
