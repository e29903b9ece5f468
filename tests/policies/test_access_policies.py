"""Role assignment policies and the stack policy tying Key Vault references to read grants."""

from __future__ import annotations

import dataclasses

import pytest

from policies.roles import (
    COGNITIVE_SERVICES_CONTRIBUTOR,
    COGNITIVE_SERVICES_OPENAI_USER,
    COGNITIVE_SERVICES_USER,
    CONTRIBUTOR,
    KEY_ROTATOR_ACTIONS,
    KEY_VAULT_ADMINISTRATOR,
    KEY_VAULT_CONTRIBUTOR,
    KEY_VAULT_DATA_ACCESS_ADMINISTRATOR,
    KEY_VAULT_READER,
    KEY_VAULT_SECRETS_OFFICER,
    KEY_VAULT_SECRETS_USER,
    MONITORING_METRICS_PUBLISHER,
    OWNER,
    READER,
    ROLE_BASED_ACCESS_CONTROL_ADMINISTRATOR,
    STORAGE_ACCOUNT_CONTRIBUTOR,
    STORAGE_BLOB_DATA_OWNER,
    STORAGE_BLOB_DATA_READER,
    USER_ACCESS_ADMINISTRATOR,
)
from preflight.evaluate import PolicyConfigError, evaluate
from preflight.model import UNKNOWN, PlannedResource
from tests.policies.fixtures import (
    APP_GRANT_URN,
    APP_PRINCIPAL,
    ASSIGNMENT,
    DEPLOYER_GRANT_URN,
    RG,
    SITE_URN,
    SUB,
    VAULT_ID,
    changed,
    found,
    found_levels,
    good_resources,
    plan_of,
    resource,
    role,
)


def _app_grant(**inputs):
    return changed(good_resources(), "app-secrets-user", lambda p: p.update(inputs))


def _deployer_grant(**inputs):
    return changed(good_resources(), "deployer-secrets-officer", lambda p: p.update(inputs))


LEAST = "role-assignments-least-privilege"
DATA_SCOPE = "data-roles-scoped-to-one-resource"
READS = "web-app-can-read-its-key-vault-references"
ACCOUNT_ID = f"{RG}/providers/Microsoft.CognitiveServices/accounts/ai-test"
STORAGE_ID = f"{RG}/providers/Microsoft.Storage/storageAccounts/sttest"
CONFIG_PRINCIPAL = "00000000-0000-4000-8000-0000000000c9"


def _grant(name: str, role_id: str, scope: str, **extra) -> PlannedResource:
    """An assignment to a principal from config: a known GUID no stack resource owns."""
    return resource(
        ASSIGNMENT,
        name,
        {
            "principalId": CONFIG_PRINCIPAL,
            "principalType": "ServicePrincipal",
            "roleDefinitionId": role_id if role_id.startswith("/") else role(role_id),
            "scope": scope,
        },
        **extra,
    )


@pytest.mark.parametrize(
    "role_id",
    [OWNER, CONTRIBUTOR, USER_ACCESS_ADMINISTRATOR, COGNITIVE_SERVICES_CONTRIBUTOR],
)
def test_an_app_identity_never_gets_a_management_role(role_id: str) -> None:
    resources = _app_grant(roleDefinitionId=role(role_id))
    # The app also loses its read grant, so its reference is unreadable.
    assert found(resources) == {(LEAST, APP_GRANT_URN), (READS, SITE_URN)}


@pytest.mark.parametrize("role_id", [KEY_VAULT_ADMINISTRATOR, KEY_VAULT_SECRETS_OFFICER])
def test_a_key_vault_role_beyond_read_is_too_much_for_an_app(role_id: str) -> None:
    # On its one secret, changing that secret is narrow; on the vault it is every secret.
    assert found(_app_grant(roleDefinitionId=role(role_id))) == {(READS, APP_GRANT_URN)}
    assert found(_app_grant(roleDefinitionId=role(role_id), scope=VAULT_ID)) == {
        (LEAST, APP_GRANT_URN),
        (READS, APP_GRANT_URN),
    }


@pytest.mark.parametrize(
    ("role_id", "scope", "can"),
    [
        (OWNER, RG, "change every resource, define roles, grant access, list or regenerate keys"),
        (CONTRIBUTOR, f"/subscriptions/{SUB}", "change every resource, grant access, list or"),
        (ROLE_BASED_ACCESS_CONTROL_ADMINISTRATOR, RG, "grant access;"),
        (KEY_VAULT_DATA_ACCESS_ADMINISTRATOR, VAULT_ID, "grant access;"),
        (KEY_VAULT_CONTRIBUTOR, VAULT_ID, "grant access;"),
        (COGNITIVE_SERVICES_USER, ACCOUNT_ID, "list or regenerate keys;"),
        (STORAGE_ACCOUNT_CONTRIBUTOR, STORAGE_ID, "list or regenerate keys;"),
    ],
)
def test_a_role_is_judged_by_what_it_can_do_for_any_principal(
    role_id: str, scope: str, can: str
) -> None:
    grant = _grant("config-grant", role_id, scope)
    violations = evaluate(plan_of([*good_resources(), grant]))
    assert {(v.policy, v.enforcement, v.urn) for v in violations} == {
        (LEAST, "mandatory", grant.urn)
    }
    assert f"can {can}" in violations[0].message


