"""The app's settings, read from the environment App Service gives it, validated in one place."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from app.catalog import names, secret

AuthMode = Literal["keyVault", "keyless"]
AUTH_MODES: tuple[str, ...] = ("keyVault", "keyless")
DEFAULT_API_VERSION = "2024-10-21"
DEFAULT_KEY_MAX_AGE_SECONDS = 300.0
LOG_LEVELS: tuple[str, ...] = ("DEBUG", "INFO", "WARNING", "ERROR")

_API_VERSION = re.compile(r"^\d{4}-\d{2}-\d{2}(-preview)?$")


class SettingsError(ValueError):
    """A setting is missing or malformed; the message is one line naming setting, value and rule."""


def is_key_vault_reference(value: str | None) -> bool:
    """True when `value` is a literal `@Microsoft.KeyVault(...)` reference (App Service left it
    unresolved), which must never be sent as a key."""
    return secret.is_reference_text(value)


def _masked(value: str) -> str:
    # A key-bearing setting is reported by shape only, never by content.
    return f"<{len(value)} characters, masked>"


def _https_url(name: str, value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.hostname:
        raise SettingsError(f"{name}={value!r}: must be an https:// URL with a host name")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise SettingsError(
            f"{name}={value!r}: must be a plain https:// URL (no query, fragment or credentials)"
        )
    return value.rstrip("/")


def _number(name: str, value: str, minimum: float) -> float:
    try:
        number = float(value)
    except ValueError:
        raise SettingsError(f"{name}={value!r}: must be a number of seconds") from None
    if not number >= minimum or number == float("inf"):
        raise SettingsError(f"{name}={value!r}: must be a finite number >= {minimum:g}")
    return number


@dataclass(frozen=True)
class Settings:
    """What the app needs to reach its AI deployment, and its key through Key Vault."""

    endpoint: str
    """AZURE_AI_ENDPOINT: the account's https endpoint (custom subdomain)."""
    deployment: str
    """AZURE_AI_DEPLOYMENT: the model deployment the app talks to."""
    auth_mode: AuthMode = "keyVault"
    """AZURE_AI_AUTH_MODE: keyVault (api-key from Key Vault) or keyless (Entra token)."""
    api_version: str = DEFAULT_API_VERSION
    """AZURE_AI_API_VERSION: the Azure OpenAI data-plane api-version."""
    api_key: str | None = None
    """AZURE_AI_API_KEY: the key App Service resolved from a Key Vault reference (or the literal
    reference when it could not)."""
    key_vault_uri: str | None = None
    """KEY_VAULT_URI: the vault to read the key from through the managed identity."""
    secret_name: str | None = None
    """AZURE_AI_KEY_SECRET_NAME: the secret holding the key."""
    key_max_age_seconds: float = DEFAULT_KEY_MAX_AGE_SECONDS
    """AZURE_AI_KEY_MAX_AGE_SECONDS: how long a key read through the SDK is used before Key Vault
    is asked (in the background) for a newer version; 0 turns the re-check off."""

    def __repr__(self) -> str:
        key = "None" if self.api_key is None else "'***'"
        return (
            f"Settings(endpoint={self.endpoint!r}, deployment={self.deployment!r}, "
            f"auth_mode={self.auth_mode!r}, api_key={key}, key_vault_uri={self.key_vault_uri!r}, "
            f"secret_name={self.secret_name!r})"
        )

    @property
    def sdk_configured(self) -> bool:
        """True when the key can be read from Key Vault through the SDK."""
        return self.key_vault_uri is not None and self.secret_name is not None

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Read and validate the settings; raise SettingsError on the first bad one."""

        def get(name: str) -> str | None:
            value = environ.get(name)
            return None if value is None or value.strip() == "" else value.strip()

        mode = get("AZURE_AI_AUTH_MODE") or "keyVault"
        if mode not in AUTH_MODES:
            choices = ", ".join(AUTH_MODES)
            raise SettingsError(f"AZURE_AI_AUTH_MODE={mode!r}: must be one of {choices}")

        endpoint = get("AZURE_AI_ENDPOINT")
        if endpoint is None:
            raise SettingsError("AZURE_AI_ENDPOINT is not set: the AI account endpoint is required")
        endpoint = _https_url("AZURE_AI_ENDPOINT", endpoint)

        deployment = get("AZURE_AI_DEPLOYMENT")
        if deployment is None:
            raise SettingsError("AZURE_AI_DEPLOYMENT is not set: the model deployment is required")
        if not names.DEPLOYMENT_NAME.matches(deployment):
            raise SettingsError(
                f"AZURE_AI_DEPLOYMENT={deployment!r}: must be {names.DEPLOYMENT_NAME.rule}"
            )

        api_version = get("AZURE_AI_API_VERSION") or DEFAULT_API_VERSION
        if not _API_VERSION.match(api_version):
            raise SettingsError(
                f"AZURE_AI_API_VERSION={api_version!r}: must look like YYYY-MM-DD or "
                "YYYY-MM-DD-preview"
            )

        max_age = get("AZURE_AI_KEY_MAX_AGE_SECONDS")
        key_max_age = (
            DEFAULT_KEY_MAX_AGE_SECONDS
            if max_age is None
            else _number("AZURE_AI_KEY_MAX_AGE_SECONDS", max_age, 0)
        )

        api_key = get("AZURE_AI_API_KEY")
        vault = get("KEY_VAULT_URI")
        secret_name = get("AZURE_AI_KEY_SECRET_NAME")

        if mode == "keyless":
            if api_key is not None:
                shown = api_key if is_key_vault_reference(api_key) else _masked(api_key)
                raise SettingsError(
                    f"AZURE_AI_API_KEY={shown}: must be unset when AZURE_AI_AUTH_MODE=keyless "
                    "(the app sends an Entra token, never a key)"
                )
            return cls(
                endpoint, deployment, "keyless", api_version, key_max_age_seconds=key_max_age
            )

        if vault is not None:
            vault = _https_url("KEY_VAULT_URI", vault)
        if secret_name is not None and not names.SECRET_NAME.matches(secret_name):
            raise SettingsError(
                f"AZURE_AI_KEY_SECRET_NAME={secret_name!r}: must be {names.SECRET_NAME.rule}"
            )
        if (vault is None) != (secret_name is None):
            missing, present = (
                ("KEY_VAULT_URI", "AZURE_AI_KEY_SECRET_NAME")
                if vault is None
                else ("AZURE_AI_KEY_SECRET_NAME", "KEY_VAULT_URI")
            )
            raise SettingsError(f"{missing} is not set: it is required together with {present}")
        if api_key is None and vault is None:
            raise SettingsError(
                "AZURE_AI_API_KEY is not set: keyVault mode needs it (a Key Vault reference) or "
                "KEY_VAULT_URI with AZURE_AI_KEY_SECRET_NAME"
            )
        return cls(
            endpoint,
            deployment,
            "keyVault",
            api_version,
            api_key=api_key,
            key_vault_uri=vault,
            secret_name=secret_name,
            key_max_age_seconds=key_max_age,
        )
