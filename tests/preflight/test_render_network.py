"""The report of a private stack shows its network: flow nodes and edges, tree properties."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest

from preflight.evaluate import evaluate
from preflight.model import Plan, Violation
from preflight.preview import plan_stack
from preflight.render import render, resource_tree
from tests.preflight.test_render import assert_mermaid_parses

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "preflight" / "report.schema.json").read_text("utf-8"))


@pytest.fixture(scope="module")
def prod() -> tuple[Plan, list[Violation]]:
    plan = plan_stack(ROOT, "prod")
    return plan, evaluate(plan)


def network_edges(document: dict) -> list[tuple[str, str, str, str, str]]:
    """(from kind, from label, edge label, to kind, to label) of every edge touching the network."""
    nodes = {n["id"]: n for n in document["flow"]["nodes"]}
    network = {"network", "endpoint", "zone", "vault"}
    return sorted(
        (
            nodes[e["from"]]["kind"],
            nodes[e["from"]]["label"],
            e["label"],
            nodes[e["to"]]["kind"],
            nodes[e["to"]]["label"],
        )
        for e in document["flow"]["edges"]
        if {nodes[e["from"]]["kind"], nodes[e["to"]]["kind"]} & network
    )


def test_the_flow_draws_vnet_endpoints_zones_and_the_apps_way_out(prod):
    document = json.loads(render(*prod, "json"))
    jsonschema.Draft202012Validator(SCHEMA).validate(document)
    vnet = ("network", "VNet sai-prod-vnet (10.60.0.0/22)")
    ai_pe = ("endpoint", "private endpoint sai-prod-ai-4dc9b1-pe")
    kv_pe = ("endpoint", "private endpoint sai-prod-kv-4dc9b1-pe")
    openai = ("zone", "DNS zone privatelink.openai.azure.com")
    vaultcore = ("zone", "DNS zone privatelink.vaultcore.azure.net")
    vault = ("vault", "Key Vault secure-ai-kv-vault")
    secret = ("secret", "secret ai-api-key in vault sai-prod-kv-4dc9b1")
    blob_pe = ("endpoint", "private endpoint saiprodrot4dc9b1-blob-pe")
    queue_pe = ("endpoint", "private endpoint saiprodrot4dc9b1-queue-pe")
    blob = ("zone", "DNS zone privatelink.blob.core.windows.net")
    queue = ("zone", "DNS zone privatelink.queue.core.windows.net")
    storage = ("storage", "storage account secure-ai-rotation-storage")

    def e(source, label, target):
        return (*source, label, *target)

    assert network_edges(document) == sorted(
        [
            e(
                ("app", "WebApp secure-ai-app-web-site"),
                "all outbound via subnet app-service",
                vnet,
            ),
            e(
                ("app", "WebApp secure-ai-app-api-site"),
                "all outbound via subnet app-service",
                vnet,
            ),
            e(("app", "WebApp secure-ai-rotation-site"), "all outbound via subnet functions", vnet),
            e(vnet, "in subnet private-endpoints", ai_pe),
            e(vnet, "in subnet private-endpoints", kv_pe),
            e(ai_pe, "private link (account)", ("aiAccount", "AI account secure-ai-ai-account")),
            e(kv_pe, "private link (vault)", vault),
            e(ai_pe, "A record in", openai),
            e(kv_pe, "A record in", vaultcore),
            e(openai, "linked to", vnet),
            e(vaultcore, "linked to", vnet),
            e(secret, "kept in", vault),
            e(vnet, "in subnet private-endpoints", blob_pe),
            e(vnet, "in subnet private-endpoints", queue_pe),
            e(blob_pe, "private link (blob)", storage),
            e(queue_pe, "private link (queue)", storage),
            e(blob_pe, "A record in", blob),
            e(queue_pe, "A record in", queue),
            e(blob, "linked to", vnet),
            e(queue, "linked to", vnet),
        ]
    )


def test_the_private_flow_is_valid_mermaid(prod):
    markdown = render(*prod, "markdown")
    (block,) = re.findall(r"```mermaid\n(.*?)\n```", markdown, flags=re.DOTALL)
    assert_mermaid_parses(block)
    assert '[["VNet sai-prod-vnet (10.60.0.0/22)"]]' in block
    assert '(("private endpoint sai-prod-kv-4dc9b1-pe"))' in block
    assert '[\\"DNS zone privatelink.vaultcore.azure.net"\\]' in block


def test_the_tree_lists_network_resources_with_the_properties_that_matter(prod):
    tree = "\n".join(resource_tree(json.loads(render(*prod, "json"))))
    # The VNet's ID as the preview knows it (derivable from its name, or not yet).
    (vnet,) = [r for r in prod[0].resources if r.name == "secure-ai-network-vnet"]
    vnet_id = vnet.id or "(known after apply)"
    for resource, properties in {
        "network:VirtualNetwork secure-ai-network-vnet": [
            "name: sai-prod-vnet",
            "addressSpace: 10.60.0.0/22",
        ],
        "network:Subnet secure-ai-network-app-service": [
            "name: app-service",
            "virtualNetwork: sai-prod-vnet",
            "addressPrefix: 10.60.1.0/26",
            "delegations: Microsoft.Web/serverFarms",
        ],
        "network:PrivateEndpoint secure-ai-kv-private-endpoint": [
            "name: sai-prod-kv-4dc9b1-pe",
            "groupIds: vault",
            "service: sai-prod-kv-4dc9b1",
            "subnet: (known after apply)",
        ],
        "network:PrivateDnsZoneGroup secure-ai-ai-private-dns": [
            "privateEndpoint: sai-prod-ai-4dc9b1-pe",
            "zones: privatelink-openai-azure-com",
        ],
        "privatedns:PrivateZone secure-ai-network-zone-privatelink-vaultcore-azure-net": [
            "zone: privatelink.vaultcore.azure.net",
            "location: global",
        ],
        "privatedns:VirtualNetworkLink secure-ai-network-link-privatelink-openai-azure-com": [
            "zone: privatelink.openai.azure.com",
            "registrationEnabled: false",
            f"virtualNetwork: {vnet_id}",
        ],
        "storage:StorageAccount secure-ai-rotation-storage": [
            "publicNetworkAccess: Enabled",
            "networkDefaultAction: Deny",
            "networkBypass: AzureServices",
        ],
        "network:PrivateEndpoint secure-ai-rotation-storage-queue-private-endpoint": [
            "name: saiprodrot4dc9b1-queue-pe",
            "groupIds: queue",
            "service: saiprodrot4dc9b1",
        ],
        "web:WebApp secure-ai-app-web-site": [
            "virtualNetworkSubnetId: (known after apply)",
            'outboundVnetRouting: {"applicationTraffic":true}',
        ],
    }.items():
        lines = tree.splitlines()
        (start,) = [i for i, line in enumerate(lines) if line.endswith(resource)]
        shown = [line.strip(" │") for line in lines[start + 1 : start + 1 + len(properties) + 8]]
        for expected in properties:
            assert expected in shown, (resource, expected)


def test_a_public_stack_shows_no_network_and_no_network_properties():
    plan = plan_stack(ROOT, "dev")
    document = json.loads(render(plan, evaluate(plan), "json"))
    assert network_edges(document) == []
    for r in document["resources"]:
        assert not {
            "virtualNetworkSubnetId",
            "outboundVnetRouting",
            "networkDefaultAction",
            "networkBypass",
        } & set(r["properties"])
