"""The pooled, target-conditioned predictor on a real subset: split by prompt, save/load, unknown targets,
a new target from a few records, the CLI paths, and the length-instruction probes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import spearmanr

from sagepred.cli import main
from sagepred.encoders import TextEncoder
from sagepred.errors import InputError
from sagepred.pooled import PooledPredictor, is_pooled_checkpoint
from sagepred.records import write_jsonl_records
from sagepred.training.pooled import (
    FewShotSettings,
    PooledTrainingConfig,
    build_rows,
    evaluate_targets,
    fit_new_target,
    global_histogram,
    load_pooled_records,
    predict_rows,
    prompt_features,
    prompt_split,
    train_pooled,
)

PROBES = Path(__file__).resolve().parents[1] / "data" / "length_probes.jsonl"
BACKBONE_MODELS = ["gpt4", "Meta-Llama-3-8B-Instruct", "Mixtral-8x7B-Instruct-v0.1"]
NEW_MODEL = "Qwen1.5-72B-Chat"
ALPACA_PROMPTS, CASTILLO_PROMPTS = 200, 40


@pytest.fixture(scope="module")
def setup(data_dir):
    """A small pooled model: three AlpacaEval models and one CASTILLO model on a prompt subset."""
    groups = load_pooled_records(
        data_dir, castillo=["meta-llama--Llama-3.2-1B-Instruct"], alpaca_eval=[*BACKBONE_MODELS, NEW_MODEL]
    )
    alpaca_prompts = list(dict.fromkeys(r.prompt_text for r in groups[1][1]))[:ALPACA_PROMPTS]
    castillo_prompts = list(dict.fromkeys(r.prompt_text for r in groups[0][1]))[:CASTILLO_PROMPTS]
    keep = set(alpaca_prompts) | set(castillo_prompts)
    groups = [(info, [r for r in records if r.prompt_text in keep]) for info, records in groups]
    new_group = next(g for g in groups if g[0].target_model == NEW_MODEL)
    rows = build_rows([g for g in groups if g is not new_group])
    encoder = TextEncoder()
    features = prompt_features(encoder, rows.prompts)
    held = prompt_split(rows.prompts, 0.25, seed=0)
    train, test = rows.select(~held[rows.prompt_index]), rows.select(held[rows.prompt_index])
    # 200 prompts: the per-target heads' dropout (the default 0.3 was chosen on the 7,570-prompt set)
    config = PooledTrainingConfig(epochs=25, patience=5, dropout=0.1)
    result = train_pooled(train, features, config, encoder.name)
    result.predictor._encoder = encoder
    return {
        "rows": rows,
        "train": train,
        "test": test,
        "features": features,
        "result": result,
        "new": new_group,
    }


def test_the_split_is_by_prompt(setup):
    train, test = setup["train"], setup["test"]
    assert set(train.prompt_index.tolist()).isdisjoint(test.prompt_index.tolist())
    assert set(np.unique(test.target_index).tolist()) == set(range(len(setup["rows"].targets)))


def test_pooled_beats_each_targets_global_histogram(setup):
    predictor = setup["result"].predictor
    per_target = evaluate_targets(
        predict_rows(predictor, setup["test"], setup["features"]), setup["test"], setup["train"]
    )
    assert len(per_target) == 4
    print({name: round(entry["crps_ratio"], 3) for name, entry in per_target.items()})
    assert np.mean([e["crps_ratio"] for e in per_target.values()]) < 0.95
    alpaca = [e["kendall_tau"] for name, e in per_target.items() if name != "llama-3.2-1b"]
    assert np.mean(alpaca) > 0.2  # the CASTILLO target has only ~10 held-out prompts here


def test_save_and_load_give_the_same_predictions(setup, tmp_path):
    predictor = setup["result"].predictor
    folder = predictor.save_pretrained(tmp_path / "pooled")
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "model.safetensors"]
    assert is_pooled_checkpoint(folder)
    loaded = PooledPredictor.from_pretrained(folder, encoder=predictor.encoder)
    prompts = ["Write a haiku about rain.", "Explain TCP in 500 words."]
    for target in ("gpt4", "llama-3.2-1b"):
        a, b = predictor.predict(prompts, target), loaded.predict(prompts, target)
        np.testing.assert_allclose(a.cdf_at_knots, b.cdf_at_knots, atol=1e-6)
    assert loaded.config.targets[0].verbosity == pytest.approx(predictor.config.targets[0].verbosity)
    from sagepred.errors import CheckpointError
    from sagepred.predictor import LengthPredictor

    with pytest.raises(CheckpointError, match="--target"):
        LengthPredictor.from_pretrained(folder)


def test_an_unknown_target_names_init(setup):
    with pytest.raises(InputError, match="--init") as err:
        setup["result"].predictor.target_index("no-such-model-7b")
    assert "\n" not in str(err.value)


def test_a_new_target_from_forty_records(setup):
    """Held-out target (never in the backbone): its fitted embedding beats its own global histogram."""
    info, records = setup["new"]
    held = prompt_split(setup["rows"].prompts, 0.25, seed=0)
    index = {p: i for i, p in enumerate(setup["rows"].prompts)}
    train = [r for r in records if r.prompt_text in index and not held[index[r.prompt_text]]][:40]
    test = [r for r in records if r.prompt_text in index and held[index[r.prompt_text]]]
    feats = setup["features"]
    idx = [index[r.prompt_text] for r in train]
    pooled = setup["result"].predictor
    grown = fit_new_target(
        pooled, info, train, feats.embeddings[idx].numpy(), feats.counts[idx].numpy(), FewShotSettings()
    )
    assert grown.target_names[:-1] == pooled.target_names and grown.target_names[-1] == info.name
    assert grown.config.targets[-1].added and not any(t.added for t in grown.config.targets[:-1])
    before = pooled.head.state_dict()
    after = grown.head.state_dict()
    assert np.allclose(before["target_embedding"].numpy(), after["target_embedding"][:, :-1].numpy())
    from sagepred.metrics import compute_metrics

    t_idx = [index[r.prompt_text] for r in test]
    dist = grown.predict_from_features(
        [r.prompt_text for r in test],
        feats.embeddings[t_idx].numpy(),
        feats.counts[t_idx].numpy(),
        np.full(len(test), len(grown.target_names) - 1),
    )
    crps = compute_metrics(dist, test)["crps"]
    baseline = compute_metrics(global_histogram(train, len(test)), test)["crps"]
    assert crps < baseline


def test_length_probes_move_the_median(setup):
    """Per topic, the predicted median ranks with the instructed length; longest / shortest >= 30x."""
    predictor = setup["result"].predictor
    probes = [json.loads(line) for line in PROBES.read_text(encoding="utf-8").splitlines()]
    dist = predictor.predict([p["prompt"] for p in probes], "gpt4")
    median = dist.quantile(0.5).ravel()
    topics = sorted({p["topic"] for p in probes})
    for topic in topics:
        rows = [i for i, p in enumerate(probes) if p["topic"] == topic]
        words = [probes[i]["instructed_words"] for i in rows]
        rho = spearmanr(words, median[rows]).statistic
        assert rho >= 0.9, (topic, rho)
        longest = rows[int(np.argmax(words))]
        shortest = rows[int(np.argmin(words))]
        assert median[longest] / median[shortest] >= 30, topic


def test_the_instruction_fit_measures_the_heads_reading_of_list_counts(setup, data_dir):
    """With the training prompts, the fit measures how far the head follows a list's count by itself
    and adds the rest of the count's factor (``list_count_weight``)."""
    from sagepred.count_reading import list_counts
    from sagepred.training.pooled import fit_instruction_settings

    predictor, train = setup["result"].predictor, setup["train"]
    (_, records), *_ = load_pooled_records(
        data_dir, castillo=["meta-llama--Llama-3.2-1B-Instruct"], alpaca_eval=[]
    )
    prompts = list(dict.fromkeys(r.prompt_text for r in records))
    prompts = [p for p, held in zip(prompts, prompt_split(prompts, 0.2, seed=0), strict=True) if not held]
    settings = fit_instruction_settings(predictor, train, setup["features"], training_prompts=prompts)
    assert settings.list_count_slope is not None and abs(settings.list_count_slope) < 0.5
    expected = min(max(1.0 - settings.list_weight - settings.list_count_slope, 0.0), 1.0)
    assert settings.list_count_weight == pytest.approx(expected)
    counts = [count for _, count in list_counts(prompts)]
    assert min(counts) < settings.list_reference_count < max(counts)
    without = fit_instruction_settings(predictor, train, setup["features"])
    assert without.list_count_slope is None and without.list_count_weight == 0.0


