"""Reading Key Vault references and role assignment scopes."""

from __future__ import annotations

import uuid

import pytest

from policies.azure_ids import SecretRef, key_vault_reference_target, scope_kind, scope_target
from policies.support import canonical_type

SUB = "/subscriptions/00000000-0000-4000-8000-00000000000a"
VAULT = f"{SUB}/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv-a"
# Key Vault's version IDs are 32 hex characters (the shape of an AI key too: made at run time).
VERSION = uuid.uuid4().hex


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (
            "@Microsoft.KeyVault(SecretUri=https://kv-a.vault.azure.net/secrets/Key-1)",
            ("kv-a", "key-1"),
        ),
        (
            f"@Microsoft.KeyVault(SecretUri=https://kv-a.vault.azure.net/secrets/k/{VERSION})",
            ("kv-a", "k"),
        ),
        ("@Microsoft.KeyVault(VaultName=kv-a;SecretName=k)", ("kv-a", "k")),
        (
            f"@Microsoft.KeyVault( VaultName = kv-a ; SecretName = k ; SecretVersion = {VERSION} )",
            ("kv-a", "k"),
        ),
        ("@Microsoft.KeyVault(VaultName=kv-a)", None),
        # Names that break Azure's rules name no secret.
        ("@Microsoft.KeyVault(VaultName=kv-a;SecretName=ai_key)", None),
        ("@Microsoft.KeyVault(SecretUri=https://k.vault.azure.net/secrets/ai-key)", None),
        ("https://kv-a.vault.azure.net/secrets/k", None),
        ("@Microsoft.AppConfiguration(Endpoint=https://cfg-1.azconfig.io; Key=k)", None),
    ],
)
def test_key_vault_reference_target(value: str, expected: tuple[str, str] | None) -> None:
    target = key_vault_reference_target(value)
    assert (target and (target.vault, target.secret)) == expected


# References on which a hand-written reader easily parts from the contract's.
CROSS_CHECKED = [
    "@Microsoft.KeyVault(SecretUri=https://kv-a.vault.azure.net/secrets/ai-key)",
    "@Microsoft.KeyVault(SecretUri=https://kv-a.vault.azure.net/secrets/ai-key/)",
    f"@Microsoft.KeyVault(SecretUri=https://kv-a.vault.azure.net/secrets/ai-key/{VERSION})",
    "@Microsoft.KeyVault(SecretUri=https://kv-a.vault.azure.net:443/secrets/ai-key)",
    "@Microsoft.KeyVault(SecretUri=https://kv-a.vault.azure.cn/secrets/ai-key)",
    "@Microsoft.KeyVault(SecretUri=https://kv-a.vault.usgovcloudapi.net/secrets/ai-key)",
    "@microsoft.keyvault(SecretUri=https://KV-A.vault.azure.net/secrets/AI-key)",
    "  @Microsoft.KeyVault(SecretUri=https://kv-a.vault.azure.net/secrets/ai-key)  ",
    "@Microsoft.KeyVault(VaultName=kv-a;SecretName=ai-key)",
    "@Microsoft.KeyVault(SecretName=ai-key;VaultName=kv-a)",
    f"@Microsoft.KeyVault(VaultName=kv-a;SecretName=ai-key;SecretVersion={VERSION})",
    # Refused by both:
    "@Microsoft.KeyVault(SecretUri=https://kv-a.vault.evil.com/secrets/ai-key)",
    "@Microsoft.KeyVault(SecretUri=https://kv-a.vault.microsoftazure.de/secrets/ai-key)",
    "@Microsoft.KeyVault(SecretUri=https://kv-a.vault.azure.net/secrets/ai-key/abc)",
    "@Microsoft.KeyVault(SecretUri=https://kv-a.vault.azure.net:8443/secrets/ai-key)",
    "@Microsoft.KeyVault(SecretUri=https://kv-a.vault.azure.net:99999/secrets/ai-key)",
    "@Microsoft.KeyVault(SecretUri=http://kv-a.vault.azure.net/secrets/ai-key)",
    "@Microsoft.KeyVault(SecretUri=https://kv-a.vault.azure.net/keys/ai-key)",
    "@Microsoft.KeyVault(SecretUri=https://kv-a.vault.azure.net/secrets/ai-key?x=1)",
    "@Microsoft.KeyVault(SecretUri=https://kv-a.vault.azure.net/secrets/ai_key)",
    f"@Microsoft.KeyVault(SecretUri=https://kv-a.vault.azure.net/secrets/k/{VERSION}/x)",
    "@Microsoft.KeyVault(SecretUri=https://kv--a.vault.azure.net/secrets/ai-key)",
    "@Microsoft.KeyVault(VaultName=kv-a;SecretName=ai-key;SecretVersion=abc)",
    "@Microsoft.KeyVault(VaultName=kv-a)",
    "@Microsoft.KeyVault()",
    "Microsoft.KeyVault(VaultName=kv-a;SecretName=ai-key)",
]


@pytest.mark.parametrize("value", CROSS_CHECKED)
def test_the_packs_reader_answers_as_the_contracts(value: str) -> None:
    """The pack ships without the SDK that catalog.ids reads secret URIs with, so it has its own
    reader; it must name the same secret, or refuse, exactly where the contract does."""
    from catalog import ids

    contract = ids.parse_key_vault_reference(value)
    expected = None
    if contract is not None:
        expected = (ids.vault_name(contract.vault_uri), contract.name.lower())
    target = key_vault_reference_target(value)
    assert (target and (target.vault, target.secret)) == expected


@pytest.mark.parametrize(
    ("scope", "kind", "target"),
    [
        (f"{VAULT}/secrets/k", "secret", SecretRef("kv-a", "k")),
        (VAULT, "vault", "kv-a"),
        (f"{SUB}/resourceGroups/rg/providers/Microsoft.Web/sites/s", "resource", None),
        (f"{SUB}/resourceGroups/rg", "resource group", None),
        (SUB, "subscription", None),
        ("/providers/Microsoft.Management/managementGroups/mg", "management group", None),
        ("/", "root", None),
    ],
)
def test_scope_kind_and_target(scope: str, kind: str, target: object) -> None:
    assert (scope_kind(scope), scope_target(scope)) == (kind, target)


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        ("azure-native:web/v20240401:WebApp", "azure-native:web:WebApp"),
        ("azure-native:web/v20260301preview:WebApp", "azure-native:web:WebApp"),
        ("azure-native:keyvault:Vault", "azure-native:keyvault:Vault"),
        ("pulumi-python:dynamic:Resource", "pulumi-python:dynamic:Resource"),
        ("pulumi:pulumi:Stack", "pulumi:pulumi:Stack"),
    ],
)
def test_versioned_type_tokens_are_canonical(token: str, expected: str) -> None:
    assert canonical_type(token) == expected
