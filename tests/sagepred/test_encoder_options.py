"""Encoder spec options: first-k layers, torch dynamic int8, the fast default, and their errors."""

from __future__ import annotations

import numpy as np
import pytest

from sagepred.encoders import DEFAULT_ENCODER, FAST_ENCODER, POOLED_ENCODER, load_encoder, trainable_encoder
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


def test_pool_layers_put_each_layers_pooled_state_side_by_side(fast):
    multi = load_encoder(f"{FAST_ENCODER}&pool_layers=1,2,3")
    assert multi.dim == 3 * fast.dim and multi.fingerprint() != fast.fingerprint()
    embeddings = multi.encode_uncached(PROMPTS)
    assert embeddings.shape == (len(PROMPTS), 3 * 384)
    blocks = embeddings.reshape(len(PROMPTS), 3, 384)
    np.testing.assert_allclose(np.linalg.norm(blocks, axis=2), 1.0, rtol=1e-5)
    # the last block is what the plain encoder pools (its last layer), the others differ from it
    np.testing.assert_allclose(blocks[:, 2], fast.encode_uncached(PROMPTS), atol=1e-6)
    assert np.sum(blocks[:, 0] * blocks[:, 2], axis=1).max() < 0.95
    assert (
        trainable_encoder(f"{FAST_ENCODER}&pool_layers=1,2,3")
        == f"{DEFAULT_ENCODER}?layers=3&pool_layers=1,2,3"
    )


def test_tail_keeps_the_end_of_a_long_prompt_and_leaves_short_ones_alone(fast):
    tailed = load_encoder(f"{FAST_ENCODER}&tail=64")
    assert tailed.tail == 64 and tailed.fingerprint() != fast.fingerprint()
    context = "The table below lists quarterly revenue by region and product line. " * 40
    asks = [context + "Summarise it in one word.", context + "Write a 2,000-word report on every row."]
    ids = tailed.tokenize(asks)["input_ids"]
    assert ids.shape == (2, tailed.max_length)
    assert ids[0, 0] == tailed.tokenizer.cls_token_id and ids[0, -1] == tailed.tokenizer.sep_token_id
    assert tailed.tokenizer.decode(ids[0, -9:-1]).startswith("summarise it in one word")
    head_only, with_tail = fast.encode_uncached(asks), tailed.encode_uncached(asks)
    np.testing.assert_array_equal(head_only[0], head_only[1])  # the ask is past the first 256 tokens
    assert float(with_tail[0] @ with_tail[1]) < 0.999
    np.testing.assert_array_equal(tailed.encode_uncached(PROMPTS), fast.encode_uncached(PROMPTS))
    assert tailed.encode_uncached(PROMPTS + asks, batch_size=8).shape == (6, 384)


def test_tail_keeps_a_head_in_a_shorter_window():
    """Fine-tuning reads 128 tokens: a 128-token tail then takes three quarters of the window."""
    short = load_encoder(f"{FAST_ENCODER}&tail=128", max_length=128)
    assert short.kept_tail(126) == 95 and short.kept_tail(254) == 128
    text = " ".join(f"w{k}" for k in range(400))
    ids = short.tokenize([text])["input_ids"][0]
    plain = short.tokenizer(text, add_special_tokens=False)["input_ids"]
    assert ids.shape == (128,) and ids[1:32].tolist() == plain[:31] and ids[32:-1].tolist() == plain[-95:]


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
        (f"{DEFAULT_ENCODER}?layers=3&pool_layers=2,4", "0..3"),
        (f"{DEFAULT_ENCODER}?pool_layers=1,1", "distinct"),
        (f"{DEFAULT_ENCODER}?pool_layers=last", "pool_layers=I,J"),
        (f"onnx:{DEFAULT_ENCODER}?pool_layers=1,2", "drop quant=int8, pool_layers and tail"),
        (f"onnx:{DEFAULT_ENCODER}?tail=64", "drop quant=int8, pool_layers and tail"),
        (f"{DEFAULT_ENCODER}?tail=last", "tail=N"),
    ],
)
def test_bad_options_are_one_line_errors(spec, expected):
    with pytest.raises(InputError, match=expected) as err:
        load_encoder(spec)
    assert "\n" not in str(err.value)


def test_an_untrained_predictor_takes_its_head_width_from_the_encoder(tmp_path):
    from sagepred.predictor import LengthPredictor, PredictorConfig
    from sagepred.records import LengthRecord
    from sagepred.training.trainer import Trainer, TrainingConfig

    config = PredictorConfig(target_model="t", encoder=POOLED_ENCODER)
    predictor = LengthPredictor.untrained(config)
    assert predictor.config.head.input_dim == 6 * 384 and config.head.input_dim == 384
    topics = ["rain", "TCP", "Rome", "bread", "chess", "tides", "jazz", "glass"]
    records = [
        LengthRecord(prompt=f"{ask} about {topic}.", output_lens=[length], target_model="t")
        for topic in topics
        for ask, length in (("One word", 3), ("Two sentences", 40), ("A long essay", 900))
    ]
    Trainer(predictor, TrainingConfig(epochs=3, seed=0), progress=False).fit(records)
    folder = predictor.save_pretrained(tmp_path / "ckpt")
    loaded = LengthPredictor.from_pretrained(folder)
    assert loaded.encoder.pool_layers == (1, 2, 3, 4, 5, 6) and loaded.encoder.dim == 6 * 384
    prompts = [r.prompt_text for r in records[:6]]
    np.testing.assert_allclose(
        loaded.predict(prompts).quantile(0.5), predictor.predict(prompts).quantile(0.5), rtol=1e-5
    )


def test_an_unreachable_hub_loads_hub_ids_from_the_cache_alone(monkeypatch, caplog):
    """Offline, a hub id that is not cached fails in one line at once instead of retrying for a minute."""
    from transformers import AutoTokenizer

    monkeypatch.setattr("sagepred.hub.hub_reachable", lambda: False)
    asked = {}
    original = AutoTokenizer.from_pretrained

    def spy(path, **options):
        asked[str(path)] = options.get("local_files_only")
        return original(path, **options)

    monkeypatch.setattr(AutoTokenizer, "from_pretrained", spy)
    with pytest.raises(InputError, match="the Hub cannot be reached") as raised:
        load_encoder("nosuch-org/no-such-encoder")
    assert "\n" not in str(raised.value) and asked == {"nosuch-org/no-such-encoder": True}
    assert not [r for r in caplog.records if "Retry" in r.getMessage()]
    asked.clear()
    load_encoder(FAST_ENCODER)  # the bundled default is a local folder: loaded as is
    assert list(asked.values()) == [False]


def test_the_hub_probe_honours_offline_mode(monkeypatch):
    from sagepred import hub

    hub.hub_reachable.cache_clear()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    try:
        assert hub.hub_reachable() is False and "HF_HUB_OFFLINE" in hub.hub_unavailable()
    finally:
        hub.hub_reachable.cache_clear()
