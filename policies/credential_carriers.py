"""Which properties can carry a credential: the only ones an unknown value is reported for.

A value not known until apply is "cannot check yet" only where a credential could sit. Names,
identifiers, places, kinds, public keys, endpoints and role operations never hold one, so an
unknown value under them (a resource ID, a principal ID, a location, a generated name) is not
worth a diagnostic; the policies judging those properties say so themselves when they need them.
"""

from __future__ import annotations

from policies.detection.names import is_credential_name, words

# The last word of a property or setting name that never holds a credential.
_NEVER_A_CREDENTIAL = frozenset(
    {
        "name",
        "names",
        "id",
        "ids",
        "location",
        "locations",
        "region",
        "kind",
        "type",
        "types",
        "sku",
        "tier",
        "family",
        "scope",
        "scopes",
        "principal",
        "tenant",
        "subscription",
        "group",
        "zone",
        "zones",
        "version",
        "endpoint",
        "endpoints",
        "hostname",
        "fqdn",
        "domain",
        "size",
        "count",
        "capacity",
        "enabled",
        "state",
        "status",
        "mode",
        "description",
        "actions",
    }
)
_NEVER_A_CREDENTIAL_PAIRS = frozenset({("public", "key"), ("host", "name"), ("domain", "name")})


def can_carry_credential(name: str | int | None) -> bool:
    """True unless the property or setting name says its value is never a credential."""
    if not isinstance(name, str):
        return True
    parts = words(name)
    if not parts or is_credential_name(name):
        return True
    if parts[-1] in _NEVER_A_CREDENTIAL:
        return False
    return tuple(parts[-2:]) not in _NEVER_A_CREDENTIAL_PAIRS
