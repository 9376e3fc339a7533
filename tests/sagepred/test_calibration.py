"""Calibration: static recalibration, distance and spread widening, online recalibration, and the checkpoint
files."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sagepred.calibration import (
    CALIBRATION_NAME,
    PIT_GRID,
    REFERENCE_NAME,
    Calibration,
    OnlineRecalibrator,
    Recalibrator,
    ReferenceSet,
    SpreadWidening,
    Widening,
    choose_pseudo_count,
    coverage_by_bin,
    ensemble_spread,
    fit_spread_widening,
    interval_coverage,
    pit_cvm,
    replay_online,
    sample_pits,
    widen,
)
from sagepred.distribution import LengthDistribution
from sagepred.records import LengthRecord


def lognormal_records(rng: np.random.Generator, medians: np.ndarray, sigma: float, samples: int = 5):
    return [
        LengthRecord(
            prompt=f"prompt {i}",
            output_lens=[max(1, int(v)) for v in m * np.exp(sigma * rng.standard_normal(samples))],
        )
        for i, m in enumerate(medians)
    ]


def lognormal_dist(medians: np.ndarray, sigma: float) -> LengthDistribution:
    """Log-normal histograms over the default head's bins (the recalibration acts on the full support)."""
    from scipy.stats import norm

    from sagepred.distribution import log_bin_edges

    edges = log_bin_edges(48, 16384.0)
    sigma = np.asarray(sigma, dtype=np.float64).reshape(-1, 1)
    cdf = norm.cdf((np.log(np.maximum(edges, 1e-9))[None, :] - np.log(medians)[:, None]) / sigma)
    probs = np.diff(cdf, axis=1) + 1e-12
    return LengthDistribution.from_histogram(probs, edges)


def test_recalibration_fixes_an_overconfident_head_on_new_draws():
    rng = np.random.default_rng(0)
    medians = np.exp(rng.uniform(3, 7, 600))
    records = lognormal_records(rng, medians, sigma=0.8)
    narrow = lognormal_dist(medians, sigma=0.4)  # half the true spread: 80% intervals cover far less
    fit, test = slice(0, 300), slice(300, 600)
    before = interval_coverage(sample_pits(narrow[np.arange(300, 600)], records[test]))
    assert before < 0.6
    recal = Recalibrator.fit(sample_pits(narrow[np.arange(300)], records[fit]))
    after = interval_coverage(sample_pits(recal(narrow[np.arange(300, 600)]), records[test]))
    assert abs(after - 0.8) <= 0.03, (before, after)
    assert np.all(np.diff(recal.mapping) >= 0) and recal.mapping[0] == 0 and recal.mapping[-1] == 1
    assert np.allclose(
        Recalibrator.from_dict(json.loads(json.dumps(recal.to_dict()))).mapping, recal.mapping, atol=1e-6
    )


def test_a_thin_upper_tail_does_not_reorder_the_predicted_means():
    """57 held-out PITs, two beyond 0.995 (gpt-4's case): the map may not multiply the far tail (whose
    weight differs per prompt) by ~5, which ranked the means by their tails; the medians keep their order."""
    from scipy.stats import kendalltau

    rng = np.random.default_rng(1)
    medians = np.exp(rng.uniform(4, 6, 200))
    base = lognormal_dist(medians, sigma=0.5)
    edges = base.knots if base.knots.ndim == 1 else base.knots[0]
    probs = np.diff(base.cdf_at_knots, axis=1)
    far = rng.uniform(0.0, 0.006, len(medians))  # a far tail at 8k-16k tokens, of varying weight
    probs = probs * (1 - far)[:, None]
    probs[:, -1] += far
    dist = LengthDistribution.from_histogram(probs, edges)
    pits = np.concatenate([rng.uniform(0.01, 0.99, 55), [0.998, 0.999]])
    loose = Recalibrator.fit(pits, tail_slope=None)
    bounded = Recalibrator.fit(pits)
    assert 1 - loose.mapping[-2] > 4 * (1 - PIT_GRID[-2])  # the unbounded map's jump at the top
    assert 1 - bounded.mapping[-2] <= 2 * (1 - PIT_GRID[-2]) + 1e-9
    mean = np.asarray(dist.mean()).ravel()
    tau_loose = kendalltau(mean, np.asarray(loose(dist).mean()).ravel()).statistic
    tau_bounded = kendalltau(mean, np.asarray(bounded(dist).mean()).ravel()).statistic
    assert tau_bounded > tau_loose + 0.1 and tau_bounded > 0.8, (tau_loose, tau_bounded)
    median = dist.quantile(0.5).ravel()
    assert kendalltau(median, bounded(dist).quantile(0.5).ravel()).statistic > 0.99
    many = np.concatenate([rng.uniform(0.01, 0.99, 1000), rng.uniform(0.996, 1.0, 40)])
    assert 1 - Recalibrator.fit(many).mapping[-2] > 2 * (1 - PIT_GRID[-2])  # a tail the data supports


