"""Stack configuration: defaults, derived names, and one exact line per bad value."""

import secrets

import pytest

from components.config import ConfigError, load

CHAT = '[{"name": "chat", "model": "gpt-4o-mini", "version": "2024-07-18", "capacity": 10}]'
LOCATION = {"azure-native:location": "swedencentral", "secure-azure-ai:deployments": CHAT}
SUBSCRIPTION = "00000000-0000-4000-8000-000000000001"


def problems(raw: dict, stack: str = "dev") -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load({**LOCATION, **raw}, stack, SUBSCRIPTION)
    return caught.value.problems


def test_defaults_are_the_strict_ones_and_need_no_argument():
    config = load(LOCATION, "dev", SUBSCRIPTION)
    assert (config.auth_mode, config.ai_kind, config.ai_sku) == ("keyVault", "OpenAI", "S0")
    assert config.key_mode is True
    assert config.rotation_period_days == 90
    assert config.audit_logs is True
    assert config.allowed_ip_ranges == ()
    assert config.secret_name == "ai-api-key"
    assert [app.name for app in config.apps] == ["web"]
    assert [d.name for d in config.deployments] == ["chat"]


def test_derived_names_are_stable_and_distinct_per_stack_and_subscription():
    first = load(LOCATION, "dev", SUBSCRIPTION).names
    again = load(LOCATION, "dev", SUBSCRIPTION).names
    other = load(LOCATION, "prod", SUBSCRIPTION).names
    elsewhere = load(LOCATION, "dev", "11111111-1111-4111-8111-111111111111").names
    assert elsewhere.vault != first.vault and elsewhere.vault.startswith("sai-dev-kv-")
    assert elsewhere.web_apps["web"] != first.web_apps["web"]
    assert first == again
    assert first.vault == "sai-dev-kv-5bc604"
    assert first.web_apps == {"web": "sai-dev-web-5bc604"}
    assert first.ai_subdomain == "sai-dev-ai-5bc604"
    assert other.vault != first.vault and other.vault.startswith("sai-prod-kv-")


def test_structured_values_arrive_as_json_text_like_the_engine_sends_them():
    config = load(
        {
            **LOCATION,
            "secure-azure-ai:apps": '[{"name": "web"}, {"name": "api"}]',
            "secure-azure-ai:rotationPeriodDays": "30",
            "secure-azure-ai:auditLogs": "false",
            "secure-azure-ai:allowedIpRanges": '["203.0.113.0/24"]',
            "secure-azure-ai:deployments": (
                '[{"name": "chat", "model": "gpt-4o-mini", "version": "2024-07-18", '
                '"capacity": 10}]'
            ),
        },
        "dev",
        SUBSCRIPTION,
    )
    assert [a.name for a in config.apps] == ["web", "api"]
    assert config.rotation_period_days == 30
    assert config.audit_logs is False
    assert config.allowed_ip_ranges == ("203.0.113.0/24",)
    assert config.deployments[0].capacity == 10 and config.deployments[0].sku == "Standard"


