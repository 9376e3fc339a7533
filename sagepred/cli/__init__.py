"""The ``sagepred`` command line: one module and one class per subcommand (``sagepred/cli/<name>.py``).

Each subcommand module defines ``Command`` (a :class:`sagepred.cli.base.Subcommand`). Modules only
import heavy libraries inside ``run`` so that ``sagepred --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from sagepred import __version__
from sagepred.errors import SagepredError

# name -> module under sagepred.cli; add a subcommand by adding its module and one line here.
SUBCOMMAND_MODULES: dict[str, str] = {
    "train": "train",
    "predict": "predict",
    "eval": "evaluate",
    "compare": "compare",
    "simulate": "simulate",
    "profile": "profile",
    "serve": "serve",
    "zoo": "zoo",
    "data": "data",
}


def _available_commands() -> list:
    commands = []
    for name, module_name in SUBCOMMAND_MODULES.items():
        module = importlib.import_module(f"sagepred.cli.{module_name}")
        command = module.Command()
        assert command.name == name, f"sagepred.cli.{module_name}.Command.name should be {name!r}"
        commands.append(command)
    return commands


def build_parser() -> tuple[argparse.ArgumentParser, dict]:
    """The top-level parser and a name → command map."""
    from sagepred.cli.base import OneLineParser

    parser = OneLineParser(
        prog="sagepred",
        description="Train, evaluate and serve output-length distribution predictors; schedule LLM requests with them.",
    )
    parser.add_argument("--version", action="version", version=f"sagepred {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="also show the INFO logs of libraries (MLflow)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands = {}
    for command in _available_commands():
        command_parser = sub.add_parser(
            command.name, help=command.help, description=command.description or command.help
        )
        command.add_arguments(command_parser)
        commands[command.name] = command
    return parser, commands


def quiet_library_logs() -> None:
    """MLflow's INFO lines (run URLs, migrations) would interleave with sagepred's own output: WARNING only."""
    import logging
    import os

    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    for name in ("mlflow", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``sagepred`` console script."""
    parser, commands = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:
        if stop.code == 2:  # a usage error, already reported on one line
            return 2
        raise
    if args.command is None:
        parser.print_help()
        return 2
    if not args.verbose:
        quiet_library_logs()
    try:
        from sagepred.threads import configure_torch_threads

        configure_torch_threads(args.command, lora=bool(getattr(args, "lora", False)))
        return int(commands[args.command].run(args) or 0)
    except SagepredError as err:
        print(f"sagepred {args.command}: error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print(f"sagepred {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (`sagepred data fetch --list | head -1`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except MemoryError:
        print(
            f"sagepred {args.command}: error: out of memory; ask for less (fewer requests, records or "
            "replicas, a smaller batch)",
            file=sys.stderr,
        )
        return 2


if __name__ == "__main__":
    sys.exit(main())
