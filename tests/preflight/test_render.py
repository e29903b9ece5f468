"""The report renderer on hand-built plans: content, masking, ordering and the Mermaid flow."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest

from policies.roles import (
    COGNITIVE_SERVICES_OPENAI_USER,
    KEY_VAULT_SECRETS_OFFICER,
    KEY_VAULT_SECRETS_USER,
    role_definition_id,
)
from preflight.model import (
    ROLE_ASSIGNMENT_TYPE,
    SECRET_SIG_KEY,
    SECRET_SIG_VALUE,
    UNKNOWN,
    Plan,
    PlannedResource,
    Violation,
)
from preflight.render import (
    AI_ACCOUNT_TYPE,
    SECRET_TYPE,
    VAULT_TYPE,
    WEB_APP_TYPE,
    marker,
    render,
    report,
    short_scope,
)

SCHEMA = json.loads(
    (Path(__file__).parents[2] / "preflight" / "report.schema.json").read_text("utf-8")
)
SUB = "00000000-0000-0000-0000-000000000000"
RG_ID = f"/subscriptions/{SUB}/resourceGroups/sai-dev-rg"
VAULT_ID = f"{RG_ID}/providers/Microsoft.KeyVault/vaults/sai-dev-kv"
SECRET_ID = f"{VAULT_ID}/secrets/ai-api-key"
ACCOUNT_ID = f"{RG_ID}/providers/Microsoft.CognitiveServices/accounts/sai-dev-ai"
APP_ID = f"{RG_ID}/providers/Microsoft.Web/sites/sai-dev-web"
APP_PRINCIPAL = "11111111-2222-3333-4444-555555555555"
# Stands in for a credential in the fixtures: the tests assert it never reaches a report.
SECRET_VALUE = "fixture-value-" + "x" * 8


def urn(type_token: str, name: str) -> str:
    return f"urn:pulumi:dev::secure-azure-ai::{type_token}::{name}"


def secret(value: object) -> dict:
    return {SECRET_SIG_KEY: SECRET_SIG_VALUE, "value": value}


def resource(
    type_token: str,
    name: str,
    inputs: dict,
    *,
    outputs: dict | None = None,
    parent: str | None = None,
    deps: tuple[str, ...] = (),
    resource_id: str | None = None,
) -> PlannedResource:
    return PlannedResource(
        urn=urn(type_token, name),
        type=type_token,
        name=name,
        inputs=inputs,
        outputs=outputs or {},
        parent=parent,
        dependencies=deps,
        id=resource_id,
    )


RG = resource(
    "azure-native:resources:ResourceGroup",
    "sai-dev-rg",
    {"location": "swedencentral"},
    resource_id=RG_ID,
)
COMPONENT = resource("secure-azure-ai:index:SecureAi", "sai-dev", {})
VAULT = resource(
    VAULT_TYPE,
    "sai-dev-kv",
    {
        "properties": {
            "enableRbacAuthorization": True,
            "enableSoftDelete": True,
            "softDeleteRetentionInDays": 90,
            "enablePurgeProtection": True,
            "enabledForDeployment": False,
            "enabledForTemplateDeployment": False,
            "enabledForDiskEncryption": False,
            "publicNetworkAccess": "Enabled",
        },
        "resourceGroupName": "sai-dev-rg",
    },
    parent=COMPONENT.urn,
    deps=(RG.urn,),
    resource_id=VAULT_ID,
)
ACCOUNT = resource(
    AI_ACCOUNT_TYPE,
    "sai-dev-ai",
    {
        "kind": "OpenAI",
        "sku": {"name": "S0"},
        "properties": {
            "customSubDomainName": "sai-dev-ai",
            "disableLocalAuth": False,
            "publicNetworkAccess": "Enabled",
            "restrictOutboundNetworkAccess": True,
        },
        "identity": {"type": "SystemAssigned"},
    },
    parent=COMPONENT.urn,
    deps=(RG.urn,),
    resource_id=ACCOUNT_ID,
)
SECRET = resource(
    SECRET_TYPE,
    "ai-api-key",
    {
        "secretName": "ai-api-key",
        "vaultName": "sai-dev-kv",
        "properties": {
            "value": secret(SECRET_VALUE),
            "contentType": "text/plain; azure-ai-key",
            "attributes": {"expires": 1798761600, "enabled": True},
        },
    },
    parent=VAULT.urn,
    deps=(VAULT.urn, ACCOUNT.urn),
    resource_id=SECRET_ID,
)
APP = resource(
    WEB_APP_TYPE,
    "sai-dev-web",
    {
        "httpsOnly": True,
        "siteConfig": {
            "minTlsVersion": "1.2",
            "scmMinTlsVersion": "1.2",
            "ftpsState": "Disabled",
            "remoteDebuggingEnabled": False,
        },
        "identity": {"type": "SystemAssigned"},
    },
    outputs={"identity": {"type": "SystemAssigned", "principalId": APP_PRINCIPAL}},
    parent=COMPONENT.urn,
    deps=(RG.urn,),
    resource_id=APP_ID,
)
APP_READS_SECRET = resource(
    ROLE_ASSIGNMENT_TYPE,
    "sai-dev-web-reads-ai-api-key",
    {
        "principalId": APP_PRINCIPAL,
        "principalType": "ServicePrincipal",
        "roleDefinitionId": role_definition_id(SUB, KEY_VAULT_SECRETS_USER),
        "scope": SECRET_ID,
    },
    parent=SECRET.urn,
    deps=(APP.urn, SECRET.urn),
)
SETTINGS = resource(
    "azure-native:web:WebAppApplicationSettings",
    "sai-dev-web-settings",
    {
        "name": "sai-dev-web",
        "properties": {
            "AZURE_OPENAI_ENDPOINT": "https://sai-dev-ai.openai.azure.com/",
            "AZURE_OPENAI_API_KEY": f"@Microsoft.KeyVault(SecretUri={SECRET_ID})",
        },
    },
    parent=APP.urn,
    deps=(APP_READS_SECRET.urn, SECRET.urn),
)
DEV_PLAN = Plan(
    project="secure-azure-ai",
    stack="dev",
    resources=[SETTINGS, APP_READS_SECRET, APP, SECRET, ACCOUNT, VAULT, COMPONENT, RG],
    outputs={"endpoint": "https://sai-dev-ai.openai.azure.com/", "vaultUri": UNKNOWN},
)
RBAC_VIOLATION = Violation(
    policy="key-vault-uses-rbac",
    enforcement="mandatory",
    urn=VAULT.urn,
    message="Key Vault 'sai-dev-kv' uses access policies | not RBAC",
    remediation="set properties.enableRbacAuthorization to true",
)
ADVISORY = Violation(
    policy="ai-account-disables-public-network",
    enforcement="advisory",
    urn=ACCOUNT.urn,
    message="publicNetworkAccess is <Enabled>",
)


def keyless_plan() -> Plan:
    """Keyless: the app's identity holds Cognitive Services OpenAI User on the account."""
    account = resource(
        AI_ACCOUNT_TYPE,
        "sai-dev-ai",
        {
            **ACCOUNT.inputs,
            "properties": {**ACCOUNT.inputs["properties"], "disableLocalAuth": True},
        },
        resource_id=ACCOUNT_ID,
    )
    grant = resource(
        ROLE_ASSIGNMENT_TYPE,
        "sai-dev-web-uses-ai",
        {
            "principalId": APP_PRINCIPAL,
            "roleDefinitionId": role_definition_id(SUB, COGNITIVE_SERVICES_OPENAI_USER),
            "scope": ACCOUNT_ID,
        },
    )
    return Plan("secure-azure-ai", "dev", [APP, account, grant])


