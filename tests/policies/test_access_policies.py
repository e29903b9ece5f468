"""Role assignment policies and the stack policy tying Key Vault references to read grants."""

from __future__ import annotations

import dataclasses

import pytest

from policies.roles import (
    COGNITIVE_SERVICES_CONTRIBUTOR,
    CONTRIBUTOR,
    KEY_VAULT_ADMINISTRATOR,
    KEY_VAULT_SECRETS_OFFICER,
    KEY_VAULT_SECRETS_USER,
    OWNER,
    USER_ACCESS_ADMINISTRATOR,
)
from preflight.model import UNKNOWN
from tests.policies.fixtures import (
    APP_GRANT_URN,
    DEPLOYER_GRANT_URN,
    RG,
    SITE_URN,
    SUB,
    VAULT_ID,
    changed,
    found,
    found_levels,
    good_resources,
    role,
)


def _app_grant(**inputs):
    return changed(good_resources(), "app-secrets-user", lambda p: p.update(inputs))


@pytest.mark.parametrize(
    "role_id",
    [OWNER, CONTRIBUTOR, USER_ACCESS_ADMINISTRATOR, COGNITIVE_SERVICES_CONTRIBUTOR],
)
def test_an_app_identity_never_gets_a_management_role(role_id: str) -> None:
    resources = _app_grant(roleDefinitionId=role(role_id))
    # The app also loses its read grant, so its reference is unreadable.
    assert found(resources) == {
        ("app-identity-roles-least-privilege", APP_GRANT_URN),
        ("web-app-can-read-its-key-vault-references", SITE_URN),
    }


@pytest.mark.parametrize("role_id", [KEY_VAULT_ADMINISTRATOR, KEY_VAULT_SECRETS_OFFICER])
def test_a_key_vault_role_beyond_read_is_too_much_for_an_app(role_id: str) -> None:
    assert found(_app_grant(roleDefinitionId=role(role_id))) == {
        ("app-identity-roles-least-privilege", APP_GRANT_URN),
        ("web-app-can-read-its-key-vault-references", APP_GRANT_URN),
    }


def test_the_app_is_recognised_by_principal_id_without_a_property_dependency() -> None:
    resources = [
        dataclasses.replace(r, property_dependencies={}, dependencies=())
        if r.urn == APP_GRANT_URN
        else r
        for r in _app_grant(roleDefinitionId=role(OWNER))
    ]
    assert ("app-identity-roles-least-privilege", APP_GRANT_URN) in found(resources)


def test_the_deployer_may_hold_secrets_officer() -> None:
    resources = changed(
        good_resources(),
        "deployer-secrets-officer",
        lambda p: p.update(roleDefinitionId=role(OWNER)),
    )
    assert found(resources) == set()


def test_an_unknown_role_is_cannot_check_yet_everywhere_it_matters() -> None:
    resources = _app_grant(roleDefinitionId=UNKNOWN)
    # Every policy that reads the role says so; none reports the reference as unreadable.
    assert found_levels(resources) == {
        ("no-hardcoded-secrets", "advisory", APP_GRANT_URN),
        ("secrets-user-scoped-to-vault-or-secret", "advisory", APP_GRANT_URN),
        ("secrets-user-scoped-to-secret", "advisory", APP_GRANT_URN),
        ("app-identity-roles-least-privilege", "advisory", None),
        ("web-app-can-read-its-key-vault-references", "advisory", None),
    }


