"""Resource IDs and Key Vault addresses: parsed and built once, on the SDKs' own parsers
(``azure.mgmt.core.tools.parse_resource_id``, ``azure.keyvault.secrets.KeyVaultSecretIdentifier``).

No I/O. Each parser raises :class:`IdError` whose message is the rule the value broke; callers
name the input and mask the value (``catalog.key_shapes.shown``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from azure.keyvault.secrets import KeyVaultSecretIdentifier
from azure.mgmt.core.tools import parse_resource_id

from . import names
from .secret import MAX_TAG_VALUE_LENGTH, reference_fields

_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
# Key Vault names each version with 32 hexadecimal characters.


class IdError(ValueError):
    """A value that is not the ID or address it should be; the message is the rule."""


@dataclass(frozen=True)
class ResourceId:
    """An ARM resource ID of one type, split into its parts (subscription lower-cased)."""

    subscription: str
    resource_group: str
    name: str
    namespace: str
    type: str

    @property
    def id(self) -> str:
        return (
            f"/subscriptions/{self.subscription}/resourceGroups/{self.resource_group}"
            f"/providers/{self.namespace}/{self.type}/{self.name}"
        )


def _rule(namespace: str, type_: str) -> str:
    return (
        "must be /subscriptions/<subscription GUID>/resourceGroups/<group>"
        f"/providers/{namespace}/{type_}/<name>"
    )


def is_guid(value: object) -> bool:
    """True for a GUID (subscription, tenant, Entra object ID), either case."""
    return isinstance(value, str) and _GUID.fullmatch(value) is not None


def resource_id(
    value: object, namespace: str, type_: str, name_rule: names.NameRule | None = None
) -> ResourceId:
    """An ARM ID of one top-level resource of ``namespace/type_`` in a subscription's resource
    group, its name following `name_rule` (any name when None)."""
    rule = _rule(namespace, type_)
    if not isinstance(value, str) or not value.startswith("/subscriptions/"):
        raise IdError(rule)
    parts = parse_resource_id(value)
    if (
        not is_guid(parts.get("subscription"))
        or not names.RESOURCE_GROUP_NAME.matches(parts.get("resource_group"))
        or (parts.get("namespace") or "").lower() != namespace.lower()
        or (parts.get("type") or "").lower() != type_.lower()
        or parts.get("children")
        or not parts.get("name")
        or (name_rule is not None and not name_rule.matches(parts.get("name")))
        or value.rstrip("/") != value
    ):
        raise IdError(rule)
    return ResourceId(
        parts["subscription"].lower(), parts["resource_group"], parts["name"], namespace, type_
    )


def account_id(value: object) -> ResourceId:
    """An AI account's ID (Microsoft.CognitiveServices/accounts); it must fit a tag value, since
    the secret's ProviderAddress tag holds it."""
    parsed = resource_id(value, "Microsoft.CognitiveServices", "accounts", names.ACCOUNT_NAME)
    if len(str(value)) > MAX_TAG_VALUE_LENGTH:
        raise IdError(
            f"must be at most {MAX_TAG_VALUE_LENGTH} characters (Key Vault's limit for a tag value)"
        )
    return parsed


def site_id(value: object) -> ResourceId:
    """An App Service site's ID (Microsoft.Web/sites)."""
    return resource_id(value, "Microsoft.Web", "sites", names.SITE_NAME)


VAULT_URI_RULE = (
    "must be https://<vault name>.vault.azure.net/ (3-24 letters, digits or single hyphens; "
    "vault.azure.cn and vault.usgovcloudapi.net too)"
)


