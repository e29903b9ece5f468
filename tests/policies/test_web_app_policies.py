"""Web app policies: identity, HTTPS, TLS, FTP, remote debugging, basic-auth publishing."""

from __future__ import annotations

import dataclasses

import pytest

from tests.policies.fixtures import (
    FTP_URN,
    SCM_URN,
    SITE_URN,
    changed,
    found,
    good_resources,
    resource,
)


def _site(edit):
    return changed(good_resources(), "site", edit)


@pytest.mark.parametrize(
    ("edit", "policy"),
    [
        (lambda p: p.pop("identity"), "web-app-uses-managed-identity"),
        (lambda p: p.update(identity={"type": "None"}), "web-app-uses-managed-identity"),
        (lambda p: p.update(httpsOnly=False), "web-app-https-only"),
        (lambda p: p.pop("httpsOnly"), "web-app-https-only"),
        (lambda p: p["siteConfig"].update(minTlsVersion="1.1"), "web-app-requires-tls-1-2"),
        (lambda p: p["siteConfig"].update(scmMinTlsVersion="1.0"), "web-app-requires-tls-1-2"),
        (lambda p: p["siteConfig"].pop("scmMinTlsVersion"), "web-app-requires-tls-1-2"),
        (lambda p: p["siteConfig"].update(ftpsState="AllAllowed"), "web-app-disables-ftp"),
        (lambda p: p["siteConfig"].update(ftpsState="FtpsOnly"), "web-app-disables-ftp"),
        (
            lambda p: p["siteConfig"].update(remoteDebuggingEnabled=True),
            "web-app-disables-remote-debugging",
        ),
    ],
)
def test_a_weakened_site_fails_exactly_its_policy(edit, policy: str) -> None:
    assert found(_site(edit)) == {(policy, SITE_URN)}


def test_tls_1_3_and_user_assigned_identity_pass() -> None:
    def edit(p):
        p["siteConfig"].update(minTlsVersion="1.3", scmMinTlsVersion="1.3")
        p["identity"]["type"] = "SystemAssigned, UserAssigned"

    assert found(_site(edit)) == set()


def test_ftps_states_can_be_allow_listed() -> None:
    resources = _site(lambda p: p["siteConfig"].update(ftpsState="FtpsOnly"))
    config = {"web-app-disables-ftp": {"allowedFtpsStates": ["Disabled", "FtpsOnly"]}}
    assert found(resources, config) == set()


def test_a_function_app_and_a_slot_are_checked_like_a_site() -> None:
    resources = _site(lambda p: p.update(kind="functionapp,linux", httpsOnly=False))
    assert found(resources) == {("web-app-https-only", SITE_URN)}
    slot = resource(
        "azure-native:web:WebAppSlot",
        "staging",
        {**resources[2].inputs, "slot": "staging"},
    )
    assert found([*resources, slot]) == {
        ("web-app-https-only", SITE_URN),
        ("web-app-https-only", slot.urn),
        # A slot has its own publishing credentials policies; this one has none.
        ("web-app-disables-basic-auth-publishing", slot.urn),
    }


@pytest.mark.parametrize("name", ["ftp", "scm"])
def test_basic_auth_publishing_allowed_fails_on_that_resource(name: str) -> None:
    resources = changed(good_resources(), name, lambda p: p.update(allow=True))
    urn = FTP_URN if name == "ftp" else SCM_URN
    assert found(resources) == {("web-app-disables-basic-auth-publishing", urn)}


@pytest.mark.parametrize("name", ["ftp", "scm"])
def test_a_site_without_its_publishing_policy_fails(name: str) -> None:
    resources = [r for r in good_resources() if r.name != name]
    assert found(resources) == {("web-app-disables-basic-auth-publishing", SITE_URN)}


def test_publishing_policy_found_by_site_name_without_a_dependency() -> None:
    resources = [
        dataclasses.replace(r, dependencies=(), property_dependencies={})
        if r.name in ("ftp", "scm")
        else r
        for r in good_resources()
    ]
    assert found(resources) == set()
    renamed = changed(resources, "ftp", lambda p: p.update(name="another-site"))
    assert found(renamed) == {("web-app-disables-basic-auth-publishing", SITE_URN)}
