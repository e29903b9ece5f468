"""Private-network policies: the prod stack passes them; each weakened copy fails exactly one.

The good fixture is the prod stack as the mocks harness plans it (preflight/harness.py answers a
first preview the way azure-native does: IDs Azure assigns are unknown, so endpoints, zone groups
and sites refer to subnets and zones through property dependencies, as the engine records them).
Each bad fixture changes one thing, in inputs and outputs alike: a stack policy sees the outputs
over the inputs (preflight/evaluate.py, as the engine sends the new state).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from components import private_link
from policies import network
from preflight.evaluate import evaluate
from preflight.harness import PREVIEW_SUBSCRIPTION, load_stack_config, run_program
from preflight.model import UNKNOWN, Plan, PlannedResource

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT_ID = (
    f"/subscriptions/{PREVIEW_SUBSCRIPTION}/resourceGroups/sai-prod-rg/providers/"
    "Microsoft.CognitiveServices/accounts/sai-prod-ai-4dc9b1"
)
PRIVATE_POLICIES = frozenset(
    {
        "ai-account-has-private-endpoint",
        "key-vault-has-private-endpoint",
        "private-services-disable-public-access",
        "web-app-routes-outbound-through-vnet",
    }
)


@pytest.fixture(scope="module")
def prod() -> Plan:
    return run_program(ROOT, load_stack_config(ROOT / "Pulumi.prod.yaml"), stack="prod")


def findings(plan: Plan) -> set[tuple[str, str, str | None]]:
    """(policy, enforcement, resource name) of every private-network finding."""
    return {
        (v.policy, v.enforcement, v.urn.rsplit("::", 1)[-1] if v.urn else None)
        for v in evaluate(plan)
        if v.policy in PRIVATE_POLICIES
    }


def named(plan: Plan, name: str) -> PlannedResource:
    (found,) = [r for r in plan.resources if r.name == name]
    return found


def without(*names: str) -> Callable[[Plan], Plan]:
    def weaken(plan: Plan) -> Plan:
        return replace(plan, resources=[r for r in plan.resources if r.name not in names])

    return weaken


def setting(name: str, path: str, value: object) -> Callable[[Plan], Plan]:
    """Set (or with ``None``, remove) one property of one resource, inputs and outputs alike."""

    def weaken(plan: Plan) -> Plan:
        resource = named(plan, name)
        *parents, leaf = path.split(".")
        for props in (resource.inputs, resource.outputs):
            holder = props
            for part in parents:
                holder = holder.setdefault(part, {})
            if value is None:
                holder.pop(leaf, None)
            else:
                holder[leaf] = value
        if value is None:
            resource.property_dependencies.pop(path, None)
        return plan

    return weaken


def test_the_private_stack_passes_every_private_network_policy(prod):
    assert findings(prod) == set()
    assert [v for v in evaluate(prod) if v.enforcement == "mandatory"] == []


def test_a_public_stack_is_not_held_to_private_network_rules():
    dev = run_program(ROOT, load_stack_config(ROOT / "Pulumi.dev.yaml"))
    assert findings(dev) == set()


MANDATORY = "mandatory"
WEAKENINGS = {
    "account endpoint removed": (
        without("secure-ai-ai-private-endpoint", "secure-ai-ai-private-dns"),
        {("ai-account-has-private-endpoint", MANDATORY, "secure-ai-ai-account")},
    ),
    "account zone group removed": (
        without("secure-ai-ai-private-dns"),
        {("ai-account-has-private-endpoint", MANDATORY, "secure-ai-ai-private-endpoint")},
    ),
    "account endpoint to the wrong sub-resource": (
        setting(
            "secure-ai-ai-private-endpoint",
            "privateLinkServiceConnections",
            [
                {
                    "name": "sai-prod-ai-pe",
                    "privateLinkServiceId": ACCOUNT_ID,
                    "groupIds": ["vault"],
                }
            ],
        ),
        {("ai-account-has-private-endpoint", MANDATORY, "secure-ai-ai-account")},
    ),
    "vault endpoint removed": (
        without("secure-ai-kv-private-endpoint", "secure-ai-kv-private-dns"),
        {("key-vault-has-private-endpoint", MANDATORY, "secure-ai-kv-vault")},
    ),
    "vault zone group removed": (
        without("secure-ai-kv-private-dns"),
        {("key-vault-has-private-endpoint", MANDATORY, "secure-ai-kv-private-endpoint")},
    ),
    "account public access enabled": (
        setting("secure-ai-ai-account", "properties.publicNetworkAccess", "Enabled"),
        {("private-services-disable-public-access", MANDATORY, "secure-ai-ai-account")},
    ),
    "account ACL allows": (
        setting("secure-ai-ai-account", "properties.networkAcls.defaultAction", "Allow"),
        {("private-services-disable-public-access", MANDATORY, "secure-ai-ai-account")},
    ),
    "vault public access enabled": (
        setting("secure-ai-kv-vault", "properties.publicNetworkAccess", "Enabled"),
        {("private-services-disable-public-access", MANDATORY, "secure-ai-kv-vault")},
    ),
    "vault firewall allows": (
        setting("secure-ai-kv-vault", "properties.networkAcls.defaultAction", "Allow"),
        {("private-services-disable-public-access", MANDATORY, "secure-ai-kv-vault")},
    ),
    "app not integrated": (
        setting("secure-ai-app-web-site", "virtualNetworkSubnetId", None),
        {("web-app-routes-outbound-through-vnet", MANDATORY, "secure-ai-app-web-site")},
    ),
    "app routes only private ranges": (
        lambda plan: setting(
            "secure-ai-app-api-site",
            "outboundVnetRouting",
            {"applicationTraffic": False, "allTraffic": False},
        )(setting("secure-ai-app-api-site", "siteConfig.vnetRouteAllEnabled", False)(plan)),
        {("web-app-routes-outbound-through-vnet", MANDATORY, "secure-ai-app-api-site")},
    ),
    "rotation storage open to every network": (
        setting("secure-ai-rotation-storage", "networkRuleSet.defaultAction", "Allow"),
        {("private-services-disable-public-access", MANDATORY, "secure-ai-rotation-storage")},
    ),
    "rotation storage admits an IP address": (
        setting(
            "secure-ai-rotation-storage",
            "networkRuleSet.ipRules",
            [{"iPAddressOrRange": "203.0.113.7", "action": "Allow"}],
        ),
        {("private-services-disable-public-access", MANDATORY, "secure-ai-rotation-storage")},
    ),
    "rotation storage admits a subnet": (
        setting(
            "secure-ai-rotation-storage",
            "networkRuleSet.virtualNetworkRules",
            [{"virtualNetworkResourceId": "/subscriptions/x/subnets/any", "action": "Allow"}],
        ),
        {("private-services-disable-public-access", MANDATORY, "secure-ai-rotation-storage")},
    ),
    "rotation storage left as Azure creates it": (
        lambda plan: setting("secure-ai-rotation-storage", "networkRuleSet", None)(
            setting("secure-ai-rotation-storage", "publicNetworkAccess", None)(plan)
        ),
        {("private-services-disable-public-access", MANDATORY, "secure-ai-rotation-storage")},
    ),
    "rotation app not integrated": (
        setting("secure-ai-rotation-site", "virtualNetworkSubnetId", ""),
        {("web-app-routes-outbound-through-vnet", MANDATORY, "secure-ai-rotation-site")},
    ),
}


@pytest.mark.parametrize(("weaken", "expected"), WEAKENINGS.values(), ids=list(WEAKENINGS))
def test_each_weakening_of_the_private_stack_is_caught_by_exactly_its_policy(
    prod, weaken, expected
):
    assert findings(weaken(copy.deepcopy(prod))) == expected


def test_storage_with_public_access_disabled_passes_without_a_firewall(prod):
    """Disabled (or SecuredByPerimeter) shuts the public endpoint whatever the rules say."""
    for closed in ("Disabled", "SecuredByPerimeter"):
        plan = setting("secure-ai-rotation-storage", "publicNetworkAccess", closed)(
            copy.deepcopy(prod)
        )
        plan = setting("secure-ai-rotation-storage", "networkRuleSet", None)(plan)
        assert findings(plan) == set(), closed


def test_the_rotation_storage_failure_says_what_is_open(prod):
    plan = setting("secure-ai-rotation-storage", "networkRuleSet.defaultAction", "Allow")(
        copy.deepcopy(prod)
    )
    (message,) = [
        v.message for v in evaluate(plan) if v.policy == "private-services-disable-public-access"
    ]
    assert message == (
        "storage account 'secure-ai-rotation-storage': publicNetworkAccess is 'Enabled' and "
        "networkRuleSet.defaultAction is 'Allow'; set publicNetworkAccess 'Disabled', or "
        "defaultAction 'Deny'"
    )


def test_the_older_route_all_property_counts_too(prod):
    plan = setting("secure-ai-app-web-site", "outboundVnetRouting", None)(copy.deepcopy(prod))
    plan = setting("secure-ai-app-web-site", "siteConfig.vnetRouteAllEnabled", True)(plan)
    assert findings(plan) == set()


def test_an_integration_not_known_yet_is_not_passed_silently(prod):
    """An unknown subnet ID with no dependency on a declared subnet cannot be judged yet."""
    plan = setting("secure-ai-app-web-site", "virtualNetworkSubnetId", UNKNOWN)(copy.deepcopy(prod))
    named(plan, "secure-ai-app-web-site").property_dependencies.pop("virtualNetworkSubnetId")
    assert findings(plan) == {("web-app-routes-outbound-through-vnet", "advisory", None)}


def test_an_endpoint_naming_its_account_by_id_counts_like_one_depending_on_it(prod):
    """A program may build the account's ID from its names: then no dependency records it."""
    plan = copy.deepcopy(prod)
    endpoint = named(plan, "secure-ai-ai-private-endpoint")
    endpoint.property_dependencies.pop("privateLinkServiceConnections")
    assert endpoint.inputs["privateLinkServiceConnections"][0]["privateLinkServiceId"] == ACCOUNT_ID
    assert findings(plan) == set()
    other = setting(
        "secure-ai-ai-private-endpoint",
        "privateLinkServiceConnections",
        [{"name": "pe", "privateLinkServiceId": ACCOUNT_ID + "-other", "groupIds": ["account"]}],
    )(plan)
    assert findings(other) == {
        ("ai-account-has-private-endpoint", MANDATORY, "secure-ai-ai-account")
    }


def test_the_packs_private_link_facts_equal_the_components_ones():
    """The pack ships alone, so it carries its own copy of the zones and sub-resource names."""
    assert {
        kind: frozenset(zones) for kind, zones in private_link.ACCOUNT_ZONES.items()
    } == network.ACCOUNT_ZONES
    assert (network.ACCOUNT_GROUP, network.VAULT_GROUP, network.VAULT_ZONE) == (
        private_link.ACCOUNT_GROUP,
        private_link.VAULT_GROUP,
        private_link.VAULT_ZONE,
    )
