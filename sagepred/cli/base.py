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


def add_served_model_argument(parser: argparse.ArgumentParser, help: str) -> None:
    """``--served-model MODEL`` (the vLLM model), with ``--model`` kept as a deprecated alias."""
    parser.add_argument("--served-model", metavar="MODEL", default=None, help=f"{help} (required)")
    parser.add_argument("--model", dest="deprecated_model", default=None, help=argparse.SUPPRESS)


def served_model(args: argparse.Namespace, command: str) -> str:
    """The vLLM model of ``args``; a note on stderr when it came from the deprecated ``--model``."""
    import sys

    from sagepred.errors import InputError

    if args.deprecated_model is not None:
        print(
            f"sagepred {command}: note: --model is deprecated here (it names the target elsewhere); "
            "use --served-model",
            file=sys.stderr,
        )
        if args.served_model not in (None, args.deprecated_model):
            raise InputError(
                "--model and --served-model disagree; give --served-model only", field="--served-model"
            )
        args.served_model = args.deprecated_model
    if not args.served_model:
        raise InputError("required: the model vLLM serves (a folder or id)", field="--served-model")
    return str(args.served_model)
