"""Which properties can carry a credential: the only ones an unknown value is reported for.

A value not known until apply is "cannot check yet" only where a credential could sit. Names,
identifiers, places, kinds, public keys, endpoints, addresses and role operations never hold one
(a SAS URL is built from an invoke, known at preview, and checked as any known value), so an
unknown value under them (a resource ID, a principal ID, a location, a generated name) is not
worth a diagnostic; the policies judging those properties say so themselves when they need them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from policies.detection.names import is_credential_name, words
from policies.support import Outcome, is_unknown

# Keys that hold the value of a {name, value} pair (app settings, container env, ...).
_PAIR_VALUE_KEYS = ("value", "connectionString", "secureValue")

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
        # A resource's own address: a SAS URL comes from an invoke, known at preview.
        "uri",
        "uris",
        "url",
        "urls",
        "hostname",
        "fqdn",
        "domain",
        # A network address (an IP or a host address), never a credential.
        "ip",
        "ips",
        "ipv4",
        "ipv6",
        "address",
        "addresses",
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


def strings_in(
    value: Any, path: tuple[str | int, ...], setting: str | None, out: Outcome
) -> Iterator[tuple[tuple[str | int, ...], str | None, str]]:
    """(path, setting name, text) of every string, descending into lists, dicts and JSON.

    An unknown value is recorded on ``out`` when it sits where a credential could.
    """
    if is_unknown(value):
        if can_carry_credential(setting):
            out.cannot_check(path)
    elif isinstance(value, str):
        parsed = _json_container(value)
        if parsed is None:
            yield path, setting, value
        else:
            yield from strings_in(parsed, (*path, "<json>"), setting, out)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from strings_in(item, (*path, index), setting, out)
    elif isinstance(value, dict):
        pair_name = value.get("name") if any(k in value for k in _PAIR_VALUE_KEYS) else None
        for key, item in value.items():
            if isinstance(pair_name, str) and key != "name":
                name = pair_name
            elif key in _PAIR_VALUE_KEYS:
                # {"value": ...} under a named key (ARM parameters, connection string maps).
                name = setting
            else:
                name = key
            yield from strings_in(item, (*path, key), name, out)


def _json_container(text: str) -> Any:
    stripped = text.strip()
    if not stripped or stripped[0] not in "{[":
        return None
    try:
        parsed = json.loads(stripped)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict | list) and parsed else None
