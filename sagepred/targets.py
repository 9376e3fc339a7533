"""Target models: one registry of the names each target goes by, and one matcher over names.

A *target* is an LLM whose output lengths sagepred predicts. Its names come from two places, read as
data: the training recipes (``training/recipes/*.yaml``, package data of ``sagepred.training``, read
without importing that package) and the zoo index (``sagepred/zoo_checkpoints/index.json``). Every
command that takes a target (``--model`` of train, predict, eval, compare, simulate; ``zoo pull``)
resolves it with :func:`resolve_target`.

The matcher (:func:`match_name`) tries three tiers and stops at the first that matches:

1. **exact**: the canonical name or the target model id, as typed;
2. **case-insensitive**: the same names, ignoring case;
3. **alias**: the aliases, ignoring case.

Two targets matching in the same tier is an :class:`AmbiguousTargetError` that lists them; no match
is an :class:`UnknownTargetError` with the close matches (:mod:`difflib`).
"""

from __future__ import annotations

import difflib
import functools
import importlib.util
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml

from sagepred.errors import InputError

RECIPES_PACKAGE = "sagepred.training"
ZOO_INDEX = Path(__file__).resolve().parent / "zoo_checkpoints" / "index.json"

T = TypeVar("T")

# Target-model family -> shared tokenizer short name (first match wins; checked against AlpacaEval's
# `native_tokenizer` column). Families without a shared tokenizer (gemma, Phi-4, Ministral's Tekken,
# gpt-4o's o200k, Claude, Gemini) map to None.
MODEL_FAMILIES: list[tuple[str, str | None]] = [
    (r"gpt-?4o|o200k|phi-?4|gemma|ministral|tekken|claude|gemini|mistral-large|mistral-medium", None),
    (r"llama-?4", "llama4"),
    (r"llama-?3|llama3", "llama3"),
    (r"llama-?2|vicuna|tulu-2|wizardlm", "llama2"),
    (r"qwen", "qwen"),
    (r"mistral-7b-instruct-v0\.3|mixtral-8x22b|mistral-7b-v0\.3", "mistral-v3"),
    (r"mistral|mixtral|zephyr|starling-lm|openhermes-2", "mistral-v1"),
    (r"gpt-?3\.5|gpt-?35|gpt-?4|dbrx", "cl100k"),
]


class TargetError(InputError):
    """A target name that does not name exactly one target; ``candidates`` lists what it might mean."""

    def __init__(self, message: str, candidates: Sequence[str], *, field: str | None = "--model") -> None:
        super().__init__(message, field=field)
        self.candidates = list(candidates)


class AmbiguousTargetError(TargetError):
    """A name that two or more targets answer to in the same tier."""


class UnknownTargetError(TargetError):
    """A name no target answers to; ``candidates`` are the close matches."""

    @property
    def hint(self) -> str:
        """``'; did you mean a, b?'``, or ``''`` when nothing is close."""
        return f"; did you mean {', '.join(self.candidates)}?" if self.candidates else ""


@dataclass(frozen=True)
class Target:
    """One target model and every name it goes by."""

    name: str = field(metadata={"help": "canonical name: the recipe's and the zoo checkpoint's"})
    target_model: str = field(metadata={"help": "the model's id in its data (recorded in checkpoints)"})
    data_model: str = field(
        metadata={"help": "the model's name inside its data source (CASTILLO model column, AlpacaEval file)"}
    )
    tokenizer: str | None = field(
        default=None, metadata={"help": "tokenizer spec counting its tokens (short name, path or hub id)"}
    )
    aliases: tuple[str, ...] = field(default=(), metadata={"help": "other names (hub ids, short forms)"})
    recipe_path: str | None = field(default=None, metadata={"help": "its training recipe YAML, if any"})
    data_source: str | None = field(
        default=None, metadata={"help": "its recipe's data source template ('{data_dir}/castillo')"}
    )
    zoo_checkpoint: str | None = field(default=None, metadata={"help": "its zoo checkpoint name, if any"})

    @property
    def names(self) -> tuple[str, ...]:
        """Every name of the target, canonical first, without repeats."""
        return tuple(dict.fromkeys((self.name, self.target_model, self.data_model, *self.aliases)))