def test_an_exported_target_predicts_as_the_pooled_model(setup, tmp_path):
    """export_target folds the target into a per-target checkpoint: same distributions (instruction
    adjustment included, probes and real held-out prompts), through save_pretrained and back."""
    from sagepred.predictor import LengthPredictor

    pooled = setup["result"].predictor
    probes = [json.loads(line)["prompt"] for line in PROBES.read_text(encoding="utf-8").splitlines()]
    held = sorted({setup["rows"].prompts[i] for i in setup["test"].prompt_index})[:30]
    prompts = probes + held
    for target in ("gpt4", "llama-3.2-1b"):
        exported = pooled.export_target(target)
        assert exported.config.instructions == pooled.config.instructions
        assert exported.config.tokenizer == pooled.config.targets[pooled.target_index(target)].tokenizer
        folder = exported.save_pretrained(tmp_path / target)
        loaded = LengthPredictor.from_pretrained(folder, encoder=pooled.encoder)
        assert loaded.config.instructions == pooled.config.instructions
        want = pooled.predict(prompts, target)
        got = loaded.predict(prompts)
        np.testing.assert_allclose(got.cdf(want.row_knots), want.row_cdf, atol=2e-5)
        np.testing.assert_allclose(got.quantile(0.5), want.quantile(0.5), rtol=1e-3)
    # without the adjustment the exported head is the pooled head alone
    raw = loaded.predict_from_features(*loaded.features(probes), calibrated=False)
    x, n = pooled.features(probes)
    head_only = pooled.head_probs(x, n, np.full(len(probes), pooled.target_index("llama-3.2-1b")))
    np.testing.assert_allclose(np.diff(raw.cdf(pooled.edges[None, :]), axis=1), head_only, atol=2e-5)


