"""key-vault-secret-expiry-within-rotation: a secret expires within the longest rotation period.

An expiry far in the future (2100) satisfies "has an expiry" and rotates nothing: rotation is
driven by ``SecretNearExpiry``, 30 days before ``exp``. ``properties.attributes.expires`` (Unix
seconds) is at most ``maximumValidityDays`` from now (default: the longest rotation period the
stack accepts, ``catalog.secret.MAX_PERIOD_DAYS``).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from policies.contract.secret import MAX_PERIOD_DAYS
from policies.support import NOT_KNOWN, SECRET, Controls, Outcome, Resource, resource_policy

MAXIMUM_VALIDITY_DAYS = "maximumValidityDays"
# The longest rotation period the stack's config accepts (rotationPeriodDays).
LONGEST_ROTATION_DAYS = MAX_PERIOD_DAYS
_DAY = 86_400


def check(resource: Resource, config: Mapping[str, Any]) -> Outcome:
    """``attributes.expires`` no later than now + maximumValidityDays."""
    out = Outcome()
    expires = out.read(resource.props, "properties", "attributes", "expires")
    if expires is NOT_KNOWN or not isinstance(expires, int | float) or isinstance(expires, bool):
        return out
    days = int(config.get(MAXIMUM_VALIDITY_DAYS) or LONGEST_ROTATION_DAYS)
    left = (float(expires) - time.time()) / _DAY
    if left > days:
        out.fail(
            f"properties.attributes.expires is {int(left)} days away, beyond {days}: the secret "
            "would not come up for rotation"
        )
    return out


POLICY = resource_policy(
    "key-vault-secret-expiry-within-rotation",
    "Key Vault secrets expire within the longest allowed rotation period.",
    types=[SECRET],
    rule=check,
    controls=Controls(azure_policy=("342e8053",)),
    remediation="Set properties.attributes.expires to now + the rotation period.",
    config={
        MAXIMUM_VALIDITY_DAYS: {
            "type": "integer",
            "minimum": 1,
            "maximum": 3650,
            "description": f"Longest accepted validity in days (default {LONGEST_ROTATION_DAYS}).",
        }
    },
)
