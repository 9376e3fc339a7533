"""Kept for imports written before MLflow tracking moved to the core: use :mod:`sagepred.tracking`.

Tracking lives in the core so that training and evaluation both log runs without either importing
the other's layer (docs/architecture.md).
"""

from sagepred.tracking import DEFAULT_TRACKING_URI, MlflowTracker, registered_model_name

__all__ = ["DEFAULT_TRACKING_URI", "MlflowTracker", "registered_model_name"]
