"""The output-length predictor: a sentence encoder (optionally LoRA-tuned) + a distribution head.

Checkpoint layout (``save_pretrained`` / ``from_pretrained``), in the Hugging Face style:

* ``config.json`` — :class:`PredictorConfig` (format version, target model, encoder id, head and
  LoRA settings, training settings, data provenance, validation metrics) and ``files``: the sha256
  of every weight and adapter file beside it, checked by ``from_pretrained`` before loading (the card
  is documentation, so it is not listed: editing it on the Hub does not break the checkpoint);
* ``model.safetensors`` — the head's weights;
* ``adapter_config.json`` + ``adapter_model.safetensors`` — the encoder's LoRA adapter (peft), when
  trained with LoRA;
* ``calibration.json`` + ``reference.safetensors`` — static recalibration and the distance
  widening with its reference embeddings (:mod:`sagepred.calibration`), when fitted;
* ``train_prompts.safetensors`` — digests of the training prompts (:mod:`sagepred.contamination`);
* ``README.md`` — the generated model card.

Nothing is pickled and no remote code is run. Folders are written to a temp path and renamed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from sagepred import __version__
from sagepred.calibration import CALIBRATION_NAME, REFERENCE_NAME, Calibration, OnlineRecalibrator
from sagepred.checkpoint import (
    FILES_KEY,
    check_version,
    file_digests,
    positive_config_int,
    read_json,
    read_tensors,
    require_files,
    verify_files,
)
from sagepred.contamination import TRAIN_PROMPTS_NAME
from sagepred.distribution import LengthDistribution
from sagepred.encoders import DEFAULT_ENCODER, TextEncoder, load_encoder
from sagepred.errors import CheckpointError
from sagepred.heads import DistributionHead, HeadConfig
from sagepred.instruction_adjust import InstructionSettings, adjust_histograms

FORMAT_VERSION = 1
CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
ADAPTER_CONFIG_NAME = "adapter_config.json"
ADAPTER_WEIGHTS_NAME = "adapter_model.safetensors"
CARD_NAME = "README.md"
CHECKPOINT_SIDECARS = (CALIBRATION_NAME, REFERENCE_NAME, TRAIN_PROMPTS_NAME)
"""Optional files: static calibration, its reference embeddings, the training-prompt digests."""
CHECKSUMMED_FILES = (WEIGHTS_NAME, ADAPTER_CONFIG_NAME, ADAPTER_WEIGHTS_NAME, *CHECKPOINT_SIDECARS)
"""Files whose sha256 ``config.json`` records (those present)."""


@dataclass
class LoraSettings:
    """LoRA on the encoder's attention projections (peft)."""

    r: int = field(default=8, metadata={"help": "rank of the update matrices"})
    alpha: int = field(default=16, metadata={"help": "scaling numerator (alpha / r)"})
    dropout: float = field(default=0.05, metadata={"help": "dropout on the LoRA path"})
    target_modules: list[str] = field(
        default_factory=lambda: ["query", "value"],
        metadata={"help": "module names to adapt (BERT-style names)"},
    )


@dataclass
class PredictorConfig:
    """Everything needed to rebuild a predictor, plus its provenance (saved as ``config.json``)."""

    target_model: str = field(metadata={"help": "the LLM whose output lengths are predicted"})
    encoder: str = field(default=DEFAULT_ENCODER, metadata={"help": "Hugging Face encoder id or folder"})
    encoder_max_length: int = field(default=256, metadata={"help": "encoder tokens kept per prompt"})
    head: HeadConfig = field(default_factory=HeadConfig, metadata={"help": "distribution head settings"})
    lora: LoraSettings | None = field(default=None, metadata={"help": "LoRA settings; None = frozen encoder"})
    training: dict[str, Any] = field(default_factory=dict, metadata={"help": "training settings used"})
    data: dict[str, Any] = field(default_factory=dict, metadata={"help": "data source, licence, sizes"})
    metrics: dict[str, Any] = field(default_factory=dict, metadata={"help": "validation metrics"})
    instructions: InstructionSettings | None = field(
        default=None,
        metadata={
            "help": "length-instruction adjustment of the histogram (None: off; set on checkpoints "
            "exported from a pooled model)"
        },
    )
    tokenizer: str | None = field(
        default=None,
        metadata={
            "help": "tokenizer family counting the target's tokens (turns asked-for words into tokens)"
        },
    )
    format_version: int = FORMAT_VERSION
    sagepred_version: str = __version__

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, payload: dict[str, Any], source: str = CONFIG_NAME) -> PredictorConfig:
        """Parse ``config.json``; a missing key or another format version is a :class:`CheckpointError`."""
        version = check_version(payload, FORMAT_VERSION, source)
        try:
            head = HeadConfig(**payload["head"])
            lora = LoraSettings(**payload["lora"]) if payload.get("lora") else None
            instructions = (
                InstructionSettings(**payload["instructions"]) if payload.get("instructions") else None
            )
            if instructions is not None and head.kind != "histogram":
                raise CheckpointError(f"{source}: the length-instruction adjustment needs a histogram head")
            return cls(
                target_model=payload["target_model"],
                encoder=payload["encoder"],
                encoder_max_length=positive_config_int(payload["encoder_max_length"], "encoder_max_length"),
                head=head,
                lora=lora,
                training=payload.get("training", {}),
                data=payload.get("data", {}),
                metrics=payload.get("metrics", {}),
                instructions=instructions,
                tokenizer=payload.get("tokenizer"),
                format_version=version,
                sagepred_version=payload.get("sagepred_version", "unknown"),
            )
        except (KeyError, TypeError, ValueError) as err:
            raise CheckpointError(f"{source}: malformed predictor config ({err})") from None


