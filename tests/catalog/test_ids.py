"""Resource IDs and Key Vault addresses, parsed and built by the contract on the SDKs' parsers.

Shapes as Azure writes them: ARM IDs (learn.microsoft.com/azure/azure-resource-manager/templates/
template-functions-resource#resourceid), secret identifiers
(learn.microsoft.com/azure/key-vault/general/about-keys-secrets-certificates#object-identifiers)
and App Service Key Vault references, both documented forms
(learn.microsoft.com/azure/app-service/app-service-key-vault-references#source-app-settings-from-key-vault).
"""

from __future__ import annotations

import pytest

from catalog import ids

SUB = "00000000-0000-4000-8000-00000000000A"
GROUP = f"/subscriptions/{SUB}/resourceGroups/rg-1"
ACCOUNT = f"{GROUP}/providers/Microsoft.CognitiveServices/accounts/ai-one"
SITE = f"{GROUP}/providers/Microsoft.Web/sites/web-1"
VERSION = "0123456789abcdef0123456789ABCDEF"
ACCOUNT_RULE = (
    "must be /subscriptions/<subscription GUID>/resourceGroups/<group>"
    "/providers/Microsoft.CognitiveServices/accounts/<name>"
)
SITE_RULE = (
    "must be /subscriptions/<subscription GUID>/resourceGroups/<group>"
    "/providers/Microsoft.Web/sites/<name>"
)


def test_an_account_id_is_split_with_the_subscription_lower_cased() -> None:
    parsed = ids.account_id(ACCOUNT)
    assert parsed == ids.ResourceId(
        SUB.lower(), "rg-1", "ai-one", "Microsoft.CognitiveServices", "accounts"
    )
    assert parsed.id == ACCOUNT.replace(SUB, SUB.lower())


def test_provider_and_type_compare_case_insensitively_as_arm_does() -> None:
    parsed = ids.site_id(SITE.replace("Microsoft.Web/sites", "microsoft.web/Sites"))
    assert (parsed.namespace, parsed.type, parsed.name) == ("Microsoft.Web", "sites", "web-1")


@pytest.mark.parametrize(
    "value",
    [
        None,
        42,
        "",
        "ai-one",
        ACCOUNT + "/",
        ACCOUNT + "/deployments/chat",
        ACCOUNT.replace(SUB, "not-a-guid"),
        ACCOUNT.replace("rg-1", "rg."),
        ACCOUNT.replace("ai-one", "-ai"),
        ACCOUNT.replace("CognitiveServices", "KeyVault"),
        ACCOUNT.replace("accounts", "vaults"),
        ACCOUNT.replace("/subscriptions/", "/subscription/"),
    ],
)
def test_anything_but_an_account_id_is_refused_with_the_rule(value: object) -> None:
    with pytest.raises(ids.IdError) as refused:
        ids.account_id(value)
    assert str(refused.value) == ACCOUNT_RULE


def test_an_account_id_longer_than_a_tag_value_is_refused() -> None:
    # The secret's ProviderAddress tag holds the ID: Key Vault tag values hold 256 characters.
    long_id = ACCOUNT.replace("rg-1", "g" * 90).replace("ai-one", "a" * 64)
    assert len(long_id) == 269
    with pytest.raises(ids.IdError) as refused:
        ids.account_id(long_id)
    assert str(refused.value) == (
        "must be at most 256 characters (Key Vault's limit for a tag value)"
    )


def test_a_site_id_takes_site_names_only() -> None:
    assert ids.site_id(SITE).name == "web-1"
    for bad in (SITE.replace("web-1", "w"), SITE.replace("web-1", "web--1"), ACCOUNT):
        with pytest.raises(ids.IdError) as refused:
            ids.site_id(bad)
        assert str(refused.value) == SITE_RULE


def test_any_top_level_resource_by_its_namespace_and_type() -> None:
    zone = f"{GROUP}/providers/Microsoft.Network/privateDnsZones/privatelink.vaultcore.azure.net"
    parsed = ids.resource_id(zone, "Microsoft.Network", "privateDnsZones")
    assert parsed.name == "privatelink.vaultcore.azure.net"
    with pytest.raises(ids.IdError):
        ids.resource_id(zone, "Microsoft.Network", "privateDnsZones", ids.names.SITE_NAME)


def test_guids() -> None:
    assert [ids.is_guid(v) for v in (SUB, SUB.lower(), SUB[:-1], f"{{{SUB}}}", None)] == [
        True,
        True,
        False,
        False,
        False,
    ]


@pytest.mark.parametrize(
    ("value", "normalised"),
    [
        ("https://kv-a.vault.azure.net", "https://kv-a.vault.azure.net"),
        ("https://kv-a.vault.azure.net/", "https://kv-a.vault.azure.net"),
        ("https://KV-A.vault.azure.net:443/", "https://kv-a.vault.azure.net"),
        ("https://kv-a.vault.azure.cn/", "https://kv-a.vault.azure.cn"),
        ("https://kv-a.vault.usgovcloudapi.net", "https://kv-a.vault.usgovcloudapi.net"),
    ],
)
def test_a_vault_uri_is_normalised(value: str, normalised: str) -> None:
    assert ids.vault_uri(value) == normalised
    assert ids.vault_name(value) == "kv-a"


