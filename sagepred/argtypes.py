"""Validated argparse ``type=`` helpers: every numeric option of the command line uses one of them, and
every output path one of :func:`output_file` and :func:`output_folder`.

A bad value is rejected while parsing with a message naming the value (argparse adds the option).
They live in the core layer so that option groups defined below the CLI (``sagepred.eval.online``)
can use them too; :mod:`sagepred.cli.base` re-exports them.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from pathlib import Path


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
above_minus_one = _checked(float, "a finite number above -1", lambda v: v > -1, "above_minus_one")
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
non_negative_float_list = _number_list(non_negative_float, "non-negative numbers", "non_negative_float_list")
above_minus_one_list = _number_list(above_minus_one, "numbers above -1", "above_minus_one_list")

NUMERIC_TYPES: tuple[Callable[[str], object], ...] = (
    positive_int,
    non_negative_int,
    seed_int,
    port_number,
    positive_float,
    non_negative_float,
    probability,
    above_minus_one,
    cosine_similarity,
    positive_int_list,
    positive_float_list,
)
"""Every validated numeric ``type=``; tests check no option uses bare ``int``/``float`` instead."""


def _blocking_file(path: Path) -> Path | None:
    """The first existing ancestor of ``path`` that is not a folder (nothing can be created below it)."""
    for parent in path.parents:
        if parent.exists():
            return None if parent.is_dir() else parent
    return None


def output_file(text: str) -> Path:
    """argparse ``type=``: a file a command writes (atomically): not a folder, nothing but folders above it."""
    path = Path(text)
    if not text.strip():
        raise argparse.ArgumentTypeError("expected a file path, got an empty one")
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a folder, not a file")
    blocking = _blocking_file(path)
    if blocking is not None:
        raise argparse.ArgumentTypeError(f"{text}: {blocking} is a file, not a folder")
    return path


def output_folder(text: str) -> Path:
    """argparse ``type=``: a folder a command writes whole: not a file, not the working folder or one holding it."""
    path = Path(text)
    if not text.strip():
        raise argparse.ArgumentTypeError("expected a folder path, got an empty one")
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a file, not a folder")
    resolved, here = path.resolve(), Path.cwd().resolve()
    if resolved == here or resolved in here.parents:
        raise argparse.ArgumentTypeError(f"{text} holds the working folder; expected a folder of its own")
    blocking = _blocking_file(path)
    if blocking is not None:
        raise argparse.ArgumentTypeError(f"{text}: {blocking} is a file, not a folder")
    return path
