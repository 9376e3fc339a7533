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
from contextlib import nullcontext
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
    dropout: bool = field(
        default=True,
        metadata={
            "help": "LoRA: dropout in the encoder, adapter and head while fine-tuning (off: deterministic "
            "steps, equal for any number of processes at the same global batch)"
        },
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
        accelerator: Any | None = None,
    ) -> None:
        self.predictor = predictor
        self.config = config
        self.cache = cache if cache is not None else EmbeddingCache()
        self.on_epoch = on_epoch
        self.progress = progress
        self.accelerator = accelerator
        """An ``accelerate.Accelerator`` under ``accelerate launch``: LoRA steps split each global batch
        over the processes (DDP); ``None`` trains in this process alone."""

    @property
    def is_main(self) -> bool:
        """Whether this is the process that calibrates and saves (always, without an accelerator)."""
        return self.accelerator is None or bool(self.accelerator.is_main_process)

    def fit(self, records: Sequence[LengthRecord]) -> TrainingResult:
        """Train on ``records`` (early stopping on a held-out share of them)."""
        cfg = self.config
        seed_everything(cfg.seed)
        start = time.perf_counter()
        fit_records, stop_records = split_records(list(records), cfg.early_stopping_fraction, cfg.seed)
        head_epochs = cfg.lora_warm_start_epochs if self.predictor.config.lora is not None else cfg.epochs
        first = self.accelerator.main_process_first() if self.accelerator is not None else nullcontext()
        with first:  # the main process embeds and caches; the others then read its cache
            history = self._fit_head(fit_records, stop_records, head_epochs)
        if self.predictor.config.lora is not None:
            history += self._fit_lora(fit_records, stop_records, start_epoch=len(history))
        best = min(history, key=lambda e: e.val_loss)
        from sagepred.contamination import prompt_hashes

        self.predictor.train_prompt_hashes = prompt_hashes(r.prompt_text for r in records)
        if cfg.calibrate and self.is_main:
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
        raw = predictor.predict_from_features(
            x_stop, n_stop, calibrated=False, prompts=[r.prompt_text for r in stop]
        )
        predictor.calibration = Calibration.fit(raw, stop, x_stop, x_fit, seed=self.config.seed)

    def refine(self, fit: Sequence[LengthRecord], stop: Sequence[LengthRecord]) -> dict[str, Any]:
        """Go on training the head from its current weights (frozen encoder), early stopping on ``stop``.

        The current weights are the first candidate: when no epoch lowers the validation loss below
        theirs, they are kept. Returns the validation loss before and after and the epochs run.
        """
        seed_everything(self.config.seed)
        head = self.predictor.head
        x_stop, n_stop = self._features(stop)
        y_stop, c_stop, m_stop = length_targets(stop)
        head.eval()
        with torch.no_grad():
            before = float(head.loss(head(x_stop, n_stop), y_stop, c_stop, m_stop))
        initial = copy.deepcopy(head.state_dict())
        history = self._fit_head(fit, stop, self.config.epochs)
        after = min(e.val_loss for e in history)
        kept = after >= before
        if kept:
            head.load_state_dict(initial)
            head.eval()
        return {
            "val_loss_before": before,
            "val_loss_after": min(after, before),
            "epochs": len(history),
            "kept_initial": kept,
        }

    # ------------------------------------------------------------------ frozen encoder
    def _features(self, records: Sequence[LengthRecord]) -> tuple[torch.Tensor, torch.Tensor]:
        texts = [r.prompt_text for r in records]
        encoder = self.predictor.encoder
        features = getattr(self.cache, "features", None)
        if features is not None:  # a disk store: memory-mapped embeddings, token counts stored with them
            embeddings, counts = features(encoder, texts, progress=self.progress)
            return torch.from_numpy(embeddings), torch.from_numpy(np.asarray(counts, dtype=np.float32))
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
    def _lora_sum(self, objective: torch.nn.Module, records: Sequence[LengthRecord]) -> torch.Tensor:
        """Sum of the per-sample losses of ``records`` through ``objective`` (DDP-wrapped or not)."""
        encoder = self.predictor.encoder
        texts = [r.prompt_text for r in records]
        device = self.accelerator.device if self.accelerator is not None else torch.device("cpu")
        batch = {k: v.to(device) for k, v in encoder.tokenize(texts).items()}
        counts = torch.tensor(encoder.count_tokens(texts), dtype=torch.float32, device=device)
        targets = [t.to(device) for t in length_targets(records)]
        return objective(batch, counts, *targets)

    def _fit_lora(
        self, fit: Sequence[LengthRecord], stop: Sequence[LengthRecord], start_epoch: int
    ) -> list[EpochResult]:
        from peft import get_peft_model_state_dict, set_peft_model_state_dict

        from sagepred.progress import make_progress

        cfg = self.config
        encoder = self.predictor.encoder
        head = self.predictor.head
        acc = self.accelerator
        world, rank = (acc.num_processes, acc.process_index) if acc is not None else (1, 0)
        lora_params = [p for p in encoder.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(
            [
                {"params": lora_params, "lr": cfg.lora_learning_rate},
                {"params": list(head.parameters()), "lr": cfg.learning_rate * 0.3},
            ],
            weight_decay=cfg.weight_decay,
        )
        plain = _LoraObjective(encoder, head)
        objective: torch.nn.Module = plain
        if acc is not None:
            objective, optimizer = acc.prepare(objective, optimizer)
        rng = np.random.default_rng(cfg.seed)
        history: list[EpochResult] = []

        def reduce_sum(*values: float) -> list[float]:
            if acc is None:
                return list(values)
            total = acc.reduce(torch.tensor(values, dtype=torch.float64, device=acc.device), "sum")
            return [float(v) for v in total.cpu()]

        def set_mode(train: bool) -> None:
            # train mode only switches dropout on (attention dropout reads the layer's own flag, so
            # without dropout the modules stay in eval mode; gradients flow either way)
            encoder.train(train and cfg.dropout)
            head.train(train and cfg.dropout)

        def validate() -> float:
            set_mode(False)
            loss_sum, weight = 0.0, 0
            mine = list(stop[rank::world])
            with torch.no_grad():
                for begin in range(0, len(mine), 64):
                    chunk = mine[begin : begin + 64]
                    # the unwrapped module: processes may hold different numbers of chunks, and a
                    # DDP forward can be a collective (buffer broadcast)
                    loss_sum += float(self._lora_sum(plain, chunk))
                    weight += sum(r.num_samples for r in chunk)
            total, weights = reduce_sum(loss_sum, weight)
            return total / max(weights, 1.0)

        best_loss = validate()
        best_head = copy.deepcopy(head.state_dict())
        best_adapter = {k: v.clone() for k, v in get_peft_model_state_dict(encoder.model).items()}
        steps_per_epoch = (len(fit) + cfg.lora_batch_size - 1) // cfg.lora_batch_size
        with make_progress() as bar:
            task = bar.add_task("LoRA fine-tuning", total=cfg.lora_epochs * steps_per_epoch, status="")
            for epoch in range(cfg.lora_epochs):
                tic = time.perf_counter()
                set_mode(True)
                order = rng.permutation(len(fit))
                total = 0.0
                for step in range(steps_per_epoch):
                    idx = order[step * cfg.lora_batch_size : (step + 1) * cfg.lora_batch_size]
                    chunk = [fit[i] for i in idx]
                    samples = sum(r.num_samples for r in chunk)
                    mine = chunk[rank::world]
                    # every process takes part in each step; one without records adds a zero-weight one
                    weight = 1.0 if mine else 0.0
                    loss_sum = self._lora_sum(objective, mine or chunk[:1]) * weight
                    # DDP averages gradients over processes: scaling by world / samples makes the
                    # update the gradient of the global batch's mean loss, as in one process
                    loss = loss_sum * (world / samples)
                    optimizer.zero_grad()
                    if acc is not None:
                        acc.backward(loss)
                    else:
                        loss.backward()
                    torch.nn.utils.clip_grad_norm_(lora_params, 1.0)
                    optimizer.step()
                    step_loss = reduce_sum(float(loss_sum.detach()))[0] / samples
                    total += step_loss
                    bar.update(task, advance=1, status=f"loss {step_loss:.4f}")
                val = validate()
                result = EpochResult(
                    start_epoch + epoch, total / steps_per_epoch, val, time.perf_counter() - tic, "lora"
                )
                history.append(result)
                if self.on_epoch:
                    self.on_epoch(result)
                if val < best_loss - 1e-5:
                    best_loss = val
                    best_head = copy.deepcopy(head.state_dict())
                    best_adapter = {k: v.clone() for k, v in get_peft_model_state_dict(encoder.model).items()}
        head.load_state_dict(best_head)
        set_peft_model_state_dict(encoder.model, best_adapter)
        if acc is not None:
            acc.wait_for_everyone()
            self.predictor.to("cpu")
        set_mode(False)
        return history


class _LoraObjective(torch.nn.Module):
    """Encoder + head as one module whose forward is the summed loss (what DDP wraps)."""

    def __init__(self, encoder: torch.nn.Module, head: torch.nn.Module) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = head

    def forward(
        self,
        batch: dict[str, torch.Tensor],
        counts: torch.Tensor,
        lengths: torch.Tensor,
        censored: torch.Tensor,
        mask: torch.Tensor,
    ) -> torch.Tensor:
        outputs = self.head(self.encoder(**batch), counts)
        return self.head.loss(outputs, lengths, censored, mask) * mask.sum().clamp(min=1)
