"""The health path and the default host name that the stack, the sample app and rotation share."""

from __future__ import annotations

import pytest

from catalog import sites


def test_a_sites_default_host_and_health_url() -> None:
    assert sites.default_host("sai-dev-app-chat") == "sai-dev-app-chat.azurewebsites.net"
    assert sites.health_url("sai-dev-app-chat.azurewebsites.net") == (
        "https://sai-dev-app-chat.azurewebsites.net/healthz"
    )


@pytest.mark.parametrize(
    ("host", "site"),
    [
        ("sai-dev-app-chat.azurewebsites.net", "sai-dev-app-chat"),
        ("SAI-Dev-App.AzureWebsites.NET", "sai-dev-app"),
        # The SCM host, a custom domain and a bare name are no site's default host.
        ("sai-dev-app.scm.azurewebsites.net", None),
        ("chat.example.com", None),
        ("azurewebsites.net", None),
        (".azurewebsites.net", None),
        ("sai-dev-app", None),
    ],
)
def test_the_site_named_by_a_default_host(host: str, site: str | None) -> None:
    assert sites.site_of_default_host(host) == site
