"""One pooled, target-conditioned predictor: a shared head over every target, told which target by a
learned target embedding and a few target features, plus the prompt's explicit length instruction.

Inputs of the head (a :class:`~sagepred.heads.HistogramHead` over their concatenation):

* the frozen encoder's prompt embedding and the prompt-length feature (as :class:`LengthPredictor`);
* the target's learned embedding (``target_dim`` numbers per target);
* target features read from its training records (:class:`TargetInfo`): the mean and spread of
  ``log(1 + length)`` ("verbosity"), the generation cap, and the tokenizer family (one-hot).

After the head, an explicit length instruction (:mod:`sagepred.length_instructions`) moves the
distribution in log-length space: the median moves a calibrated share ``weight`` of the way to the
asked-for length (absolute requests) or by the asked-for factor (relative requests), and the spread
is scaled by a calibrated ``scale``. Both are fitted on the validation prompts of the training data
(:class:`InstructionSettings`).

Last, each row goes through its data source's recalibration map (an isotonic map of the PIT, one per
source, fitted on the validation prompts of all that source's targets; ``config.calibration``).

A new target joins from a few records by fitting only its embedding and temperature
(``sagepred.training.pooled.fit_new_target``). Checkpoint: ``config.json`` (``kind: "pooled"``,
:class:`PooledConfig` with every target) + ``model.safetensors``; no pickle.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from sagepred import __version__
from sagepred.calibration import Calibration, Recalibrator, SpreadWidening, ensemble_spread
from sagepred.checkpoint import (
    FILES_KEY,
    check_version,
    file_digests,
    positive_config_int,
    read_json,
    read_tensors,
    require_files,
    verify_files,
    write_tensors,
)
from sagepred.distribution import LengthDistribution, log_bin_edges
from sagepred.encoders import DEFAULT_ENCODER, TextEncoder, load_encoder
from sagepred.errors import CheckpointError, InputError
from sagepred.heads import LENGTH_FEATURE_SCALE, HeadConfig, HistogramHead
from sagepred.instruction_adjust import (
    InstructionSettings,
    adjust_histograms,
)

if TYPE_CHECKING:
    from sagepred.predictor import LengthPredictor

POOLED_KIND = "pooled"
POOLED_FORMAT_VERSION = 1
CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
ENCODER_FOLDER = "encoder"
"""Subfolder of a checkpoint whose encoder was fine-tuned (Hugging Face layout, safetensors)."""
TOKENIZER_FAMILIES = ("cl100k", "llama3", "qwen", "llama2", "mistral-v1", "mistral-v3", "llama4")
"""Tokenizer families with their own one-hot feature (anything else is 'other')."""
NUM_TARGET_FEATURES = 4 + len(TOKENIZER_FAMILIES) + 1


@dataclass
class TargetInfo:
    """One target the pooled model knows, and the features it is conditioned on."""

    name: str = field(metadata={"help": "canonical name (the registry's, else the data's model name)"})
    target_model: str = field(default="", metadata={"help": "the model's name in its data"})
    source: str = field(default="", metadata={"help": "castillo, alpaca_eval, jsonl or few-shot"})
    tokenizer: str | None = field(default=None, metadata={"help": "tokenizer family counting its tokens"})
    verbosity: float = field(default=5.5, metadata={"help": "mean log(1 + length) of its training samples"})
    spread: float = field(default=1.0, metadata={"help": "std of log(1 + length) of its training samples"})
    max_tokens: float | None = field(default=None, metadata={"help": "generation cap, if known"})
    records: int = field(default=0, metadata={"help": "training records (prompts)"})
    aliases: list[str] = field(default_factory=list, metadata={"help": "other names it answers to"})
    added: bool = field(
        default=False,
        metadata={
            "help": "added to a trained model from a few records: no spread widening (its members' "
            "disagreement reflects the few-record fit, which the widening was not fitted on)"
        },
    )

    def features(self) -> list[float]:
        """The target-feature vector (length :data:`NUM_TARGET_FEATURES`)."""
        cap = math.log1p(self.max_tokens) / LENGTH_FEATURE_SCALE if self.max_tokens else 1.2
        family = [float(self.tokenizer == f) for f in TOKENIZER_FAMILIES]
        other = float(self.tokenizer not in TOKENIZER_FAMILIES)
        return [
            self.verbosity / 5.0 - 1.0,
            self.spread,
            cap,
            float(self.source == "castillo"),
            *family,
            other,
        ]


@dataclass
class PooledConfig:
    """Everything needed to rebuild a pooled predictor (saved as ``config.json``)."""

    targets: list[TargetInfo] = field(default_factory=list, metadata={"help": "known targets, in row order"})
    encoder: str = field(default=DEFAULT_ENCODER, metadata={"help": "Hugging Face encoder id or folder"})
    encoder_max_length: int = field(default=256, metadata={"help": "encoder tokens kept per prompt"})
    encoder_bundled: bool = field(
        default=False, metadata={"help": "the (fine-tuned) encoder is saved in the checkpoint's encoder/"}
    )
    target_dim: int = field(default=16, metadata={"help": "size of the learned target embedding"})
    use_target_features: bool = field(default=True, metadata={"help": "feed TargetInfo.features()"})
    embedding_dim: int = field(default=384, metadata={"help": "encoder embedding size"})
    head: HeadConfig = field(default_factory=HeadConfig, metadata={"help": "histogram head settings"})
    instructions: InstructionSettings = field(
        default_factory=InstructionSettings, metadata={"help": "length-instruction adjustment"}
    )
    calibration: dict[str, dict[str, Any]] = field(
        default_factory=dict,
        metadata={
            "help": "per data source, a recalibration map fitted on the validation prompts "
            "(Recalibrator.to_dict plus what it was fitted on); targets of other sources are not mapped"
        },
    )
    training: dict[str, Any] = field(default_factory=dict, metadata={"help": "training settings used"})
    data: dict[str, Any] = field(default_factory=dict, metadata={"help": "data sources and sizes"})
    metrics: dict[str, Any] = field(default_factory=dict, metadata={"help": "held-out metrics"})
    kind: str = POOLED_KIND
    format_version: int = POOLED_FORMAT_VERSION
    sagepred_version: str = __version__

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, payload: dict[str, Any], source: str = CONFIG_NAME) -> PooledConfig:
        """Parse ``config.json``; a missing key or another version is a :class:`CheckpointError`."""
        version = check_version(payload, POOLED_FORMAT_VERSION, source)
        try:
            return cls(
                targets=[TargetInfo(**t) for t in payload["targets"]],
                encoder=payload["encoder"],
                encoder_max_length=positive_config_int(payload["encoder_max_length"], "encoder_max_length"),
                encoder_bundled=bool(payload.get("encoder_bundled", False)),
                target_dim=int(payload["target_dim"]),
                use_target_features=bool(payload.get("use_target_features", True)),
                embedding_dim=int(payload["embedding_dim"]),
                head=HeadConfig(**payload["head"]),
                instructions=InstructionSettings(**payload.get("instructions", {})),
                calibration=_checked_calibration(payload.get("calibration", {})),
                training=payload.get("training", {}),
                data=payload.get("data", {}),
                metrics=payload.get("metrics", {}),
                format_version=version,
                sagepred_version=payload.get("sagepred_version", "unknown"),
            )
        except (KeyError, TypeError, ValueError) as err:
            raise CheckpointError(f"{source}: malformed pooled config ({err})") from None


@dataclass
class SourceCalibration:
    """A data source's static calibration in a pooled checkpoint (its ``config.json`` entry).

    With an ensemble ``widening``, rows are widened by their members' spread and then mapped by
    ``recalibrator`` (fitted on widened predictions); ``unwidened`` is the map fitted on the same
    held-out predictions without widening, for a view that does not compute the spread (a per-target
    export).
    """

    recalibrator: Recalibrator
    widening: SpreadWidening | None = None
    unwidened: Recalibrator | None = None
    fitted: dict[str, Any] = field(default_factory=dict)

    def apply(self, dist: LengthDistribution, spread: np.ndarray | None = None) -> LengthDistribution:
        """Widen by ``spread`` and map (with a widening and a spread), else the spread-free map."""
        if self.widening is not None and spread is not None:
            return self.recalibrator(self.widening(dist, spread))
        return self.spreadless_map(dist)

    @property
    def spreadless_map(self) -> Recalibrator:
        """The map for predictions that carry no ensemble spread."""
        return (
            self.unwidened if self.widening is not None and self.unwidened is not None else self.recalibrator
        )

    def to_dict(self) -> dict[str, Any]:
        payload = {**self.recalibrator.to_dict(), "fitted": self.fitted}
        if self.widening is not None:
            payload["widening"] = self.widening.to_dict()
        if self.unwidened is not None:
            payload["unwidened_mapping"] = self.unwidened.to_dict()["mapping"]
        return payload

    @classmethod
    def from_dict(cls, payload: dict[str, Any]) -> SourceCalibration:
        widening = SpreadWidening.from_dict(payload["widening"]) if payload.get("widening") else None
        unwidened = None
        if payload.get("unwidened_mapping") is not None:
            unwidened = Recalibrator.from_dict({"mapping": payload["unwidened_mapping"]})
        return cls(Recalibrator.from_dict(payload), widening, unwidened, payload.get("fitted", {}))


def _checked_calibration(payload: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The ``calibration`` section, every map checked (a bad one raises ``ValueError`` at load, not later)."""
    for source, entry in payload.items():
        try:
            SourceCalibration.from_dict(entry)
        except (KeyError, TypeError, ValueError) as err:
            raise ValueError(f"calibration map of {source!r}: {err}") from None
    return dict(payload)