# -- content -------------------------------------------------------------------------------------


def test_text_report_is_the_exact_tree_grants_violations_and_verdict() -> None:
    text = render(DEV_PLAN, [ADVISORY, RBAC_VIOLATION], "text")
    assert text == TEXT_EXPECTED


TEXT_EXPECTED = """\
Preflight report: secure-azure-ai / dev

Planned resources (8)
resources:ResourceGroup sai-dev-rg
    location: swedencentral
secure-azure-ai:index:SecureAi sai-dev
├── cognitiveservices:Account sai-dev-ai
│       kind: OpenAI
│       sku: S0
│       customSubDomainName: sai-dev-ai
│       disableLocalAuth: false
│       publicNetworkAccess: Enabled
│       restrictOutboundNetworkAccess: true
│       identity: SystemAssigned
│       depends on: sai-dev-rg
├── keyvault:Vault sai-dev-kv
│   │   enableRbacAuthorization: true
│   │   enableSoftDelete: true
│   │   softDeleteRetentionInDays: 90
│   │   enablePurgeProtection: true
│   │   enabledForDeployment: false
│   │   enabledForTemplateDeployment: false
│   │   enabledForDiskEncryption: false
│   │   publicNetworkAccess: Enabled
│   │   accessPolicies: (not set)
│   │   depends on: sai-dev-rg
│   └── keyvault:Secret ai-api-key
│       │   secretName: ai-api-key
│       │   contentType: text/plain; azure-ai-key
│       │   expires: 2027-01-01T00:00:00Z
│       │   enabled: true
│       │   depends on: sai-dev-ai
│       └── authorization:RoleAssignment sai-dev-web-reads-ai-api-key
│               role: Key Vault Secrets User
│               scope: sai-dev-rg: vaults/sai-dev-kv/secrets/ai-api-key
│               principalType: ServicePrincipal
│               depends on: sai-dev-web
└── web:WebApp sai-dev-web
    │   httpsOnly: true
    │   minTlsVersion: 1.2
    │   scmMinTlsVersion: 1.2
    │   ftpsState: Disabled
    │   remoteDebuggingEnabled: false
    │   identity: SystemAssigned
    │   keyVaultReferenceIdentity: (not set)
    │   depends on: sai-dev-rg
    └── web:WebAppApplicationSettings sai-dev-web-settings
            keyVaultReferences: AZURE_OPENAI_API_KEY
            otherSettings: AZURE_OPENAI_ENDPOINT
            depends on: ai-api-key, sai-dev-web-reads-ai-api-key

RBAC grants (1)
  sai-dev-web -> Key Vault Secrets User -> sai-dev-rg: vaults/sai-dev-kv/secrets/ai-api-key

Violations (2)
  [mandatory] key-vault-uses-rbac on sai-dev-kv
      Key Vault 'sai-dev-kv' uses access policies | not RBAC
      remediation: set properties.enableRbacAuthorization to true
  [advisory] ai-account-disables-public-network on sai-dev-ai
      publicNetworkAccess is <Enabled>

Stack outputs
  endpoint: https://sai-dev-ai.openai.azure.com/
  vaultUri: (known after apply)

Verdict: FAIL (mandatory violations: 1, advisory: 1)
"""


