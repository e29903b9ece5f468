"""Golden reports of the dev stack: the markdown PR comment and the JSON report, byte for byte.

A deliberate change to the program, the policies or the renderer changes these reports; review the
diff and regenerate them with ``UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/preflight``.
docs/example-pr-comment.md is the same markdown report, kept current by the same switch.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import jsonschema
import pytest

from preflight.evaluate import evaluate
from preflight.model import Plan, Violation
from preflight.preview import plan_stack
from preflight.render import marker, render
from tests.preflight.test_render import SCHEMA, assert_mermaid_parses

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).parent / "golden"
EXAMPLE_COMMENT = ROOT / "docs" / "example-pr-comment.md"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"


@pytest.fixture(scope="module")
def dev() -> tuple[Plan, list[Violation]]:
    plan = plan_stack(ROOT, "dev")
    return plan, evaluate(plan)


def check_golden(path: Path, actual: str) -> None:
    if UPDATE:
        path.write_text(actual, "utf-8")
    assert path.exists(), f"{path} is missing; create it with UPDATE_GOLDEN=1"
    assert actual == path.read_text("utf-8"), f"{path} is stale; review, then UPDATE_GOLDEN=1"


@pytest.mark.parametrize(("fmt", "file"), [("markdown", "dev.md"), ("json", "dev.json")])
def test_dev_stack_report_matches_its_golden_file(
    dev: tuple[Plan, list[Violation]], fmt: str, file: str
) -> None:
    check_golden(GOLDEN / file, render(*dev, fmt))


def test_example_pr_comment_is_the_dev_stack_report(dev: tuple[Plan, list[Violation]]) -> None:
    check_golden(EXAMPLE_COMMENT, render(*dev, "markdown"))


def test_dev_stack_json_report_follows_the_schema(dev: tuple[Plan, list[Violation]]) -> None:
    document = json.loads(render(*dev, "json"))
    jsonschema.Draft202012Validator(SCHEMA).validate(document)
    assert (document["version"], document["project"], document["stack"]) == (
        1,
        "secure-azure-ai",
        "dev",
    )


def test_dev_stack_comment_has_its_marker_and_a_parsable_flow(
    dev: tuple[Plan, list[Violation]],
) -> None:
    markdown = render(*dev, "markdown")
    assert markdown.splitlines()[0] == marker("dev")
    (block,) = re.findall(r"```mermaid\n(.*?)\n```", markdown, flags=re.DOTALL)
    assert_mermaid_parses(block)
    lines = block.splitlines()
    # Key Vault mode: app -> identity -> secret -> account, with the role on the identity's edge.
    # Two identities run as something: the app's, and Event Grid's (it dead-letters with it).
    assert sum('-->|"runs as"|' in line for line in lines) == 2
    assert sum('-->|"Key Vault Secrets User"|' in line for line in lines) == 1
    assert sum('-->|"holds the API key of"|' in line for line in lines) == 1


def test_dev_stack_reports_are_deterministic(dev: tuple[Plan, list[Violation]]) -> None:
    again = plan_stack(ROOT, "dev")
    for fmt in ("text", "markdown", "json"):
        assert render(again, evaluate(again), fmt) == render(*dev, fmt)


def test_keyless_stack_flow_goes_app_identity_account(tmp_path: Path) -> None:
    """The real program in keyless mode: no secret in the flow, the OpenAI User role on the edge."""
    config = (ROOT / "Pulumi.dev.yaml").read_text("utf-8")
    assert "secure-azure-ai:authMode: keyVault" in config
    stack_file = tmp_path / "Pulumi.keyless.yaml"
    stack_file.write_text(config.replace("authMode: keyVault", "authMode: keyless"), "utf-8")
    plan = plan_stack(ROOT, "keyless", stack_file)
    document = json.loads(render(plan, evaluate(plan), "json"))
    jsonschema.Draft202012Validator(SCHEMA).validate(document)
    flow = document["flow"]
    assert flow["mode"] == "keyless"
    kinds = {n["id"]: n["kind"] for n in flow["nodes"]}
    assert sorted((kinds[e["from"]], e["label"], kinds[e["to"]]) for e in flow["edges"]) == [
        ("app", "runs as", "identity"),
        ("identity", "Cognitive Services OpenAI User", "aiAccount"),
    ]
    markdown = render(plan, evaluate(plan), "markdown")
    (block,) = re.findall(r"```mermaid\n(.*?)\n```", markdown, flags=re.DOTALL)
    assert_mermaid_parses(block)
    assert markdown.splitlines()[0] == marker("keyless")