def test_widen_scales_the_log_spread_around_the_median():
    dist = lognormal_dist(np.array([100.0, 400.0]), sigma=0.5)
    wide = widen(dist, np.array([1.0, 2.0]))
    np.testing.assert_allclose(wide.quantile(0.5), dist.quantile(0.5), rtol=2e-3)  # linear within a bin
    spread = np.log1p(dist.quantile(0.9)) - np.log1p(dist.quantile(0.5))
    wide_spread = np.log1p(wide.quantile(0.9)) - np.log1p(wide.quantile(0.5))
    np.testing.assert_allclose(wide_spread / spread, [1.0, 2.0], rtol=0.02)
    assert widen(dist, 1.0) is dist


def test_reference_distance_is_zero_for_a_training_prompt_and_grows_with_novelty():
    rng = np.random.default_rng(1)
    train = rng.standard_normal((200, 16)).astype(np.float32)
    ref = ReferenceSet(train, neighbours=1)
    near, far = train[:5] + 0.01 * rng.standard_normal((5, 16)), rng.standard_normal((5, 16))
    assert np.all(ref.distance(train[:5]) < 1e-5)
    assert ref.distance(near).max() < ref.distance(far).min()


def test_widening_fit_widens_where_held_out_coverage_drops_with_distance():
    rng = np.random.default_rng(2)
    n = 600
    distance = rng.uniform(0.1, 0.6, n)
    medians = np.exp(rng.uniform(3, 7, n))
    sigma_true = 0.4 * (1 + 3 * (distance - 0.1))  # farther prompts are less predictable
    records = [
        LengthRecord(
            prompt=f"p{i}",
            output_lens=[max(1, int(v)) for v in medians[i] * np.exp(s * rng.standard_normal(6))],
        )
        for i, s in enumerate(sigma_true)
    ]
    dist = lognormal_dist(medians, sigma=0.4)
    widening = Widening.fit(dist, records, distance, bins=5, max_scale=4.0)
    assert widening.slope > 1.0
    assert widening.scale(np.array([0.6]))[0] > widening.scale(np.array([0.2]))[0] >= 1.0
    far = np.arange(n)[distance > 0.5]
    wide = widen(dist[far], widening.scale(distance[far]))
    before = interval_coverage(sample_pits(dist[far], [records[i] for i in far]))
    after = interval_coverage(sample_pits(wide, [records[i] for i in far]))
    assert after > before + 0.1


def test_online_recalibration_recovers_coverage_after_a_shift_within_500_requests():
    rng = np.random.default_rng(3)
    online = OnlineRecalibrator()
    medians = np.exp(rng.uniform(3, 7, 1500))
    dist = lognormal_dist(medians, sigma=0.4)
    lengths = medians * np.exp(0.3 + 0.9 * rng.standard_normal(1500))  # shifted up and twice as wide
    hits = []
    for t in range(1500):
        grid, values = online.mapping()
        from sagepred.calibration import apply_map

        row = apply_map(dist[t], grid, values)
        f = float(row.cdf(lengths[t])[0])
        hits.append(0.1 <= f <= 0.9)
        online.update(float(dist[t].cdf(lengths[t])[0]))
    hits = np.asarray(hits, dtype=float)
    assert hits[:100].mean() < 0.65
    late = hits[500:]
    assert abs(late.mean() - 0.8) <= 0.05
    assert all(abs(late[i : i + 250].mean() - 0.8) <= 0.08 for i in range(0, late.size - 250, 250))


