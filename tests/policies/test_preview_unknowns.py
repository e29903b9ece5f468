"""The pack on a real `pulumi preview`: values not known until apply never crash it or hide a leak.

On a stack's first preview the engine knows no resource ID and no computed output (principal IDs,
endpoints, the resource group's name), so every input built from them is Pulumi's unknown
sentinel. The mocks below answer that way; the policies must still report every known leak as
mandatory and say "cannot check yet" (advisory) for what they cannot read.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import pulumi
import pytest

from preflight import harness
from preflight.evaluate import evaluate
from preflight.harness import load_stack_config, run_program
from preflight.model import UNKNOWN

REPO = Path(__file__).resolve().parents[2]
PROGRAMS = Path(__file__).resolve().parent / "programs"
PREFIX = "urn:pulumi:dev::secure-azure-ai::pulumi:pulumi:Stack$"
ROTATOR = "00000000-0000-4000-8000-0000000000e1"
VAULT_PUBLIC = "key-vault-restricts-public-network"
# The dev stack keeps the account and the vault public and sends no AI account logs: advisories.
DESIGN_ADVISORIES = {
    "ai-account-restricts-public-network",
    "ai-account-sends-diagnostic-logs",
    VAULT_PUBLIC,
}


class FirstPreviewMocks(harness.AzureShapedMocks):
    """What a first preview knows: the inputs given as plain values, nothing Azure computes."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict]:
        _, outputs = super().new_resource(args)
        inputs = harness._sentinel_unknowns(dict(args.inputs))
        known: dict[str, Any] = {}
        for key, value in harness._sentinel_unknowns(outputs).items():
            if key not in inputs or key == "name":
                known[key] = UNKNOWN
            elif isinstance(value, dict) and isinstance(inputs[key], dict):
                known[key] = {k: v if k in inputs[key] else UNKNOWN for k, v in value.items()}
            else:
                known[key] = value
        return "", known  # no ID yet: the SDK resolves it as unknown


def test_a_leak_next_to_an_unknown_value_is_still_mandatory() -> None:
    key = secrets.token_hex(16)
    plan = run_program(PROGRAMS / "unknown_at_preview", {"secure-azure-ai:syntheticKey": key})
    violations = evaluate(plan)

    settings = "azure-native:web:WebAppApplicationSettings::settings"
    assert {(v.policy, v.enforcement, v.urn.removeprefix(PREFIX)) for v in violations} == {
        ("no-hardcoded-secrets", "mandatory", settings),
        ("app-settings-use-key-vault-references", "mandatory", settings),
    }
    # The unknown resourceGroupName beside it is a name: it cannot carry a key, so no advisory.
    assert not any(key in v.message for v in violations)


@pytest.mark.parametrize(
    ("auth_mode", "rotator", "cannot_check_yet"),
    [
        (
            "keyVault",
            False,
            {
                "app-settings-use-key-vault-references",
                "role-assignments-least-privilege",
                "secrets-user-scoped-to-secret",
                "web-app-can-read-its-key-vault-references",
            },
        ),
        (
            "keyVault",
            True,
            {
                "app-settings-use-key-vault-references",
                "role-assignments-least-privilege",
                "secrets-user-scoped-to-secret",
                "web-app-can-read-its-key-vault-references",
            },
        ),
        ("keyless", False, {"web-app-can-read-its-key-vault-references"}),
    ],
)
def test_the_dev_stack_on_its_first_real_preview_fails_nothing_mandatory(
    monkeypatch: pytest.MonkeyPatch, auth_mode: str, rotator: bool, cannot_check_yet: set
) -> None:
    monkeypatch.setattr(harness, "AzureShapedMocks", FirstPreviewMocks)
    config = load_stack_config(REPO / "Pulumi.dev.yaml")
    config["secure-azure-ai:authMode"] = auth_mode
    if rotator:
        config["secure-azure-ai:rotatorPrincipalId"] = ROTATOR

    plan = run_program(REPO, config)
    violations = evaluate(plan)

    # The first preview really is blind: principal IDs and scopes are unknown.
    assignments = plan.of_type("azure-native:authorization:RoleAssignment")
    assert assignments and all(a.inputs["scope"] == UNKNOWN for a in assignments)
    assert [v for v in violations if v.enforcement != "advisory"] == []
    by_design = [v for v in violations if v.policy in DESIGN_ADVISORIES]
    assert {v.policy for v in by_design} == (
        DESIGN_ADVISORIES if auth_mode == "keyVault" else DESIGN_ADVISORIES - {VAULT_PUBLIC}
    )
    rest = [v for v in violations if v not in by_design]
    assert all(v.message.startswith("cannot check yet: ") for v in rest)
    assert {v.policy for v in rest} - {"no-hardcoded-secrets"} == cannot_check_yet
