"""Whole programs under Pulumi mocks, evaluated by the pack: the project passes, leaks fail."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from preflight.evaluate import evaluate
from preflight.harness import load_stack_config, run_program
from preflight.model import is_secret

REPO = Path(__file__).resolve().parents[2]
PROGRAMS = Path(__file__).resolve().parent / "programs"
PREFIX = "urn:pulumi:dev::secure-azure-ai::pulumi:pulumi:Stack$"
ROOT_STACK_URN = "urn:pulumi:dev::secure-azure-ai::pulumi:pulumi:Stack::secure-azure-ai-dev"


def _run(case: str, key: str):
    plan = run_program(PROGRAMS / case, {"secure-azure-ai:syntheticKey": key})
    return plan, evaluate(plan)


def test_the_dev_stack_passes_with_only_its_designed_advisories() -> None:
    plan = run_program(REPO, load_stack_config(REPO / "Pulumi.dev.yaml"))
    violations = evaluate(plan)
    account = next(r.urn for r in plan.resources if r.type.endswith("cognitiveservices:Account"))
    vault = next(r.urn for r in plan.resources if r.type.endswith("keyvault:Vault"))
    # The dev stack keeps the AI endpoint and the vault public (App Service without VNet
    # integration reaches them that way), with no IP rules, and sends only the vault's audit log:
    # advisory by design, nothing mandatory.
    assert [(v.policy, v.enforcement, v.urn) for v in violations] == [
        ("ai-account-restricts-public-network", "advisory", account),
        ("key-vault-restricts-public-network", "advisory", vault),
        ("ai-account-sends-diagnostic-logs", "advisory", account),
    ]


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        (
            "settings_resource",
            {
                ("no-hardcoded-secrets", "azure-native:web:WebAppApplicationSettings::settings"),
                (
                    "app-settings-use-key-vault-references",
                    "azure-native:web:WebAppApplicationSettings::settings",
                ),
            },
        ),
        (
            "connection_string",
            {
                ("no-hardcoded-secrets", "azure-native:web:WebApp::site"),
                ("app-settings-use-key-vault-references", "azure-native:web:WebApp::site"),
            },
        ),
        ("tag", {("no-hardcoded-secrets", "azure-native:resources:ResourceGroup::rg")}),
        (
            "container",
            {("no-hardcoded-secrets", "azure-native:containerinstance:ContainerGroup::worker")},
        ),
        (
            "secret_output",
            {
                ("no-hardcoded-secrets", "azure-native:web:WebApp::site"),
                ("app-settings-use-key-vault-references", "azure-native:web:WebApp::site"),
            },
        ),
        (
            # listAccountKeys answered with a synthetic key (the preview's invoke mock), then
            # exported and copied into a secret: both land in Pulumi state.
            "key_from_invoke",
            {
                (
                    "key-vault-secret-value-stays-out-of-state",
                    "azure-native:keyvault:Secret::ai-key",
                ),
                ("stack-outputs-hold-no-credential", ROOT_STACK_URN),
            },
        ),
    ],
)
def test_a_program_leaking_a_key_fails_exactly_where_it_leaks(case: str, expected: set) -> None:
    key = secrets.token_hex(16)
    _, violations = _run(case, key)
    assert {(v.policy, v.urn.removeprefix(PREFIX)) for v in violations} == expected
    assert all(v.enforcement == "mandatory" for v in violations)
    assert not any(key in v.message for v in violations)


def test_the_secret_marked_value_is_recorded_as_secret_and_still_caught() -> None:
    plan, violations = _run("secret_output", secrets.token_hex(16))
    site = next(r for r in plan.resources if r.name == "site")
    assert is_secret(site.inputs["siteConfig"]["appSettings"][0]["value"])
    messages = sorted(v.message.split(" ")[0] for v in violations)
    assert messages == ["siteConfig.appSettings[0].value"] * 2


def test_both_container_positions_are_reported() -> None:
    _, violations = _run("container", secrets.token_hex(16))
    assert sorted(v.message.split(" ")[0] for v in violations) == [
        "containers[0].command[4]",
        "containers[0].environmentVariables[0].secureValue",
    ]
