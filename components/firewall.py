"""The public-endpoint fence the AI account and the vault share: pure, no Pulumi resources."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def denies_by_default(public_network_access: str, allowed_ip_ranges: Sequence[Any]) -> bool:
    """Deny by default whenever the public endpoint is fenced (IP rules given) or off: a later
    switch of publicNetworkAccess back to Enabled then still admits no one."""
    return bool(allowed_ip_ranges) or public_network_access == "Disabled"


def ip_rules(allowed_ip_ranges: Sequence[Any]) -> list[dict[str, Any]]:
    """The ranges as the ACL's ``ip_rules`` (the same shape for both services)."""
    return [{"value": ip} for ip in allowed_ip_ranges]
