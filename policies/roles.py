"""Azure roles: the one role table the policy pack, the components and the reports use.

The policy pack ships alone (``pulumi policy publish`` uploads its folder and nothing else), so
this file lives in the pack; ``catalog/roles.py`` is a verbatim copy for the rooms that may not
import the pack (``components/``), kept equal by ``tests/policies/test_pack_layout.py``.
Pure data and pure functions: standard library only.
"""

from __future__ import annotations

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
# Reading reference status and triggering the reference refresh; `config/list/action` (which
# returns resolved setting values) is deliberately absent.
REFERENCE_REFRESHER_ACTIONS: tuple[str, ...] = (
    "Microsoft.Web/sites/config/Read",
    "Microsoft.Web/sites/config/Write",
)
# Publishing a rotated key as a new version of the one secret (assigned on the secret): read,
# write and tag versions; no delete, purge, backup or restore (Key Vault Secrets Officer has all).
SECRET_PUBLISHER_DATA_ACTIONS: tuple[str, ...] = (
    "Microsoft.KeyVault/vaults/secrets/getSecret/action",
    "Microsoft.KeyVault/vaults/secrets/readMetadata/action",
    "Microsoft.KeyVault/vaults/secrets/setSecret/action",
    "Microsoft.KeyVault/vaults/secrets/update/action",
)
