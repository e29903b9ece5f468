"""Key Vault and secret policies: one compliant and one non-compliant fixture each."""

from __future__ import annotations

import pytest

from preflight.model import UNKNOWN
from tests.policies.fixtures import SECRET_URN, VAULT_URN, changed, found, good_resources


def _vault(edit):
    return changed(good_resources(), "kv", lambda p: edit(p["properties"]))


def _secret(edit):
    return changed(good_resources(), "ai-key", lambda p: edit(p["properties"]))


def test_the_compliant_stack_has_no_violation() -> None:
    assert found(good_resources()) == set()


@pytest.mark.parametrize(
    ("edit", "policy"),
    [
        (lambda p: p.update(enableRbacAuthorization=False), "key-vault-uses-rbac"),
        (lambda p: p.pop("enableRbacAuthorization"), "key-vault-uses-rbac"),
        (
            lambda p: p.update(
                accessPolicies=[{"objectId": "x", "tenantId": "t", "permissions": {}}]
            ),
            "key-vault-uses-rbac",
        ),
        (lambda p: p.update(enableSoftDelete=False), "key-vault-has-soft-delete"),
        (lambda p: p.pop("softDeleteRetentionInDays"), "key-vault-has-soft-delete"),
        (lambda p: p.update(softDeleteRetentionInDays=7), "key-vault-has-soft-delete"),
        (lambda p: p.update(enablePurgeProtection=False), "key-vault-has-purge-protection"),
        (lambda p: p.pop("enablePurgeProtection"), "key-vault-has-purge-protection"),
        (lambda p: p.update(enabledForDeployment=True), "key-vault-disables-platform-access"),
        (
            lambda p: p.update(enabledForTemplateDeployment=True),
            "key-vault-disables-platform-access",
        ),
        (lambda p: p.update(enabledForDiskEncryption=True), "key-vault-disables-platform-access"),
    ],
)
def test_a_weakened_vault_fails_exactly_its_policy(edit, policy: str) -> None:
    assert found(_vault(edit)) == {(policy, VAULT_URN)}


def test_absent_platform_access_flags_are_off_by_default() -> None:
    def drop(p):
        for flag in (
            "enabledForDeployment",
            "enabledForTemplateDeployment",
            "enabledForDiskEncryption",
        ):
            p.pop(flag)

    assert found(_vault(drop)) == set()


def test_retention_minimum_comes_from_config() -> None:
    vault = _vault(lambda p: p.update(softDeleteRetentionInDays=30))
    assert found(vault) == {("key-vault-has-soft-delete", VAULT_URN)}
    assert found(vault, {"key-vault-has-soft-delete": {"minimumRetentionDays": 30}}) == set()


@pytest.mark.parametrize(
    ("edit", "policy"),
    [
        (lambda p: p.pop("attributes"), "key-vault-secret-expires"),
        (lambda p: p["attributes"].pop("expires"), "key-vault-secret-expires"),
        (lambda p: p.pop("contentType"), "key-vault-secret-has-content-type"),
        (lambda p: p.update(contentType=" "), "key-vault-secret-has-content-type"),
    ],
)
def test_a_secret_without_expiry_or_content_type_fails(edit, policy: str) -> None:
    assert found(_secret(edit)) == {(policy, SECRET_URN)}


def test_a_versioned_type_token_is_the_same_resource() -> None:
    import dataclasses

    resources = [
        dataclasses.replace(r, type="azure-native:keyvault/v20240401:Vault")
        if r.urn == VAULT_URN
        else r
        for r in _vault(lambda p: p.update(enablePurgeProtection=False))
    ]
    assert found(resources) == {("key-vault-has-purge-protection", VAULT_URN)}


def test_an_unknown_flag_is_reported_as_cannot_check_yet_not_passed() -> None:
    from preflight.evaluate import evaluate
    from tests.policies.fixtures import plan_of

    violations = evaluate(plan_of(_vault(lambda p: p.update(enablePurgeProtection=UNKNOWN))))
    # no-hardcoded-secrets cannot see into the unknown value either: an unknown string may be
    # an output spliced with a literal.
    assert [(v.policy, v.enforcement, v.urn) for v in violations] == [
        ("no-hardcoded-secrets", "advisory", VAULT_URN),
        ("key-vault-has-purge-protection", "advisory", VAULT_URN),
    ]
    assert violations[1].message.startswith(
        "cannot check yet: properties.enablePurgeProtection is not known until apply"
    )


def test_known_problems_are_still_mandatory_next_to_an_unknown() -> None:
    from tests.policies.fixtures import found_levels

    def edit(p):
        p["enableRbacAuthorization"] = False
        p["accessPolicies"] = UNKNOWN

    assert found_levels(_vault(edit)) == {
        ("key-vault-uses-rbac", "mandatory", VAULT_URN),
        ("key-vault-uses-rbac", "advisory", VAULT_URN),
        ("no-hardcoded-secrets", "advisory", VAULT_URN),
    }