def test_export_refuses_an_unknown_target(setup):
    with pytest.raises(InputError, match="--init"):
        setup["result"].predictor.export_target("no-such-model-7b")


def test_cli_adds_a_target_and_predicts_for_it(setup, tmp_path, capsys):
    pooled_dir = setup["result"].predictor.save_pretrained(tmp_path / "pooled")
    _, records = setup["new"]
    few = tmp_path / "few.jsonl"
    write_jsonl_records(records[:30], few)
    out = tmp_path / "grown"
    assert (
        main(
            [
                "train",
                "--model",
                NEW_MODEL,
                "--data",
                str(few),
                "--init",
                str(pooled_dir),
                "--output",
                str(out),
                "--no-mlflow",
            ]
        )
        == 0
    )
    grown = PooledPredictor.from_pretrained(out)
    assert grown.target_names[-1] == "qwen1.5-72b"  # the registry's canonical name
    assert grown.target_index(NEW_MODEL) == len(grown.target_names) - 1
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text(json.dumps({"id": "a", "prompt": "In one word, what is rain?"}) + "\n")
    preds = tmp_path / "preds.jsonl"
    assert (
        main(
            [
                "predict",
                "--checkpoint",
                str(out),
                "--target",
                NEW_MODEL,
                "--input",
                str(prompts),
                "--output",
                str(preds),
            ]
        )
        == 0
    )
    assert json.loads(preds.read_text())["id"] == "a"
    capsys.readouterr()
    code = main(
        [
            "predict",
            "--checkpoint",
            str(out),
            "--target",
            "no-such-model-7b",
            "--input",
            str(prompts),
            "--output",
            str(tmp_path / "x.jsonl"),
        ]
    )
    err = capsys.readouterr().err.strip()
    assert code == 2 and "--init" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "x.jsonl").exists()
    code = main(
        ["predict", "--checkpoint", str(out), "--input", str(prompts), "--output", str(tmp_path / "y.jsonl")]
    )
    assert code == 2 and "--target" in capsys.readouterr().err


