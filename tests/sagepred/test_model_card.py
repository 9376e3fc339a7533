"""Model cards: card data rendered into the packaged template; the shipped zoo cards re-render byte for byte."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest
import yaml

from sagepred import zoo
from sagepred.heads import HeadConfig
from sagepred.model_card import CARD_TEMPLATE, ModelCardData, _template, render_model_card
from sagepred.predictor import CARD_NAME, CONFIG_NAME, LoraSettings, PredictorConfig

REPO_ROOT = Path(__file__).resolve().parents[2]
CARDS = REPO_ROOT / "cards"
SHIPPED = sorted(p.name for p in zoo.PACKAGED_ZOO.iterdir() if (p / CONFIG_NAME).is_file())


def _config(name: str) -> PredictorConfig:
    return PredictorConfig.from_dict(json.loads((zoo.PACKAGED_ZOO / name / CONFIG_NAME).read_text()))


def test_the_zoo_ships_cards_to_compare_with():
    assert len(SHIPPED) >= 40 and "llama-3-8b" in SHIPPED


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_cards_rerender_byte_for_byte(name):
    text = render_model_card(_config(name))
    assert text.encode() == (zoo.PACKAGED_ZOO / name / CARD_NAME).read_bytes()
    assert text.encode() == (CARDS / f"{name}.md").read_bytes()


def test_every_template_placeholder_has_a_value_and_no_value_is_unused():
    template = _template()
    placeholders = {
        m.group("braced") or m.group("named") for m in template.pattern.finditer(template.template)
    }
    values = ModelCardData.from_config(_config("llama-3-8b")).template_values()
    assert placeholders == set(values)
    assert CARD_TEMPLATE.endswith(".md")


def test_front_matter_is_valid_yaml_with_the_recorded_metrics():
    config = _config("llama-3-8b")
    front = yaml.safe_load(render_model_card(config).split("---\n")[1])
    metrics = front["model-index"][0]["results"][0]["metrics"]
    assert {m["type"]: m["value"] for m in metrics}["crps"] == round(config.metrics["crps"], 4)
    assert front["pipeline_tag"] == "text-classification" and front["base_model"] == config.encoder


def test_optional_sections_follow_the_data():
    config = _config("llama-3-8b")
    plain = render_model_card(config)
    assert "LoRA (r=" not in plain and "**Warning:**" not in plain and "| a | 3 |" not in plain

    tuned = copy.deepcopy(config)
    tuned.lora = LoraSettings(r=4, alpha=8)
    tuned.head = HeadConfig(kind="quantile")
    tuned.metrics["crps"] = tuned.metrics["baseline_global"]["crps"] + 1.0
    tuned.metrics["by_dataset"] = {"a": {"n_prompts": 3, "crps": 1.5}, "b": {"kendall_tau": 0.25}}
    card = render_model_card(tuned)
    assert "(LoRA (r=4, alpha=8, on query, value))" in card and "adapter_model.safetensors" in card
    assert "**Warning:** on its held-out prompts this checkpoint does not beat" in card
    assert re.search(r"\| a \| 3 \| 1\.5 \| — \| — \|\n\| b \| — \| — \| 0\.250 \| — \|", card)
    assert "pipeline_tag: text-regression" in card


def test_a_card_shows_the_coverage_interval_when_recorded():
    config = _config("llama-3-8b")
    config.metrics["coverage_80"], config.metrics["coverage_80_ci95"] = 0.82, [0.7612, 0.8791]
    card = render_model_card(config)
    assert (
        "| Coverage of the central 80% interval (target 0.80) | 0.82 (95% CI 0.761–0.879, by prompt" in card
    )
    config.metrics["coverage_80_ci95"] = None
    assert "95% CI" not in render_model_card(config)


def test_a_bare_config_renders_with_placeholders_for_what_is_missing():
    card = render_model_card(PredictorConfig(target_model="demo"))
    assert "| (no validation metrics recorded) | |" in card
    assert "Measured on ? held-out prompts (? samples; split: validation)." in card
    assert "- (not recorded)" in card and "$" not in card


def test_a_card_says_whose_samples_fitted_its_calibration():
    shared = render_model_card(_config("gpt-4"))  # AlpacaEval: about 60 validation samples of its own
    own = render_model_card(_config("llama-3.1-8b"))  # CASTILLO: thousands
    assert re.search(
        r"shared by the 227 targets of the source: .*, \d+ samples, where this target has \d+\)", shared
    )
    assert "fitted on the validation prompts" in own and "shared by the" not in own
