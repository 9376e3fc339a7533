"""Progress display (rich) shared by long-running commands; silent when not on a terminal or in CI."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, TypeVar

from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

if TYPE_CHECKING:
    from rich.console import Console

NON_TTY_WIDTH = 200

T = TypeVar("T")


def progress_enabled() -> bool:
    """Bars are drawn on an interactive terminal unless ``SAGEPRED_NO_PROGRESS`` is set."""
    return sys.stderr.isatty() and not os.environ.get("SAGEPRED_NO_PROGRESS")


def make_console(stderr: bool = False) -> Console:
    """A rich console; when its stream is not a terminal, lines are never wrapped (paths and URLs stay whole)."""
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    if stream.isatty():
        return Console(stderr=stderr)
    return Console(stderr=stderr, soft_wrap=True, width=NON_TTY_WIDTH)


def make_progress() -> Progress:
    """A rich progress display on stderr with count, elapsed and remaining time."""
    from rich.console import Console

    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[status]}"),
        console=Console(stderr=True),
        disable=not progress_enabled(),
    )


def track(items: Iterable[T], description: str, total: int | None = None) -> Iterator[T]:
    """Iterate with a progress bar."""
    with make_progress() as progress:
        task = progress.add_task(description, total=total, status="")
        for item in items:
            yield item
            progress.advance(task)


def make_byte_progress() -> Progress:
    """A rich progress display on stderr for downloads: bytes done, speed and remaining time."""
    from rich.console import Console

    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[status]}"),
        console=Console(stderr=True),
        disable=not progress_enabled(),
    )