def test_replay_online_reports_blocks_and_when_coverage_is_back():
    """The replay the benchmarks share: one observed length per request after its prediction."""
    rng = np.random.default_rng(5)
    medians = np.exp(rng.uniform(3, 7, 1500))
    records = lognormal_records(rng, medians * np.exp(0.3), sigma=0.9)  # shifted up and wider than predicted
    static = lognormal_dist(medians, sigma=0.4)
    replay = replay_online(static, records, block=250)
    blocks = replay["blocks"]
    assert [b["seen"] for b in blocks] == [250, 500, 750, 1000, 1250, 1500]
    assert all(b["static"] < 0.65 for b in blocks)
    assert blocks[0]["online"] > blocks[0]["static"] + 0.1
    assert all(abs(b["online"] - 0.8) <= 0.05 for b in blocks[3:])
    assert replay["requests_until_within_0.05"] is not None and replay["requests_until_within_0.05"] <= 1000
    assert len(replay["adapted"]) == len(records)
    same = replay_online(static[:300], records[:300], block=100)
    assert same["blocks"] == replay_online(static[:300], records[:300], block=100)["blocks"], "seeded"


def test_calibration_save_load_round_trip(tmp_path):
    rng = np.random.default_rng(4)
    medians = np.exp(rng.uniform(3, 7, 120))
    records = lognormal_records(rng, medians, sigma=0.8)
    emb = rng.standard_normal((120, 8)).astype(np.float32)
    ref = rng.standard_normal((300, 8)).astype(np.float32)
    dist = lognormal_dist(medians, sigma=0.4)
    cal = Calibration.fit(dist, records, emb, ref)
    assert cal.fitted["coverage_80_before"] < 0.65 and abs(cal.fitted["coverage_80_after"] - 0.8) < 0.05
    names = cal.save(tmp_path)
    assert names == [CALIBRATION_NAME, REFERENCE_NAME]
    loaded = Calibration.load(tmp_path)
    np.testing.assert_allclose(
        loaded.apply(dist, emb).cdf_at_knots, cal.apply(dist, emb).cdf_at_knots, atol=2e-3
    )
    assert Calibration.load(tmp_path / "missing") is None


def test_malformed_calibration_file_is_one_line_checkpoint_error(tmp_path):
    from sagepred.errors import CheckpointError

    (tmp_path / CALIBRATION_NAME).write_text(json.dumps({"recalibrator": {"mapping": [0.5, 0.2]}}))
    with pytest.raises(CheckpointError, match="malformed calibration"):
        Calibration.load(tmp_path)


@pytest.mark.slow
def test_trainer_fits_calibration_on_the_early_stopping_split_of_real_data(tmp_path, data_dir):
    """A real CASTILLO target: the checkpoint's 80% intervals cover 0.80 ± 0.05 on records it never saw."""
    from sagepred.importers import load_records
    from sagepred.metrics import compute_metrics
    from sagepred.predictor import LengthPredictor, PredictorConfig
    from sagepred.records import split_records
    from sagepred.training.trainer import Trainer, TrainingConfig

    records = load_records(str(data_dir / "castillo"), model="Qwen--Qwen2.5-7B-Instruct-1M", split="validate")
    train, test = split_records(records[:900], 0.3, seed=0)
    predictor = LengthPredictor(PredictorConfig(target_model="qwen"))
    config = TrainingConfig(epochs=40, patience=6, seed=0)
    Trainer(predictor, config, progress=False).fit(train)
    fitted = predictor.calibration.fitted
    _, stop = split_records(train, config.early_stopping_fraction, config.seed)
    assert fitted["records"] == len(stop)  # the early-stopping records, never the test ones
    calibrated = compute_metrics(predictor.predict([r.prompt_text for r in test]), test)
    x, n = predictor.features([r.prompt_text for r in test])
    raw = compute_metrics(predictor.predict_from_features(x, n, calibrated=False), test)
    assert abs(calibrated["coverage_80"] - 0.8) <= 0.06, (raw["coverage_80"], calibrated["coverage_80"])
    assert abs(calibrated["coverage_80"] - 0.8) <= abs(raw["coverage_80"] - 0.8) + 0.02
    folder = predictor.save_pretrained(tmp_path / "ckpt")
    config_json = json.loads((folder / "config.json").read_text())
    assert {CALIBRATION_NAME, REFERENCE_NAME, "train_prompts.safetensors"} <= set(config_json["files"])
    loaded = LengthPredictor.from_pretrained(folder, encoder=predictor.encoder)
    np.testing.assert_allclose(
        loaded.predict([r.prompt_text for r in test[:20]]).cdf_at_knots,
        predictor.predict([r.prompt_text for r in test[:20]]).cdf_at_knots,
        atol=2e-3,
    )
    before = loaded.predict([test[0].prompt_text])
    loaded.observe(before, [1.0] * 1)  # online recalibration starts from the observed length
    assert loaded.online is not None and loaded.online.seen == 1


