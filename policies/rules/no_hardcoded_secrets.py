"""no-hardcoded-secrets: no credential appears as a literal in any resource input.

Every string at any depth is checked by the detection engine, including strings that hold JSON.
The one place a secret may be written is the resource built to hold it (a Key Vault secret's
``properties.value``); a dynamic resource's ``__provider`` (its serialized code) is not an input
a person wrote and is skipped. A value marked secret in the program reaches policies unwrapped, so
it is checked like any other and still fails when it is not a Key Vault reference. A value not
known yet is "cannot check yet" only where a credential could sit (not under a name, ID,
location, endpoint or public key: :mod:`policies.credential_carriers`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from policies import detection
from policies.credential_carriers import can_carry_credential
from policies.support import (
    DYNAMIC_RESOURCES,
    SECRET,
    Outcome,
    Resource,
    config_list,
    format_path,
    is_unknown,
    resource_policy,
)

ALLOWED_PATHS = "allowedPaths"
# Keys that hold the value of a {name, value} pair (app settings, container env, ...).
_PAIR_VALUE_KEYS = ("value", "connectionString", "secureValue")
# The places a secret value is meant to be: (resource type, property path).
_SECRET_HOMES = {SECRET: ("properties", "value")}


def _strings(
    value: Any, path: tuple[str | int, ...], setting: str | None, out: Outcome
) -> Iterator[tuple[tuple[str | int, ...], str | None, str]]:
    """(path, setting name, text) of every string, descending into lists, dicts and JSON."""
    if is_unknown(value):
        if can_carry_credential(setting):
            out.cannot_check(path)
    elif isinstance(value, str):
        parsed = _json_container(value)
        if parsed is None:
            yield path, setting, value
        else:
            yield from _strings(parsed, (*path, "<json>"), setting, out)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, (*path, index), setting, out)
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
            yield from _strings(item, (*path, key), name, out)


def _json_container(text: str) -> Any:
    stripped = text.strip()
    if not stripped or stripped[0] not in "{[":
        return None
    try:
        parsed = json.loads(stripped)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict | list) and parsed else None


def check(resource: Resource, config: Mapping[str, Any]) -> Outcome:
    """Each string input free of credentials, outside the resource's declared secret home."""
    out = Outcome()
    allowed = config_list(config, ALLOWED_PATHS)
    home = _SECRET_HOMES.get(resource.type)
    for key, value in resource.props.items():
        if key == "__provider" and resource.type in DYNAMIC_RESOURCES:
            continue
        for path, setting, text in _strings(value, (key,), key, out):
            if path == home or format_path(path) in allowed:
                continue
            findings = detection.find_secrets(text, setting_name=setting)
            if findings:
                described = "; ".join(f"{f.kind} {f.masked} ({f.reason})" for f in findings)
                out.fail(f"{format_path(path)} holds a hardcoded credential: {described}")
    return out


POLICY = resource_policy(
    "no-hardcoded-secrets",
    "No resource input holds a credential literal (only a Key Vault secret's value may).",
    types=None,
    rule=check,
    remediation=(
        "Keep the credential out of the program: store it in Key Vault and reference it "
        "(@Microsoft.KeyVault(SecretUri=...)), or use a managed identity instead of a key."
    ),
    config={
        ALLOWED_PATHS: {
            "type": "array",
            "items": {"type": "string", "minLength": 1},
            "description": "Property paths (exact, as printed in findings) not to check.",
        }
    },
)
