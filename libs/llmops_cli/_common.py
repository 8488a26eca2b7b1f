"""What the versioned-registry command groups (prompt, policy) share.

Argument types (a bad value exits 2 with argparse's usage message), the author and
label-move options, errors that name the command-line option to use, and how push and
export report the files.
"""

from __future__ import annotations

import argparse
import functools
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from llmops_cli._as_code import Exported, PushedFile
from llmops_cli._output import Output
from llmops_cli._views import table
from llmops_core import Settings
from llmops_core.errors import FailedPreconditionError

HISTORY_LIMIT = 50


def subcommands(group: argparse.ArgumentParser, dest: str, common: argparse.ArgumentParser):
    """The group's subcommands; returns ``command(name, handler, summary)`` that adds one."""
    sub = group.add_subparsers(dest=dest, required=True, metavar="COMMAND")

    def command(name: str, handler, summary: str) -> argparse.ArgumentParser:
        parser = sub.add_parser(name, parents=[common], help=summary, description=summary)
        # usage_error: mistakes argparse cannot see alone (exclusive groups of options) exit 2 too.
        parser.set_defaults(handler=with_cli_hints(handler), usage_error=parser.error)
        return parser

    return command


# --- argument types -------------------------------------------------------------------------


def version(text: str) -> int:
    number = text.removeprefix("v")
    if not number.isdigit() or int(number) < 1:
        raise argparse.ArgumentTypeError(f"expected a version like 3 or v3, not {text!r}")
    return int(number)


def expected(text: str) -> int:
    if text in ("0", "none"):
        return 0
    try:
        return version(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"expected the label's current version (3 or v3), or 0 for a new label, not {text!r}"
        ) from None


def positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a positive number, not {text!r}")
    return int(text)


# --- options --------------------------------------------------------------------------------


def author_option(parser: argparse.ArgumentParser, what: str = "who makes the change") -> None:
    parser.add_argument("--author", default="", help=f"{what} (default: $USER)")


def move_options(parser: argparse.ArgumentParser) -> None:
    """--expect, --force, --reason and --author of a command that moves a label."""
    parser.add_argument(
        "--expect",
        type=expected,
        help="compare-and-set: the version the label points at now (0: it must not exist)",
    )
    parser.add_argument("--force", action="store_true", help="move a protected label")
    parser.add_argument("--reason", default="", help="why (audit log)")
    author_option(parser)


def author(args: argparse.Namespace) -> str:
    """--author, else the user's login name."""
    return args.author or os.environ.get("USER") or os.environ.get("USERNAME") or "llmops-cli"


def label_change(args: argparse.Namespace) -> dict[str, Any]:
    """Request fields of a change to a label: its name, the label, author and reason."""
    return {"name": args.name, "label": args.label, "author": author(args), "reason": args.reason}


def label_move(args: argparse.Namespace) -> dict[str, Any]:
    """Request fields of a label move (see move_options): a change's, --force and --expect."""
    fields = label_change(args) | {"allow_protected": args.force}
    if args.expect is not None:  # optional in the request: unset means no compare-and-set
        fields["expected_version"] = args.expect
    return fields


# --- errors ---------------------------------------------------------------------------------


def with_cli_hints(handler):
    """Errors that name request fields (allow_protected, expected_version) also name the option."""

    @functools.wraps(handler)
    async def run(args, settings: Settings, out: Output) -> int:
        try:
            return await handler(args, settings, out)
        except FailedPreconditionError as exc:
            hint = ""
            if exc.reason == "LABEL_PROTECTED":
                hint = "--force"
            elif exc.reason == "LABEL_VERSION_MISMATCH" and "current_version" in exc.metadata:
                hint = f"--expect {exc.metadata['current_version']}"
            if not hint:
                raise
            raise FailedPreconditionError(
                f"{exc.message} (on the command line: {hint})",
                reason=exc.reason,
                metadata=exc.metadata,
            ) from exc

    return run


# --- push and export output -----------------------------------------------------------------


def push_progress(
    out: Output, total: int, wording: Mapping[str, str]
) -> Callable[[int, PushedFile], None]:
    """A line per pushed file; ``wording`` renames statuses (a dry run's "would be created")."""

    def progress(index: int, item: PushedFile) -> None:
        if item.status == "failed":
            out.line(f"[{index}/{total}] {item.path}: {item.name} failed: {item.error}")
            return
        moved = f"; {', '.join(item.labels_moved)} -> v{item.version}" if item.labels_moved else ""
        out.line(
            f"[{index}/{total}] {item.path}: {item.name} v{item.version} "
            f"{wording.get(item.status, item.status)}{moved}"
        )

    return progress


def push_summary(counts: Mapping[str, int], total: int, wording: Mapping[str, str]) -> str:
    """``3 file(s): 1 created, 2 unchanged``: the statuses that occurred."""
    return f"{total} file(s): " + ", ".join(
        f"{n} {wording.get(s, s)}" for s, n in counts.items() if n
    )


def export_result(
    out: Output, out_dir: Path, exported: Sequence[Exported], *, kind: str, kinds: str
) -> None:
    """The files export wrote: a table of ``kind`` (PROMPT, POLICY), or that there were no ``kinds``."""
    rows = [(str(e.path), e.name, f"v{e.version}", ", ".join(e.labels) or "-") for e in exported]
    out.result(
        {
            "out": str(out_dir),
            "files": [
                {
                    "file": str(e.path),
                    "name": e.name,
                    "version": e.version,
                    "labels": list(e.labels),
                }
                for e in exported
            ],
        },
        human=(
            table(("FILE", kind.upper(), "VERSION", "LABELS"), rows)
            + f"\n{len(rows)} file(s) written"
            if rows
            else f"no {kinds} to export"
        ),
    )
