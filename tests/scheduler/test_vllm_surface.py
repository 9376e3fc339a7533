"""The vLLM surface the plug-in overrides or calls, per supported minor version: fails loudly on drift.

The plug-in subclasses vLLM's scheduler and replaces its waiting queues (vLLM has no public policy or
queue hook in 0.32 or 0.33: ``create_request_queue`` takes only the built-in policy enum), so every
method below is pinned. The 0.33 expectations were read from the 0.33.0 wheel's
``vllm/v1/core/sched/*.py``; they equal 0.32's for every method used here.
"""

from __future__ import annotations

import inspect

import pytest

vllm = pytest.importorskip("vllm")

_SURFACE = {
    "Scheduler.__init__": (
        "self",
        "vllm_config",
        "kv_cache_config",
        "structured_output_manager",
        "block_size",
        "hash_block_size",
        "mm_registry",
        "include_finished_set",
        "log_stats",
    ),
    "Scheduler.schedule": ("self", "throttle_prefills"),
    "Scheduler.add_request": ("self", "request"),
    "Scheduler._free_request": ("self", "request", "delay_free_blocks"),
    "Scheduler._preempt_request": ("self", "request", "timestamp", "drop_stale_output"),
    "Scheduler.update_from_output": ("self", "scheduler_output", "model_runner_output"),
    "Scheduler.finish_requests": ("self", "request_ids", "finished_status"),
    "RequestQueue.add_request": ("self", "request"),
    "RequestQueue.pop_request": ("self",),
    "RequestQueue.peek_request": ("self",),
    "RequestQueue.prepend_request": ("self", "request"),
    "RequestQueue.prepend_requests": ("self", "requests"),
    "RequestQueue.remove_request": ("self", "request"),
    "RequestQueue.remove_requests": ("self", "requests"),
    "RequestQueue.__bool__": ("self",),
    "RequestQueue.__len__": ("self",),
    "RequestQueue.__iter__": ("self",),
}
EXPECTED = {"0.32": _SURFACE, "0.33": _SURFACE}
"""Parameter names per supported minor version (``SUPPORTED_VLLM``)."""

ATTRIBUTES = (
    "waiting",
    "kv_holding_waiting",
    "running",
    "requests",
    "current_step",
    "max_num_running_reqs",
    "block_size",
    "kv_cache_manager",
    "vllm_config",
)
"""Scheduler attributes the plug-in reads or replaces (set in ``Scheduler.__init__``)."""


def _minor() -> str:
    return ".".join(str(vllm.__version__).split(".")[:2])


def test_every_supported_minor_version_has_recorded_expectations():
    from sagepred.scheduler.vllm_plugin import SUPPORTED_VLLM

    assert {v.rstrip(".") for v in SUPPORTED_VLLM} == set(EXPECTED)


def test_installed_vllm_matches_the_recorded_surface():
    from vllm.v1.core.sched.request_queue import RequestQueue
    from vllm.v1.core.sched.scheduler import Scheduler

    minor = _minor()
    assert minor in EXPECTED, f"vLLM {vllm.__version__} is not a supported version; record its surface first"
    classes = {"Scheduler": Scheduler, "RequestQueue": RequestQueue}
    drift = []
    for name, params in EXPECTED[minor].items():
        cls_name, method = name.split(".")
        fn = getattr(classes[cls_name], method, None)
        got = tuple(inspect.signature(fn).parameters) if fn is not None else None
        if got != params:
            drift.append(f"{name}: expected {params}, vLLM {vllm.__version__} has {got}")
    assert not drift, "vLLM scheduler surface drifted:\n" + "\n".join(drift)
    source = inspect.getsource(Scheduler.__init__)
    missing = [a for a in ATTRIBUTES if f"self.{a} =" not in source and f"self.{a}:" not in source]
    assert not missing, f"Scheduler.__init__ no longer sets {missing}"


def test_the_plugin_overrides_only_recorded_methods():
    from vllm.v1.core.sched.scheduler import Scheduler

    from sagepred.scheduler.vllm_plugin import KeyedRequestQueue, _SagepredMixin

    overridden = {
        f"Scheduler.{n}" for n in vars(_SagepredMixin) if hasattr(Scheduler, n) and not n.startswith("__")
    }
    queue_methods = {k.split(".")[1] for k in _SURFACE if k.startswith("RequestQueue.")}
    overridden |= {f"RequestQueue.{n}" for n in vars(KeyedRequestQueue) if n in queue_methods}
    assert overridden <= set(_SURFACE), sorted(overridden - set(_SURFACE))
