"""Evaluation reports: ``metrics.json``, ``report.md`` and PNG plots in one folder, plus MLflow logging."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sagepred.eval.runner import Evaluation
from sagepred.io import atomic_directory
from sagepred.metrics import PINBALL_LEVELS
from sagepred.tracking import DEFAULT_TRACKING_URI, MlflowTracker

EXPERIMENT = "sagepred-eval"

# (key, column title, lower is better?, format)
COLUMNS: tuple[tuple[str, str, bool | None, str], ...] = (
    ("crps", "CRPS", True, "{:.1f}"),
    ("pinball.0.1", "pinball 0.1", True, "{:.1f}"),
    ("pinball.0.5", "pinball 0.5", True, "{:.1f}"),
    ("pinball.0.9", "pinball 0.9", True, "{:.1f}"),
    ("coverage_80", "cov 80%", None, "{:.3f}"),
    ("pit_ks", "PIT KS", True, "{:.3f}"),
    ("kendall_tau", "Kendall τ", False, "{:.3f}"),
    ("mae_median", "MAE median", True, "{:.1f}"),
    ("bucket_accuracy", "bucket acc", False, "{:.3f}"),
)


def metric_value(metrics: dict[str, Any], key: str) -> float | None:
    """A (possibly dotted, e.g. ``pinball.0.5``) metric; ``None`` when undefined."""
    if key.startswith("pinball."):
        return metrics["pinball"].get(key[len("pinball.") :])
    return metrics.get(key)


def is_comparable(summary: dict[str, Any], key: str) -> bool:
    comparable = summary.get("comparable_metrics", "all")
    return comparable == "all" or key in comparable


def best_per_column(summaries: Sequence[dict[str, Any]]) -> dict[str, int]:
    """Index of the best comparable predictor per column (coverage: closest to 0.80)."""
    best: dict[str, int] = {}
    for key, _, lower, _ in COLUMNS:
        candidates = []
        for i, summary in enumerate(summaries):
            value = metric_value(summary, key)
            if value is None or not is_comparable(summary, key):
                continue
            score = abs(value - 0.8) if lower is None else (value if lower else -value)
            candidates.append((score, i))
        if candidates:
            best[key] = min(candidates)[1]
    return best


def format_cell(summary: dict[str, Any], key: str, fmt: str) -> str:
    """The cell text: ``—`` when undefined, in parentheses when not comparable for this predictor; a
    metric with its 95% interval in brackets where the report has one (``coverage_80_ci95``)."""
    value = metric_value(summary, key)
    if value is None:
        return "—"
    text = fmt.format(value)
    interval = summary.get(f"{key}_ci95")
    if interval is not None:
        text += " [" + "–".join(fmt.format(v) for v in interval) + "]"
    return text if is_comparable(summary, key) else f"({text})"


def markdown_table(
    summaries: Sequence[dict[str, Any]], label_key: str = "predictor", bold: bool = True
) -> str:
    """A markdown table of the headline metrics, best comparable value per column in bold."""
    best = best_per_column(summaries) if bold and len(summaries) > 1 else {}
    header = "| predictor | " + " | ".join(title for _, title, _, _ in COLUMNS) + " |"
    lines = [header, "|" + " --- |" * (len(COLUMNS) + 1)]
    for i, summary in enumerate(summaries):
        cells = []
        for key, _, _, fmt in COLUMNS:
            cell = format_cell(summary, key, fmt)
            cells.append(f"**{cell}**" if best.get(key) == i else cell)
        lines.append(f"| {summary[label_key]} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


TABLE_NOTES = (
    "Lower is better for CRPS, pinball, PIT KS and MAE; higher for Kendall τ and bucket accuracy; coverage "
    "should be 0.80. Bold: best comparable value. Values in parentheses are not comparable (the LTR "
    "baseline only ranks: its distribution is a slice of the global histogram chosen by rank, so only "
    "its τ means something). — : undefined (τ of a predictor that gives every prompt the same mean)."
)


def rich_table(summaries: Sequence[dict[str, Any]], title: str | None = None) -> Any:
    """The same table for the terminal (rich); the best comparable value per column in bold."""
    from rich.table import Table

    best = best_per_column(summaries) if len(summaries) > 1 else {}
    table = Table(
        title=title,
        caption="(x): not comparable (ranking-only predictor); —: undefined"
        + ("; bold: best" if best else ""),
    )
    table.add_column("predictor", no_wrap=True)
    for _, heading, _, _ in COLUMNS:
        table.add_column(heading, justify="right")
    for i, summary in enumerate(summaries):
        cells = []
        for key, _, _, fmt in COLUMNS:
            cell = format_cell(summary, key, fmt)
            cells.append(f"[bold]{cell}[/bold]" if best.get(key) == i else cell)
        table.add_row(summary["predictor"], *cells)
    return table


def _breakdown_table(groups: dict[str, dict[str, Any]], summary: dict[str, Any]) -> str:
    rows = [
        {**metrics, "predictor": name, "comparable_metrics": summary["comparable_metrics"]}
        for name, metrics in groups.items()
    ]
    table = markdown_table(rows, bold=False).replace("| predictor |", "| group |", 1)
    counts = ", ".join(f"{name} {m['n_prompts']}/{m['n_samples']}" for name, m in groups.items())
    return f"{table}\n\nprompts/samples: {counts}"


def render_markdown(evaluation: Evaluation, data: dict[str, Any], plots: Sequence[str]) -> str:
    """The human-readable ``report.md``."""
    summary = evaluation.summary()
    m = evaluation.metrics
    lines = [
        f"# Evaluation of `{summary['predictor']}`",
        "",
        f"- data: `{data.get('source')}`"
        + "".join(f", {k} `{v}`" for k, v in data.items() if k != "source" and v),
        f"- {m['n_prompts']} prompts, {m['n_samples']} samples ({m['n_censored']} censored), "
        f"prediction took {summary['predict_seconds']} s",
    ]
    for key, value in summary["info"].items():
        lines.append(f"- {key.replace('_', ' ')}: {value}")
    if summary["comparable_metrics"] != "all":
        lines.append(
            f"- **only {', '.join(summary['comparable_metrics'])} is comparable for this predictor**"
        )
    lines += ["", "## Metrics", "", markdown_table([summary]), "", TABLE_NOTES, ""]
    lines += [
        f"Mean predicted length {m['mean_predicted']:.1f} vs observed {m['mean_observed']:.1f} tokens. "
        f"Pinball losses: " + ", ".join(f"q={q}: {m['pinball'][str(q)]:.1f}" for q in PINBALL_LEVELS) + ".",
        "",
        "Quantile reliability (share of samples below the predicted q-quantile; calibrated = q):",
        "",
        "| q | " + " | ".join(m["reliability"]) + " |",
        "|" + " --- |" * (len(m["reliability"]) + 1),
        "| observed | " + " | ".join(f"{v:.3f}" for v in m["reliability"].values()) + " |",
        "",
        "PIT histogram (10 bins): " + ", ".join(f"{v:.3f}" for v in m["pit_histogram"]),
        "",
    ]
    for key, title in (("by_dataset", "By dataset"), ("by_category", "By category")):
        if m.get(key):
            lines += [f"## {title}", "", _breakdown_table(m[key], summary), ""]
    lines += ["## Plots", ""] + [f"![{name}]({name})" for name in plots] + [""]
    lines += [
        "## Censored samples",
        "",
        "A censored sample (the response hit max_tokens; the true length is at least the observed c) "
        "scores the known part of each metric: CRPS integrates F² below c only; pinball and MAE count "
        "the shortfall below c; PIT, coverage and reliability spread the sample uniformly over [F(c), 1] "
        f"(D-calibration); bucket accuracy excludes undetermined samples ({m['bucket_excluded']} here).",
        "",
    ]
    return "\n".join(lines)


def write_report(output: str | Path, evaluation: Evaluation, data: dict[str, Any]) -> Path:
    """Write ``metrics.json``, ``report.md`` and the plots into ``output`` atomically (whole folder)."""
    from sagepred.eval.plots import write_plots

    output = Path(output)
    summary = {**evaluation.summary(), "data": data}
    with atomic_directory(output) as tmp:
        plots = write_plots(evaluation.scores, tmp, evaluation.candidate.label)
        (tmp / "metrics.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
        (tmp / "report.md").write_text(render_markdown(evaluation, data, plots), encoding="utf-8")
    return output


def log_to_mlflow(
    evaluation: Evaluation,
    folder: str | Path,
    data: dict[str, Any],
    tracking_uri: str = DEFAULT_TRACKING_URI,
    experiment: str = EXPERIMENT,
) -> str | None:
    """Log params, metrics and the report folder to MLflow; returns the run id."""
    tracker = MlflowTracker(tracking_uri=tracking_uri, experiment=experiment)
    summary = evaluation.summary()
    tracker.start(
        run_name=f"eval {summary['predictor']}",
        params={
            "predictor": summary["predictor"],
            "kind": summary["kind"],
            "data": data,
            "info": summary["info"],
        },
        tags={"sagepred.kind": "eval"},
    )
    try:
        metrics = {k: v for k, v in evaluation.metrics.items() if k not in ("pit_histogram",)}
        tracker.log_metrics(metrics)
        import mlflow

        mlflow.log_artifacts(str(folder), artifact_path="report")
    except BaseException:
        tracker.end(status="FAILED")
        raise
    tracker.end()
    return tracker.run_id