def vault_uri(value: object) -> str:
    """``https://<vault>.vault.azure.net`` normalised: lower case, no port, no trailing slash."""
    try:
        # urlsplit and .port raise ValueError on a bad port or a broken IPv6 literal.
        parts = urlsplit(value) if isinstance(value, str) else None
        port = parts.port if parts is not None else None
    except ValueError:
        raise IdError(VAULT_URI_RULE) from None
    host = (parts.hostname or "") if parts is not None else ""
    name, _, suffix = host.partition(".")
    if (
        parts is None
        or parts.scheme != "https"
        or port not in (None, 443)
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or parts.username is not None
        or suffix not in names.VAULT_DNS_SUFFIXES
        or not names.VAULT_NAME.matches(name)
    ):
        raise IdError(VAULT_URI_RULE)
    return f"https://{name}.{suffix}"


def vault_uri_for(vault_name: str, dns_suffix: str = names.VAULT_DNS_SUFFIXES[0]) -> str:
    """The data-plane URI of the vault named `vault_name` (Azure's public cloud by default)."""
    if not names.VAULT_NAME.matches(vault_name):
        raise IdError(f"vault name must be {names.VAULT_NAME.rule}")
    return vault_uri(f"https://{vault_name}.{dns_suffix}")


def vault_name(uri: str) -> str:
    """The vault's name in a vault URI (as App Service reports it in reference statuses)."""
    return urlsplit(vault_uri(uri)).hostname.split(".")[0]  # type: ignore[union-attr]


def secret_uri(vault: str, secret_name: str) -> str:
    """``https://<vault>.vault.azure.net/secrets/<name>``: versionless, so a Key Vault reference
    built on it follows the latest version."""
    if not names.SECRET_NAME.matches(secret_name):
        raise IdError(f"secret name must be {names.SECRET_NAME.rule}")
    return f"{vault_uri(vault)}/secrets/{secret_name}"


@dataclass(frozen=True)
class SecretAddress:
    """A secret URI, split: its vault, its name and (for a versioned URI) its version."""

    vault_uri: str
    name: str
    version: str | None

    @property
    def versionless(self) -> str:
        return f"{self.vault_uri}/secrets/{self.name}"


SECRET_URI_RULE = "must be https://<vault>.vault.azure.net/secrets/<name>[/<version>]"


def parse_secret_uri(value: object) -> SecretAddress:
    """A secret URI, versioned or not, split by ``KeyVaultSecretIdentifier``."""
    if not isinstance(value, str):
        raise IdError(SECRET_URI_RULE)
    try:
        identifier = KeyVaultSecretIdentifier(value)
        vault = vault_uri(identifier.vault_url)
    except (ValueError, IdError):
        raise IdError(SECRET_URI_RULE) from None
    parts = urlsplit(value)
    segments = parts.path.strip("/").split("/")
    if (
        segments[0] != "secrets"
        or len(segments) > 3
        or parts.query
        or parts.fragment
        or not names.SECRET_NAME.matches(identifier.name)
        or (identifier.version and not names.SECRET_VERSION.matches(identifier.version))
    ):
        raise IdError(SECRET_URI_RULE)
    return SecretAddress(vault, identifier.name, identifier.version or None)


def key_vault_reference(vault: str, secret_name: str) -> str:
    """An App Service Key Vault reference that follows the latest version of the secret."""
    return f"@Microsoft.KeyVault(SecretUri={secret_uri(vault, secret_name)})"


def parse_key_vault_reference(value: object) -> SecretAddress | None:
    """The secret a Key Vault reference names (either documented form), or None when `value` is
    not a reference. ``VaultName=<v>;SecretName=<n>`` means the vault in Azure's public cloud."""
    fields = reference_fields(value)
    if fields is None:
        return None
    try:
        if "secreturi" in fields:
            return parse_secret_uri(fields["secreturi"])
        vault = vault_uri(f"https://{fields.get('vaultname', '')}.vault.azure.net")
        name = fields.get("secretname", "")
        version = fields.get("secretversion") or None
        if not names.SECRET_NAME.matches(name) or (
            version and not names.SECRET_VERSION.matches(version)
        ):
            return None
        return SecretAddress(vault, name, version)
    except IdError:
        return None
