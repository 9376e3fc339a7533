"""Torch's thread count for the command line: one thread unless the user asks for more.

The predictor's head is a few small matrix products and the encoder runs small batches; with torch's
default (one thread per core) their threads contend with each other and with everything else on the
machine. Measured on a shared 2-core machine, ``sagepred train --model llama-3-8b`` took a median 93 s
of training with torch's default threads and 21 s with one (same held-out CRPS); see the README.

``SAGEPRED_TORCH_THREADS=N`` sets N threads, ``SAGEPRED_TORCH_THREADS=auto`` keeps torch's default,
and a set ``OMP_NUM_THREADS`` is left to torch (which honours it).
"""

from __future__ import annotations

import os

from sagepred.errors import InputError

ENV = "SAGEPRED_TORCH_THREADS"
DEFAULT_THREADS = 1
TORCH_COMMANDS = frozenset({"train", "predict", "eval", "compare", "simulate"})
"""Subcommands whose torch work is a small head and small encoder batches."""


def requested_threads(environ: dict[str, str] | None = None) -> int | None:
    """The thread count to set, or ``None`` to leave torch's own choice (``auto``, or ``OMP_NUM_THREADS``)."""
    env = os.environ if environ is None else environ
    value = env.get(ENV, "").strip()
    if value.lower() == "auto":
        return None
    if value:
        if not value.isdigit() or int(value) < 1:
            raise InputError(f"expected a positive integer or 'auto', got {value!r}", field=ENV)
        return int(value)
    if env.get("OMP_NUM_THREADS", "").strip():
        return None
    return DEFAULT_THREADS


def configure_torch_threads(command: str, lora: bool = False) -> int | None:
    """Apply :func:`requested_threads` for ``command`` (only the commands in :data:`TORCH_COMMANDS`;
    LoRA training, which backpropagates through the whole encoder, keeps torch's default unless
    ``SAGEPRED_TORCH_THREADS`` is set).

    Returns the number of threads set, or ``None`` when torch's setting was left alone.
    """
    if command not in TORCH_COMMANDS or (lora and not os.environ.get(ENV, "").strip()):
        return None
    threads = requested_threads()
    if threads is None:
        return None
    import torch

    torch.set_num_threads(threads)
    return threads
