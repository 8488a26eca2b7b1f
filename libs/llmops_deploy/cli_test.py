"""``llmops plan`` and ``llmops deploy ...`` as the CLI runs them (handlers in process)."""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
from pathlib import Path

import pytest

from llmops_cli import deploy_commands
from llmops_cli._output import Output
from llmops_core import Settings
from llmops_core.errors import FailedPreconditionError

PLANS = Path(__file__).resolve().parents[2] / "deploy" / "triton" / "plans"
LLAMA = str(PLANS / "llama-3-70b-h100-tp4.yaml")


def llmops(*argv: str, settings: Settings | None = None) -> int:
    """Parse like ``llmops_cli.app`` (a shared --json/--config parent) and run the handler."""
    common = argparse.ArgumentParser(add_help=False, argument_default=argparse.SUPPRESS)
    common.add_argument("--json", action="store_true")
    common.add_argument("--config")
    parser = argparse.ArgumentParser(prog="llmops", parents=[common])
    deploy_commands.add_commands(parser.add_subparsers(dest="command", required=True), common)
    args = parser.parse_args(argv)
    args.json = getattr(args, "json", False)
    return asyncio.run(args.handler(args, settings or Settings(), Output(args.json)))


def test_plan_shows_every_split_and_the_smallest_tp(capsys):
    code = llmops(
        "plan", "--model", "llama-2-70b", "--gpu", "h100-80gb", "--gpus", "8",
        "--dtype", "fp16", "--kv-dtype", "fp8", "--max-batch", "64", "--max-seq-len", "4096",
    )  # fmt: skip
    text = capsys.readouterr().out
    assert code == 0
    assert "smallest tensor_parallel that fits (pp 1): 4" in text
    assert "= 163,840 B (160 KiB)" in text
    assert "68,976,648,192" in text


def test_plan_as_json(capsys):
    assert (
        llmops("plan", "--model", "mixtral-8x7b", "--gpu", "a100-80gb", "--gpus", "4", "--json")
        == 0
    )
    data = json.loads(capsys.readouterr().out)
    assert data["architecture"]["parameter_count"] == 46_702_792_704
    assert data["min_tensor_parallel"] == 2
    assert {(o["tensor_parallel"], o["pipeline_parallel"]) for o in data["options"]} >= {
        (1, 1),
        (4, 1),
        (2, 2),
    }


def test_plan_reads_a_config_json(tmp_path, capsys):
    (tmp_path / "config.json").write_text(
        json.dumps(
            {
                "model_type": "llama",
                "hidden_size": 576,
                "intermediate_size": 1536,
                "num_hidden_layers": 30,
                "num_attention_heads": 9,
                "num_key_value_heads": 3,
                "vocab_size": 49152,
                "max_position_embeddings": 8192,
                "tie_word_embeddings": True,
            }
        )
    )
    assert (
        llmops(
            "plan", "--model", str(tmp_path / "config.json"), "--gpu", "l4", "--gpus", "1", "--json"
        )
        == 0
    )
    assert json.loads(capsys.readouterr().out)["architecture"]["parameter_count"] == 134_515_008


def test_deploy_plan_of_a_file(capsys):
    assert llmops("deploy", "plan", LLAMA) == 0
    text = capsys.readouterr().out
    assert "tp 4 x pp 1 = world_size 4" in text and "GPUs [4, 5, 6, 7]" in text
    assert "plan is valid" in text


def test_deploy_plan_reports_what_to_change(capsys):
    code = llmops(
        "deploy",
        "plan",
        "--model",
        "llama-3-8b",
        "--gpu",
        "h100",
        "--gpus",
        "8",
        "--tp",
        "3",
        "--json",
    )
    data = json.loads(capsys.readouterr().out)
    assert code == 1 and data["valid"] is False
    assert {
        "severity": "ERROR",
        "field": "tensor_parallel",
        "message": "tensor_parallel (3) does not divide num_attention_heads (32); use "
        "tensor_parallel 1, 2, 4 or 8",
    } in data["issues"]


def test_ports_not_in_the_plan_file_come_from_the_llmops_config(capsys):
    settings = Settings.model_validate(
        {"triton": {"endpoints": ["127.0.0.1:9001"], "llm_model": "ensemble"}}
    )
    assert llmops("deploy", "plan", LLAMA, "--json", settings=settings) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["serving"]["grpc_port"] == 9001
    assert any(i["field"] == "serving.grpc_port" for i in data["issues"])  # BLS wants 8001


def test_render_writes_everything_once(tmp_path, capsys):
    out = tmp_path / "llama"
    assert llmops("deploy", "render", LLAMA, "--out", str(out)) == 0
    assert (out / "model_repository/tensorrt_llm/config.pbtxt").is_file()
    assert (out / "scripts/build_engine.sh").stat().st_mode & 0o111
    summary = json.loads((out / "plan.json").read_text())
    assert summary["plan"]["gpu_ids"] == [4, 5, 6, 7] and summary["valid"] is True
    assert "scripts/install_model_code.sh" in capsys.readouterr().out
    with pytest.raises(FailedPreconditionError, match="--force"):
        llmops("deploy", "render", LLAMA, "--out", str(out))
    assert llmops("deploy", "render", LLAMA, "--out", str(out), "--force") == 0


def test_render_refuses_an_invalid_plan(tmp_path, capsys):
    code = llmops(
        "deploy",
        "render",
        "--model",
        "llama-2-70b",
        "--gpu",
        "l4",
        "--gpus",
        "1",
        "--out",
        str(tmp_path / "x"),
    )
    assert code == 1 and not (tmp_path / "x").exists()
    assert "plan is NOT valid" in capsys.readouterr().out


def test_launch_prints_the_mpirun_line(capsys):
    assert llmops("deploy", "launch", LLAMA, "--json") == 0
    command = json.loads(capsys.readouterr().out)["commands"][0]
    assert command["env"] == {"CUDA_VISIBLE_DEVICES": "4,5,6,7"}
    assert command["argv"][:5] == [
        "mpirun",
        "--allow-run-as-root",
        "-n",
        "1",
        "/opt/tritonserver/bin/tritonserver",
    ]
    assert command["argv"].count(":") == 3


@pytest.mark.skipif(shutil.which("nvidia-smi") is not None, reason="this machine has a GPU")
def test_launch_execute_fails_early_here(tmp_path, capsys):
    out = tmp_path / "llama"
    assert llmops("deploy", "render", LLAMA, "--out", str(out)) == 0
    capsys.readouterr()
    code = llmops("deploy", "launch", LLAMA, "--deploy-dir", str(out), "--execute", "--json")
    data = json.loads(capsys.readouterr().out)
    assert code == 1 and data["launched"] is False
    problems = "\n".join(data["problems"])
    assert "no NVIDIA GPU here: nvidia-smi is not on PATH" in problems
    assert "Triton has no TensorRT-LLM backend here" in problems
    assert "run scripts/build_engine.sh first" in problems
    assert "run scripts/install_model_code.sh first" in problems
