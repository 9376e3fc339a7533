"""Training: trainer, losses, recipes, the pipeline (MLflow tracking is :mod:`sagepred.tracking`)."""
