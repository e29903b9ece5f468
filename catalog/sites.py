"""App Service sites as the stack, the sample app and rotation agree on them: the health path a
rotation asks for the secret version in use, and the default host a site gets. Pure, no I/O.

The sample app carries a copy of this file that a test keeps equal to it.
"""

from __future__ import annotations

HEALTH_PATH = "/healthz"
"""The app's health endpoint: App Service's health check and a rotation's confirmation ask it."""

DEFAULT_HOST_SUFFIX = "azurewebsites.net"
"""Azure's public cloud gives a site `<site name>.azurewebsites.net`."""


def health_url(host: str) -> str:
    """The health endpoint of the app served on `host`."""
    return f"https://{host}{HEALTH_PATH}"


def default_host(site_name: str) -> str:
    """The host name App Service gives the site named `site_name`."""
    return f"{site_name}.{DEFAULT_HOST_SUFFIX}"


def site_of_default_host(host: str) -> str | None:
    """The site name in a default host name, or None for any other host (a custom domain)."""
    name, dot, suffix = host.lower().partition(".")
    return name if dot and suffix == DEFAULT_HOST_SUFFIX and name else None
