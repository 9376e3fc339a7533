"""The Arrow embedding store: real MiniLM, real AlpacaEval/CASTILLO prompts, shards on disk."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file

from sagepred.cli import main
from sagepred.encoders import EmbeddingCache, TextEncoder
from sagepred.errors import InputError
from sagepred.training.embed_at_scale import (
    AUTO_THRESHOLD,
    ArrowEmbeddingStore,
    EmbedConfig,
    _KeyBatch,
    prompts_dataset,
    text_digests,
    text_keys,
    use_disk_embeddings,
)


@pytest.fixture(scope="module")
def encoder() -> TextEncoder:
    return TextEncoder()


@pytest.fixture(scope="module")
def prompts(data_dir: Path) -> list[str]:
    """120 real prompts: AlpacaEval instructions and CASTILLO prompts, with two repeats."""
    alpaca = data_dir / "alpaca_eval" / "instructions.jsonl"
    castillo = data_dir / "castillo" / "castillo_prompts.jsonl"
    with alpaca.open() as a, castillo.open() as c:
        texts = [json.loads(next(a))["instruction"] for _ in range(60)]
        texts += [json.loads(next(c))["prompt_text"] for _ in range(58)]
    return [*texts, texts[3], texts[70]]


def shards(store: ArrowEmbeddingStore, encoder: TextEncoder) -> dict[str, float]:
    return {p.name: p.stat().st_mtime_ns for p in store.folder(encoder).glob("shard-*.arrow")}


def test_miss_then_hit_reuses_every_shard(tmp_path, encoder, prompts):
    store = ArrowEmbeddingStore(tmp_path, EmbedConfig(shard_rows=32))
    first = store.embed(prompts, encoder)
    assert (first.prompts, first.unique, first.embedded, first.cached) == (120, 118, 118, 0)
    assert first.shards_written == 4  # 118 unique prompts in map batches of 32
    written = shards(store, encoder)
    second = store.embed(prompts, encoder)
    assert (second.embedded, second.cached, second.shards_written) == (0, 118, 0)
    assert shards(store, encoder) == written  # nothing rewritten
    more = store.embed([*prompts, "A prompt the store has not seen."], encoder)
    assert (more.embedded, more.shards_written) == (1, 1)


def test_disk_features_equal_the_in_memory_cache(tmp_path, encoder, prompts):
    store = ArrowEmbeddingStore(tmp_path / "arrow", EmbedConfig(shard_rows=50))
    embeddings, counts = store.features(encoder, prompts)
    assert isinstance(embeddings, np.memmap) and embeddings.shape == (120, encoder.dim)
    reference = EmbeddingCache(tmp_path / "memory").encode(encoder, prompts)
    np.testing.assert_allclose(embeddings, reference, atol=1e-5)
    np.testing.assert_array_equal(counts, np.asarray(encoder.count_tokens(prompts), dtype=np.float32))
    np.testing.assert_array_equal(embeddings[3], embeddings[118])  # a repeated prompt, one row
    again, _ = store.features(encoder, prompts)  # the ordered view is reused
    assert again.filename == embeddings.filename
    np.testing.assert_array_equal(again, embeddings)


def test_an_interrupted_run_resumes_from_the_shards_written(tmp_path, encoder, prompts, monkeypatch):
    store = ArrowEmbeddingStore(tmp_path, EmbedConfig(shard_rows=32))
    calls = {"n": 0}
    original = TextEncoder.encode_uncached

    def fail_on_third(self, texts, batch_size=64, progress=False):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return original(self, texts, batch_size=batch_size, progress=progress)

    monkeypatch.setattr(TextEncoder, "encode_uncached", fail_on_third)
    with pytest.raises(KeyboardInterrupt):
        store.embed(prompts, encoder)
    folder = store.folder(encoder)
    assert len(list(folder.glob("shard-*.arrow"))) == 2
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]  # no temp file left behind
    monkeypatch.setattr(TextEncoder, "encode_uncached", original)
    resumed = store.embed(prompts, encoder)
    assert (resumed.cached, resumed.embedded) == (64, 54)
    embeddings, _ = store.features(encoder, prompts)
    fresh, _ = ArrowEmbeddingStore(tmp_path / "fresh", EmbedConfig(shard_rows=32)).features(encoder, prompts)
    np.testing.assert_allclose(embeddings, fresh, atol=1e-6)


def test_a_damaged_shard_is_embedded_again(tmp_path, encoder, prompts):
    store = ArrowEmbeddingStore(tmp_path, EmbedConfig(shard_rows=64))
    store.embed(prompts[:40], encoder)
    (shard,) = store.folder(encoder).glob("shard-*.arrow")
    shard.write_bytes(b"not arrow")
    report = store.embed(prompts[:40], encoder)
    assert (report.cached, report.embedded) == (0, 40)


def test_two_map_workers_give_the_same_embeddings(tmp_path, encoder, prompts):
    one, _ = ArrowEmbeddingStore(tmp_path / "one", EmbedConfig(shard_rows=30)).features(encoder, prompts)
    store = ArrowEmbeddingStore(tmp_path / "two", EmbedConfig(shard_rows=30, num_proc=2))
    report = store.embed(prompts, encoder)
    assert report.embedded == 118 and report.shards_written == 4
    two, _ = store.features(encoder, prompts)
    np.testing.assert_allclose(two, one, atol=1e-6)


def test_prompts_dataset_is_memory_mapped_arrow(tmp_path, prompts):
    dataset = prompts_dataset(iter(prompts), tmp_path / "p.arrow", chunk_rows=25)
    assert dataset.num_rows == 120 and dataset["text"][:3] == prompts[:3]
    assert dataset.cache_files and dataset.cache_files[0]["filename"].endswith("p.arrow")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    with pytest.raises(InputError, match="not a string"):
        prompts_dataset(["fine", 3], tmp_path / "bad.arrow")
    assert not (tmp_path / "bad.arrow").exists()


def test_settings_are_checked():
    assert use_disk_embeddings("auto", AUTO_THRESHOLD) and not use_disk_embeddings("auto", AUTO_THRESHOLD - 1)
    assert use_disk_embeddings("on", 10) and not use_disk_embeddings("off", 10**9)
    with pytest.raises(InputError):
        use_disk_embeddings("sometimes", 10)
    with pytest.raises(InputError, match="positive"):
        EmbedConfig(num_proc=0)


def test_keys_ending_in_a_zero_byte_keep_all_16_bytes():
    texts = [f"prompt {i}" for i in range(4000)]
    digests = text_digests("fp", texts)
    zero = [t for t, d in zip(texts, digests, strict=True) if d.endswith(b"\0")]
    assert zero, "some digest of 4000 ends in a zero byte"
    keys = _KeyBatch("fp")({"text": zero})["key"]
    assert all(len(k) == 16 for k in keys)
    assert text_keys("fp", zero).tobytes() == b"".join(keys)


def test_train_with_disk_embeddings_matches_in_memory_training(tmp_path, data_dir, capsys):
    from sagepred.importers import load_records
    from sagepred.records import write_jsonl_records

    records = load_records(
        str(data_dir / "castillo"), model="meta-llama--Llama-3.1-8B-Instruct", split="validate"
    )
    subset = tmp_path / "subset.jsonl"
    write_jsonl_records(records[:120], subset)
    summaries = {}
    for mode in ("on", "off"):
        args = ["train", "--model", "llama-3.1-8b", "--data", str(subset), "--epochs", "4", "--no-mlflow"]
        out = tmp_path / mode
        code = main([*args, "--disk-embeddings", mode, "--output", str(out), "--json", f"{out}.json"])
        assert code == 0
        summaries[mode] = json.loads(Path(f"{out}.json").read_text())
    assert summaries["on"]["embeddings"] == "disk" and summaries["off"]["embeddings"] == "memory"
    disk, memory = (
        load_file(str(tmp_path / "on" / "model.safetensors")),
        load_file(str(tmp_path / "off" / "model.safetensors")),
    )
    for name, value in memory.items():
        np.testing.assert_allclose(disk[name], value, atol=1e-4)
    assert summaries["on"]["metrics"]["crps"] == pytest.approx(summaries["off"]["metrics"]["crps"], rel=1e-3)
    capsys.readouterr()
    assert (
        main(["train", "--model", "llama-3.1-8b", "--embed-workers", "0", "--output", str(tmp_path / "x")])
        == 2
    )
    assert "--embed-workers" in capsys.readouterr().err