def test_verdict_passes_when_only_advisory_violations_remain() -> None:
    document = report(DEV_PLAN, [ADVISORY])
    assert document["verdict"] == "pass"
    assert document["summary"]["violations"] == {"mandatory": 0, "advisory": 1}
    assert render(DEV_PLAN, [], "text").endswith(
        "Verdict: PASS (mandatory violations: 0, advisory: 0)\n"
    )


def test_summary_counts_resources_by_type() -> None:
    summary = report(DEV_PLAN, [])["summary"]
    assert summary["byType"] == {
        ROLE_ASSIGNMENT_TYPE: 1,
        AI_ACCOUNT_TYPE: 1,
        SECRET_TYPE: 1,
        VAULT_TYPE: 1,
        "azure-native:resources:ResourceGroup": 1,
        WEB_APP_TYPE: 1,
        "azure-native:web:WebAppApplicationSettings": 1,
        "secure-azure-ai:index:SecureAi": 1,
    }
    assert list(summary["byType"]) == sorted(summary["byType"])
    assert summary["resources"] == 8
    assert summary["grants"] == 1


def test_grant_names_the_app_the_role_and_the_secret_it_is_scoped_to() -> None:
    (grant,) = report(DEV_PLAN, [])["grants"]
    assert grant == {
        "principal": "sai-dev-web",
        "role": "Key Vault Secrets User",
        "scope": SECRET_ID,
        "scopeShort": "sai-dev-rg: vaults/sai-dev-kv/secrets/ai-api-key",
        "scopeResource": SECRET.urn,
        "urn": APP_READS_SECRET.urn,
    }


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        (RG_ID, "sai-dev-rg (resource group)"),
        (f"/subscriptions/{SUB}", f"subscription {SUB}"),
        (ACCOUNT_ID + "/", "sai-dev-rg: accounts/sai-dev-ai"),
        (f"/subscriptions/{SUB}/providers/Microsoft.Foo/bars/x", "bars/x"),
        (UNKNOWN, "(known after apply)"),
        ("", "(known after apply)"),
        ("not-an-arm-id", "not-an-arm-id"),
    ],
)
def test_short_scope(scope: str, expected: str) -> None:
    assert short_scope(scope) == expected


