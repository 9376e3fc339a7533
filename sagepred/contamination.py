"""Contamination guard: which prompts a checkpoint trained on, and which evaluation prompts overlap.

A checkpoint records the sha256 of every training prompt's normalised text (Unicode NFKC, case
folded, whitespace collapsed), keeping the first 16 bytes of each digest (128 bits: collisions are
negligible at any data-set size) in ``train_prompts.safetensors`` — hashes only, never the prompts.
``sagepred eval`` and ``compare`` count the evaluation prompts whose hash is in that record and can
drop them (``--exclude-train-overlap``).
"""

from __future__ import annotations

import hashlib
import re
import sys
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from sagepred.records import LengthRecord

TRAIN_PROMPTS_NAME = "train_prompts.safetensors"
DIGEST_BYTES = 16
_SPACE = re.compile(r"\s+")


def normalise_prompt(text: str) -> str:
    """NFKC, case folded, runs of whitespace as one space, stripped."""
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


def prompt_digest(text: str) -> bytes:
    """The first :data:`DIGEST_BYTES` bytes of the sha256 of the normalised prompt."""
    return hashlib.sha256(normalise_prompt(text).encode("utf-8")).digest()[:DIGEST_BYTES]


def prompt_hashes(prompts: Iterable[str]) -> np.ndarray:
    """Sorted unique digests ``(n, DIGEST_BYTES)`` uint8 of ``prompts``."""
    digests = sorted({prompt_digest(p) for p in prompts})
    if not digests:
        return np.zeros((0, DIGEST_BYTES), dtype=np.uint8)
    return np.frombuffer(b"".join(digests), dtype=np.uint8).reshape(-1, DIGEST_BYTES).copy()


def save_hashes(hashes: np.ndarray, folder: str | Path) -> str:
    """Write ``train_prompts.safetensors`` into ``folder``; returns its name."""
    from sagepred.checkpoint import write_tensors

    write_tensors(
        {"sha256_prefix": np.ascontiguousarray(hashes, dtype=np.uint8)},
        Path(folder) / TRAIN_PROMPTS_NAME,
        metadata={"normalisation": "nfkc+casefold+whitespace", "digest_bytes": str(DIGEST_BYTES)},
        framework="numpy",
    )
    return TRAIN_PROMPTS_NAME


def load_hashes(folder: str | Path) -> np.ndarray | None:
    """The recorded training-prompt digests, or ``None`` when the checkpoint has no record."""
    from sagepred.checkpoint import read_tensors
    from sagepred.errors import CheckpointError

    path = Path(folder) / TRAIN_PROMPTS_NAME
    if not path.is_file():
        return None
    hashes = read_tensors(path, framework="numpy").get("sha256_prefix")
    if hashes is None or hashes.ndim != 2 or hashes.shape[1] != DIGEST_BYTES:
        raise CheckpointError(f"{path}: expected a (n, {DIGEST_BYTES}) uint8 tensor 'sha256_prefix'")
    return hashes


def overlap_mask(prompts: Sequence[str], hashes: np.ndarray) -> np.ndarray:
    """``(len(prompts),)`` booleans: the prompt's digest is in ``hashes``."""
    known = {bytes(row) for row in np.asarray(hashes, dtype=np.uint8)}
    return np.array([prompt_digest(p) in known for p in prompts], dtype=bool)


def guard_overlap(
    candidates: Sequence[Any],
    records: Sequence[LengthRecord],
    exclude: bool = False,
    notify: Callable[[str], None] | None = None,
) -> list[LengthRecord]:
    """Warn (one line per checkpoint) about evaluation prompts a checkpoint trained on; drop them if ``exclude``.

    ``candidates`` are :class:`sagepred.eval.runner.Candidate`-like (``label``, ``kind``, ``predictor``);
    only checkpoints carry a record. A checkpoint without one gets a single "no training-prompt
    record" note. Returns the records to score (all of them unless ``exclude``).
    """
    from sagepred.errors import InputError

    if notify is None:

        def notify(message: str) -> None:
            print(message, file=sys.stderr)

    prompts = [r.prompt_text for r in records]
    drop = np.zeros(len(records), dtype=bool)
    for candidate in candidates:
        if candidate.kind != "checkpoint":
            continue
        hashes = getattr(candidate.predictor, "train_prompt_hashes", None)
        if hashes is None:
            notify(
                f"note: {candidate.label}: no training-prompt record; overlap with the evaluation data unknown"
            )
            continue
        mask = overlap_mask(prompts, hashes)
        if hasattr(candidate, "info"):
            candidate.info["train_overlap_prompts"] = int(mask.sum())
        if mask.any():
            action = (
                "excluded (--exclude-train-overlap)"
                if exclude
                else "pass --exclude-train-overlap to drop them"
            )
            notify(
                f"warning: {candidate.label}: {int(mask.sum())} of {len(records)} evaluation prompts "
                f"were in its training data; {action}"
            )
        drop |= mask
    if not exclude or not drop.any():
        return list(records)
    kept = [r for r, d in zip(records, drop, strict=True) if not d]
    if not kept:
        raise InputError("every evaluation prompt was in a checkpoint's training data", field="--data")
    return kept
