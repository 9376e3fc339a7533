"""Kept for imports written before the plots moved to the core: use :mod:`sagepred.plots`.

The plots live in the core so that training logs the same PNGs to its MLflow run as ``sagepred eval``
writes into a report, without importing the evaluation layer (docs/architecture.md).
"""

from sagepred.plots import (
    PLOT_FILES,
    plot_crps_by_length,
    plot_pit,
    plot_reliability,
    plot_scatter,
    write_plots,
)

__all__ = [
    "PLOT_FILES",
    "plot_crps_by_length",
    "plot_pit",
    "plot_reliability",
    "plot_scatter",
    "write_plots",
]