def is_pooled_checkpoint(path: str | Path) -> bool:
    """Whether ``path`` is a folder holding a pooled checkpoint's ``config.json``."""
    config = Path(path) / CONFIG_NAME
    if not config.is_file():
        return False
    try:
        return json.loads(config.read_text(encoding="utf-8")).get("kind") == POOLED_KIND
    except (json.JSONDecodeError, OSError, AttributeError):
        return False


class PooledHead(nn.Module):
    """Histogram head over ``[prompt embedding, target features, target embedding]`` + prompt length.

    With ``config.head.members`` > 1 the head is a deep ensemble whose members each have their own
    MLP and their own target embeddings (``target_embedding`` is ``(members, targets, target_dim)``),
    trained apart (:func:`~sagepred.training.pooled.train_pooled`) and put together by
    :meth:`from_members`; a target's temperature is shared by its members.
    """

    def __init__(self, config: PooledConfig) -> None:
        super().__init__()
        self.config = config
        extra = NUM_TARGET_FEATURES if config.use_target_features else 0
        head_config = HeadConfig(**{**asdict(config.head), "kind": "histogram"})
        head_config.input_dim = config.embedding_dim + extra + config.target_dim
        self.histogram = HistogramHead(head_config)
        n = max(len(config.targets), 1)
        self.target_embedding = nn.Parameter(torch.randn(head_config.members, n, config.target_dim) * 0.1)
        self.log_temperature = nn.Parameter(torch.zeros(n), requires_grad=False)
        self.register_buffer("target_features", self._feature_table(), persistent=False)

    @classmethod
    def from_members(cls, config: PooledConfig, members: Sequence[PooledHead]) -> PooledHead:
        """One ensemble head of single-member heads trained apart (same targets, same sizes)."""
        head = cls(config)
        if head.histogram.config.members != len(members):
            raise ValueError(
                f"config.head.members is {head.histogram.config.members}, got {len(members)} heads"
            )
        with torch.no_grad():
            for k, member in enumerate(members):
                head.histogram.member_mlps[k].load_state_dict(member.histogram.mlp.state_dict())
                head.target_embedding[k] = member.target_embedding[0]
        return head

    def _feature_table(self) -> torch.Tensor:
        rows = [t.features() for t in self.config.targets] or [[0.0] * NUM_TARGET_FEATURES]
        return torch.tensor(rows, dtype=torch.float32)

    def refresh_features(self) -> None:
        """Rebuild the target-feature table after ``config.targets`` changed."""
        self.target_features = self._feature_table().to(self.target_embedding.device)

    def member_inputs(
        self, embeddings: torch.Tensor, targets: torch.Tensor, target_embedding: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Each member's head inputs ``(members, batch, ·)``; ``target_embedding`` ``(members, batch,
        target_dim)`` replaces the rows' learned ones (to fit a new target's)."""
        members = len(self.target_embedding)
        parts = [embeddings.expand(members, -1, -1)]
        if self.config.use_target_features:
            parts.append(self.target_features[targets].expand(members, -1, -1))
        parts.append(self.target_embedding[:, targets] if target_embedding is None else target_embedding)
        return torch.cat(parts, dim=-1)

    def forward(
        self, embeddings: torch.Tensor, prompt_lens: torch.Tensor, targets: torch.Tensor
    ) -> torch.Tensor:
        """Logits ``(batch, bins)`` for rows of (embedding, prompt length, target index)."""
        scale = torch.exp(-self.log_temperature[targets]).unsqueeze(-1)
        return self.histogram(self.member_inputs(embeddings, targets), prompt_lens, scale)

    def loss(self, outputs: torch.Tensor, lengths: torch.Tensor, censored: torch.Tensor, mask: torch.Tensor):
        """The histogram head's censored NLL (see :mod:`sagepred.heads`)."""
        return self.histogram.loss(outputs, lengths, censored, mask)


