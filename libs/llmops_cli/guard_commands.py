"""``llmops guard ...``: the guardrails from the command line.

``guard eval`` measures checks on a labelled JSONL file through the service's
RunEvaluation (in batches, with a progress bar) and prints precision, recall, F1, FPR,
AUC, recall at a chosen FPR, the confusion matrix, latency and the worst misses.
``guard checks`` lists the installed checks; ``guard check TEXT`` runs a policy on a text.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

from google.protobuf.json_format import MessageToDict

from llmops.v1 import common_pb2
from llmops.v1 import guardrails_pb2 as pb
from llmops_cli._output import Output
from llmops_cli._progress import ProgressBar
from llmops_core import DetectionReport, ScoredExample, Settings, detection_report
from llmops_core.errors import InvalidArgumentError
from llmops_sdk import GuardrailsClient

BATCH = 100
_TRUE = {True, "1", "true", "yes", "flagged", "positive"}
_FALSE = {False, "0", "false", "no", "clean", "negative"}
_STAGES = {"input": pb.GUARD_STAGE_INPUT, "output": pb.GUARD_STAGE_OUTPUT}


def add_commands(commands, common: argparse.ArgumentParser) -> None:
    group = commands.add_parser(
        "guard", parents=[common], help="guardrail checks: evaluate, list, try"
    )
    sub = group.add_subparsers(dest="guard_command", required=True, metavar="COMMAND")

    evaluate = sub.add_parser(
        "eval",
        parents=[common],
        help="measure checks on a labelled JSONL dataset",
        description="Rows: {'text': ..., 'label': 0|1} (input checks) or {'answer': ..., "
        "'context': [...], 'question': ..., 'label': 0|1} (output checks); optional 'id', "
        "'stage' (input|output) and 'category' (the finding category that counts).",
    )
    evaluate.set_defaults(handler=_eval)
    evaluate.add_argument("--dataset", type=Path, required=True, help="JSONL file")
    which = evaluate.add_mutually_exclusive_group(required=True)
    which.add_argument("--check", action="append", help="a check alone, default settings")
    which.add_argument("--policy", help="a policy's checks, thresholds and actions")
    evaluate.add_argument("--policy-version", type=int, default=0, help="default: by label")
    evaluate.add_argument("--policy-label", default="", help="default: production, else latest")
    evaluate.add_argument(
        "--target-fpr", type=float, default=0.05, help="FPR for 'recall at FPR' (default 0.05)"
    )
    evaluate.add_argument("--batch", type=int, default=BATCH, help="examples per call")
    evaluate.add_argument("--misses", type=int, default=5, help="worst misses to print")

    sub.add_parser("checks", parents=[common], help="the installed checks").set_defaults(
        handler=_checks
    )
    check = sub.add_parser("check", parents=[common], help="run a policy's input checks on TEXT")
    check.set_defaults(handler=_check)
    check.add_argument("text")
    check.add_argument("--policy", default="")
    check.add_argument("--output", action="store_true", help="run the output checks instead")


def load_examples(path: Path) -> list[pb.GuardExample]:
    """Reads a JSONL dataset; a bad row is an error naming its line."""
    examples = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidArgumentError(f"cannot read {path}: {exc}") from exc
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            examples.append(_example(json.loads(line), number))
        except (ValueError, TypeError, KeyError) as exc:
            raise InvalidArgumentError(f"{path}:{number}: {exc}") from exc
    if not examples:
        raise InvalidArgumentError(f"{path} holds no examples")
    return examples


def _example(row: dict, number: int) -> pb.GuardExample:
    if not isinstance(row, dict):
        raise ValueError("each line must be a JSON object")
    label = row.get("label")
    label = label.lower() if isinstance(label, str) else label
    if label not in _TRUE and label not in _FALSE:
        raise ValueError(f"label {row.get('label')!r} is not one of 0/1, true/false")
    output = "answer" in row
    text = row["answer"] if output else row["text"]
    context = row.get("context", [])
    stage = row.get("stage", "output" if output or context else "input")
    if stage not in _STAGES:
        raise ValueError(f"stage {stage!r} is not input or output")
    return pb.GuardExample(
        id=str(row.get("id", f"line {number}")),
        stage=_STAGES[stage],
        text=str(text),
        expected_flagged=label in _TRUE,
        expected_category=str(row.get("category", "")),
        context=[context] if isinstance(context, str) else [str(c) for c in context],
        input=str(row.get("question", "")),
    )


async def _eval(args, settings: Settings, out: Output) -> int:
    examples = load_examples(args.dataset)
    scored: dict[tuple[str, int], list[ScoredExample]] = defaultdict(list)
    texts = {e.id: e.text[:200] for e in examples}
    applied = ""
    bar = ProgressBar(len(examples), "examples")
    async with GuardrailsClient(settings.guardrails.address) as client:
        for start in range(0, len(examples), max(args.batch, 1)):
            batch = examples[start : start + max(args.batch, 1)]
            reply = await client.rpc.RunEvaluation(
                pb.RunEvaluationRequest(
                    policy=args.policy or "",
                    policy_version=args.policy_version,
                    policy_label=args.policy_label,
                    checks=args.check or [],
                    examples=batch,
                    include_examples=True,
                    target_fpr=args.target_fpr,
                ),
                timeout=600,
            )
            applied = f"{reply.policy}@{reply.policy_version}"
            for example, result in zip(batch, reply.examples, strict=True):
                for s in result.check_scores:
                    scored[(s.check, example.stage)].append(
                        ScoredExample(
                            expected=result.expected_flagged,
                            flagged=s.flagged,
                            score=s.score,
                            latency_ms=s.latency_ms,
                            error=s.error,
                            id=result.id,
                            text=texts[result.id],
                        )
                    )
            bar.advance(len(batch))
    bar.close()
    reports = {
        key: detection_report(items, target_fpr=args.target_fpr) for key, items in scored.items()
    }
    ordered = sorted(reports, key=lambda key: (key[0] == "policy", key[1], key[0]))
    rows = [_report_dict(check, stage, reports[(check, stage)]) for check, stage in ordered]
    out.result(
        {
            "dataset": str(args.dataset),
            "policy": applied,
            "examples": len(examples),
            "checks": rows,
        },
        human=_report_text(rows, applied, args.misses),
    )
    return 0


def _report_dict(check: str, stage: int, r: DetectionReport) -> dict:
    return {
        "check": check,
        "stage": "input" if stage == pb.GUARD_STAGE_INPUT else "output",
        "examples": r.examples,
        "confusion": {
            "tp": r.true_positives,
            "fp": r.false_positives,
            "tn": r.true_negatives,
            "fn": r.false_negatives,
        },
        "precision": round(r.precision, 4),
        "recall": round(r.recall, 4),
        "f1": round(r.f1, 4),
        "fpr": round(r.false_positive_rate, 4),
        "auc": round(r.auc, 4),
        "target_fpr": r.target_fpr,
        "recall_at_fpr": round(r.recall_at_fpr, 4),
        "threshold_at_fpr": round(r.threshold_at_fpr, 4),
        "latency_ms": {
            "mean": round(r.latency_mean_ms, 2),
            "p50": round(r.latency_p50_ms, 2),
            "p95": round(r.latency_p95_ms, 2),
            "p99": round(r.latency_p99_ms, 2),
        },
        "errors": r.errors,
        "worst_misses": [
            {"id": m.id, "expected": m.expected, "score": round(m.score, 4), "text": m.text}
            for m in r.worst_misses
        ],
    }


def _report_text(rows: list[dict], policy: str, misses: int) -> str:
    lines = [
        f"policy {policy}",
        f"{'check':<20} {'stage':<7} {'n':>6} {'prec':>6} {'recall':>6} {'f1':>6} {'fpr':>6} "
        f"{'auc':>6} {'r@fpr':>6} {'tp/fp/tn/fn':>17} {'p50ms':>7} {'p99ms':>7}",
    ]
    for r in rows:
        c = r["confusion"]
        lines.append(
            f"{r['check']:<20} {r['stage']:<7} {r['examples']:>6} {r['precision']:>6.3f} "
            f"{r['recall']:>6.3f} {r['f1']:>6.3f} {r['fpr']:>6.3f} {r['auc']:>6.3f} "
            f"{r['recall_at_fpr']:>6.3f} {c['tp']:>4}/{c['fp']:>4}/{c['tn']:>4}/{c['fn']:>4} "
            f"{r['latency_ms']['p50']:>7.2f} {r['latency_ms']['p99']:>7.2f}"
        )
    for r in rows:
        worst = r["worst_misses"]
        shown = [m for m in worst if m["expected"]][:misses] + [
            m for m in worst if not m["expected"]
        ][:misses]
        if shown:
            lines.append(f"\nworst misses of {r['check']} ({r['stage']}):")
            lines.extend(
                f"  {'missed' if m['expected'] else 'false alarm'} {m['score']:.3f} {m['id']}: "
                f"{m['text'][:100]!r}"
                for m in shown
            )
    return "\n".join(lines)


async def _checks(args, settings: Settings, out: Output) -> int:
    async with GuardrailsClient(settings.guardrails.address) as client:
        reply = await client.rpc.ListChecks(pb.ListChecksRequest())
    rows = [
        {
            "name": c.name,
            "stage": c.stage,
            "description": c.description,
            "categories": list(c.categories),
            "plugin": c.plugin,
        }
        for c in reply.checks
    ]
    out.result(
        {"checks": rows},
        human="\n".join(f"{r['name']:<20} {r['stage']:<7} {r['description']}" for r in rows),
    )
    return 0


async def _check(args, settings: Settings, out: Output) -> int:
    async with GuardrailsClient(settings.guardrails.address) as client:
        if args.output:
            reply = await client.rpc.CheckOutput(
                pb.CheckOutputRequest(text=args.text, policy=args.policy)
            )
        else:
            reply = await client.rpc.CheckInput(
                pb.CheckInputRequest(text=args.text, policy=args.policy)
            )
    decision = reply.decision
    found = [
        f"  {v.check}: {f.category} {f.score:.3f} {f.message}"
        for v in decision.verdicts
        for f in v.findings
    ]
    out.result(
        MessageToDict(decision, preserving_proto_field_name=True),
        human=f"{common_pb2.GuardAction.Name(decision.action)} under "
        f"{decision.policy}@{decision.policy_version}" + ("\n" + "\n".join(found) if found else ""),
    )
    return 0
