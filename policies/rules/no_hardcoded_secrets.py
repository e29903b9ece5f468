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

from collections.abc import Mapping
from typing import Any

from policies import detection
from policies.credential_carriers import strings_in
from policies.support import (
    DYNAMIC_RESOURCES,
    SECRET,
    Outcome,
    Resource,
    config_list,
    format_path,
    resource_policy,
)

ALLOWED_PATHS = "allowedPaths"
# The places a secret value is meant to be: (resource type, property path).
_SECRET_HOMES = {SECRET: ("properties", "value")}


def check(resource: Resource, config: Mapping[str, Any]) -> Outcome:
    """Each string input free of credentials, outside the resource's declared secret home."""
    out = Outcome()
    allowed = config_list(config, ALLOWED_PATHS)
    home = _SECRET_HOMES.get(resource.type)
    for key, value in resource.props.items():
        if key == "__provider" and resource.type in DYNAMIC_RESOURCES:
            continue
        for path, setting, text in strings_in(value, (key,), key, out):
            if path == home or format_path(path) in allowed:
                continue
            findings = detection.find_secrets(text, setting_name=setting)
            if findings:
                described = "; ".join(f"{f.kind} {f.masked} ({f.reason})" for f in findings)
                out.fail(f"{format_path(path)} holds a hardcoded credential: {described}")
    if home is not None:
        # The secret's home is judged by key-vault-secret-value-stays-out-of-state.
        out.unknown = [u for u in out.unknown if u[: len(home)] != home]
    return out


POLICY = resource_policy(
    "no-hardcoded-secrets",
    "No resource input holds a credential literal (only a Key Vault secret's value may).",
    types=None,
    rule=check,
    remediation=(
        "Keep the credential out of the resource: a literal leaves the program; a secret from "
        "stack config or a key listed from Azure (listKeys and the like) is not copied here. "
        "Store it in Key Vault and reference it (@Microsoft.KeyVault(SecretUri=...)), or use a "
        "managed identity instead of a key."
    ),
    config={
        ALLOWED_PATHS: {
            "type": "array",
            "items": {"type": "string", "minLength": 1},
            "description": "Property paths (exact, as printed in findings) not to check.",
        }
    },
)
