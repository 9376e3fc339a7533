"""Encoder spec options: first-k layers, torch dynamic int8, the fast default, and their errors."""

from __future__ import annotations

import numpy as np
import pytest

from sagepred.encoders import DEFAULT_ENCODER, FAST_ENCODER, load_encoder, trainable_encoder
from sagepred.errors import InputError

PROMPTS = [
    "Write a haiku about rain.",
    "Explain, step by step, how TCP's congestion control reacts to packet loss on a long fat network.",
    "What is 2+2?",
    "List fifty countries in Africa with their capitals, one per line.",
]


@pytest.fixture(scope="module")
def fast():
    return load_encoder(FAST_ENCODER)


def test_the_fast_default_is_three_int8_layers_one_prompt_per_pass(fast):
    assert fast.layers == 3 and fast.quantized and fast.micro_batch == 1
    assert fast.model.config.num_hidden_layers == 3
    batch = fast.encode_uncached(PROMPTS, batch_size=4)
    assert batch.shape == (4, 384)
    np.testing.assert_allclose(np.linalg.norm(batch, axis=1), 1.0, rtol=1e-5)
    alone = np.concatenate([fast.encode_uncached([p], batch_size=1) for p in PROMPTS])
    reordered = fast.encode_uncached(PROMPTS[::-1], batch_size=4)[::-1]
    # dynamic int8 scales each pass's activations: one prompt per pass keeps embeddings batch-free
    np.testing.assert_array_equal(batch, alone)
    np.testing.assert_array_equal(batch, reordered)


def test_options_change_the_embeddings_and_the_cache_key(fast):
    full = load_encoder(DEFAULT_ENCODER)
    three = load_encoder(f"{DEFAULT_ENCODER}?layers=3")
    keys = {full.fingerprint(), three.fingerprint(), fast.fingerprint()}
    assert len(keys) == 3
    e_full, e_three, e_fast = (e.encode_uncached(PROMPTS) for e in (full, three, fast))
    cos_layers = np.sum(e_full * e_three, axis=1)
    cos_int8 = np.sum(e_three * e_fast, axis=1)
    assert cos_layers.max() < 0.95  # another layer's states: a head must be trained on them
    assert cos_int8.min() > max(0.9, cos_layers.max())  # int8 stays near the same layers in float32


def test_trainable_encoder_drops_only_int8():
    assert trainable_encoder(FAST_ENCODER) == f"{DEFAULT_ENCODER}?layers=3"
    assert trainable_encoder(f"{DEFAULT_ENCODER}?quant=int8") == DEFAULT_ENCODER
    assert trainable_encoder(DEFAULT_ENCODER) == DEFAULT_ENCODER
    assert trainable_encoder("onnx:minilm?layers=2") == "onnx:minilm?layers=2"


@pytest.mark.parametrize(
    "spec, expected",
    [
        (f"{DEFAULT_ENCODER}?layers=0", "layers=K"),
        (f"{DEFAULT_ENCODER}?quant=int4", "quant=int8"),
        (f"{DEFAULT_ENCODER}?pooling=cls", "pooling=cls"),
        (f"{DEFAULT_ENCODER}?layers=7", "1..6"),
    ],
)
def test_bad_options_are_one_line_errors(spec, expected):
    with pytest.raises(InputError, match=expected) as err:
        load_encoder(spec)
    assert "\n" not in str(err.value)
