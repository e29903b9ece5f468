"""The GitHub workflows: schema-valid, zizmor-clean, and holding the security properties we rely on.

The workflows cannot run here (no Azure, no Pulumi CLI); what can be checked offline is checked:
the vendored GitHub schemas (check-jsonschema), zizmor's audits, and the properties below, each
stated as a function that returns the problems it finds, so a broken workflow names its fault.
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.workflows.github import (
    ACTION_FILES,
    ACTIONS,
    BIN,
    GITHUB,
    ROOT,
    WORKFLOW_FILES,
    WORKFLOWS,
    action_name,
    step_uses,
)

PINNED = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40} # v\d+(\.\d+)*$")
USES_LINE = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<ref>.+?)\s*$")


def job_permissions(job: dict[str, Any]) -> dict[str, str]:
    permissions = job.get("permissions", {})
    return permissions if isinstance(permissions, dict) else {}


# -- the properties, each returning the problems it finds ---------------------------------------


def top_level_permission_problems(name: str, workflow: dict[str, Any]) -> list[str]:
    permissions = workflow.get("permissions")
    if permissions is None:
        return [f"{name}: no top-level permissions (defaults to the repository's, often write)"]
    if isinstance(permissions, str):
        return [] if permissions in ("read-all", "{}") else [f"{name}: top level {permissions}"]
    return [
        f"{name}: top-level permission {scope}: {level}"
        for scope, level in permissions.items()
        if level not in ("read", "none")
    ]


# Which write permission a job may hold, and the actions that need it.
WRITE_NEEDS = {
    "id-token": {"azure/login", "pulumi/auth-actions"},
    "security-events": {"github/codeql-action/upload-sarif"},
    "pull-requests": {"actions/github-script", "pulumi/actions"},
}


def job_permission_problems(name: str, workflow: dict[str, Any]) -> list[str]:
    problems = []
    for job_id, job in workflow["jobs"].items():
        used = {action_name(ref) for ref in step_uses(job.get("steps", []))}
        permissions = job_permissions(job)
        if "permissions" not in job:
            problems.append(f"{name}/{job_id}: no job-level permissions")
        for scope, level in permissions.items():
            if level != "write":
                continue
            needs = WRITE_NEEDS.get(scope)
            if needs is None:
                problems.append(f"{name}/{job_id}: {scope}: write is never needed")
            elif not used & needs:
                problems.append(f"{name}/{job_id}: {scope}: write without {sorted(needs)}")
        if {"azure/login", "pulumi/auth-actions"} & used and permissions.get("id-token") != "write":
            problems.append(f"{name}/{job_id}: signs in by OIDC without id-token: write")
    return problems


def secrets_problems(path: Path) -> list[str]:
    """No `secrets.` anywhere: every sign-in is OIDC and every identifier is a variable."""
    return [
        f"{path.name}:{number}: {line.strip()}"
        for number, line in enumerate(path.read_text("utf-8").splitlines(), 1)
        if "secrets." in line or "secrets[" in line
    ]


def pin_problems(path: Path) -> list[str]:
    problems = []
    for number, line in enumerate(path.read_text("utf-8").splitlines(), 1):
        match = USES_LINE.match(line)
        if not match:
            continue
        ref = match["ref"]
        if ref.startswith("./.github/actions/"):
            if ref not in ACTIONS:
                problems.append(f"{path.name}:{number}: no local action {ref}")
        elif not PINNED.match(ref):
            problems.append(f"{path.name}:{number}: not a 40-hex SHA with its tag: {ref}")
    return problems


def timeout_problems(name: str, workflow: dict[str, Any]) -> list[str]:
    return [
        f"{name}/{job_id}: timeout-minutes missing or not in 1..60"
        for job_id, job in workflow["jobs"].items()
        if not (isinstance(job.get("timeout-minutes"), int) and 1 <= job["timeout-minutes"] <= 60)
    ]


def pulumi_commands(job: dict[str, Any]) -> list[str]:
    return [
        str(step.get("with", {}).get("command", ""))
        for step in job.get("steps", [])
        if action_name(step.get("uses", "")) == "pulumi/actions"
    ]


def concurrency_problems(name: str, workflow: dict[str, Any]) -> list[str]:
    """Jobs that update a stack queue per stack and are never cancelled midway."""
    problems = []
    for job_id, job in workflow["jobs"].items():
        if "up" not in pulumi_commands(job):
            continue
        concurrency = job.get("concurrency")
        if not isinstance(concurrency, dict):
            problems.append(f"{name}/{job_id}: updates a stack without job-level concurrency")
            continue
        group = str(concurrency.get("group", ""))
        # Each deployment job runs in its stack's environment: the group must name that stack.
        per_stack = str(job.get("environment")) in group
        if not per_stack:
            problems.append(f"{name}/{job_id}: concurrency group {group!r} is not per stack")
        if concurrency.get("cancel-in-progress") is not False:
            problems.append(f"{name}/{job_id}: a deployment may be cancelled in progress")
    return problems


def checkout_problems(name: str, workflow: dict[str, Any]) -> list[str]:
    return [
        f"{name}/{job_id}: checkout keeps the token in .git/config"
        for job_id, job in workflow["jobs"].items()
        for step in job.get("steps", [])
        if action_name(step.get("uses", "")) == "actions/checkout"
        and step.get("with", {}).get("persist-credentials") is not False
    ]


def azure_identity_problems(name: str, workflow: dict[str, Any]) -> list[str]:
    """Azure identifiers come from repository variables; fork pull requests never sign in."""
    problems = []
    on = workflow["on"]
    for job_id, job in workflow["jobs"].items():
        for step in job.get("steps", []):
            if step.get("uses") != "./.github/actions/sign-in":
                continue
            for key in ("client-id", "tenant-id", "subscription-id"):
                if not re.fullmatch(r"\$\{\{ vars\.[A-Z_]+ \}\}", str(step["with"].get(key))):
                    problems.append(f"{name}/{job_id}: {key} is not a repository variable")
            condition = str(job.get("if", ""))
            fork_guard = "github.event.pull_request.head.repo.full_name == github.repository"
            if "pull_request" in on and fork_guard not in condition:
                problems.append(f"{name}/{job_id}: signs in to Azure on fork pull requests")
        env = job.get("env", {})
        if any(key.startswith("ARM_") for key in env) and env.get("ARM_USE_OIDC") != "true":
            problems.append(f"{name}/{job_id}: ARM_* credentials without ARM_USE_OIDC")
    return problems


POLICY_VENV_STEP = "make policy-venv"


def uses_policy_pack(step: dict[str, Any]) -> bool:
    inputs = step.get("with", {})
    return (
        action_name(step.get("uses", "")) == "pulumi/actions" and bool(inputs.get("policyPacks"))
    ) or "--policy-pack" in str(step.get("run", ""))


def policy_venv_problems(name: str, workflow: dict[str, Any]) -> list[str]:
    """Each pulumi command with the pack runs after a step that creates the pack's virtualenv.

    The CLI starts `<pack>/venv/bin/python -m pulumi.policy` and never creates that virtualenv
    (pulumi/pulumi sdk/python/cmd/pulumi-language-python/main.go RunPlugin).
    """
    problems = []
    for job_id, job in workflow["jobs"].items():
        created = False
        for index, step in enumerate(job.get("steps", [])):
            if str(step.get("run", "")).strip() == POLICY_VENV_STEP:
                created = True
            elif uses_policy_pack(step) and not created:
                problems.append(
                    f"{name}/{job_id}: step {index} uses the pack before `{POLICY_VENV_STEP}`"
                )
    return problems


ALL_CHECKS = (
    top_level_permission_problems,
    job_permission_problems,
    timeout_problems,
    concurrency_problems,
    checkout_problems,
    azure_identity_problems,
    policy_venv_problems,
)


# -- offline validators ---------------------------------------------------------------------------


def run_tool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)


def test_the_workflows_and_actions_exist() -> None:
    assert [p.name for p in WORKFLOW_FILES] == [
        "code-scanning.yml",
        "deploy.yml",
        "pull-request.yml",
        "rotation-status.yml",
    ]
    assert sorted(ACTIONS) == [
        "./.github/actions/python-env",
        "./.github/actions/sign-in",
        "./.github/actions/stack-outputs",
        "./.github/actions/stacks",
    ]


def test_workflows_match_githubs_workflow_schema() -> None:
    result = run_tool(
        str(BIN / "check-jsonschema"),
        "--builtin-schema",
        "vendor.github-workflows",
        *map(str, WORKFLOW_FILES),
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_composite_actions_match_githubs_action_schema() -> None:
    result = run_tool(
        str(BIN / "check-jsonschema"),
        "--builtin-schema",
        "vendor.github-actions",
        *map(str, ACTION_FILES),
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_dependabot_config_matches_its_schema_and_watches_every_action() -> None:
    path = GITHUB / "dependabot.yml"
    result = run_tool(
        str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.dependabot", str(path)
    )
    assert result.returncode == 0, result.stdout + result.stderr
    (update,) = yaml.safe_load(path.read_text("utf-8"))["updates"]
    assert update["package-ecosystem"] == "github-actions"
    assert update["directories"] == ["/", "/.github/actions/*"]


def test_zizmor_finds_nothing_even_as_an_auditor() -> None:
    result = run_tool(
        str(BIN / "zizmor"), "--offline", "--persona", "auditor", "--format", "json", ".github"
    )
    findings = json.loads(result.stdout or "[]")
    assert [(f["ident"], f["locations"][0]["symbolic"]["key"]) for f in findings] == []
    assert result.returncode == 0, result.stderr


def test_schema_check_catches_a_broken_workflow(tmp_path: Path) -> None:
    broken = copy.deepcopy(WORKFLOWS["deploy.yml"])
    broken["jobs"]["dev"]["timeout-minutes"] = "an hour"
    broken["jobs"]["dev"]["runs-on"] = {"unexpected": True}
    path = tmp_path / "broken.yml"
    path.write_text(yaml.safe_dump(broken), "utf-8")
    result = run_tool(
        str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(path)
    )
    assert result.returncode == 1


def test_zizmor_catches_an_unpinned_action_and_a_persisted_token(tmp_path: Path) -> None:
    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "bad.yml").write_text(
        "on: push\npermissions: {}\njobs:\n  j:\n    runs-on: ubuntu-24.04\n"
        "    timeout-minutes: 5\n    permissions: {}\n    steps:\n"
        "      - uses: actions/checkout@v4\n",
        "utf-8",
    )
    result = run_tool(str(BIN / "zizmor"), "--offline", "--format", "json", str(tmp_path))
    idents = {f["ident"] for f in json.loads(result.stdout)}
    assert {"unpinned-uses", "artipacked"} <= idents


# -- the security properties ----------------------------------------------------------------------


@pytest.mark.parametrize("check", ALL_CHECKS, ids=lambda c: c.__name__)
def test_workflow_property_holds(check: Any) -> None:
    assert [p for name, wf in WORKFLOWS.items() for p in check(name, wf)] == []


@pytest.mark.parametrize(
    "path", WORKFLOW_FILES + ACTION_FILES, ids=lambda p: p.parent.name + p.name
)
def test_no_secrets_context_anywhere(path: Path) -> None:
    assert secrets_problems(path) == []


@pytest.mark.parametrize(
    "path", WORKFLOW_FILES + ACTION_FILES, ids=lambda p: p.parent.name + p.name
)
def test_every_action_is_pinned_to_a_commit(path: Path) -> None:
    assert pin_problems(path) == []


def test_oidc_is_granted_exactly_to_the_jobs_that_sign_in() -> None:
    with_oidc = sorted(
        f"{name}/{job_id}"
        for name, wf in WORKFLOWS.items()
        for job_id, job in wf["jobs"].items()
        if job_permissions(job).get("id-token") == "write"
    )
    assert with_oidc == [
        "deploy.yml/dev",
        "deploy.yml/promote",
        "pull-request.yml/pulumi-preview",
        "rotation-status.yml/status",
    ]


def test_only_the_scan_job_writes_security_events() -> None:
    writers = [
        f"{name}/{job_id}"
        for name, wf in WORKFLOWS.items()
        for job_id, job in wf["jobs"].items()
        if job_permissions(job).get("security-events") == "write"
    ]
    assert writers == ["code-scanning.yml/secret-scan"]


def test_every_pulumi_command_with_the_pack_is_preceded_by_its_virtualenv() -> None:
    using = [
        (name, job_id)
        for name, workflow in WORKFLOWS.items()
        for job_id, job in workflow["jobs"].items()
        if any(uses_policy_pack(step) for step in job.get("steps", []))
    ]
    assert sorted(using) == [
        ("deploy.yml", "dev"),
        ("deploy.yml", "promote"),
        ("pull-request.yml", "pulumi-preview"),
    ]


def test_the_policy_venv_target_builds_where_the_cli_looks() -> None:
    # PulumiPolicy.yaml's `virtualenv` option, relative to the pack's folder, is what the CLI runs.
    manifest = yaml.safe_load((ROOT / "policies" / "PulumiPolicy.yaml").read_text("utf-8"))
    venv = f"policies/{manifest['runtime']['options']['virtualenv']}"
    commands = run_tool("make", "-n", "-B", "--no-print-directory", "policy-venv").stdout
    assert f"-m venv --clear {venv}\n" in commands
    assert f"{venv}/bin/python -m pip install" in commands
    assert "-r policies/requirements.txt -c constraints.txt" in commands


def test_deployments_use_the_policy_pack_and_environments() -> None:
    jobs = WORKFLOWS["deploy.yml"]["jobs"]
    for job_id in ("dev", "promote"):
        (step,) = [s for s in jobs[job_id]["steps"] if s.get("uses", "").startswith("pulumi/")]
        assert step["with"]["command"] == "up"
        assert step["with"]["policyPacks"] == "policies"
    assert jobs["dev"]["environment"] == "dev"
    assert jobs["promote"]["environment"] == "${{ matrix.stack }}"
    assert jobs["promote"]["needs"] == ["test", "dev"]


def test_pull_request_preview_comments_in_place_with_the_policy_pack() -> None:
    job = WORKFLOWS["pull-request.yml"]["jobs"]["pulumi-preview"]
    (step,) = [s for s in job["steps"] if s.get("uses", "").startswith("pulumi/actions@")]
    assert {k: step["with"][k] for k in ("command", "policyPacks", "edit-pr-comment")} == {
        "command": "preview",
        "policyPacks": "policies",
        "edit-pr-comment": True,
    }
    assert step["with"]["comment-on-pr"] is True


# -- the checks themselves catch what they are for ------------------------------------------------


def broken(name: str, mutate: Any) -> dict[str, Any]:
    workflow = copy.deepcopy(WORKFLOWS[name])
    mutate(workflow)
    return workflow


def test_checks_catch_broken_workflows() -> None:
    deploy, pr = "deploy.yml", "pull-request.yml"
    cases = [
        (top_level_permission_problems, deploy, lambda w: w.pop("permissions")),
        (
            top_level_permission_problems,
            deploy,
            lambda w: w.update(permissions={"contents": "write"}),
        ),
        (
            job_permission_problems,
            pr,
            lambda w: w["jobs"]["test"]["permissions"].update({"id-token": "write"}),
        ),
        (
            job_permission_problems,
            deploy,
            lambda w: w["jobs"]["dev"]["permissions"].pop("id-token"),
        ),
        (timeout_problems, pr, lambda w: w["jobs"]["preflight"].pop("timeout-minutes")),
        (
            concurrency_problems,
            deploy,
            lambda w: w["jobs"]["promote"]["concurrency"].update(group="deploy"),
        ),
        (
            concurrency_problems,
            deploy,
            lambda w: w["jobs"]["dev"]["concurrency"].update({"cancel-in-progress": True}),
        ),
        (concurrency_problems, deploy, lambda w: w["jobs"]["dev"].pop("concurrency")),
        (
            checkout_problems,
            pr,
            lambda w: w["jobs"]["test"]["steps"][0].pop("with"),
        ),
        (
            azure_identity_problems,
            pr,
            lambda w: w["jobs"]["pulumi-preview"].update({"if": "vars.X != ''"}),
        ),
        (
            azure_identity_problems,
            deploy,
            lambda w: w["jobs"]["dev"]["steps"][2]["with"].update(
                {"client-id": "${{ secrets.AZURE_CLIENT_ID }}"}
            ),
        ),
    ]
    cases.append(
        (
            policy_venv_problems,
            pr,
            lambda w: w["jobs"]["pulumi-preview"]["steps"].remove(
                {
                    "name": "Create the policy pack's virtualenv (the CLI runs "
                    "policies/venv/bin/python)",
                    "run": POLICY_VENV_STEP,
                }
            ),
        )
    )
    for check, name, mutate in cases:
        assert check(name, broken(name, mutate)), f"{check.__name__} missed a break in {name}"


def test_pin_and_secret_checks_catch_their_faults(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "steps:\n"
        "  - uses: actions/checkout@v4\n"
        "  - uses: azure/login@a457da9ea143d694b1b9c7c869ebb04ebe844ef5\n"
        "  - uses: ./.github/actions/missing\n"
        "    env:\n"
        "      TOKEN: ${{ secrets.PULUMI_ACCESS_TOKEN }}\n",
        "utf-8",
    )
    assert len(pin_problems(bad)) == 3
    assert secrets_problems(bad) == ["bad.yml:6: TOKEN: ${{ secrets.PULUMI_ACCESS_TOKEN }}"]
