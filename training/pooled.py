"""Training the pooled, target-conditioned predictor (:mod:`sagepred.pooled`) and adding a target to it.

* :func:`load_pooled_records` gathers records per target: the 13 CASTILLO targets, the 227 AlpacaEval
  models of ``all_models_output_lengths.csv`` (each in its own tokenizer's column; models without a
  public tokenizer in cl100k), and any user JSONL (grouped by ``target_model``).
* :func:`build_rows` indexes every (prompt, target) row into the unique prompts, so each prompt is
  embedded once (:class:`~sagepred.encoders.EmbeddingCache`).
* :func:`prompt_split` holds out prompts, not rows: a held-out prompt is seen for no target.
* :func:`train_pooled` fits the head (early stopping on a validation share of the training prompts),
  then :func:`fit_instruction_settings` fits the instruction adjustment on those validation prompts.
* :func:`fit_new_target` adds a target from a few records: only its embedding and temperature are
  fitted (a Gaussian prior centred on the known targets' embeddings keeps 20 records from overfitting).
"""

from __future__ import annotations

import copy
import csv
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from sagepred.count_reading import list_count_weight, measure_count_reading
from sagepred.distribution import LengthDistribution, histogram_probs, log_bin_edges
from sagepred.encoders import EmbeddingCache, TextEncoder
from sagepred.errors import InputError
from sagepred.heads import HeadConfig
from sagepred.instruction_adjust import (
    InstructionSettings,
    is_list_like,
    log_median,
    request_shifts,
    shift_log_histogram,
)
from sagepred.length_instructions import parse_length_request
from sagepred.pooled import PooledConfig, PooledHead, PooledPredictor, SourceCalibration, TargetInfo
from sagepred.records import LengthRecord, prompt_split
from sagepred.training.trainer import length_targets, seed_everything

ALPACA_LENGTHS = "all_models_output_lengths.csv"
TOKENIZER_COLUMNS = {
    "cl100k": "cl100k",
    "llama3": "llama3",
    "qwen": "qwen",
    "llama2": "llama2",
    "mistral_v1": "mistral-v1",
    "mistral_v3": "mistral-v3",
}
"""AlpacaEval's ``native_tokenizer`` values -> the tokenizer family names of :mod:`sagepred.targets`."""


MEMBER_SEED_STRIDE = 7919
"""Ensemble member k trains with seed ``seed + MEMBER_SEED_STRIDE * k`` (member 0 with ``seed`` itself)."""

MIN_STEPS_PER_EPOCH = 20
"""Small data sets get smaller batches, so that every epoch takes at least this many steps."""


@dataclass
class PooledTrainingConfig:
    """Settings of pooled training (``sagepred train --model all``)."""

    epochs: int = field(default=40, metadata={"help": "maximum epochs"})
    batch_size: int = field(
        default=1024, metadata={"help": "rows per step (at most; see MIN_STEPS_PER_EPOCH)"}
    )
    learning_rate: float = field(default=2e-3, metadata={"help": "AdamW learning rate"})
    weight_decay: float = field(default=1e-2, metadata={"help": "AdamW weight decay"})
    patience: int = field(default=4, metadata={"help": "epochs without validation gain before stopping"})
    eval_fraction: float = field(default=0.2, metadata={"help": "share of prompts held out for evaluation"})
    validation_fraction: float = field(
        default=0.1, metadata={"help": "share of training prompts for early stopping and instruction fit"}
    )
    seed: int = field(default=0, metadata={"help": "seed of splits, initialisation and shuffling"})
    target_dim: int = field(default=16, metadata={"help": "size of the learned target embedding"})
    use_target_features: bool = field(default=True, metadata={"help": "condition on TargetInfo features"})
    hidden_dim: int = field(default=256, metadata={"help": "hidden width of the head"})
    num_layers: int = field(default=2, metadata={"help": "hidden layers of the head"})
    dropout: float = field(
        default=0.3, metadata={"help": "dropout between hidden layers (0.3: measured above 0.1 and 0.5)"}
    )
    members: int = field(
        default=5,
        metadata={"help": "ensemble members of the head, each trained on its own bag (1 = a single MLP)"},
    )
    early_stopping: str = field(
        default="crps",
        metadata={
            "help": "validation score that stops training: 'crps' (the held-out metric; lets ensemble "
            "members train past their own best likelihood) or 'nll'"
        },
    )
    member_fraction: float = field(
        default=0.9, metadata={"help": "share of the fitting prompts each ensemble member trains on"}
    )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class PooledRows:
    """(prompt, target) rows indexed into unique prompts.

    Attributes:
        prompts: unique prompt texts.
        prompt_index: ``(N,)`` row -> prompt.
        target_index: ``(N,)`` row -> ``targets`` entry.
        records: the row's record (for the metrics).
        targets: the targets (features filled by :func:`fill_target_features`).
    """

    prompts: list[str]
    prompt_index: np.ndarray
    target_index: np.ndarray
    records: list[LengthRecord]
    targets: list[TargetInfo]

    def select(self, mask: np.ndarray) -> PooledRows:
        """The rows where ``mask`` is True (same prompts and targets)."""
        keep = np.flatnonzero(mask)
        return PooledRows(
            self.prompts,
            self.prompt_index[keep],
            self.target_index[keep],
            [self.records[i] for i in keep],
            self.targets,
        )

    def rows_of(self, target: int) -> np.ndarray:
        return self.target_index == target


