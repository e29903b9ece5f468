"""key-vault-secret-value-stays-out-of-state: the program never writes a key into a secret.

A ``keyvault.Secret`` whose ``properties.value`` the program sets is stored in Pulumi state (the
input and the output, encrypted only if marked secret): a key read with a list-keys invoke and
copied into a secret is a key in state. The key belongs in Key Vault only, written at apply time
by something that reads it there (this project's key writer is a dynamic resource whose inputs
hold the account's ID, never the key).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies import detection
from policies.credential_carriers import strings_in
from policies.support import SECRET, Outcome, Resource, format_path, resource_policy


def check(resource: Resource, config: Mapping[str, Any]) -> Outcome:
    """The secret's value, when the program writes one, is not a credential."""
    out = Outcome()
    properties = resource.props.get("properties")
    if not isinstance(properties, dict) or "value" not in properties:
        return out
    for path, _, text in strings_in(properties["value"], ("properties", "value"), None, out):
        findings = detection.find_secrets(text)
        if findings:
            described = "; ".join(f"{f.kind} {f.masked}" for f in findings)
            out.fail(
                f"{format_path(path)} holds a credential ({described}): written by the program, "
                "it is stored in Pulumi state"
            )
    return out


POLICY = resource_policy(
    "key-vault-secret-value-stays-out-of-state",
    "A Key Vault secret's value written by the program is never a key (it would sit in Pulumi "
    "state).",
    types=[SECRET],
    rule=check,
    remediation=(
        "Give the consumer a managed identity and an RBAC role instead of the key, or write the "
        "key into Key Vault at apply time from where it lives (a dynamic resource or a rotation "
        "job that reads it with listKeys), so it never passes through the program."
    ),
)
