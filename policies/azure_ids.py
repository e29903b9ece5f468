"""Reading Azure identifiers: Key Vault references and role assignment scopes. Pure functions."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from policies.contract import names

# @Microsoft.KeyVault(SecretUri=https://<vault>.vault.azure.net/secrets/<name>[/<version>])
_SECRET_URI_REFERENCE = re.compile(
    r"^@Microsoft\.KeyVault\(\s*SecretUri\s*=\s*https://(?P<vault>[^./]+)\.vault\."
    r"[A-Za-z0-9.-]+/secrets/(?P<secret>[^/\s)]+)(?:/[A-Za-z0-9]*)?/?\s*\)$",
    re.IGNORECASE,
)
# @Microsoft.KeyVault(VaultName=<vault>;SecretName=<name>[;SecretVersion=<version>])
_NAMED_REFERENCE_PART = re.compile(r"\s*(?P<key>\w+)\s*=\s*(?P<value>[^;)]*)\s*")

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
    """The secret an App Service Key Vault reference points at, or None if it is not one."""
    text = value.strip()
    match = _SECRET_URI_REFERENCE.match(text)
    if match:
        return _secret_ref(match["vault"], match["secret"])
    prefix = "@microsoft.keyvault("
    if not (text.lower().startswith(prefix) and text.endswith(")")):
        return None
    parts = {}
    for part in text[len(prefix) : -1].split(";"):
        found = _NAMED_REFERENCE_PART.fullmatch(part)
        if found is None:
            return None
        parts[found["key"].lower()] = found["value"].strip()
    return _secret_ref(parts.get("vaultname"), parts.get("secretname"))


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
