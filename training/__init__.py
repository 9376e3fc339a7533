"""Training: trainer, losses, recipes, MLflow tracking."""