# ---------------------------------------------------------------------------- data
def _target_name(model: str) -> tuple[str, list[str]]:
    """The registry's canonical name when a target's own (non-alias) name is ``model``, else ``model``."""
    from sagepred.targets import find_target

    try:
        target = find_target(model)
    except InputError:
        target = None
    if target is not None and model in (target.name, target.target_model, target.data_model):
        return target.name, [n for n in target.names if n != target.name]
    return model, []


def castillo_groups(
    data_dir: Path, models: Sequence[str] | None = None
) -> list[tuple[TargetInfo, list[LengthRecord]]]:
    """CASTILLO records per target (both splits; the pooled split is by prompt)."""
    from sagepred.importers.castillo import CASTILLO_MAX_NEW_TOKENS, castillo_models, load_castillo
    from sagepred.targets import tokenizer_for

    groups = []
    for model in models or castillo_models(data_dir):
        records = load_castillo(data_dir, model)
        name, aliases = _target_name(records[0].target_model)
        info = TargetInfo(
            name=name,
            target_model=records[0].target_model,
            source="castillo",
            tokenizer=tokenizer_for(records[0].target_model),
            max_tokens=float(CASTILLO_MAX_NEW_TOKENS),
            aliases=aliases,
        )
        groups.append((info, records))
    return groups


def alpaca_groups(
    data_dir: Path, models: Sequence[str] | None = None
) -> list[tuple[TargetInfo, list[LengthRecord]]]:
    """AlpacaEval records per model from ``all_models_output_lengths.csv`` (no text needed but the prompts).

    Lengths come from the model's ``native_tokenizer`` column; a model without one (no public
    tokenizer: Claude, GPT-4o, Gemini…) is counted in cl100k and its tokenizer recorded as None.
    Empty responses are dropped; a response within :func:`censor_threshold` of the model's
    ``max_tokens`` (from ``models_configs``) is censored.
    """
    from sagepred.importers.alpaca_eval import alpaca_eval_max_tokens, censor_threshold
    from sagepred.records import iter_jsonl

    folder = data_dir / "alpaca_eval"
    path = folder / ALPACA_LENGTHS
    if not path.is_file():
        raise InputError("file not found", path=path)
    prompts = {int(o["idx"]): o["instruction"] for _, o in iter_jsonl(folder / "instructions.jsonl")}
    wanted = set(models) if models else None
    rows_by_model: dict[str, list[tuple[int, dict[str, str]]]] = {}
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        for row in reader:
            if wanted is None or row["model"] in wanted:
                rows_by_model.setdefault(row["model"], []).append((reader.line_num, row))
    if wanted and (missing := sorted(wanted - set(rows_by_model))):
        raise InputError(f"no rows for models {missing[:3]}", path=path, field="model")
    groups = []
    for model, rows in rows_by_model.items():
        native = rows[0][1].get("native_tokenizer") or ""
        column = f"tokens_{native or 'cl100k'}"
        cap = alpaca_eval_max_tokens(folder / "model_outputs" / f"{model}.json", model)
        cut = censor_threshold(cap) if cap else None
        records = []
        for line, row in rows:
            if row.get("output_is_empty") == "1":
                continue
            try:
                n = int(row[column])
                idx = int(row["idx"])
            except (KeyError, ValueError):
                raise InputError(f"expected an integer in {column} and idx", path=path, line=line) from None
            if n <= 0 or idx not in prompts:
                continue
            records.append(
                LengthRecord(
                    prompt=prompts[idx],
                    output_lens=(n,),
                    censored=(cut is not None and n >= cut,),
                    target_model=model,
                    max_tokens=cap,
                    record_id=f"alpaca_eval:{idx}",
                    dataset=row.get("dataset") or None,
                )
            )
        if not records:
            continue
        name, aliases = _target_name(model)
        if name != model and any(g[0].name == name for g in groups):
            name, aliases = model, []
        info = TargetInfo(
            name=name,
            target_model=model,
            source="alpaca_eval",
            tokenizer=TOKENIZER_COLUMNS.get(native),
            max_tokens=float(cap) if cap else None,
            aliases=aliases,
        )
        groups.append((info, records))
    return groups


