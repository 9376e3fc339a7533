"""The model zoo: trained predictor checkpoints for named target models, listed in a checksummed index.

A zoo *source* holds ``index.json`` and one checkpoint folder per target (``<name>/config.json``,
``model.safetensors``, ``README.md``). Sources:

* ``packaged`` (default): the offline zoo shipped inside sagepred (``sagepred/zoo_checkpoints``);
* a local folder or mirror with the same layout (``--source DIR`` or ``$SAGEPRED_ZOO_SOURCE``);
* ``hf`` or ``hf:NAMESPACE``: Hugging Face Hub repos ``NAMESPACE/sagepred-<name>`` (network), checked
  against the packaged index.

``pull`` copies a checkpoint into the cache (``$SAGEPRED_CACHE_DIR/zoo`` or ``~/.cache/sagepred/zoo``),
verifying every file's size and sha256 in a temp folder that is renamed into place only when all match.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sagepred import __version__
from sagepred.checkpoint import read_json
from sagepred.errors import CheckpointError, InputError
from sagepred.hub import hub_unavailable
from sagepred.io import atomic_directory, exclusive, sha256_file
from sagepred.targets import UnknownTargetError, list_targets, resolve_target

if TYPE_CHECKING:
    from sagepred.predictor import PredictorConfig

PACKAGED_ZOO = Path(__file__).resolve().parent / "zoo_checkpoints"
INDEX_NAME = "index.json"
INDEX_FORMAT = 1
HUB_NAMESPACE = "sagepred"
SOURCE_ENV = "SAGEPRED_ZOO_SOURCE"


@dataclass(frozen=True)
class ZooSource:
    """Where checkpoints come from."""

    kind: str = field(metadata={"help": "'folder' (packaged zoo or a local mirror) or 'hub'"})
    location: str = field(metadata={"help": "folder path, or Hub namespace"})

    def describe(self) -> str:
        if self.kind == "hub":
            return f"Hugging Face Hub ({self.location}/sagepred-<name>)"
        return "packaged offline zoo" if Path(self.location) == PACKAGED_ZOO else self.location


def resolve_source(spec: str | None = None) -> ZooSource:
    """``spec``, else ``$SAGEPRED_ZOO_SOURCE``, else the packaged zoo."""
    spec = spec or os.environ.get(SOURCE_ENV) or "packaged"
    if spec == "packaged":
        return ZooSource("folder", str(PACKAGED_ZOO))
    if spec == "hf" or spec.startswith(("hf:", "hub:")):
        namespace = spec.partition(":")[2] or HUB_NAMESPACE
        return ZooSource("hub", namespace)
    path = Path(spec).expanduser()
    if not path.is_dir():
        raise InputError(
            "zoo source not found (expected 'packaged', 'hf[:NAMESPACE]' or a folder)",
            path=spec,
            field="--source",
        )
    return ZooSource("folder", str(path))


def cache_dir() -> Path:
    """Where pulled checkpoints live: ``$SAGEPRED_CACHE_DIR/zoo``, else ``~/.cache/sagepred/zoo``."""
    from sagepred import paths

    return paths.cache_dir("zoo")


def load_index(source: ZooSource) -> dict[str, Any]:
    """The source's index (the Hub uses the packaged index: it pins every file's sha256)."""
    folder = Path(source.location) if source.kind == "folder" else PACKAGED_ZOO
    path = folder / INDEX_NAME
    if not path.is_file():
        raise InputError(f"no {INDEX_NAME} in the zoo source", path=folder)
    index = read_json(path, error=InputError)
    if index.get("format") != INDEX_FORMAT or "checkpoints" not in index:
        raise InputError(f"not a sagepred zoo index (format {INDEX_FORMAT})", path=path)
    return index


def resolve_entry(index: dict[str, Any], name: str) -> dict[str, Any]:
    """The index entry for a checkpoint name, target model or alias (:func:`sagepred.targets.resolve_target`).

    Raises:
        InputError: unknown or ambiguous names, with the close matches.
    """
    entries = {e["name"]: e for e in index["checkpoints"]}
    try:
        target = resolve_target(name, list_targets(index), field="target")
    except UnknownTargetError as err:
        raise InputError(
            f"no zoo checkpoint for {name!r}{err.hint} (see `sagepred zoo list`)", field="target"
        ) from None
    if target.zoo_checkpoint not in entries:
        raise InputError(
            f"no zoo checkpoint for {name!r} (target {target.name} has a recipe; `sagepred train` makes one)",
            field="target",
        )
    return entries[target.zoo_checkpoint]


def _verify(path: Path, spec: dict[str, Any], label: str) -> None:
    size = path.stat().st_size
    if size != spec["size"]:
        raise CheckpointError(
            f"{label}: size {size} bytes, the zoo index says {spec['size']}; nothing was written"
        )
    digest = sha256_file(path)
    if digest != spec["sha256"]:
        raise CheckpointError(
            f"{label}: sha256 mismatch (expected {spec['sha256']}, got {digest}); nothing was written"
        )


def _is_verified(folder: Path, entry: dict[str, Any]) -> bool:
    try:
        for spec in entry["files"]:
            _verify(folder / spec["path"], spec, spec["path"])
    except (OSError, CheckpointError):
        return False
    return True


def _fetch(source: ZooSource, entry: dict[str, Any], filename: str, into: Path) -> None:
    if source.kind == "folder":
        origin = Path(source.location) / entry["name"] / filename
        if not origin.is_file():
            raise CheckpointError(f"{origin}: missing from the zoo source")
        shutil.copyfile(origin, into / filename)
        return
    from huggingface_hub import hf_hub_download

    repo_id = f"{source.location}/{entry.get('repo', 'sagepred-' + entry['name'])}"
    if reason := hub_unavailable():
        raise CheckpointError(f"{repo_id}/{filename}: Hub download failed ({reason})")
    try:
        local = hf_hub_download(repo_id, filename, revision=entry.get("revision"), etag_timeout=5)
    except Exception as err:
        raise CheckpointError(
            f"{repo_id}/{filename}: Hub download failed ({type(err).__name__}: "
            f"{str(err).splitlines()[0] if str(err) else ''})"
        ) from None
    shutil.copyfile(local, into / filename)


def pull(name: str, source: str | ZooSource | None = None, output: str | Path | None = None) -> Path:
    """A verified local copy of the named checkpoint (cached); with ``output``, also copied there.

    Returns the cached folder (or ``output`` when given). Every file's size and sha256 is checked
    against the index before the folder appears; on a mismatch nothing is left behind.
    """
    zoo_source = source if isinstance(source, ZooSource) else resolve_source(source)
    entry = resolve_entry(load_index(zoo_source), name)
    cached = cache_dir() / entry["name"]
    if not _is_verified(cached, entry):
        with exclusive(cached.parent):
            if not _is_verified(cached, entry):  # another process may have fetched it meanwhile
                with atomic_directory(cached) as tmp:
                    for spec in entry["files"]:
                        _fetch(zoo_source, entry, spec["path"], tmp)
                        _verify(
                            tmp / spec["path"],
                            spec,
                            f"{entry['name']}/{spec['path']} from {zoo_source.describe()}",
                        )
    if output is None:
        return cached
    output = Path(output)
    with atomic_directory(output) as tmp:
        for spec in entry["files"]:
            shutil.copyfile(cached / spec["path"], tmp / spec["path"])
    return output


def checkpoint_for(target: str, source: str | None = None) -> Path:
    """The zoo checkpoint folder for a target model (pulled and verified on first use)."""
    return pull(target, source)


def list_entries(source: str | ZooSource | None = None) -> list[dict[str, Any]]:
    """One row per checkpoint: name, target, encoder, size and headline metrics."""
    zoo_source = source if isinstance(source, ZooSource) else resolve_source(source)
    rows = []
    for entry in load_index(zoo_source)["checkpoints"]:
        metrics = entry.get("metrics", {})
        rows.append(
            {
                "name": entry["name"],
                "target_model": entry["target_model"],
                "data": entry.get("data_source"),
                "encoder": entry["encoder"],
                "head": entry.get("head"),
                "size_bytes": entry["size_bytes"],
                "crps": metrics.get("crps"),
                "global_crps": (entry.get("baseline_global") or {}).get("crps"),
                "kendall_tau": metrics.get("kendall_tau"),
                "coverage_80": metrics.get("coverage_80"),
                "eval_prompts": entry.get("eval_prompts"),
            }
        )
    return rows


def _beats_baseline(metrics: dict[str, Any]) -> bool | None:
    crps, baseline = metrics.get("crps"), (metrics.get("baseline_global") or {}).get("crps")
    if not isinstance(crps, int | float) or not isinstance(baseline, int | float):
        return None
    return crps < baseline


def _data_label(data: dict[str, Any]) -> str | None:
    source = str(data.get("source", ""))
    if source.startswith("{data_dir}/"):
        return source.split("/")[1]
    return data.get("name")


def index_entry(
    folder: Path,
    config: PredictorConfig,
    aliases: list[str] | None = None,
    build: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The index entry of a checkpoint folder: files with sizes and sha256, metrics, provenance."""
    files = [
        {"path": p.name, "size": p.stat().st_size, "sha256": sha256_file(p)}
        for p in sorted(folder.iterdir())
        if p.is_file() and not p.name.startswith(".")
    ]
    data = config.data
    metrics = {k: v for k, v in config.metrics.items() if isinstance(v, int | float)}
    return {
        "name": folder.name,
        "target_model": config.target_model,
        "aliases": sorted(set(aliases or [])),
        "repo": f"sagepred-{folder.name}",
        "encoder": config.encoder,
        "head": config.head.kind,
        "mode": config.training.get("mode", "frozen" if config.lora is None else "lora"),
        "weights_dtype": config.training.get("weights_dtype", "float32"),
        "data_source": _data_label(data),
        "licence": data.get("licence"),
        "protocol": data.get("eval_split"),
        "eval_prompts": data.get("eval_records"),
        "eval_samples": data.get("eval_samples"),
        "metrics": metrics,
        "baseline_global": config.metrics.get("baseline_global", {}),
        "beats_global_baseline": _beats_baseline(config.metrics),
        "files": files,
        "size_bytes": sum(f["size"] for f in files),
        **({"build": build} if build else {}),
    }