def test_unknown_principal_keeps_its_id_and_draws_no_app_node() -> None:
    deployer = resource(
        ROLE_ASSIGNMENT_TYPE,
        "deployer-writes-secrets",
        {
            "principalId": "99999999-8888-7777-6666-555555555555",
            "roleDefinitionId": role_definition_id(SUB, KEY_VAULT_SECRETS_OFFICER),
            "scope": VAULT_ID,
        },
    )
    document = report(Plan("p", "s", [VAULT, deployer]), [])
    assert [(g["principal"], g["role"]) for g in document["grants"]] == [
        ("99999999-8888-7777-6666-555555555555", "Key Vault Secrets Officer")
    ]
    assert document["flow"] == {"mode": "none", "nodes": [], "edges": []}


# -- never a secret ------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["text", "markdown", "json"])
def test_no_format_shows_a_secret_value(fmt: str) -> None:
    wrapped = resource(
        SECRET_TYPE,
        "wrapped",
        {"properties": {"contentType": secret(SECRET_VALUE), "value": secret(SECRET_VALUE)}},
    )
    plan = Plan("p", "dev", [*DEV_PLAN.resources, wrapped], outputs={"key": secret(SECRET_VALUE)})
    out = render(plan, [], fmt)
    assert SECRET_VALUE not in out
    assert "[secret]" in out


def test_a_grant_with_secret_inputs_shows_only_markers() -> None:
    hidden = resource(
        ROLE_ASSIGNMENT_TYPE,
        "hidden-grant",
        {
            "principalId": secret(SECRET_VALUE),
            "roleDefinitionId": secret(role_definition_id(SUB, KEY_VAULT_SECRETS_USER)),
            "scope": secret(SECRET_ID + SECRET_VALUE),
        },
    )
    plan = Plan("p", "s", [hidden])
    (grant,) = report(plan, [])["grants"]
    assert {k: grant[k] for k in ("principal", "role", "scope", "scopeShort")} == dict.fromkeys(
        ("principal", "role", "scope", "scopeShort"), "[secret]"
    )
    for fmt in ("text", "markdown", "json"):
        assert SECRET_VALUE not in render(plan, [], fmt)


def test_secret_wrapped_and_unknown_inputs_read_as_markers() -> None:
    vault = resource(
        VAULT_TYPE,
        "kv",
        {"properties": secret({"enableRbacAuthorization": True, "enableSoftDelete": UNKNOWN})},
    )
    app = resource(WEB_APP_TYPE, "web", {"httpsOnly": UNKNOWN, "siteConfig": UNKNOWN})
    by_name = {
        r["name"]: r["properties"] for r in report(Plan("p", "s", [vault, app]), [])["resources"]
    }
    assert set(by_name["kv"].values()) == {"[secret]"}
    assert by_name["web"]["httpsOnly"] == "(known after apply)"
    assert by_name["web"]["minTlsVersion"] is None  # inside an unknown object: nothing to read


def test_app_settings_report_names_never_values() -> None:
    settings = report(DEV_PLAN, [])["resources"]
    (entry,) = [r for r in settings if r["name"] == "sai-dev-web-settings"]
    assert entry["properties"] == {
        "keyVaultReferences": ["AZURE_OPENAI_API_KEY"],
        "otherSettings": ["AZURE_OPENAI_ENDPOINT"],
    }
    assert "@Microsoft.KeyVault" not in render(DEV_PLAN, [], "markdown")


def test_unlisted_types_show_no_properties() -> None:
    dynamic = resource("random:index:RandomString", "suffix", {"length": 6, "special": False})
    (entry,) = report(Plan("p", "s", [dynamic]), [])["resources"]
    assert entry["properties"] == {}


def test_key_copy_resource_shows_its_settings_never_its_provider() -> None:
    key_copy = resource(
        "pulumi-python:dynamic:Resource",
        "ai-api-key-copy",
        {
            "__provider": "serialized-provider-" + SECRET_VALUE,
            "secret_name": "ai-api-key",
            "vault_uri": "https://sai-dev-kv.vault.azure.net/",
            "rotation_period_days": 90,
            "consumers": [APP_ID],
            "account_id": ACCOUNT_ID,
        },
    )
    plan = Plan("p", "s", [key_copy])
    (entry,) = report(plan, [])["resources"]
    assert entry["properties"] == {
        "secret_name": "ai-api-key",
        "vault_uri": "https://sai-dev-kv.vault.azure.net/",
        "rotation_period_days": 90,
        "consumers": ["sai-dev-web"],
    }
    for fmt in ("text", "markdown", "json"):
        assert SECRET_VALUE not in render(plan, [], fmt)


