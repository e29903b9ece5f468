"""A compliant web app for the test programs: each program adds exactly one leak to it."""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi_azure_native import web

SITE_NAME = "web-policy-test"
RESOURCE_GROUP = "rg-policy-test"


def synthetic_key() -> str:
    """The run's synthetic key, handed over by the test through config (never stored)."""
    return pulumi.Config().require("syntheticKey")


def secure_site(app_settings: list[dict[str, Any]] | None = None, **site_config: Any) -> web.WebApp:
    """HTTPS-only, TLS 1.2, no FTP, no remote debugging, no basic-auth publishing."""
    site = web.WebApp(
        "site",
        name=SITE_NAME,
        resource_group_name=RESOURCE_GROUP,
        https_only=True,
        identity={"type": "SystemAssigned"},
        site_config={
            "min_tls_version": "1.2",
            "scm_min_tls_version": "1.2",
            "ftps_state": "Disabled",
            "remote_debugging_enabled": False,
            "app_settings": app_settings or [],
            **site_config,
        },
    )
    web.WebAppFtpAllowed("ftp", name=site.name, resource_group_name=RESOURCE_GROUP, allow=False)
    web.WebAppScmAllowed("scm", name=site.name, resource_group_name=RESOURCE_GROUP, allow=False)
    return site
