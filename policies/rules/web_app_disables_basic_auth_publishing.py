"""web-app-disables-basic-auth-publishing: no FTP or SCM deployment with a username and password.

App Service turns basic-auth publishing on unless a ``basicPublishingCredentialsPolicies`` resource
(``web.WebAppFtpAllowed`` / ``web.WebAppScmAllowed``, or their ``*Slot`` variants) says
``allow: false``; so each web app and slot needs both, and none may allow it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.identities import belongs_to
from policies.support import (
    FTP_ALLOWED,
    SCM_ALLOWED,
    WEB_APPS,
    Outcome,
    StackResource,
    is_unknown,
    shown,
    stack_policy,
)

_ENDPOINTS = (("FTP", FTP_ALLOWED, "WebAppFtpAllowed"), ("SCM", SCM_ALLOWED, "WebAppScmAllowed"))


def check(resources: list[StackResource], config: Mapping[str, Any]) -> Outcome:
    """Every policy resource says allow=false, and every site has one per endpoint."""
    out = Outcome()
    for r in resources:
        if r.type in FTP_ALLOWED | SCM_ALLOWED:
            allow = r.props.get("allow")
            if is_unknown(allow):
                out.cannot_check((r.name, "allow"))
            elif allow is not False:
                out.fail(f"allow is {shown(allow)}; basic-auth publishing must be off", r.urn)
    for site in (r for r in resources if r.type in WEB_APPS):
        for endpoint, types, token in _ENDPOINTS:
            if not any(r.type in types and belongs_to(r, site) for r in resources):
                out.fail(
                    f"{endpoint} basic-auth publishing is left on: add web.{token}"
                    f"{'Slot' if site.type.endswith('Slot') else ''} with allow=false",
                    site.urn,
                )
    return out


POLICY = stack_policy(
    "web-app-disables-basic-auth-publishing",
    "Web apps disable FTP and SCM basic-auth publishing credentials.",
    rule=check,
    remediation=(
        "Add web.WebAppFtpAllowed and web.WebAppScmAllowed (name=<site>, allow=False) for each "
        "app, and the *Slot variants for each slot; deploy with Entra ID credentials."
    ),
)
