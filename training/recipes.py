"""Training recipes: one YAML per target model (``training/recipes/<name>.yaml``).

A recipe names the target model, where its length records come from (with a download URL +
sha256 and an offline fallback to the bundled sample), and the predictor and training defaults.
``sagepred train --model NAME`` resolves NAME with :func:`sagepred.targets.resolve_target`.

Every section is typed: ``data:`` is a :class:`DataSpec`, ``predictor:`` a :class:`PredictorSection`
(its ``head:`` a :class:`~sagepred.heads.HeadConfig`, its ``lora:`` a
:class:`~sagepred.predictor.LoraSettings`) and ``training:`` a
:class:`~sagepred.training.trainer.TrainingConfig` (``seed`` comes from ``--seed``). An unknown key,
or a value of the wrong type, is a one-line :class:`~sagepred.errors.InputError` naming the recipe
file, the line and the key, with the closest known key.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from sagepred.encoders import FAST_ENCODER
from sagepred.errors import InputError
from sagepred.heads import HeadConfig
from sagepred.paths import default_data_dir
from sagepred.predictor import LoraSettings
from sagepred.targets import parse_yaml, resolve_target
from sagepred.training.trainer import TrainingConfig

__all__ = ["DataSpec", "PredictorSection", "Recipe", "default_data_dir", "list_recipes", "load_recipe"]

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
    description: str = field(default="", metadata={"help": "what the data is (shown in the card)"})
    licence: str = field(default="unknown", metadata={"help": "the data's licence (SPDX id when known)"})
    decoding: str = field(default="", metadata={"help": "how the responses were sampled"})
    max_tokens: int | None = field(
        default=None, metadata={"help": "the generation cap; a response reaching it is censored"}
    )
    protocol: str = field(
        default="", metadata={"help": "why this train/evaluation split (shown in the card)"}
    )


@dataclass
class PredictorSection:
    """A recipe's ``predictor:`` section: the encoder and head to build."""

    encoder: str = field(
        default=FAST_ENCODER,
        metadata={"help": "encoder spec: Hugging Face id or folder, ?layers=K&quant=int8"},
    )
    encoder_max_length: int = field(default=256, metadata={"help": "encoder tokens kept per prompt"})
    head: HeadConfig = field(default_factory=HeadConfig, metadata={"help": "distribution head settings"})
    lora: LoraSettings = field(
        default_factory=LoraSettings, metadata={"help": "LoRA settings, used when training with --lora"}
    )


@dataclass
class Recipe:
    """A target model's training recipe."""

    name: str = field(metadata={"help": "canonical target name (also the zoo checkpoint's)"})
    target_model: str = field(metadata={"help": "the model's id in its data"})
    data: DataSpec = field(metadata={"help": "where the records come from"})
    aliases: list[str] = field(default_factory=list, metadata={"help": "other names of the target"})
    predictor: PredictorSection = field(
        default_factory=PredictorSection, metadata={"help": "encoder and head defaults"}
    )
    training: TrainingConfig = field(
        default_factory=TrainingConfig, metadata={"help": "trainer defaults (seed comes from --seed)"}
    )
    path: str = field(default="", metadata={"help": "the YAML file it was read from"})

    def resolved_source(self, data_dir: Path | None = None) -> str:
        """The data source path with ``{data_dir}`` expanded."""
        return self.data.source.format(data_dir=str(data_dir or default_data_dir()))


# Keys a recipe may not set, per section, and why.
_EXCLUDED = {"training": {"seed": "set by --seed"}}
_SCALARS: dict[Any, tuple[type, ...]] = {int: (int,), float: (int, float), str: (str,), bool: (bool,)}


def _key_lines(text: str) -> dict[str, int]:
    """``'predictor.head.kind' -> line`` for every mapping key of the YAML document."""
    lines: dict[str, int] = {}

    def walk(node: yaml.Node, prefix: str) -> None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                dotted = f"{prefix}{key.value}"
                lines[dotted] = key.start_mark.line + 1
                walk(value, dotted + ".")

    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return lines
    if root is not None:
        walk(root, "")
    return lines