def test_replay_runs_the_head_under_online_recalibration():
    """eval.online.replay: 'head+online' is fed the observed lengths and ends up covering about 80%."""
    import torch

    from sagepred.eval.online import ONLINE_MODE, OnlineConfig, replay
    from sagepred.history import HistoryConfig
    from sagepred.predictor import LengthPredictor, PredictorConfig

    rng = np.random.default_rng(5)
    n = 1200
    embeddings = rng.standard_normal((n, 384)).astype(np.float32)
    embeddings /= np.linalg.norm(embeddings, axis=1, keepdims=True)
    torch.manual_seed(0)
    predictor = LengthPredictor(PredictorConfig(target_model="demo"))
    counts = np.full(n, 20.0, dtype=np.float32)
    medians = predictor.predict_from_features(embeddings, counts).quantile(0.5)
    records = [  # answers 3x longer and more spread than the head believes: a shifted mix
        LengthRecord(
            prompt=f"p{i}", output_lens=[max(1, int(v)) for v in 3 * m * np.exp(1.2 * rng.standard_normal(4))]
        )
        for i, m in enumerate(medians)
    ]
    config = OnlineConfig(block=300, online_recalibration=True, history=HistoryConfig(threshold=0.99))
    result = replay(records, predictor, config, embeddings=embeddings, token_counts=counts)
    assert result.modes[-1] == ONLINE_MODE
    head = [b["coverage_80"] for b in result.blocks["head"]]
    online = [b["coverage_80"] for b in result.blocks[ONLINE_MODE]]
    assert all(abs(c - 0.8) <= 0.05 for c in online[1:]), online
    assert abs(np.mean(head[1:]) - 0.8) > 0.1, head


def heteroscedastic(rng: np.random.Generator, n: int, tied_to_spread: bool):
    """Records whose true log-spread grows with an ensemble spread (or does not), and one fixed-width
    prediction for all of them."""
    spread = np.exp(rng.uniform(np.log(0.02), np.log(0.3), n))
    medians = np.exp(rng.uniform(3, 7, n))
    sigma = 0.3 + 2.5 * spread if tied_to_spread else np.full(n, 0.6)
    records = [
        LengthRecord(
            prompt=f"prompt {i}",
            output_lens=[max(1, int(v)) for v in m * np.exp(s * rng.standard_normal(5))],
        )
        for i, (m, s) in enumerate(zip(medians, sigma, strict=True))
    ]
    return lognormal_dist(medians, 0.6), records, spread


def by_spread(dist, records, spread):
    per_sample = np.repeat(spread, [r.num_samples for r in records])
    return coverage_by_bin(sample_pits(dist, records), per_sample, 5)


def test_ensemble_spread_is_the_members_disagreement_in_log_length():
    from sagepred.distribution import log_bin_edges

    edges = log_bin_edges(48, 16384.0)
    agree = np.tile(np.eye(48)[[10, 30]], (3, 1, 1))  # three members, two rows, one bin each
    assert np.allclose(ensemble_spread(agree, edges), 0.0)
    split = np.stack([np.eye(48)[[10, 10]], np.eye(48)[[20, 30]]])
    spread = ensemble_spread(split, edges)
    assert spread[0] > 0 and spread[1] > spread[0]


def test_spread_widening_evens_coverage_across_spread_on_new_prompts():
    rng = np.random.default_rng(0)
    dist, records, spread = heteroscedastic(rng, 1200, tied_to_spread=True)
    fit, check = np.arange(600), np.arange(600, 1200)
    before = by_spread(dist[check], [records[i] for i in check], spread[check])
    assert before[0] - before[-1] > 0.3  # over-covered where members agree, under where they do not
    widening, report = fit_spread_widening(dist[fit], [records[i] for i in fit], spread[fit], np.arange(600))
    assert widening is not None and report["kept"], report
    assert report["unevenness_after"] < report["unevenness_before"]
    assert np.all(np.diff(widening.factors) >= 0) and widening.factors[0] < 1 < widening.factors[-1]
    after = by_spread(widening(dist[check], spread[check]), [records[i] for i in check], spread[check])
    assert after.max() - after.min() < 0.1, (before, after)
    again = SpreadWidening.from_dict(json.loads(json.dumps(widening.to_dict())))
    np.testing.assert_allclose(again.scale(spread), widening.scale(spread), rtol=1e-5)


