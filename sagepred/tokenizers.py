"""Token counters over real tokenizers: Hugging Face, tiktoken BPE files and sentencepiece models.

:func:`load_tokenizer` takes one ``spec`` string and resolves it in this order:

1. **A short name** of a shared tokenizer (``llama3``, ``llama4``, ``llama2``, ``qwen``, ``cl100k``,
   ``mistral-v1``, ``mistral-v2``, ``mistral-v3``, ``mistral-v7``; ``_`` and ``-`` are interchangeable),
   looked up in :func:`default_tokenizers_dir`: ``$SAGEPRED_TOKENIZERS_DIR`` if set, else
   ``$SAGEPRED_DATA_DIR/tokenizers``, else the ``tokenizers`` folder of :func:`sagepred.paths.default_data_dir`.
2. **An existing path**: a folder with ``tokenizer.json`` / ``tokenizer_config.json`` (Hugging Face,
   local files only), a ``tokenizer.json`` file, a tiktoken BPE file (``base64-token rank`` lines; its
   split pattern is picked from the vocabulary size of the known files, or pass ``split_pattern``), or
   a sentencepiece ``.model`` file. A folder holding only ``tokenizer.model`` is sniffed the same way.
3. **A Hugging Face hub id** (``org/name``), loaded with ``transformers.AutoTokenizer`` (needs a
   network or a warm cache; ``trust_remote_code`` is never set).

Counts never include BOS/EOS or other special tokens, and text that looks like a special token is
counted as ordinary text. Anything that cannot be resolved raises :class:`~sagepred.errors.InputError`
with ``field='tokenizer'``.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

from sagepred.errors import InputError
from sagepred.paths import default_data_dir
from sagepred.targets import tokenizer_for

LLAMA3_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)
QWEN_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)
CL100K_PATTERN = (
    r"'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]++[\r\n]*"
    r"|\s*[\r\n]|\s+(?!\S)|\s+"
)
# Llama 4 (meta-llama/llama-models, llama4/tokenizer.py): the o200k-style pattern.
LLAMA4_PATTERN = (
    r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
    r"|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
    r"|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)

SPLIT_PATTERNS: dict[str, str] = {
    "llama3": LLAMA3_PATTERN,
    "llama4": LLAMA4_PATTERN,
    "qwen": QWEN_PATTERN,
    "cl100k": CL100K_PATTERN,
}

# Vocabulary size of each known tiktoken file -> its pattern name (used when a file is given by path).
_PATTERN_BY_VOCAB = {128_000: "llama3", 200_000: "llama4", 151_643: "qwen", 100_256: "cl100k"}

# Leading special tokens (names in id order from the first special id); the rest are reserved slots.
_SPECIAL_TOKENS: dict[str, tuple[int, int, list[str]]] = {
    "llama3": (
        128_000,
        256,
        [
            "<|begin_of_text|>",
            "<|end_of_text|>",
            "<|reserved_special_token_0|>",
            "<|reserved_special_token_1|>",
            "<|finetune_right_pad_id|>",
            "<|step_id|>",
            "<|start_header_id|>",
            "<|end_header_id|>",
            "<|eom_id|>",
            "<|eot_id|>",
            "<|python_tag|>",
        ],
    ),
    "llama4": (
        200_000,
        2048,
        ["<|begin_of_text|>", "<|end_of_text|>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>"],
    ),
    "qwen": (151_643, 3, ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]),
    "cl100k": (100_257, 1, ["<|endoftext|>"]),
}
_CL100K_EXTRA = {
    "<|fim_prefix|>": 100258,
    "<|fim_middle|>": 100259,
    "<|fim_suffix|>": 100260,
    "<|endofprompt|>": 100276,
}

# Short name -> (file relative to the tokenizers folder, kind, tiktoken pattern name).
SHARED_TOKENIZERS: dict[str, tuple[str, str, str | None]] = {
    "llama3": ("llama3/tokenizer.model", "tiktoken", "llama3"),
    "llama4": ("llama4/tokenizer.model", "tiktoken", "llama4"),
    "qwen": ("qwen/qwen.tiktoken", "tiktoken", "qwen"),
    "cl100k": ("openai_cl100k/cl100k_base.tiktoken", "tiktoken", "cl100k"),
    "llama2": ("llama2/tokenizer.model", "sentencepiece", None),
    "mistral-v1": ("mistral/tokenizer.model.v1", "sentencepiece", None),
    "mistral-v2": ("mistral/mistral_instruct_tokenizer_240216.model.v2", "sentencepiece", None),
    "mistral-v3": ("mistral/mistral_instruct_tokenizer_240323.model.v3", "sentencepiece", None),
    "mistral-v7": ("mistral/mistral_instruct_tokenizer_241114.model.v7", "sentencepiece", None),
}
_ALIASES = {
    "cl100k-base": "cl100k",
    "openai-cl100k": "cl100k",
    "llama-3": "llama3",
    "llama-2": "llama2",
    "llama-4": "llama4",
    "mistral": "mistral-v1",
}


@runtime_checkable
class TokenCounter(Protocol):
    """Counts tokens of plain text (no BOS/EOS, special-token text counted as ordinary text)."""

    name: str

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text``."""
        ...

    def count(self, text: str) -> int:
        """Number of tokens in ``text``."""
        ...

    def count_batch(self, texts: Sequence[str]) -> list[int]:
        """Token counts of many texts."""
        ...


