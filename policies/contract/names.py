"""Azure's naming rules for the names the stack, rotation and the consumers pass around, each with
the rule text an error quotes. Pure: standard library only, no I/O.

The policy pack, the sample app and the component package carry a copy of this file that a test
keeps equal to it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class NameRule:
    """A name's pattern and the rule as one would say it in an error message."""

    pattern: re.Pattern[str]
    rule: str

    def matches(self, value: object) -> bool:
        """True when `value` is a string that follows the rule."""
        return isinstance(value, str) and self.pattern.fullmatch(value) is not None


SECRET_NAME = NameRule(re.compile(r"[0-9A-Za-z-]{1,127}"), "1-127 letters, digits or hyphens")
SECRET_VERSION = NameRule(
    re.compile(r"[0-9a-fA-F]{32}"), "32 hex characters, as Key Vault writes them"
)
DEPLOYMENT_NAME = NameRule(
    re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}"),
    "1-64 letters, digits, '.', '_' or '-', starting with a letter or digit",
)
VAULT_NAME = NameRule(
    re.compile(r"[a-zA-Z](?!.*--)[a-zA-Z0-9-]{1,22}[a-zA-Z0-9]"),
    "3-24 letters, digits or single hyphens, starting with a letter, ending with a letter or digit",
)
SITE_NAME = NameRule(
    re.compile(r"[a-zA-Z0-9](?!.*--)[a-zA-Z0-9-]{0,58}[a-zA-Z0-9]"),
    "2-60 letters, digits or single hyphens, starting and ending with a letter or digit",
)
SUBDOMAIN_NAME = NameRule(
    re.compile(r"[a-zA-Z0-9](?!.*--)[a-zA-Z0-9-]{0,62}[a-zA-Z0-9]"),
    "2-64 letters, digits or single hyphens, starting and ending with a letter or digit",
)
ACCOUNT_NAME = NameRule(
    re.compile(r"[a-zA-Z0-9][a-zA-Z0-9-]{1,63}"),
    "2-64 letters, digits or hyphens, starting with a letter or digit",
)
STORAGE_ACCOUNT_NAME = NameRule(re.compile(r"[a-z0-9]{3,24}"), "3-24 lower-case letters or digits")
RESOURCE_GROUP_NAME = NameRule(
    re.compile(r"[-\w._()]{0,89}[-\w_()]"),
    "1-90 letters, digits, '-', '_', '.', '(' or ')', not ending with '.'",
)
WORKSPACE_NAME = NameRule(
    re.compile(r"[a-zA-Z0-9][a-zA-Z0-9-]{2,61}[a-zA-Z0-9]"),
    "4-63 letters, digits or hyphens, starting and ending with a letter or digit",
)

# Key Vault's data-plane DNS suffixes: public, China, US Government clouds.
VAULT_DNS_SUFFIXES: tuple[str, ...] = (
    "vault.azure.net",
    "vault.azure.cn",
    "vault.usgovcloudapi.net",
)
