"""The trainer: fits a predictor's head (frozen encoder, cached embeddings) or head + LoRA adapter.

Every sample of a multi-sample record is a training target; censored samples enter the loss as
"at least c" (see :mod:`sagepred.heads`). A seeded share of the training records is held out for
early stopping on validation loss; the best epoch's weights are kept.
"""

from __future__ import annotations

import copy
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch

from sagepred.encoders import EmbeddingCache
from sagepred.predictor import LengthPredictor
from sagepred.records import LengthRecord, split_records


@dataclass
class TrainingConfig:
    """Optimisation settings (recipe defaults, overridable from the CLI)."""

    epochs: int = field(default=150, metadata={"help": "maximum epochs with a frozen encoder"})
    lora_epochs: int = field(default=3, metadata={"help": "maximum epochs when LoRA-tuning the encoder"})
    batch_size: int = field(default=64, metadata={"help": "records per step (frozen)"})
    lora_batch_size: int = field(default=32, metadata={"help": "records per step (LoRA)"})
    learning_rate: float = field(default=1e-3, metadata={"help": "AdamW learning rate of the head"})
    lora_learning_rate: float = field(
        default=3e-4, metadata={"help": "AdamW learning rate of the LoRA adapter"}
    )
    weight_decay: float = field(default=1e-2, metadata={"help": "AdamW weight decay"})
    patience: int = field(
        default=12, metadata={"help": "epochs without validation improvement before stopping"}
    )
    early_stopping_fraction: float = field(
        default=0.1, metadata={"help": "share of training records held out"}
    )
    seed: int = field(default=0, metadata={"help": "seed of splits, initialisation and shuffling"})
    lora_warm_start_epochs: int = field(
        default=30,
        metadata={"help": "LoRA: frozen-encoder epochs that fit the head before the adapter trains"},
    )
    calibrate: bool = field(
        default=True,
        metadata={
            "help": "fit static recalibration and distance widening on the early-stopping records "
            "(sagepred.calibration)"
        },
    )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class EpochResult:
    """Losses of one epoch."""

    epoch: int
    train_loss: float
    val_loss: float
    seconds: float
    phase: str = "head"


@dataclass
class TrainingResult:
    """The trained predictor and its history."""

    predictor: LengthPredictor
    history: list[EpochResult]
    best_epoch: int
    best_val_loss: float
    seconds: float


def seed_everything(seed: int) -> None:
    """Seed Python, numpy and torch."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def length_targets(records: Sequence[LengthRecord]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(lengths, censored, mask)``, each ``(records, max samples)``, padded with mask = False."""
    width = max(r.num_samples for r in records)
    lengths = torch.ones((len(records), width), dtype=torch.float32)
    censored = torch.zeros((len(records), width), dtype=torch.bool)
    mask = torch.zeros((len(records), width), dtype=torch.bool)
    for i, record in enumerate(records):
        n = record.num_samples
        lengths[i, :n] = torch.tensor(record.output_lens, dtype=torch.float32)
        censored[i, :n] = torch.tensor(record.censored, dtype=torch.bool)
        mask[i, :n] = True
    return lengths, censored, mask


EpochCallback = Callable[[EpochResult], None]