def test_load_predictor_binds_a_pooled_target(setup, tmp_path):
    """``DIR@TARGET`` loads the pooled model bound to one target; the errors are one line each."""
    from sagepred.fusion import FusedPredictor
    from sagepred.loading import load_predictor, parse_spec
    from sagepred.pooled import TargetPredictor

    predictor = setup["result"].predictor
    folder = predictor.save_pretrained(tmp_path / "pooled")
    prompts = ["Write a haiku about rain.", "In one word, what is rain?"]
    bound = load_predictor(f"{folder}@Meta-Llama-3-8B-Instruct")
    assert isinstance(bound, TargetPredictor) and bound.config.target_model == "Meta-Llama-3-8B-Instruct"
    assert bound.config.lora is None and bound.config.encoder == predictor.config.encoder
    np.testing.assert_allclose(
        bound.predict(prompts).cdf_at_knots,
        predictor.predict(prompts, "Meta-Llama-3-8B-Instruct").cdf_at_knots,
        atol=1e-6,
    )
    fused = load_predictor(f"{folder}@gpt4", online_learning=True)
    assert isinstance(fused, FusedPredictor) and fused.predict(prompts).quantile(0.5).size == 2
    assert parse_spec(f"{folder}@gpt4").target == "gpt4"
    for spec, words in (
        (f"{folder}@no-such-model-7b", "--init"),
        (str(folder), "@TARGET"),
        (f"{folder}@", "names no target"),
        (f"{tmp_path}@gpt4", "not a pooled checkpoint"),
    ):
        with pytest.raises(InputError, match=words) as err:
            load_predictor(spec)
        assert "\n" not in str(err.value)


def test_eval_and_simulate_take_a_pooled_target(setup, tmp_path, capsys):
    folder = setup["result"].predictor.save_pretrained(tmp_path / "pooled")
    data = tmp_path / "gpt4.jsonl"
    test = setup["test"]
    gpt4 = [
        test.records[i]
        for i in np.flatnonzero(
            test.rows_of(
                setup["rows"].targets.index(
                    next(t for t in setup["rows"].targets if t.target_model == "gpt4")
                )
            )
        )
    ]
    write_jsonl_records(gpt4[:40], data)
    out = tmp_path / "report"
    args = [
        "eval",
        "--checkpoint",
        f"{folder}@gpt4",
        "--data",
        str(data),
        "--no-mlflow",
        "--output",
        str(out),
    ]
    assert main(args) == 0
    assert json.loads((out / "metrics.json").read_text())
    sim = tmp_path / "sim.json"
    args = ["simulate", "--trace", "poisson", "--records", str(data), "--num-requests", "60", "--rate", "2"]
    assert main([*args, "--predictor", f"{folder}@gpt4", "--policies", "fcfs,sjf", "--json", str(sim)]) == 0
    assert set(json.loads(sim.read_text())["policies"]) == {"fcfs", "sjf"}
    capsys.readouterr()
    assert main([*args, "--predictor", f"{folder}@no-such-model-7b", "--policies", "sjf"]) == 2
    err = capsys.readouterr().err.strip()
    assert "--init" in err and len(err.splitlines()) == 1


def test_a_checkpoint_from_before_ensembles_loads(tmp_path):
    """Single-MLP checkpoints saved their target embeddings as (targets, dim); they load as one member."""
    import torch
    from safetensors.torch import load_file, save_file

    from sagepred.checkpoint import FILES_KEY, file_digests
    from sagepred.heads import HeadConfig
    from sagepred.pooled import PooledConfig, TargetInfo

    torch.manual_seed(0)
    config = PooledConfig(
        targets=[TargetInfo("a"), TargetInfo("b", verbosity=6.5)],
        embedding_dim=8,
        head=HeadConfig(hidden_dim=16),
    )
    original = PooledPredictor(config).eval()
    folder = original.save_pretrained(tmp_path / "old")
    weights = folder / "model.safetensors"
    state = load_file(str(weights))
    assert state["target_embedding"].shape == (1, 2, 16)
    save_file({**state, "target_embedding": state["target_embedding"][0].contiguous()}, str(weights))
    payload = json.loads((folder / "config.json").read_text())
    payload[FILES_KEY] = file_digests(folder, ["model.safetensors"])
    (folder / "config.json").write_text(json.dumps(payload))
    loaded = PooledPredictor.from_pretrained(folder)
    assert torch.equal(loaded.head.target_embedding, state["target_embedding"])
    x, n = np.random.default_rng(0).normal(size=(3, 8)).astype(np.float32), np.array([5.0, 50.0, 500.0])
    targets = np.array([0, 1, 1])
    np.testing.assert_allclose(loaded.head_probs(x, n, targets), original.head_probs(x, n, targets))


