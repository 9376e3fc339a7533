"""``sagepred data``: fetch the public real data the recipes, tests and benchmarks use."""

from __future__ import annotations

import argparse
import sys

from sagepred.cli.base import Subcommand, positive_float, positive_int


class Command(Subcommand):
    name = "data"
    help = "fetch the public real data (AlpacaEval, CASTILLO, traces, tokenizers) into the data folder"
    description = (
        "`fetch` downloads every file of the pinned manifest (sagepred/data/manifest.json) into "
        "$SAGEPRED_DATA_DIR or ../shared/data: resumable, sha256-verified, files already in place are "
        "skipped. Files derived by a script are listed but not downloaded."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        actions = parser.add_subparsers(dest="data_action", metavar="ACTION", required=True)
        fetching = actions.add_parser("fetch", help="download and verify the data files")
        fetching.add_argument(
            "--dest", metavar="DIR", help="data folder (default: $SAGEPRED_DATA_DIR or ../shared/data)"
        )
        fetching.add_argument(
            "--only", nargs="+", metavar="NAME", help="only these files or groups (see --list)"
        )
        fetching.add_argument(
            "--list", action="store_true", help="list the manifest's files and whether each is present"
        )
        fetching.add_argument(
            "--manifest", metavar="FILE", help="another manifest (default: the packaged one)"
        )
        fetching.add_argument(
            "--mirror",
            metavar="URL",
            help="base URL of a copy of the data folder (URL/<dest>): every file, the derived ones too, is "
            "taken from it and verified against the manifest's sha256",
        )
        fetching.add_argument(
            "--attempts",
            type=positive_int,
            default=3,
            metavar="N",
            help="tries per file; each resumes (default 3)",
        )
        fetching.add_argument(
            "--timeout",
            type=positive_float,
            default=30.0,
            metavar="S",
            help="socket timeout in seconds (default 30)",
        )

    def run(self, args: argparse.Namespace) -> int:
        from pathlib import Path

        from sagepred.datafetch import fetch, is_present, load_manifest
        from sagepred.paths import default_data_dir

        manifest = load_manifest(args.manifest)
        root = Path(args.dest) if args.dest else default_data_dir()
        chosen = manifest.select(args.only)
        if args.list:
            for item in chosen:
                state = "derived" if item.derived else ("present" if is_present(item, root) else "missing")
                print(f"{state:8} {item.group:12} {item.size:>11,}  {item.dest}  [{item.licence}]")
            print(f"{len(chosen)} files in {root}")
            return 0
        report = fetch(
            manifest,
            root,
            args.only,
            attempts=args.attempts,
            timeout=args.timeout,
            notify=lambda message: print(message, file=sys.stderr),
            mirror=args.mirror,
        )
        print(
            f"{root}: {len(report.downloaded)} downloaded, {len(report.present)} already present, "
            f"{len(report.derived)} derived (not downloadable; see docs/data.md)"
        )
        return 0