BAD_CONFIGS = [
    (
        {"secure-azure-ai:prefx": "abc"},
        "config secure-azure-ai:prefx: unknown key; did you mean secure-azure-ai:prefix?",
    ),
    (
        {"secure-azure-ai:rotationPeriodDays": "400"},
        "config secure-azure-ai:rotationPeriodDays: 400 is out of range; the rule is 1 to 365 days",
    ),
    (
        {"secure-azure-ai:rotationPeriodDays": "0"},
        "config secure-azure-ai:rotationPeriodDays: 0 is out of range; the rule is 1 to 365 days",
    ),
    (
        {"secure-azure-ai:rotationPeriodDays": "ninety"},
        "config secure-azure-ai:rotationPeriodDays: 'ninety' is not a whole number of days",
    ),
    (
        {"secure-azure-ai:authMode": "keyvault"},
        "config secure-azure-ai:authMode: 'keyvault' is not one of keyVault, keyless "
        "(did you mean 'keyVault'?)",
    ),
    (
        {"secure-azure-ai:aiKind": "Speech"},
        "config secure-azure-ai:aiKind: 'Speech' is not one of OpenAI, AIServices",
    ),
    (
        {"secure-azure-ai:aiSku": "F0"},
        "config secure-azure-ai:aiSku: 'F0' is not one of S0",
    ),
    (
        {"azure-native:location": "sweden central"},
        "config azure-native:location: 'sweden central' is not an Azure region name like "
        "'swedencentral' (did you mean 'swedencentral'?)",
    ),
    (
        {"secure-azure-ai:prefix": "Sai"},
        "config secure-azure-ai:prefix: 'Sai' breaks the rule: 2-8 lower-case letters or digits, "
        "starting with a letter",
    ),
    (
        {"secure-azure-ai:apps": '[{"name": "web"}, {"name": "web"}]'},
        "config secure-azure-ai:apps: item 1 name 'web' is a duplicate; app names must be unique",
    ),
    (
        {"secure-azure-ai:apps": '[{"nme": "web"}]'},
        "config secure-azure-ai:apps: item 0 has unknown field 'nme' (did you mean 'name'?); "
        "the fields are name",
    ),
    (
        {"secure-azure-ai:apps": "[]"},
        "config secure-azure-ai:apps: [] is empty; the rule is at least one app",
    ),
    (
        {"secure-azure-ai:apps": '{"name": "web"}'},
        'config secure-azure-ai:apps: \'{"name": "web"}\' is not a list',
    ),
    (
        {"secure-azure-ai:auditLogs": "yes"},
        "config secure-azure-ai:auditLogs: 'yes' is not true or false",
    ),
    (
        {"secure-azure-ai:allowedIpRanges": '["10.0.0.0/8"]'},
        "config secure-azure-ai:allowedIpRanges: '10.0.0.0/8' is not a public IPv4 address or "
        "CIDR range",
    ),
    (
        {"secure-azure-ai:secretName": "api_key"},
        "config secure-azure-ai:secretName: 'api_key' breaks the rule: 1-127 letters, digits or "
        "hyphens",
    ),
    (
        {
            "secure-azure-ai:deployments": (
                '[{"name": "chat", "model": "gpt-4o-mini", "version": "1", "capacity": 5000}]'
            )
        },
        "config secure-azure-ai:deployments: item 0: 5000 is out of range; the rule is 1 to 1000 "
        "thousand tokens per minute",
    ),
    (
        {"secure-azure-ai:rotatorPrincipalId": "ci-bot"},
        "config secure-azure-ai:rotatorPrincipalId: 'ci-bot' breaks the rule: an Entra object ID "
        "(a GUID)",
    ),
    (
        {"secure-azure-ai:rotationPeriodDays": "366"},
        "config secure-azure-ai:rotationPeriodDays: 366 is out of range; the rule is 1 to 365 days",
    ),
    (
        {"secure-azure-ai:rotationPeriodDays": "0"},
        "config secure-azure-ai:rotationPeriodDays: 0 is out of range; the rule is 1 to 365 days",
    ),
    (
        {"secure-azure-ai:resourceGroupName": "team-rg."},
        "config secure-azure-ai:resourceGroupName: 'team-rg.' breaks the rule: 1-90 letters, "
        "digits, '-', '_', '.', '(' or ')', not ending with '.'",
    ),
    (
        # "l" breaks the workspace name rule (4-63 characters).
        {
            "secure-azure-ai:logAnalyticsWorkspaceId": f"/subscriptions/{SUBSCRIPTION}/"
            "resourceGroups/ops/providers/Microsoft.OperationalInsights/workspaces/l"
        },
        "config secure-azure-ai:logAnalyticsWorkspaceId: '/subscriptions/00000000-0000-4000-8000-"
        "000000000001/resou...' is not the resource ID of a Log Analytics workspace: must be "
        "/subscriptions/"
        "<subscription GUID>/resourceGroups/<group>/providers/Microsoft.OperationalInsights/"
        "workspaces/<name>",
    ),
    (
        {
            "secure-azure-ai:deployments": (
                '[{"name": "-chat", "model": "gpt-4o-mini", "version": "1", "capacity": 5}]'
            )
        },
        "config secure-azure-ai:deployments: item 0: '-chat' breaks the rule: 1-64 letters, "
        "digits, '.', '_' or '-', starting with a letter or digit",
    ),
    (
        {"secure-azure-ai:deployerPrincipalType": "Robot"},
        "config secure-azure-ai:deployerPrincipalType: 'Robot' is not one of User, "
        "ServicePrincipal, Group",
    ),
    (
        {"secure-azure-ai:authMode": "keyless", "secure-azure-ai:secretName": "ai-key"},
        "config secure-azure-ai:secretName: 'ai-key' is set in keyless mode; the rule is: keyless "
        "stacks hold no key, so no secret name",
    ),
]


@pytest.mark.parametrize(("raw", "message"), BAD_CONFIGS, ids=[m[:50] for _, m in BAD_CONFIGS])
def test_each_bad_value_gets_one_line_naming_key_value_and_rule(raw, message):
    assert problems(raw) == [message]


def test_missing_location_and_deployment_name_the_keys_and_the_fix():
    with pytest.raises(ConfigError) as caught:
        load({}, "dev", SUBSCRIPTION)
    assert caught.value.problems == [
        "config azure-native:location: missing; the rule is an Azure region such as "
        "'swedencentral' (pulumi config set azure-native:location swedencentral)",
        "config secure-azure-ai:deployments: missing; the rule is at least one model deployment "
        "{name, model, version, capacity}: the apps call the first (AZURE_AI_DEPLOYMENT)",
    ]


def test_derived_names_that_break_azure_limits_are_reported_with_the_fix():
    assert problems({"secure-azure-ai:prefix": "abcdefgh"}, stack="production-eu") == [
        "derived Key Vault name 'abcdefgh-production-eu-kv-8b9eee' (32 characters) breaks the "
        "rule: 3-24 letters, digits or single hyphens, starting with a letter, ending with a "
        "letter or digit; shorten secure-azure-ai:prefix or the stack name 'production-eu'"
    ]


def test_every_problem_is_reported_at_once():
    found = problems(
        {
            "secure-azure-ai:authMode": "keys",
            "secure-azure-ai:rotationPeriodDays": "-1",
            "secure-azure-ai:colour": "blue",
        }
    )
    assert [line.split(":")[1] for line in found] == [
        "colour",
        "authMode",
        "rotationPeriodDays",
    ]


def test_the_name_rules_and_period_bounds_are_the_contracts():
    # Azure allows a one-character resource group; the period's bounds and default are the
    # contract's, so a rotation period the rotation engine would refuse is refused here too.
    stack = load({**LOCATION, "secure-azure-ai:resourceGroupName": "a"}, "dev", SUBSCRIPTION)
    assert (stack.resource_group_name, stack.rotation_period_days) == ("a", 90)
    longest = load({**LOCATION, "secure-azure-ai:rotationPeriodDays": "365"}, "dev", SUBSCRIPTION)
    assert longest.rotation_period_days == 365


def test_a_key_typed_where_a_name_belongs_is_not_echoed():
    key = secrets.token_hex(16)  # the shape of an Azure AI key
    assert problems({"secure-azure-ai:prefix": key}) == [
        "config secure-azure-ai:prefix: <32 characters, masked: it looks like a key> breaks the "
        "rule: 2-8 lower-case letters or digits, starting with a letter"
    ]