# ---------------------------------------------------------------------------- the matcher
def match_name(
    query: str,
    candidates: Iterable[T],
    primary: Callable[[T], Sequence[str]],
    aliases: Callable[[T], Sequence[str]],
    label: Callable[[T], str],
    *,
    what: str = "target model",
    field: str | None = "--model",
) -> T:
    """The one candidate ``query`` names: exact, then case-insensitive, then alias (module docstring).

    ``primary`` gives a candidate's own names, ``aliases`` its other names, ``label`` the name shown in
    errors. Raises :class:`AmbiguousTargetError` or :class:`UnknownTargetError` (with ``field``).
    """
    items = list(candidates)
    wanted = query.strip()
    lowered = wanted.lower()
    tiers: list[Callable[[T], bool]] = [
        lambda c: wanted in primary(c),
        lambda c: lowered in (n.lower() for n in primary(c)),
        lambda c: lowered in (n.lower() for n in aliases(c)),
    ]
    for matches_tier in tiers:
        found = {label(c): c for c in items if matches_tier(c)}
        if len(found) == 1:
            return next(iter(found.values()))
        if found:
            raise AmbiguousTargetError(
                f"ambiguous {what} {query!r}: it names {', '.join(sorted(found))}; pick one",
                sorted(found),
                field=field,
            )
    by_name = {n.lower(): label(c) for c in items for n in (*primary(c), *aliases(c))}
    close = difflib.get_close_matches(lowered, list(by_name), n=8, cutoff=0.6)
    close += [n for n in by_name if lowered and lowered in n]
    suggestions = list(dict.fromkeys(by_name[n] for n in close))[:6]
    hint = f"; did you mean {', '.join(suggestions)}?" if suggestions else ""
    raise UnknownTargetError(f"unknown {what} {query!r}{hint}", suggestions, field=field)