@pytest.mark.parametrize(
    ("principal", "principal_type"),
    [(UNKNOWN, "ServicePrincipal"), (CONFIG_PRINCIPAL, "Group"), (CONFIG_PRINCIPAL, "User")],
    ids=["from-a-stack-reference", "group", "user"],
)
def test_owner_is_refused_whoever_the_principal_is(principal: str, principal_type: str) -> None:
    # A principal from a stack reference is unknown in a preview and traced to no resource.
    grant = _grant("owner", OWNER, RG)
    grant.inputs.update(principalId=principal, principalType=principal_type)
    assert found_levels([*good_resources(), grant]) == {(LEAST, "mandatory", grant.urn)}


def test_owner_on_the_group_to_a_user_assigned_identity_is_refused() -> None:
    identity = resource(
        "azure-native:managedidentity:UserAssignedIdentity",
        "worker-identity",
        {"resourceName": "id-worker", "resourceGroupName": "rg-test"},
        {"principalId": "00000000-0000-4000-8000-0000000000a7"},
    )
    grant = resource(
        ASSIGNMENT,
        "worker-owner",
        {
            "principalId": UNKNOWN,
            "principalType": "ServicePrincipal",
            "roleDefinitionId": role(OWNER),
            "scope": RG,
        },
        property_dependencies={"principalId": (identity.urn,)},
    )
    assert found([*good_resources(), identity, grant]) == {(LEAST, grant.urn)}


@pytest.mark.parametrize(
    ("role_id", "scope"),
    [
        (READER, RG),
        (KEY_VAULT_READER, VAULT_ID),
        (STORAGE_BLOB_DATA_READER, STORAGE_ID),
        (STORAGE_BLOB_DATA_OWNER, STORAGE_ID),
        (COGNITIVE_SERVICES_OPENAI_USER, ACCOUNT_ID),
        (MONITORING_METRICS_PUBLISHER, f"{RG}/providers/Microsoft.Insights/components/appi"),
    ],
)
def test_narrow_grants_pass(role_id: str, scope: str) -> None:
    assert found([*good_resources(), _grant("narrow", role_id, scope)]) == set()


@pytest.mark.parametrize(
    "role_id",
    [COGNITIVE_SERVICES_OPENAI_USER, STORAGE_BLOB_DATA_READER, KEY_VAULT_SECRETS_USER],
)
@pytest.mark.parametrize("scope", [RG, f"/subscriptions/{SUB}"])
def test_a_data_role_above_one_resource_is_refused(role_id: str, scope: str) -> None:
    grant = _grant("wide-data", role_id, scope)
    assert found([*good_resources(), grant]) == {(DATA_SCOPE, grant.urn)}


def _custom_role(name: str, permissions: list[dict]) -> PlannedResource:
    return resource(
        "azure-native:authorization:RoleDefinition",
        name,
        {
            "roleName": name,
            "roleDefinitionId": "00000000-0000-4000-8000-00000000cafe",
            "scope": RG,
            "assignableScopes": [RG],
            "permissions": permissions,
        },
    )


def _assigned(definition: PlannedResource, scope: str) -> PlannedResource:
    """An assignment of a custom role of the stack, found by its property dependency."""
    guid = definition.inputs["roleDefinitionId"]
    return _grant(
        f"{definition.name}-grant",
        f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{guid}",
        scope,
        property_dependencies={"roleDefinitionId": (definition.urn,)},
    )


@pytest.mark.parametrize(
    ("permissions", "expected"),
    [
        ([{"actions": ["*"], "dataActions": ["*"]}], {LEAST, DATA_SCOPE}),
        ([{"actions": ["Microsoft.CognitiveServices/*"]}], {LEAST}),
        ([{"actions": ["Microsoft.Authorization/roleDefinitions/write"]}], {LEAST}),
        ([{"dataActions": ["Microsoft.KeyVault/vaults/secrets/*"]}], {LEAST, DATA_SCOPE}),
        ([{"actions": ["*/read"]}], set()),
        ([{"actions": ["*"], "notActions": ["*/write", "*/action", "*/delete"]}], set()),
    ],
)
def test_custom_roles_are_read_and_judged_the_same_way(permissions, expected) -> None:
    definition = _custom_role("custom", permissions)
    grant = _assigned(definition, RG)
    assert found([*good_resources(), definition, grant]) == {(p, grant.urn) for p in expected}


