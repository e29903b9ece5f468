"""Settings parsing: valid environments, and one-line errors naming setting, value and rule."""

from __future__ import annotations

import secrets

import pytest

from app.settings import DEFAULT_API_VERSION, Settings, SettingsError, is_key_vault_reference

ENDPOINT = "https://sai-ai.openai.azure.com/"
VAULT = "https://sai-kv.vault.azure.net/"
REFERENCE = "@Microsoft.KeyVault(SecretUri=https://sai-kv.vault.azure.net/secrets/ai-key)"


def env(**overrides: str) -> dict[str, str]:
    base = {
        "AZURE_AI_ENDPOINT": ENDPOINT,
        "AZURE_AI_DEPLOYMENT": "chat",
        "KEY_VAULT_URI": VAULT,
        "AZURE_AI_KEY_SECRET_NAME": "ai-key",
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v != "<unset>"}


def test_sdk_settings_parse_with_defaults() -> None:
    settings = Settings.from_env(env())
    assert settings == Settings(
        endpoint="https://sai-ai.openai.azure.com",
        deployment="chat",
        auth_mode="keyVault",
        api_version=DEFAULT_API_VERSION,
        api_key=None,
        key_vault_uri="https://sai-kv.vault.azure.net",
        secret_name="ai-key",
        key_max_age_seconds=300.0,
    )
    assert settings.sdk_configured


def test_reference_only_settings_parse() -> None:
    key = secrets.token_hex(16)
    settings = Settings.from_env(
        env(KEY_VAULT_URI="<unset>", AZURE_AI_KEY_SECRET_NAME="<unset>", AZURE_AI_API_KEY=key)
    )
    assert settings.api_key == key
    assert not settings.sdk_configured
    assert key not in repr(settings)


def test_keyless_settings_parse_and_ignore_vault() -> None:
    settings = Settings.from_env(
        env(AZURE_AI_AUTH_MODE="keyless", AZURE_AI_KEY_MAX_AGE_SECONDS="0")
    )
    assert (settings.auth_mode, settings.key_vault_uri, settings.key_max_age_seconds) == (
        "keyless",
        None,
        0.0,
    )


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"AZURE_AI_AUTH_MODE": "apiKey"},
            "AZURE_AI_AUTH_MODE='apiKey': must be one of keyVault, keyless",
        ),
        (
            {"AZURE_AI_ENDPOINT": "<unset>"},
            "AZURE_AI_ENDPOINT is not set: the AI account endpoint is required",
        ),
        (
            {"AZURE_AI_ENDPOINT": "http://sai-ai.openai.azure.com"},
            "AZURE_AI_ENDPOINT='http://sai-ai.openai.azure.com': must be an https:// URL with a "
            "host name",
        ),
        (
            {"AZURE_AI_ENDPOINT": "https://sai-ai.openai.azure.com/?x=1"},
            "AZURE_AI_ENDPOINT='https://sai-ai.openai.azure.com/?x=1': must be a plain https:// "
            "URL (no query, fragment or credentials)",
        ),
        (
            {"AZURE_AI_DEPLOYMENT": "<unset>"},
            "AZURE_AI_DEPLOYMENT is not set: the model deployment is required",
        ),
        (
            {"AZURE_AI_DEPLOYMENT": "chat/../x"},
            "AZURE_AI_DEPLOYMENT='chat/../x': must be 1-64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit",
        ),
        (
            {"AZURE_AI_API_VERSION": "latest"},
            "AZURE_AI_API_VERSION='latest': must look like YYYY-MM-DD or YYYY-MM-DD-preview",
        ),
        (
            {"AZURE_AI_KEY_MAX_AGE_SECONDS": "soon"},
            "AZURE_AI_KEY_MAX_AGE_SECONDS='soon': must be a number of seconds",
        ),
        (
            {"AZURE_AI_KEY_MAX_AGE_SECONDS": "-1"},
            "AZURE_AI_KEY_MAX_AGE_SECONDS='-1': must be a finite number >= 0",
        ),
        (
            {"AZURE_AI_KEY_MAX_AGE_SECONDS": "nan"},
            "AZURE_AI_KEY_MAX_AGE_SECONDS='nan': must be a finite number >= 0",
        ),
        (
            {"KEY_VAULT_URI": "sai-kv"},
            "KEY_VAULT_URI='sai-kv': must be an https:// URL with a host name",
        ),
        (
            {"AZURE_AI_KEY_SECRET_NAME": "ai_key"},
            "AZURE_AI_KEY_SECRET_NAME='ai_key': must be 1-127 letters, digits or hyphens",
        ),
        (
            {"KEY_VAULT_URI": "<unset>"},
            "KEY_VAULT_URI is not set: it is required together with AZURE_AI_KEY_SECRET_NAME",
        ),
        (
            {"AZURE_AI_KEY_SECRET_NAME": "<unset>"},
            "AZURE_AI_KEY_SECRET_NAME is not set: it is required together with KEY_VAULT_URI",
        ),
        (
            {"KEY_VAULT_URI": "<unset>", "AZURE_AI_KEY_SECRET_NAME": "<unset>"},
            "AZURE_AI_API_KEY is not set: keyVault mode needs it (a Key Vault reference) or "
            "KEY_VAULT_URI with AZURE_AI_KEY_SECRET_NAME",
        ),
        (
            {"AZURE_AI_AUTH_MODE": "keyless", "AZURE_AI_API_KEY": REFERENCE},
            f"AZURE_AI_API_KEY={REFERENCE}: must be unset when AZURE_AI_AUTH_MODE=keyless (the "
            "app sends an Entra token, never a key)",
        ),
    ],
)
def test_bad_settings_give_one_line_errors(overrides: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env(env(**overrides))
    assert str(caught.value) == message
    assert "\n" not in str(caught.value)


def test_keyless_with_a_key_masks_the_key() -> None:
    key = secrets.token_hex(16)
    with pytest.raises(SettingsError) as caught:
        Settings.from_env(env(AZURE_AI_AUTH_MODE="keyless", AZURE_AI_API_KEY=key))
    assert str(caught.value).startswith("AZURE_AI_API_KEY=<32 characters, masked>: must be unset")
    assert key not in str(caught.value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (REFERENCE, True),
        ("@Microsoft.KeyVault(VaultName=sai-kv;SecretName=ai-key)", True),
        ("  @microsoft.keyvault(VaultName=sai-kv;SecretName=ai-key)\n", True),
        ("@Microsoft.KeyVault(", False),
        ("Microsoft.KeyVault(VaultName=sai-kv;SecretName=ai-key)", False),
        ("", False),
        (None, False),
    ],
)
def test_unresolved_reference_detection(value: str | None, expected: bool) -> None:
    assert is_key_vault_reference(value) is expected


def test_random_keys_are_never_taken_for_references() -> None:
    for _ in range(50):
        assert not is_key_vault_reference(secrets.token_urlsafe(32))


def test_the_reference_the_stack_writes_is_detected() -> None:
    from catalog import ids

    reference = ids.key_vault_reference(ids.vault_uri_for("sai-kv"), "ai-api-key")
    assert is_key_vault_reference(reference)
