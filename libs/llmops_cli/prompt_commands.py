"""``llmops prompt ...``: the prompt registry from the command line, prompts as code."""

from __future__ import annotations

import argparse


def add_commands(commands, common: argparse.ArgumentParser) -> None:
    """Add the ``prompt`` command group to the top-level subparsers."""
    group = commands.add_parser("prompt", parents=[common], help="versioned prompts and labels")
    group.add_subparsers(dest="prompt_command", required=True)
