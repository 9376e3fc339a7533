"""The subcommand interface, the one-line argument parser, and the validated ``type=`` helpers.

Every numeric option of every subcommand uses one of the ``type=`` helpers (defined in
:mod:`sagepred.argtypes`, re-exported here), so a bad value is rejected while parsing with one line
naming the option and the value, and exit code 2.
"""

from __future__ import annotations

import argparse
from typing import ClassVar, NoReturn

from sagepred.argtypes import (
    NUMERIC_TYPES,
    above_minus_one,
    cosine_similarity,
    non_negative_float,
    non_negative_int,
    output_file,
    output_folder,
    port_number,
    positive_float,
    positive_float_list,
    positive_int,
    positive_int_list,
    probability,
    seed_int,
)

__all__ = [
    "NUMERIC_TYPES",
    "OneLineParser",
    "Subcommand",
    "above_minus_one",
    "add_served_model_argument",
    "cosine_similarity",
    "non_negative_float",
    "non_negative_int",
    "output_file",
    "output_folder",
    "port_number",
    "positive_float",
    "positive_float_list",
    "positive_int",
    "positive_int_list",
    "probability",
    "seed_int",
    "served_model",
]


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


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line (``sagepred CMD: error: …``) and exit 2.

    An argument no parser knows is reported by the deepest subcommand that parsed (``sagepred predict:
    error: unrecognized arguments: --bogus``), not by the top-level parser.
    """

    _deepest: OneLineParser | None = None

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")

    def parse_known_args(self, args=None, namespace=None):  # type: ignore[no-untyped-def]
        OneLineParser._deepest = self  # subcommands parse inside their parent's call, so the last one wins
        return super().parse_known_args(args, namespace)

    def parse_args(self, args=None, namespace=None):  # type: ignore[no-untyped-def]
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:
            (OneLineParser._deepest or self).error(f"unrecognized arguments: {' '.join(extras)}")
        return parsed
