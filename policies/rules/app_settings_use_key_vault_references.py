"""app-settings-use-key-vault-references: a credential setting is a reference, never a value.

Covers ``siteConfig.appSettings`` and ``siteConfig.connectionStrings`` of web apps, function apps
(WebApp kind functionapp) and slots, and the separate ``WebAppApplicationSettings[Slot]`` and
``WebAppConnectionStrings[Slot]`` resources.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies import detection
from policies.credential_carriers import can_carry_credential
from policies.settings import settings_of
from policies.support import (
    APP_SETTINGS,
    CONNECTION_STRINGS,
    NOT_KNOWN,
    WEB_APPS,
    Outcome,
    Resource,
    config_list,
    format_path,
    resource_policy,
)

ALLOWED_SETTING_NAMES = "allowedSettingNames"


# The parts of an Application Insights connection string: an ingestion address and the
# instrumentation key, which Microsoft documents as not a security token.
_APPLICATION_INSIGHTS_PARTS = frozenset(
    {
        "instrumentationkey",
        "ingestionendpoint",
        "liveendpoint",
        "profilerendpoint",
        "snapshotendpoint",
        "applicationid",
        "endpointsuffix",
        "location",
        "aadaudience",
    }
)


def is_application_insights_connection(value: str) -> bool:
    """An Application Insights connection string, holding nothing but its documented parts."""
    pairs = [part.partition("=") for part in value.split(";") if part.strip()]
    keys = {key.strip().lower() for key, equals, _ in pairs if equals}
    return (
        len(keys) == len(pairs)
        and "instrumentationkey" in keys
        and keys <= _APPLICATION_INSIGHTS_PARTS
    )


def is_identity_connection(name: str, value: str) -> bool:
    """``<connection>__credential: managedidentity``: an identity-based connection, no secret.

    Azure Functions and the WebJobs SDK read ``<prefix>__credential`` as the kind of credential to
    use (Microsoft Learn: "Connecting to host storage with an identity"); ``managedidentity``
    names the app's own identity instead of carrying a key.
    """
    return name.lower().endswith("__credential") and value.strip().lower() == "managedidentity"


def check(resource: Resource, config: Mapping[str, Any]) -> Outcome:
    """Settings whose name or value says credential hold a Key Vault reference."""
    out = Outcome()
    allowed = config_list(config, ALLOWED_SETTING_NAMES)
    read = Outcome()
    settings = settings_of(resource.type, resource.props, read)
    unknown_values = {s.path for s in settings if s.value is NOT_KNOWN}
    for path in read.unknown:
        if path not in unknown_values:
            out.cannot_check(path)
    for setting in settings:
        if setting.value is NOT_KNOWN:
            # An endpoint or a name not known yet is no key; a value that could be one is.
            if setting.name is NOT_KNOWN or can_carry_credential(str(setting.name)):
                out.cannot_check(setting.path)
            continue
        if setting.name is NOT_KNOWN:
            continue
        name, value = str(setting.name), setting.value
        if name in allowed or not isinstance(value, str):
            continue
        if detection.is_key_vault_reference(value) or detection.is_app_configuration_reference(
            value
        ):
            continue
        findings = detection.find_secrets(value, setting_name=name)
        if findings:
            why = "; ".join(f"{f.kind} {f.masked}" for f in findings)
        elif (
            detection.is_credential_name(name)
            and value.strip()
            and not is_identity_connection(name, value)
            and not is_application_insights_connection(value)
        ):
            why = f"credential-named setting with the plain value {detection.mask(value)}"
        else:
            continue
        out.fail(
            f"{format_path(setting.path)} (setting {name!r}) is not a Key Vault reference: {why}"
        )
    return out


POLICY = resource_policy(
    "app-settings-use-key-vault-references",
    "App settings and connection strings that carry a credential are Key Vault references.",
    types=WEB_APPS | APP_SETTINGS | CONNECTION_STRINGS,
    rule=check,
    remediation=(
        "Store the value in Key Vault and set the setting to "
        "@Microsoft.KeyVault(SecretUri=https://<vault>.vault.azure.net/secrets/<name>); grant the "
        "app's identity 'Key Vault Secrets User' on that secret."
    ),
    config={
        ALLOWED_SETTING_NAMES: {
            "type": "array",
            "items": {"type": "string", "minLength": 1},
            "description": "Setting names (exact) whose plain values are accepted.",
        }
    },
)