class Trainer:
    """Fits a :class:`LengthPredictor` on length records."""

    def __init__(
        self,
        predictor: LengthPredictor,
        config: TrainingConfig,
        cache: EmbeddingCache | None = None,
        on_epoch: EpochCallback | None = None,
        progress: bool = True,
    ) -> None:
        self.predictor = predictor
        self.config = config
        self.cache = cache if cache is not None else EmbeddingCache()
        self.on_epoch = on_epoch
        self.progress = progress

    def fit(self, records: Sequence[LengthRecord]) -> TrainingResult:
        """Train on ``records`` (early stopping on a held-out share of them)."""
        cfg = self.config
        seed_everything(cfg.seed)
        start = time.perf_counter()
        fit_records, stop_records = split_records(list(records), cfg.early_stopping_fraction, cfg.seed)
        head_epochs = cfg.lora_warm_start_epochs if self.predictor.config.lora is not None else cfg.epochs
        history = self._fit_head(fit_records, stop_records, head_epochs)
        if self.predictor.config.lora is not None:
            history += self._fit_lora(fit_records, stop_records, start_epoch=len(history))
        best = min(history, key=lambda e: e.val_loss)
        from sagepred.contamination import prompt_hashes

        self.predictor.train_prompt_hashes = prompt_hashes(r.prompt_text for r in records)
        if cfg.calibrate:
            self._fit_calibration(fit_records, stop_records)
        return TrainingResult(self.predictor, history, best.epoch, best.val_loss, time.perf_counter() - start)

    def _fit_calibration(self, fit: Sequence[LengthRecord], stop: Sequence[LengthRecord]) -> None:
        """Static recalibration + widening on the early-stopping records, references from the fit split."""
        from sagepred.calibration import Calibration

        predictor = self.predictor
        predictor.calibration = None
        if predictor.config.lora is None:
            x_fit, _ = self._features(fit)
            x_stop, n_stop = self._features(stop)
            x_fit, x_stop, n_stop = x_fit.numpy(), x_stop.numpy(), n_stop.numpy()
        else:  # tuned embeddings differ from the cached frozen ones
            x_fit, _ = predictor.features([r.prompt_text for r in fit])
            x_stop, n_stop = predictor.features([r.prompt_text for r in stop])
        raw = predictor.predict_from_features(x_stop, n_stop, calibrated=False)
        predictor.calibration = Calibration.fit(raw, stop, x_stop, x_fit, seed=self.config.seed)

    # ------------------------------------------------------------------ frozen encoder
    def _features(self, records: Sequence[LengthRecord]) -> tuple[torch.Tensor, torch.Tensor]:
        texts = [r.prompt_text for r in records]
        encoder = self.predictor.encoder
        embeddings = self.cache.encode(encoder, texts, progress=self.progress)
        counts = np.asarray(encoder.count_tokens(texts), dtype=np.float32)
        return torch.from_numpy(embeddings), torch.from_numpy(counts)

    def _fit_head(
        self, fit: Sequence[LengthRecord], stop: Sequence[LengthRecord], epochs: int
    ) -> list[EpochResult]:
        from sagepred.progress import make_progress

        cfg = self.config
        head = self.predictor.head
        x_fit, n_fit = self._features(fit)
        x_stop, n_stop = self._features(stop)
        y_fit, c_fit, m_fit = length_targets(fit)
        y_stop, c_stop, m_stop = length_targets(stop)
        optimizer = torch.optim.AdamW(head.parameters(), lr=cfg.learning_rate, weight_decay=cfg.weight_decay)
        generator = torch.Generator().manual_seed(cfg.seed)
        history: list[EpochResult] = []
        best_loss, best_state, stale = float("inf"), copy.deepcopy(head.state_dict()), 0
        with make_progress() as bar:
            task = bar.add_task("training head", total=epochs, status="")
            for epoch in range(epochs):
                tic = time.perf_counter()
                head.train()
                order = torch.randperm(len(fit), generator=generator)
                total, steps = 0.0, 0
                for begin in range(0, len(fit), cfg.batch_size):
                    idx = order[begin : begin + cfg.batch_size]
                    loss = head.loss(head(x_fit[idx], n_fit[idx]), y_fit[idx], c_fit[idx], m_fit[idx])
                    optimizer.zero_grad()
                    loss.backward()
                    optimizer.step()
                    total, steps = total + loss.item(), steps + 1
                head.eval()
                with torch.no_grad():
                    val = float(head.loss(head(x_stop, n_stop), y_stop, c_stop, m_stop))
                result = EpochResult(epoch, total / max(steps, 1), val, time.perf_counter() - tic, "head")
                history.append(result)
                if self.on_epoch:
                    self.on_epoch(result)
                bar.update(task, advance=1, status=f"val loss {val:.4f}")
                if val < best_loss - 1e-5:
                    best_loss, best_state, stale = val, copy.deepcopy(head.state_dict()), 0
                else:
                    stale += 1
                    if stale >= cfg.patience:
                        break
        head.load_state_dict(best_state)
        head.eval()
        return history

    # ------------------------------------------------------------------ LoRA
    def _lora_loss(self, records: Sequence[LengthRecord], grad: bool) -> torch.Tensor:
        encoder = self.predictor.encoder
        texts = [r.prompt_text for r in records]
        batch = encoder.tokenize(texts)
        counts = torch.tensor(encoder.count_tokens(texts), dtype=torch.float32)
        with torch.set_grad_enabled(grad):
            embeddings = encoder(**batch)
            head = self.predictor.head
            return head.loss(head(embeddings, counts), *length_targets(records))

    def _fit_lora(
        self, fit: Sequence[LengthRecord], stop: Sequence[LengthRecord], start_epoch: int
    ) -> list[EpochResult]:
        from peft import get_peft_model_state_dict, set_peft_model_state_dict

        from sagepred.progress import make_progress

        cfg = self.config
        encoder = self.predictor.encoder
        lora_params = [p for p in encoder.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(
            [
                {"params": lora_params, "lr": cfg.lora_learning_rate},
                {"params": list(self.predictor.head.parameters()), "lr": cfg.learning_rate * 0.3},
            ],
            weight_decay=cfg.weight_decay,
        )
        rng = np.random.default_rng(cfg.seed)
        history: list[EpochResult] = []

        def validate() -> float:
            encoder.eval()
            self.predictor.head.eval()
            losses, weights = [], []
            for begin in range(0, len(stop), 64):
                chunk = stop[begin : begin + 64]
                losses.append(float(self._lora_loss(chunk, grad=False)))
                weights.append(sum(r.num_samples for r in chunk))
            return float(np.average(losses, weights=weights))

        best_loss = validate()
        best_head = copy.deepcopy(self.predictor.head.state_dict())
        best_adapter = {k: v.clone() for k, v in get_peft_model_state_dict(encoder.model).items()}
        steps_per_epoch = (len(fit) + cfg.lora_batch_size - 1) // cfg.lora_batch_size
        with make_progress() as bar:
            task = bar.add_task("LoRA fine-tuning", total=cfg.lora_epochs * steps_per_epoch, status="")
            for epoch in range(cfg.lora_epochs):
                tic = time.perf_counter()
                encoder.train()
                self.predictor.head.train()
                order = rng.permutation(len(fit))
                total = 0.0
                for step in range(steps_per_epoch):
                    idx = order[step * cfg.lora_batch_size : (step + 1) * cfg.lora_batch_size]
                    loss = self._lora_loss([fit[i] for i in idx], grad=True)
                    optimizer.zero_grad()
                    loss.backward()
                    torch.nn.utils.clip_grad_norm_(lora_params, 1.0)
                    optimizer.step()
                    total += loss.item()
                    bar.update(task, advance=1, status=f"loss {loss.item():.4f}")
                val = validate()
                result = EpochResult(
                    start_epoch + epoch, total / steps_per_epoch, val, time.perf_counter() - tic, "lora"
                )
                history.append(result)
                if self.on_epoch:
                    self.on_epoch(result)
                if val < best_loss - 1e-5:
                    best_loss = val
                    best_head = copy.deepcopy(self.predictor.head.state_dict())
                    best_adapter = {k: v.clone() for k, v in get_peft_model_state_dict(encoder.model).items()}
        self.predictor.head.load_state_dict(best_head)
        set_peft_model_state_dict(encoder.model, best_adapter)
        encoder.eval()
        self.predictor.head.eval()
        return history