def test_the_pooled_head_is_an_ensemble_of_bagged_members(setup):
    head = setup["result"].predictor.head
    members = PooledTrainingConfig().members
    assert members > 1 and head.histogram.config.members == members
    assert head.target_embedding.shape[0] == members
    first, second = head.histogram.member_mlps[:2]
    assert not torch_equal(first[0].weight, second[0].weight)
    assert not torch_equal(head.target_embedding[0], head.target_embedding[1])


def torch_equal(a, b) -> bool:
    import torch

    return bool(torch.equal(a, b))


def test_a_source_shares_one_recalibration_fitted_on_all_its_targets(setup):
    from sagepred.calibration import Recalibrator, interval_coverage, sample_pits
    from sagepred.training.pooled import fit_source_calibrations

    pooled, rows, features = setup["result"].predictor, setup["test"], setup["features"]
    shared = fit_source_calibrations(pooled, rows, features)
    assert set(shared) == {"alpaca_eval", "castillo"}
    for source, calibration in shared.items():
        mask = np.array([rows.targets[t].source == source for t in rows.target_index])
        records = [r for r, m in zip(rows.records, mask, strict=True) if m]
        fitted = calibration.fitted
        assert fitted["samples"] == sum(r.num_samples for r in records)
        assert fitted["targets"] == len({int(t) for t in rows.target_index[mask]})
        p = rows.prompt_index[mask]
        dist = pooled.predict_from_features(
            [rows.prompts[i] for i in p],
            features.embeddings[p].numpy(),
            features.counts[p].numpy(),
            np.array([pooled.target_index(rows.targets[t].name) for t in rows.target_index[mask]]),
            calibrated=False,
        )
        pits = sample_pits(dist, records)
        before = interval_coverage(pits)
        assert before == pytest.approx(fitted["coverage_80_before"], abs=1e-4)
        # the pseudo-count weighs against the prompts (a prompt's PITs across targets move together)
        assert fitted["prompts"] == len(set(p.tolist()))
        np.testing.assert_allclose(
            calibration.spreadless_map.mapping, Recalibrator.fit(pits, units=fitted["prompts"]).mapping
        )
        # at full weight, fitted on these very samples: no further from 0.80 than before (steps: 0.02)
        after = interval_coverage(sample_pits(Recalibrator.fit(pits)(dist), records))
        assert abs(after - 0.8) <= max(abs(before - 0.8), 0.02)


def test_the_pooled_model_carries_one_recalibration_map_per_source(setup, tmp_path):
    """train_pooled fits a map per data source on its validation prompts; predict applies it (the zoo's
    shared map, now in the pooled checkpoint itself), save/load keeps it, export carries it."""
    from sagepred.calibration import PIT_GRID, interval_coverage, sample_pits

    pooled, rows, features = setup["result"].predictor, setup["test"], setup["features"]
    assert set(pooled.config.calibration) == {"alpaca_eval", "castillo"}
    for payload in pooled.config.calibration.values():
        mapping = np.asarray(payload["mapping"])
        assert mapping.shape == PIT_GRID.shape and np.all(np.diff(mapping) >= 0)
        assert payload["fitted"]["samples"] > 0
    raw = predict_rows(pooled, rows, features, calibrated=False)
    mapped = predict_rows(pooled, rows, features)
    assert not np.allclose(raw.cdf_at_knots, mapped.cdf_at_knots)  # the maps do something
    alpaca = np.flatnonzero([rows.targets[t].source == "alpaca_eval" for t in rows.target_index])
    records = [rows.records[i] for i in alpaca]
    print(
        "held-out cov80 raw / mapped",
        interval_coverage(sample_pits(raw[alpaca], records)),
        interval_coverage(sample_pits(mapped[alpaca], records)),
    )
    loaded = PooledPredictor.from_pretrained(pooled.save_pretrained(tmp_path / "p"), encoder=pooled.encoder)
    assert loaded.config.calibration == pooled.config.calibration
    prompts = ["Write a haiku about rain.", "Explain TCP in 500 words."]
    np.testing.assert_allclose(
        loaded.predict(prompts, "gpt4").cdf_at_knots, pooled.predict(prompts, "gpt4").cdf_at_knots, atol=1e-6
    )
    config = json.loads((tmp_path / "p" / "config.json").read_text(encoding="utf-8"))
    config["calibration"]["alpaca_eval"]["mapping"] = [1.0, 0.0]
    (tmp_path / "p" / "config.json").write_text(json.dumps(config), encoding="utf-8")
    from sagepred.errors import CheckpointError

    with pytest.raises(CheckpointError, match="calibration map of 'alpaca_eval'"):
        PooledPredictor.from_pretrained(tmp_path / "p", encoder=pooled.encoder)
    exported = pooled.export_target("gpt4")
    assert exported.calibration is not None
    np.testing.assert_allclose(
        exported.calibration.recalibrator.mapping, pooled.config.calibration["alpaca_eval"]["mapping"]
    )


