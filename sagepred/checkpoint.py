"""Reading checkpoint files: one JSON settings file and one safetensors file, checked the same way everywhere.

The predictor (``config.json`` + ``model.safetensors``), the semantic history (``history.json`` +
``history.safetensors``), the fusion settings (``fusion.json``) and the zoo index (``index.json``) are
all read here, so a missing file, malformed JSON, another format version, unreadable tensors or a
file whose sha256 differs from the one recorded for it are one-line
:class:`~sagepred.errors.CheckpointError` messages that name the file.

Integrity: a settings file may carry ``files: {name: sha256}`` for the files beside it
(:func:`file_digests` writes it, :func:`verify_files` checks it before anything is loaded).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
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


def positive_config_int(value: object, name: str) -> int:
    """A whole number of at least 1 from a checkpoint's ``config.json`` (``ValueError`` naming it otherwise)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return value


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
    if sha256 is not None and (digest := hashlib.sha256(payload).hexdigest()) != sha256:
        raise CheckpointError(
            f"{path}: sha256 {digest} differs from the recorded {sha256} (corrupted, torn or edited file)"
        )
    from safetensors import SafetensorError

    if framework == "numpy":
        from safetensors.numpy import load
    else:
        from safetensors.torch import load
    try:
        return load(payload)
    except (SafetensorError, ValueError) as err:
        raise CheckpointError(f"{path}: unreadable tensors ({err})") from None


def write_tensors(
    tensors: dict[str, Any], path: str | Path, metadata: dict[str, str] | None = None, framework: str = "pt"
) -> None:
    """Write a safetensors file whose bytes depend only on its contents.

    safetensors writes the metadata map in a per-process hash order, so the same tensors saved twice
    could differ byte for byte (and every zoo rebuild rewrote unchanged weights). The header is
    rewritten with the metadata keys sorted; its length, and every tensor offset, stay the same.
    """
    if framework == "numpy":
        from safetensors.numpy import save
    else:
        from safetensors.torch import save
    payload = bytearray(save(tensors, metadata=metadata))
    size = int.from_bytes(payload[:8], "little")
    header = json.loads(payload[8 : 8 + size])
    if "__metadata__" in header:
        header["__metadata__"] = dict(sorted(header["__metadata__"].items()))
        text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        if len(text) > size:
            raise ValueError("canonical safetensors header longer than the original")
        payload[8 : 8 + size] = text.ljust(size, b" ")
    Path(path).write_bytes(bytes(payload))


FILES_KEY = "files"


def file_digests(folder: str | Path, names: Iterable[str]) -> dict[str, str]:
    """``{name: sha256}`` of the files ``names`` in ``folder`` that exist (sorted by name)."""
    from sagepred.io import sha256_file

    folder = Path(folder)
    return {name: sha256_file(folder / name) for name in sorted(names) if (folder / name).is_file()}


def verify_files(folder: str | Path, payload: dict[str, Any], source: str | Path) -> int:
    """Check every file listed in ``payload["files"]`` against its sha256; returns how many were checked.

    A settings file without the field (written before checksums were recorded) checks nothing. A
    missing listed file, a malformed field or a mismatch is a one-line :class:`CheckpointError`.
    """
    from sagepred.io import sha256_file

    recorded = payload.get(FILES_KEY)
    if recorded is None:
        return 0
    if not isinstance(recorded, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in recorded.items()
    ):
        raise CheckpointError(f"{source}: field '{FILES_KEY}' must map file names to sha256 hex strings")
    folder = Path(folder)
    for name, expected in sorted(recorded.items()):
        path = folder / name
        if Path(name).name != name or not path.is_file():
            raise CheckpointError(f"{path}: listed in {source} but missing from the checkpoint")
        digest = sha256_file(path)
        if digest != expected:
            raise CheckpointError(
                f"{path}: sha256 {digest} differs from {expected} recorded in {Path(source).name} "
                "(corrupted or edited file)"
            )
    return len(recorded)
