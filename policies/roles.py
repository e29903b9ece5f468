"""Azure roles: the one role table the policy pack, the components and the reports use.

The policy pack ships alone (``pulumi policy publish`` uploads its folder and nothing else), so
this file lives in the pack, and the offline preview and the tests import it from here. The
component package ships alone too and may not import the pack: ``components/catalog/roles.py`` is
a verbatim copy, kept equal by ``tests/policies/test_pack_layout.py``.
Pure data and pure functions: standard library only.

The permissions of built-in roles are Microsoft's, from the Azure built-in roles reference
(learn.microsoft.com/azure/role-based-access-control/built-in-roles: the Privileged, General,
Security, AI + machine learning, Storage and Monitor pages).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

KEY_VAULT_SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"
KEY_VAULT_SECRETS_OFFICER = "b86a8fe4-44ce-4948-aee5-eccb2c155cd7"
KEY_VAULT_ADMINISTRATOR = "00482a5a-887f-4fb3-b363-3b7fe8e74483"
KEY_VAULT_READER = "21090545-7ca7-4776-b22c-e363652d74d2"
COGNITIVE_SERVICES_USER = "a97b65f3-24c7-4388-baec-2e87135dc908"
COGNITIVE_SERVICES_OPENAI_USER = "5e0bd9bd-7b93-4f28-af87-19fc36ad61bd"
COGNITIVE_SERVICES_CONTRIBUTOR = "25fbc0a9-bd7c-42a3-aa1a-3b75d497ee68"
OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c"
USER_ACCESS_ADMINISTRATOR = "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9"
STORAGE_BLOB_DATA_OWNER = "b7e6dc6d-f1e8-4753-8033-0f276bb0955b"
STORAGE_BLOB_DATA_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
STORAGE_QUEUE_DATA_CONTRIBUTOR = "974c5e8b-45b9-4653-ba55-5f855dd0fb88"
MONITORING_METRICS_PUBLISHER = "3913510d-42f4-4e42-8a64-420c390055eb"
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
ROLE_BASED_ACCESS_CONTROL_ADMINISTRATOR = "f58310d9-a9f6-439a-9e8d-f62e7b41a168"
KEY_VAULT_CONTRIBUTOR = "f25e0fa2-a7c8-4377-a976-54943a77a395"
KEY_VAULT_DATA_ACCESS_ADMINISTRATOR = "8b54135c-b56d-4d72-a534-26097cfdc8d8"
COGNITIVE_SERVICES_OPENAI_CONTRIBUTOR = "a001fd3d-188f-4b5d-821b-7da978bf7442"
STORAGE_ACCOUNT_CONTRIBUTOR = "17d1049b-9a84-46fb-8f53-869881c3d3ab"
STORAGE_BLOB_DATA_READER = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"
STORAGE_TABLE_DATA_CONTRIBUTOR = "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3"

ROLE_NAMES: dict[str, str] = {
    KEY_VAULT_SECRETS_USER: "Key Vault Secrets User",
    KEY_VAULT_SECRETS_OFFICER: "Key Vault Secrets Officer",
    KEY_VAULT_ADMINISTRATOR: "Key Vault Administrator",
    KEY_VAULT_READER: "Key Vault Reader",
    COGNITIVE_SERVICES_USER: "Cognitive Services User",
    COGNITIVE_SERVICES_OPENAI_USER: "Cognitive Services OpenAI User",
    COGNITIVE_SERVICES_CONTRIBUTOR: "Cognitive Services Contributor",
    OWNER: "Owner",
    CONTRIBUTOR: "Contributor",
    USER_ACCESS_ADMINISTRATOR: "User Access Administrator",
    STORAGE_BLOB_DATA_OWNER: "Storage Blob Data Owner",
    STORAGE_BLOB_DATA_CONTRIBUTOR: "Storage Blob Data Contributor",
    STORAGE_QUEUE_DATA_CONTRIBUTOR: "Storage Queue Data Contributor",
    MONITORING_METRICS_PUBLISHER: "Monitoring Metrics Publisher",
    READER: "Reader",
    ROLE_BASED_ACCESS_CONTROL_ADMINISTRATOR: "Role Based Access Control Administrator",
    KEY_VAULT_CONTRIBUTOR: "Key Vault Contributor",
    KEY_VAULT_DATA_ACCESS_ADMINISTRATOR: "Key Vault Data Access Administrator",
    COGNITIVE_SERVICES_OPENAI_CONTRIBUTOR: "Cognitive Services OpenAI Contributor",
    STORAGE_ACCOUNT_CONTRIBUTOR: "Storage Account Contributor",
    STORAGE_BLOB_DATA_READER: "Storage Blob Data Reader",
    STORAGE_TABLE_DATA_CONTRIBUTOR: "Storage Table Data Contributor",
}

# Roles an application's identity must never hold: each can read or change keys, or grant access.
TOO_WIDE_FOR_AN_APP: frozenset[str] = frozenset(
    {
        OWNER,
        CONTRIBUTOR,
        USER_ACCESS_ADMINISTRATOR,
        KEY_VAULT_ADMINISTRATOR,
        KEY_VAULT_SECRETS_OFFICER,
        COGNITIVE_SERVICES_CONTRIBUTOR,
    }
)


def role_definition_id(subscription_id: str, role_id: str) -> str:
    """The full ARM ID of a built-in role definition in a subscription."""
    return (
        f"/subscriptions/{subscription_id}/providers/Microsoft.Authorization/"
        f"roleDefinitions/{role_id}"
    )


def role_id_of(role_definition_id: str) -> str:
    """The role GUID at the end of a role definition ID (or the GUID itself), lower-cased."""
    return role_definition_id.rstrip("/").rsplit("/", 1)[-1].lower()


def role_name(role_definition_id: str) -> str:
    """A human name for a role definition ID; unknown roles keep their GUID."""
    rid = role_id_of(role_definition_id)
    return ROLE_NAMES.get(rid, rid)


# Custom roles the stack defines for the identity that rotates keys: exactly what rotation calls.
KEY_ROTATOR_ACTIONS: tuple[str, ...] = (
    "Microsoft.CognitiveServices/accounts/listKeys/action",
    "Microsoft.CognitiveServices/accounts/regenerateKey/action",
)
# Reading reference status, triggering the reference refresh and listing the site's instances
# (`GET {siteId}/instances`) to confirm each one; `config/list/action` (which returns resolved
# setting values) is deliberately absent.
REFERENCE_REFRESHER_ACTIONS: tuple[str, ...] = (
    "Microsoft.Web/sites/config/Read",
    "Microsoft.Web/sites/config/Write",
    "Microsoft.Web/sites/instances/read",
)
# Publishing a rotated key as a new version of the one secret (assigned on the secret): read,
# write and tag versions; no delete, purge, backup or restore (Key Vault Secrets Officer has all).
SECRET_PUBLISHER_DATA_ACTIONS: tuple[str, ...] = (
    "Microsoft.KeyVault/vaults/secrets/getSecret/action",
    "Microsoft.KeyVault/vaults/secrets/readMetadata/action",
    "Microsoft.KeyVault/vaults/secrets/setSecret/action",
    "Microsoft.KeyVault/vaults/secrets/update/action",
)


# --- what a role can do ---------------------------------------------------------------------


@dataclass(frozen=True)
class Permissions:
    """One permission block of a role definition (actions minus notActions, and the data ones)."""

    actions: tuple[str, ...] = ()
    not_actions: tuple[str, ...] = ()
    data_actions: tuple[str, ...] = ()
    not_data_actions: tuple[str, ...] = ()

    def allows(self, operation: str) -> bool:
        """True when ``operation`` (a control-plane action) is granted by this block."""
        return _granted(operation, self.actions, self.not_actions)

    def allows_data(self, operation: str) -> bool:
        """True when ``operation`` (a data action) is granted by this block."""
        return _granted(operation, self.data_actions, self.not_data_actions)


@lru_cache(maxsize=1024)
def _pattern(wildcard: str) -> re.Pattern[str]:
    # Azure RBAC: `*` matches any run of characters, `/` included; names compare case-blind.
    return re.compile(".*".join(re.escape(part) for part in wildcard.split("*")), re.IGNORECASE)


def _granted(operation: str, granted: Iterable[str], denied: Iterable[str]) -> bool:
    return any(_pattern(g).fullmatch(operation) for g in granted) and not any(
        _pattern(d).fullmatch(operation) for d in denied
    )


def _p(
    actions: Sequence[str] = (),
    not_actions: Sequence[str] = (),
    data_actions: Sequence[str] = (),
    not_data_actions: Sequence[str] = (),
) -> tuple[Permissions, ...]:
    return (
        Permissions(
            tuple(actions), tuple(not_actions), tuple(data_actions), tuple(not_data_actions)
        ),
    )


_KEY_VAULT_READS = (
    "Microsoft.Authorization/*/read",
    "Microsoft.Insights/alertRules/*",
    "Microsoft.Resources/deployments/*",
    "Microsoft.Resources/subscriptions/resourceGroups/read",
    "Microsoft.Support/*",
    "Microsoft.KeyVault/checkNameAvailability/read",
    "Microsoft.KeyVault/deletedVaults/read",
    "Microsoft.KeyVault/locations/*/read",
    "Microsoft.KeyVault/vaults/*/read",
    "Microsoft.KeyVault/operations/read",
)
_OPENAI_INFERENCE = (
    "Microsoft.CognitiveServices/accounts/OpenAI/*/read",
    "Microsoft.CognitiveServices/accounts/OpenAI/engines/completions/action",
    "Microsoft.CognitiveServices/accounts/OpenAI/engines/search/action",
    "Microsoft.CognitiveServices/accounts/OpenAI/engines/generate/action",
    "Microsoft.CognitiveServices/accounts/OpenAI/deployments/audio/action",
    "Microsoft.CognitiveServices/accounts/OpenAI/deployments/search/action",
    "Microsoft.CognitiveServices/accounts/OpenAI/deployments/completions/action",
    "Microsoft.CognitiveServices/accounts/OpenAI/deployments/chat/completions/action",
    "Microsoft.CognitiveServices/accounts/OpenAI/deployments/realtime/action",
    "Microsoft.CognitiveServices/accounts/OpenAI/deployments/extensions/chat/completions/action",
    "Microsoft.CognitiveServices/accounts/OpenAI/deployments/embeddings/action",
    "Microsoft.CognitiveServices/accounts/OpenAI/images/generations/action",
    "Microsoft.CognitiveServices/accounts/OpenAI/assistants/*",
)

# Built-in roles by GUID: their permissions exactly as Microsoft publishes them.
BUILT_IN_PERMISSIONS: dict[str, tuple[Permissions, ...]] = {
    OWNER: _p(["*"]),
    CONTRIBUTOR: _p(
        ["*"],
        [
            "Microsoft.Authorization/*/Delete",
            "Microsoft.Authorization/*/Write",
            "Microsoft.Authorization/elevateAccess/Action",
            "Microsoft.Blueprint/blueprintAssignments/write",
            "Microsoft.Blueprint/blueprintAssignments/delete",
            "Microsoft.Compute/galleries/share/action",
            "Microsoft.Purview/consents/write",
            "Microsoft.Purview/consents/delete",
            "Microsoft.Resources/deploymentStacks/manageDenySetting/action",
            "Microsoft.Subscription/cancel/action",
            "Microsoft.Subscription/enable/action",
        ],
    ),
    READER: _p(["*/read"]),
    USER_ACCESS_ADMINISTRATOR: _p(["*/read", "Microsoft.Authorization/*", "Microsoft.Support/*"]),
    ROLE_BASED_ACCESS_CONTROL_ADMINISTRATOR: _p(
        [
            "Microsoft.Authorization/roleAssignments/write",
            "Microsoft.Authorization/roleAssignments/delete",
            "*/read",
            "Microsoft.Support/*",
        ]
    ),
    KEY_VAULT_ADMINISTRATOR: _p(_KEY_VAULT_READS, data_actions=["Microsoft.KeyVault/vaults/*"]),
    KEY_VAULT_CONTRIBUTOR: _p(
        [
            "Microsoft.Authorization/*/read",
            "Microsoft.Insights/alertRules/*",
            "Microsoft.KeyVault/*",
            "Microsoft.Resources/deployments/*",
            "Microsoft.Resources/subscriptions/resourceGroups/read",
            "Microsoft.Support/*",
        ],
        [
            "Microsoft.KeyVault/locations/deletedVaults/purge/action",
            "Microsoft.KeyVault/hsmPools/*",
            "Microsoft.KeyVault/managedHsms/*",
        ],
    ),
    # Its ABAC condition limits the roles it may assign to the eight Key Vault data roles, Key
    # Vault Administrator and Secrets Officer among them: it still grants access to every secret.
    # Microsoft lists `Microsoft.Resources/deployments/*` twice; kept as published.
    KEY_VAULT_DATA_ACCESS_ADMINISTRATOR: _p(
        [
            "Microsoft.Authorization/roleAssignments/write",
            "Microsoft.Authorization/roleAssignments/delete",
            "Microsoft.Authorization/*/read",
            "Microsoft.Resources/deployments/*",
            "Microsoft.Resources/subscriptions/resourceGroups/read",
            "Microsoft.Resources/subscriptions/read",
            "Microsoft.Management/managementGroups/read",
            "Microsoft.Resources/deployments/*",
            "Microsoft.Support/*",
            "Microsoft.KeyVault/vaults/*/read",
        ]
    ),
    KEY_VAULT_READER: _p(
        _KEY_VAULT_READS,
        data_actions=[
            "Microsoft.KeyVault/vaults/*/read",
            "Microsoft.KeyVault/vaults/secrets/readMetadata/action",
        ],
    ),
    KEY_VAULT_SECRETS_OFFICER: _p(
        _KEY_VAULT_READS, data_actions=["Microsoft.KeyVault/vaults/secrets/*"]
    ),
    KEY_VAULT_SECRETS_USER: _p(
        data_actions=[
            "Microsoft.KeyVault/vaults/secrets/getSecret/action",
            "Microsoft.KeyVault/vaults/secrets/readMetadata/action",
        ]
    ),
    COGNITIVE_SERVICES_CONTRIBUTOR: _p(
        [
            "Microsoft.Authorization/*/read",
            "Microsoft.CognitiveServices/*",
            "Microsoft.Features/features/read",
            "Microsoft.Features/providers/features/read",
            "Microsoft.Features/providers/features/register/action",
            "Microsoft.Insights/alertRules/*",
            "Microsoft.Insights/diagnosticSettings/*",
            "Microsoft.Insights/logDefinitions/read",
            "Microsoft.Insights/metricdefinitions/read",
            "Microsoft.Insights/metrics/read",
            "Microsoft.ResourceHealth/availabilityStatuses/read",
            "Microsoft.Resources/deployments/*",
            "Microsoft.Resources/deployments/operations/read",
            "Microsoft.Resources/subscriptions/operationresults/read",
            "Microsoft.Resources/subscriptions/read",
            "Microsoft.Resources/subscriptions/resourcegroups/deployments/*",
            "Microsoft.Resources/subscriptions/resourceGroups/read",
            "Microsoft.Support/*",
        ]
    ),
    COGNITIVE_SERVICES_USER: _p(
        [
            "Microsoft.CognitiveServices/*/read",
            "Microsoft.CognitiveServices/accounts/listkeys/action",
            "Microsoft.Insights/alertRules/read",
            "Microsoft.Insights/diagnosticSettings/read",
            "Microsoft.Insights/logDefinitions/read",
            "Microsoft.Insights/metricdefinitions/read",
            "Microsoft.Insights/metrics/read",
            "Microsoft.ResourceHealth/availabilityStatuses/read",
            "Microsoft.Resources/deployments/operations/read",
            "Microsoft.Resources/subscriptions/operationresults/read",
            "Microsoft.Resources/subscriptions/read",
            "Microsoft.Resources/subscriptions/resourceGroups/read",
            "Microsoft.Support/*",
        ],
        data_actions=["Microsoft.CognitiveServices/*"],
    ),
    COGNITIVE_SERVICES_OPENAI_CONTRIBUTOR: _p(
        [
            "Microsoft.CognitiveServices/*/read",
            "Microsoft.CognitiveServices/accounts/deployments/write",
            "Microsoft.CognitiveServices/accounts/deployments/delete",
            "Microsoft.CognitiveServices/accounts/raiPolicies/read",
            "Microsoft.CognitiveServices/accounts/raiPolicies/write",
            "Microsoft.CognitiveServices/accounts/raiPolicies/delete",
            "Microsoft.CognitiveServices/accounts/commitmentplans/read",
            "Microsoft.CognitiveServices/accounts/commitmentplans/write",
            "Microsoft.CognitiveServices/accounts/commitmentplans/delete",
            "Microsoft.Authorization/roleAssignments/read",
            "Microsoft.Authorization/roleDefinitions/read",
        ],
        data_actions=["Microsoft.CognitiveServices/accounts/OpenAI/*"],
    ),
    COGNITIVE_SERVICES_OPENAI_USER: _p(
        [
            "Microsoft.CognitiveServices/*/read",
            "Microsoft.Authorization/roleAssignments/read",
            "Microsoft.Authorization/roleDefinitions/read",
        ],
        data_actions=_OPENAI_INFERENCE,
        not_data_actions=["Microsoft.CognitiveServices/accounts/OpenAI/stored-completions/read"],
    ),
    STORAGE_ACCOUNT_CONTRIBUTOR: _p(
        [
            "Microsoft.Authorization/*/read",
            "Microsoft.Insights/alertRules/*",
            "Microsoft.Insights/diagnosticSettings/*",
            "Microsoft.Network/virtualNetworks/subnets/joinViaServiceEndpoint/action",
            "Microsoft.ResourceHealth/availabilityStatuses/read",
            "Microsoft.Resources/deployments/*",
            "Microsoft.Resources/subscriptions/resourceGroups/read",
            "Microsoft.Storage/storageAccounts/*",
            "Microsoft.Support/*",
        ]
    ),
    STORAGE_BLOB_DATA_OWNER: _p(
        [
            "Microsoft.Storage/storageAccounts/blobServices/containers/*",
            "Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action",
        ],
        data_actions=["Microsoft.Storage/storageAccounts/blobServices/containers/blobs/*"],
    ),
    STORAGE_BLOB_DATA_CONTRIBUTOR: _p(
        [
            "Microsoft.Storage/storageAccounts/blobServices/containers/delete",
            "Microsoft.Storage/storageAccounts/blobServices/containers/read",
            "Microsoft.Storage/storageAccounts/blobServices/containers/write",
            "Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action",
        ],
        data_actions=[
            "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/delete",
            "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read",
            "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write",
            "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/move/action",
            "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/add/action",
        ],
    ),
    STORAGE_BLOB_DATA_READER: _p(
        [
            "Microsoft.Storage/storageAccounts/blobServices/containers/read",
            "Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action",
        ],
        data_actions=["Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"],
    ),
    STORAGE_QUEUE_DATA_CONTRIBUTOR: _p(
        [
            "Microsoft.Storage/storageAccounts/queueServices/queues/delete",
            "Microsoft.Storage/storageAccounts/queueServices/queues/read",
            "Microsoft.Storage/storageAccounts/queueServices/queues/write",
        ],
        data_actions=[
            "Microsoft.Storage/storageAccounts/queueServices/queues/messages/delete",
            "Microsoft.Storage/storageAccounts/queueServices/queues/messages/read",
            "Microsoft.Storage/storageAccounts/queueServices/queues/messages/write",
            "Microsoft.Storage/storageAccounts/queueServices/queues/messages/process/action",
        ],
    ),
    STORAGE_TABLE_DATA_CONTRIBUTOR: _p(
        [
            "Microsoft.Storage/storageAccounts/tableServices/tables/read",
            "Microsoft.Storage/storageAccounts/tableServices/tables/write",
            "Microsoft.Storage/storageAccounts/tableServices/tables/delete",
        ],
        data_actions=[
            "Microsoft.Storage/storageAccounts/tableServices/tables/entities/read",
            "Microsoft.Storage/storageAccounts/tableServices/tables/entities/write",
            "Microsoft.Storage/storageAccounts/tableServices/tables/entities/delete",
            "Microsoft.Storage/storageAccounts/tableServices/tables/entities/add/action",
            "Microsoft.Storage/storageAccounts/tableServices/tables/entities/update/action",
        ],
    ),
    MONITORING_METRICS_PUBLISHER: _p(
        [
            "Microsoft.Insights/Register/Action",
            "Microsoft.Support/*",
            "Microsoft.Resources/subscriptions/resourceGroups/read",
        ],
        data_actions=["Microsoft.Insights/Metrics/Write", "Microsoft.Insights/Telemetry/Write"],
    ),
}

# What a role can do that least privilege cares about, each tested with the operations that
# carry it (matched against the role's wildcards, minus its notActions).
GRANT_ACCESS = "grant access"
DEFINE_ROLES = "define roles"
CHANGE_EVERYTHING = "change every resource"
USE_KEYS = "list or regenerate keys"
CHANGE_SECRETS = "change secrets"
READ_SECRETS = "read secrets"

_GRANT_OPERATIONS = (
    "Microsoft.Authorization/roleAssignments/write",
    # In a vault using access policies, writing a policy grants secret access.
    "Microsoft.KeyVault/vaults/accessPolicies/write",
)
# A provider no built-in role names: only a bare wildcard (`*`, `*/write`) grants it.
_ANY_WRITE = "Any.Provider/anyResources/write"
# Operations that return or reset a credential.
KEY_OPERATIONS: tuple[str, ...] = (
    "Microsoft.CognitiveServices/accounts/listKeys/action",
    "Microsoft.CognitiveServices/accounts/regenerateKey/action",
    "Microsoft.Storage/storageAccounts/listKeys/action",
    "Microsoft.Storage/storageAccounts/regenerateKey/action",
    "Microsoft.Storage/storageAccounts/listAccountSas/action",
    "Microsoft.OperationalInsights/workspaces/sharedKeys/action",
    "Microsoft.Web/sites/config/list/action",
    "Microsoft.Web/sites/publishxml/action",
    "Microsoft.DocumentDB/databaseAccounts/listKeys/action",
    "Microsoft.EventGrid/topics/listKeys/action",
    "Microsoft.ServiceBus/namespaces/authorizationRules/listKeys/action",
    "Microsoft.EventHub/namespaces/authorizationRules/listKeys/action",
    "Microsoft.Cache/redis/listKeys/action",
    "Microsoft.Search/searchServices/listAdminKeys/action",
    "Any.Provider/anyResources/listKeys/action",
)
_SET_SECRET = "Microsoft.KeyVault/vaults/secrets/setSecret/action"
_GET_SECRET = "Microsoft.KeyVault/vaults/secrets/getSecret/action"


def capabilities(permissions: Iterable[Permissions]) -> frozenset[str]:
    """What a role with these permissions can do, in the terms least privilege judges."""
    blocks = tuple(permissions)

    def can(operation: str) -> bool:
        return any(b.allows(operation) for b in blocks)

    def can_data(operation: str) -> bool:
        return any(b.allows_data(operation) for b in blocks)

    found = set()
    if any(can(op) for op in _GRANT_OPERATIONS):
        found.add(GRANT_ACCESS)
    if can("Microsoft.Authorization/roleDefinitions/write"):
        found.add(DEFINE_ROLES)
    if can(_ANY_WRITE):
        found.add(CHANGE_EVERYTHING)
    if any(can(op) for op in KEY_OPERATIONS):
        found.add(USE_KEYS)
    if can_data(_SET_SECRET):
        found.add(CHANGE_SECRETS)
    if can_data(_GET_SECRET):
        found.add(READ_SECRETS)
    return frozenset(found)


def has_data_actions(permissions: Iterable[Permissions]) -> bool:
    """True when a role grants any data action (it reads or writes data, not only resources)."""
    return any(block.data_actions for block in permissions)


def permissions_from_definition(
    props: Mapping[str, object], *, unknown_is_unset: bool = False
) -> tuple[Permissions, ...] | None:
    """A custom role definition's permissions (``authorization.RoleDefinition`` props).

    None when they are not known. ``unknown_is_unset``: an unknown list is one the program did
    not set (a provider previews every property missing from the inputs as unknown:
    pulumi-azure-native provider/pkg/convert/previewOutputs.go), so it is empty.
    """
    blocks = props.get("permissions")
    if not isinstance(blocks, list):
        return None
    result = []
    for block in blocks:
        if not isinstance(block, Mapping):
            return None
        lists = []
        for key in _PERMISSION_KEYS:
            value = block.get(key)
            if value is None or (unknown_is_unset and _is_unknown_text(value)):
                value = []
            if not isinstance(value, list) or not all(
                isinstance(s, str) and not _is_unknown_text(s) for s in value
            ):
                return None
            lists.append(tuple(value))
        result.append(Permissions(*lists))
    return tuple(result)


def _is_unknown_text(value: object) -> bool:
    # Pulumi's unknown sentinel (pulumi_policy.proxy / the engine's UnknownStringValue).
    return value == "04da6b54-80e4-46f7-96ec-b56ff0331ba9"


_PERMISSION_KEYS = ("actions", "notActions", "dataActions", "notDataActions")
