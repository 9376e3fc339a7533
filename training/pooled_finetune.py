"""Fine-tuning the encoder of a pooled predictor on the pooled multi-target loss.

One step takes a batch of training *prompts*, runs the encoder once per prompt, and scores every
(prompt, target) row of those prompts through the pooled head: the encoder's cost is per prompt,
not per target. Each prompt's rows share one unit of weight (``balance="prompt"``), so the 805
AlpacaEval prompts with 227 targets each do not drown the CASTILLO prompts with 13; ``"row"``
weighs rows alike, as head training does.

The schedule is the one that won on a single target (``benchmarks/encoders_bench.py``): AdamW, a
linear warm-up over the first 10% of steps and a cosine decay, one epoch, ``max_length`` 128. The
head starts from a frozen-encoder pooled head and is trained alongside at its own learning rate;
:func:`refit_head` then refits the head on the fine-tuned encoder's (now fixed) embeddings with the
frozen recipe (early stopping and the instruction fit on validation prompts).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch

from sagepred.encoders import TextEncoder
from sagepred.pooled import PooledPredictor
from sagepred.training.pooled import PooledRows
from sagepred.training.trainer import length_targets, seed_everything


@dataclass
class PooledFineTuneConfig:
    """Settings of pooled encoder fine-tuning."""

    mode: str = field(default="full", metadata={"help": "full (every encoder weight) or lora"})
    epochs: int = field(default=1, metadata={"help": "passes over the training prompts"})
    batch_prompts: int = field(default=32, metadata={"help": "prompts per step (all their targets' rows)"})
    encoder_learning_rate: float = field(default=3e-5, metadata={"help": "peak learning rate of the encoder"})
    head_learning_rate: float = field(default=5e-4, metadata={"help": "peak learning rate of the head"})
    weight_decay: float = field(default=1e-2, metadata={"help": "AdamW weight decay"})
    warmup_fraction: float = field(default=0.1, metadata={"help": "share of steps of linear warm-up"})
    max_length: int = field(default=128, metadata={"help": "encoder tokens kept per prompt"})
    balance: str = field(default="prompt", metadata={"help": "prompt (each prompt weighs 1) or row"})
    max_prompts: int | None = field(default=None, metadata={"help": "use a seeded subset of prompts"})
    lora_rank: int = field(default=8, metadata={"help": "LoRA rank (mode lora)"})
    seed: int = field(default=0, metadata={"help": "seed of the prompt order"})
    log_every: int = field(default=10, metadata={"help": "steps between progress lines"})

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def warmup_cosine(step: int, total: int, warmup: int) -> float:
    """Learning-rate factor: linear warm-up to 1 over ``warmup`` steps, then cosine decay to 0."""
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))


def _prepare_encoder(encoder: TextEncoder, config: PooledFineTuneConfig) -> list[torch.nn.Parameter]:
    encoder.max_length = config.max_length
    if config.mode == "full":
        for param in encoder.model.parameters():
            param.requires_grad_(True)
    elif config.mode == "lora":
        from peft import LoraConfig, get_peft_model

        lora = LoraConfig(
            r=config.lora_rank, lora_alpha=2 * config.lora_rank, target_modules=["query", "value"]
        )
        encoder.model = get_peft_model(encoder.model, lora)
    else:
        raise ValueError(f"unknown fine-tuning mode {config.mode!r} (expected full or lora)")
    return [p for p in encoder.parameters() if p.requires_grad]


def finetune_pooled(
    pooled: PooledPredictor,
    rows: PooledRows,
    config: PooledFineTuneConfig | None = None,
    notify: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Fine-tune ``pooled``'s encoder (in place) and head on the training ``rows``; returns a log.

    ``rows`` index the targets of ``pooled`` (same order). The encoder is left in eval mode with
    ``max_length`` set to ``config.max_length`` (a LoRA adapter is merged into the weights).
    """
    config = config or PooledFineTuneConfig()
    seed_everything(config.seed)
    encoder, head = pooled.encoder, pooled.head
    encoder.cache = None
    encoder_params = _prepare_encoder(encoder, config)
    pooled.config.encoder_max_length = config.max_length
    head_params = [p for p in head.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(
        [
            {"params": encoder_params, "lr": config.encoder_learning_rate},
            {"params": head_params, "lr": config.head_learning_rate},
        ],
        weight_decay=config.weight_decay,
    )
    prompts = np.unique(rows.prompt_index)
    rng = np.random.default_rng(config.seed)
    if config.max_prompts is not None and config.max_prompts < len(prompts):
        prompts = np.sort(rng.choice(prompts, size=config.max_prompts, replace=False))
    by_prompt: dict[int, list[int]] = {}
    for i, p in enumerate(rows.prompt_index.tolist()):
        by_prompt.setdefault(p, []).append(i)
    y, c, m = length_targets(rows.records)
    counts = torch.as_tensor(encoder.count_tokens(rows.prompts), dtype=torch.float32)
    targets = torch.from_numpy(rows.target_index)
    steps_per_epoch = math.ceil(len(prompts) / config.batch_prompts)
    total = steps_per_epoch * config.epochs
    warmup = max(1, int(total * config.warmup_fraction))
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: warmup_cosine(s, total, warmup))
    log: list[dict[str, float]] = []
    tic, step, running = time.perf_counter(), 0, []
    for epoch in range(config.epochs):
        encoder.train()
        head.train()
        order = rng.permutation(prompts)
        for b in range(0, len(order), config.batch_prompts):
            batch = order[b : b + config.batch_prompts].tolist()
            embeddings = encoder(**encoder.tokenize([rows.prompts[p] for p in batch]))
            local = [j for j, p in enumerate(batch) for _ in by_prompt[p]]
            row_ids = torch.as_tensor([i for p in batch for i in by_prompt[p]])
            weight = m[row_ids].to(torch.float32)
            if config.balance == "prompt":
                share = torch.as_tensor([1.0 / len(by_prompt[p]) for p in batch for _ in by_prompt[p]])
                weight = weight * share.unsqueeze(-1) * (len(row_ids) / len(batch))
            out = head(embeddings[local], counts[[batch[j] for j in local]], targets[row_ids])
            loss = head.loss(out, y[row_ids], c[row_ids], weight)
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(encoder_params + head_params, 1.0)
            optimizer.step()
            scheduler.step()
            step += 1
            running.append(loss.item())
            if notify and (step % config.log_every == 0 or step == total):
                elapsed = time.perf_counter() - tic
                notify(
                    f"step {step}/{total} (epoch {epoch}): loss {np.mean(running):.4f}, "
                    f"{elapsed:.0f} s, about {elapsed / step * (total - step):.0f} s left"
                )
                log.append({"step": step, "loss": float(np.mean(running)), "seconds": elapsed})
                running = []
    if config.mode == "lora":
        encoder.model = encoder.model.merge_and_unload()
    encoder.eval()
    head.eval()
    for param in encoder.parameters():
        param.requires_grad_(False)
    return {"config": config.to_dict(), "steps": step, "seconds": time.perf_counter() - tic, "log": log}
