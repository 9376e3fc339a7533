"""Reading checkpoint files: one JSON settings file and one safetensors file, checked the same way everywhere.

The predictor (``config.json`` + ``model.safetensors``), the semantic history (``history.json`` +
``history.safetensors``), the fusion settings (``fusion.json``) and the zoo index (``index.json``) are
all read here, so a missing file, malformed JSON, another format version or unreadable tensors are
one-line :class:`~sagepred.errors.CheckpointError` messages that name the file.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from sagepred.errors import CheckpointError, SagepredError


def require_files(folder: str | Path, *names: str, what: str = "a sagepred checkpoint") -> list[Path]:
    """``folder / name`` for each name; the first one missing is a :class:`CheckpointError`."""
    folder = Path(folder)
    paths = [folder / name for name in names]
    for path in paths:
        if not path.is_file():
            raise CheckpointError(f"{folder}: not {what} (missing {path.name})")
    return paths


def read_json(path: str | Path, error: type[SagepredError] = CheckpointError) -> dict[str, Any]:
    """A JSON object from ``path``; malformed JSON or another top-level type raises ``error``."""
    path = Path(path)
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise error(f"{path}: malformed JSON ({err.msg}, line {err.lineno})") from None
    except OSError as err:
        raise error(f"{path}: unreadable ({err.strerror or err})") from None
    if not isinstance(payload, dict):
        raise error(f"{path}: expected a JSON object, got {type(payload).__name__}")
    return payload


def check_version(
    payload: dict[str, Any],
    expected: int,
    source: str | Path,
    key: str = "format_version",
    what: str = "format",
) -> int:
    """``payload[key]`` when it is ``expected``; another version (naming the sagepred that wrote it) raises."""
    version = payload.get(key)
    if version != expected:
        writer = payload.get("sagepred_version")
        by = f" (written by sagepred {writer})" if writer else ""
        raise CheckpointError(
            f"{source}: checkpoint {what} version {version!r}{by}; this sagepred reads version {expected}"
        )
    return version


def read_tensors(path: str | Path, framework: str = "pt", sha256: str | None = None) -> dict[str, Any]:
    """Tensors of a safetensors file (``framework`` 'pt' or 'numpy'); with ``sha256``, the bytes must match it."""
    path = Path(path)
    try:
        payload = path.read_bytes()
    except OSError as err:
        raise CheckpointError(f"{path}: unreadable ({err.strerror or err})") from None
    if sha256 is not None and hashlib.sha256(payload).hexdigest() != sha256:
        raise CheckpointError(f"{path}: sha256 differs from the one recorded beside it (torn or edited save)")
    from safetensors import SafetensorError

    if framework == "numpy":
        from safetensors.numpy import load
    else:
        from safetensors.torch import load
    try:
        return load(payload)
    except (SafetensorError, ValueError) as err:
        raise CheckpointError(f"{path}: unreadable tensors ({err})") from None
