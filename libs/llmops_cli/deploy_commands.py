"""``llmops plan`` and ``llmops deploy plan|render|launch``: LLMs on Triton + TensorRT-LLM.

``plan`` sizes a model on a GPU type (weights and KV cache per GPU for every TP/PP split);
``deploy`` validates a deployment plan (a YAML plan file and/or flags), writes its model
repository and scripts, and launches it with one MPI rank per GPU.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from llmops_cli._output import Output
from llmops_core.errors import InvalidArgumentError
from llmops_deploy import (
    GPUS,
    Deployment,
    DeploymentPlan,
    PlanFile,
    Precision,
    ServingOptions,
    execute,
    launch_argv,
    load_model_spec,
    load_plan_file,
    lookup_gpu,
    plan_report,
    preflight,
    prepare,
    render,
)


def add_commands(commands, common: argparse.ArgumentParser) -> None:
    """Add ``plan`` and the ``deploy`` group to the top-level subparsers."""
    planner = commands.add_parser(
        "plan",
        parents=[common],
        help="capacity planner: memory per GPU for every TP/PP split, the smallest TP that fits",
    )
    planner.set_defaults(handler=_plan)
    planner.add_argument(
        "--model", required=True, help="known model (llama-3-70b...), HF id, config.json or folder"
    )
    planner.add_argument("--gpu", default="H100-80GB", help="GPU type (default: H100-80GB)")
    planner.add_argument("--gpus", type=int, default=8, help="GPUs available (default: 8)")
    planner.add_argument("--tp", type=int, default=0, help="show the arithmetic for this TP")
    planner.add_argument("--pp", type=int, default=0, help="... and this PP")
    _shape_flags(planner, defaults=True)

    deploy = commands.add_parser(
        "deploy", parents=[common], help="TensorRT-LLM on Triton: plan, render, launch"
    )
    steps = deploy.add_subparsers(dest="deploy_command", required=True)
    check = steps.add_parser(
        "plan", parents=[common], help="validate a deployment plan and show its capacity"
    )
    check.set_defaults(handler=_deploy_plan)
    write = steps.add_parser(
        "render", parents=[common], help="write the model repository, scripts and compose file"
    )
    write.set_defaults(handler=_deploy_render)
    write.add_argument("--out", required=True, help="output folder")
    write.add_argument("--force", action="store_true", help="replace an earlier render there")
    launch = steps.add_parser(
        "launch", parents=[common], help="print the mpirun command; --execute runs it"
    )
    launch.set_defaults(handler=_deploy_launch)
    launch.add_argument("--deploy-dir", help="the folder `deploy render` wrote (for --execute)")
    launch.add_argument("--instance", type=int, default=None, help="one instance (default: all)")
    launch.add_argument(
        "--execute", action="store_true", help="check this machine, then run the launch script"
    )
    for parser in (check, write, launch):
        parser.add_argument("plan_file", nargs="?", help="YAML plan file (flags override it)")
        parser.add_argument("--model", help="model name, HF id, config.json or model folder")
        parser.add_argument("--gpu", help="GPU type, e.g. H100-80GB")
        parser.add_argument("--gpus", type=int, help="GPUs on the node (gpu_count)")
        parser.add_argument("--gpu-ids", help="GPUs to use, e.g. 4,5,6,7")
        parser.add_argument("--tp", type=int, help="tensor_parallel")
        parser.add_argument("--pp", type=int, help="pipeline_parallel")
        parser.add_argument("--instances", type=int, help="replicas (each tp x pp GPUs)")
        parser.add_argument("--flavour", choices=["ensemble", "llmapi"], help="Triton repository")
        _shape_flags(parser, defaults=False)


def _shape_flags(parser: argparse.ArgumentParser, *, defaults: bool) -> None:
    def default(value):
        return value if defaults else None

    parser.add_argument("--dtype", default=default("fp16"), help="weights: fp16 bf16 fp8 int8 int4")
    parser.add_argument(
        "--kv-dtype", default=None, help="KV cache: fp16 bf16 fp8 int8 (default: as weights)"
    )
    parser.add_argument("--max-batch", type=int, default=default(64), help="max_batch_size")
    parser.add_argument("--max-input-len", type=int, default=None, help="max_input_len")
    parser.add_argument("--max-seq-len", type=int, default=default(4096), help="max_seq_len")
    parser.add_argument(
        "--max-num-tokens",
        type=int,
        default=default(8192),
        help="tokens per engine step (TensorRT-LLM's default 8192)",
    )
    parser.add_argument(
        "--kv-fraction", type=float, default=None, help="kv_cache_free_gpu_mem_fraction"
    )
    parser.add_argument(
        "--gpu-memory-gib", type=float, default=None, help="GiB per GPU (unknown types)"
    )


def _precision(value: str | None, flag: str) -> Precision:
    if value is None:
        return Precision.UNSPECIFIED
    try:
        return Precision.parse(value)
    except ValueError as exc:
        raise InvalidArgumentError(f"{flag}: {exc}") from None


async def _plan(args, settings, out: Output) -> int:
    spec = load_model_spec(args.model)
    plan = DeploymentPlan(
        model=spec.name,
        gpu_type=args.gpu,
        gpu_count=args.gpus,
        tensor_parallel=args.tp,
        pipeline_parallel=args.pp,
        dtype=_precision(args.dtype, "--dtype"),
        kv_cache_dtype=_precision(args.kv_dtype, "--kv-dtype"),
        max_batch_size=args.max_batch,
        max_input_len=args.max_input_len or 0,
        max_seq_len=args.max_seq_len,
        max_num_tokens=args.max_num_tokens,
        gpu_memory_gib=args.gpu_memory_gib or 0.0,
        kv_cache_free_gpu_mem_fraction=args.kv_fraction or 0.0,
    )
    if not args.gpu_memory_gib and lookup_gpu(args.gpu) is None:
        raise InvalidArgumentError(
            f"unknown GPU type '{args.gpu}'; use one of {', '.join(GPUS)}, or --gpu-memory-gib"
        )
    report = plan_report(plan, spec)
    p = report.plan
    rows = [
        f"{spec.name} ({spec.parameter_count / 1e9:.2f}B parameters) on {args.gpus} x {p.gpu_type} "
        f"({p.gpu_memory_gib:.1f} GiB), {p.dtype.value.lower()} weights, "
        f"{p.kv_cache_dtype.value.lower()} KV cache, {p.max_batch_size} sequences x "
        f"{p.max_seq_len} tokens",
        "",
        f"{'tp':>3} {'pp':>3} {'weights/GPU':>12} {'KV B/token/GPU':>15} {'KV need/GPU':>12} "
        f"{'total/GPU':>10} {'seqs fit':>9}  fits",
    ]
    for option in report.options:
        e = option.estimate
        rows.append(
            f"{option.tensor_parallel:>3} {option.pipeline_parallel:>3} "
            f"{e.weights_gib_per_gpu:>8.2f} GiB {e.kv_cache_bytes_per_token:>15,} "
            f"{e.kv_cache_gib_per_gpu:>8.2f} GiB {e.total_gib_per_gpu:>6.2f} GiB "
            f"{e.max_concurrent_sequences:>9}  {'yes' if e.fits else 'no'}"
        )
    smallest = report.min_tensor_parallel
    rows += [
        "",
        (
            f"smallest tensor_parallel that fits (pp 1): {smallest}"
            if smallest
            else f"no tensor_parallel up to {args.gpus} fits: quantize, shorten max_seq_len, "
            "lower max_batch_size, or add GPUs"
        ),
        "",
        f"arithmetic for tp {p.tensor_parallel}, pp {p.pipeline_parallel}:",
        *[f"  {line}" for line in report.arithmetic],
    ]
    out.result(
        {
            "model": spec.name,
            "architecture": spec.architecture().model_dump(mode="json"),
            "plan": p.model_dump(mode="json"),
            "options": [
                {
                    "tensor_parallel": o.tensor_parallel,
                    "pipeline_parallel": o.pipeline_parallel,
                    "estimate": o.estimate.model_dump(mode="json"),
                }
                for o in report.options
            ],
            "min_tensor_parallel": smallest,
            "arithmetic": report.arithmetic,
        },
        human="\n".join(rows),
    )
    return 0


def _deployment(args, settings) -> Deployment:
    """The plan file (if any) with the flags applied, validated."""
    if args.plan_file:
        plan_file, base = load_plan_file(args.plan_file)
    else:
        if not args.model:
            raise InvalidArgumentError("give a plan file or --model", reason="PLAN_MISSING")
        plan_file, base = PlanFile(plan=DeploymentPlan(model=args.model)), Path.cwd()
    updates = {
        key: value
        for key, value in {
            "gpu_type": args.gpu,
            "gpu_count": args.gpus,
            "tensor_parallel": args.tp,
            "pipeline_parallel": args.pp,
            "instances": args.instances,
            "max_batch_size": args.max_batch,
            "max_input_len": args.max_input_len,
            "max_seq_len": args.max_seq_len,
            "max_num_tokens": args.max_num_tokens,
            "kv_cache_free_gpu_mem_fraction": args.kv_fraction,
            "gpu_memory_gib": args.gpu_memory_gib,
        }.items()
        if value is not None
    }
    if args.dtype:
        updates["dtype"] = _precision(args.dtype, "--dtype")
    if args.kv_dtype:
        updates["kv_cache_dtype"] = _precision(args.kv_dtype, "--kv-dtype")
    if args.gpu_ids:
        try:
            updates["gpu_ids"] = [int(g) for g in args.gpu_ids.split(",") if g.strip()]
        except ValueError:
            raise InvalidArgumentError(
                f"--gpu-ids '{args.gpu_ids}': give ids like 0,1,2,3"
            ) from None
    architecture = plan_file.model_spec(base)
    if args.model and args.plan_file:
        updates["model"] = args.model
    if args.model and (Path(args.model).suffix == ".json" or Path(args.model).is_dir()):
        architecture = load_model_spec(args.model)
        updates["model"] = architecture.name
    plan = plan_file.plan.model_copy(update=updates)
    serving = _serving(plan_file.serving, settings, args.flavour)
    return prepare(DeploymentPlan.model_validate(plan.model_dump()), serving, architecture)


def _serving(serving: ServingOptions, settings, flavour: str | None) -> ServingOptions:
    """Ports the plan file leaves unset come from the llmops config (``triton``)."""
    given = serving.model_fields_set
    updates: dict = {}
    endpoint = settings.triton.endpoints[0]
    if "grpc_port" not in given and endpoint.rsplit(":", 1)[-1].isdigit():
        updates["grpc_port"] = int(endpoint.rsplit(":", 1)[-1])
    if "http_port" not in given:
        updates["http_port"] = settings.triton.local_http_port
    if "metrics_port" not in given:
        updates["metrics_port"] = settings.triton.local_metrics_port
    if flavour:
        updates["flavour"] = flavour
    return serving.model_copy(update=updates)


def _report(deployment: Deployment, settings) -> list[str]:
    plan, e = deployment.plan, deployment.validation.estimate
    lines = [
        f"{plan.model}: tp {plan.tensor_parallel} x pp {plan.pipeline_parallel} = world_size "
        f"{plan.world_size}, {plan.instances} instance(s) on GPUs {plan.gpu_ids} of "
        f"{plan.gpu_count} x {plan.gpu_type or 'GPU'}; {plan.dtype.value.lower()} weights, "
        f"{plan.kv_cache_dtype.value.lower()} KV cache; batch {plan.max_batch_size}, input "
        f"{plan.max_input_len}, sequence {plan.max_seq_len}, {plan.max_num_tokens} tokens/step",
        f"serving: {deployment.serving.flavour} repository, Triton model "
        f"'{deployment.serving.triton_model}', engine {deployment.serving.engine_dir}",
    ]
    if settings.triton.llm_model != deployment.serving.triton_model:
        lines.append(
            f"note: llmops calls the Triton model '{settings.triton.llm_model}' "
            f"(triton.llm_model); set it to '{deployment.serving.triton_model}' for this deployment"
        )
    if e is not None:
        lines += ["", *deployment.arithmetic()]
    lines += ["", *([str(i) for i in deployment.issues] or ["no issues"])]
    lines.append("plan is valid" if deployment.valid else "plan is NOT valid")
    return lines


async def _deploy_plan(args, settings, out: Output) -> int:
    deployment = _deployment(args, settings)
    out.result(
        {**deployment.summary(), "arithmetic": deployment.arithmetic()},
        human="\n".join(_report(deployment, settings)),
    )
    return 0 if deployment.valid else 1


async def _deploy_render(args, settings, out: Output) -> int:
    deployment = _deployment(args, settings)
    if not deployment.valid:
        out.result(deployment.summary(), human="\n".join(_report(deployment, settings)))
        return 1
    written = render(deployment, args.out, force=args.force)
    folder = Path(args.out)
    out.result(
        {"out": str(folder), "files": [str(p.relative_to(folder)) for p in written]},
        human="\n".join(
            [
                *[str(p) for p in written],
                "",
                f"next, on the GPU machine (inside {deployment.serving.image}):",
                *(
                    [f"  {folder}/scripts/build_engine.sh"]
                    if deployment.serving.flavour == "ensemble"
                    else []
                ),
                f"  {folder}/scripts/install_model_code.sh",
                f"  {folder}/scripts/launch-0.sh   (or: llmops deploy launch --deploy-dir {folder} --execute)",
            ]
        ),
    )
    return 0


async def _deploy_launch(args, settings, out: Output) -> int:
    deployment = _deployment(args, settings)
    if not deployment.valid:
        out.result(deployment.summary(), human="\n".join(_report(deployment, settings)))
        return 1
    plan, serving = deployment.plan, deployment.serving
    instances = [args.instance] if args.instance is not None else list(range(plan.instances))
    for instance in instances:
        if not 0 <= instance < plan.instances:
            raise InvalidArgumentError(
                f"--instance {instance}: the plan has instances 0 to {plan.instances - 1}"
            )
    repository = f"{Path(args.deploy_dir).resolve()}/model_repository" if args.deploy_dir else None
    commands = []
    for instance in instances:
        argv = launch_argv(
            plan, serving, instance, **({"repository": repository} if repository else {})
        )
        env = {"CUDA_VISIBLE_DEVICES": ",".join(str(g) for g in plan.instance_gpu_ids(instance))}
        commands.append({"instance": instance, "env": env, "argv": argv})
    if not args.execute:
        out.result(
            {"commands": commands},
            human="\n\n".join(
                " ".join([*(f"{k}={v}" for k, v in c["env"].items()), *c["argv"]]) for c in commands
            ),
        )
        return 0
    if not args.deploy_dir:
        raise InvalidArgumentError(
            "--execute needs --deploy-dir (the folder `deploy render` wrote)"
        )
    instance = instances[0]
    problems = preflight(deployment, Path(args.deploy_dir), instance)
    if problems:
        out.result(
            {"launched": False, "problems": problems},
            human="cannot launch here:\n" + "\n".join(f"  - {p}" for p in problems),
        )
        return 1
    out.line(f"launching instance {instance}: {Path(args.deploy_dir)}/scripts/launch-{instance}.sh")
    return execute(deployment, Path(args.deploy_dir), instance)
