"""MLflow tracking of training runs: params, per-epoch metrics, the checkpoint, a registered model.

The default store is a local SQLite file (``sqlite:///mlflow.db``); artifacts go to an
``mlartifacts/`` folder beside it. The checkpoint folder is logged as-is (safetensors + JSON) under
``checkpoint/`` and as an MLflow ``pyfunc`` model (:mod:`sagepred.mlflow_model`) registered as
``sagepred-<target>``. The registered model's ``champion`` alias goes to its first version and moves
only to a version with a lower held-out CRPS on the *same* held-out data (:func:`holdout_fingerprint`,
recorded as the version tag ``sagepred.holdout_sha256``); versions scored on other data are not
compared, and the champion stays.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sagepred.errors import SagepredError

DEFAULT_TRACKING_URI = "sqlite:///mlflow.db"
CHAMPION_ALIAS = "champion"
HOLDOUT_TAG = "sagepred.holdout_sha256"
CRPS_TAG = "sagepred.eval_crps"
MODEL_NAME = "model"
"""Name of the logged pyfunc model inside a training run."""


def holdout_fingerprint(records: Iterable[Any]) -> str:
    """sha256 of the held-out data: the sorted sha256 of each record's prompt text, lengths and censoring.

    Two evaluations compare only when this matches (same prompts and observed lengths, in any order).
    """
    digests = sorted(
        hashlib.sha256(
            "\0".join(
                [r.prompt_text, ",".join(map(str, r.output_lens)), ",".join(str(int(c)) for c in r.censored)]
            ).encode("utf-8")
        ).hexdigest()
        for r in records
    )
    return hashlib.sha256("\n".join(digests).encode("ascii")).hexdigest()


@dataclass
class ChampionDecision:
    """Where the ``champion`` alias points after a new version was registered, and why."""

    version: str = field(metadata={"help": "the version just registered"})
    champion: str = field(metadata={"help": "the version the alias points to now"})
    moved: bool = field(metadata={"help": "whether the alias moved to the new version"})
    reason: str = field(metadata={"help": "one line for the user"})


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
        """Log the numeric entries of ``metrics`` (nested dicts flattened with dots; an interval
        ``…_ci95: [low, high]`` as ``…_ci95.low`` and ``…_ci95.high``)."""
        if not self.enabled or self._mlflow is None:
            return
        flat: dict[str, Any] = {}
        _flatten("", metrics, flat)
        for key, value in list(flat.items()):
            if key.endswith("_ci95") and isinstance(value, list | tuple) and len(value) == 2:
                flat[f"{key}.low"], flat[f"{key}.high"] = value
        numeric = {
            k: float(v) for k, v in flat.items() if isinstance(v, int | float) and not isinstance(v, bool)
        }
        if numeric:
            self._mlflow.log_metrics(numeric, step=step)

    def log_params(self, params: dict[str, Any]) -> None:
        """Log more (flattened) params to the open run."""
        if not self.enabled or self._mlflow is None:
            return
        flat: dict[str, Any] = {}
        _flatten("", params, flat)
        self._mlflow.log_params({k: str(v)[:500] for k, v in flat.items()})

    def log_artifacts(self, folder: str | Path, artifact_path: str) -> None:
        """Log every file of ``folder`` under ``artifact_path`` of the run."""
        if self.enabled and self._mlflow is not None:
            self._mlflow.log_artifacts(str(folder), artifact_path=artifact_path)

    def log_checkpoint(
        self,
        folder: str | Path,
        register_as: str | None = None,
        holdout_sha256: str | None = None,
        crps: float | None = None,
    ) -> str | None:
        """Log a checkpoint folder under ``checkpoint/`` and as the run's pyfunc model; returns the version.

        With ``register_as`` the pyfunc model becomes a version of that registered model, tagged with
        the held-out data's fingerprint and CRPS (:meth:`update_champion` compares those).
        """
        if not self.enabled or self._mlflow is None:
            return None
        from sagepred.mlflow_model import log_predictor_model

        self._mlflow.log_artifacts(str(folder), artifact_path="checkpoint")
        try:
            if register_as is not None:
                self._registered_model(register_as)
            info = log_predictor_model(folder, name=MODEL_NAME, registered_model_name=register_as)
        except SagepredError:
            raise
        except Exception as err:
            raise SagepredError(
                f"MLflow model logging at {self.tracking_uri!r} failed: {err}".splitlines()[0]
            ) from None
        if register_as is None:
            return None
        version = str(info.registered_model_version)
        client = self._client()
        if holdout_sha256 is not None:
            client.set_model_version_tag(register_as, version, HOLDOUT_TAG, holdout_sha256)
        if crps is not None:
            client.set_model_version_tag(register_as, version, CRPS_TAG, repr(float(crps)))
        return version

    def _client(self) -> Any:
        from mlflow.tracking import MlflowClient

        return MlflowClient(self.tracking_uri)

    def _registered_model(self, name: str) -> None:
        client = self._client()
        try:
            client.get_registered_model(name)
        except Exception:
            client.create_registered_model(name, description="sagepred output-length predictor")

    def update_champion(self, name: str, version: str) -> ChampionDecision | None:
        """Point ``name@champion`` at ``version`` if it is the first, or beats the champion on the same data.

        The comparison reads the versions' ``sagepred.holdout_sha256`` and ``sagepred.eval_crps`` tags
        (lower CRPS wins; a tie keeps the champion). Different or missing held-out fingerprints are
        not compared: the champion stays and the reason says so.
        """
        if not self.enabled or self._mlflow is None:
            return None
        client = self._client()
        new = client.get_model_version(name, version)
        try:
            current = client.get_model_version_by_alias(name, CHAMPION_ALIAS)
        except Exception:
            current = None
        if current is None or str(current.version) == str(version):
            client.set_registered_model_alias(name, CHAMPION_ALIAS, version)
            return ChampionDecision(
                version, version, True, f"{name} v{version} is the first: {CHAMPION_ALIAS}"
            )
        champion = str(current.version)
        new_data, old_data = new.tags.get(HOLDOUT_TAG), current.tags.get(HOLDOUT_TAG)
        if new_data is None or old_data is None or new_data != old_data:
            return ChampionDecision(
                version,
                champion,
                False,
                f"{name} v{version} was scored on other held-out data than {CHAMPION_ALIAS} v{champion} "
                f"({(new_data or 'none')[:12]} vs {(old_data or 'none')[:12]}): not compared, "
                f"{CHAMPION_ALIAS} stays v{champion}",
            )
        new_crps, old_crps = _tag_float(new.tags, CRPS_TAG), _tag_float(current.tags, CRPS_TAG)
        if new_crps is None or old_crps is None:
            return ChampionDecision(
                version,
                champion,
                False,
                f"{name}: no recorded CRPS to compare; {CHAMPION_ALIAS} stays v{champion}",
            )
        if new_crps < old_crps:
            client.set_registered_model_alias(name, CHAMPION_ALIAS, version)
            return ChampionDecision(
                version,
                version,
                True,
                f"{name} v{version} beats {CHAMPION_ALIAS} v{champion} on the same held-out data "
                f"(CRPS {new_crps:.2f} < {old_crps:.2f}): {CHAMPION_ALIAS} is now v{version}",
            )
        return ChampionDecision(
            version,
            champion,
            False,
            f"{name} v{version} does not beat {CHAMPION_ALIAS} v{champion} on the same held-out data "
            f"(CRPS {new_crps:.2f} >= {old_crps:.2f}): {CHAMPION_ALIAS} stays v{champion}",
        )

    def end(self, status: str = "FINISHED") -> None:
        """Close the run."""
        if self.enabled and self._mlflow is not None:
            self._mlflow.end_run(status=status)


def _tag_float(tags: dict[str, str], key: str) -> float | None:
    try:
        value = float(tags[key])
    except (KeyError, ValueError):
        return None
    return value if math.isfinite(value) else None
