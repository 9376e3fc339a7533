"""Training under ``accelerate launch``: one ``Accelerator`` when several processes were started.

``accelerate launch --multi_gpu --num_processes 2 -m sagepred train --model M --lora`` (or ``torchrun
--nproc_per_node 2 -m sagepred …``) starts the processes and sets ``WORLD_SIZE``; on a machine without a
GPU the accelerator is asked for the CPU, so the same command runs DDP over gloo. (``accelerate launch
--cpu --num_processes 2`` starts a single process on one machine in accelerate 1.16 unless given an MPI
hostfile.) each one builds the same predictor, the trainer
splits every global batch of LoRA steps over them (DDP: gloo on CPUs, NCCL on GPUs), and the main
process alone calibrates, evaluates, logs to MLflow and writes the checkpoint.
"""

from __future__ import annotations

import os
from typing import Any

from sagepred.errors import InputError


def launched_processes(environ: dict[str, str] | None = None) -> int:
    """How many processes the launcher started (``WORLD_SIZE``; 1 outside a launcher)."""
    value = (os.environ if environ is None else environ).get("WORLD_SIZE", "1").strip() or "1"
    if not value.isdigit() or int(value) < 1:
        raise InputError(f"expected a positive integer, got {value!r}", field="WORLD_SIZE")
    return int(value)


def make_accelerator() -> Any | None:
    """An ``accelerate.Accelerator`` when more than one process runs, else ``None`` (plain training)."""
    if launched_processes() <= 1:
        return None
    try:
        from accelerate import Accelerator
    except ImportError:
        raise InputError(
            "training under a multi-process launch needs 'accelerate' (pip install 'sagepred[scale]')"
        ) from None
    import torch

    # without a GPU, ask for the CPU: accelerate then runs DDP over gloo (MULTI_CPU)
    return Accelerator(cpu=not torch.cuda.is_available())


def describe(accelerator: Any | None) -> dict[str, Any]:
    """Processes, backend and device of a run, for the summary and the model card."""
    if accelerator is None:
        return {"processes": 1, "backend": None}
    import torch.distributed as dist

    backend = dist.get_backend() if dist.is_available() and dist.is_initialized() else None
    return {
        "processes": int(accelerator.num_processes),
        "backend": backend,
        "device": str(accelerator.device),
    }
