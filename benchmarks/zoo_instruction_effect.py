"""What reading one kind of length instruction does to the zoo's predictions on prompts they never saw.

For every zoo checkpoint: the prompts of its own data (CASTILLO or AlpacaEval, in ``../shared/data`` or
``$SAGEPRED_DATA_DIR``) whose reading by :func:`~sagepred.length_instructions.parse_length_request` has
the ``--unit`` asked for (default ``pasted_text``: a request to transform a pasted text), split into
those the checkpoint never trained on (its recorded training hashes, :mod:`sagepred.contamination`) and
those it did. Each prompt is predicted twice: as shipped, and with the reading of that unit switched off
(the prompt then gets whatever the rest of the grammar reads). Prints, per checkpoint and in all, the
mean CRPS of both over the never-seen prompts, the share of them the reading helped, and the same over
the trained-on prompts (whose lengths a head has learned, so a reading can only disturb them there: a
bound, not a measure). ``--json`` writes every row.

``--unit list-like`` takes every list-like request (items, lines, characters; ``is_list_like``), and
``--without-setting NAME=VALUE`` makes the second prediction one with that field of the checkpoint's
``InstructionSettings`` changed (``none`` for None) instead of the reading switched off: what one setting
does, e.g. the floor under a list the head misreads (``--unit list-like --without-setting
list_floor=none``).

    .venv/bin/python benchmarks/zoo_instruction_effect.py
    .venv/bin/python benchmarks/zoo_instruction_effect.py --unit sentence --json effect.json
    .venv/bin/python benchmarks/zoo_instruction_effect.py --unit list-like --without-setting list_floor=none
"""

from __future__ import annotations

import argparse
import json
import sys
from contextlib import contextmanager
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def reading_switched_off(unit: str):
    """Predictions without the readings of ``unit``: for ``pasted_text`` the transform finders are off
    (the prompt reads as the rest of the grammar reads it), for another unit a request of that unit
    reads as none."""
    import sagepred.instruction_adjust as adjust
    import sagepred.length_instructions as grammar

    saved = grammar.find_transform, grammar.find_foreign_transform, adjust.parse_length_request
    if unit == "pasted_text":
        grammar.find_transform = lambda *args, **kwargs: None
        grammar.find_foreign_transform = lambda *args, **kwargs: None
    else:

        def parse(prompt: str):
            request = saved[2](prompt)
            return grammar.NO_REQUEST if request.unit == unit else request

        adjust.parse_length_request = parse
    try:
        yield
    finally:
        grammar.find_transform, grammar.find_foreign_transform, adjust.parse_length_request = saved


LIST_LIKE = "list-like"
"""The ``--unit`` of every list-like absolute request (:func:`~sagepred.instruction_adjust.is_list_like`)."""


def selects(request, unit: str) -> bool:
    """Whether a parsed request is of ``unit`` (or list-like, for :data:`LIST_LIKE`)."""
    from sagepred.instruction_adjust import is_list_like

    if unit == LIST_LIKE:
        return request.kind == "absolute" and is_list_like(request)
    return request.unit == unit


def parse_setting(text: str) -> tuple[str, float | None]:
    """``NAME=VALUE`` of ``--without-setting`` (``none`` for None), checked against the settings' fields."""
    from dataclasses import fields

    from sagepred.instruction_adjust import InstructionSettings

    name, sep, value = text.partition("=")
    known = {f.name for f in fields(InstructionSettings)}
    if not sep or name not in known:
        raise argparse.ArgumentTypeError(
            f"expected NAME=VALUE with NAME one of {', '.join(sorted(known))}, got {text!r}"
        )
    if value.lower() == "none":
        return name, None
    try:
        return name, float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or 'none' after '=', got {value!r}") from None


@contextmanager
def setting_changed(predictor, name: str, value: float | None):
    """The predictor's instruction settings with ``name`` set to ``value``, restored afterwards."""
    settings = predictor.config.instructions
    saved = getattr(settings, name)
    setattr(settings, name, value)
    try:
        yield
    finally:
        setattr(settings, name, saved)


def per_prompt_crps(dist, records) -> np.ndarray:
    """Mean CRPS of each prompt's samples under the predicted distributions ``dist``."""
    from sagepred.metrics import score_samples

    scores = score_samples(dist, records)
    rows = scores.samples.rows
    return np.bincount(rows, weights=scores.crps, minlength=len(records)) / np.bincount(
        rows, minlength=len(records)
    )


