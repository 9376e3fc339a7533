"""One way to name a predictor: ``--predictor`` / ``--checkpoint`` specs for every command.

=====================  ===================================================================================
``DIR``                a checkpoint folder (``save_pretrained`` layout)
``DIR@TARGET``         one target of a pooled checkpoint folder (``sagepred train --model all``); TARGET
                       is its name, model name or alias; an unknown one names ``--init`` for adding it
``NAME``               a zoo checkpoint: name, target model or alias (``sagepred zoo list``), pulled and
                       verified on first use
``NAMESPACE/NAME``     a Hugging Face Hub repo id (network), loaded with ``from_pretrained``
``baseline:NAME``      a baseline fitted on training records (``sagepred.eval.baselines``)
``samples``            each record's other sampled lengths (``simulate`` only)
``exact``              each request's own length, known in advance (``simulate`` only: the perfect-
                       information bound no predictor reaches)
``none``               no prediction
``FILE.jsonl``         predictions written by ``sagepred predict``, matched to records by ``id``
=====================  ===================================================================================

:func:`parse_spec` decides which form a spec is (an existing path first, then the keywords, the zoo,
and the Hub id form); :func:`load_predictor` loads the forms that need nothing but the spec.
``baseline:NAME``, ``samples`` and ``exact`` need records, so the layers that have them build those:
:func:`sagepred.eval.runner.build_candidate` and :func:`sagepred.scheduler.workload.resolve_predictor`.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sagepred.errors import InputError

KINDS = ("checkpoint", "zoo", "hub", "baseline", "samples", "exact", "none", "predictions")
MODEL_KINDS = ("checkpoint", "zoo", "hub")
"""Specs naming a trained predictor (something that predicts new prompts)."""
RECORD_KINDS = ("baseline", "samples", "exact")
"""Specs built from records by the layer that has them, never by :func:`load_predictor`."""
BASELINE_PREFIX = "baseline:"
FORMS = {
    "checkpoint": "a checkpoint folder (DIR@TARGET for a pooled one)",
    "zoo": "a zoo name (`sagepred zoo list`)",
    "hub": "a Hub repo id NAMESPACE/NAME",
    "baseline": "baseline:NAME (global, length, sagesched, regressor, ltr)",
    "samples": "samples (each record's other sampled lengths)",
    "exact": "exact (each request's own length, known in advance)",
    "none": "none",
    "predictions": "a predictions JSONL file from `sagepred predict`",
}


@dataclass(frozen=True)
class PredictorSpec:
    """A parsed spec.

    Attributes:
        kind: one of :data:`KINDS`.
        value: the folder, zoo checkpoint name, Hub id, baseline name or file (empty for keywords).
        text: the spec as given.
        target: the target of a pooled checkpoint (``DIR@TARGET``), else empty.
    """

    kind: str
    value: str
    text: str
    target: str = ""


def forms(kinds: Collection[str] = KINDS) -> str:
    """The accepted forms of ``kinds``, for error messages and help text."""
    return "; ".join(FORMS[k] for k in KINDS if k in kinds)


def _zoo_name(spec: str, zoo_source: str | None) -> tuple[str | None, str]:
    """``(checkpoint name, '')`` when the zoo knows ``spec``, else ``(None, why not)``; ambiguity raises."""
    from sagepred.zoo import load_index, resolve_entry, resolve_source

    index = load_index(resolve_source(zoo_source))
    try:
        return resolve_entry(index, spec)["name"], ""
    except InputError as err:
        if err.detail.startswith("ambiguous"):
            raise
        return None, err.detail


def _is_hub_id(spec: str) -> bool:
    owner, _, name = spec.partition("/")
    return (
        spec.count("/") == 1
        and bool(owner)
        and bool(name)
        and not spec.startswith(("~", "."))
        and not spec.endswith((".json", ".jsonl"))
    )


def parse_spec(spec: str, zoo_source: str | None = None) -> PredictorSpec:
    """Which form ``spec`` is (see the module docstring); an unknown spec is one :class:`InputError`."""
    text = str(spec).strip()
    if not text:
        raise InputError(f"empty predictor; expected {forms()}", field="predictor")
    if text in ("none", "samples", "exact"):
        return PredictorSpec(text, "", text)
    if text.startswith(BASELINE_PREFIX):
        name = text[len(BASELINE_PREFIX) :].strip()
        if not name:
            raise InputError(f"{text!r} names no baseline; expected {FORMS['baseline']}", field="predictor")
        return PredictorSpec("baseline", name, text)
    path = Path(text).expanduser()
    if path.is_dir():
        return PredictorSpec("checkpoint", str(path), text)
    if "@" in text and Path(base := text.rpartition("@")[0]).expanduser().is_dir():
        return _pooled_spec(text, Path(base).expanduser())
    if path.is_file():
        return PredictorSpec("predictions", str(path), text)
    name, hint = _zoo_name(text, zoo_source)
    if name is not None:
        return PredictorSpec("zoo", name, text)
    if _is_hub_id(text):
        return PredictorSpec("hub", text, text)
    raise InputError(
        f"unknown predictor {text!r}: no such folder or file, not a Hub id, and {hint}; expected {forms()}",
        field="predictor",
    )


def _pooled_spec(text: str, folder: Path) -> PredictorSpec:
    """``DIR@TARGET``: the folder must be a pooled checkpoint and TARGET non-empty."""
    from sagepred.pooled import is_pooled_checkpoint

    target = text.rpartition("@")[2].strip()
    if not is_pooled_checkpoint(folder):
        raise InputError(
            f"{text!r}: {folder} is not a pooled checkpoint (DIR@TARGET names a target of one)",
            field="predictor",
        )
    if not target:
        raise InputError(f"{text!r} names no target after '@'; expected DIR@TARGET", field="predictor")
    return PredictorSpec("checkpoint", str(folder), text, target)


def _pooled_target(folder: Path, spec: PredictorSpec) -> Any:
    """The :class:`~sagepred.pooled.TargetPredictor` of ``spec.target`` in the pooled ``folder``."""
    from sagepred.pooled import PooledPredictor

    pooled = PooledPredictor.from_pretrained(folder)
    if not spec.target:
        raise InputError(
            f"{spec.text!r} is a pooled checkpoint of {len(pooled.target_names)} targets: name one, "
            f"{spec.text}@TARGET (e.g. {spec.text}@{pooled.target_names[0]})",
            field="predictor",
        )
    return pooled.for_target(spec.target, field="predictor")


def checkpoint_folder(spec: PredictorSpec, zoo_source: str | None = None) -> Path:
    """The local folder of a checkpoint, zoo or Hub spec (pulled / downloaded when needed)."""
    if spec.kind == "zoo":
        from sagepred.zoo import pull

        return pull(spec.value, zoo_source)
    if spec.kind in ("checkpoint", "hub"):
        from sagepred.predictor import resolve_checkpoint

        return resolve_checkpoint(spec.value)
    raise InputError(f"{spec.text!r} is not a checkpoint; expected {forms(MODEL_KINDS)}", field="predictor")


def load_predictor(
    spec: str | PredictorSpec,
    *,
    online_learning: bool = False,
    zoo_source: str | None = None,
    accept: Collection[str] = (*MODEL_KINDS, "predictions", "none"),
) -> Any:
    """The predictor ``spec`` names.

    * ``DIR@TARGET``: a :class:`~sagepred.pooled.TargetPredictor` (the pooled model bound to TARGET),
      with ``online_learning`` inside a :class:`~sagepred.fusion.FusedPredictor`;
    * checkpoint, zoo name, Hub id: a :class:`~sagepred.predictor.LengthPredictor`, or with
      ``online_learning`` a :class:`~sagepred.fusion.FusedPredictor` (the head plus the semantic history
      saved beside it, an empty window when there is none) that learns through ``observe``;
    * a predictions file: a :class:`~sagepred.predictions.PredictionTable`;
    * ``none``: ``None``.

    ``accept`` lists the kinds the caller takes; any other (``baseline:NAME``, ``samples`` and ``exact``
    are never loaded here: they need records) is an :class:`InputError` naming the accepted forms.
    """
    parsed = spec if isinstance(spec, PredictorSpec) else parse_spec(spec, zoo_source)
    if parsed.kind not in accept or parsed.kind in RECORD_KINDS:
        raise InputError(
            f"{parsed.text!r} is {FORMS[parsed.kind]}, which this command does not take; expected "
            f"{forms([k for k in accept if k not in RECORD_KINDS] or MODEL_KINDS)}",
            field="predictor",
        )
    if parsed.kind == "none":
        return None
    if parsed.kind == "predictions":
        from sagepred.predictions import read_predictions

        return read_predictions(parsed.value)
    folder = checkpoint_folder(parsed, zoo_source)
    from sagepred.pooled import is_pooled_checkpoint

    if parsed.target or is_pooled_checkpoint(folder):
        head = _pooled_target(folder, parsed)
        if online_learning:
            from sagepred.fusion import FusedPredictor

            return FusedPredictor.from_pretrained(folder, head=head)
        return head
    if online_learning:
        from sagepred.fusion import FusedPredictor

        return FusedPredictor.from_pretrained(folder)
    from sagepred.predictor import LengthPredictor

    return LengthPredictor.from_pretrained(folder)
