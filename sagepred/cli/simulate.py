"""``sagepred simulate``: replay a trace through a simulated vLLM engine under several policies."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING

from sagepred.cli.base import (
    Subcommand,
    above_minus_one,
    non_negative_float,
    non_negative_int,
    output_file,
    positive_float,
    positive_float_list,
    positive_int,
    probability,
    seed_int,
)

if TYPE_CHECKING:
    from sagepred.loading import PredictorSpec
    from sagepred.scheduler.policies import SlackConfig

ALL_POLICIES = "fcfs,sjf,ltr,trail,tie,gittins,oracle"


def _model_predictor(spec: PredictorSpec) -> Callable | None:
    """For a checkpoint, zoo name or Hub id: a predict function using the embedding cache with a
    progress bar (simulating with a real predictor is mostly embedding prompts); else ``None``."""
    from sagepred.encoders import use_embedding_cache
    from sagepred.loading import MODEL_KINDS, load_predictor

    if spec.kind not in MODEL_KINDS:
        return None
    model = load_predictor(spec)
    use_embedding_cache(model, progress=True)
    return lambda records, truth: model.predict([r.prompt_text for r in records])


def _slack_config(epsilon: float | None, target: float | None) -> SlackConfig | None:
    """``--slack`` / ``--slack-target`` as the simulator's slack guard settings (``None``: off)."""
    from sagepred.errors import InputError
    from sagepred.scheduler.policies import SlackConfig

    if epsilon is None:
        if target is not None:
            raise InputError(
                "--slack-target needs --slack EPSILON (0: the quantile itself)", field="slack-target"
            )
        return None
    return SlackConfig(epsilon=epsilon, target_quantile=target)