def test_spread_widening_is_refused_when_it_does_not_carry_over_or_prompts_are_few():
    rng = np.random.default_rng(1)
    dist, records, spread = heteroscedastic(rng, 600, tied_to_spread=False)
    widening, report = fit_spread_widening(dist, records, spread, np.arange(600))
    assert widening is None and report["reason"] == "no gain on the other half of the prompts", report
    dist, records, spread = heteroscedastic(rng, 150, tied_to_spread=True)
    widening, report = fit_spread_widening(dist, records, spread, np.arange(150))
    assert widening is None and report["reason"] == "150 prompts, fewer than 200"


def test_malformed_spread_widening_is_refused():
    with pytest.raises(ValueError, match="non-decreasing"):
        SpreadWidening.from_dict({"log_spread": [-3.0, -2.0], "factors": [1.2, 0.9]})
    with pytest.raises(ValueError, match="same non-zero length"):
        SpreadWidening.from_dict({"log_spread": [-3.0], "factors": [1.0, 1.1]})


def test_recalibration_shrinks_by_the_independent_units_behind_the_pits():
    """PITs of one prompt across many targets move together: the pseudo-count weighs against prompts."""
    rng = np.random.default_rng(3)
    pits = rng.beta(0.4, 0.4, 5000)  # an over-confident head: PITs piled up at both ends
    by_samples = Recalibrator.fit(pits)
    by_prompts = Recalibrator.fit(pits, units=20)  # 20 prompts: half-way to the identity
    gap_samples = np.abs(by_samples.mapping - PIT_GRID).max()
    gap_prompts = np.abs(by_prompts.mapping - PIT_GRID).max()
    assert gap_samples > 0.1 and gap_prompts == pytest.approx(gap_samples / 2, rel=0.1)
    np.testing.assert_allclose(Recalibrator.fit(pits, units=10**6).mapping, by_samples.mapping)


def _clustered_pits(rng, prompts: int, samples: int, spread: float) -> tuple[np.ndarray, np.ndarray]:
    """PIT values whose samples share a per-prompt offset (a prompt's answers move together); ``spread``
    below 1 is an overconfident predictor (PITs pile up at both ends)."""
    centre = rng.random(prompts)
    noise = rng.normal(0.0, 0.05, (prompts, samples))
    z = (np.clip(centre[:, None] + noise, 1e-6, 1 - 1e-6) - 0.5) / spread + 0.5
    return np.clip(z, 0.0, 1.0).ravel(), np.repeat(np.arange(prompts), samples)


def test_the_map_is_shrunk_hard_when_its_prompts_are_few_and_the_predictor_calibrated():
    """Few calibrated prompts of ten samples each: a map of their noise only hurts the other half."""
    rng = np.random.default_rng(0)
    groups = [_clustered_pits(rng, 60, 10, 1.0) for _ in range(6)]
    k, table = choose_pseudo_count(groups)
    assert k >= 200 and table[str(k)] == min(table.values())
    assert table["0.0"] > table[str(k)]


def test_the_map_is_kept_when_its_many_prompts_show_a_real_miscalibration():
    rng = np.random.default_rng(1)
    groups = [_clustered_pits(rng, 800, 3, 0.6) for _ in range(4)]
    assert pit_cvm(groups[0][0]) > 5 * pit_cvm(rng.random(2400))  # really miscalibrated
    k, _ = choose_pseudo_count(groups)
    assert k <= 50


def test_choose_pseudo_count_needs_groups():
    with pytest.raises(ValueError, match="at least one group"):
        choose_pseudo_count([])
    with pytest.raises(ValueError, match="four prompts"):
        choose_pseudo_count([(np.array([0.2, 0.4]), np.array([0, 1]))])


def test_calibration_fit_counts_units_when_given():
    rng = np.random.default_rng(2)
    records = lognormal_records(rng, rng.uniform(50, 500, 30), 0.6)
    dist = LengthDistribution.from_samples([r.lengths for r in records])
    x = rng.normal(size=(30, 8)).astype(np.float32)
    by_prompt = Calibration.fit(dist, records, x, x, units=30)
    assert by_prompt.fitted["units"] == 30 and "units" not in Calibration.fit(dist, records, x, x).fitted
