"""Evaluation: metrics, baselines, calibration reports."""