class Command(Subcommand):
    name = "simulate"
    help = "simulate continuous batching on a real trace and compare scheduling policies"
    description = (
        "Replay arrivals (an Azure CSV or Mooncake JSONL trace scaled to --rate, or Poisson) with prompts "
        "and true lengths from records, predictions from a predictor, through a simulated vLLM v1 engine "
        "(profile), once per policy; print a table and optionally write JSON and a load-sweep plot."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--trace",
            required=True,
            metavar="TRACE",
            help="arrivals: an Azure CSV, a Mooncake JSONL, or 'poisson'",
        )
        parser.add_argument(
            "--records", required=True, metavar="DATA", help="records source (JSONL, CASTILLO, …)"
        )
        parser.add_argument(
            "--model",
            default=None,
            metavar="TARGET",
            help="target model whose records to use (recipe name, alias, or the name in the records)",
        )
        parser.add_argument("--split", default=None, help="only records of this split")
        parser.add_argument(
            "--policies", default=ALL_POLICIES, help=f"comma-separated (default {ALL_POLICIES})"
        )
        parser.add_argument(
            "--rate",
            type=positive_float,
            default=None,
            help="arrival rate, requests per second (required unless --sweep-rates)",
        )
        parser.add_argument(
            "--num-requests", type=positive_int, default=2000, help="requests to simulate (default 2000)"
        )
        parser.add_argument(
            "--predictor",
            default="samples",
            help="samples (the record's other samples, default), exact (each request's own length: the "
            "perfect-information bound), baseline:NAME, a checkpoint folder, a zoo "
            "name, a Hub id, a predictions JSONL from `sagepred predict` (matched by record id), or none",
        )
        parser.add_argument(
            "--profile", default=None, help="engine profile YAML or built-in name (default llama-3.1-8b-h100)"
        )
        parser.add_argument(
            "--cost",
            default="calibrated",
            choices=["calibrated", "paper"],
            help="cost model: calibrated from the profile, or the paper's O²/2 + I·O",
        )
        parser.add_argument(
            "--bucket-tokens", type=positive_int, default=200, help="Gittins refresh interval (tokens)"
        )
        parser.add_argument(
            "--aging",
            type=non_negative_float,
            default=0.0,
            help="tail guard: a waiting request's key falls by this many seconds of expected work per second "
            "waited (0: off; larger: closer to FCFS, shorter p99)",
        )
        parser.add_argument(
            "--slack",
            type=above_minus_one,
            default=None,
            metavar="EPSILON",
            help="slack guard (every policy but FCFS): a request whose slack to arrival + max((1 + EPSILON) x "
            "its virtual FCFS latency, the 0.95 quantile of recent ones) runs out goes first, earliest "
            "deadline first (off by default; 0.1 held p99 within 1.05x FCFS on Mooncake, docs/scheduler.md); "
            "non-negative unless --slack-target",
        )
        parser.add_argument(
            "--slack-target",
            type=probability,
            default=None,
            metavar="QUANTILE",
            help="with --slack: the tail target instead of per-request deadlines: every deadline is arrival + "
            "(1 + EPSILON) x this quantile of FCFS latency, estimated online; a request expected to miss it "
            "anyway gets twice its FCFS latency (docs/scheduler.md, 'Tail target')",
        )
        parser.add_argument(
            "--preempt-margin",
            type=non_negative_float,
            default=1.0,
            help="recompute costs a preemption's gain must exceed (default 1)",
        )
        parser.add_argument(
            "--max-preemptions-per-step", type=non_negative_int, default=1, help="policy preemptions per step"
        )
        parser.add_argument(
            "--naive-preemption",
            action="store_true",
            help="preempt whenever a waiting request outranks a running one (for comparison)",
        )
        parser.add_argument(
            "--seed", type=seed_int, default=0, help="seed for record choice and Poisson arrivals"
        )
        parser.add_argument(
            "--json", dest="json_out", type=output_file, metavar="OUT", help="write results as JSON"
        )
        parser.add_argument(
            "--sweep-rates",
            type=positive_float_list,
            default=None,
            metavar="R1,R2,…",
            help="simulate at each rate and plot mean TTLT against load (needs --plot)",
        )
        parser.add_argument(
            "--plot", default=None, type=output_file, metavar="PNG", help="where the sweep plot goes"
        )
        parser.add_argument(
            "--replicas",
            type=positive_int,
            default=1,
            help="engines behind a router (default 1: one engine, no router); --rate is then the cluster's",
        )
        parser.add_argument(
            "--router",
            default=None,
            metavar="NAME[,NAME…]",
            help="routers to compare with --replicas > 1: round-robin, least-requests, p2c (Ray Serve's "
            "default), least-kv, least-cost, p2c-cost, least-overlap (default p2c; only with --replicas > 1)",
        )
        parser.add_argument(
            "--refresh-ms",
            type=positive_float,
            default=100.0,
            help="how often the router refreshes replica stats, ms (between refreshes it counts what it sent)",
        )

    def run(self, args: argparse.Namespace) -> int:
        from sagepred.errors import InputError
        from sagepred.loading import parse_spec
        from sagepred.records import split_records
        from sagepred.scheduler.cost import cost_model
        from sagepred.scheduler.experiment import (
            arrivals_for,
            check_policies,
            load_records,
            run_policies,
            trace_or_poisson,
        )
        from sagepred.scheduler.policies import PreemptionRule, parse_policies
        from sagepred.scheduler.profile import load_profile
        from sagepred.scheduler.report import oracle_gain_share, plot_sweep, print_table, write_json
        from sagepred.scheduler.simulator import SimConfig
        from sagepred.scheduler.workload import build_workload, resolve_predictor

        rates = args.sweep_rates
        if rates is None and args.rate is None:
            raise InputError("give --rate or --sweep-rates", field="rate")
        if rates is not None and not args.plot:
            raise InputError("--sweep-rates needs --plot PNG", field="plot")
        if args.plot and rates is None:
            raise InputError("--plot draws the --sweep-rates curve: add --sweep-rates R1,R2,…", field="plot")
        if args.router is not None and args.replicas == 1:
            raise InputError("--router picks among replicas: add --replicas N (N > 1)", field="router")
        from sagepred.scheduler.cluster import ClusterConfig, run_cluster_policies
        from sagepred.scheduler.routers import router_class

        cluster = ClusterConfig(replicas=args.replicas, refresh_s=args.refresh_ms / 1000.0, seed=args.seed)
        routers = [router_class(name).name for name in (args.router or "p2c").split(",") if name.strip()]
        if not routers:
            raise InputError("give at least one router", field="router")
        profile = load_profile(args.profile)
        cost = cost_model(args.cost, profile)
        policies = parse_policies(args.policies, cost, bucket_tokens=args.bucket_tokens, aging=args.aging)
        trace = trace_or_poisson(args.trace)
        from sagepred.targets import data_model_name

        records = load_records(args.records, model=data_model_name(args.model), split=args.split)
        spec = parse_spec(args.predictor)
        pool, fit = records, []
        if spec.kind == "baseline":
            pool, fit = split_records(records, 0.5, args.seed)
        predictor = _model_predictor(spec) or resolve_predictor(spec, fit, pool)
        config = SimConfig(
            preemption=PreemptionRule(
                margin=args.preempt_margin,
                max_per_step=args.max_preemptions_per_step,
                naive=args.naive_preemption,
            ),
            slack=_slack_config(args.slack, args.slack_target),
        )
        settings = {
            "trace": args.trace,
            "records": args.records,
            "model": args.model,
            "predictor": args.predictor,
            "profile": profile.name,
            "cost": cost.name,
            "num_requests": args.num_requests,
            "seed": args.seed,
            "bucket_tokens": args.bucket_tokens,
            "aging": args.aging,
            "slack": args.slack,
            "slack_target": args.slack_target,
            "preempt_margin": args.preempt_margin,
            "naive_preemption": args.naive_preemption,
        }
        if cluster.replicas > 1:
            settings.update(replicas=cluster.replicas, routers=routers, refresh_ms=args.refresh_ms)

        def one(rate: float) -> dict:
            arrivals = arrivals_for(trace, args.num_requests, rate, args.seed)
            workload = build_workload(arrivals, pool, predictor, seed=args.seed)
            check_policies(policies, workload)
            if cluster.replicas == 1:
                results = run_policies(workload, policies, profile, config)
            else:
                results = run_cluster_policies(workload, policies, routers, profile, cluster, config)
            title = (
                f"{profile.name} · {args.trace if trace is None else trace.name} · {rate:g} req/s · "
                f"{args.num_requests} requests · predictor {args.predictor}"
                + (f" · {cluster.replicas} replicas" if cluster.replicas > 1 else "")
            )
            print_table(results, title)
            return results

        if rates is None:
            results = one(args.rate)
            payload = {
                "policies": results,
                "gittins_share_of_oracle_gain": oracle_gain_share(results),
                "settings": {**settings, "rate": args.rate},
            }
        else:
            sweep = {rate: one(rate) for rate in rates}
            plot_sweep(sweep, args.plot, f"{profile.name}: mean TTLT against load")
            print(f"wrote {args.plot}")
            payload = {
                "sweep": [
                    {
                        "rate": r,
                        "policies": sweep[r],
                        "gittins_share_of_oracle_gain": oracle_gain_share(sweep[r]),
                    }
                    for r in rates
                ],
                "settings": settings,
            }
            if args.rate is not None:
                payload["policies"] = sweep.get(args.rate) or one(args.rate)
        if args.json_out:
            write_json(args.json_out, payload)
            print(f"wrote {args.json_out}")
        return 0