class TiktokenCounter:
    """A tiktoken BPE file with an explicit split pattern."""

    def __init__(self, path: Path, pattern: str, special_tokens: dict[str, int], name: str) -> None:
        import tiktoken
        from tiktoken.load import load_tiktoken_bpe

        ranks = load_tiktoken_bpe(str(path))
        self.name = name
        self.encoding = tiktoken.Encoding(
            name, pat_str=pattern, mergeable_ranks=ranks, special_tokens=special_tokens
        )

    def encode(self, text: str) -> list[int]:
        return self.encoding.encode_ordinary(text)

    def count(self, text: str) -> int:
        return len(self.encoding.encode_ordinary(text))

    def count_batch(self, texts: Sequence[str]) -> list[int]:
        return [len(ids) for ids in self.encoding.encode_ordinary_batch(list(texts))]


class SentencePieceCounter:
    """A sentencepiece ``.model`` file (Llama-2, Mistral v1–v7)."""

    def __init__(self, path: Path, name: str) -> None:
        import sentencepiece

        self.name = name
        self.processor = sentencepiece.SentencePieceProcessor(model_file=str(path))

    def encode(self, text: str) -> list[int]:
        return list(self.processor.encode(text))

    def count(self, text: str) -> int:
        return len(self.processor.encode(text))

    def count_batch(self, texts: Sequence[str]) -> list[int]:
        return [len(ids) for ids in self.processor.encode(list(texts))]


class HFCounter:
    """A Hugging Face tokenizer (``AutoTokenizer`` or a bare ``tokenizer.json``)."""

    def __init__(self, tokenizer: object, name: str) -> None:
        self.name = name
        self.tokenizer = tokenizer

    def encode(self, text: str) -> list[int]:
        return list(self._encode_batch([text])[0])

    def count(self, text: str) -> int:
        return len(self._encode_batch([text])[0])

    def count_batch(self, texts: Sequence[str]) -> list[int]:
        return [len(ids) for ids in self._encode_batch(list(texts))]

    def _encode_batch(self, texts: list[str]) -> list[list[int]]:
        from tokenizers import Tokenizer

        if isinstance(self.tokenizer, Tokenizer):
            return [e.ids for e in self.tokenizer.encode_batch(texts, add_special_tokens=False)]
        return self.tokenizer(texts, add_special_tokens=False)["input_ids"]  # type: ignore[operator]


def default_tokenizers_dir() -> Path:
    """``$SAGEPRED_TOKENIZERS_DIR``, else the ``tokenizers`` folder of :func:`default_data_dir`."""
    env = os.environ.get("SAGEPRED_TOKENIZERS_DIR")
    return Path(env) if env else default_data_dir() / "tokenizers"


def normalize_name(spec: str) -> str | None:
    """The canonical short name for ``spec`` (``mistral_v1`` -> ``mistral-v1``), or None."""
    key = spec.strip().lower().replace("_", "-")
    key = _ALIASES.get(key, key)
    return key if key in SHARED_TOKENIZERS else None


def tokenizer_for_model(model: str) -> str | None:
    """The tokenizer spec of a target model (``Meta-Llama-3-8B-Instruct`` -> ``llama3``).

    The target's own (:func:`sagepred.targets.tokenizer_for`: its recipe's, else its family's).
    """
    return tokenizer_for(model)


def load_tokenizer(spec: str, split_pattern: str | None = None) -> TokenCounter:
    """Load a token counter from a short name, a path or a hub id (see the module docstring).

    ``split_pattern`` (a name from :data:`SPLIT_PATTERNS` or a regex) overrides the pattern of a
    tiktoken file given by path.
    """
    return _load_cached(str(spec), split_pattern, str(default_tokenizers_dir()))


