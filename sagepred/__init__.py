"""sagepred: output-length distribution predictors for LLM serving and an uncertainty-aware scheduler."""

from sagepred.distribution import LengthDistribution, log_bin_edges
from sagepred.errors import CheckpointError, InputError, SagepredError
from sagepred.records import LengthRecord

__version__ = "0.1.0"

__all__ = [
    "CheckpointError",
    "InputError",
    "LengthDistribution",
    "LengthRecord",
    "SagepredError",
    "__version__",
    "log_bin_edges",
]
