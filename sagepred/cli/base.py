"""The subcommand interface, the one-line argument parser, and the validated ``type=`` helpers.

Every numeric option of every subcommand uses one of the ``type=`` helpers below, so a bad value is
rejected while parsing with one line naming the option and the value, and exit code 2.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from typing import ClassVar, NoReturn


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
    """An argument parser whose usage errors are one line (``sagepred CMD: error: …``) and exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _number(text: str, kind: type, what: str) -> int | float:
    try:
        value = kind(text)
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
    if isinstance(value, float) and not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
    return value


def _checked(kind: type, what: str, ok: Callable[[float], bool], name: str) -> Callable[[str], int | float]:
    def parse(text: str) -> int | float:
        value = _number(text, kind, what)
        if not ok(value):
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return value

    parse.__name__ = name
    parse.__qualname__ = name
    parse.__doc__ = f"argparse ``type=``: {what}."
    return parse


positive_int = _checked(int, "a positive integer", lambda v: v >= 1, "positive_int")
non_negative_int = _checked(int, "a non-negative integer", lambda v: v >= 0, "non_negative_int")
seed_int = _checked(int, "a seed between 0 and 2**32 - 1", lambda v: 0 <= v < 2**32, "seed_int")
port_number = _checked(int, "a port number between 1 and 65535", lambda v: 1 <= v <= 65535, "port_number")
positive_float = _checked(float, "a positive finite number", lambda v: v > 0, "positive_float")
non_negative_float = _checked(float, "a non-negative finite number", lambda v: v >= 0, "non_negative_float")
probability = _checked(float, "a number between 0 and 1", lambda v: 0 <= v <= 1, "probability")
cosine_similarity = _checked(
    float, "a cosine similarity between -1 and 1", lambda v: -1 <= v <= 1, "cosine_similarity"
)


def _number_list(item: Callable[[str], int | float], what: str, name: str) -> Callable[[str], list]:
    def parse(text: str) -> list:
        parts = [part.strip() for part in text.split(",")]
        if not text.strip() or any(not part for part in parts):
            raise argparse.ArgumentTypeError(f"expected comma-separated {what}, got {text!r}")
        try:
            return [item(part) for part in parts]
        except argparse.ArgumentTypeError:
            raise argparse.ArgumentTypeError(f"expected comma-separated {what}, got {text!r}") from None

    parse.__name__ = name
    parse.__qualname__ = name
    parse.__doc__ = f"argparse ``type=``: comma-separated {what}."
    return parse


positive_int_list = _number_list(positive_int, "positive integers", "positive_int_list")
positive_float_list = _number_list(positive_float, "positive numbers", "positive_float_list")

NUMERIC_TYPES: tuple[Callable[[str], object], ...] = (
    positive_int,
    non_negative_int,
    seed_int,
    port_number,
    positive_float,
    non_negative_float,
    probability,
    cosine_similarity,
    positive_int_list,
    positive_float_list,
)
"""Every validated numeric ``type=``; tests check no option uses bare ``int``/``float`` instead."""
