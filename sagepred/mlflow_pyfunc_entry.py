"""The MLflow "model from code" entry of a logged sagepred predictor (copied into the logged model).

MLflow runs this file when loading the model; it names :class:`sagepred.mlflow_model.LengthPredictorModel`,
so nothing is pickled. Do not import it for anything else: it registers the model with MLflow.
"""

from mlflow.models import set_model

from sagepred.mlflow_model import LengthPredictorModel

set_model(LengthPredictorModel())
