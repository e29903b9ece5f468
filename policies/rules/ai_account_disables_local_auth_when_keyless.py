"""ai-account-disables-local-auth-when-keyless: a stack that uses no key turns keys off.

Whether a stack is keyless comes from policy config ``authMode`` ("keyless" or "keyVault"), and
when that is not set, from the stack itself: keyless means no key in use anywhere. A key is in
use when something carries the account's key into Key Vault (a Key Vault secret, a dynamic
resource or the component package's ``AccountKeySecret`` depends on the account) or when any
resource holds a credential (an app setting, a container variable, a tag, an output with a key in
it). Only then may local auth stay on; otherwise ``disableLocalAuth`` must be true.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies import detection
from policies.credential_carriers import strings_in
from policies.support import (
    AI_ACCOUNT,
    KEY_CARRIERS,
    Controls,
    Outcome,
    StackResource,
    is_unknown,
    shown,
    stack_policy,
)

AUTH_MODE = "authMode"
KEYLESS, KEY_VAULT = "keyless", "keyVault"


def _key_holders(account: StackResource, resources: list[StackResource]) -> list[StackResource]:
    return [r for r in resources if r.type in KEY_CARRIERS and r.depends_on([account.urn])]


def _holds_a_credential(resource: StackResource) -> bool:
    """True when any known string of the resource is a credential (a key wired in directly)."""
    scratch = Outcome()
    return any(
        detection.find_secrets(text, setting_name=setting)
        for key, value in resource.props.items()
        if key != "__provider"
        for _, setting, text in strings_in(value, (key,), key, scratch)
    )


def _key_in_use(account: StackResource, resources: list[StackResource]) -> bool:
    return bool(_key_holders(account, resources)) or any(
        _holds_a_credential(r) for r in resources if r.type != AI_ACCOUNT
    )


def check(resources: list[StackResource], config: Mapping[str, Any]) -> Outcome:
    """disableLocalAuth true on every account of a keyless stack."""
    out = Outcome()
    mode = config.get(AUTH_MODE)
    for account in (r for r in resources if r.type == AI_ACCOUNT):
        keyless = mode == KEYLESS if mode else not _key_in_use(account, resources)
        if not keyless:
            continue
        properties = account.props.get("properties")
        disabled = properties.get("disableLocalAuth") if isinstance(properties, dict) else None
        if is_unknown(properties) or is_unknown(disabled):
            out.cannot_check((account.name, "properties", "disableLocalAuth"))
        elif disabled is not True:
            why = "authMode is keyless" if mode else "no resource holds or carries a key"
            out.fail(
                f"properties.disableLocalAuth is {shown(disabled)} but the stack is keyless "
                f"({why}); it must be true",
                account.urn,
            )
    return out


POLICY = stack_policy(
    "ai-account-disables-local-auth-when-keyless",
    "Azure AI accounts in keyless stacks disable key (local) authentication.",
    rule=check,
    controls=Controls(
        azure_policy=("71ef260a",),
        checkov=("CKV_AZURE_236",),
        psrule=("Azure.AI.DisableLocalAuth",),
    ),
    remediation=(
        "Set properties.disableLocalAuth=true and give the app's identity 'Cognitive Services "
        "OpenAI User' on the account."
    ),
    config={
        AUTH_MODE: {
            "type": "string",
            "enum": [KEYLESS, KEY_VAULT],
            "description": "Declare the stack keyless or key-in-Key-Vault; unset: inferred.",
        }
    },
)