def jsonl_groups(path: str | Path) -> list[tuple[TargetInfo, list[LengthRecord]]]:
    """User JSONL records grouped by ``target_model`` (a record without one is an error)."""
    from sagepred.importers import load_records
    from sagepred.targets import tokenizer_for

    records = load_records(path)
    by_model: dict[str, list[LengthRecord]] = {}
    for record in records:
        if not record.target_model:
            raise InputError(
                "pooled training needs target_model on every record", path=path, field="target_model"
            )
        by_model.setdefault(record.target_model, []).append(record)
    groups = []
    for model, items in by_model.items():
        name, aliases = _target_name(model)
        caps = [r.max_tokens for r in items if r.max_tokens]
        info = TargetInfo(
            name,
            model,
            "jsonl",
            tokenizer_for(model),
            max_tokens=float(max(caps)) if caps else None,
            aliases=aliases,
        )
        groups.append((info, items))
    return groups


def load_pooled_records(
    data_dir: Path | None = None,
    castillo: bool | Sequence[str] = True,
    alpaca_eval: bool | Sequence[str] = True,
    extra: str | Path | None = None,
) -> list[tuple[TargetInfo, list[LengthRecord]]]:
    """Every target's records: CASTILLO, AlpacaEval (True = all, or a list of model names), user JSONL."""
    from sagepred.paths import default_data_dir

    data_dir = Path(data_dir or default_data_dir())
    groups: list[tuple[TargetInfo, list[LengthRecord]]] = []
    if castillo:
        groups += castillo_groups(data_dir, None if castillo is True else list(castillo))
    if alpaca_eval:
        groups += alpaca_groups(data_dir, None if alpaca_eval is True else list(alpaca_eval))
    if extra is not None:
        groups += jsonl_groups(extra)
    names = [info.name for info, _ in groups]
    if len(set(names)) != len(names):
        dupes = sorted({n for n in names if names.count(n) > 1})
        raise InputError(
            f"two sources give target {dupes[0]!r}; rename one in its records", field="target_model"
        )
    if not groups:
        raise InputError("no targets with data", field="--data")
    return groups


def build_rows(groups: Sequence[tuple[TargetInfo, list[LengthRecord]]]) -> PooledRows:
    """Index the records of every target into unique prompts."""
    index: dict[str, int] = {}
    prompt_index, target_index, records = [], [], []
    for t, (_, items) in enumerate(groups):
        for record in items:
            text = record.prompt_text
            prompt_index.append(index.setdefault(text, len(index)))
            target_index.append(t)
            records.append(record)
    return PooledRows(
        list(index),
        np.asarray(prompt_index, dtype=np.int64),
        np.asarray(target_index, dtype=np.int64),
        records,
        [copy.deepcopy(info) for info, _ in groups],
    )


def target_statistics(records: Sequence[LengthRecord]) -> tuple[float, float]:
    """``(mean, std)`` of ``log(1 + length)`` over every sample of ``records``."""
    logs = np.log1p(np.concatenate([r.lengths for r in records]))
    return float(logs.mean()), float(max(logs.std(), 0.05))


def fill_target_features(rows: PooledRows) -> None:
    """Set each target's verbosity, spread and record count from ``rows`` (the training rows)."""
    for t, info in enumerate(rows.targets):
        mine = [rows.records[i] for i in np.flatnonzero(rows.rows_of(t))]
        if mine:
            info.verbosity, info.spread = target_statistics(mine)
        info.records = len(mine)


# ---------------------------------------------------------------------------- features
@dataclass
class PromptFeatures:
    """Embeddings and encoder token counts of the unique prompts."""

    embeddings: torch.Tensor
    counts: torch.Tensor


def prompt_features(
    encoder: TextEncoder, prompts: Sequence[str], cache: EmbeddingCache | None = None, progress: bool = False
) -> PromptFeatures:
    """Embed the unique prompts once (cached on disk)."""
    cache = cache or EmbeddingCache()
    embeddings = cache.encode(encoder, list(prompts), progress=progress)
    counts = np.asarray(encoder.count_tokens(list(prompts)), dtype=np.float32)
    return PromptFeatures(torch.from_numpy(embeddings), torch.from_numpy(counts))


