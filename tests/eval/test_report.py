"""Report tables: best-value marking, comparability, undefined values; plots are written."""

from __future__ import annotations

import numpy as np

from sagepred.distribution import LengthDistribution
from sagepred.eval.plots import PLOT_FILES, write_plots
from sagepred.eval.report import best_per_column, format_cell, markdown_table
from sagepred.metrics import score_samples
from sagepred.records import LengthRecord


def summary(name: str, crps: float, coverage: float, tau: float | None, comparable="all") -> dict:
    return {
        "predictor": name,
        "comparable_metrics": comparable,
        "crps": crps,
        "coverage_80": coverage,
        "kendall_tau": tau,
        "pit_ks": 0.1,
        "mae_median": 100.0,
        "bucket_accuracy": 0.2,
        "pinball": {"0.1": 1.0, "0.5": 2.0, "0.9": 3.0},
    }


def test_best_per_column_respects_direction_and_comparability():
    rows = [
        summary("a", 120.0, 0.70, 0.3),
        summary("b", 110.0, 0.95, None),
        summary("c", 90.0, 0.79, 0.9, comparable=["kendall_tau"]),
    ]
    best = best_per_column(rows)
    assert best["crps"] == 1  # c is lower but not comparable
    assert best["coverage_80"] == 0  # |0.70 − 0.8| < |0.95 − 0.8|
    assert best["kendall_tau"] == 2  # comparable for c; None for b is skipped


def test_cells_mark_undefined_and_incomparable_values():
    row = summary("c", 90.0, 0.79, None, comparable=["kendall_tau"])
    assert format_cell(row, "kendall_tau", "{:.3f}") == "—"
    assert format_cell(row, "crps", "{:.1f}") == "(90.0)"
    table = markdown_table([summary("a", 120.0, 0.7, 0.3), row])
    assert "**120.0**" in table and "(90.0)" in table
    assert "**" not in markdown_table([summary("a", 120.0, 0.7, 0.3)])  # one row: nothing to win


def test_coverage_cell_shows_its_interval_when_the_report_has_one():
    row = summary("a", 120.0, 0.8368, 0.3)
    assert format_cell(row, "coverage_80", "{:.3f}") == "0.837"
    row["coverage_80_ci95"] = [0.8171, 0.8569]
    assert format_cell(row, "coverage_80", "{:.3f}") == "0.837 [0.817–0.857]"
    assert "0.837 [0.817–0.857]" in markdown_table([row])


def test_write_plots_creates_every_png(tmp_path):
    dist = LengthDistribution(np.array([[0.0, 500.0]]), np.array([[0.0, 1.0]]))
    dist = LengthDistribution(dist.knots, np.repeat(dist.cdf_at_knots, 3, axis=0))
    records = [
        LengthRecord(prompt=str(i), output_lens=(50 * (i + 1), 3000), censored=(False, True))
        for i in range(3)
    ]
    names = write_plots(score_samples(dist, records), tmp_path, "test")
    assert sorted(names) == sorted(PLOT_FILES.values())
    for name in names:
        assert (tmp_path / name).read_bytes()[:4] == b"\x89PNG"
