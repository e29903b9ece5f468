"""The secret's contract: what the stack writes and rotation, the hosted automation and the
consumers read. Tag names, slots, content type, the rotation period and "the latest version".

Key Vault tags on each version of the one secret (Microsoft's two-credential rotation tutorial
keeps ``CredentialId``, ``ProviderAddress`` and ``ValidityPeriodDays``; the rest are ours):

    CredentialId        key1 | key2: the account key the version holds
    ProviderAddress     the AI account's resource ID
    ValidityPeriodDays  expiry of a new version = publication + this many days
    Consumers           comma-separated names of the sites that read the secret (optional)
    RotationState       idle, or the step a rotation stopped at
    RotationOp / RotationStart / RotationStep   a rotation in progress (see rotation/state.py)
    RotatedAt / SwitchedAt / RotationRun        when and by which run

Pure: standard library only, no I/O. The policy pack, the sample app and the component package
ship alone and carry a copy of this file that a test keeps equal to it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import TypeVar

TAG_SLOT = "CredentialId"
TAG_ACCOUNT = "ProviderAddress"
TAG_PERIOD = "ValidityPeriodDays"
TAG_CONSUMERS = "Consumers"
TAG_STATE = "RotationState"
TAG_OP = "RotationOp"
TAG_START = "RotationStart"
TAG_STEP = "RotationStep"
TAG_ROTATED_AT = "RotatedAt"
TAG_SWITCHED_AT = "SwitchedAt"
TAG_RUN = "RotationRun"

# Tags a rotation in progress writes and a finished one removes.
PROGRESS_TAGS: tuple[str, ...] = (TAG_OP, TAG_START, TAG_STEP, TAG_STATE)
STATE_IDLE = "idle"

SLOTS: tuple[str, str] = ("key1", "key2")
INITIAL_SLOT = "key1"
# ARM spells the key names with a capital K (regenerateKey body: {"keyName": "Key1"}).
ARM_KEY_NAMES: dict[str, str] = {"key1": "Key1", "key2": "Key2"}

CONTENT_TYPE = "text/plain; azure-ai-api-key"
"""Content type of every version: the bare key, sent as the ``api-key`` header."""

_REFERENCE_TEXT = re.compile(r"\s*@Microsoft\.KeyVault\(.*\)\s*", re.IGNORECASE | re.DOTALL)


def is_reference_text(value: object) -> bool:
    """True for any ``@Microsoft.KeyVault(...)`` text, well-formed or not: App Service leaves a
    reference it cannot resolve in place as the setting's value, and that text is never a key.
    (``catalog.ids.parse_key_vault_reference`` reads the well-formed ones.)"""
    return isinstance(value, str) and _REFERENCE_TEXT.fullmatch(value) is not None


_REFERENCE = re.compile(r"@Microsoft\.KeyVault\((?P<body>[^)]*)\)", re.IGNORECASE)


def reference_fields(value: object) -> dict[str, str] | None:
    """The fields of a Key Vault reference, names lower-cased (``secreturi``, or ``vaultname``,
    ``secretname`` and ``secretversion``), or None when `value` has not a reference's shape.
    Whether they name a secret is ``catalog.ids.parse_key_vault_reference``'s to say."""
    match = _REFERENCE.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None:
        return None
    fields: dict[str, str] = {}
    for item in match["body"].split(";"):
        key, _, field = item.partition("=")
        fields[key.strip().lower()] = field.strip()
    return fields


MAX_TAG_VALUE_LENGTH = 256
"""Key Vault's limit on one tag value."""

MIN_PERIOD_DAYS = 1
MAX_PERIOD_DAYS = 365
DEFAULT_PERIOD_DAYS = 90
PERIOD_RULE = f"a whole number of days from {MIN_PERIOD_DAYS} to {MAX_PERIOD_DAYS}"


def other_slot(slot: str) -> str:
    """The standby slot of `slot` (key1 <-> key2); ValueError for anything else."""
    if slot not in SLOTS:
        raise ValueError(f"slot {slot!r}: the rule is key1 or key2")
    return SLOTS[1] if slot == SLOTS[0] else SLOTS[0]


def is_period(value: object) -> bool:
    """True for a whole number of days within the bounds (the engine sends numbers as floats)."""
    whole = isinstance(value, int | float) and not isinstance(value, bool) and value == int(value)
    return whole and MIN_PERIOD_DAYS <= int(value) <= MAX_PERIOD_DAYS


def period_from_tag(raw: str | None) -> int:
    """The period a version's ValidityPeriodDays tag states, or the default when it states none
    within the bounds."""
    text = (raw or "").strip()
    return int(text) if text.isdigit() and is_period(int(text)) else DEFAULT_PERIOD_DAYS


T = TypeVar("T")
_OLDEST = datetime.min.replace(tzinfo=UTC)


def newest_first(versions: Iterable[T], created_on: Callable[[T], datetime | None]) -> list[T]:
    """Versions newest first, as a versionless secret URI resolves them: by creation time, and on
    a tie (Key Vault's times have one-second resolution) the one listed last first."""
    listed = list(enumerate(versions))
    listed.sort(key=lambda item: (created_on(item[1]) or _OLDEST, item[0]), reverse=True)
    return [version for _, version in listed]


def latest(versions: Iterable[T], created_on: Callable[[T], datetime | None]) -> T:
    """The version a versionless reference follows; ValueError when there is none."""
    ordered = newest_first(versions, created_on)
    if not ordered:
        raise ValueError("the secret has no versions")
    return ordered[0]


def owned_tags(account_id: str, period_days: int, consumers: str | None) -> dict[str, str]:
    """The tags the stack sets and keeps in line with its inputs (Consumers only when given)."""
    tags = {TAG_ACCOUNT: account_id, TAG_PERIOD: str(period_days)}
    if consumers:
        tags[TAG_CONSUMERS] = consumers
    return tags


def first_version_tags(account_id: str, period_days: int, consumers: str | None) -> dict[str, str]:
    """Tags of the secret's first version: key1 active, rotation idle."""
    return {
        **owned_tags(account_id, period_days, consumers),
        TAG_SLOT: INITIAL_SLOT,
        TAG_STATE: STATE_IDLE,
    }