def test_the_rotators_narrow_key_role_passes_on_its_account_only() -> None:
    definition = _custom_role("key-rotator", [{"actions": list(KEY_ROTATOR_ACTIONS)}])
    on_account = _assigned(definition, ACCOUNT_ID)
    assert found([*good_resources(), definition, on_account]) == set()
    on_group = _assigned(definition, RG)
    assert found([*good_resources(), definition, on_group]) == {(LEAST, on_group.urn)}
    wider = _custom_role(
        "key-rotator", [{"actions": [*KEY_ROTATOR_ACTIONS, "Microsoft.Storage/*/listKeys/action"]}]
    )
    assert found([*good_resources(), wider, _assigned(wider, ACCOUNT_ID)]) == {
        (LEAST, on_account.urn)
    }


def test_a_preview_unknown_list_of_an_unset_permission_is_empty() -> None:
    # azure-native previews properties the program left out as unknown (previewOutputs.go).
    definition = _custom_role(
        "key-rotator", [{"actions": list(KEY_ROTATOR_ACTIONS), "dataActions": UNKNOWN}]
    )
    assert found([*good_resources(), definition, _assigned(definition, ACCOUNT_ID)]) == set()
    derived = dataclasses.replace(definition, property_dependencies={"permissions": (SITE_URN,)})
    assert found_levels([*good_resources(), derived, _assigned(derived, ACCOUNT_ID)]) == {
        (LEAST, "advisory", None),
        (DATA_SCOPE, "advisory", None),
    }


def test_the_deployers_secrets_officer_on_the_vault_is_the_designed_exception() -> None:
    assert found(good_resources()) == set()
    # Not for another role, nor on the group, nor for a principal the stack owns.
    assert found(_deployer_grant(roleDefinitionId=role(OWNER))) == {(LEAST, DEPLOYER_GRANT_URN)}
    assert found(_deployer_grant(scope=RG)) == {
        (LEAST, DEPLOYER_GRANT_URN),
        (DATA_SCOPE, DEPLOYER_GRANT_URN),
    }
    assert found(_deployer_grant(principalId=APP_PRINCIPAL)) == {
        (LEAST, DEPLOYER_GRANT_URN),
        (READS, DEPLOYER_GRANT_URN),
    }


def test_an_assignment_is_allowed_by_config_only_with_a_reason() -> None:
    resources = _deployer_grant(roleDefinitionId=role(OWNER))
    config = {
        LEAST: {
            "allowedAssignments": [
                {"assignment": "deployer-secrets-officer", "reason": "break-glass owner, audited"}
            ]
        }
    }
    assert found(resources, config) == set()
    short = {LEAST: {"allowedAssignments": [{"assignment": "deployer-secrets-officer"}]}}
    with pytest.raises(PolicyConfigError, match="'reason' is a required property"):
        found(resources, short)


def test_a_role_the_pack_does_not_know_is_refused_until_allowed() -> None:
    grant = _grant("mystery", "11111111-2222-4333-8444-555555555555", ACCOUNT_ID)
    violations = evaluate(plan_of([*good_resources(), grant]))
    assert {(v.policy, v.urn) for v in violations} == {(LEAST, grant.urn)}
    assert "permissions the pack does not know" in violations[0].message


def test_an_unknown_role_is_cannot_check_yet_everywhere_it_matters() -> None:
    resources = _app_grant(roleDefinitionId=UNKNOWN)
    # Every policy that reads the role says so; none reports the reference as unreadable.
    assert found_levels(resources) == {
        ("secrets-user-scoped-to-secret", "advisory", None),
        (LEAST, "advisory", None),
        (DATA_SCOPE, "advisory", None),
        (READS, "advisory", None),
    }


def test_an_unknown_principal_not_traced_to_an_app_is_cannot_check_yet() -> None:
    resources = [
        dataclasses.replace(r, property_dependencies={}, dependencies=())
        if r.urn == APP_GRANT_URN
        else r
        for r in _app_grant(principalId=UNKNOWN, roleDefinitionId=role(KEY_VAULT_SECRETS_OFFICER))
    ]
    assert found_levels(resources) == {(READS, "advisory", None)}


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        (RG, {(DATA_SCOPE, "mandatory", APP_GRANT_URN)}),
        (f"/subscriptions/{SUB}", {(DATA_SCOPE, "mandatory", APP_GRANT_URN)}),
        (VAULT_ID, {("secrets-user-scoped-to-secret", "advisory", APP_GRANT_URN)}),
    ],
)
def test_secrets_user_scope(scope: str, expected: set) -> None:
    resources = _app_grant(scope=scope)
    extra = set()
    if scope != VAULT_ID:
        extra = {(READS, "mandatory", SITE_URN)}
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
