"""The workflows' own shell and JavaScript steps, run for real: bash and jq as on the runner, node
for the github-script step, the real preview and scan commands; only `pulumi` and the GitHub REST
client are stand-ins.
"""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
from pathlib import Path

import pytest

from preflight.evaluate import evaluate
from preflight.preview import plan_stack
from preflight.render import render
from tests.workflows.github import ACTIONS, ROOT, WORKFLOWS, action_name


def run_step(script: str, cwd: Path, env: dict[str, str]) -> dict[str, str]:
    """Run a step's script as the runner does (bash -e, pipefail); return its outputs by name."""
    outputs, summary = cwd / "github-output", cwd / "step-summary"
    outputs.touch()
    summary.touch()
    result = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
        cwd=cwd,
        env={**env, "GITHUB_OUTPUT": str(outputs), "GITHUB_STEP_SUMMARY": str(summary)},
        check=True,
        timeout=60,
        capture_output=True,
        text=True,
    )
    found = dict(line.split("=", 1) for line in outputs.read_text("utf-8").splitlines())
    return {**found, "summary": summary.read_text("utf-8"), "stdout": result.stdout}


def test_stacks_action_lists_every_stack_file_and_those_after_dev(tmp_path: Path) -> None:
    for name in ("Pulumi.yaml", "Pulumi.dev.yaml", "Pulumi.prod.yaml", "Pulumi.staging.yaml"):
        (tmp_path / name).write_text("config: {}\n", "utf-8")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "Pulumi.other.yaml").write_text("config: {}\n", "utf-8")
    (step,) = ACTIONS["./.github/actions/stacks"]["runs"]["steps"]
    outputs = run_step(step["run"], tmp_path, {"PATH": "/usr/bin:/bin"})
    assert json.loads(outputs["all"]) == ["dev", "prod", "staging"]
    assert json.loads(outputs["promoted"]) == ["prod", "staging"]


def test_stack_outputs_action_tables_the_outputs_as_pulumi_prints_them(tmp_path: Path) -> None:
    # A stand-in for the CLI: `pulumi stack output --json` prints secrets as "[secret]".
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "pulumi"
    fake.write_text(
        "#!/bin/sh\n"
        '[ "$*" = "stack output --stack org/dev --json" ] || exit 9\n'
        'printf \'{"vaultUri": "https://kv.vault.azure.net/", "apiKey": "[secret]", '
        '"apps": {"web": {"hostName": "web.azurewebsites.net"}}}\'\n',
        "utf-8",
    )
    fake.chmod(0o755)
    (step,) = ACTIONS["./.github/actions/stack-outputs"]["runs"]["steps"]
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "STACK_REF": "org/dev", "SUMMARY": "true"}
    outputs = run_step(step["run"], tmp_path, env)
    assert outputs["summary"] == (
        "### Stack outputs: org/dev\n\n| Output | Value |\n|---|---|\n"
        "| `vaultUri` | https://kv.vault.azure.net/ |\n"
        "| `apiKey` | [secret] |\n"
        '| `apps` | {"web":{"hostName":"web.azurewebsites.net"}} |\n'
    )
    assert json.loads((tmp_path / "stack-outputs.json").read_text("utf-8"))["apiKey"] == "[secret]"
    quiet_dir = tmp_path / "quiet"
    quiet_dir.mkdir()
    assert run_step(step["run"], quiet_dir, {**env, "SUMMARY": "false"})["summary"] == ""
    assert (quiet_dir / "stack-outputs.json").exists()


def test_preflight_step_reports_every_stack_and_flags_a_broken_one(tmp_path: Path) -> None:
    # The program and the environment, linked into a scratch checkout with one more stack file.
    for name in ("Pulumi.yaml", "Pulumi.dev.yaml", "__main__.py", "components", ".venv"):
        (tmp_path / name).symlink_to(ROOT / name)
    (tmp_path / "Pulumi.broken.yaml").write_text(
        "config:\n  secure-azure-ai:authMode: sometimes\n", "utf-8"
    )
    steps = WORKFLOWS["pull-request.yml"]["jobs"]["preflight"]["steps"]
    (step,) = [s for s in steps if s.get("id") == "preview"]
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "STACKS": '["broken","dev"]'}
    outputs = run_step(step["run"], tmp_path, env)
    assert outputs["failed"] == "1"
    assert (
        outputs["stdout"]
        == "::error title=preflight broken::no report (exit 2); see the log above\n"
    )
    assert sorted(p.name for p in (tmp_path / "preflight-reports").iterdir()) == ["dev.md"]
    dev_report = (tmp_path / "preflight-reports" / "dev.md").read_text("utf-8")
    plan = plan_stack(ROOT, "dev")
    assert dev_report == render(plan, evaluate(plan), "markdown")
    assert outputs["summary"] == dev_report