def checkpoint_rows(
    entry: dict, unit: str, without_setting: tuple[str, float | None] | None = None
) -> dict | None:
    """One zoo checkpoint: its prompts read as ``unit``, scored with and without that reading (or, with
    ``without_setting``, with one instruction setting changed)."""
    from sagepred.contamination import load_hashes, overlap_mask
    from sagepred.importers import load_records
    from sagepred.length_instructions import parse_length_request
    from sagepred.loading import checkpoint_folder, load_predictor, parse_spec
    from sagepred.records import prompt_text

    source = "castillo" if "castillo" in str(entry.get("data")) else "alpaca_eval"
    records = load_records(f"{source}:{entry['target_model']}")
    chosen = [r for r in records if selects(parse_length_request(prompt_text(r.prompt)), unit)]
    if not chosen:
        return None
    prompts = [prompt_text(r.prompt) for r in chosen]
    hashes = load_hashes(checkpoint_folder(parse_spec(entry["name"])))
    trained = overlap_mask(prompts, hashes) if hashes is not None else np.zeros(len(prompts), dtype=bool)
    predictor = load_predictor(entry["name"])
    embeddings, counts = predictor.features(prompts)  # encoded once, read twice
    with_reading = per_prompt_crps(
        predictor.predict_from_features(embeddings, counts, prompts=prompts), chosen
    )
    changed = (
        reading_switched_off(unit)
        if without_setting is None
        else setting_changed(predictor, *without_setting)
    )
    with changed:
        without = per_prompt_crps(
            predictor.predict_from_features(embeddings, counts, prompts=prompts), chosen
        )
    return {
        "name": entry["name"],
        "source": source,
        "prompts": prompts,
        "trained": trained.tolist(),
        "crps_with": with_reading.tolist(),
        "crps_without": without.tolist(),
    }


def summary(rows: list[dict], trained: bool) -> dict:
    """Mean CRPS with and without the reading, and the share helped, over (un)trained-on prompts."""
    pairs = [
        (w, wo)
        for row in rows
        for w, wo, t in zip(row["crps_with"], row["crps_without"], row["trained"], strict=True)
        if t == trained
    ]
    if not pairs:
        return {"pairs": 0}
    with_reading, without = np.array(pairs).T
    return {
        "pairs": len(pairs),
        "prompts": len(
            {p for row in rows for p, t in zip(row["prompts"], row["trained"], strict=True) if t == trained}
        ),
        "crps_without": round(float(without.mean()), 2),
        "crps_with": round(float(with_reading.mean()), 2),
        "helped": round(float(np.mean(with_reading < without)), 3),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--unit",
        default="pasted_text",
        help=f"the reading's unit (default pasted_text; {LIST_LIKE}: every list-like one)",
    )
    parser.add_argument(
        "--without-setting",
        type=parse_setting,
        metavar="NAME=VALUE",
        help="compare with this instruction setting changed (e.g. list_floor=none) instead of the reading off",
    )
    parser.add_argument("--names", nargs="*", help="zoo checkpoints (default: every one)")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args(argv)

    from sagepred.paths import default_data_dir
    from sagepred.progress import track
    from sagepred.zoo import list_entries

    if not (default_data_dir() / "castillo" / "castillo_samples.csv").is_file():
        print(f"{default_data_dir()}: no CASTILLO data (run `sagepred data fetch`)", file=sys.stderr)
        return 2
    entries = [e for e in list_entries() if not args.names or e["name"] in args.names]
    rows = []
    for entry in track(entries, "zoo checkpoints"):
        row = checkpoint_rows(entry, args.unit, args.without_setting)
        if row is not None:
            rows.append(row)
    without = "the reading off" if args.without_setting is None else "{}={}".format(*args.without_setting)
    print(
        f"reading {args.unit!r}: mean CRPS without ({without}) / with, on the prompts each checkpoint never trained on"
    )
    print(f"  {'checkpoint':28s} {'prompts':>7s} {'without':>9s} {'with':>9s} {'helped':>7s}")
    for row in rows:
        held = summary([row], trained=False)
        if held["pairs"]:
            print(
                f"  {row['name']:28s} {held['pairs']:7d} {held['crps_without']:9.1f} {held['crps_with']:9.1f} "
                f"{held['helped']:7.2f}"
            )
    result = {
        "unit": args.unit,
        "without": without,
        "never_seen": summary(rows, False),
        "trained_on": summary(rows, True),
    }
    never, seen = result["never_seen"], result["trained_on"]
    if never["pairs"]:
        print(
            f"  never seen: {never['pairs']} prompt x checkpoint pairs ({never['prompts']} prompts), "
            f"CRPS {never['crps_without']} -> {never['crps_with']}, helped {never['helped']:.0%}"
        )
    if seen["pairs"]:
        print(
            f"  trained on (a bound, not a measure): {seen['pairs']} pairs, CRPS {seen['crps_without']} -> {seen['crps_with']}"
        )
    if args.json:
        tmp = args.json.with_suffix(args.json.suffix + ".tmp")
        tmp.write_text(json.dumps({**result, "checkpoints": rows}, indent=1), encoding="utf-8")
        tmp.replace(args.json)
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