class LengthPredictor(nn.Module):
    """Predicts the distribution of a target model's output length from the prompt.

    The head sees the encoder's pooled embedding and the prompt's length in *encoder* tokens
    (untruncated), computed identically at training and prediction time.
    """

    def __init__(self, config: PredictorConfig, encoder: TextEncoder | None = None) -> None:
        super().__init__()
        self.config = config
        self._encoder = encoder
        self._lora_applied = False
        self.head = DistributionHead.create(config.head)
        self.calibration: Calibration | None = None
        """Static recalibration and distance widening (``calibration.json``), applied by ``predict``."""
        self.online: OnlineRecalibrator | None = None
        """Online recalibration fed by :meth:`observe`, applied after the static one."""
        self.train_prompt_hashes: np.ndarray | None = None
        """Digests of the training prompts (:mod:`sagepred.contamination`), ``None`` when unrecorded."""

    @classmethod
    def untrained(cls, config: PredictorConfig, encoder: TextEncoder | None = None) -> LengthPredictor:
        """A predictor to train: the head's ``input_dim`` is set to the encoder's embedding size (so an
        encoder such as ``…?pool_layers=1,2,3`` or a causal LM's states needs no hand-set head width)."""
        encoder = encoder or load_encoder(config.encoder, max_length=config.encoder_max_length)
        if config.head.input_dim != encoder.dim:
            config = replace(config, head=replace(config.head, input_dim=encoder.dim))
        return cls(config, encoder=encoder)

    @property
    def encoder(self) -> TextEncoder:
        """The text encoder (loaded on first use; LoRA-wrapped when configured)."""
        if self._encoder is None:
            self._encoder = load_encoder(self.config.encoder, max_length=self.config.encoder_max_length)
        if self.config.lora is not None and not self._lora_applied:
            self._apply_lora()
        return self._encoder

    def _apply_lora(self) -> None:
        from peft import LoraConfig, get_peft_model

        assert self._encoder is not None and self.config.lora is not None
        settings = self.config.lora
        peft_config = LoraConfig(
            r=settings.r,
            lora_alpha=settings.alpha,
            lora_dropout=settings.dropout,
            target_modules=settings.target_modules,
        )
        self._encoder.model = get_peft_model(self._encoder.model, peft_config)
        self._encoder.eval()  # the trainer switches to train mode explicitly
        self._lora_applied = True

    def attach_encoder(self, encoder: TextEncoder) -> None:
        """Use an already loaded encoder (shares weights; LoRA is applied on first use if configured)."""
        self._encoder = encoder
        self._lora_applied = False

    # ------------------------------------------------------------------ inference
    def features(
        self, prompts: Sequence[str], batch_size: int = 64, progress: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(embeddings, encoder token counts)`` of prompts."""
        encoder = self.encoder
        return encoder.encode(prompts, batch_size=batch_size, progress=progress), np.asarray(
            encoder.count_tokens(prompts), dtype=np.float32
        )

    @torch.no_grad()
    def predict_from_features(
        self,
        embeddings: np.ndarray,
        token_counts: np.ndarray,
        calibrated: bool = True,
        prompts: Sequence[str] | None = None,
    ) -> LengthDistribution:
        """Distributions from precomputed embeddings and encoder token counts.

        With ``prompts`` (one per row), a checkpoint that has an instruction adjustment
        (``config.instructions``) moves each row by its prompt's explicit length request first.
        ``calibrated`` then applies the checkpoint's static calibration and the online recalibration
        (when there are any); ``False`` gives the head's output without them.
        """
        was_training = self.head.training
        self.head.eval()
        outputs = self.head(torch.as_tensor(embeddings, dtype=torch.float32), torch.as_tensor(token_counts))
        self.head.train(was_training)
        if prompts is not None and self.config.instructions is not None:
            dist = self._adjusted(outputs, prompts)
        else:
            dist = self.head.distribution(outputs)
        if calibrated and self.calibration is not None:
            dist = self.calibration.apply(dist, np.asarray(embeddings, dtype=np.float32))
        if calibrated and self.online is not None:
            dist = self.online(dist)
        return dist

    def _adjusted(self, outputs: torch.Tensor, prompts: Sequence[str]) -> LengthDistribution:
        """The histogram head's ``outputs`` as distributions moved by each prompt's length instruction."""
        assert self.config.instructions is not None
        if len(prompts) != len(outputs):
            raise ValueError(f"{len(prompts)} prompts for {len(outputs)} rows")
        probs, edges = self.head.probabilities(outputs)
        tokenizers = [self.config.tokenizer] * len(prompts)
        moved = adjust_histograms(probs, prompts, edges, tokenizers, self.config.instructions)
        return LengthDistribution.from_histogram(moved, edges)

    def observe(
        self,
        dist: LengthDistribution,
        lengths: Sequence[float],
        censored: Sequence[bool] | None = None,
    ) -> None:
        """Feed observed lengths of requests predicted as ``dist`` (one row each) to the online recalibration.

        ``dist`` is what :meth:`predict` returned for them; the PIT is taken under the static
        calibration only (the online map is learned on top of it). Starts online recalibration
        with default settings on first use.
        """
        if self.online is None:
            self.online = OnlineRecalibrator()
        lengths_a = np.asarray(lengths, dtype=np.float64)
        cens = np.zeros(lengths_a.shape, dtype=bool) if censored is None else np.asarray(censored, dtype=bool)
        if self.online.seen >= self.online.config.warmup:
            grid, values = self.online.mapping()
            base_cdf = np.interp(dist.cdf(lengths_a), values, grid)
        else:
            base_cdf = dist.cdf(lengths_a)
        self.online.update(np.where(cens, 0.5 * (base_cdf + 1.0), base_cdf))

    def predict(
        self,
        prompts: Sequence[str],
        prompt_lens: Sequence[int | None] | None = None,
        batch_size: int = 64,
        progress: bool = False,
    ) -> LengthDistribution:
        """Predicted output-length distributions, one row per prompt.

        ``prompt_lens`` (target-model tokens) is accepted for interface compatibility with the
        baselines and ignored: the head's length feature is the encoder's token count.
        """
        del prompt_lens
        if len(prompts) == 0:
            raise ValueError("predict needs at least one prompt")
        embeddings, counts = self.features(prompts, batch_size=batch_size, progress=progress)
        return self.predict_from_features(embeddings, counts, prompts=prompts)

    # ------------------------------------------------------------------ persistence
    def save_pretrained(
        self,
        directory: str | Path,
        card: str | None = None,
        weights: dict[str, torch.Tensor] | None = None,
    ) -> Path:
        """Write the checkpoint folder atomically (temp folder, then rename).

        ``weights`` replaces the head's state in ``model.safetensors`` (e.g. the zoo's float16 copy);
        ``config.json`` is written last, with the sha256 of the files written before it.
        """
        from sagepred.checkpoint import write_tensors
        from sagepred.io import atomic_directory
        from sagepred.model_card import render_model_card

        directory = Path(directory)
        with atomic_directory(directory) as tmp:
            state = weights if weights is not None else self.head.state_dict()
            write_tensors(
                {k: v.detach().cpu().contiguous() for k, v in state.items()},
                tmp / WEIGHTS_NAME,
                metadata={"format": "pt", "sagepred_format": str(FORMAT_VERSION)},
            )
            if self.config.lora is not None:
                self._save_adapter(tmp)
            if self.calibration is not None:
                self.calibration.save(tmp)
            if self.train_prompt_hashes is not None:
                from sagepred.contamination import save_hashes

                save_hashes(self.train_prompt_hashes, tmp)
            (tmp / CARD_NAME).write_text(card if card is not None else render_model_card(self.config))
            payload = {**self.config.to_dict(), FILES_KEY: file_digests(tmp, CHECKSUMMED_FILES)}
            (tmp / CONFIG_NAME).write_text(json.dumps(payload, indent=2) + "\n")
        return directory

    def _save_adapter(self, folder: Path) -> None:
        from peft import get_peft_model_state_dict

        from sagepred.checkpoint import write_tensors

        encoder = self.encoder
        adapter_state = {
            k: v.detach().cpu().contiguous() for k, v in get_peft_model_state_dict(encoder.model).items()
        }
        write_tensors(adapter_state, folder / ADAPTER_WEIGHTS_NAME, metadata={"format": "pt"})
        peft_config = encoder.model.peft_config["default"].to_dict()
        peft_config["base_model_name_or_path"] = self.config.encoder
        for key, value in list(peft_config.items()):
            if isinstance(value, set):
                peft_config[key] = sorted(value)
        (folder / ADAPTER_CONFIG_NAME).write_text(json.dumps(peft_config, indent=2, default=str) + "\n")

    @classmethod
    def from_pretrained(cls, name_or_path: str | Path, encoder: TextEncoder | None = None) -> LengthPredictor:
        """Load a checkpoint folder (or a Hugging Face Hub repo id, for users with a network).

        Every file whose sha256 ``config.json`` records is checked before any weight is read; a
        mismatch is a one-line :class:`CheckpointError` naming the file and both hashes.
        """
        folder = resolve_checkpoint(name_or_path)
        config_path, weights_path = require_files(folder, CONFIG_NAME, WEIGHTS_NAME)
        payload = read_json(config_path)
        if payload.get("kind") == "pooled":
            raise CheckpointError(
                f"{folder}: a pooled checkpoint (one model, many targets); load it with "
                "sagepred.pooled.PooledPredictor, or `sagepred predict --checkpoint DIR --target TARGET`"
            )
        config = PredictorConfig.from_dict(payload, source=str(config_path))
        verify_files(folder, payload, config_path)
        predictor = cls(config, encoder=encoder)
        state = read_tensors(weights_path, framework="pt")
        expected = predictor.head.state_dict()
        mismatched = sorted(
            set(expected) ^ set(state)
            | {k for k in set(expected) & set(state) if expected[k].shape != state[k].shape}
        )
        if mismatched:
            raise CheckpointError(
                f"{weights_path}: weights do not match the config (tensors {mismatched[:4]})"
            )
        predictor.head.load_state_dict(state)
        if config.lora is not None:
            predictor._load_adapter(folder)
        from sagepred.contamination import load_hashes

        predictor.calibration = Calibration.load(folder)
        predictor.train_prompt_hashes = load_hashes(folder)
        predictor.eval()
        return predictor

    def _load_adapter(self, folder: Path) -> None:
        from peft import set_peft_model_state_dict

        adapter_path = folder / ADAPTER_WEIGHTS_NAME
        if not adapter_path.is_file():
            raise CheckpointError(f"{folder}: the config uses LoRA but {ADAPTER_WEIGHTS_NAME} is missing")
        encoder = self.encoder
        result = set_peft_model_state_dict(encoder.model, read_tensors(adapter_path, framework="pt"))
        if getattr(result, "unexpected_keys", None):
            raise CheckpointError(
                f"{adapter_path}: adapter does not fit the encoder ({result.unexpected_keys[:3]} …)"
            )
        encoder.model.eval()


def resolve_checkpoint(name_or_path: str | Path) -> Path:
    """A local checkpoint folder, or a Hub repo id downloaded with ``huggingface_hub`` (network only)."""
    path = Path(name_or_path)
    if path.exists():
        if not path.is_dir():
            raise CheckpointError(f"{path}: expected a checkpoint folder, found a file")
        return path
    text = str(name_or_path)
    if text.count("/") == 1 and not text.startswith((".", "/")):
        from huggingface_hub import snapshot_download

        try:
            local = snapshot_download(
                text,
                allow_patterns=[
                    CONFIG_NAME,
                    WEIGHTS_NAME,
                    ADAPTER_CONFIG_NAME,
                    ADAPTER_WEIGHTS_NAME,
                    *CHECKPOINT_SIDECARS,
                    CARD_NAME,
                ],
            )
        except Exception as err:
            raise CheckpointError(
                f"{text}: no such folder, and the Hub download failed ({type(err).__name__})"
            ) from None
        return Path(local)
    raise CheckpointError(f"{path}: no such checkpoint folder")
