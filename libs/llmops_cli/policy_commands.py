"""``llmops policy ...``: versioned guardrail policies from the command line, policies as code.

Policies as code: push (files -> service, idempotent) and export (service -> files that
push reads back into the same versions). Reading: list, show, versions, labels, diff,
history. Changing: label (compare-and-set with --expect), rollback.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from llmops.v1 import guardrails_pb2 as pb
from llmops_cli import _as_code, _common, _policy_sync
from llmops_cli._output import Output
from llmops_cli._views import table, to_dict, when
from llmops_core import Settings
from llmops_sdk import GuardrailsClient, all_pages
from llmops_sdk.policy_files import dump_policy_file


def add_commands(commands, common: argparse.ArgumentParser) -> None:
    """Add the ``policy`` command group to the top-level subparsers."""
    group = commands.add_parser(
        "policy",
        parents=[common],
        help="versioned guardrail policies and labels, policies as code",
        description="Versioned guardrail policies in the guardrails service; policies as code.",
    )
    command = _common.subcommands(group, "policy_command", common)

    push = command("push", _push, "create versions from policy files and move their labels")
    push.add_argument(
        "files",
        nargs="+",
        type=Path,
        metavar="FILE",
        help="YAML policy files, or folders of them (every *.yaml under a folder)",
    )
    push.add_argument(
        "--label",
        action="append",
        default=[],
        help="also point this label at every file's version (repeatable)",
    )
    push.add_argument("--force", action="store_true", help="move protected labels too")
    _common.author_option(push, "who pushes, where a file names no author")

    export = command("export", _export, "write policies as YAML files that push reads back")
    export.add_argument("names", nargs="*", metavar="NAME", help="policies (default: all)")
    export.add_argument("--out", required=True, type=Path, help="folder to write the files into")
    export.add_argument(
        "--label", default="", help="export the version this label points at (default: newest)"
    )

    command("list", _list, "list policies with their newest version")

    show = command("show", _show, "show one version as a policy file (default: the newest)")
    show.add_argument("name")
    which = show.add_mutually_exclusive_group()
    which.add_argument("--label", default="", help="the version this label points at")
    which.add_argument("--version", type=_common.version, default=0, help="this version")

    versions = command("versions", _versions, "list a policy's versions, newest first")
    versions.add_argument("name")

    labels = command("labels", _labels, "list a policy's labels")
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

    rollback = command("rollback", _rollback, "move a label back to where it pointed before")
    rollback.add_argument("name")
    rollback.add_argument("label")
    rollback.add_argument(
        "--to", type=_common.version, help="this version instead of the previous one"
    )
    _common.move_options(rollback)

    protect = command("protect", _protect, "protect a label (moves then need --force)")
    protect.add_argument("name")
    protect.add_argument("label")
    protect.add_argument("--off", action="store_true", help="lift the protection")
    protect.add_argument("--reason", default="", help="why (audit log)")
    _common.author_option(protect)

    history = command("history", _history, "audit events, newest first")
    history.add_argument("name", nargs="?", default="", help="policy (default: every policy)")
    history.add_argument("--label", default="", help="only this label's moves")
    history.add_argument(
        "--limit", type=_common.positive, default=_common.HISTORY_LIMIT, help="most events"
    )


def _client(settings: Settings) -> GuardrailsClient:
    return GuardrailsClient(settings.guardrails.address)


# --- views ----------------------------------------------------------------------------------


def _checks(policy: pb.Policy) -> str:
    return f"{len(policy.input_checks)} in / {len(policy.output_checks)} out: " + ", ".join(
        dict.fromkeys(c.check for c in [*policy.input_checks, *policy.output_checks])
    )


def _policies_table(policies: Sequence[pb.Policy], *, named: bool) -> str:
    if not policies:
        return "no policies" if named else "no versions"
    rows = [
        (
            *([p.name] if named else []),
            f"v{p.version}",
            when(p.create_time),
            p.author or "-",
            ", ".join(p.labels) or "-",
            _checks(p),
        )
        for p in policies
    ]
    headers = ("VERSION", "CREATED", "AUTHOR", "LABELS", "CHECKS")
    return table((("POLICY",) if named else ()) + headers, rows)


def _event_name(value: int) -> str:
    return pb.PolicyEventType.Name(value).removeprefix("POLICY_EVENT_TYPE_").lower()


def _events_table(events: Sequence[pb.PolicyEvent]) -> str:
    if not events:
        return "no events"
    rows = [
        (
            when(e.event_time),
            e.policy_name,
            _event_name(e.type),
            e.label or "-",
            f"v{e.previous_version} -> v{e.version}" if e.previous_version else f"v{e.version}",
            e.author or "-",
            e.reason,
        )
        for e in events
    ]
    return table(("WHEN", "POLICY", "EVENT", "LABEL", "VERSION", "AUTHOR", "REASON"), rows)


# --- handlers -------------------------------------------------------------------------------


async def _push(args, settings: Settings, out: Output) -> int:
    files = _policy_sync.load_files(args.files)
    total = len(files)
    async with _client(settings) as client:
        pushed = await _policy_sync.push(
            client,
            files,
            labels=args.label,
            author=_common.author(args),
            allow_protected=args.force,
            progress=_common.push_progress(out, total, {}),
        )
    counts = _as_code.counts(pushed)
    out.result(
        {
            "files": [
                {
                    "file": str(p.path),
                    "name": p.name,
                    "status": p.status,
                    "version": p.version,
                    "labels_moved": list(p.labels_moved),
                    "error": p.error,
                }
                for p in pushed
            ],
            **counts,
        },
        human=_common.push_summary(counts, total, {}),
    )
    return 1 if counts["failed"] else 0


async def _export(args, settings: Settings, out: Output) -> int:
    async with _client(settings) as client:
        exported = await _policy_sync.export(client, args.out, args.names, label=args.label)
    _common.export_result(out, args.out, exported, kind="policy", kinds="policies")
    return 0


async def _list(args, settings: Settings, out: Output) -> int:
    async with _client(settings) as client:
        policies = await all_pages(client.rpc.ListPolicies, pb.ListPoliciesRequest(), "policies")
    out.result(
        {"policies": [to_dict(p) for p in policies]},
        human=_policies_table(policies, named=True),
    )
    return 0


async def _show(args, settings: Settings, out: Output) -> int:
    async with _client(settings) as client:
        version = args.version
        if args.label:
            response = await client.rpc.ListPolicyLabels(pb.ListPolicyLabelsRequest(name=args.name))
            version = next((lb.version for lb in response.labels if lb.name == args.label), 0)
            if not version:
                known = ", ".join(lb.name for lb in response.labels)
                args.usage_error(f"policy '{args.name}' has no label '{args.label}' ({known})")
        response = await client.rpc.GetPolicy(pb.GetPolicyRequest(name=args.name, version=version))
    policy = response.policy
    labels = tuple(lb for lb in policy.labels if lb not in _policy_sync.AUTOMATIC_LABELS)
    header = (
        f"# {policy.name} v{policy.version}, {when(policy.create_time)} by "
        f"{policy.author or '-'}; labels: {', '.join(policy.labels) or '-'}\n"
    )
    out.result(
        {"policy": to_dict(policy), "label": args.label},
        human=header + dump_policy_file(policy, labels).rstrip("\n"),
    )
    return 0


async def _versions(args, settings: Settings, out: Output) -> int:
    request = pb.ListPolicyVersionsRequest(name=args.name)
    async with _client(settings) as client:
        versions = await all_pages(client.rpc.ListPolicyVersions, request, "policies")
    out.result(
        {"policies": [to_dict(v) for v in versions]},
        human=_policies_table(versions, named=False),
    )
    return 0


async def _labels(args, settings: Settings, out: Output) -> int:
    async with _client(settings) as client:
        response = await client.rpc.ListPolicyLabels(pb.ListPolicyLabelsRequest(name=args.name))
    rows = [
        (lb.name, f"v{lb.version}", "yes" if lb.protected else "-", when(lb.update_time))
        for lb in response.labels
    ]
    out.result(to_dict(response), human=table(("LABEL", "VERSION", "PROTECTED", "MOVED"), rows))
    return 0


async def _diff(args, settings: Settings, out: Output) -> int:
    async with _client(settings) as client:
        response = await client.rpc.DiffPolicyVersions(
            pb.DiffPolicyVersionsRequest(
                name=args.name, from_version=args.from_version, to_version=args.to_version
            )
        )
    changed = "\n".join(f"  {field}" for field in response.changed_fields)
    human = (
        f"{response.unified_diff}\n\nchanged settings:\n{changed}"
        if response.changed_fields or response.unified_diff
        else f"v{args.from_version} and v{args.to_version} have the same settings"
    )
    out.result(to_dict(response), human=human)
    return 0


async def _label(args, settings: Settings, out: Output) -> int:
    request = pb.SetPolicyLabelRequest(version=args.version, **_common.label_move(args))
    async with _client(settings) as client:
        response = await client.rpc.SetPolicyLabel(request)
    label = response.label
    out.result(to_dict(response), human=f"{args.name}: {label.name} -> v{label.version}")
    return 0


async def _rollback(args, settings: Settings, out: Output) -> int:
    request = pb.RollbackPolicyLabelRequest(**_common.label_move(args))
    if args.to is not None:
        request.version = args.to
    async with _client(settings) as client:
        response = await client.rpc.RollbackPolicyLabel(request)
    label = response.label
    out.result(
        to_dict(response),
        human=f"{args.name}: {label.name} rolled back to v{label.version} "
        f"(it pointed at v{response.previous_version})",
    )
    return 0


async def _protect(args, settings: Settings, out: Output) -> int:
    async with _client(settings) as client:
        response = await client.rpc.ProtectPolicyLabel(
            pb.ProtectPolicyLabelRequest(protected=not args.off, **_common.label_change(args))
        )
    state = "protected" if response.label.protected else "not protected"
    out.result(to_dict(response), human=f"{args.name}: {response.label.name} is {state}")
    return 0


async def _history(args, settings: Settings, out: Output) -> int:
    if args.label and not args.name:
        args.usage_error("--label needs a policy NAME")
    async with _client(settings) as client:
        response = await client.rpc.ListPolicyEvents(
            pb.ListPolicyEventsRequest(name=args.name, label=args.label, page_size=args.limit)
        )
    events = list(response.events)[: args.limit]
    out.result({"events": [to_dict(e) for e in events]}, human=_events_table(events))
    return 0
