"""web-app-disables-ftp: no FTP or FTPS endpoint for deployments."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.support import (
    NOT_KNOWN,
    WEB_APPS,
    Controls,
    Outcome,
    Resource,
    config_list,
    resource_policy,
    shown,
)

ALLOWED_FTPS_STATES = "allowedFtpsStates"
DEFAULT_ALLOWED = ("Disabled",)


def check(resource: Resource, config: Mapping[str, Any]) -> Outcome:
    """siteConfig.ftpsState one of the allowed states (default: only Disabled)."""
    out = Outcome()
    allowed = config_list(config, ALLOWED_FTPS_STATES) or frozenset(DEFAULT_ALLOWED)
    state = out.read(resource.props, "siteConfig", "ftpsState")
    if state is not NOT_KNOWN and not (isinstance(state, str) and state in allowed):
        out.fail(f"siteConfig.ftpsState is {shown(state)}; allowed: {', '.join(sorted(allowed))}")
    return out


POLICY = resource_policy(
    "web-app-disables-ftp",
    "Web apps have FTP and FTPS disabled.",
    types=WEB_APPS,
    rule=check,
    controls=Controls(
        azure_policy=("4d24b6d4",),
        checkov=("CKV_AZURE_78",),
        psrule=("Azure.AppService.WebSecureFtp",),
    ),
    remediation="Set siteConfig.ftpsState='Disabled' and deploy with zip deploy or containers.",
    config={
        ALLOWED_FTPS_STATES: {
            "type": "array",
            "items": {"type": "string", "enum": ["Disabled", "FtpsOnly", "AllAllowed"]},
            "default": list(DEFAULT_ALLOWED),
            "description": "siteConfig.ftpsState values accepted (exact match).",
        }
    },
)
