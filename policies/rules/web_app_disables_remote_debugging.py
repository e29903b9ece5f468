"""web-app-disables-remote-debugging: no debugger port open on the running app."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.support import (
    NOT_KNOWN,
    WEB_APPS,
    Controls,
    Outcome,
    Resource,
    resource_policy,
    shown,
)


def check(resource: Resource, config: Mapping[str, Any]) -> Outcome:
    """siteConfig.remoteDebuggingEnabled false or absent (Azure's default is off)."""
    out = Outcome()
    value = out.read(resource.props, "siteConfig", "remoteDebuggingEnabled")
    if value is not NOT_KNOWN and value not in (None, False):
        out.fail(f"siteConfig.remoteDebuggingEnabled is {shown(value)}; it must be false")
    return out


POLICY = resource_policy(
    "web-app-disables-remote-debugging",
    "Web apps have remote debugging turned off.",
    types=WEB_APPS,
    rule=check,
    controls=Controls(
        azure_policy=("cb510bfd",),
        checkov=("CKV_AZURE_72",),
        psrule=("Azure.AppService.RemoteDebug",),
    ),
    remediation="Set siteConfig.remoteDebuggingEnabled=false.",
)
