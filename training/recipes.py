"""Training recipes: one YAML per target model (``training/recipes/<name>.yaml``).

A recipe names the target model, where its length records come from (with a download URL +
sha256 and an offline fallback to the bundled sample), and the predictor and training defaults.
``sagepred train --model NAME`` resolves NAME against recipe names and aliases.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from sagepred.errors import InputError
from sagepred.paths import default_data_dir

RECIPE_PACKAGE = "sagepred.training"


@dataclass
class DataSpec:
    """Where a recipe's records come from."""

    source: str = field(metadata={"help": "path template; '{data_dir}' expands to the real-data folder"})
    model: str | None = field(
        default=None, metadata={"help": "model name inside a multi-model source (CASTILLO)"}
    )
    tokenizer: str | None = field(
        default=None, metadata={"help": "tokenizer counting output text (AlpacaEval)"}
    )
    train_split: str | None = field(default=None, metadata={"help": "source split to train on"})
    eval_split: str | None = field(default=None, metadata={"help": "source split to evaluate on"})
    eval_fraction: float = field(
        default=0.2, metadata={"help": "held-out share when the source has no splits"}
    )
    url: str | None = field(default=None, metadata={"help": "download for users with a network"})
    sha256: str | None = field(default=None, metadata={"help": "checksum the download must match"})
    fallback: str | None = field(
        default=None, metadata={"help": "'bundled': the sample shipped with sagepred"}
    )
    description: str = ""
    licence: str = "unknown"
    decoding: str = ""
    max_tokens: int | None = None
    protocol: str = field(
        default="", metadata={"help": "why this train/evaluation split (shown in the card)"}
    )


@dataclass
class Recipe:
    """A target model's training recipe."""

    name: str
    target_model: str
    data: DataSpec
    aliases: list[str] = field(default_factory=list)
    predictor: dict[str, Any] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)
    path: str = ""

    def resolved_source(self, data_dir: Path | None = None) -> str:
        """The data source path with ``{data_dir}`` expanded."""
        return self.data.source.format(data_dir=str(data_dir or default_data_dir()))


def _recipe_files() -> dict[str, Any]:
    folder = resources.files(RECIPE_PACKAGE) / "recipes"
    return {entry.name[: -len(".yaml")]: entry for entry in folder.iterdir() if entry.name.endswith(".yaml")}


def _parse_recipe(text: str, source: str) -> Recipe:
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        raise InputError(
            f"malformed YAML ({getattr(err, 'problem', err)})",
            path=source,
            line=mark.line + 1 if mark else None,
        ) from None
    if not isinstance(raw, dict):
        raise InputError("expected a mapping at the top level", path=source)
    for key in ("name", "target_model", "data"):
        if key not in raw:
            raise InputError("missing", path=source, field=key)
    try:
        data = DataSpec(**raw["data"])
    except TypeError as err:
        raise InputError(f"unexpected or missing key ({err})", path=source, field="data") from None
    return Recipe(
        name=str(raw["name"]),
        target_model=str(raw["target_model"]),
        data=data,
        aliases=[str(a) for a in raw.get("aliases", [])],
        predictor=dict(raw.get("predictor") or {}),
        training=dict(raw.get("training") or {}),
        path=source,
    )


def list_recipes() -> list[Recipe]:
    """Every bundled recipe, sorted by name."""
    return [
        _parse_recipe(entry.read_text(), f"recipes/{name}.yaml")
        for name, entry in sorted(_recipe_files().items())
    ]


def load_recipe(name: str) -> Recipe:
    """A recipe by name, alias or YAML path; an unknown name lists the close matches."""
    if name.endswith((".yaml", ".yml")) and Path(name).is_file():
        return _parse_recipe(Path(name).read_text(), name)
    wanted = name.lower()
    recipes = list_recipes()
    matches = [r for r in recipes if wanted in (n.lower() for n in (r.name, r.target_model, *r.aliases))]
    exact = [r for r in matches if r.name.lower() == wanted]
    if exact or len(matches) == 1:
        return (exact or matches)[0]
    if matches:
        raise InputError(
            f"ambiguous target model {name!r}: it names {', '.join(r.name for r in matches)}; pick one",
            field="--model",
        )
    known = sorted({n for r in recipes for n in (r.name, r.target_model, *r.aliases)})
    close = difflib.get_close_matches(name, known, n=5, cutoff=0.4)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise InputError(
        f"unknown target model {name!r}{hint} (recipes: {', '.join(r.name for r in recipes)})",
        field="--model",
    )