@pytest.mark.parametrize("with_credential", [False, True])
def test_scan_step_writes_sarif_and_records_the_verdict(
    tmp_path: Path, with_credential: bool
) -> None:
    (tmp_path / ".venv").symlink_to(ROOT / ".venv")
    (tmp_path / "settings.env").write_text("MODEL=gpt-4o-mini\n", "utf-8")
    if with_credential:
        # Made at run time: no key-like literal may sit in the repository.
        key = secrets.token_hex(16)
        (tmp_path / "leaky.env").write_text(f"AZURE_OPENAI_API_KEY={key}\n", "utf-8")
    steps = WORKFLOWS["code-scanning.yml"]["jobs"]["secret-scan"]["steps"]
    (step,) = [s for s in steps if s.get("id") == "scan"]
    outputs = run_step(step["run"], tmp_path, {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)})
    assert outputs["status"] == ("1" if with_credential else "0")
    sarif = json.loads((tmp_path / "preflight-scan.sarif").read_text("utf-8"))
    assert sarif["version"] == "2.1.0"
    located = [
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        for r in sarif["runs"][0]["results"]
    ]
    assert located == (["leaky.env"] if with_credential else [])


# The github-script step, run by node with a recording stand-in for the GitHub REST client.
GITHUB_SCRIPT_HARNESS = """
const fs = require('fs');
const [script, existing] = process.argv.slice(2).map((f) => fs.readFileSync(f, 'utf8'));
const calls = [];
const github = {
  rest: { issues: {
    listComments: 'listComments',
    updateComment: async (a) => { calls.push(['update', a.comment_id, a.body]); },
    createComment: async (a) => { calls.push(['create', a.issue_number, a.body]); },
  } },
  paginate: async (method, args) => {
    calls.push(['list', method, args.issue_number]);
    return JSON.parse(existing);
  },
};
const context = { repo: { owner: 'o', repo: 'r' }, payload: { pull_request: { number: 7 } } };
const core = { setFailed: (message) => calls.push(['failed', message]) };
const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor;
new AsyncFunction('require', 'github', 'context', 'core', script)(require, github, context, core)
  .then(() => process.stdout.write(JSON.stringify(calls)));
"""


def run_comment_step(tmp_path: Path, reports: dict[str, str], existing: list[dict]) -> list:
    node = shutil.which("node")
    assert node, "node (preinstalled on GitHub runners) runs the github-script step here"
    jobs = WORKFLOWS["pull-request.yml"]["jobs"]["preflight"]["steps"]
    (step,) = [s for s in jobs if action_name(s.get("uses", "")) == "actions/github-script"]
    (tmp_path / "preflight-reports").mkdir(parents=True)
    for name, body in reports.items():
        (tmp_path / "preflight-reports" / name).write_text(body, "utf-8")
    files = {"harness.js": GITHUB_SCRIPT_HARNESS, "script.js": step["with"]["script"]}
    files["existing.json"] = json.dumps(existing)
    for name, text in files.items():
        (tmp_path / name).write_text(text, "utf-8")
    result = subprocess.run(
        [node, "harness.js", "script.js", "existing.json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(result.stdout)


DEV_REPORT = "<!-- secure-azure-ai-preflight:dev -->\n## Preflight dev\n"
PROD_REPORT = "<!-- secure-azure-ai-preflight:prod -->\n## Preflight prod\n"
BOT = {"login": "github-actions[bot]"}


def test_report_comments_are_created_once_then_edited_in_place(tmp_path: Path) -> None:
    first = run_comment_step(tmp_path / "a", {"dev.md": DEV_REPORT, "prod.md": PROD_REPORT}, [])
    assert first == [
        ["list", "listComments", 7],
        ["create", 7, DEV_REPORT],
        ["create", 7, PROD_REPORT],
    ]
    existing = [
        {"id": 11, "user": {"login": "someone"}, "body": DEV_REPORT},  # a human quoting it
        {"id": 12, "user": BOT, "body": DEV_REPORT.replace("dev\n", "dev (old)\n")},
        {"id": 13, "user": BOT, "body": PROD_REPORT},
        {"id": 14, "user": BOT, "body": "<!-- secure-azure-ai-preflight:dev-eu -->\nother"},
    ]
    again = run_comment_step(
        tmp_path / "b", {"dev.md": DEV_REPORT, "prod.md": PROD_REPORT}, existing
    )
    assert again == [
        ["list", "listComments", 7],
        ["update", 12, DEV_REPORT],
        ["update", 13, PROD_REPORT],
    ]


def test_report_comment_refuses_a_file_without_marker_and_truncates_a_huge_one(
    tmp_path: Path,
) -> None:
    huge = DEV_REPORT + "x" * 70_000
    calls = run_comment_step(tmp_path, {"bad.md": "## no marker\n", "dev.md": huge}, [])
    assert calls[1] == ["failed", "bad.md: the first line is not a report marker"]
    (kind, number, body) = calls[2]
    assert (kind, number, body[:65000]) == ("create", 7, huge[:65000])
    assert body[65000:] == "\n\n(truncated: the full report is in the job summary)\n"
