"""How ``llmops prompt`` shows registry objects as human text."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from google.protobuf import json_format

from llmops.v1 import prompt_registry_pb2 as pb
from llmops_cli._views import table, when


def type_name(value: int) -> str:
    return pb.PromptType.Name(value).removeprefix("PROMPT_TYPE_").lower()


def event_name(value: int) -> str:
    return pb.PromptEventType.Name(value).removeprefix("PROMPT_EVENT_TYPE_").lower()


def label_target(label: pb.Label) -> str:
    """``v3``, or ``v3:90/v4:10`` for a split."""
    if label.splits:
        return "/".join(f"v{s.version}:{s.weight}" for s in label.splits)
    return f"v{label.version}"


def prompts_table(prompts: Sequence[pb.Prompt]) -> str:
    if not prompts:
        return "no prompts"
    rows = [
        (
            p.name,
            f"v{p.latest_version}",
            p.version_count,
            type_name(p.type),
            ", ".join(f"{lb.name}={label_target(lb)}" for lb in p.labels) or "-",
            ", ".join(p.tags) or "-",
            when(p.update_time),
        )
        for p in prompts
    ]
    return table(("NAME", "LATEST", "VERSIONS", "TYPE", "LABELS", "TAGS", "UPDATED (UTC)"), rows)


def versions_table(versions: Sequence[pb.PromptVersion]) -> str:
    if not versions:
        return "no versions"
    rows = [
        (
            f"v{v.version}",
            when(v.create_time),
            v.author or "-",
            ", ".join(v.labels) or "-",
            ", ".join(v.tags) or "-",
            _one_line(v.commit_message) or "-",
        )
        for v in versions
    ]
    return table(("VERSION", "CREATED (UTC)", "AUTHOR", "LABELS", "TAGS", "MESSAGE"), rows)


def labels_table(labels: Sequence[pb.Label]) -> str:
    if not labels:
        return "no labels"
    rows = [
        (
            lb.name,
            label_target(lb),
            "yes" if lb.protected else "no",
            _gate(lb.promotion_gate) if lb.HasField("promotion_gate") else "-",
            when(lb.update_time),
        )
        for lb in labels
    ]
    return table(("LABEL", "VERSION", "PROTECTED", "GATE", "UPDATED (UTC)"), rows)


def events_table(events: Sequence[pb.PromptEvent]) -> str:
    if not events:
        return "no events"
    rows = [
        (
            when(e.event_time),
            event_name(e.type),
            e.prompt_name,
            e.label or "-",
            _event_change(e),
            e.author or "-",
            _one_line(e.reason) or "-",
        )
        for e in events
    ]
    return table(("TIME (UTC)", "EVENT", "PROMPT", "LABEL", "CHANGE", "AUTHOR", "REASON"), rows)


def version_text(version: pb.PromptVersion, label: str = "") -> str:
    """One version in full: what it is, where labels point, its model config and template."""
    content = version.content
    head = f"{version.name} v{version.version}" + (f" (resolved from {label})" if label else "")
    lines = [
        head,
        f"  type:       {type_name(content.type)}",
        f"  labels:     {', '.join(version.labels) or '-'}",
        f"  variables:  {', '.join(content.variables) or '-'}",
        f"  model:      {content.model_config.model or '(route default)'}",
    ]
    sampling = json_format.MessageToDict(
        content.model_config.sampling, preserving_proto_field_name=True
    )
    if sampling:
        shown = ", ".join(
            f"{k}={v if isinstance(v, str | int | float) else json.dumps(v)}"
            for k, v in sampling.items()
        )
        lines.append(f"  sampling:   {shown}")
    lines += [
        f"  tags:       {', '.join(version.tags) or '-'}",
        f"  author:     {version.author or '-'}",
        f"  created:    {when(version.create_time)} UTC",
        f"  message:    {_one_line(version.commit_message) or '-'}",
        f"  hash:       {version.content_hash or '-'}",
        "",
        messages_text(content.messages) if content.messages else content.template,
    ]
    return "\n".join(lines)


def messages_text(messages: Iterable[Any]) -> str:
    return "\n\n".join(f"[{m.role}]\n{m.content}" for m in messages)


def diff_text(diff: pb.DiffPromptVersionsResponse) -> str:
    older, newer = diff.from_version, diff.to_version
    head = f"{older.name} v{older.version} -> v{newer.version}"
    if not diff.changes:
        return f"{head}: no differences"
    lines = [f"{head}: {len(diff.changes)} field(s) changed"]
    for change in diff.changes:
        if "\n" in change.before or "\n" in change.after:
            lines.append(f"  {change.field}: changed (see the diff below)")
        else:
            lines.append(
                f"  {change.field}: {change.before or '(none)'} -> {change.after or '(none)'}"
            )
    if diff.unified_diff:
        lines += ["", diff.unified_diff.rstrip("\n")]
    return "\n".join(lines)


def _event_change(event: pb.PromptEvent) -> str:
    if event.type == pb.PROMPT_EVENT_TYPE_VERSION_CREATED:
        return f"v{event.version}"
    if event.type == pb.PROMPT_EVENT_TYPE_LABEL_SPLIT:
        return "/".join(f"v{s.version}:{s.weight}" for s in event.splits)
    if event.type == pb.PROMPT_EVENT_TYPE_LABEL_PROTECTION_CHANGED:
        return "protected" if event.protected else "unprotected"
    if event.type in (
        pb.PROMPT_EVENT_TYPE_PROMPT_DELETED,
        pb.PROMPT_EVENT_TYPE_PROMOTION_GATE_CHANGED,
    ):
        return "-"
    before = f"v{event.previous_version}" if event.previous_version else "(none)"
    after = f"v{event.version}" if event.version else "(none)"
    return f"{before} -> {after}"


def _gate(gate: pb.PromotionGate) -> str:
    if not gate.require_evaluation:
        return "-"
    what = f"{gate.metric}>={gate.min_score:g}" if gate.metric else "passed"
    return what + (f" on {gate.dataset}" if gate.dataset else "")


def _one_line(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
