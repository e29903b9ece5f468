"""Reading Azure identifiers: Key Vault references and role assignment scopes. Pure functions."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from policies.contract import names
from policies.contract.secret import reference_fields

_SCOPE_VAULT = re.compile(
    r"/providers/Microsoft\.KeyVault/vaults/(?P<vault>[^/]+)(?:/secrets/(?P<secret>[^/]+))?/?$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class SecretRef:
    """A Key Vault secret by vault and secret name (lower-cased: Azure compares them so)."""

    vault: str
    secret: str

    def __str__(self) -> str:
        return f"{self.vault}/{self.secret}"


def key_vault_reference_target(value: str) -> SecretRef | None:
    """The secret an App Service Key Vault reference points at, or None if it is not one.

    The pack carries no SDK, so this is the pack's own reading of the rule that
    ``catalog.ids.parse_key_vault_reference`` implements on ``KeyVaultSecretIdentifier``; a test
    holds the two to the same answers (tests/policies/test_azure_ids.py).
    """
    fields = reference_fields(value)
    if fields is None:
        return None
    if "secreturi" in fields:
        return _secret_uri_target(fields["secreturi"])
    version = fields.get("secretversion")
    if version and not names.SECRET_VERSION.matches(version):
        return None
    return _secret_ref(fields.get("vaultname"), fields.get("secretname"))


def _secret_uri_target(uri: str) -> SecretRef | None:
    """Vault and secret of ``https://<vault>.<Key Vault host>[:443]/secrets/<name>[/<version>]``."""
    try:
        parts = urlsplit(uri)
        port = parts.port
    except ValueError:
        return None
    vault, _, suffix = (parts.hostname or "").partition(".")
    segments = parts.path.strip("/").split("/")
    if (
        parts.scheme != "https"
        or port not in (None, 443)
        or parts.username is not None
        or parts.query
        or parts.fragment
        or suffix not in names.VAULT_DNS_SUFFIXES
        or segments[0] != "secrets"
        or len(segments) not in (2, 3)
        or (len(segments) == 3 and not names.SECRET_VERSION.matches(segments[2]))
    ):
        return None
    return _secret_ref(vault, segments[1])


def _secret_ref(vault: str | None, secret: str | None) -> SecretRef | None:
    """The secret, when both names follow Azure's rules."""
    if names.VAULT_NAME.matches(vault) and names.SECRET_NAME.matches(secret):
        return SecretRef(str(vault).lower(), str(secret).lower())
    return None


def scope_kind(scope: str) -> str:
    """What an ARM scope names: secret, vault, resource, resource group, subscription, ..."""
    text = scope.rstrip("/")
    vault = _SCOPE_VAULT.search(text)
    if vault:
        return "secret" if vault["secret"] else "vault"
    parts = [p for p in text.split("/") if p]
    lowered = [p.lower() for p in parts]
    if "providers" in lowered[2:] and len(parts) > 5:
        if lowered[:2] == ["providers", "microsoft.management"]:
            return "management group"
        return "resource"
    if len(parts) == 4 and lowered[2] == "resourcegroups":
        return "resource group"
    if len(parts) == 2 and lowered[0] == "subscriptions":
        return "subscription"
    if lowered[:2] == ["providers", "microsoft.management"]:
        return "management group"
    if text == "":
        return "root"
    return "unrecognised scope"


def scope_target(scope: str) -> SecretRef | str | None:
    """For a vault or secret scope: the vault name (str) or the secret (SecretRef); else None."""
    vault = _SCOPE_VAULT.search(scope.rstrip("/"))
    if vault is None:
        return None
    if vault["secret"]:
        return SecretRef(vault["vault"].lower(), vault["secret"].lower())
    return vault["vault"].lower()


# Any block with fewer fixed bits than this admits a sixteenth of the internet or more.
_NARROWEST_WIDE_PREFIX = 8
_ANYWHERE = frozenset({"*", "any", "internet", "0.0.0.0", "::"})


def is_internet_wide(rule: str) -> bool:
    """True for an IP rule that admits the whole internet or a large share of it."""
    text = rule.strip().lower()
    if text in _ANYWHERE:
        return True
    try:
        network = ipaddress.ip_network(text, strict=False)
    except ValueError:
        return False
    return network.prefixlen < _NARROWEST_WIDE_PREFIX
