"""Evaluation: baselines, calibration reports, online replay (the metrics are :mod:`sagepred.metrics`)."""