def test_finetune_flag_errors_are_one_line(tmp_path, capsys):
    """``--finetune`` tunes the pooled model's encoder: a per-target model or an int8 encoder is refused
    before anything is loaded."""
    from sagepred.encoders import FAST_ENCODER

    code = main(["train", "--model", "llama-3-8b", "--finetune", "full", "--output", str(tmp_path / "a")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "--model all" in err and len(err.splitlines()) == 1
    code = main(
        [
            "train",
            "--model",
            "all",
            "--finetune",
            "lora",
            "--encoder",
            FAST_ENCODER,
            "--output",
            str(tmp_path / "b"),
        ]
    )
    err = capsys.readouterr().err.strip()
    assert code == 2 and "inference only" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_a_bundled_encoder_keeps_its_spec_options_through_save_and_load(setup, tmp_path):
    """A fine-tuned checkpoint bundles its encoder's weights; the spec's options (pool_layers, tail) must
    come back with them, or the head reads embeddings of another width."""
    from sagepred.encoders import POOLED_ENCODER, load_encoder, trainable_encoder
    from sagepred.training.pooled import new_pooled

    spec = trainable_encoder(POOLED_ENCODER)
    encoder = load_encoder(spec, max_length=128)
    config = PooledTrainingConfig(members=1)
    predictor = new_pooled(setup["train"].targets, config, spec, encoder.dim)
    predictor._encoder = encoder
    predictor.config.encoder_max_length = 128
    predictor.config.encoder_bundled = True
    predictor.eval()
    folder = predictor.save_pretrained(tmp_path / "tuned")
    assert json.loads((folder / "config.json").read_text())["encoder"] == "encoder?" + spec.partition("?")[2]
    loaded = PooledPredictor.from_pretrained(folder)
    assert (
        loaded.encoder.pool_layers == encoder.pool_layers == (1, 2, 3, 4, 5, 6)
        and loaded.encoder.tail == encoder.tail
    )
    assert loaded.encoder.max_length == 128 and loaded.encoder.dim == encoder.dim
    prompts = ["What is 2+2?", "Context. " * 300 + "Now answer in one word."]
    target = setup["train"].targets[0].name
    a, b = predictor.predict(prompts, target), loaded.predict(prompts, target)
    np.testing.assert_allclose(a.cdf_at_knots, b.cdf_at_knots, atol=1e-5)


def test_a_spread_widening_widens_rows_where_the_members_disagree(setup, tmp_path):
    """A source's widening acts on predictions by the members' spread, survives save/load, stays out of a
    per-target export (which has no spread: it carries the unwidened map), and a malformed one is refused
    at load. The fixture's validation prompts are too few for the cross-fitted check: no widening fitted."""
    import copy
    import math

    import torch

    from sagepred.calibration import PIT_GRID
    from sagepred.errors import CheckpointError

    pooled = setup["result"].predictor
    for payload in pooled.config.calibration.values():
        check = payload["fitted"]["spread_widening"]
        assert check["kept"] is False and "prompts, fewer than" in check["reason"]
    prompts = ["Write a haiku about rain.", "Explain TCP in 500 words.", "List every prime below 100."]
    embeddings, counts = pooled.features(prompts)
    target = pooled.target_index("meta-llama--Llama-3.2-1B-Instruct")
    targets = np.full(len(prompts), target)
    probs, spread = pooled.head_outputs(embeddings, counts, targets)
    with torch.no_grad():
        logits = pooled.head(torch.as_tensor(embeddings), torch.as_tensor(counts), torch.as_tensor(targets))
    np.testing.assert_allclose(probs, torch.softmax(logits, -1).double().numpy(), atol=1e-6)
    assert np.all(spread > 0)

    widened = copy.deepcopy(pooled)
    identity = [float(v) for v in PIT_GRID]
    widened.config.calibration["castillo"] = {
        "grid_size": len(identity),
        "mapping": identity,
        "unwidened_mapping": identity,
        "widening": {"log_spread": [math.log(1e-3), math.log(1.0)], "factors": [2.0, 2.0]},
        "fitted": {},
    }
    plain = pooled.predict_from_features(prompts, embeddings, counts, targets, calibrated=False)
    wide = widened.predict_from_features(prompts, embeddings, counts, targets)

    def log_width(dist):
        return np.log1p(dist.quantile(0.9)) - np.log1p(dist.quantile(0.1))

    np.testing.assert_allclose(wide.quantile(0.5), plain.quantile(0.5), rtol=0.02)
    assert np.all(log_width(wide) > 1.8 * log_width(plain))
    # a target added from a few records is not widened: its spread reflects the few-record fit
    widened.config.targets[target].added = True
    unwidened = widened.predict_from_features(prompts, embeddings, counts, targets)
    np.testing.assert_allclose(unwidened.cdf_at_knots, plain.cdf_at_knots, atol=1e-9)
    widened.config.targets[target].added = False
    loaded = PooledPredictor.from_pretrained(widened.save_pretrained(tmp_path / "w"), encoder=pooled.encoder)
    np.testing.assert_allclose(
        loaded.predict_from_features(prompts, embeddings, counts, targets).cdf_at_knots,
        wide.cdf_at_knots,
        atol=1e-6,
    )
    exported = widened.export_target("meta-llama--Llama-3.2-1B-Instruct")
    np.testing.assert_allclose(exported.calibration.recalibrator.mapping, identity)
    config = json.loads((tmp_path / "w" / "config.json").read_text(encoding="utf-8"))
    config["calibration"]["castillo"]["widening"]["factors"] = [2.0, 1.0]
    (tmp_path / "w" / "config.json").write_text(json.dumps(config), encoding="utf-8")
    with pytest.raises(CheckpointError, match=r"calibration map of 'castillo'.*non-decreasing"):
        PooledPredictor.from_pretrained(tmp_path / "w", encoder=pooled.encoder)


def test_a_zoo_export_fits_its_own_map_with_the_cross_fitted_shrinkage(setup, tmp_path):
    """The zoo path from a pooled model: a refined export whose validation prompts hold enough samples
    gets a map of its own, shrunk by the pseudo-count the build chose on validation halves, and its
    metrics carry the coverage interval (mechanics on the fixture's 40 CASTILLO prompts)."""
    from sagepred.encoders import EmbeddingCache
    from sagepred.training.build_zoo import choose_map_shrinkage
    from sagepred.training.recipes import load_recipe
    from sagepred.training.zoo_from_pooled import RefinedExport, finish_export

    pooled, rows = setup["result"].predictor, setup["rows"]
    recipe = load_recipe("llama-3.2-1b")
    target = next(i for i, t in enumerate(rows.targets) if t.name == "llama-3.2-1b")
    records = [r for r, t in zip(rows.records, rows.target_index, strict=True) if t == target]
    assert sum(r.num_samples for r in records) >= 400
    export = RefinedExport(
        recipe,
        pooled.export_target(recipe.target_model),
        fit=records,
        validation=records,
        held=records,
        excluded=[],
        refined=None,
        provenance={"source": "castillo"},
    )
    assert export.own_map
    cache = EmbeddingCache(tmp_path / "cache")
    shrinkage = choose_map_shrinkage([export], cache, seed=0)
    assert shrinkage.choice["targets"] == ["llama-3.2-1b"]
    assert shrinkage.pseudo_count == float(
        min(shrinkage.choice["distance"], key=shrinkage.choice["distance"].get)
    )
    predictor, state, measured = finish_export(
        pooled, export, cache, pseudo_count=shrinkage.pseudo_count, choice=shrinkage.choice
    )
    fitted = predictor.calibration.fitted
    assert fitted["units"] == len(records) and fitted["config"]["pseudo_count"] == shrinkage.pseudo_count
    assert fitted["pseudo_count_choice"] == shrinkage.choice
    low, high = measured["facts"]["coverage_80_ci95"]
    assert low <= measured["facts"]["coverage_80"] <= high
    assert measured["facts"]["source"] == "castillo"
    assert all(v.dtype == torch_float16() for v in state.values())


def torch_float16():
    import torch

    return torch.float16
