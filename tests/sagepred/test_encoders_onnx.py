"""The ONNX Runtime path of the default encoder: embeddings match torch within tolerance (fp32, int8)."""

from __future__ import annotations

import numpy as np
import pytest

from sagepred.encoders import OnnxTextEncoder, TextEncoder, load_encoder

PROMPTS = [
    "Write a Python function that checks whether a number is prime.",
    "What is the capital of France?",
    "Write a 1000-word essay on the history of the Roman empire, with sources.",
    "yes or no: is water wet?",
]


@pytest.fixture(scope="module")
def reference():
    encoder = TextEncoder()
    return encoder, encoder.encode(PROMPTS, batch_size=2)


def test_fp32_onnx_matches_torch(tmp_path, reference):
    encoder, expected = reference
    onnx = OnnxTextEncoder(cache_root=tmp_path)
    got = onnx.encode(PROMPTS, batch_size=3)
    np.testing.assert_allclose(got, expected, atol=1e-4)
    assert onnx.count_tokens(PROMPTS) == encoder.count_tokens(PROMPTS)
    assert onnx.fingerprint() != encoder.fingerprint()  # never shares an embedding cache file
    assert (tmp_path / next(p.name for p in tmp_path.iterdir()) / "model.onnx").is_file()
    again = OnnxTextEncoder(cache_root=tmp_path)  # reuses the export
    np.testing.assert_allclose(again.encode(PROMPTS), got, atol=1e-6)


def test_int8_onnx_stays_close_to_torch(tmp_path, reference):
    _, expected = reference
    got = OnnxTextEncoder(int8=True, cache_root=tmp_path).encode(PROMPTS)
    cosine = (got * expected).sum(axis=1)
    assert cosine.min() > 0.95 and cosine.mean() > 0.98


def test_runtime_environment_variable_picks_onnx_for_a_plain_spec(monkeypatch, tmp_path):
    from sagepred.errors import InputError

    monkeypatch.setenv("SAGEPRED_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("SAGEPRED_ENCODER_RUNTIME", "onnx")
    assert isinstance(load_encoder("default"), OnnxTextEncoder)
    monkeypatch.setenv("SAGEPRED_ENCODER_RUNTIME", "tensorrt")
    with pytest.raises(InputError, match="onnx-int8"):
        load_encoder("default")
