"""Reading Key Vault references and role assignment scopes."""

from __future__ import annotations

import pytest

from policies.azure_ids import SecretRef, key_vault_reference_target, scope_kind, scope_target
from policies.support import canonical_type

SUB = "/subscriptions/00000000-0000-4000-8000-00000000000a"
VAULT = f"{SUB}/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv-a"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (
            "@Microsoft.KeyVault(SecretUri=https://kv-a.vault.azure.net/secrets/Key-1)",
            ("kv-a", "key-1"),
        ),
        (
            "@Microsoft.KeyVault(SecretUri=https://kv-a.vault.azure.net/secrets/k/0a1b2c)",
            ("kv-a", "k"),
        ),
        ("@Microsoft.KeyVault(VaultName=kv-a;SecretName=k)", ("kv-a", "k")),
        (
            "@Microsoft.KeyVault( VaultName = kv-a ; SecretName = k ; SecretVersion = 0a1b )",
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
