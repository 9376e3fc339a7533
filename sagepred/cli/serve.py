"""``sagepred serve``: vLLM's OpenAI server with sagepred's scheduler plug-in (or priority mode) wired in."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

from sagepred.cli import serve_ray
from sagepred.cli.base import (
    Subcommand,
    add_served_model_argument,
    port_number,
    positive_float,
    positive_int,
    served_model,
)

SCHEDULER_CLASSES = {
    False: "sagepred.scheduler.vllm_plugin.SagepredScheduler",
    True: "sagepred.scheduler.vllm_plugin.SagepredAsyncScheduler",
}
"""``--scheduler-cls`` without / with async scheduling (named here so --dry-run never imports vLLM)."""


def _vllm_installed() -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec("vllm") is not None
    except (ImportError, ValueError):
        return False


def _async_platform() -> bool:
    """Whether vLLM runs async scheduling here (GPUs; the CPU platform does not)."""
    try:
        from vllm.platforms import current_platform
    except ImportError:
        return False
    return not current_platform.is_cpu()


def _profile_arg(profile: str | None) -> str | None:
    """A profile YAML path made absolute (vLLM may run elsewhere); shipped names as they are."""
    return os.path.abspath(profile) if profile and os.path.exists(profile) else profile


def _predictor_arg(spec: str | None) -> str | None:
    """The predictor's checkpoint folder, absolute (vLLM may run elsewhere): a folder, a zoo name (pulled
    here) or a Hub id (downloaded here); anything else is an :class:`InputError`."""
    if not spec:
        return None
    from sagepred.loading import MODEL_KINDS, checkpoint_folder, forms, parse_spec

    parsed = parse_spec(spec)
    if parsed.kind not in MODEL_KINDS:
        from sagepred.errors import InputError

        raise InputError(
            f"{spec!r} cannot predict new requests; expected {forms(MODEL_KINDS)}", field="predictor"
        )
    folder = os.path.abspath(checkpoint_folder(parsed))
    return f"{folder}@{parsed.target}" if parsed.target else folder


def vllm_command(args: argparse.Namespace, port: int) -> list[str]:
    """The ``python -m vllm.entrypoints.openai.api_server`` command line for ``args``."""
    from sagepred.scheduler.serving import PluginConfig

    extra = list(args.vllm_args or [])
    if extra[:1] == ["--"]:
        extra = extra[1:]
    cmd = [
        sys.executable,
        "-m",
        "vllm.entrypoints.openai.api_server",
        "--model",
        args.served_model,
        "--host",
        args.host,
        "--port",
        str(port),
    ]
    if args.mode == "priority":
        return [*cmd, "--scheduling-policy", "priority", *extra]
    config = PluginConfig(
        policy=args.policy,
        bucket_tokens=args.bucket_tokens,
        profile=_profile_arg(args.profile),
        max_wait_s=args.max_wait_s,
        predictor=_predictor_arg(args.predictor),
        online_learning=not args.no_online_learning,
    )
    async_sched = _async_platform() if args.async_scheduler is None else args.async_scheduler
    return [
        *cmd,
        "--scheduler-cls",
        SCHEDULER_CLASSES[bool(async_sched)],
        "--additional-config",
        json.dumps({"sagepred": config.to_dict()}),
        *extra,
    ]


def _hint_forms(text: str) -> tuple[str, ...]:
    """argparse type for ``--hints``: an unknown form is a one-line usage error."""
    from sagepred.scheduler.router_hints import parse_forms

    try:
        return parse_forms(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _osl_statistic(text: str) -> str:
    """argparse type for ``--osl-statistic``: ``mean`` or ``qL``."""
    from sagepred.scheduler.router_hints import statistic_value

    try:
        statistic_value(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    return text


class Command(Subcommand):
    name = "serve"
    help = "start vLLM's OpenAI server scheduled by sagepred (plug-in or priority mode)"
    description = (
        "Start `python -m vllm.entrypoints.openai.api_server` with sagepred's scheduler plug-in "
        "(--scheduler-cls, --additional-config; requests carry predictions in vllm_xargs or the plug-in "
        "predicts them with --predictor), or in priority mode vLLM's priority policy behind sagepred's proxy, "
        "which adds a priority to every request. Arguments after `--` go to vLLM unchanged."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        add_served_model_argument(parser, "model to serve: vLLM's --model (a folder or Hub id)")
        parser.add_argument(
            "--predictor",
            default=None,
            metavar="SPEC",
            help="predictor: checkpoint folder, zoo name or Hub id (plug-in: predicts requests without "
            "vllm_xargs; priority mode: the proxy's predictor, required)",
        )
        parser.add_argument(
            "--mode",
            default="plugin",
            choices=["plugin", "priority"],
            help="plugin: sagepred's scheduler class; priority: vLLM priority policy + proxy",
        )
        parser.add_argument("--policy", default="gittins", help="scheduler-core policy (default gittins)")
        parser.add_argument(
            "--hints",
            type=_hint_forms,
            default=("vllm",),
            help="priority mode: hint forms the proxy adds, comma-separated from vllm (priority + "
            "vllm_xargs), dynamo (nvext.agent_hints.osl/priority), llm-d (x-sagepred-output-length "
            "header); default vllm",
        )
        parser.add_argument(
            "--osl-statistic",
            type=_osl_statistic,
            default="mean",
            help="priority mode, dynamo hints: the statistic sent as nvext.agent_hints.osl, 'mean' or a "
            "quantile 'qL' such as q0.9 (default mean)",
        )
        parser.add_argument(
            "--predict-timeout-s",
            type=positive_float,
            default=5.0,
            help="priority mode: a request whose prediction takes longer is forwarded without one (default 5)",
        )
        parser.add_argument(
            "--bucket-tokens", type=positive_int, default=200, help="key refresh interval in tokens"
        )
        parser.add_argument(
            "--max-wait-s", type=positive_float, default=60.0, help="starvation bound in seconds"
        )
        parser.add_argument(
            "--profile",
            default=None,
            metavar="NAME|YAML",
            help="engine profile pricing costs and preemption (`sagepred profile` measures one; "
            "default llama-3.1-8b-h100)",
        )
        parser.add_argument(
            "--no-online-learning",
            action="store_true",
            help="do not feed finished requests to the predictor's semantic history",
        )
        parser.add_argument(
            "--async-scheduler",
            default=None,
            action=argparse.BooleanOptionalAction,
            help="subclass vLLM's AsyncScheduler (default: on GPUs, off on CPU)",
        )
        parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
        parser.add_argument("--port", type=port_number, default=8000, help="port clients use")
        parser.add_argument(
            "--vllm-port",
            type=port_number,
            default=None,
            help="priority mode: vLLM's own port behind the proxy (default port + 1)",
        )
        parser.add_argument("--dry-run", action="store_true", help="print the vLLM command and exit")
        serve_ray.add_arguments(parser)
        parser.add_argument("vllm_args", nargs=argparse.REMAINDER, help="-- then arguments for vLLM")

    def run(self, args: argparse.Namespace) -> int:
        from sagepred.errors import InputError
        from sagepred.scheduler.serving import PluginConfig

        served_model(args, self.name)
        if args.predictor:
            args.predictor = _predictor_arg(args.predictor)
        if args.replicas is not None:
            return serve_ray.run(args)
        if args.mode == "priority" and not args.predictor:
            raise InputError(
                "priority mode needs --predictor (the proxy predicts each request)", field="predictor"
            )
        PluginConfig(
            policy=args.policy, bucket_tokens=args.bucket_tokens, profile=_profile_arg(args.profile)
        ).make_policy()
        if args.mode == "plugin" and args.vllm_port is not None:
            raise InputError("only priority mode runs vLLM behind a proxy; use --port", field="--vllm-port")
        vllm_port = args.port if args.mode == "plugin" else (args.vllm_port or args.port + 1)
        if vllm_port == args.port and args.mode == "priority":
            raise InputError("vLLM's port must differ from the proxy's --port", field="--vllm-port")
        if args.dry_run:
            if not _vllm_installed():
                print(
                    "sagepred serve: note: vLLM is not installed here; the command needs it", file=sys.stderr
                )
            if args.mode == "priority":
                print(
                    f"# sagepred priority proxy (runs in `sagepred serve`): http://{args.host}:{args.port} -> "
                    f"vLLM http://127.0.0.1:{vllm_port}, policy {args.policy}, predictor {args.predictor}, "
                    f"hints {','.join(args.hints)}"
                )
            print(" ".join(vllm_command(args, vllm_port)))
            return 0
        if args.mode == "plugin":
            from sagepred.scheduler.vllm_plugin import check_vllm_version

            check_vllm_version()
        cmd = vllm_command(args, vllm_port)
        proxy = None
        if args.mode == "priority":
            from sagepred.scheduler.priority import PriorityConfig, RequestAnnotator
            from sagepred.scheduler.proxy import PriorityProxy
            from sagepred.scheduler.router_hints import HintConfig
            from sagepred.scheduler.serving import load_predictor

            annotator = RequestAnnotator(
                load_predictor(args.predictor, online_learning=False),
                PriorityConfig(
                    policy=args.policy, hints=HintConfig(forms=args.hints, osl_statistic=args.osl_statistic)
                ),
            )
            proxy = PriorityProxy(
                f"http://127.0.0.1:{vllm_port}",
                annotator,
                args.host,
                args.port,
                predict_timeout_s=args.predict_timeout_s,
            ).start()
            print(
                f"sagepred serve: priority proxy on {proxy.url} -> vLLM on port {vllm_port}", file=sys.stderr
            )
        process = subprocess.Popen(cmd)
        try:
            return process.wait()
        except KeyboardInterrupt:
            process.terminate()
            return process.wait()
        finally:
            if proxy is not None:
                proxy.close()
