"""Prediction files: one JSON object per prompt, the wire format of :meth:`LengthDistribution.to_dict`.

``sagepred predict`` writes them; ``simulate``, ``eval`` and ``compare`` read them back as a predictor
(``--predictor preds.jsonl``), matching rows to records by ``id``. A line is ``{"id": …, "mean": …,
"levels": […], "quantiles": […], "kind": …, "knots": […], "cdf": […]}``; ``knots`` + ``cdf`` give the
distribution exactly, and a line with only ``levels`` + ``quantiles`` is read too.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sagepred.distribution import LengthDistribution
from sagepred.errors import InputError
from sagepred.records import LengthRecord, iter_jsonl


def prediction_lines(ids: Sequence[str], dist: LengthDistribution) -> str:
    """JSONL text: one wire-format object per row of ``dist``, with its ``id`` first."""
    if len(ids) != len(dist):
        raise ValueError(f"{len(ids)} ids for {len(dist)} predictions")
    rows = dist.to_dicts(summary=True)
    return "".join(json.dumps({"id": str(i), **row}) + "\n" for i, row in zip(ids, rows, strict=True))


def write_predictions(path: str | Path, ids: Sequence[str], dist: LengthDistribution) -> None:
    """Write :func:`prediction_lines` atomically (temp file + rename)."""
    from sagepred.io import atomic_write_text

    atomic_write_text(path, prediction_lines(ids, dist))


@dataclass(frozen=True)
class PredictionTable:
    """Predictions read from a file, looked up by id."""

    path: str
    rows: dict[str, LengthDistribution]

    def __len__(self) -> int:
        return len(self.rows)

    def lookup(self, ids: Iterable[str]) -> LengthDistribution:
        """One row per id, in order; an id the file lacks is an :class:`InputError` naming it."""
        ids = [str(i) for i in ids]
        missing = [i for i in ids if i not in self.rows]
        if missing:
            shown = ", ".join(repr(i) for i in list(dict.fromkeys(missing))[:3])
            raise InputError(
                f"no prediction for {len(set(missing))} record id(s) ({shown}…); predict the same "
                "records with `sagepred predict` (ids must match)",
                path=self.path,
                field="id",
            )
        if not ids:
            raise ValueError("lookup needs at least one id")
        return LengthDistribution.concat([self.rows[i] for i in ids])

    def predict_records(self, records: Sequence[LengthRecord]) -> LengthDistribution:
        """The predictions of ``records`` (by ``record_id``)."""
        return self.lookup(r.record_id for r in records)


def read_predictions(path: str | Path) -> PredictionTable:
    """Read a predictions JSONL file; a bad line is an :class:`InputError` with file and line."""
    rows: dict[str, LengthDistribution] = {}
    lines: dict[str, int] = {}
    for number, obj in iter_jsonl(path):
        if not isinstance(obj, dict):
            raise InputError("expected a JSON object", path=path, line=number)
        if "id" not in obj:
            raise InputError(
                "missing (every prediction needs the id of its record)", path=path, line=number, field="id"
            )
        rid = str(obj["id"])
        if rid in rows:
            raise InputError(f"id {rid!r} also on line {lines[rid]}", path=path, line=number, field="id")
        try:
            rows[rid] = LengthDistribution.from_dict(obj)
        except ValueError as err:
            raise InputError(f"not a prediction ({err})", path=path, line=number) from None
        lines[rid] = number
    if not rows:
        raise InputError("no predictions (the file is empty)", path=path)
    return PredictionTable(str(path), rows)