def _targets_tensor(records: Sequence[LengthRecord]):
    return length_targets(records)


# ---------------------------------------------------------------------------- training
@dataclass
class PooledResult:
    """A trained pooled predictor and what happened."""

    predictor: PooledPredictor
    history: list[dict[str, float]]
    best_epoch: int
    seconds: float
    validation_prompts: np.ndarray


def new_pooled(
    targets: list[TargetInfo], config: PooledTrainingConfig, encoder: str, embedding_dim: int
) -> PooledPredictor:
    """An untrained pooled predictor for ``targets``."""
    head = HeadConfig(
        hidden_dim=config.hidden_dim,
        num_layers=config.num_layers,
        dropout=config.dropout,
        members=config.members,
    )
    return PooledPredictor(
        PooledConfig(
            targets=targets,
            encoder=encoder,
            target_dim=config.target_dim,
            use_target_features=config.use_target_features,
            embedding_dim=embedding_dim,
            head=head,
        )
    )


def train_pooled(
    rows: PooledRows,
    features: PromptFeatures,
    config: PooledTrainingConfig,
    encoder: str,
    notify: Callable[[str], None] | None = None,
) -> PooledResult:
    """Fit the pooled head on ``rows`` (training rows only) and its instruction adjustment.

    A seeded ``validation_fraction`` of the training prompts is held out for early stopping and
    for :func:`fit_instruction_settings`. With ``config.members`` > 1 the members train side by side,
    each on its own seeded ``member_fraction`` of the remaining prompts (a bag) with its own
    initialisation and shuffling; early stopping watches the ensemble's validation score
    (``config.early_stopping``: mean CRPS by default, which lets members that overfit alone go on
    helping the average; the history's ``val_loss`` is that score), and the best epoch's members become
    one ensemble head (:meth:`PooledHead.from_members`). No member trains on a validation prompt.
    """
    seed_everything(config.seed)
    start = time.perf_counter()
    val_prompts = prompt_split(rows.prompts, config.validation_fraction, config.seed, salt="validation")
    in_val = val_prompts[rows.prompt_index]
    fit_rows, val_rows = rows.select(~in_val), rows.select(in_val)
    fill_target_features(fit_rows)
    dim = int(features.embeddings.shape[1])
    single = replace(config, members=1)
    members: list[_MemberFit] = []
    for k in range(config.members):
        seed = config.seed + MEMBER_SEED_STRIDE * k
        seed_everything(seed)
        head = new_pooled(fit_rows.targets, single, encoder, dim).head
        bag = fit_rows
        if config.members > 1:
            out_of_bag = prompt_split(rows.prompts, 1.0 - config.member_fraction, seed, salt="member")
            bag = fit_rows.select(~out_of_bag[fit_rows.prompt_index])
        members.append(_MemberFit(head, bag, features, config, seed))
    validation = _Validation(val_rows, features)
    history: list[dict[str, float]] = []
    best, best_states, stale, best_epoch = math.inf, [m.state() for m in members], 0, 0
    for epoch in range(config.epochs):
        tic = time.perf_counter()
        train_loss = float(np.mean([m.epoch() for m in members]))
        val = validation.score([m.head for m in members], config.early_stopping)
        history.append(
            {"epoch": epoch, "train_loss": train_loss, "val_loss": val, "seconds": time.perf_counter() - tic}
        )
        if notify:
            notify(f"epoch {epoch}: train {train_loss:.4f}, validation {val:.4f}")
        if val < best - 1e-5:
            best, best_states, stale, best_epoch = val, [m.state() for m in members], 0, epoch
        else:
            stale += 1
            if stale >= config.patience:
                break
    for member, state in zip(members, best_states, strict=True):
        member.head.load_state_dict(state)
    predictor = new_pooled(fit_rows.targets, config, encoder, dim)
    if config.members == 1:
        predictor.head = members[0].head
    else:
        predictor.head = PooledHead.from_members(predictor.config, [m.head for m in members])
    predictor.eval()
    predictor.config.instructions = fit_instruction_settings(
        predictor,
        val_rows,
        features,
        training_prompts=[rows.prompts[i] for i in np.unique(fit_rows.prompt_index)],
    )
    predictor.config.calibration = {
        source: calibration.to_dict()
        for source, calibration in fit_source_calibrations(predictor, val_rows, features, config.seed).items()
    }
    predictor.config.training = {**config.to_dict(), "best_epoch": best_epoch, "epochs_run": len(history)}
    return PooledResult(predictor, history, best_epoch, time.perf_counter() - start, val_prompts)