# -- determinism ---------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["text", "markdown", "json"])
def test_report_does_not_depend_on_registration_or_violation_order(fmt: str) -> None:
    shuffled = Plan(DEV_PLAN.project, DEV_PLAN.stack, list(reversed(DEV_PLAN.resources)))
    shuffled.outputs = dict(reversed(list(DEV_PLAN.outputs.items())))
    assert render(DEV_PLAN, [ADVISORY, RBAC_VIOLATION], fmt) == render(
        shuffled, [RBAC_VIOLATION, ADVISORY], fmt
    )


def test_unknown_format_is_a_one_line_error() -> None:
    with pytest.raises(
        ValueError, match=r"^report format 'html' is not one of: text, markdown, json$"
    ):
        render(DEV_PLAN, [], "html")


# -- JSON ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("violations", [[], [ADVISORY, RBAC_VIOLATION]])
def test_json_report_validates_against_the_schema(violations: list[Violation]) -> None:
    for plan in (DEV_PLAN, keyless_plan()):
        document = json.loads(render(plan, violations, "json"))
        jsonschema.Draft202012Validator(SCHEMA).validate(document)
        assert document["version"] == 1


def test_schema_rejects_a_report_without_version_or_with_a_bad_verdict() -> None:
    validator = jsonschema.Draft202012Validator(SCHEMA)
    document = report(DEV_PLAN, [])
    assert validator.is_valid(document)
    assert not validator.is_valid({k: v for k, v in document.items() if k != "version"})
    assert not validator.is_valid({**document, "verdict": "maybe"})


def test_schema_is_a_valid_draft_2020_12_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"


# -- Markdown ------------------------------------------------------------------------------------


def test_markdown_starts_with_the_stack_marker_and_the_verdict() -> None:
    md = render(DEV_PLAN, [RBAC_VIOLATION], "markdown")
    lines = md.splitlines()
    assert lines[0] == marker("dev") == "<!-- secure-azure-ai-preflight:dev -->"
    assert lines[3].startswith(
        "**Policy verdict: ❌ FAIL** · mandatory violations: 1 · advisory: 0 · resources: 8"
    )


def test_markdown_table_cells_cannot_break_the_table_or_inject_html() -> None:
    md = render(DEV_PLAN, [RBAC_VIOLATION, ADVISORY], "markdown")
    assert (
        "| `key-vault-uses-rbac` | mandatory | sai-dev-kv | "
        "Key Vault 'sai-dev-kv' uses access policies \\| not RBAC | "
        "set properties.enableRbacAuthorization to true |"
    ) in md
    assert "publicNetworkAccess is &lt;Enabled&gt;" in md


def test_markdown_grants_table() -> None:
    md = render(DEV_PLAN, [], "markdown")
    assert (
        "| Principal | Role | Scope |\n|---|---|---|\n"
        "| sai-dev-web | Key Vault Secrets User | "
        "sai-dev-rg: vaults/sai-dev-kv/secrets/ai-api-key |\n"
    ) in md


def mermaid_block(md: str) -> str:
    (block,) = re.findall(r"```mermaid\n(.*?)\n```", md, flags=re.DOTALL)
    return block


def test_key_vault_flow_goes_app_identity_secret_account() -> None:
    block = mermaid_block(render(DEV_PLAN, [], "markdown"))
    assert block == (
        "flowchart LR\n"
        '    n0{{"AI account sai-dev-ai"}}\n'
        '    n1["WebApp sai-dev-web"]\n'
        '    n2(["managed identity of sai-dev-web"])\n'
        '    n3[("secret ai-api-key in vault sai-dev-kv")]\n'
        '    n1 -->|"runs as"| n2\n'
        '    n2 -->|"Key Vault Secrets User"| n3\n'
        '    n3 -->|"holds the API key of"| n0'
    )
    assert_mermaid_parses(block)


def test_keyless_flow_goes_app_identity_account_with_openai_user() -> None:
    document = report(keyless_plan(), [])
    assert document["flow"]["mode"] == "keyless"
    block = mermaid_block(render(keyless_plan(), [], "markdown"))
    assert '    n2 -->|"Cognitive Services OpenAI User"| n0' in block.splitlines()
    assert "secret" not in block
    assert_mermaid_parses(block)


def test_mermaid_labels_escape_quotes() -> None:
    app = resource(WEB_APP_TYPE, 'we"b', {}, outputs={"identity": {"principalId": APP_PRINCIPAL}})
    plan = Plan("p", "s", [app, APP_READS_SECRET, SECRET, ACCOUNT])
    block = mermaid_block(render(plan, [], "markdown"))
    assert 'n1["WebApp we#quot;b"]' in block
    assert_mermaid_parses(block)


