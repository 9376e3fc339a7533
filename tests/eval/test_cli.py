"""``sagepred eval`` / ``sagepred compare`` end to end on real CASTILLO records, and their bad-input errors."""

from __future__ import annotations

import json

import pytest

from sagepred.cli import main
from sagepred.records import write_jsonl_records

MODEL = "mistralai--Mistral-7B-Instruct-v0.3"


@pytest.fixture(scope="module")
def jsonl_data(castillo, tmp_path_factory):
    folder = tmp_path_factory.mktemp("evaldata")
    train = castillo(MODEL, "train")[:300]
    test = castillo(MODEL, "validate")[::10]
    write_jsonl_records(train, folder / "train.jsonl")
    write_jsonl_records(test, folder / "test.jsonl")
    return folder, test


def test_eval_baseline_writes_report_and_logs_mlflow(jsonl_data, tmp_path, capsys):
    folder, test = jsonl_data
    out = tmp_path / "report"
    db = tmp_path / "mlflow.db"
    code = main(
        [
            "eval",
            "--checkpoint",
            "baseline:length",
            "--data",
            str(folder / "test.jsonl"),
            "--train-data",
            str(folder / "train.jsonl"),
            "--output",
            str(out),
            "--tracking-uri",
            f"sqlite:///{db}",
            "--json",
        ]
    )
    assert code == 0
    printed = json.loads(capsys.readouterr().out)
    metrics = json.loads((out / "metrics.json").read_text())
    assert printed["crps"] == metrics["crps"]
    for key in (
        "crps",
        "kendall_tau",
        "coverage_80",
        "mae_median",
        "bucket_accuracy",
        "pit_ks",
        "n_prompts",
        "n_samples",
        "n_censored",
        "by_dataset",
    ):
        assert key in metrics
    assert set(metrics["pinball"]) == {"0.1", "0.5", "0.9"}
    assert metrics["n_prompts"] == len(test) and metrics["n_samples"] == 10 * len(test)
    assert metrics["info"]["train_records"] == 300
    for name in (
        "report.md",
        "pit_histogram.png",
        "reliability.png",
        "crps_by_length.png",
        "predicted_vs_observed.png",
    ):
        assert (out / name).stat().st_size > 0
    assert "## By dataset" in (out / "report.md").read_text()

    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{db}")
    runs = mlflow.search_runs(experiment_names=["sagepred-eval"])
    assert len(runs) == 1
    assert runs["metrics.crps"].iloc[0] == pytest.approx(metrics["crps"])


def test_compare_prints_table_and_writes_json(jsonl_data, tmp_path, capsys):
    folder, _ = jsonl_data
    out = tmp_path / "cmp.json"
    code = main(
        [
            "compare",
            "baseline:global",
            "baseline:length",
            "--data",
            str(folder / "test.jsonl"),
            "--train-data",
            str(folder / "train.jsonl"),
            "--json",
            str(out),
        ]
    )
    assert code == 0
    text = capsys.readouterr().out
    assert "baseline:global" in text and "baseline:length" in text and "Kendall" in text
    results = json.loads(out.read_text())["results"]
    assert [r["predictor"] for r in results] == ["baseline:global", "baseline:length"]
    assert results[0]["kendall_tau"] is None and results[1]["kendall_tau"] is not None


def _error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    return err


def test_eval_bad_checkpoint_folder(jsonl_data, tmp_path, capsys):
    folder, _ = jsonl_data
    empty = tmp_path / "ckpt"
    empty.mkdir()
    args = ["eval", "--checkpoint", str(empty), "--data", str(folder / "test.jsonl")]
    args += ["--output", str(tmp_path / "o"), "--no-mlflow"]
    assert main(args) == 2
    assert "config.json" in _error(capsys)
    (empty / "config.json").write_text(json.dumps({"format_version": 999, "sagepred_version": "9.9"}))
    (empty / "model.safetensors").write_bytes(b"")
    assert main(args) == 2
    assert "version" in _error(capsys)
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("", "empty"),
        ('{"prompt": "hi"}\n', "output_len"),
        ('{"prompt": "hi", "output_len": "long"}\n', "integer"),
    ],
)
def test_eval_bad_data(jsonl_data, tmp_path, capsys, content, expected):
    folder, _ = jsonl_data
    data = tmp_path / "bad.jsonl"
    data.write_text(content)
    code = main(
        [
            "eval",
            "--checkpoint",
            "baseline:global",
            "--data",
            str(data),
            "--train-data",
            str(folder / "train.jsonl"),
            "--output",
            str(tmp_path / "o"),
            "--no-mlflow",
        ]
    )
    assert code == 2
    assert expected in _error(capsys)


def test_eval_unknown_baseline_and_missing_train_data(jsonl_data, tmp_path, capsys):
    folder, _ = jsonl_data
    args = ["--data", str(folder / "test.jsonl"), "--output", str(tmp_path / "o"), "--no-mlflow"]
    assert (
        main(["eval", "--checkpoint", "baseline:oracle", "--train-data", str(folder / "train.jsonl"), *args])
        == 2
    )
    assert "sagesched" in _error(capsys)
    assert main(["eval", "--checkpoint", "baseline:global", *args]) == 2
    assert "--train-data" in _error(capsys)
