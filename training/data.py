"""Resolve a recipe's data into train / evaluation records, with provenance for the model card.

Order of sources: ``--data`` when given; else the recipe's local source (``{data_dir}/…``); else its
URL (downloaded once into the cache, sha256-verified) for users with a network; else the sample
bundled with sagepred, with a notice saying so.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sagepred.errors import InputError
from sagepred.paths import cache_dir
from sagepred.records import LengthRecord, prompt_split, split_records
from sagepred.training.recipes import Recipe, default_data_dir


@dataclass
class TrainingData:
    """Records to train on and to evaluate on, and where they came from."""

    train: list[LengthRecord]
    eval: list[LengthRecord]
    provenance: dict[str, Any] = field(default_factory=dict)


def _cache_dir() -> Path:
    return cache_dir("downloads")


def download_verified(url: str, sha256: str | None, name: str) -> Path:
    """Download ``url`` into the cache (temp file + rename) and check its sha256; reuse a verified copy."""
    from sagepred.io import atomic_write_bytes, sha256_file

    target = _cache_dir() / name
    if target.is_file() and (sha256 is None or sha256_file(target) == sha256):
        return target
    with urllib.request.urlopen(url, timeout=30) as response:
        payload = response.read()
    import hashlib

    digest = hashlib.sha256(payload).hexdigest()
    if sha256 is not None and digest != sha256:
        raise InputError(
            f"checksum mismatch for {url}: expected sha256 {sha256}, got {digest}", field="data.sha256"
        )
    atomic_write_bytes(target, payload)
    return target


def _split(records: list[LengthRecord], recipe: Recipe, seed: int, source: str) -> tuple[list, list, str]:
    spec = recipe.data
    if bool(spec.train_split) != bool(spec.eval_split):
        given = "train" if spec.train_split else "eval"
        raise InputError(
            f"only --{given}-split was named ({spec.train_split or spec.eval_split!r}); name both "
            "--train-split and --eval-split, or neither for a random hold-out",
            path=source,
            field="split",
        )
    if spec.train_split:
        present = sorted({r.split for r in records if r.split})
        if not present:
            raise InputError(
                "the records carry no split; drop --train-split and --eval-split for a random hold-out",
                path=source,
                field="split",
            )
        train = [r for r in records if r.split == spec.train_split]
        held = [r for r in records if r.split == spec.eval_split]
        if not train or not held:
            raise InputError(
                f"no records in split {spec.train_split!r} or {spec.eval_split!r} (the records have: "
                f"{', '.join(present)})",
                path=source,
                field="split",
            )
        return train, held, spec.eval_split
    train, held = split_records(records, spec.eval_fraction, seed)
    return train, held, f"random {spec.eval_fraction:.0%} hold-out (seed {seed})"


def load_training_data(
    recipe: Recipe,
    data_override: str | None = None,
    data_dir: Path | None = None,
    seed: int = 0,
    notify: Callable[[str], None] = print,
) -> TrainingData:
    """Records for ``recipe`` (or ``data_override``), split into train and evaluation sets."""
    from sagepred.importers import bundled_sample_path, load_records

    spec = recipe.data
    if data_override is not None:
        source, kind = data_override, "user"
    else:
        source, kind = recipe.resolved_source(data_dir), "recipe"
        if not Path(source).exists():
            source, kind = _fallback_source(recipe, source, bundled_sample_path, notify)
    records = load_records(
        source,
        model=spec.model if kind != "bundled" else None,
        tokenizer=spec.tokenizer,
        max_tokens=spec.max_tokens,
    )
    if len(records) < 10:
        raise InputError(f"only {len(records)} records; training needs at least 10", path=source)
    train, held, eval_split = _split(records, recipe, seed, source)
    provenance = {
        "source": source if kind != "recipe" else spec.source,
        "kind": kind,
        "name": Path(source).name,
        "description": spec.description if kind != "user" else f"user data: {Path(source).name}",
        "licence": spec.licence if kind != "user" else "unknown (user data)",
        "decoding": spec.decoding,
        "max_tokens": spec.max_tokens,
        "eval_split": eval_split,
        "recipe": recipe.name,
        "model": spec.model if kind != "bundled" else None,
        "tokenizer": spec.tokenizer,
        "holdout": {
            "train_split": spec.train_split,
            "eval_split": spec.eval_split,
            "fraction": spec.eval_fraction,
            "seed": seed,
        },
        "protocol": spec.protocol if kind == "recipe" else "",
        "train_records": len(train),
        "train_samples": sum(r.num_samples for r in train),
        "eval_records": len(held),
        "eval_samples": sum(r.num_samples for r in held),
    }
    return TrainingData(train=train, eval=held, provenance=provenance)


def _fallback_source(
    recipe: Recipe, missing: str, bundled: Callable[[], Path], notify: Callable[[str], None]
) -> tuple[str, str]:
    spec = recipe.data
    if spec.url:
        try:
            path = download_verified(spec.url, spec.sha256, f"{recipe.name}-{Path(spec.url).name}")
            notify(f"{missing} not found; using the recipe's download {spec.url} (sha256 verified)")
            return str(path), "download"
        except InputError:
            raise
        except OSError as err:
            notify(f"{missing} not found and {spec.url} unreachable ({type(err).__name__})")
    if spec.fallback == "bundled":
        path = bundled()
        notify(f"using the real sample bundled with sagepred: {path.name} (see sagepred/data/README.md)")
        return str(path), "bundled"
    raise InputError(
        "data source not found; pass --data PATH or set SAGEPRED_DATA_DIR", path=missing, field="data.source"
    )


def held_out_records(
    provenance: dict[str, Any],
    data_dir: Path | None = None,
    notify: Callable[[str], None] = lambda _msg: None,
) -> list[LengthRecord]:
    """Rebuild a checkpoint's evaluation records from its ``config.json`` ``data`` provenance.

    Works for recipe and user sources that are still reachable; the split is the same because
    hold-out membership depends only on each record and the seed (see ``split_records``). A recipe
    source that is missing falls back the way ``train`` does (the recipe's URL, then the bundled sample).
    """
    from sagepred.importers import bundled_sample_path, load_records

    source = str(provenance.get("source", ""))
    kind = provenance.get("kind")
    if kind == "bundled":
        source = str(bundled_sample_path())
    source = source.format(data_dir=str(data_dir or default_data_dir()))
    if source and not Path(source).exists() and kind == "recipe" and provenance.get("recipe"):
        from sagepred.training.recipes import load_recipe

        source, kind = _fallback_source(
            load_recipe(str(provenance["recipe"])), source, bundled_sample_path, notify
        )
    if not source or not Path(source).exists():
        raise InputError("the checkpoint's data source cannot be found; pass --data", path=source or None)
    records = load_records(
        source,
        model=provenance.get("model") if kind != "bundled" else None,
        tokenizer=provenance.get("tokenizer"),
        max_tokens=provenance.get("max_tokens"),
    )
    holdout = provenance.get("holdout") or {}
    if holdout.get("by") == "prompt":
        from sagepred.contamination import prompt_digest

        held = prompt_split(
            [r.prompt_text for r in records],
            float(holdout.get("fraction", 0.2)),
            int(holdout.get("seed", 0)),
            str(holdout.get("salt", "pooled")),
        )
        excluded = set(holdout.get("excluded") or ())
        return [
            r
            for r, h in zip(records, held, strict=True)
            if h and prompt_digest(r.prompt_text).hex() not in excluded
        ]
    if holdout.get("train_split") and holdout.get("eval_split") and any(r.split for r in records):
        return [r for r in records if r.split == holdout["eval_split"]]
    return split_records(records, float(holdout.get("fraction", 0.2)), int(holdout.get("seed", 0)))[1]
