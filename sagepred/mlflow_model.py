"""A sagepred predictor as an MLflow ``pyfunc`` model: prompts in, mean and quantiles out.

``mlflow.pyfunc.load_model("models:/sagepred-<target>@champion").predict(df)`` takes a DataFrame with
a ``prompt`` column (plain text; chat prompts rendered the way :func:`sagepred.records.prompt_text`
does) and returns one row per prompt with the columns of :data:`OUTPUT_COLUMNS`: ``mean`` and the
predicted length (target-model tokens) at each level of :data:`QUANTILE_LEVELS`, named ``q0.1`` …
``q0.99``.

The logged model holds a copy of the checkpoint folder under ``artifacts/`` (artifact key
``checkpoint``: safetensors and JSON, sha256-verified on load by
:meth:`LengthPredictor.from_pretrained`) and is logged as an MLflow "model from code"
(:mod:`sagepred.mlflow_pyfunc_entry`): nothing is pickled, and loading needs sagepred installed (the
model's requirements name it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mlflow.pyfunc
import numpy as np
import pandas as pd

PROMPT_COLUMN = "prompt"
QUANTILE_LEVELS = (0.1, 0.25, 0.5, 0.75, 0.9, 0.99)
"""Quantile levels of the output columns (0.99: a memory-reservation bound)."""
CHECKPOINT_ARTIFACT = "checkpoint"
EXAMPLE_PROMPTS = ("Write a haiku about autumn.", "Explain how a hash map works, with an example in Python.")


def quantile_column(level: float) -> str:
    """The output column of quantile ``level`` (``q0.5`` for 0.5)."""
    return f"q{level:g}"


OUTPUT_COLUMNS = ("mean", *(quantile_column(q) for q in QUANTILE_LEVELS))


def prediction_frame(dist: Any) -> pd.DataFrame:
    """The pyfunc output of a :class:`~sagepred.distribution.LengthDistribution` (one row per prompt)."""
    quantiles = dist.quantile(np.asarray([QUANTILE_LEVELS], dtype=np.float64))
    columns = {"mean": dist.mean().astype(np.float64)}
    for j, level in enumerate(QUANTILE_LEVELS):
        columns[quantile_column(level)] = quantiles[:, j].astype(np.float64)
    return pd.DataFrame(columns)


class LengthPredictorModel(mlflow.pyfunc.PythonModel):
    """The MLflow python model: loads the checkpoint artifact, predicts a DataFrame of prompts."""

    def load_context(self, context: Any) -> None:
        """Load the predictor from the logged checkpoint folder (checksums verified)."""
        from sagepred.predictor import LengthPredictor

        self._predictor = LengthPredictor.from_pretrained(context.artifacts[CHECKPOINT_ARTIFACT])

    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        """``mean`` and ``q<level>`` columns (a DataFrame) for the ``prompt`` column of ``model_input``."""
        del context, params
        frame = model_input if isinstance(model_input, pd.DataFrame) else pd.DataFrame(model_input)
        if PROMPT_COLUMN not in frame.columns:
            raise ValueError(
                f"expected a DataFrame with a {PROMPT_COLUMN!r} column, got {list(frame.columns)}"
            )
        prompts = frame[PROMPT_COLUMN].tolist()
        bad = [i for i, p in enumerate(prompts) if not isinstance(p, str) or not p.strip()]
        if bad:
            raise ValueError(f"row {bad[0]}: {PROMPT_COLUMN!r} must be a non-empty string")
        if not prompts:
            return pd.DataFrame({column: pd.Series(dtype=np.float64) for column in OUTPUT_COLUMNS})
        return prediction_frame(self._predictor.predict(prompts))


def model_signature() -> Any:
    """Input: one string column ``prompt``; output: the float columns of :data:`OUTPUT_COLUMNS`."""
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, Schema

    return ModelSignature(
        inputs=Schema([ColSpec("string", PROMPT_COLUMN)]),
        outputs=Schema([ColSpec("double", column) for column in OUTPUT_COLUMNS]),
    )


def input_example() -> pd.DataFrame:
    """Two prompts, logged beside the model as its input example."""
    return pd.DataFrame({PROMPT_COLUMN: list(EXAMPLE_PROMPTS)})


def log_predictor_model(
    checkpoint: str | Path, name: str = "model", registered_model_name: str | None = None
) -> Any:
    """Log ``checkpoint`` as a pyfunc model in the active run (registered when a name is given).

    Returns MLflow's ``ModelInfo`` (``registered_model_version`` set when registered).
    """
    from sagepred import __version__

    return mlflow.pyfunc.log_model(
        name=name,
        python_model=str(Path(__file__).with_name("mlflow_pyfunc_entry.py")),
        artifacts={CHECKPOINT_ARTIFACT: str(checkpoint)},
        signature=model_signature(),
        input_example=input_example(),
        pip_requirements=[f"sagepred=={__version__}"],
        registered_model_name=registered_model_name,
    )