@pytest.mark.parametrize(
    "value",
    [
        None,
        "kv-a",
        "http://kv-a.vault.azure.net/",
        "https://kv-a.vault.azure.net:8443/",
        "https://kv-a.vault.azure.net/secrets",
        "https://kv-a.vault.azure.net/?x=1",
        "https://user@kv-a.vault.azure.net/",
        "https://kv-a.vault.microsoftazure.de/",
        "https://kv-a.example.com/",
        "https://kv--a.vault.azure.net/",
        "https://kv.vault.azure.net/",
        # urlsplit itself raises ValueError on these: still the rule, not a traceback.
        "https://kv-a.vault.azure.net:99999/",
        "https://[::1",
    ],
)
def test_anything_but_a_vault_uri_is_refused_with_the_rule(value: object) -> None:
    with pytest.raises(ids.IdError) as refused:
        ids.vault_uri(value)
    assert str(refused.value) == (
        "must be https://<vault name>.vault.azure.net/ (3-24 letters, digits or single hyphens; "
        "vault.azure.cn and vault.usgovcloudapi.net too)"
    )


def test_a_vault_uri_from_its_name() -> None:
    assert ids.vault_uri_for("kv-a") == "https://kv-a.vault.azure.net"
    assert ids.vault_uri_for("kv-a", "vault.azure.cn") == "https://kv-a.vault.azure.cn"
    with pytest.raises(ids.IdError) as refused:
        ids.vault_uri_for("kv_a")
    assert str(refused.value) == (
        "vault name must be 3-24 letters, digits or single hyphens, starting with a letter, "
        "ending with a letter or digit"
    )


def test_a_secret_uri_is_versionless() -> None:
    assert ids.secret_uri("https://kv-a.vault.azure.net/", "ai-key") == (
        "https://kv-a.vault.azure.net/secrets/ai-key"
    )
    with pytest.raises(ids.IdError) as refused:
        ids.secret_uri("https://kv-a.vault.azure.net/", "ai_key")
    assert str(refused.value) == "secret name must be 1-127 letters, digits or hyphens"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://kv-a.vault.azure.net/secrets/ai-key", ("ai-key", None)),
        ("https://kv-a.vault.azure.net/secrets/ai-key/", ("ai-key", None)),
        (f"https://kv-a.vault.azure.net/secrets/ai-key/{VERSION}", ("ai-key", VERSION)),
        (f"https://KV-A.vault.azure.net:443/secrets/ai-key/{VERSION}/", ("ai-key", VERSION)),
    ],
)
def test_a_secret_uri_is_split(value: str, expected: tuple[str, str | None]) -> None:
    address = ids.parse_secret_uri(value)
    assert (address.vault_uri, address.name, address.version) == (
        "https://kv-a.vault.azure.net",
        *expected,
    )
    assert address.versionless == "https://kv-a.vault.azure.net/secrets/ai-key"


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "https://kv-a.vault.azure.net/",
        "https://kv-a.vault.azure.net/secrets/",
        "https://kv-a.vault.azure.net/keys/ai-key",
        "https://kv-a.vault.azure.net/secrets/ai_key",
        "https://kv-a.vault.azure.net/secrets/ai-key/v1",
        f"https://kv-a.vault.azure.net/secrets/ai-key/{VERSION}/x",
        "https://kv-a.vault.azure.net/secrets/ai-key?api-version=7.4",
        "https://kv-a.vault.azure.net/secrets/ai-key#v",
        "http://kv-a.vault.azure.net/secrets/ai-key",
        "https://kv-a.example.com/secrets/ai-key",
    ],
)
def test_anything_but_a_secret_uri_is_refused_with_the_rule(value: object) -> None:
    with pytest.raises(ids.IdError) as refused:
        ids.parse_secret_uri(value)
    assert str(refused.value) == (
        "must be https://<vault>.vault.azure.net/secrets/<name>[/<version>]"
    )


def test_the_reference_the_stack_writes_follows_the_latest_version() -> None:
    reference = ids.key_vault_reference("https://kv-a.vault.azure.net/", "ai-key")
    assert reference == "@Microsoft.KeyVault(SecretUri=https://kv-a.vault.azure.net/secrets/ai-key)"
    assert ids.parse_key_vault_reference(reference) == ids.SecretAddress(
        "https://kv-a.vault.azure.net", "ai-key", None
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (
            f"@Microsoft.KeyVault(SecretUri=https://kv-a.vault.azure.net/secrets/ai-key/{VERSION})",
            ("https://kv-a.vault.azure.net", "ai-key", VERSION),
        ),
        (
            "  @Microsoft.KeyVault(VaultName=kv-a;SecretName=ai-key)  ",
            ("https://kv-a.vault.azure.net", "ai-key", None),
        ),
        (
            "@Microsoft.KeyVault( VaultName = kv-a ; SecretName = ai-key ; "
            f"SecretVersion = {VERSION} )",
            ("https://kv-a.vault.azure.net", "ai-key", VERSION),
        ),
        (
            "@microsoft.keyvault(secreturi=https://kv-a.vault.azure.cn/secrets/ai-key)",
            ("https://kv-a.vault.azure.cn", "ai-key", None),
        ),
        ("@Microsoft.KeyVault(VaultName=kv-a)", None),
        ("@Microsoft.KeyVault(VaultName=kv-a;SecretName=ai_key)", None),
        ("@Microsoft.KeyVault(VaultName=kv-a;SecretName=ai-key;SecretVersion=v1)", None),
        ("@Microsoft.KeyVault(SecretUri=https://kv-a.example.com/secrets/ai-key)", None),
        ("@Microsoft.KeyVault()", None),
        ("https://kv-a.vault.azure.net/secrets/ai-key", None),
        ("x @Microsoft.KeyVault(VaultName=kv-a;SecretName=ai-key)", None),
        (None, None),
    ],
)
def test_references_in_either_documented_form(
    value: object, expected: tuple[str, str, str | None] | None
) -> None:
    parsed = ids.parse_key_vault_reference(value)
    assert (parsed and (parsed.vault_uri, parsed.name, parsed.version)) == expected
