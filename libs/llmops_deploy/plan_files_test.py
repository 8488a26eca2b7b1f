"""The example plans under deploy/triton/plans and the compose file rendered from one."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmops_deploy import artifacts, load_plan_file, prepare

TRITON = Path(__file__).resolve().parents[2] / "deploy" / "triton"
PLANS = sorted((TRITON / "plans").glob("*.yaml"))


def test_the_examples_are_there():
    assert len(PLANS) >= 4


@pytest.mark.parametrize("path", PLANS, ids=lambda p: p.stem)
def test_every_example_plan_is_valid_and_renders(path):
    plan_file, base = load_plan_file(path)
    deployment = prepare(plan_file.plan, plan_file.serving, plan_file.model_spec(base))
    assert deployment.valid, [str(i) for i in deployment.issues]
    assert deployment.validation.estimate.fits
    files = artifacts(deployment)
    assert files["scripts/launch-0.sh"]


def test_the_checked_in_compose_file_is_the_rendered_one():
    """deploy/triton/compose.yaml is `llmops deploy render` of the Llama-3-70B example."""
    plan_file, base = load_plan_file(TRITON / "plans" / "llama-3-70b-h100-tp4.yaml")
    deployment = prepare(plan_file.plan, plan_file.serving, plan_file.model_spec(base))
    assert (TRITON / "compose.yaml").read_text() == artifacts(deployment)["compose.yaml"]