def _value_ok(hint: Any, value: Any) -> bool:
    union = typing.get_origin(hint) in (typing.Union, types.UnionType)
    options = typing.get_args(hint) if union else (hint,)
    for option in options:
        if option is type(None):
            if value is None:
                return True
            continue
        if option in _SCALARS:
            if isinstance(value, _SCALARS[option]) and (option is bool or not isinstance(value, bool)):
                return True
            continue
        kind = typing.get_origin(option) or option
        if not isinstance(kind, type) or isinstance(value, kind):
            return True
    return False


def _build(cls: type, raw: Any, section: str, source: str, lines: dict[str, int]) -> Any:
    """``cls(**raw)``, checking every key and value against ``cls``'s fields (nested dataclasses too)."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise InputError("expected a mapping", path=source, line=lines.get(section), field=section)
    excluded = _EXCLUDED.get(section, {})
    hints = typing.get_type_hints(cls)
    known = [f.name for f in dataclasses.fields(cls) if f.init and f.name not in excluded]
    values = {}
    for key, value in raw.items():
        dotted = f"{section}.{key}"
        where = {"path": source, "line": lines.get(dotted), "field": dotted}
        if key in excluded:
            raise InputError(f"not a recipe setting ({excluded[key]})", **where)
        if key not in known:
            close = difflib.get_close_matches(str(key), known, n=1, cutoff=0.6)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise InputError(f"unknown key ({hint}known: {', '.join(known)})", **where)
        hint_type = hints[key]
        if dataclasses.is_dataclass(hint_type):
            values[key] = _build(hint_type, value, dotted, source, lines)
        elif not _value_ok(hint_type, value):
            expected = getattr(hint_type, "__name__", str(hint_type))
            raise InputError(f"expected {expected}, got {value!r}", **where)
        else:
            values[key] = float(value) if hint_type is float else value
    try:
        return cls(**values)
    except TypeError as err:
        raise InputError(
            f"missing key ({err})", path=source, line=lines.get(section), field=section
        ) from None
    except ValueError as err:
        raise InputError(str(err), path=source, line=lines.get(section), field=section) from None


def _recipe_files() -> dict[str, Any]:
    folder = resources.files(RECIPE_PACKAGE) / "recipes"
    return {entry.name[: -len(".yaml")]: entry for entry in folder.iterdir() if entry.name.endswith(".yaml")}


def _parse_recipe(text: str, source: str) -> Recipe:
    raw = parse_yaml(text, source)
    if not isinstance(raw, dict):
        raise InputError("expected a mapping at the top level", path=source)
    lines = _key_lines(text)
    known = ["name", "target_model", "aliases", "data", "predictor", "training"]
    for key in raw:
        if key not in known:
            close = difflib.get_close_matches(str(key), known, n=1, cutoff=0.6)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise InputError(
                f"unknown key ({hint}known: {', '.join(known)})", path=source, line=lines.get(key), field=key
            )
    for key in ("name", "target_model", "data"):
        if key not in raw:
            raise InputError("missing", path=source, field=key)
    aliases = raw.get("aliases") or []
    if not isinstance(aliases, list):
        raise InputError("expected a list of names", path=source, line=lines.get("aliases"), field="aliases")
    return Recipe(
        name=str(raw["name"]),
        target_model=str(raw["target_model"]),
        data=_build(DataSpec, raw["data"], "data", source, lines),
        aliases=[str(a) for a in aliases],
        predictor=_build(PredictorSection, raw.get("predictor"), "predictor", source, lines),
        training=_build(TrainingConfig, raw.get("training"), "training", source, lines),
        path=source,
    )


def list_recipes() -> list[Recipe]:
    """Every bundled recipe, sorted by name."""
    return [
        _parse_recipe(entry.read_text(), f"recipes/{name}.yaml")
        for name, entry in sorted(_recipe_files().items())
    ]


def load_recipe(name: str) -> Recipe:
    """A recipe by target name, alias (:func:`sagepred.targets.resolve_target`) or YAML path."""
    if name.endswith((".yaml", ".yml")) and Path(name).is_file():
        return _parse_recipe(Path(name).read_text(), name)
    target = resolve_target(name)
    if target.recipe_path is None:
        raise InputError(
            f"target {target.name!r} has no training recipe (only a zoo checkpoint)", field="--model"
        )
    return _parse_recipe(Path(target.recipe_path).read_text(), f"recipes/{Path(target.recipe_path).name}")
