"""The key write's own sign-in in CI: every `pulumi up` step gives the dynamic provider what
azure_edge/credentials.py needs for a fresh GitHub OIDC assertion per token.

GitHub sets ACTIONS_ID_TOKEN_REQUEST_URL/_TOKEN in a job with `permissions: id-token: write`;
azure/login exports no AZURE_* variable, so the step itself must carry the identity's client and
tenant IDs, the same ones the job signs in with.
"""

from __future__ import annotations

from typing import Any

from components.azure_edge import credentials as deploy_credential
from tests.workflows.github import ACTIONS, WORKFLOWS, action_name

PULUMI_ACTION = "pulumi/actions"
SIGN_IN = "./.github/actions/sign-in"


def _up_jobs() -> list[tuple[str, dict[str, Any]]]:
    """Every job with a step running `pulumi up`."""
    return [
        (f"{name}/{job_id}", job)
        for name, workflow in WORKFLOWS.items()
        for job_id, job in workflow["jobs"].items()
        if any(_is_up(step) for step in job.get("steps", []))
    ]


def _is_up(step: dict[str, Any]) -> bool:
    uses = action_name(step.get("uses", ""))
    return uses == PULUMI_ACTION and step.get("with", {}).get("command") == "up"


def test_every_pulumi_up_step_carries_the_identity_it_signed_in_with() -> None:
    jobs = _up_jobs()
    assert [name for name, _ in jobs] == ["deploy.yml/dev", "deploy.yml/promote"]
    for name, job in jobs:
        [sign_in] = [s for s in job["steps"] if s.get("uses") == SIGN_IN]
        [up] = [s for s in job["steps"] if _is_up(s)]
        assert job["permissions"]["id-token"] == "write", name
        assert up.get("env") == {
            "AZURE_CLIENT_ID": sign_in["with"]["client-id"],
            "AZURE_TENANT_ID": sign_in["with"]["tenant-id"],
        }, name


def test_the_step_environment_makes_the_provider_choose_a_fresh_oidc_assertion() -> None:
    # What the provider process sees on a runner: GitHub's OIDC request variables (id-token:
    # write) plus the step's env, the ${{ vars.* }} expressions standing for their values.
    for name, job in _up_jobs():
        [up] = [s for s in job["steps"] if _is_up(s)]
        runner = {
            "ACTIONS_ID_TOKEN_REQUEST_URL": "https://token.actions.githubusercontent.com/x",
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "runtime-token",
            **up["env"],
        }
        assert deploy_credential.choose(runner).kind == deploy_credential.GITHUB_OIDC, name


def test_the_sign_in_action_exports_no_azure_identity_variables() -> None:
    # If azure/login (or our composite action) ever exported AZURE_CLIENT_ID itself, the step
    # env above would be redundant; this pins the reason it is there.
    steps = ACTIONS[SIGN_IN]["runs"]["steps"]
    assert not any("AZURE_CLIENT_ID" in str(step.get("env", {})) for step in steps)