@functools.lru_cache(maxsize=16)
def _load_cached(spec: str, split_pattern: str | None, tokenizers_dir: str) -> TokenCounter:
    if not spec.strip():
        raise InputError("empty tokenizer name", field="tokenizer")
    short = normalize_name(spec)
    if short is not None:
        rel, kind, pattern = SHARED_TOKENIZERS[short]
        path = Path(tokenizers_dir) / rel
        if not path.is_file():
            raise InputError(
                f"tokenizer {short!r} not found (set SAGEPRED_TOKENIZERS_DIR or SAGEPRED_DATA_DIR)",
                path=path,
                field="tokenizer",
            )
        if kind == "sentencepiece":
            return _sentencepiece(path, short)
        return _tiktoken(path, split_pattern or pattern, short)
    path = Path(spec).expanduser()
    if path.exists():
        return _from_path(path, split_pattern)
    if _looks_like_path(spec):
        raise InputError("tokenizer file or folder not found", path=spec, field="tokenizer")
    return _from_hub(spec)


def _looks_like_path(spec: str) -> bool:
    return (
        spec.startswith((".", "/", "~"))
        or spec.count("/") > 1
        or spec.endswith((".model", ".tiktoken", ".json", ".v1", ".v2", ".v3", ".v7"))
    )


def _from_path(path: Path, split_pattern: str | None) -> TokenCounter:
    if path.is_dir():
        if (path / "tokenizer.json").is_file() or (path / "tokenizer_config.json").is_file():
            return _auto_tokenizer(str(path), local_only=True, origin=path)
        if (path / "tokenizer.model").is_file():
            return _from_path(path / "tokenizer.model", split_pattern)
        raise InputError(
            "folder has no tokenizer.json, tokenizer_config.json or tokenizer.model",
            path=path,
            field="tokenizer",
        )
    if path.suffix == ".json":
        from tokenizers import Tokenizer

        try:
            return HFCounter(Tokenizer.from_file(str(path)), name=path.name)
        except Exception as err:
            raise InputError(
                f"not a Hugging Face tokenizer.json ({err})", path=path, field="tokenizer"
            ) from None
    if _is_tiktoken_file(path):
        return _tiktoken(path, split_pattern, path.name)
    return _sentencepiece(path, path.name)


def _is_tiktoken_file(path: Path) -> bool:
    with path.open("rb") as handle:
        head = handle.read(256)
    first = head.split(b"\n", 1)[0]
    return re.fullmatch(rb"[A-Za-z0-9+/=]+ \d+\r?", first) is not None


def _special_tokens(pattern_name: str | None, vocab_size: int) -> dict[str, int]:
    if pattern_name not in _SPECIAL_TOKENS:
        return {}
    start, count, names = _SPECIAL_TOKENS[pattern_name]
    tokens = {name: start + i for i, name in enumerate(names)}
    offset = len(names)
    for i in range(offset, count):
        tokens[f"<|reserved_special_token_{i}|>"] = start + i
    if pattern_name == "cl100k":
        tokens.update(_CL100K_EXTRA)
    return tokens if start >= vocab_size else {}


def _tiktoken(path: Path, split_pattern: str | None, name: str) -> TokenCounter:
    from tiktoken.load import load_tiktoken_bpe

    try:
        vocab = len(load_tiktoken_bpe(str(path)))
    except Exception as err:
        raise InputError(f"not a tiktoken BPE file ({err})", path=path, field="tokenizer") from None
    pattern_name = split_pattern if split_pattern in SPLIT_PATTERNS else None
    if split_pattern is None:
        pattern_name = _PATTERN_BY_VOCAB.get(vocab)
        if pattern_name is None:
            raise InputError(
                f"unknown tiktoken file ({vocab} tokens): pass a split pattern "
                f"(one of {', '.join(SPLIT_PATTERNS)} or a regex)",
                path=path,
                field="tokenizer",
            )
    pattern = SPLIT_PATTERNS[pattern_name] if pattern_name else str(split_pattern)
    return TiktokenCounter(path, pattern, _special_tokens(pattern_name, vocab), name)


def _sentencepiece(path: Path, name: str) -> TokenCounter:
    try:
        return SentencePieceCounter(path, name)
    except Exception as err:
        raise InputError(
            f"not a sentencepiece model, tiktoken BPE file or tokenizer.json ({type(err).__name__})",
            path=path,
            field="tokenizer",
        ) from None


def _auto_tokenizer(spec: str, *, local_only: bool, origin: str | Path) -> TokenCounter:
    try:
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(spec, local_files_only=local_only)
    except Exception as err:
        where = "from local files" if local_only else "from the Hugging Face hub (needs a network or a cache)"
        raise InputError(
            f"cannot load tokenizer {where}: {type(err).__name__}: {str(err).splitlines()[0][:200]}",
            path=origin,
            field="tokenizer",
        ) from None
    return HFCounter(tokenizer, name=str(spec))


def _from_hub(spec: str) -> TokenCounter:
    names = ", ".join(SHARED_TOKENIZERS)
    try:
        return _auto_tokenizer(spec, local_only=False, origin=spec)
    except InputError as err:
        raise InputError(
            f"{err.detail}; not a short name ({names}) nor an existing path", path=spec, field="tokenizer"
        ) from None
