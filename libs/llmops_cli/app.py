"""``llmops`` commands: up, down, status, chat, demo, and the ``prompt`` group.

Every command takes ``--json``. A command is a parser with ``handler`` set to an
async function ``(args, settings, out) -> exit code``; command groups live in their
own modules and add their parsers through ``add_commands(subparsers, common)``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time

from llmops_cli import deploy_commands, guard_commands, policy_commands, prompt_commands
from llmops_cli._chat import ask, show
from llmops_cli._output import Output
from llmops_core import load_settings
from llmops_core.errors import LlmopsError, UnavailableError
from llmops_stack.local_stack import LocalStack, PartStatus, StackError
from llmops_stack.seed import demo_dir, seed_demo

DEMO_QUESTION = "What does LLMOps add to MLOps?"


def build_parser() -> argparse.ArgumentParser:
    # SUPPRESS: an option given before the command must survive the subparser's defaults.
    common = argparse.ArgumentParser(add_help=False, argument_default=argparse.SUPPRESS)
    common.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    common.add_argument(
        "--config", help="YAML config file (default: $LLMOPS_CONFIG, else built-in defaults)"
    )
    parser = argparse.ArgumentParser(
        prog="llmops", description="LLMOps platform: local stack and chat.", parents=[common]
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser(
        "up", parents=[common], help="start Redis, Triton and every service; seed the demo"
    ).set_defaults(handler=_up)
    commands.add_parser("down", parents=[common], help="stop what `up` started").set_defaults(
        handler=_down
    )
    commands.add_parser(
        "status", parents=[common], help="health of every part of the stack"
    ).set_defaults(handler=_status)
    chat = commands.add_parser("chat", parents=[common], help="ask a question through the gateway")
    chat.set_defaults(handler=_chat)
    chat.add_argument("question")
    chat.add_argument("--prompt", default="", help="prompt name (default: gateway.default_prompt)")
    chat.add_argument("--label", default="", help="prompt label (default: production)")
    chat.add_argument("--collection", default="", help="retrieval collection (default: docs)")
    chat.add_argument("--top-k", type=int, default=0, help="passages to retrieve")
    demo = commands.add_parser("demo", parents=[common], help="up, then ask a sample question")
    demo.set_defaults(handler=_demo)
    demo.add_argument("--question", default=DEMO_QUESTION)
    prompt_commands.add_commands(commands, common)
    policy_commands.add_commands(commands, common)
    deploy_commands.add_commands(commands, common)
    guard_commands.add_commands(commands, common)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.json = getattr(args, "json", False)
    args.config = getattr(args, "config", None)
    out = Output(args.json)
    try:
        settings = load_settings(args.config)
        return asyncio.run(args.handler(args, settings, out))
    except StackError as exc:
        out.error(str(exc))
        return 1
    except UnavailableError as exc:
        out.error(f"{exc} ({exc.reason}); is the stack running? ./llmops status, ./llmops up")
        return 1
    except LlmopsError as exc:
        out.error(f"{exc} ({exc.reason})")
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`llmops ... | head`): stop quietly, and point stdout at
        # /dev/null so that the interpreter's last flush does not report it again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _progress(out: Output, total: int):
    done = [0]

    def report(part: PartStatus) -> None:
        done[0] += 1
        took = f" in {part.seconds:.1f} s" if part.seconds else ""
        where = f" (log: {part.log})" if part.status == "FAILED" else ""
        detail = f": {part.detail}" if part.detail else ""
        out.line(f"[{done[0]}/{total}] {part.name:<16} {part.status.lower()}{took}{detail}{where}")

    return report


async def _up(args, settings, out: Output) -> int:
    started = time.monotonic()
    stack = LocalStack(settings, config_path=args.config)
    out.line(
        "Starting the local stack (the first start of Triton loads the models: about a minute)"
    )
    parts = await stack.up(_progress(out, 8))
    out.line("Seeding the demo prompt and corpus")
    seeded = await seed_demo(
        settings.prompt_registry.address,
        settings.retrieval.address,
        settings.gateway.default_collection,
    )
    seconds = time.monotonic() - started
    out.result(
        {
            "parts": [p.as_dict() for p in parts],
            "seed": seeded.__dict__,
            "seconds": round(seconds, 2),
        },
        human=(
            f"Ready in {seconds:.1f} s: gateway on {settings.gateway.address}; prompt "
            f"{seeded.prompt}@{seeded.version}, collection '{seeded.collection}' revision "
            f'{seeded.revision}.\nTry: ./llmops chat "{DEMO_QUESTION}"'
        ),
    )
    return 0


async def _down(args, settings, out: Output) -> int:
    stopped = LocalStack(settings, config_path=args.config).down()
    out.result(
        {"stopped": [p.as_dict() for p in stopped]},
        human="\n".join(f"stopped {p.name} (pid {p.pid})" for p in stopped) or "nothing to stop",
    )
    return 0


async def _status(args, settings, out: Output) -> int:
    parts = await LocalStack(settings, config_path=args.config).status()
    healthy = all(p.status == "SERVING" for p in parts)
    rows = [
        f"{p.name:<16} {p.status:<12} {p.address}" + ("  (started by llmops)" if p.managed else "")
        for p in parts
    ]
    out.result({"healthy": healthy, "parts": [p.as_dict() for p in parts]}, human="\n".join(rows))
    return 0 if healthy else 1


async def _chat(args, settings, out: Output) -> int:
    reply = await ask(
        settings,
        args.question,
        prompt=args.prompt,
        label=args.label,
        collection=args.collection,
        top_k=args.top_k,
    )
    show(out, reply)
    return 0


async def _demo(args, settings, out: Output) -> int:
    stack = LocalStack(settings, config_path=args.config)
    out.line("Starting the local stack")
    await stack.up(_progress(out, 8))
    await seed_demo(
        settings.prompt_registry.address,
        settings.retrieval.address,
        settings.gateway.default_collection,
    )
    out.line(f"Asking: {args.question}\n")
    show(out, await ask(settings, args.question))
    out.line(
        f'\nThe stack keeps running: ./llmops chat "...", ./llmops status, ./llmops down. '
        f"More questions: {demo_dir() / 'questions.txt'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
