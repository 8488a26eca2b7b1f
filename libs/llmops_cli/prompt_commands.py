"""``llmops prompt ...``: the prompt registry from the command line, prompts as code.

Reading: list, show, versions, labels, diff, render, history. Changing: create, label,
split, rollback, protect. Prompts as code: push (files -> registry, idempotent) and
export (registry -> files that push reads back into the same versions).
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

from llmops.v1 import prompt_registry_pb2 as pb
from llmops_cli import _as_code, _common, _prompt_sync
from llmops_cli._output import Output
from llmops_cli._prompt_views import (
    diff_text,
    events_table,
    label_target,
    labels_table,
    messages_text,
    prompts_table,
    version_text,
    versions_table,
)
from llmops_cli._views import to_dict
from llmops_core import Settings, templates
from llmops_sdk import PromptRegistryClient, all_pages


def add_commands(commands, common: argparse.ArgumentParser) -> None:
    """Add the ``prompt`` command group to the top-level subparsers."""
    group = commands.add_parser(
        "prompt",
        parents=[common],
        help="versioned prompts and labels, prompts as code",
        description="Versioned prompts and labels in the prompt registry; prompts as code.",
    )
    command = _common.subcommands(group, "prompt_command", common)

    create = command("create", _create, "create a version from the command line")
    create.add_argument("name", help="prompt name, e.g. support/triage")
    create.add_argument("--template", help="template of a text prompt, with {{variables}}")
    create.add_argument("--system", help="system message of a chat prompt")
    create.add_argument("--user", help="user message of a chat prompt")
    create.add_argument(
        "--variables",
        type=_names,
        help="declared variables, comma-separated (default: the placeholders, in order)",
    )
    create.add_argument("--model", default="", help="model the prompt is written for")
    create.add_argument("--max-tokens", type=int, help="sampling: most tokens to generate")
    create.add_argument("--temperature", type=float, help="sampling: temperature")
    create.add_argument("--tag", action="append", default=[], help="tag (repeatable)")
    create.add_argument("--message", default="", help="commit message")
    _common.author_option(create)

    push = command("push", _push, "create versions from prompt files and move their labels")
    push.add_argument(
        "files",
        nargs="+",
        type=Path,
        metavar="FILE",
        help="YAML prompt files, or folders of them (every *.yaml under a folder)",
    )
    push.add_argument(
        "--label",
        action="append",
        default=[],
        help="also point this label at every file's version (repeatable)",
    )
    push.add_argument(
        "--dry-run", action="store_true", help="report what would change, change nothing"
    )
    push.add_argument("--force", action="store_true", help="move protected labels too")
    _common.author_option(push, "who pushes, where a file names no author")

    export = command("export", _export, "write prompts as YAML files that push reads back")
    export.add_argument(
        "names", nargs="*", metavar="NAME", help="prompts, or folders ending in '/' (default: all)"
    )
    export.add_argument("--out", required=True, type=Path, help="folder to write the files into")
    export.add_argument(
        "--label", default="", help="export the version this label points at (default: newest)"
    )

    listing = command("list", _list, "list prompts")
    listing.add_argument("--prefix", default="", help="only names starting with this (folders)")
    listing.add_argument("--tag", default="", help="only prompts whose newest version has this tag")
    listing.add_argument("--label", default="", help="only prompts that have this label")

    show = command("show", _show, "show one version (default: the newest)")
    show.add_argument("name")
    which = show.add_mutually_exclusive_group()
    which.add_argument("--label", default="", help="the version this label points at")
    which.add_argument("--version", type=_common.version, default=0, help="this version")
    show.add_argument("--sticky-key", default="", help="with a split label: the key to resolve")

    versions = command("versions", _versions, "list a prompt's versions, newest first")
    versions.add_argument("name")

    labels = command("labels", _labels, "list a prompt's labels")
    labels.add_argument("name")

    diff = command("diff", _diff, "compare two versions")
    diff.add_argument("name")
    diff.add_argument("from_version", type=_common.version, metavar="V1")
    diff.add_argument("to_version", type=_common.version, metavar="V2")

    label = command("label", _label, "point a label at a version (compare-and-set with --expect)")
    label.add_argument("name")
    label.add_argument("label")
    label.add_argument("version", type=_common.version)
    _common.move_options(label)
    label.add_argument(
        "--evaluation-run", default="", help="passed evaluation run, for a gated label"
    )

    rollback = command("rollback", _rollback, "move a label back to where it pointed before")
    rollback.add_argument("name")
    rollback.add_argument("label")
    rollback.add_argument(
        "--to", type=_common.version, help="this version instead of the previous one"
    )
    _common.move_options(rollback)

    render = command("render", _render, "fill a prompt's variables (default label: production)")
    render.add_argument("name")
    which = render.add_mutually_exclusive_group()
    which.add_argument("--label", default="", help="render the version of this label")
    which.add_argument("--version", type=_common.version, default=0, help="render this version")
    render.add_argument(
        "--var",
        type=_variable,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a variable's value (repeatable)",
    )
    render.add_argument("--sticky-key", default="", help="with a split label: the key to resolve")

    history = command("history", _history, "audit events, newest first")
    history.add_argument("name", nargs="?", default="", help="prompt (default: every prompt)")
    history.add_argument("--label", default="", help="only this label's moves")
    history.add_argument(
        "--limit", type=_common.positive, default=_common.HISTORY_LIMIT, help="most events"
    )

    protect = command("protect", _protect, "protect a label (moves then need --force)")
    protect.add_argument("name")
    protect.add_argument("label")
    protect.add_argument("--off", action="store_true", help="lift the protection")
    protect.add_argument("--reason", default="", help="why (audit log)")
    _common.author_option(protect)

    split = command("split", _split, "split a label's traffic over versions, e.g. v3=90 v4=10")
    split.add_argument("name")
    split.add_argument("label")
    split.add_argument("arms", nargs="+", type=_arm, metavar="VERSION=WEIGHT")
    _common.move_options(split)
    split.add_argument(
        "--evaluation-run",
        action="append",
        default=[],
        help="passed evaluation run of a version, for a gated label (repeatable)",
    )


# --- argument types: a bad value exits 2 with argparse's usage message --------------------


def _names(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _variable(text: str) -> tuple[str, str]:
    name, equals, value = text.partition("=")
    if not equals or not name.strip():
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, not {text!r}")
    return name.strip(), value


def _arm(text: str) -> pb.LabelSplit:
    version, equals, weight = text.partition("=")
    if not equals:
        raise argparse.ArgumentTypeError(f"expected VERSION=WEIGHT like v3=90, not {text!r}")
    if not weight.isdigit() or int(weight) < 1:
        raise argparse.ArgumentTypeError(f"weight must be a positive whole number in {text!r}")
    return pb.LabelSplit(version=_common.version(version), weight=int(weight))


def _client(settings: Settings) -> PromptRegistryClient:
    return PromptRegistryClient(settings.prompt_registry.address)


# --- handlers -------------------------------------------------------------------------------


async def _create(args, settings: Settings, out: Output) -> int:
    chat = args.system is not None or args.user is not None
    if args.template is not None and chat:
        args.usage_error("give --template (a text prompt) or --system/--user (chat), not both")
    if args.template is None and not chat:
        args.usage_error("give --template TEXT, or --system TEXT and/or --user TEXT")
    content = pb.PromptContent()
    if chat:
        content.type = pb.PROMPT_TYPE_CHAT
        for role in ("system", "user"):
            if getattr(args, role) is not None:
                content.messages.add(role=role, content=getattr(args, role))
        texts = [m.content for m in content.messages]
    else:
        content.type = pb.PROMPT_TYPE_TEXT
        content.template = args.template
        texts = [args.template]
    if args.variables is not None:
        content.variables.extend(args.variables)
    else:
        found = [templates.parse(t, "template").variables for t in texts]
        content.variables.extend(dict.fromkeys(name for names in found for name in names))
    content.model_config.model = args.model
    if args.max_tokens is not None:
        content.model_config.sampling.max_tokens = args.max_tokens
    if args.temperature is not None:
        content.model_config.sampling.temperature = args.temperature
    async with _client(settings) as client:
        response = await client.rpc.CreatePromptVersion(
            pb.CreatePromptVersionRequest(
                name=args.name,
                content=content,
                tags=args.tag,
                commit_message=args.message,
                author=_common.author(args),
            )
        )
    version = response.version
    human = (
        f"created {version.name} v{version.version}"
        if response.created
        else f"unchanged: {version.name} v{version.version} already has this content"
    )
    out.result(to_dict(response), human=human)
    return 0


async def _push(args, settings: Settings, out: Output) -> int:
    files = _prompt_sync.load_files(args.files)
    total = len(files)
    wording = {"created": "would be created", "unchanged": "unchanged"} if args.dry_run else {}
    async with _client(settings) as client:
        pushed = await _prompt_sync.push(
            client,
            files,
            labels=args.label,
            author=_common.author(args),
            dry_run=args.dry_run,
            allow_protected=args.force,
            progress=_common.push_progress(out, total, wording),
        )
    counts = _as_code.counts(pushed)
    out.result(
        {
            "dry_run": args.dry_run,
            "files": [
                {"file": str(p.path), "status": p.status, **to_dict(p.result)} for p in pushed
            ],
            **counts,
        },
        human=_common.push_summary(counts, total, wording)
        + (" (dry run: nothing changed)" if args.dry_run else ""),
    )
    return 1 if counts["failed"] else 0


async def _export(args, settings: Settings, out: Output) -> int:
    async with _client(settings) as client:
        exported = await _prompt_sync.export(client, args.out, args.names, label=args.label)
    _common.export_result(out, args.out, exported, kind="prompt", kinds="prompts")
    return 0


async def _list(args, settings: Settings, out: Output) -> int:
    request = pb.ListPromptsRequest(prefix=args.prefix, tag=args.tag, label=args.label)
    async with _client(settings) as client:
        prompts = await all_pages(client.rpc.ListPrompts, request, "prompts")
    out.result({"prompts": [to_dict(p) for p in prompts]}, human=prompts_table(prompts))
    return 0


async def _show(args, settings: Settings, out: Output) -> int:
    async with _client(settings) as client:
        if args.label:
            response = await client.rpc.ResolvePrompt(
                pb.ResolvePromptRequest(
                    name=args.name, label=args.label, sticky_key=args.sticky_key
                )
            )
            version, label = response.version, response.label
        else:
            response = await client.rpc.GetPromptVersion(
                pb.GetPromptVersionRequest(name=args.name, version=args.version)
            )
            version, label = response.version, ""
    out.result({"version": to_dict(version), "label": label}, human=version_text(version, label))
    return 0


async def _versions(args, settings: Settings, out: Output) -> int:
    request = pb.ListPromptVersionsRequest(name=args.name)
    async with _client(settings) as client:
        versions = await all_pages(client.rpc.ListPromptVersions, request, "versions")
    out.result({"versions": [to_dict(v) for v in versions]}, human=versions_table(versions))
    return 0


async def _labels(args, settings: Settings, out: Output) -> int:
    async with _client(settings) as client:
        response = await client.rpc.ListLabels(pb.ListLabelsRequest(name=args.name))
    out.result(to_dict(response), human=labels_table(response.labels))
    return 0


async def _diff(args, settings: Settings, out: Output) -> int:
    async with _client(settings) as client:
        response = await client.rpc.DiffPromptVersions(
            pb.DiffPromptVersionsRequest(
                name=args.name, from_version=args.from_version, to_version=args.to_version
            )
        )
    out.result(to_dict(response), human=diff_text(response))
    return 0


async def _label(args, settings: Settings, out: Output) -> int:
    request = pb.SetLabelRequest(
        version=args.version, evaluation_run_id=args.evaluation_run, **_common.label_move(args)
    )
    async with _client(settings) as client:
        response = await client.rpc.SetLabel(request)
    label = response.label
    out.result(to_dict(response), human=f"{args.name}: {label.name} -> {label_target(label)}")
    return 0


async def _rollback(args, settings: Settings, out: Output) -> int:
    request = pb.RollbackLabelRequest(**_common.label_move(args))
    if args.to is not None:
        request.version = args.to
    async with _client(settings) as client:
        response = await client.rpc.RollbackLabel(request)
    label = response.label
    out.result(
        to_dict(response),
        human=f"{args.name}: {label.name} rolled back to {label_target(label)} "
        f"(it pointed at v{response.previous_version})",
    )
    return 0


async def _render(args, settings: Settings, out: Output) -> int:
    repeated = sorted(n for n, count in Counter(n for n, _ in args.var).items() if count > 1)
    if repeated:
        args.usage_error(f"--var {', '.join(repeated)} given more than once")
    variables = dict(args.var)
    request = pb.RenderPromptRequest(
        name=args.name, variables=variables, sticky_key=args.sticky_key
    )
    if args.label:
        request.label = args.label
    elif args.version:
        request.version = args.version
    async with _client(settings) as client:
        response = await client.rpc.RenderPrompt(request)
    out.result(
        to_dict(response),
        human=messages_text(response.messages) if response.messages else response.text,
    )
    if not out.as_json:
        # On stderr, so that stdout is exactly the rendered prompt.
        version = response.version
        source = f" ({response.label})" if response.label else ""
        print(f"rendered {version.name} v{version.version}{source}", file=sys.stderr)
        if response.unused_variables:
            unused = ", ".join(response.unused_variables)
            print(f"warning: not variables of this version: {unused}", file=sys.stderr)
    return 0


async def _history(args, settings: Settings, out: Output) -> int:
    if args.label and not args.name:
        args.usage_error("--label needs a prompt NAME")
    async with _client(settings) as client:
        if args.label:
            response = await client.rpc.ListLabelHistory(
                pb.ListLabelHistoryRequest(name=args.name, label=args.label, page_size=args.limit)
            )
        else:
            response = await client.rpc.ListAuditEvents(
                pb.ListAuditEventsRequest(prompt_name=args.name, page_size=args.limit)
            )
    events = list(response.events)[: args.limit]
    out.result({"events": [to_dict(e) for e in events]}, human=events_table(events))
    return 0


async def _protect(args, settings: Settings, out: Output) -> int:
    async with _client(settings) as client:
        response = await client.rpc.ProtectLabel(
            pb.ProtectLabelRequest(protected=not args.off, **_common.label_change(args))
        )
    state = "protected: moving it needs --force" if response.label.protected else "not protected"
    out.result(to_dict(response), human=f"{args.name}: {args.label} is {state}")
    return 0


async def _split(args, settings: Settings, out: Output) -> int:
    versions = [arm.version for arm in args.arms]
    if len(set(versions)) < len(versions):
        args.usage_error("each version may appear only once in a split")
    request = pb.SetLabelSplitRequest(
        splits=args.arms, evaluation_run_ids=args.evaluation_run, **_common.label_move(args)
    )
    async with _client(settings) as client:
        response = await client.rpc.SetLabelSplit(request)
    label = response.label
    total = sum(s.weight for s in label.splits) or 1
    shares = ", ".join(f"v{s.version} {100 * s.weight / total:.0f}%" for s in label.splits)
    out.result(to_dict(response), human=f"{args.name}: {label.name} -> {shares}")
    return 0