# ---------------------------------------------------------------------------- the registry
def recipes_dir() -> Path:
    """The folder of the bundled recipe YAMLs (package data of ``sagepred.training``, not imported)."""
    spec = importlib.util.find_spec(RECIPES_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise InputError(f"the {RECIPES_PACKAGE} package data is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "recipes"


def family_tokenizer(model: str) -> str | None:
    """The shared tokenizer of a model's family by name alone (``Meta-Llama-3-8B-Instruct`` -> ``llama3``)."""
    name = model.lower().replace("--", "/").rsplit("/", 1)[-1]
    for pattern, tokenizer in MODEL_FAMILIES:
        if re.search(pattern, name):
            return tokenizer
    return None


def parse_yaml(text: str, source: str | Path) -> Any:
    """YAML ``text`` from ``source``; malformed YAML is an :class:`InputError` naming the file and line."""
    try:
        return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        raise InputError(
            f"malformed YAML ({getattr(err, 'problem', err)})",
            path=source,
            line=mark.line + 1 if mark else None,
        ) from None


def _read_yaml(path: Path) -> Any:
    return parse_yaml(path.read_text(encoding="utf-8"), path)


def _recipe_target(path: Path) -> Target:
    raw = _read_yaml(path)
    if not isinstance(raw, dict):
        raise InputError("expected a mapping at the top level", path=path)
    for key in ("name", "target_model", "data"):
        if key not in raw:
            raise InputError("missing", path=path, field=key)
    data = raw["data"] if isinstance(raw["data"], dict) else {}
    target_model = str(raw["target_model"])
    return Target(
        name=str(raw["name"]),
        target_model=target_model,
        data_model=str(data.get("model") or target_model),
        tokenizer=data.get("tokenizer") or family_tokenizer(target_model),
        aliases=tuple(str(a) for a in raw.get("aliases") or []),
        recipe_path=str(path),
        data_source=data.get("source"),
    )


def _merge(target: Target, entry: Mapping[str, Any]) -> Target:
    aliases = tuple(dict.fromkeys((*target.aliases, *(str(a) for a in entry.get("aliases", [])))))
    return Target(**{**target.__dict__, "aliases": aliases, "zoo_checkpoint": str(entry["name"])})


def _zoo_target(entry: Mapping[str, Any]) -> Target:
    target_model = str(entry["target_model"])
    return Target(
        name=str(entry["name"]),
        target_model=target_model,
        data_model=target_model,
        tokenizer=family_tokenizer(target_model),
        aliases=tuple(str(a) for a in entry.get("aliases", [])),
        zoo_checkpoint=str(entry["name"]),
    )


def build_targets(recipe_files: Iterable[Path], zoo_entries: Iterable[Mapping[str, Any]]) -> list[Target]:
    """Targets of the recipes, joined by name with the zoo entries (whose aliases are added)."""
    by_name = {t.name: t for t in (_recipe_target(p) for p in sorted(recipe_files))}
    for entry in zoo_entries:
        name = str(entry["name"])
        by_name[name] = _merge(by_name[name], entry) if name in by_name else _zoo_target(entry)
    return sorted(by_name.values(), key=lambda t: t.name)


def _packaged_zoo_entries() -> list[dict[str, Any]]:
    if not ZOO_INDEX.is_file():
        return []
    try:
        index = json.loads(ZOO_INDEX.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise InputError(f"malformed JSON ({err.msg})", path=ZOO_INDEX, line=err.lineno) from None
    return list(index.get("checkpoints", [])) if isinstance(index, dict) else []


@functools.lru_cache(maxsize=1)
def _packaged_targets() -> tuple[Target, ...]:
    folder = recipes_dir()
    files = sorted(folder.glob("*.yaml")) if folder.is_dir() else []
    return tuple(build_targets(files, _packaged_zoo_entries()))


def list_targets(zoo_index: Mapping[str, Any] | None = None) -> list[Target]:
    """Every known target: the bundled recipes and the packaged zoo, or ``zoo_index``'s checkpoints."""
    if zoo_index is None:
        return list(_packaged_targets())
    folder = recipes_dir()
    return build_targets(sorted(folder.glob("*.yaml")) if folder.is_dir() else [], zoo_index["checkpoints"])


def resolve_target(
    name: str, targets: Sequence[Target] | None = None, *, field: str | None = "--model"
) -> Target:
    """The target ``name`` names (canonical name, target model id or alias; see the module docstring).

    ``targets`` defaults to :func:`list_targets`. Raises :class:`AmbiguousTargetError` or
    :class:`UnknownTargetError`, one line each, with ``field`` as the option to blame.
    """
    return match_name(
        name,
        list_targets() if targets is None else targets,
        primary=lambda t: (t.name, t.target_model, t.data_model),
        aliases=lambda t: t.aliases,
        label=lambda t: t.name,
        field=field,
    )


@functools.lru_cache(maxsize=1024)
def find_target(name: str) -> Target | None:
    """The target ``name`` names, or ``None`` when it names none (ambiguity still raises); cached."""
    try:
        return resolve_target(name)
    except UnknownTargetError:
        return None


def data_model_name(name: str | None) -> str | None:
    """The name to look for in a data source: the target's data model, else ``name`` itself.

    A name that is no known target is kept as it is (a JSONL's own ``target_model``, a CASTILLO model
    without a recipe); the importer then reports it if the source does not have it.
    """
    if name is None:
        return None
    target = find_target(name)
    return target.data_model if target is not None else name


def same_target(a: str, b: str) -> bool:
    """Whether two model names mean the same target (equal ignoring case, or resolving to one target)."""
    if a.strip().lower() == b.strip().lower():
        return True
    try:
        first, second = find_target(a), find_target(b)
    except AmbiguousTargetError:
        return False
    return first is not None and second is not None and first.name == second.name


def tokenizer_for(model: str) -> str | None:
    """The tokenizer spec of the target ``model`` names, else its family's shared tokenizer, else None."""
    try:
        target = find_target(model)
    except AmbiguousTargetError:
        target = None
    return target.tokenizer if target is not None else family_tokenizer(model)
