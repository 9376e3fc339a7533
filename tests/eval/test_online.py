"""Online replay on real CASTILLO data: a head trained on code prompts meets chat prompts."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from sagepred.encoders import EmbeddingCache
from sagepred.eval.online import OnlineConfig, format_table, replay, stream_order
from sagepred.fusion import FusionConfig
from sagepred.heads import HeadConfig
from sagepred.history import HistoryConfig
from sagepred.predictor import LengthPredictor, PredictorConfig
from sagepred.training.trainer import length_targets

CHAT = {"Alpaca", "DollyDataset", "ShareGPT"}


@pytest.fixture(scope="module")
def shifted(castillo):
    """A head fitted (150 full-batch steps) on 300 DS-1000/MBPP prompts, and 480 chat prompts to stream (same model)."""
    rng = np.random.default_rng(0)
    train = castillo(split="train")
    train = [train[i] for i in rng.choice(len(train), 300, replace=False)]
    chat = [r for r in castillo(split="validate") if r.dataset in CHAT]
    stream = [chat[i] for i in rng.choice(len(chat), 480, replace=False)]
    torch.manual_seed(0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a tiny MLP: extra threads only add contention on a shared CI box
    predictor = LengthPredictor(
        PredictorConfig(target_model="meta-llama--Llama-3.1-8B-Instruct", head=HeadConfig())
    )
    train_texts = [r.prompt_text for r in train]
    features = torch.from_numpy(EmbeddingCache().encode(predictor.encoder, train_texts))
    train_counts = torch.tensor(predictor.encoder.count_tokens(train_texts), dtype=torch.float32)
    lengths, censored, mask = length_targets(train)
    optimiser = torch.optim.AdamW(predictor.head.parameters(), lr=1e-3, weight_decay=1e-2)
    predictor.head.train()
    for _ in range(150):
        optimiser.zero_grad()
        predictor.head.loss(predictor.head(features, train_counts), lengths, censored, mask).backward()
        optimiser.step()
    predictor.head.eval()
    torch.set_num_threads(threads)
    texts = [r.prompt_text for r in stream]
    embeddings = EmbeddingCache().encode(predictor.encoder, texts)
    counts = np.asarray(predictor.encoder.count_tokens(texts), dtype=np.float32)
    return predictor, stream, embeddings, counts


def test_fusion_beats_the_shifted_head_after_a_few_hundred_requests(shifted, tmp_path):
    head, stream, embeddings, counts = shifted
    config = OnlineConfig(block=120, history=HistoryConfig(capacity=10_000))
    result = replay(stream, head, config, embeddings=embeddings, token_counts=counts)
    assert result.modes == ["head", "history", "fused"] and result.n_requests == 480
    assert [b["seen"] for b in result.blocks["fused"]] == [120, 240, 360, 480]
    head_late = np.mean([b["crps"] for b in result.blocks["head"][2:]])
    fused_late = np.mean([b["crps"] for b in result.blocks["fused"][2:]])
    assert fused_late < 0.95 * head_late, format_table(result)
    fused_cov = np.mean([b["coverage_80"] for b in result.blocks["fused"][2:]])
    head_cov = np.mean([b["coverage_80"] for b in result.blocks["head"][2:]])
    assert abs(fused_cov - 0.8) < abs(head_cov - 0.8) + 0.02, format_table(result)
    assert result.requests_to_match("fused", "head") is not None
    result.save(tmp_path)
    saved = json.loads((tmp_path / "online.json").read_text())
    assert saved["overall"]["fused"]["crps"] == pytest.approx(result.overall["fused"]["crps"])
    assert (tmp_path / "online.png").stat().st_size > 10_000


def test_head_only_fusion_settings_reproduce_the_head(shifted):
    head, stream, embeddings, counts = shifted
    frozen = FusionConfig(recalibrate=False, shrink_to_window=False)
    config = OnlineConfig(block=160, fusion=frozen, history=HistoryConfig(threshold=1.0))
    result = replay(stream[:160], head, config, embeddings=embeddings[:160], token_counts=counts[:160])
    assert result.neighbour_rate == [0.0]
    assert result.overall["fused"] == result.overall["head"]


def test_history_only_replay_is_seeded_and_observes_one_or_all(shifted):
    _, stream, embeddings, _ = shifted
    one = replay(stream[:200], config=OnlineConfig(block=100, history_only=True), embeddings=embeddings[:200])
    again = replay(
        stream[:200], config=OnlineConfig(block=100, history_only=True), embeddings=embeddings[:200]
    )
    every = replay(
        stream[:200],
        config=OnlineConfig(block=100, history_only=True, observe="all"),
        embeddings=embeddings[:200],
    )
    assert one.modes == ["history"] and one.blocks == again.blocks
    assert every.blocks["history"][1]["crps"] != one.blocks["history"][1]["crps"]
    assert np.array_equal(stream_order(50, 3), stream_order(50, 3)) and not np.array_equal(
        stream_order(50, 3), stream_order(50, 4)
    )
