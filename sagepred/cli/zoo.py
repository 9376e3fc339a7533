"""``sagepred zoo``: list, pull and push model-zoo checkpoints."""

from __future__ import annotations

import argparse
import json

from sagepred.cli.base import Subcommand, output_folder

SOURCE_HELP = (
    "'packaged' (the offline zoo shipped with sagepred, default), a local mirror folder, or "
    "'hf[:NAMESPACE]' for the Hugging Face Hub; default $SAGEPRED_ZOO_SOURCE or 'packaged'"
)


def _fmt(value: object, spec: str) -> str:
    return format(value, spec) if isinstance(value, int | float) else "—"


class Command(Subcommand):
    name = "zoo"
    help = "trained predictors for named target models: list, pull, push"
    description = (
        "The model zoo: one trained predictor per target model, each with a generated model card. "
        "`list` shows them, `pull` verifies and caches one (sha256 of every file), `push` uploads a "
        "checkpoint folder to the Hugging Face Hub."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        actions = parser.add_subparsers(dest="zoo_action", metavar="ACTION", required=True)
        listing = actions.add_parser(
            "list",
            help="list the zoo's checkpoints",
            description="List the zoo's checkpoints: name, target model, held-out CRPS against the global "
            "histogram, Kendall tau and 80% coverage, from the zoo index (packaged, a mirror, or the Hub).",
        )
        listing.add_argument("--source", metavar="SRC", help=SOURCE_HELP)
        listing.add_argument("--json", action="store_true", help="print the rows as JSON")
        pulling = actions.add_parser(
            "pull",
            help="download (or copy) and verify a checkpoint into the cache",
            description="Fetch TARGET's checkpoint into the cache (~/.cache/sagepred or $SAGEPRED_CACHE_DIR), "
            "verify every file's sha256 against the index, and print its folder; --output also copies it.",
        )
        pulling.add_argument("target", metavar="TARGET", help="checkpoint name, target model or alias")
        pulling.add_argument("--source", metavar="SRC", help=SOURCE_HELP)
        pulling.add_argument(
            "--output",
            type=output_folder,
            metavar="DIR",
            help="also copy the checkpoint folder here (atomically; an existing one must hold a checkpoint, "
            "or --overwrite)",
        )
        pulling.add_argument(
            "--overwrite", action="store_true", help="replace an existing --output folder whatever it holds"
        )
        pushing = actions.add_parser("push", help="upload a checkpoint folder to the Hugging Face Hub")
        pushing.add_argument("folder", metavar="DIR", help="checkpoint folder (save_pretrained layout)")
        pushing.add_argument("--repo", required=True, metavar="ID", help="Hub repo id NAMESPACE/NAME")
        pushing.add_argument("--private", action="store_true", help="create the repo as private")

    def run(self, args: argparse.Namespace) -> int:
        return {"list": self._list, "pull": self._pull, "push": self._push}[args.zoo_action](args)

    def _list(self, args: argparse.Namespace) -> int:
        from rich.table import Table

        from sagepred import zoo
        from sagepred.errors import CheckpointError
        from sagepred.progress import make_console

        source = zoo.resolve_source(args.source)
        if source.kind == "hub" and (reason := zoo.hub_unavailable()):
            raise CheckpointError(
                f"cannot list the Hugging Face Hub ({reason}); `sagepred zoo list` shows the packaged zoo"
            )
        rows = zoo.list_entries(source)
        if args.json:
            print(json.dumps(rows, indent=2))
            return 0
        table = Table(title=f"sagepred model zoo — {len(rows)} checkpoints ({source.describe()})")
        for column, justify in [
            ("name", "left"),
            ("target model", "left"),
            ("data", "left"),
            ("encoder", "left"),
            ("size", "right"),
            ("CRPS ↓", "right"),
            ("global CRPS", "right"),
            ("τ ↑", "right"),
            ("cov80", "right"),
        ]:
            table.add_column(column, justify=justify)  # type: ignore[arg-type]
        for row in rows:
            table.add_row(
                row["name"],
                row["target_model"],
                str(row["data"] or "—"),
                row["encoder"].rsplit("/", 1)[-1],
                f"{row['size_bytes'] / 1e6:.2f} MB",
                _fmt(row["crps"], ".1f"),
                _fmt(row["global_crps"], ".1f"),
                _fmt(row["kendall_tau"], ".3f"),
                _fmt(row["coverage_80"], ".2f"),
            )
        make_console().print(table)
        return 0

    def _pull(self, args: argparse.Namespace) -> int:
        from sagepred import zoo
        from sagepred.io import replaceable_folder

        if args.output is not None:
            replaceable_folder(args.output, ("config.json",), args.overwrite, "--output")
        folder = zoo.pull(args.target, args.source, output=args.output)
        print(folder)
        return 0

    def _push(self, args: argparse.Namespace) -> int:
        from sagepred import zoo

        url = zoo.push(args.folder, args.repo, private=args.private)
        print(f"pushed {args.folder} to {url}")
        return 0