def make_index(entries: list[dict[str, Any]]) -> dict[str, Any]:
    """The zoo index document."""
    return {
        "format": INDEX_FORMAT,
        "sagepred_version": __version__,
        "hub_namespace": HUB_NAMESPACE,
        "total_bytes": sum(e["size_bytes"] for e in entries),
        "checkpoints": sorted(entries, key=lambda e: e["name"]),
    }


def push(
    folder: str | Path, repo_id: str, *, private: bool = False, token: str | None = None, api: Any = None
) -> str:
    """Upload a checkpoint folder (``save_pretrained`` layout, card as README) to a Hub model repo.

    ``api`` defaults to ``huggingface_hub.HfApi()``. Returns the repo URL. Failures (no network,
    no token, no permission) become one-line :class:`CheckpointError`.
    """
    from sagepred.predictor import (
        ADAPTER_CONFIG_NAME,
        ADAPTER_WEIGHTS_NAME,
        CARD_NAME,
        CHECKPOINT_SIDECARS,
        LengthPredictor,
    )

    folder = Path(folder)
    LengthPredictor.from_pretrained(folder)  # refuses anything that is not a loadable checkpoint
    if not (folder / CARD_NAME).is_file():
        raise CheckpointError(f"{folder}: no {CARD_NAME} model card to publish")
    if repo_id.count("/") != 1 or not all(repo_id.split("/")):
        raise InputError("expected a Hub repo id NAMESPACE/NAME", field="--repo")
    if api is None:
        if reason := hub_unavailable():
            raise CheckpointError(f"push to {repo_id} failed ({reason})")
        from huggingface_hub import HfApi

        api = HfApi(token=token)
    try:
        url = api.create_repo(repo_id, repo_type="model", private=private, exist_ok=True)
        api.upload_folder(
            folder_path=str(folder),
            repo_id=repo_id,
            repo_type="model",
            allow_patterns=[
                "config.json",
                "model.safetensors",
                ADAPTER_CONFIG_NAME,
                ADAPTER_WEIGHTS_NAME,
                *CHECKPOINT_SIDECARS,
                CARD_NAME,
            ],
            commit_message=f"sagepred {__version__}: upload {folder.name}",
        )
    except Exception as err:
        first = str(err).splitlines()[0] if str(err) else ""
        raise CheckpointError(f"push to {repo_id} failed ({type(err).__name__}: {first})") from None
    return str(url)
