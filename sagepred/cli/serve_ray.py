"""``sagepred serve --replicas N``: N vLLM replicas with the plug-in on Ray Serve, behind a request router."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from sagepred.argtypes import non_negative_int, positive_float, positive_int
from sagepred.errors import InputError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The Ray Serve options of ``sagepred serve``."""
    group = parser.add_argument_group("replicas on Ray Serve (--replicas)")
    group.add_argument(
        "--replicas",
        type=non_negative_int,
        default=None,
        metavar="N",
        help="run N engine replicas on Ray Serve behind --router (without it: one vLLM server, as before)",
    )
    group.add_argument(
        "--router",
        default="predicted-cost",
        metavar="NAME",
        help="predicted-cost (sagepred: the replica where the request's predicted work costs least, "
        "see --route-score) or pow2 (Ray's default)",
    )
    group.add_argument(
        "--route-score",
        choices=("overlap", "cost"),
        default="overlap",
        help="predicted-cost router: overlap (expected decode steps the request would share with each "
        "replica's requests; default) or cost (least predicted outstanding cost)",
    )
    group.add_argument(
        "--address",
        default=None,
        help="an existing Ray cluster (ray.init address); default: start a local one",
    )
    group.add_argument(
        "--ray-cpus", type=positive_int, default=None, help="local cluster: CPUs (default replicas + 1)"
    )
    group.add_argument(
        "--ray-object-store-mb",
        type=positive_int,
        default=512,
        help="local cluster: object store size in MiB",
    )
    group.add_argument(
        "--stats-period-s",
        type=positive_float,
        default=0.25,
        help="seconds between routing-stats reports per replica",
    )


def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def engine_kwargs(vllm_args: list[str]) -> dict[str, Any]:
    """vLLM engine arguments after ``--`` as ``vllm.LLM`` keywords: ``--max-model-len 512`` → ``max_model_len=512``,
    a flag alone → ``True``."""
    args = vllm_args[1:] if vllm_args[:1] == ["--"] else list(vllm_args)
    out: dict[str, Any] = {}
    i = 0
    while i < len(args):
        token = args[i]
        if not token.startswith("--") or len(token) < 3:
            raise InputError(
                f"expected a vLLM engine argument (--name [value]), got {token!r}", field="vLLM args"
            )
        name, _, inline = token[2:].partition("=")
        key = name.replace("-", "_")
        if inline:
            out[key], i = _value(inline), i + 1
        elif i + 1 < len(args) and not args[i + 1].startswith("--"):
            out[key], i = _value(args[i + 1]), i + 2
        else:
            out[key], i = True, i + 1
    return out


def plan(args: argparse.Namespace) -> tuple[Any, Any]:
    """The engine settings and Ray Serve config of ``args`` (validated; Ray not imported)."""
    from sagepred.cli.serve import _profile_arg
    from sagepred.scheduler.engine_loop import EngineSettings
    from sagepred.scheduler.ray_config import RayServeConfig
    from sagepred.scheduler.serving import PluginConfig

    if args.mode != "plugin":
        raise InputError(
            "--replicas runs the plug-in in every replica; priority mode is one server", field="--mode"
        )
    config = RayServeConfig(
        replicas=args.replicas,
        router=args.router,
        route_score=args.route_score,
        stats_period_s=args.stats_period_s,
    )
    plugin = PluginConfig(
        policy=args.policy,
        bucket_tokens=args.bucket_tokens,
        profile=_profile_arg(args.profile),
        max_wait_s=args.max_wait_s,
        predictor=args.predictor,
        online_learning=not args.no_online_learning,
    )
    settings = EngineSettings(
        model=args.served_model, plugin=plugin.to_dict(), llm_kwargs=engine_kwargs(args.vllm_args or [])
    )
    return settings, config


def run(args: argparse.Namespace) -> int:
    """Validate, start (or join) a Ray cluster, run the application, serve until interrupted."""
    from sagepred.scheduler.ray_config import check_ray

    settings, config = plan(args)
    if args.dry_run:
        where = args.address or f"a local Ray cluster ({args.ray_cpus or config.replicas + 1} CPUs)"
        print(
            f"# sagepred on Ray Serve: {config.replicas} replicas of {settings.model} on {where}, router "
            f"{config.router}, http://{args.host}:{args.port}/v1/completions\n"
            f"# engine: vllm.LLM({json.dumps(settings.llm_kwargs)}), plug-in {json.dumps(settings.plugin)}"
        )
        return 0
    check_ray()
    from sagepred.scheduler.vllm_plugin import check_vllm_version

    check_vllm_version()
    import ray
    from ray import serve

    from sagepred.scheduler.ray_engine import build_app

    if args.address:
        ray.init(address=args.address)
    else:
        ray.init(
            num_cpus=args.ray_cpus or config.replicas + 1,
            object_store_memory=args.ray_object_store_mb * 2**20,
            include_dashboard=False,
        )
    serve.start(http_options={"host": args.host, "port": args.port})
    serve.run(build_app(settings, config), name=config.name, route_prefix="/")
    print(
        f"sagepred serve: {config.replicas} replicas, router {config.router}, on "
        f"http://{args.host}:{args.port}/v1/completions (router decisions: /sagepred/router)",
        file=sys.stderr,
    )
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        return 0
    finally:
        serve.shutdown()
        ray.shutdown()
