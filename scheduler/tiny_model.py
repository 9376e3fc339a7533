"""A tiny Llama model folder (config, locally trained tokenizer, chat template) for tests and demos.

The weights are never written: vLLM loads it with ``load_format="dummy"`` (random weights), so a real
engine (batching, KV cache, preemption) runs in seconds on a CPU. Output lengths are then set per
request with ``max_tokens`` and ``ignore_eos=True``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

CHAT_TEMPLATE = (
    "{% for message in messages %}<|{{ message['role'] }}|>{{ message['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)


@dataclass(frozen=True)
class TinyModelConfig:
    """Shape of the tiny model (head_dim 32: the CPU attention backend's smallest size)."""

    hidden_size: int = field(default=128, metadata={"help": "model width"})
    intermediate_size: int = field(default=256, metadata={"help": "MLP width"})
    num_hidden_layers: int = field(default=2, metadata={"help": "decoder layers"})
    num_attention_heads: int = field(default=4, metadata={"help": "attention heads"})
    num_key_value_heads: int = field(default=4, metadata={"help": "KV heads"})
    head_dim: int = field(default=32, metadata={"help": "per-head size (CPU backend: 32, 64, 80, …)"})
    vocab_size: int = field(default=1024, metadata={"help": "tokenizer and embedding size"})
    max_position_embeddings: int = field(default=4096, metadata={"help": "longest context"})


BENCH_MODEL = TinyModelConfig(
    hidden_size=768,
    intermediate_size=3072,
    num_hidden_layers=8,
    num_attention_heads=24,
    num_key_value_heads=24,
    head_dim=32,
)
"""A larger dummy model for engine benchmarks (57 M parameters): a pure decode step of 16 sequences takes
10.4 ms on two CPU cores (the replay benchmark's calibration; 12.7-13.0 ms per step over 200-step runs that
include the prefills; the hidden-384, 6-layer model it replaces took 4.8 ms), so the machine's noise is
small against the work per step."""


def kv_bytes_per_token(config: TinyModelConfig, dtype_bytes: int = 2) -> int:
    """KV-cache bytes one token takes in the engine (keys and values of every layer)."""
    return 2 * config.num_hidden_layers * config.num_key_value_heads * config.head_dim * dtype_bytes


def _corpus() -> list[str]:
    words = [
        "the",
        "a",
        "request",
        "token",
        "model",
        "length",
        "schedule",
        "queue",
        "engine",
        "cache",
        "short",
        "long",
        "wait",
        "serve",
        "predict",
        "prompt",
        "answer",
        "write",
        "summarise",
        "explain",
        "code",
        "story",
        "list",
        "number",
        "time",
        "first",
        "last",
    ]
    return [" ".join(words[(i * 7 + j * 3) % len(words)] for j in range(12)) for i in range(400)]


def write_tiny_model(directory: str | Path, config: TinyModelConfig | None = None) -> Path:
    """Write (or reuse) the model folder at ``directory``; returns it."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    config = config or TinyModelConfig()
    directory = Path(directory)
    if (directory / "config.json").is_file() and (directory / "tokenizer.json").is_file():
        return directory
    directory.mkdir(parents=True, exist_ok=True)
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()  # decode() gives back the text (the plug-in's predictor reads it)
    trainer = trainers.BpeTrainer(
        vocab_size=config.vocab_size,
        special_tokens=["<unk>", "<s>", "</s>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(_corpus(), trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", bos_token="<s>", eos_token="</s>")
    fast.chat_template = CHAT_TEMPLATE
    fast.save_pretrained(directory)
    model = {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        **asdict(config),
        "hidden_act": "silu",
        "rms_norm_eps": 1e-5,
        "rope_theta": 10000.0,
        "tie_word_embeddings": False,
        "torch_dtype": "bfloat16",
        "bos_token_id": 1,
        "eos_token_id": 2,
    }
    (directory / "config.json").write_text(json.dumps(model, indent=2) + "\n")
    (directory / "generation_config.json").write_text(
        json.dumps({"bos_token_id": 1, "eos_token_id": 2}) + "\n"
    )
    return directory


def offline_engine_env(cache_dir: str | Path) -> None:
    """Environment for an in-process, offline, deterministic engine (set before vLLM builds one)."""
    import os

    os.environ["VLLM_ENABLE_V1_MULTIPROCESSING"] = "0"
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("VLLM_CACHE_ROOT", str(cache_dir))
    os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", str(cache_dir))


def tiny_engine(
    model_dir: str | Path,
    cache_dir: str | Path,
    max_num_seqs: int = 4,
    kv_cache_bytes: int = 64 * 2**20,
    dtype: str = "bfloat16",
    **llm_kwargs: object,
) -> object:
    """An in-process ``vllm.LLM`` on the tiny model with dummy weights (eager, ``max_model_len`` 512)."""
    offline_engine_env(cache_dir)
    from vllm import LLM

    return LLM(
        model=str(model_dir),
        load_format="dummy",
        dtype=dtype,
        enforce_eager=True,
        max_model_len=512,
        max_num_seqs=max_num_seqs,
        kv_cache_memory_bytes=kv_cache_bytes,
        seed=0,
        **llm_kwargs,
    )
