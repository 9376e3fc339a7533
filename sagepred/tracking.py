"""MLflow tracking of training runs: params, per-epoch metrics, the checkpoint, a registered model.

The default store is a local SQLite file (``sqlite:///mlflow.db``); artifacts go to an
``mlartifacts/`` folder beside it. The checkpoint folder is logged as-is (safetensors + JSON) and
registered as a model version whose source is that artifact folder — no pickled MLflow flavour.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from sagepred.errors import SagepredError

DEFAULT_TRACKING_URI = "sqlite:///mlflow.db"


def registered_model_name(target_model: str) -> str:
    """``sagepred-<target>`` with characters MLflow accepts."""
    return "sagepred-" + re.sub(r"[^A-Za-z0-9._-]+", "-", target_model).strip("-")


def _artifact_root(tracking_uri: str) -> str | None:
    if tracking_uri.startswith("sqlite:///"):
        db_path = Path(tracking_uri[len("sqlite:///") :])
        return (db_path.resolve().parent / "mlartifacts").as_uri()
    return None


def _flatten(prefix: str, value: Any, out: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            _flatten(f"{prefix}.{key}" if prefix else str(key), inner, out)
    else:
        out[prefix] = value


class MlflowTracker:
    """One MLflow run; every method is a no-op when ``enabled`` is False."""

    def __init__(
        self,
        tracking_uri: str = DEFAULT_TRACKING_URI,
        experiment: str = "sagepred-train",
        enabled: bool = True,
    ) -> None:
        self.enabled = enabled
        self.tracking_uri = tracking_uri
        self.experiment = experiment
        self.run_id: str | None = None
        self._mlflow: Any = None

    def start(self, run_name: str, params: dict[str, Any], tags: dict[str, str] | None = None) -> None:
        """Open the run and log flattened ``params``."""
        if not self.enabled:
            return
        os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
        import logging

        logging.getLogger("alembic").setLevel(logging.WARNING)
        import mlflow

        self._mlflow = mlflow
        try:
            mlflow.set_tracking_uri(self.tracking_uri)
            if mlflow.get_experiment_by_name(self.experiment) is None:
                mlflow.create_experiment(self.experiment, artifact_location=_artifact_root(self.tracking_uri))
            mlflow.set_experiment(self.experiment)
            run = mlflow.start_run(run_name=run_name, tags=tags)
        except Exception as err:
            raise SagepredError(
                f"MLflow tracking at {self.tracking_uri!r} failed: {err}".splitlines()[0]
            ) from None
        self.run_id = run.info.run_id
        flat: dict[str, Any] = {}
        _flatten("", params, flat)
        mlflow.log_params({k: str(v)[:500] for k, v in flat.items()})

    def log_metrics(self, metrics: dict[str, Any], step: int | None = None) -> None:
        """Log the numeric entries of ``metrics`` (nested dicts flattened with dots)."""
        if not self.enabled or self._mlflow is None:
            return
        flat: dict[str, Any] = {}
        _flatten("", metrics, flat)
        numeric = {
            k: float(v) for k, v in flat.items() if isinstance(v, int | float) and not isinstance(v, bool)
        }
        if numeric:
            self._mlflow.log_metrics(numeric, step=step)

    def log_checkpoint(self, folder: str | Path, register_as: str | None = None) -> str | None:
        """Log a checkpoint folder under ``checkpoint/`` and optionally register it; returns the version."""
        if not self.enabled or self._mlflow is None:
            return None
        mlflow = self._mlflow
        mlflow.log_artifacts(str(folder), artifact_path="checkpoint")
        if register_as is None:
            return None
        from mlflow.tracking import MlflowClient

        client = MlflowClient(self.tracking_uri)
        try:
            client.get_registered_model(register_as)
        except Exception:
            client.create_registered_model(register_as, description="sagepred output-length predictor")
        source = f"{mlflow.get_artifact_uri('checkpoint')}"
        version = client.create_model_version(register_as, source=source, run_id=self.run_id)
        return str(version.version)

    def end(self, status: str = "FINISHED") -> None:
        """Close the run."""
        if self.enabled and self._mlflow is not None:
            self._mlflow.end_run(status=status)
