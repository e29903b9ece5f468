"""AI account policies: custom subdomain, local auth in keyless stacks, public network."""

from __future__ import annotations

import dataclasses

import pytest

from preflight.model import UNKNOWN
from tests.policies.fixtures import (
    ACCOUNT_URN,
    SETTINGS_URN,
    changed,
    found,
    found_levels,
    good_resources,
    synthetic_hex_key,
)


def _account(edit):
    return changed(good_resources(), "account", lambda p: edit(p["properties"]))


def _without_key_holder():
    """The stack with the account's key no longer carried into Key Vault: keyless."""
    return [
        dataclasses.replace(r, dependencies=(), property_dependencies={})
        if r.name == "ai-key"
        else r
        for r in good_resources()
    ]


@pytest.mark.parametrize(
    "edit", [lambda p: p.pop("customSubDomainName"), lambda p: p.update(customSubDomainName="")]
)
def test_an_account_without_custom_subdomain_fails(edit) -> None:
    assert found(_account(edit)) == {("ai-account-has-custom-subdomain", ACCOUNT_URN)}


def test_a_keyless_stack_with_local_auth_fails() -> None:
    assert found(_without_key_holder()) == {
        ("ai-account-disables-local-auth-when-keyless", ACCOUNT_URN)
    }


def test_a_key_wired_straight_into_app_settings_is_a_key_in_use_not_keyless() -> None:
    # No secret carries the key, but an app setting holds one: the stack uses a key, so the
    # finding is the leak itself, not "keyless with local auth on".
    resources = changed(
        _without_key_holder(),
        "settings",
        lambda p: p["properties"].update(MODEL_OPTION=synthetic_hex_key()),
    )
    assert found(resources) == {
        ("no-hardcoded-secrets", SETTINGS_URN),
        ("app-settings-use-key-vault-references", SETTINGS_URN),
    }


def test_a_keyless_stack_with_local_auth_disabled_passes() -> None:
    resources = changed(
        _without_key_holder(), "account", lambda p: p["properties"].update(disableLocalAuth=True)
    )
    assert found(resources) == set()


@pytest.mark.parametrize(
    "carrier",
    # A Python program registers the dynamic resource; a program in another language that uses
    # the component package registers the package's own type (components/package.py).
    ["pulumi-python:dynamic:Resource", "secure-azure-ai:index:AccountKeySecret"],
)
def test_a_resource_carrying_the_key_makes_the_stack_key_mode(carrier: str) -> None:
    # The pack ships alone and names the package's type itself: it must be the one the package
    # registers.
    from components.api_key_secret import SERVED_TYPE
    from policies.support import PACKAGE_KEY_SECRET

    assert PACKAGE_KEY_SECRET == SERVED_TYPE

    from tests.policies.fixtures import resource

    holder = resource(
        carrier,
        "api-key",
        {"account_id": "/subscriptions/x/accounts/ai-test", "__provider": "opaque"},
        dependencies=(ACCOUNT_URN,),
        property_dependencies={"account_id": (ACCOUNT_URN,)},
    )
    assert found([*_without_key_holder(), holder]) == set()


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("keyless", {("ai-account-disables-local-auth-when-keyless", ACCOUNT_URN)}),
        ("keyVault", set()),
    ],
)
def test_auth_mode_config_overrides_inference(mode: str, expected: set) -> None:
    config = {"ai-account-disables-local-auth-when-keyless": {"authMode": mode}}
    assert found(good_resources(), config) == expected


def test_unknown_local_auth_in_a_keyless_stack_is_cannot_check_yet() -> None:
    resources = changed(
        _without_key_holder(), "account", lambda p: p["properties"].update(disableLocalAuth=UNKNOWN)
    )
    assert found_levels(resources) == {
        ("no-hardcoded-secrets", "advisory", ACCOUNT_URN),
        ("ai-account-disables-local-auth-when-keyless", "advisory", None),
    }


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (
            lambda p: p.pop("networkAcls"),
            {("ai-account-restricts-public-network", "advisory", ACCOUNT_URN)},
        ),
        (
            lambda p: p["networkAcls"].update(defaultAction="Allow"),
            {("ai-account-restricts-public-network", "advisory", ACCOUNT_URN)},
        ),
        (lambda p: p.update(publicNetworkAccess="Disabled", networkAcls={}), set()),
    ],
)
def test_public_network_without_acls_is_advisory(edit, expected: set) -> None:
    assert found_levels(_account(edit)) == expected


@pytest.mark.parametrize("identity", [None, {"type": "None"}, {}])
def test_an_account_without_managed_identity_fails(identity) -> None:
    def edit(p):
        p.pop("identity")
        if identity is not None:
            p["identity"] = identity

    resources = changed(good_resources(), "account", edit)
    assert found(resources) == {("ai-account-uses-managed-identity", ACCOUNT_URN)}