class _MemberFit:
    """One single-member head being trained: AdamW, a cosine schedule, its own rows and shuffling."""

    def __init__(
        self,
        head: PooledHead,
        rows: PooledRows,
        features: PromptFeatures,
        config: PooledTrainingConfig,
        seed: int,
    ) -> None:
        self.head = head
        self.y, self.c, self.m = length_targets(rows.records)
        self.prompts, self.targets = torch.from_numpy(rows.prompt_index), torch.from_numpy(rows.target_index)
        self.x, self.n = features.embeddings, features.counts
        self.optimizer = torch.optim.AdamW(
            [p for p in head.parameters() if p.requires_grad],
            lr=config.learning_rate,
            weight_decay=config.weight_decay,
        )
        self.scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(self.optimizer, T_max=config.epochs)
        self.generator = torch.Generator().manual_seed(seed)
        self.batch_size = max(32, min(config.batch_size, len(rows.records) // MIN_STEPS_PER_EPOCH))

    def epoch(self) -> float:
        """One pass over the rows in a fresh order; returns the mean training loss."""
        head = self.head
        head.train()
        order = torch.randperm(len(self.y), generator=self.generator)
        total, steps = 0.0, 0
        for b in range(0, len(order), self.batch_size):
            idx = order[b : b + self.batch_size]
            p = self.prompts[idx]
            out = head(self.x[p], self.n[p], self.targets[idx])
            loss = head.loss(out, self.y[idx], self.c[idx], self.m[idx])
            self.optimizer.zero_grad()
            loss.backward()
            self.optimizer.step()
            total, steps = total + loss.item(), steps + 1
        self.scheduler.step()
        head.eval()
        return total / max(steps, 1)

    def state(self) -> dict[str, torch.Tensor]:
        return copy.deepcopy(self.head.state_dict())


def _head_probs(head: PooledHead, x: torch.Tensor, n: torch.Tensor, targets: torch.Tensor) -> np.ndarray:
    head.eval()
    return torch.softmax(head(x, n, targets), dim=-1).double().numpy()


class _Validation:
    """The validation rows, scored as the average of several single-member heads' histograms."""

    def __init__(self, rows: PooledRows, features: PromptFeatures) -> None:
        from sagepred.metrics import Samples

        self.y, self.c, self.m = length_targets(rows.records)
        self.prompts, self.targets = torch.from_numpy(rows.prompt_index), torch.from_numpy(rows.target_index)
        self.x, self.n = features.embeddings, features.counts
        self.samples = Samples.from_records(rows.records)

    @torch.no_grad()
    def score(self, heads: Sequence[PooledHead], criterion: str) -> float:
        """The heads' mixture scored by ``criterion``: ``"nll"`` (:meth:`loss`) or ``"crps"`` (mean CRPS
        in tokens over the samples)."""
        if criterion == "nll":
            return self.loss(heads)
        from sagepred.metrics import crps

        x, n = self.x[self.prompts], self.n[self.prompts]
        probs = np.mean([_head_probs(h, x, n, self.targets) for h in heads], axis=0)
        dist = LengthDistribution.from_histogram(
            probs, log_bin_edges(probs.shape[1], heads[0].config.head.max_length)
        )
        return float(crps(dist, self.samples.observed, self.samples.censored, self.samples.rows).mean())

    @torch.no_grad()
    def loss(self, heads: Sequence[PooledHead], chunk: int = 8192) -> float:
        """The histogram loss of the heads' mixture, averaged over the valid samples."""
        total, weight = 0.0, 0.0
        for b in range(0, len(self.y), chunk):
            s = slice(b, b + chunk)
            p, t = self.prompts[s], self.targets[s]
            log_probs = torch.stack([torch.log_softmax(h(self.x[p], self.n[p], t), dim=-1) for h in heads])
            mixture = torch.logsumexp(log_probs, dim=0) - math.log(len(heads))
            w = float(self.m[s].sum())
            total += float(heads[0].loss(mixture, self.y[s], self.c[s], self.m[s])) * w
            weight += w
        return total / max(weight, 1.0)


def _row_probs(predictor: PooledPredictor, rows: PooledRows, features: PromptFeatures) -> np.ndarray:
    return predictor.head_probs(
        features.embeddings[rows.prompt_index].numpy(),
        features.counts[rows.prompt_index].numpy(),
        rows.target_index,
    )


def _nll(probs: np.ndarray, edges: np.ndarray, records: Sequence[LengthRecord]) -> float:
    from sagepred.distribution import bin_index

    total, count = 0.0, 0
    for row, record in zip(probs, records, strict=True):
        bins = bin_index(record.lengths, edges)
        for b, cens in zip(bins, record.censored, strict=True):
            p = row[b:].sum() if cens else row[b]
            total -= math.log(max(p, 1e-6))
            count += 1
    return total / max(count, 1)


def pooled_log_medians(predictor: PooledPredictor, targets: np.ndarray) -> Callable[[list[str]], np.ndarray]:
    """Prompts to the head's log median (no instruction adjustment), averaged over ``targets``."""

    def log_medians(prompts: list[str]) -> np.ndarray:
        embeddings, counts = predictor.features(prompts)
        rows = np.repeat(np.arange(len(prompts)), len(targets))
        probs = predictor.head_probs(embeddings[rows], counts[rows], np.tile(targets, len(prompts)))
        return log_median(probs, predictor.edges).reshape(len(prompts), len(targets)).mean(axis=1)

    return log_medians


def fit_instruction_settings(
    predictor: PooledPredictor,
    rows: PooledRows,
    features: PromptFeatures,
    min_prompts: int = 8,
    training_prompts: Sequence[str] | None = None,
) -> InstructionSettings:
    """Fit the instruction adjustment on ``rows`` (validation prompts) by maximum likelihood.

    Three groups, each a grid search on the censored histogram likelihood: prose requests (words,
    sentences, paragraphs, pages, one word, yes/no: ``weight`` and ``scale``), list-like requests
    (``list_weight``) and relative ones (``relative_weight``). Rows of CASTILLO targets are used
    when they hold ``min_prompts`` prompts of a group (ten samples per prompt from current
    instruction-tuned models), else every target's; a group with fewer keeps its default.

    With ``training_prompts``, the head's own reading of list counts is measured on their lists first
    (:func:`sagepred.count_reading.measure_count_reading`, no labels), and each ``list_weight`` tried
    comes with the ``list_count_weight`` that makes the prediction follow a list's count fully.
    """
    settings = InstructionSettings()
    castillo_targets = [i for i, t in enumerate(rows.targets) if t.source == "castillo"]
    probe_targets = np.array(castillo_targets or list(range(len(rows.targets))))
    reading = (
        measure_count_reading(pooled_log_medians(predictor, probe_targets), training_prompts, 0.0)
        if training_prompts
        else None
    )
    if reading is not None:
        settings.list_count_slope = reading.slope
        settings.list_reference_count = reading.reference_count
    requests = [parse_length_request(rows.prompts[p]) for p in rows.prompt_index]
    castillo = np.array([rows.targets[t].source == "castillo" for t in rows.target_index], dtype=bool)
    groups = {
        "prose": np.array([r.kind == "absolute" and not is_list_like(r) for r in requests], dtype=bool),
        "list": np.array([r.kind == "absolute" and is_list_like(r) for r in requests], dtype=bool),
        "relative": np.array([r.kind == "relative" for r in requests], dtype=bool),
    }
    fitted: dict[str, Any] = {}
    for group, keep in groups.items():
        if len(set(rows.prompt_index[keep & castillo].tolist())) >= min_prompts:
            keep = keep & castillo
        prompts_of_group = len(set(rows.prompt_index[keep].tolist()))
        if prompts_of_group < min_prompts:
            continue
        subset = rows.select(keep)
        probs = _row_probs(predictor, subset, features)
        reqs = [requests[i] for i in np.flatnonzero(keep)]
        centre = log_median(probs, predictor.edges)
        weights = np.linspace(0.0, 1.0, 11) if group != "relative" else np.linspace(0.0, 1.5, 16)
        scales = (0.6, 0.8, 1.0, 1.25, 1.5) if group == "prose" else (settings.scale,)
        grid = [(w, s) for w in weights for s in scales]
        tokenizers = [predictor.config.targets[t].tokenizer for t in subset.target_index]
        scores = []
        for w, s in grid:
            trial = InstructionSettings(
                weight=w,
                list_weight=w,
                relative_weight=w,
                scale=s,
                list_count_weight=0.0 if reading is None else list_count_weight(w, reading.slope),
                list_reference_count=settings.list_reference_count,
            )
            sh, sc = request_shifts(reqs, centre, tokenizers, trial)
            shifted = shift_log_histogram(probs, predictor.edges, centre, sh, sc)
            scores.append(_nll(shifted, predictor.edges, subset.records))
        w, s = grid[int(np.argmin(scores))]
        if group == "prose":
            settings.weight, settings.scale = float(w), float(s)
        elif group == "list":
            settings.list_weight = float(w)
        else:
            settings.relative_weight = float(w)
        settings.fitted_on += prompts_of_group
        fitted[group] = {"prompts": prompts_of_group, "castillo_only": bool((keep & ~castillo).sum() == 0)}
    if reading is not None:
        settings.list_count_weight = list_count_weight(settings.list_weight, reading.slope)
    return settings


def fit_source_calibrations(
    predictor: PooledPredictor, rows: PooledRows, features: PromptFeatures, seed: int = 0
) -> dict[str, SourceCalibration]:
    """One static calibration per data source of ``rows`` (validation prompts).

    The predictor's uncalibrated predictions of ``rows``, instruction adjustment included, give the
    PITs of all the samples of a source's targets, and those fit one isotonic map
    (:meth:`Recalibrator.fit`, its pseudo-count weighed against the prompts, not the samples: a prompt's
    PITs across targets move together). AlpacaEval's 227 models share about 64 validation prompts: some
    14,000 samples, where one model alone has about 60. An ensemble head also gets a widening by its members'
    spread (:func:`~sagepred.calibration.fit_spread_widening`) where a cross-fitted check by prompt says
    it carries over; the map is then fitted on the widened predictions, and the map of the unwidened
    ones is kept for spread-free views (per-target exports).
    """
    from sagepred.calibration import Recalibrator, fit_spread_widening, interval_coverage, sample_pits

    sources = np.array([t.source for t in rows.targets], dtype=object)[rows.target_index]
    targets = np.array([predictor.target_index(t.name, field=None) for t in rows.targets])[rows.target_index]
    ensemble = predictor.head.histogram.config.members > 1
    out: dict[str, SourceCalibration] = {}
    for source in sorted(set(sources)):
        mask = sources == source
        p = rows.prompt_index[mask]
        records = [r for r, m in zip(rows.records, mask, strict=True) if m]
        dist, spread = predictor.uncalibrated(
            [rows.prompts[i] for i in p],
            features.embeddings[p].numpy(),
            features.counts[p].numpy(),
            targets[mask],
        )
        pits = sample_pits(dist, records)
        prompts = int(np.unique(p).size)
        unwidened = Recalibrator.fit(pits, units=prompts)
        widening, check = fit_spread_widening(dist, records, spread, p, seed=seed) if ensemble else (None, {})
        widened = dist if widening is None else widening(dist, spread)
        recalibrator = (
            unwidened if widening is None else Recalibrator.fit(sample_pits(widened, records), units=prompts)
        )
        after = sample_pits(recalibrator(widened), records)
        fitted = {
            "shared": f"the pooled model's validation prompts of every {source} target",
            "targets": len(set(targets[mask].tolist())),
            "records": len(records),
            "prompts": prompts,
            "samples": int(pits.size),
            "coverage_80_before": round(interval_coverage(pits), 4),
            "coverage_80_after": round(interval_coverage(after), 4),
        }
        if check:
            fitted["spread_widening"] = check
        out[source] = SourceCalibration(
            recalibrator, widening, unwidened if widening is not None else None, fitted
        )
    return out


# ---------------------------------------------------------------------------- evaluation
def global_histogram(records: Sequence[LengthRecord], n: int) -> LengthDistribution:
    """The global-histogram baseline of ``records``, tiled ``n`` times."""
    edges = log_bin_edges()
    return LengthDistribution.tiled_histogram(
        histogram_probs(np.concatenate([r.lengths for r in records]), edges), edges, n
    )


def predict_rows(
    predictor: PooledPredictor,
    rows: PooledRows,
    features: PromptFeatures,
    adjust: bool = True,
    calibrated: bool = True,
) -> LengthDistribution:
    """Distributions for ``rows`` (each with its own target) from precomputed prompt features, with the
    instruction adjustment (``adjust``) and the source maps (``calibrated``) as ``predict`` has them."""
    return predictor.predict_from_features(
        [rows.prompts[p] for p in rows.prompt_index] if adjust else None,
        features.embeddings[rows.prompt_index].numpy(),
        features.counts[rows.prompt_index].numpy(),
        rows.target_index,
        calibrated,
    )


METRIC_KEYS = ("crps", "kendall_tau", "coverage_80", "pit_ks", "mae_median")


def evaluate_targets(
    dist: LengthDistribution, rows: PooledRows, train: PooledRows, targets: Sequence[int] | None = None
) -> dict[str, dict[str, Any]]:
    """Per-target metrics of ``dist`` (one row per row of ``rows``) beside each target's global histogram."""
    from sagepred.metrics import compute_metrics

    out: dict[str, dict[str, Any]] = {}
    for t in targets if targets is not None else range(len(rows.targets)):
        mask = rows.rows_of(t)
        train_mask = train.rows_of(t)
        if mask.sum() < 2 or train_mask.sum() < 1:
            continue
        held = [rows.records[i] for i in np.flatnonzero(mask)]
        metrics = compute_metrics(dist[np.flatnonzero(mask)], held)
        baseline = compute_metrics(
            global_histogram([train.records[i] for i in np.flatnonzero(train_mask)], len(held)), held
        )
        entry = {k: metrics.get(k) for k in METRIC_KEYS}
        entry["crps_global"] = baseline["crps"]
        entry["crps_ratio"] = metrics["crps"] / baseline["crps"] if baseline["crps"] else None
        entry["prompts"] = len(held)
        out[rows.targets[t].name] = entry
    return out


# ---------------------------------------------------------------------------- a new target
@dataclass
class FewShotSettings:
    """How a new target's embedding is fitted from a few records."""

    steps: int = field(default=300, metadata={"help": "full-batch Adam steps"})
    learning_rate: float = field(default=0.05, metadata={"help": "Adam learning rate"})
    prior: float = field(default=1.0, metadata={"help": "strength of the Gaussian prior on the embedding"})
    fit_temperature: bool = field(default=True, metadata={"help": "also fit the target's logit temperature"})
    seed: int = field(default=0, metadata={"help": "seed"})


def fit_new_target(
    pooled: PooledPredictor,
    info: TargetInfo,
    records: Sequence[LengthRecord],
    embeddings: np.ndarray,
    counts: np.ndarray,
    settings: FewShotSettings | None = None,
) -> PooledPredictor:
    """A copy of ``pooled`` that also knows ``info``, fitted from ``records`` (their prompt features given).

    The backbone, the other targets and the instruction adjustment are unchanged. The new target's
    features come from its records (:func:`target_statistics`); its embedding starts at the mean of
    the known ones and is fitted with a Gaussian prior (mean and per-dimension variance of the known
    embeddings, weight ``prior / records``); its temperature likewise around 0.
    """
    settings = settings or FewShotSettings()
    if not records:
        raise InputError(f"no records for target {info.name!r}", field="--data")
    if info.name in pooled.target_names:
        raise InputError(f"the checkpoint already knows target {info.name!r}", field="--model")
    torch.manual_seed(settings.seed)
    info = copy.deepcopy(info)
    info.verbosity, info.spread = target_statistics(records)
    info.records = len(records)
    info.added = True
    config = copy.deepcopy(pooled.config)
    config.targets.append(info)
    grown = PooledPredictor(config, encoder=pooled._encoder)
    old = pooled.head.state_dict()
    known = old["target_embedding"]
    mean = known.mean(dim=1)
    var = known.var(dim=1).clamp(min=1e-3) if known.shape[1] > 1 else torch.ones_like(mean)
    state = {**old}
    state["target_embedding"] = torch.cat([known, mean[:, None]], dim=1)
    state["log_temperature"] = torch.cat([old["log_temperature"], torch.zeros(1)])
    grown.head.load_state_dict(state)
    head = grown.head
    head.eval()
    row = len(config.targets) - 1
    new_embedding = torch.nn.Parameter(mean.clone())
    new_temperature = torch.nn.Parameter(torch.zeros(()))
    params = [new_embedding] + ([new_temperature] if settings.fit_temperature else [])
    optimizer = torch.optim.Adam(params, lr=settings.learning_rate)
    x = torch.as_tensor(embeddings, dtype=torch.float32)
    n = torch.as_tensor(counts, dtype=torch.float32)
    y, c, m = length_targets(list(records))
    rows = torch.full((len(records),), row, dtype=torch.long)
    weight = settings.prior / len(records)
    for _ in range(settings.steps):
        inputs = head.member_inputs(x, rows, new_embedding[:, None].expand(-1, len(records), -1))
        logits = head.histogram(inputs, n, torch.exp(-new_temperature))
        nll = head.loss(logits, y, c, m)
        penalty = 0.5 * (((new_embedding - mean) ** 2) / var).mean() + 0.5 * (new_temperature / 0.3) ** 2
        loss = nll + weight * penalty
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        head.target_embedding[:, row] = new_embedding.detach()
        head.log_temperature[row] = new_temperature.detach()
    grown.config.training = {
        **pooled.config.training,
        "added_targets": [
            *pooled.config.training.get("added_targets", []),
            {"name": info.name, "records": len(records), **asdict(settings)},
        ],
    }
    return grown
