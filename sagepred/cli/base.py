"""The subcommand interface."""

from __future__ import annotations

import argparse
from typing import ClassVar


class Subcommand:
    """One ``sagepred`` subcommand: a name, help text, its arguments, and ``run``."""

    name: ClassVar[str]
    help: ClassVar[str]
    description: ClassVar[str | None] = None

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """Declare the subcommand's arguments."""

    def run(self, args: argparse.Namespace) -> int:
        """Execute; return the process exit code. Raise :class:`sagepred.errors.SagepredError` for bad input."""
        raise NotImplementedError
