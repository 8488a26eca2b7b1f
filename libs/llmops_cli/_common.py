"""What the versioned-registry command groups (prompt, policy) share.

Argument types (a bad value exits 2 with argparse's usage message), the author and
label-move options, and errors that name the command-line option to use.
"""

from __future__ import annotations

import argparse
import functools
import os

from llmops_cli._output import Output
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
