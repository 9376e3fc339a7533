"""CausalLMStateEncoder on CPU: a tiny random-weights Llama built from a config, saved and loaded by spec."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sagepred.encoders import CausalLMStateEncoder, load_encoder, resolve_encoder_path
from sagepred.errors import InputError

PROMPTS = ["In one word: what colour is the sky?", "Write a 2,000-word essay on the French Revolution.", "Hi"]


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory):
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    tokenizer = AutoTokenizer.from_pretrained(resolve_encoder_path("default"))  # a real offline tokenizer
    config = LlamaConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=4,
        num_attention_heads=4,
        num_key_value_heads=4,
        max_position_embeddings=512,
    )
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("tiny-llama")
    LlamaForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def test_spec_loads_the_folder_and_pools_the_chosen_layer(tiny_folder):
    mean_mid = load_encoder(f"causal-lm:{tiny_folder}")
    assert isinstance(mean_mid, CausalLMStateEncoder) and mean_mid.layer == 2 and mean_mid.dim == 64
    emb = mean_mid.encode(PROMPTS)
    assert emb.shape == (3, 64) and np.allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
    batch = mean_mid.tokenize(PROMPTS)
    with torch.no_grad():
        states = mean_mid.model(**batch, output_hidden_states=True).hidden_states
    mask = batch["attention_mask"].unsqueeze(-1).float()
    expected = torch.nn.functional.normalize((states[2] * mask).sum(1) / mask.sum(1), dim=-1).numpy()
    order_free = mean_mid.encode(PROMPTS, batch_size=1)  # no padding: the same embeddings
    np.testing.assert_allclose(emb, expected, atol=1e-5)
    np.testing.assert_allclose(order_free, expected, atol=1e-5)
    last = load_encoder(f"causal-lm:{tiny_folder}?layer=-1&pooling=last")
    assert last.layer == 4 and last.pooling == "last"
    assert not np.allclose(last.encode(PROMPTS), emb)
    assert mean_mid.fingerprint() != last.fingerprint()


def test_predictor_trains_and_round_trips_with_the_causal_encoder(tiny_folder, tmp_path):
    from sagepred.heads import HeadConfig
    from sagepred.predictor import LengthPredictor, PredictorConfig
    from sagepred.records import LengthRecord
    from sagepred.training.trainer import Trainer, TrainingConfig

    spec = f"causal-lm:{tiny_folder}?layer=1"
    records = [
        LengthRecord(
            prompt=f"{'Explain in detail ' if i % 2 else 'Briefly: '}topic {i}",
            output_lens=[400 if i % 2 else 5] * 3,
        )
        for i in range(60)
    ]
    predictor = LengthPredictor(
        PredictorConfig(target_model="demo", encoder=spec, head=HeadConfig(input_dim=64))
    )
    Trainer(
        predictor, TrainingConfig(epochs=300, patience=300, learning_rate=3e-3, seed=0), progress=False
    ).fit(records)
    dist = predictor.predict(["Explain in detail topic 99", "Briefly: topic 98"])
    assert dist.quantile(0.5)[0] > 1.5 * dist.quantile(0.5)[1]  # random weights still separate the two kinds
    loaded = LengthPredictor.from_pretrained(predictor.save_pretrained(tmp_path / "ckpt"))
    assert loaded.config.encoder == spec
    np.testing.assert_allclose(
        loaded.predict(["Briefly: topic 98"]).cdf_at_knots, dist[1].cdf_at_knots, atol=1e-5
    )


def test_bad_specs_are_one_line_input_errors(tiny_folder, tmp_path):
    with pytest.raises(InputError, match="layer=K"):
        load_encoder(f"causal-lm:{tiny_folder}?depth=3")
    with pytest.raises(InputError, match="outside"):
        load_encoder(f"causal-lm:{tiny_folder}?layer=9")
    with pytest.raises(InputError, match="pooling"):
        load_encoder(f"causal-lm:{tiny_folder}?pooling=max")
    with pytest.raises(InputError, match="cannot load causal LM"):
        load_encoder(f"causal-lm:{tmp_path / 'nothing-here'}")
