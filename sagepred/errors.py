"""Errors that reach users as one clear line (file, line, field, what was expected) and exit code 2."""

from __future__ import annotations

from pathlib import Path


class SagepredError(Exception):
    """Base class of every error sagepred reports to a user without a traceback."""

    exit_code = 2


class InputError(SagepredError):
    """Bad user input: a file, a line in it, a field, and what was expected there."""

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        self.path = str(path) if path is not None else None
        self.line = line
        self.field = field
        self.detail = message
        where = ""
        if self.path is not None:
            where = self.path + (f":{line}" if line is not None else "")
        if field is not None:
            where = f"{where}: field '{field}'" if where else f"field '{field}'"
        text = f"{where}: {message}" if where else message
        super().__init__(text.replace("\r", "\\r").replace("\n", "\\n"))  # always one line


class CheckpointError(SagepredError):
    """A checkpoint folder that is missing files, is corrupt, or was written by another version."""