class PooledPredictor(nn.Module):
    """One model for every target it knows: ``predict(prompts, target)``."""

    def __init__(self, config: PooledConfig, encoder: TextEncoder | None = None) -> None:
        super().__init__()
        self.config = config
        self._encoder = encoder
        self._encoder_digest = ""
        self.head = PooledHead(config)
        self.edges = log_bin_edges(config.head.num_bins, config.head.max_length)

    @property
    def encoder(self) -> TextEncoder:
        """The text encoder (loaded on first use; a bundled one from the checkpoint's ``encoder/``)."""
        if self._encoder is None:
            self._encoder = load_encoder(self.config.encoder, max_length=self.config.encoder_max_length)
            if self.config.encoder_bundled and self._encoder_digest:
                # embedding caches key on the name: make it name these weights, not just the folder
                self._encoder.name = f"{self.config.encoder}#{self._encoder_digest[:16]}"
        return self._encoder

    @property
    def target_names(self) -> list[str]:
        return [t.name for t in self.config.targets]

    def target_index(self, name: str, field: str | None = "--model") -> int:
        """The row of the target ``name`` names (canonical name, data name or alias).

        An unknown name is one :class:`InputError` that lists close names and names ``--init``.
        """
        from sagepred.targets import UnknownTargetError, match_name

        try:
            info = match_name(
                name,
                self.config.targets,
                primary=lambda t: (t.name, t.target_model),
                aliases=lambda t: tuple(t.aliases),
                label=lambda t: t.name,
                field=field,
            )
        except UnknownTargetError as err:
            raise InputError(
                f"this pooled checkpoint does not know target {name!r}{err.hint} "
                f"(add it from a few records: sagepred train --model {name} --data FILE.jsonl --init CHECKPOINT)",
                field=field,
            ) from None
        return self.target_names.index(info.name)

    # ------------------------------------------------------------------ inference
    def features(self, prompts: Sequence[str], batch_size: int = 64, progress: bool = False):
        """``(embeddings, encoder token counts)`` of prompts."""
        encoder = self.encoder
        embeddings = encoder.encode(prompts, batch_size=batch_size, progress=progress)
        return embeddings, np.asarray(encoder.count_tokens(prompts), dtype=np.float32)

    def head_probs(self, embeddings: np.ndarray, token_counts: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """Histogram probabilities ``(n, bins)`` of the head alone (no instruction adjustment)."""
        return self.head_outputs(embeddings, token_counts, targets)[0]

    @torch.no_grad()
    def head_outputs(
        self, embeddings: np.ndarray, token_counts: np.ndarray, targets: np.ndarray, chunk: int = 8192
    ) -> tuple[np.ndarray, np.ndarray]:
        """The head's histograms ``(n, bins)`` (the members' average) and the members' spread ``(n,)``
        (:func:`~sagepred.calibration.ensemble_spread`; zeros for a single member)."""
        self.head.eval()
        probs, spread = [], []
        for start in range(0, len(targets), chunk):
            rows = slice(start, start + chunk)
            t = torch.as_tensor(np.asarray(targets)[rows], dtype=torch.long)
            scale = torch.exp(-self.head.log_temperature[t]).unsqueeze(-1)
            logits = self.head.histogram.member_logits(
                self.head.member_inputs(torch.as_tensor(embeddings[rows], dtype=torch.float32), t),
                torch.as_tensor(token_counts[rows], dtype=torch.float32),
                scale,
            )
            members = torch.softmax(logits, dim=-1).double().numpy()
            probs.append(members.mean(axis=0))
            spread.append(ensemble_spread(members, self.edges))
        if not probs:
            return np.zeros((0, len(self.edges) - 1)), np.zeros(0)
        return np.concatenate(probs), np.concatenate(spread)

    def adjust(
        self,
        probs: np.ndarray,
        prompts: Sequence[str],
        targets: np.ndarray,
        settings: InstructionSettings | None = None,
    ) -> np.ndarray:
        """Apply the length-instruction adjustment to head probabilities (rows without one unchanged)."""
        tokenizers = [self.config.targets[int(t)].tokenizer for t in targets]
        return adjust_histograms(probs, prompts, self.edges, tokenizers, settings or self.config.instructions)

    def source_calibration(self, target: int) -> SourceCalibration | None:
        """The static calibration of ``target``'s data source, if the checkpoint has one."""
        payload = self.config.calibration.get(self.config.targets[int(target)].source)
        return None if payload is None else SourceCalibration.from_dict(payload)

    def recalibrate(
        self, dist: LengthDistribution, targets: np.ndarray, spread: np.ndarray | None = None
    ) -> LengthDistribution:
        """Each row through its target's source calibration (rows of sources without one unchanged):
        widened by its ensemble ``spread`` where the source has a widening and the target is not
        :attr:`TargetInfo.added`, then mapped."""
        targets = np.asarray(targets, dtype=int)
        sources = np.array([t.source for t in self.config.targets], dtype=object)[targets]
        widens = np.array([not t.added for t in self.config.targets], dtype=bool)[targets]
        if spread is None:
            widens[:] = False
        knots, cdf = dist.row_knots.copy(), dist.row_cdf.copy()
        changed = False
        for source, payload in self.config.calibration.items():
            calibration = SourceCalibration.from_dict(payload)
            for rows, row_spread in (
                (np.flatnonzero((sources == source) & widens), spread),
                (np.flatnonzero((sources == source) & ~widens), None),
            ):
                if rows.size:
                    mapped = calibration.apply(dist[rows], None if row_spread is None else row_spread[rows])
                    knots[rows], cdf[rows] = mapped.row_knots, mapped.row_cdf
                    changed = True
        return LengthDistribution(knots, cdf, kind=dist.kind) if changed else dist

    def predict_from_features(
        self,
        prompts: Sequence[str] | None,
        embeddings: np.ndarray,
        token_counts: np.ndarray,
        targets: np.ndarray,
        calibrated: bool = True,
    ) -> LengthDistribution:
        """Distributions from precomputed features, one target index per row: the head, the instruction
        adjustment (skipped when ``prompts`` is ``None``), then with ``calibrated`` the source's
        calibration (the widening by the members' spread where it has one, and its map)."""
        dist, spread = self.uncalibrated(prompts, embeddings, token_counts, targets)
        return self.recalibrate(dist, targets, spread) if calibrated else dist

    def uncalibrated(
        self,
        prompts: Sequence[str] | None,
        embeddings: np.ndarray,
        token_counts: np.ndarray,
        targets: np.ndarray,
    ) -> tuple[LengthDistribution, np.ndarray]:
        """The head's distributions with the instruction adjustment (skipped when ``prompts`` is
        ``None``) and no calibration, with the members' spread (what the calibration reads)."""
        probs, spread = self.head_outputs(embeddings, token_counts, targets)
        if prompts is not None:
            probs = self.adjust(probs, prompts, targets)
        return LengthDistribution.from_histogram(probs, self.edges), spread

    def predict(
        self,
        prompts: Sequence[str],
        target: str | int | None = None,
        prompt_lens: Sequence[int | None] | None = None,
        batch_size: int = 64,
        progress: bool = False,
    ) -> LengthDistribution:
        """Predicted output-length distributions of ``target`` (name or row), one row per prompt."""
        del prompt_lens
        if len(prompts) == 0:
            raise ValueError("predict needs at least one prompt")
        if target is None:
            raise InputError("a pooled checkpoint needs a target: pass --model TARGET", field="--model")
        index = target if isinstance(target, int) else self.target_index(target)
        embeddings, counts = self.features(prompts, batch_size=batch_size, progress=progress)
        return self.predict_from_features(prompts, embeddings, counts, np.full(len(prompts), index))

    @torch.no_grad()
    def export_target(self, target: str, field: str | None = "--target") -> LengthPredictor:
        """The pooled model bound to ``target`` as a standalone per-target :class:`LengthPredictor`.

        The target's features and learned embedding are constant inputs of the head's first layer, so
        they fold into its bias (each ensemble member's own); the target's logit temperature folds into
        the last layer. The result is an ordinary histogram-head checkpoint (same encoder, same bins)
        whose predictions equal ``for_target(target)``'s up to float rounding, instruction adjustment
        and the source's recalibration map included (``config.instructions``, ``config.tokenizer`` and
        a :class:`~sagepred.calibration.Calibration` without widening). Provenance and metrics are the
        caller's to add.
        """
        from sagepred.predictor import LengthPredictor, PredictorConfig

        if self.config.encoder_bundled:
            raise InputError(
                "a pooled checkpoint with a fine-tuned encoder cannot be exported per target "
                "(the per-target format names its encoder, it does not bundle one)",
                field=field,
            )
        index = self.target_index(target, field=field)
        info = self.config.targets[index]
        head = HeadConfig(**{**asdict(self.config.head), "kind": "histogram"})
        head.input_dim = self.config.embedding_dim
        config = PredictorConfig(
            target_model=info.target_model or info.name,
            encoder=self.config.encoder,
            encoder_max_length=self.config.encoder_max_length,
            head=head,
            instructions=copy.deepcopy(self.config.instructions),
            tokenizer=info.tokenizer,
        )
        exported = LengthPredictor(config, encoder=self._encoder)
        factor = torch.exp(-self.head.log_temperature[index])
        members = zip(exported.head.member_mlps, self.head.histogram.member_mlps, strict=True)
        for k, (mlp, pooled_mlp) in enumerate(members):
            constant = [self.head.target_embedding[k, index]]
            if self.config.use_target_features:
                constant.insert(0, self.head.target_features[index])
            _fold_member(mlp, pooled_mlp, torch.cat(constant), self.config.embedding_dim, factor)
        source_calibration = self.source_calibration(index)
        if source_calibration is not None:
            exported.calibration = Calibration(
                source_calibration.spreadless_map, fitted=dict(source_calibration.fitted)
            )
        exported.eval()
        return exported

    def for_target(self, target: str, field: str | None = "--target") -> TargetPredictor:
        """A single-target view with the ``predict(prompts)`` interface of :class:`LengthPredictor`."""
        return TargetPredictor(self, self.target_index(target, field=field))

    # ------------------------------------------------------------------ persistence
    def save_pretrained(self, directory: str | Path, include_encoder: bool | None = None) -> Path:
        """Write ``config.json`` + ``model.safetensors`` atomically (temp folder, then rename).

        With ``include_encoder`` (default: when ``config.encoder_bundled``) the encoder's weights and
        tokenizer go to ``encoder/`` (needed once the encoder was fine-tuned), listed in the digests.
        """
        from sagepred.io import atomic_directory

        directory = Path(directory)
        bundle = self.config.encoder_bundled if include_encoder is None else include_encoder
        with atomic_directory(directory) as tmp:
            state = {k: v.detach().cpu().contiguous() for k, v in self.head.state_dict().items()}
            write_tensors(state, tmp / WEIGHTS_NAME, metadata={"format": "pt", "sagepred_kind": POOLED_KIND})
            config = self.config.to_dict()
            payload = {**config, FILES_KEY: file_digests(tmp, [WEIGHTS_NAME])}
            if bundle:
                encoder = self.encoder
                encoder.model.save_pretrained(tmp / ENCODER_FOLDER, safe_serialization=True)
                encoder.tokenizer.save_pretrained(tmp / ENCODER_FOLDER)
                names = sorted(f.name for f in (tmp / ENCODER_FOLDER).iterdir() if f.is_file())
                _, sep, options = self.config.encoder.partition("?")
                payload.update(
                    encoder=ENCODER_FOLDER + sep + options,  # the spec's options (pool_layers, tail) stay
                    encoder_bundled=True,
                    encoder_files=file_digests(tmp / ENCODER_FOLDER, names),
                )
            (tmp / CONFIG_NAME).write_text(json.dumps(payload, indent=2) + "\n")
        return directory

    @classmethod
    def from_pretrained(cls, path: str | Path, encoder: TextEncoder | None = None) -> PooledPredictor:
        """Load a pooled checkpoint folder (sha256 of the weights checked first)."""
        folder = Path(path)
        config_path, weights_path = require_files(
            folder, CONFIG_NAME, WEIGHTS_NAME, what="a pooled checkpoint"
        )
        payload = read_json(config_path)
        if payload.get("kind") != POOLED_KIND:
            raise CheckpointError(f"{config_path}: not a pooled checkpoint (no kind: {POOLED_KIND!r})")
        config = PooledConfig.from_dict(payload, source=str(config_path))
        verify_files(folder, payload, config_path)
        digest = ""
        if config.encoder_bundled:
            encoder_folder = folder / ENCODER_FOLDER
            if not payload.get("encoder_files"):
                raise CheckpointError(f"{config_path}: encoder_bundled but no encoder_files listed")
            verify_files(encoder_folder, {FILES_KEY: payload["encoder_files"]}, config_path)
            _, sep, options = config.encoder.partition("?")
            config.encoder = str(encoder_folder.resolve()) + sep + options
            digest = payload["encoder_files"].get("model.safetensors", "")
        predictor = cls(config, encoder=encoder)
        predictor._encoder_digest = digest
        state = read_tensors(weights_path)
        if state.get("target_embedding") is not None and state["target_embedding"].dim() == 2:
            state["target_embedding"] = state["target_embedding"].unsqueeze(0)  # before ensembles
        expected = predictor.head.state_dict()
        bad = sorted(
            set(expected) ^ set(state)
            | {k for k in set(expected) & set(state) if expected[k].shape != state[k].shape}
        )
        if bad:
            raise CheckpointError(f"{weights_path}: weights do not match the config (tensors {bad[:4]})")
        predictor.head.load_state_dict(state)
        predictor.eval()
        return predictor


def _fold_member(
    mlp: nn.Sequential,
    pooled_mlp: nn.Sequential,
    target_inputs: torch.Tensor,
    width: int,
    factor: torch.Tensor,
) -> None:
    """Copy one pooled member into a per-target one: the target's constant inputs fold into the first
    layer's bias, its logit temperature into the last layer."""
    for mine, theirs in zip(mlp, pooled_mlp, strict=True):
        if isinstance(mine, nn.Linear) and mine.in_features == theirs.in_features:
            mine.weight.copy_(theirs.weight)
            mine.bias.copy_(theirs.bias)
    first_mine, first_pooled = mlp[0], pooled_mlp[0]
    weight = first_pooled.weight
    first_mine.weight.copy_(torch.cat([weight[:, :width], weight[:, -1:]], dim=1))
    first_mine.bias.copy_(first_pooled.bias + weight[:, width:-1] @ target_inputs)
    last = mlp[len(mlp) - 1]
    last.weight.mul_(factor)
    last.bias.mul_(factor)


@dataclass
class TargetView:
    """What callers of a per-target checkpoint read from ``predictor.config``, for a bound pooled target."""

    name: str = field(metadata={"help": "the target's canonical name"})
    target_model: str = field(metadata={"help": "the target's model name"})
    encoder: str = field(metadata={"help": "the pooled model's encoder"})
    head: HeadConfig = field(metadata={"help": "the pooled histogram head's settings"})
    info: TargetInfo = field(metadata={"help": "the target as the pooled model knows it"})
    data: dict[str, Any] = field(default_factory=dict, metadata={"help": "the pooled model's data summary"})
    lora: None = field(default=None, metadata={"help": "always None (no adapter)"})
    kind: str = POOLED_KIND


class TargetPredictor:
    """A pooled predictor bound to one target: ``predict(prompts)`` and ``predict_from_features`` like a
    per-target :class:`~sagepred.predictor.LengthPredictor` (what ``load_predictor('DIR@TARGET')``
    returns)."""

    def __init__(self, pooled: PooledPredictor, index: int) -> None:
        self.pooled = pooled
        self.index = index
        info = pooled.config.targets[index]
        self.config = TargetView(
            name=info.name,
            target_model=info.target_model or info.name,
            encoder=pooled.config.encoder,
            head=pooled.config.head,
            info=info,
            data=pooled.config.data,
        )

    @property
    def target_model(self) -> str:
        return self.config.target_model

    def predict_from_features(
        self,
        embeddings: np.ndarray,
        token_counts: np.ndarray,
        calibrated: bool = True,
        prompts: Sequence[str] | None = None,
    ) -> LengthDistribution:
        """Distributions from precomputed features; the instruction adjustment needs ``prompts``
        (without them, as in the semantic history's calls, the head's output is returned), and
        ``calibrated`` applies the source's recalibration map."""
        targets = np.full(len(embeddings), self.index)
        return self.pooled.predict_from_features(prompts, embeddings, token_counts, targets, calibrated)

    @property
    def encoder(self) -> TextEncoder:
        """The pooled model's encoder (so callers can hand it the embedding cache)."""
        return self.pooled.encoder

    def predict(
        self,
        prompts: Sequence[str],
        prompt_lens: Sequence[int | None] | None = None,
        batch_size: int = 64,
        progress: bool = False,
    ) -> LengthDistribution:
        """Predicted distributions of the bound target."""
        return self.pooled.predict(prompts, self.index, prompt_lens, batch_size=batch_size, progress=progress)
