"""Engine profiles: the coefficients of the simulator's iteration-time model and the engine limits.

A step of continuous batching takes

    t_step = step_base_s + per_token_s · batched_tokens + per_kv_token_s · kv_tokens_read

where ``batched_tokens`` is the number of tokens processed in the step (one per decoding sequence
plus the prefill chunks) and ``kv_tokens_read`` the context every scheduled sequence attends over.
Between steps the engine loop spends ``host_per_step_s``, and ``host_per_request_s`` for each request
it takes in (input processing, the scheduler's registration): time in which no step runs, which near
capacity adds to every queued request's wait.
Profiles are YAML files; the defaults in ``profiles/`` are derived from first principles (their
comments give the derivation), and ``sagepred profile`` measures one on a real engine.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from sagepred.errors import InputError

DEFAULT_PROFILE = "llama-3.1-8b-h100"


@dataclass(frozen=True)
class EngineProfile:
    """One engine (model × GPU × serving settings) as the simulator sees it."""

    name: str = field(metadata={"help": "short identifier"})
    step_base_s: float = field(metadata={"help": "fixed seconds per step (weights read + launch overhead)"})
    per_token_s: float = field(metadata={"help": "seconds per batched token (matmul FLOPs / rate)"})
    per_kv_token_s: float = field(metadata={"help": "seconds per KV-cache token read by attention"})
    kv_capacity_tokens: int = field(metadata={"help": "KV-cache capacity in tokens (all blocks)"})
    block_size: int = field(default=16, metadata={"help": "tokens per KV block (vLLM: 16)"})
    max_num_seqs: int = field(
        default=256, metadata={"help": "most sequences in one step (vLLM max_num_seqs)"}
    )
    max_num_batched_tokens: int = field(default=8192, metadata={"help": "token budget per step"})
    chunked_prefill: bool = field(default=True, metadata={"help": "split long prefills across steps"})
    model: str = field(default="", metadata={"help": "the served model"})
    gpu: str = field(default="", metadata={"help": "the accelerator"})
    source: str = field(default="", metadata={"help": "how the numbers were obtained"})
    host_per_request_s: float = field(
        default=0.0,
        metadata={
            "help": "engine-loop seconds per arriving request outside steps (input processing, the "
            "scheduler's registration); 0 when the serving process does this work beside the engine"
        },
    )
    host_per_step_s: float = field(
        default=0.0,
        metadata={"help": "engine-loop seconds between two steps (output processing, the serving loop)"},
    )

    @property
    def num_blocks(self) -> int:
        """KV blocks available."""
        return self.kv_capacity_tokens // self.block_size

    def step_time(self, batched_tokens: float, kv_tokens_read: float) -> float:
        """Seconds one step takes."""
        return self.step_base_s + self.per_token_s * batched_tokens + self.per_kv_token_s * kv_tokens_read

    def scaled(self, factor: float) -> EngineProfile:
        """The same engine with every step ``factor`` times as long (a machine measured slower or faster);
        the host times between steps are kept."""
        if not factor > 0:
            raise ValueError(f"expected a positive factor, got {factor!r}")
        return dataclasses.replace(
            self,
            step_base_s=self.step_base_s * factor,
            per_token_s=self.per_token_s * factor,
            per_kv_token_s=self.per_kv_token_s * factor,
        )

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


_FIELDS = {f.name: f for f in dataclasses.fields(EngineProfile)}
_REQUIRED = [f.name for f in dataclasses.fields(EngineProfile) if f.default is dataclasses.MISSING]
_POSITIVE_FLOATS = ("per_token_s", "per_kv_token_s")
_POSITIVE_INTS = ("kv_capacity_tokens", "block_size", "max_num_seqs", "max_num_batched_tokens")


def profile_from_dict(data: Any, *, path: str | Path = "<profile>") -> EngineProfile:
    """Validate a mapping and build a profile; bad values raise :class:`InputError` naming the field."""
    if not isinstance(data, dict):
        raise InputError("expected a mapping of profile fields", path=path)
    unknown = sorted(set(data) - set(_FIELDS))
    if unknown:
        raise InputError(f"unknown field (known: {', '.join(_FIELDS)})", path=path, field=unknown[0])
    for name in _REQUIRED:
        if name not in data:
            raise InputError("missing", path=path, field=name)
    values: dict[str, Any] = {}
    for name, value in data.items():
        if name in ("name", "model", "gpu", "source"):
            values[name] = str(value)
        elif name == "chunked_prefill":
            if not isinstance(value, bool):
                raise InputError(f"expected true or false, got {value!r}", path=path, field=name)
            values[name] = value
        elif name in _POSITIVE_INTS:
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or int(value) != value
                or value <= 0
            ):
                raise InputError(f"expected a positive integer, got {value!r}", path=path, field=name)
            values[name] = int(value)
        else:
            if isinstance(value, str):
                value = _number(value)
            if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
                raise InputError(f"expected a number, got {value!r}", path=path, field=name)
            if value < 0 or (name in _POSITIVE_FLOATS and value == 0):
                raise InputError(
                    f"expected a {'positive' if name in _POSITIVE_FLOATS else 'non-negative'} "
                    f"number, got {value!r}",
                    path=path,
                    field=name,
                )
            values[name] = float(value)
    profile = EngineProfile(**values)
    if profile.kv_capacity_tokens < profile.block_size:
        raise InputError("smaller than one block", path=path, field="kv_capacity_tokens")
    return profile


def _number(text: str) -> float | str:
    """YAML 1.1 reads ``1e-5`` (no dot) as a string; accept it as a number."""
    try:
        return float(text)
    except ValueError:
        return text


def builtin_profiles() -> list[str]:
    """Names of the profiles shipped in ``sagepred.scheduler/profiles``."""
    folder = resources.files("sagepred.scheduler") / "profiles"
    return sorted(p.name[: -len(".yaml")] for p in folder.iterdir() if p.name.endswith(".yaml"))


def load_profile(name_or_path: str | Path | None = None) -> EngineProfile:
    """A profile from a YAML file, or a built-in one by name (default: ``llama-3.1-8b-h100``)."""
    import yaml

    name_or_path = DEFAULT_PROFILE if name_or_path is None else name_or_path
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") or path.exists():
        if not path.is_file():
            raise InputError("profile file not found", path=path)
        text = path.read_text(encoding="utf-8")
    else:
        resource = resources.files("sagepred.scheduler") / "profiles" / f"{name_or_path}.yaml"
        if not resource.is_file():
            raise InputError(
                f"unknown profile {str(name_or_path)!r}: not a file, and not one of {', '.join(builtin_profiles())}",
                field="profile",
            )
        text = resource.read_text(encoding="utf-8")
        path = Path(f"{name_or_path}.yaml")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise InputError(f"malformed YAML ({err.__class__.__name__})", path=path) from None
    return profile_from_dict(data, path=path)