def test_an_unknown_principal_not_traced_to_an_app_is_cannot_check_yet() -> None:
    resources = [
        dataclasses.replace(r, property_dependencies={}, dependencies=())
        if r.urn == APP_GRANT_URN
        else r
        for r in _app_grant(principalId=UNKNOWN, roleDefinitionId=role(OWNER))
    ]
    assert found_levels(resources) == {
        ("no-hardcoded-secrets", "advisory", APP_GRANT_URN),
        ("app-identity-roles-least-privilege", "advisory", None),
        ("web-app-can-read-its-key-vault-references", "advisory", None),
    }


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        (RG, {("secrets-user-scoped-to-vault-or-secret", "mandatory", APP_GRANT_URN)}),
        (
            f"/subscriptions/{SUB}",
            {("secrets-user-scoped-to-vault-or-secret", "mandatory", APP_GRANT_URN)},
        ),
        (VAULT_ID, {("secrets-user-scoped-to-secret", "advisory", APP_GRANT_URN)}),
    ],
)
def test_secrets_user_scope(scope: str, expected: set) -> None:
    resources = _app_grant(scope=scope)
    extra = set()
    if scope != VAULT_ID:
        extra = {("web-app-can-read-its-key-vault-references", "mandatory", SITE_URN)}
    assert found_levels(resources) == expected | extra


def test_a_reference_without_a_read_grant_fails_on_the_site() -> None:
    resources = [r for r in good_resources() if r.urn != APP_GRANT_URN]
    assert found(resources) == {("web-app-can-read-its-key-vault-references", SITE_URN)}


def test_a_read_grant_on_a_secret_the_app_does_not_reference_is_too_much() -> None:
    other = f"{VAULT_ID}/secrets/other"
    resources = good_resources()
    grant = next(r for r in resources if r.urn == APP_GRANT_URN)
    extra = dataclasses.replace(
        grant,
        urn=grant.urn + "-other",
        name="other",
        inputs={**grant.inputs, "scope": other},
        outputs={**grant.outputs, "scope": other},
    )
    assert found([*resources, extra]) == {("web-app-can-read-its-key-vault-references", extra.urn)}


def test_a_reference_in_site_config_and_the_named_form_are_matched() -> None:
    def edit(p):
        p["siteConfig"]["appSettings"].append(
            {
                "name": "OTHER_KEY",
                "value": "@Microsoft.KeyVault(VaultName=kv-test;SecretName=other)",
            }
        )

    assert found(changed(good_resources(), "site", edit)) == {
        ("web-app-can-read-its-key-vault-references", SITE_URN)
    }


def test_secrets_user_is_the_only_role_checked_for_scope() -> None:
    resources = changed(
        good_resources(),
        "deployer-secrets-officer",
        lambda p: p.update(roleDefinitionId=role(KEY_VAULT_SECRETS_OFFICER), scope=RG),
    )
    assert found(resources) == set()
    resources = changed(
        good_resources(),
        "deployer-secrets-officer",
        lambda p: p.update(roleDefinitionId=role(KEY_VAULT_SECRETS_USER), scope=RG),
    )
    assert found(resources) == {("secrets-user-scoped-to-vault-or-secret", DEPLOYER_GRANT_URN)}


def test_another_apps_unknown_principal_does_not_hide_a_missing_grant() -> None:
    """Two apps at preview time: the second app's grant has an unknown principal traced to it."""
    from tests.policies.fixtures import resource

    second_site = resource("azure-native:web:WebApp", "site-2", {"name": "web-2"})
    resources = [r for r in good_resources() if r.urn != APP_GRANT_URN]
    grant = resource(
        "azure-native:authorization:RoleAssignment",
        "grant-2",
        {
            "principalId": UNKNOWN,
            "principalType": "ServicePrincipal",
            "roleDefinitionId": role(KEY_VAULT_SECRETS_USER),
            "scope": f"{VAULT_ID}/secrets/other",
        },
        dependencies=(second_site.urn,),
        property_dependencies={"principalId": (second_site.urn,)},
    )
    policy = "web-app-can-read-its-key-vault-references"
    findings = {f for f in found_levels([*resources, second_site, grant]) if f[0] == policy}
    # The first app's reference has no grant; the second app reads a secret it never references.
    assert findings == {(policy, "mandatory", SITE_URN), (policy, "mandatory", grant.urn)}
