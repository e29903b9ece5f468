"""Audit logs and network exposure: one compliant stack, one weakening per policy, exact sets."""

from __future__ import annotations

import dataclasses
import time

import pytest

from preflight.model import UNKNOWN
from tests.policies.fixtures import (
    ACCOUNT_URN,
    SECRET_URN,
    SITE_URN,
    VAULT_URN,
    changed,
    found,
    found_levels,
    good_resources,
)

DAY = 86_400


def _edit(name: str, edit):
    return changed(good_resources(), name, edit)


def test_the_compliant_stack_passes() -> None:
    assert found(good_resources()) == set()


@pytest.mark.parametrize(
    ("edit", "same_vault"),
    [
        (lambda p: p.update(logs=[{"category": "AuditEvent", "enabled": False}]), True),
        (lambda p: p.update(logs=[{"category": "AzurePolicyEvaluationDetails"}]), True),
        (lambda p: p.pop("workspaceId"), True),
        (lambda p: p.update(resourceUri=f"{p['resourceUri']}-other"), False),
    ],
    ids=["disabled", "other-category", "no-workspace", "other-vault"],
)
def test_a_vault_without_its_audit_log_in_a_workspace_fails(edit, same_vault: bool) -> None:
    resources = _edit("kv-audit", edit)
    if not same_vault:
        # Watching another vault: no dependency on this one either.
        resources = [
            dataclasses.replace(r, property_dependencies={}) if r.name == "kv-audit" else r
            for r in resources
        ]
    assert found(resources) == {("key-vault-sends-audit-logs", VAULT_URN)}


def test_audit_category_groups_count_and_unknown_ids_are_read_by_dependency() -> None:
    grouped = _edit("kv-audit", lambda p: p.update(logs=[{"categoryGroup": "allLogs"}]))
    assert found(grouped) == set()
    unknown = _edit("kv-audit", lambda p: p.update(resourceUri=UNKNOWN, workspaceId=UNKNOWN))
    # The workspace ID is unknown and depends on nothing: it may be unset.
    assert found_levels(unknown) == {("key-vault-sends-audit-logs", "advisory", None)}


def test_an_ai_account_without_logs_is_advisory() -> None:
    resources = [r for r in good_resources() if r.name != "account-logs"]
    assert found_levels(resources) == {
        ("ai-account-sends-diagnostic-logs", "advisory", ACCOUNT_URN)
    }


@pytest.mark.parametrize("rule", ["0.0.0.0/0", "0.0.0.0/1", "::/0", "*", "  0.0.0.0  "])
def test_an_internet_wide_ip_rule_fails_even_with_deny(rule: str) -> None:
    resources = _edit(
        "account", lambda p: p["properties"]["networkAcls"]["ipRules"].append({"value": rule})
    )
    assert found_levels(resources) == {
        ("network-rules-exclude-the-internet", "mandatory", ACCOUNT_URN),
        ("ai-account-restricts-public-network", "advisory", ACCOUNT_URN),
    }
    vault = _edit("kv", lambda p: p["properties"]["networkAcls"].update(ipRules=[{"value": rule}]))
    assert found_levels(vault) == {
        ("network-rules-exclude-the-internet", "mandatory", VAULT_URN),
        ("key-vault-restricts-public-network", "advisory", VAULT_URN),
    }


@pytest.mark.parametrize("rule", ["203.0.113.7", "198.51.100.0/24", "10.0.0.0/8", "2001:db8::/32"])
def test_narrow_ip_rules_pass(rule: str) -> None:
    resources = _edit(
        "account", lambda p: p["properties"]["networkAcls"].update(ipRules=[{"value": rule}])
    )
    assert found(resources) == set()


@pytest.mark.parametrize("value", [False, None])
def test_an_account_without_outbound_restriction_fails(value) -> None:
    def edit(p):
        if value is None:
            p["properties"].pop("restrictOutboundNetworkAccess")
        else:
            p["properties"]["restrictOutboundNetworkAccess"] = value

    assert found(_edit("account", edit)) == {("ai-account-restricts-outbound-access", ACCOUNT_URN)}


def test_cors_star_fails_and_named_origins_pass() -> None:
    def cors(origins):
        return _edit("site", lambda p: p["siteConfig"].update(cors={"allowedOrigins": origins}))

    assert found(cors(["https://app.example.com", "*"])) == {
        ("web-app-cors-names-its-origins", SITE_URN)
    }
    assert found(cors(["https://app.example.com"])) == set()


@pytest.mark.parametrize(
    ("days", "expected"),
    [
        (30, set()),
        # The default limit is the longest rotation period the stack accepts: 365 days.
        (364, set()),
        (367, {("key-vault-secret-expiry-within-rotation", SECRET_URN)}),
        (365 * 75, {("key-vault-secret-expiry-within-rotation", SECRET_URN)}),
    ],
)
def test_a_secret_expiry_beyond_the_longest_rotation_period_fails(days: int, expected) -> None:
    expires = int(time.time()) + days * DAY
    resources = _edit("ai-key", lambda p: p["properties"]["attributes"].update(expires=expires))
    assert found(resources) == expected


def test_the_validity_limit_is_configurable() -> None:
    expires = int(time.time()) + 200 * DAY
    resources = _edit("ai-key", lambda p: p["properties"]["attributes"].update(expires=expires))
    config = {"key-vault-secret-expiry-within-rotation": {"maximumValidityDays": 180}}
    assert found(resources, config) == {("key-vault-secret-expiry-within-rotation", SECRET_URN)}


def test_the_content_type_remediation_names_the_stacks_content_type() -> None:
    from catalog.secret import CONTENT_TYPE
    from policies.rules.key_vault_secret_has_content_type import POLICY

    assert POLICY.remediation_steps == (
        f"Set properties.contentType, e.g. {CONTENT_TYPE!r} for the AI account's key."
    )


def test_a_public_vault_is_advisory_in_a_public_stack() -> None:
    resources = _edit("kv", lambda p: p["properties"]["networkAcls"].update(defaultAction="Allow"))
    assert found_levels(resources) == {
        ("key-vault-restricts-public-network", "advisory", VAULT_URN)
    }
    closed = _edit("kv", lambda p: p["properties"].update(publicNetworkAccess="Disabled"))
    assert found(closed) == set()