def test_two_apps_reading_one_secret_share_its_node_and_its_edge_to_the_account() -> None:
    second_principal = "22222222-3333-4444-5555-666666666666"
    api = resource(
        WEB_APP_TYPE, "sai-dev-api", {}, outputs={"identity": {"principalId": second_principal}}
    )
    api_reads = resource(
        ROLE_ASSIGNMENT_TYPE,
        "sai-dev-api-reads-ai-api-key",
        {**APP_READS_SECRET.inputs, "principalId": second_principal},
    )
    flow = report(Plan("p", "s", [*DEV_PLAN.resources, api, api_reads]), [])["flow"]
    labels = {n["id"]: n["label"] for n in flow["nodes"]}
    assert sorted((labels[e["from"]], e["label"], labels[e["to"]]) for e in flow["edges"]) == [
        ("WebApp sai-dev-api", "runs as", "managed identity of sai-dev-api"),
        ("WebApp sai-dev-web", "runs as", "managed identity of sai-dev-web"),
        (
            "managed identity of sai-dev-api",
            "Key Vault Secrets User",
            "secret ai-api-key in vault sai-dev-kv",
        ),
        (
            "managed identity of sai-dev-web",
            "Key Vault Secrets User",
            "secret ai-api-key in vault sai-dev-kv",
        ),
        ("secret ai-api-key in vault sai-dev-kv", "holds the API key of", "AI account sai-dev-ai"),
    ]


def test_a_backtick_run_in_a_value_cannot_close_the_tree_fence() -> None:
    group = resource("azure-native:resources:ResourceGroup", "rg", {"location": "a```b````c"})
    md = render(Plan("p", "s", [group]), [], "markdown")
    assert "\n`````text\nresources:ResourceGroup rg\n    location: a```b````c\n`````\n" in md


# A structural reading of the subset of Mermaid flowchart syntax the renderer writes.
_NODE = re.compile(
    r'^(?P<id>n\d+)(?P<shape>\["|\(\["|\[\("|\{\{"|\[\["|\(\("|\[/"|\[\\")(?P<label>[^"]*)'
    r'(?P<end>"\]|"\]\)|"\)\]|"\}\}|"\]\]|"\)\)|"/\]|"\\\])$'
)
_EDGE = re.compile(r'^(?P<src>n\d+) -->\|"(?P<label>[^"]*)"\| (?P<dst>n\d+)$')
_PAIRS = {
    '["': '"]',
    '(["': '"])',
    '[("': '")]',
    '{{"': '"}}',
    '[["': '"]]',
    '(("': '"))',
    '[/"': '"/]',
    '[\\"': '"\\]',
}


def assert_mermaid_parses(block: str) -> None:
    """Header, then node declarations, then edges between declared nodes; brackets balanced."""
    lines = block.splitlines()
    assert lines[0] == "flowchart LR"
    declared: set[str] = set()
    seen_edge = False
    for line in lines[1:]:
        assert line.startswith("    "), line
        body = line.strip()
        node, edge = _NODE.match(body), _EDGE.match(body)
        assert node or edge, f"not a node or an edge: {body}"
        if node:
            assert not seen_edge, "node declared after the edges"
            assert node["id"] not in declared, f"node {node['id']} declared twice"
            assert _PAIRS[node["shape"]] == node["end"], f"unbalanced brackets: {body}"
            declared.add(node["id"])
        else:
            seen_edge = True
            assert {edge["src"], edge["dst"]} <= declared, f"edge uses an undeclared node: {body}"
        stack: list[str] = []
        for char in re.sub(r'"[^"]*"', '""', body):
            if char in "([{":
                stack.append(char)
            elif char in ")]}":
                assert stack and "([{"[")]}".index(char)] == stack.pop(), f"unbalanced: {body}"
        assert not stack, f"unbalanced: {body}"
    assert seen_edge


def test_mermaid_checker_rejects_broken_diagrams() -> None:
    good = 'flowchart LR\n    n0["a"]\n    n1["b"]\n    n0 -->|"x"| n1'
    assert_mermaid_parses(good)
    for broken in (
        good.replace('    n1["b"]\n', ""),  # edge to an undeclared node
        good.replace('n1["b"]', 'n1["b"'),  # unbalanced
        good.replace("-->|", "->|"),  # bad edge syntax
        good.replace("flowchart LR", "graph"),
    ):
        with pytest.raises(AssertionError):
            assert_mermaid_parses(broken)
