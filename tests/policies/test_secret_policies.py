"""no-hardcoded-secrets and app-settings-use-key-vault-references, at every depth and position."""

from __future__ import annotations

import json
import secrets

import pytest

from preflight.evaluate import evaluate
from preflight.model import UNKNOWN
from tests.policies.fixtures import (
    KV_REFERENCE,
    SECRET_URN,
    SETTINGS_URN,
    SITE_URN,
    changed,
    found,
    found_levels,
    good_resources,
    plan_of,
    resource,
    secret,
    synthetic_hex_key,
)

BOTH = {"no-hardcoded-secrets", "app-settings-use-key-vault-references"}


def _storage_connection_string() -> str:
    key = secrets.token_urlsafe(64).replace("-", "+").replace("_", "/")[:86] + "=="
    return (
        "DefaultEndpointsProtocol=https;AccountName=sttest;"
        f"AccountKey={key};EndpointSuffix=core.windows.net"
    )


def _settings(edit):
    return changed(good_resources(), "settings", lambda p: edit(p["properties"]))


def test_the_secret_home_may_hold_a_key() -> None:
    # The fixture's Key Vault secret holds a synthetic key in properties.value: allowed there.
    assert found(good_resources()) == set()


def test_a_key_in_a_secret_resource_outside_its_value_fails() -> None:
    resources = changed(
        good_resources(), "ai-key", lambda p: p.update(tags={"backup": synthetic_hex_key()})
    )
    assert found(resources) == {("no-hardcoded-secrets", SECRET_URN)}


@pytest.mark.parametrize("wrap", [lambda v: v, secret], ids=["plain", "secret-marked"])
def test_a_key_in_separate_app_settings_fails_both_policies(wrap) -> None:
    resources = _settings(lambda p: p.update(OPENAI_API_KEY=wrap(synthetic_hex_key())))
    assert found(resources) == {(policy, SETTINGS_URN) for policy in BOTH}


def test_a_key_under_a_neutral_name_in_site_config_fails() -> None:
    def edit(p):
        p["siteConfig"]["appSettings"].append(
            {"name": "MODEL_OPTION", "value": synthetic_hex_key()}
        )

    assert found(changed(good_resources(), "site", edit)) == {(policy, SITE_URN) for policy in BOTH}


def test_a_connection_string_with_an_account_key_fails() -> None:
    def edit(p):
        p["siteConfig"]["connectionStrings"] = [
            {"name": "Storage", "connectionString": _storage_connection_string(), "type": "Custom"}
        ]

    assert found(changed(good_resources(), "site", edit)) == {(policy, SITE_URN) for policy in BOTH}


def test_web_app_connection_strings_resource_is_covered() -> None:
    strings = resource(
        "azure-native:web:WebAppConnectionStringsSlot",
        "conn",
        {
            "name": "web-test",
            "slot": "staging",
            "resourceGroupName": "rg-test",
            "properties": {"Storage": {"value": _storage_connection_string(), "type": "Custom"}},
        },
    )
    assert found([*good_resources(), strings]) == {(policy, strings.urn) for policy in BOTH}


def test_a_credential_named_setting_with_a_weak_value_must_be_a_reference() -> None:
    # Not key-shaped, so the engine does not call it a secret; the name still says credential.
    resources = _settings(lambda p: p.update(DB_PASSWORD="letmein"))
    violations = evaluate(plan_of(resources))
    assert {(v.policy, v.urn) for v in violations} == {
        ("app-settings-use-key-vault-references", SETTINGS_URN)
    }
    assert "letmein" not in violations[0].message
    assert violations[0].message.startswith("properties.DB_PASSWORD (setting 'DB_PASSWORD')")


def test_identity_based_connections_pass_and_a_key_beside_them_does_not() -> None:
    # `<prefix>__credential: managedidentity` declares an identity, not a secret (Functions'
    # identity-based host storage); any other value under that name is still a credential.
    resources = _settings(
        lambda p: p.update(
            AzureWebJobsStorage__accountName="sttest",
            AzureWebJobsStorage__credential="managedidentity",
            Queue__credential="ManagedIdentity",
        )
    )
    assert found(resources) == set()
    leaky = _settings(lambda p: p.update(AzureWebJobsStorage__credential="letmein-2024"))
    assert found(leaky) == {("app-settings-use-key-vault-references", SETTINGS_URN)}


def test_an_application_insights_connection_string_is_not_a_credential() -> None:
    # Microsoft: the instrumentation key is not a security token. A password added to the same
    # string makes it one.
    insights = (
        "InstrumentationKey=00000000-0000-4000-8000-0000000000f1;"
        "IngestionEndpoint=https://westeurope-5.in.applicationinsights.azure.com/;"
        "LiveEndpoint=https://westeurope.livediagnostics.monitor.azure.com/"
    )
    resources = _settings(lambda p: p.update(APPLICATIONINSIGHTS_CONNECTION_STRING=insights))
    assert found(resources) == set()
    leaky = _settings(
        lambda p: p.update(
            APPLICATIONINSIGHTS_CONNECTION_STRING=";".join([insights, "Pass" + "word=" + "s3cr3t!"])
        )
    )
    assert ("app-settings-use-key-vault-references", SETTINGS_URN) in found(leaky)


def test_references_and_allow_listed_names_pass() -> None:
    resources = _settings(
        lambda p: p.update(
            DB_PASSWORD=KV_REFERENCE,
            API_TOKEN="@Microsoft.AppConfiguration(Endpoint=https://cfg-1.azconfig.io; Key=token)",
            LEGACY_SECRET="letmein",
        )
    )
    config = {"app-settings-use-key-vault-references": {"allowedSettingNames": ["LEGACY_SECRET"]}}
    assert found(resources, config) == set()


def test_messages_name_the_path_and_mask_the_key() -> None:
    key = synthetic_hex_key()
    violations = evaluate(plan_of(_settings(lambda p: p.update(OPENAI_API_KEY=key))))
    assert len(violations) == 2
    for violation in violations:
        assert key not in violation.message
        assert key[:4] + "…" in violation.message or key[:4] in violation.message
        assert "properties.OPENAI_API_KEY" in violation.message
        assert violation.remediation


@pytest.mark.parametrize(
    "tags",
    [
        lambda k: {"note": k},
        lambda k: {"config": json.dumps({"db": {"password": k}})},
        lambda k: {"config": json.dumps([{"name": "API_KEY", "value": k}])},
    ],
    ids=["tag", "json-in-tag", "json-list-in-tag"],
)
def test_a_key_in_a_tag_at_any_depth_fails_once(tags) -> None:
    resources = changed(good_resources(), "kv", lambda p: p.update(tags=tags(synthetic_hex_key())))
    from tests.policies.fixtures import VAULT_URN

    assert found(resources) == {("no-hardcoded-secrets", VAULT_URN)}


def test_a_json_path_is_reported() -> None:
    resources = changed(
        good_resources(),
        "kv",
        lambda p: p.update(tags={"config": json.dumps({"db": {"password": synthetic_hex_key()}})}),
    )
    (violation,) = evaluate(plan_of(resources))
    assert violation.message.startswith(
        "tags.config.<json>.db.password holds a hardcoded credential"
    )


def test_a_container_env_value_and_command_argument_fail() -> None:
    group = resource(
        "azure-native:containerinstance:ContainerGroup",
        "aci",
        {
            "containers": [
                {
                    "name": "worker",
                    "image": "example.azurecr.io/worker:1",
                    "command": ["python", "-m", "worker", "--api-key", synthetic_hex_key()],
                    "environmentVariables": [
                        {"name": "SETTING_A", "secureValue": synthetic_hex_key()}
                    ],
                }
            ]
        },
    )
    violations = evaluate(plan_of([*good_resources(), group]))
    assert {(v.policy, v.urn) for v in violations} == {("no-hardcoded-secrets", group.urn)}
    assert sorted(v.message.split(" ")[0] for v in violations) == [
        "containers[0].command[4]",
        "containers[0].environmentVariables[0].secureValue",
    ]


def test_a_dynamic_provider_blob_is_not_a_finding() -> None:
    blob = secrets.token_urlsafe(600)
    dynamic = resource(
        "pulumi-python:dynamic:Resource", "dyn", {"__provider": blob, "secret_name": "x"}
    )
    assert found([*good_resources(), dynamic]) == set()
    leaky = resource(
        "pulumi-python:dynamic:Resource", "leaky", {"__provider": blob, "key": synthetic_hex_key()}
    )
    assert found([*good_resources(), leaky]) == {("no-hardcoded-secrets", leaky.urn)}


def test_a_key_in_a_provider_configuration_fails() -> None:
    provider = resource(
        "pulumi:providers:azure-native",
        "default",
        {
            "clientSecret": f"abc8Q~{secrets.token_urlsafe(24)[:31]}",
            "clientId": "00000000-0000-4000-8000-000000000009",
        },
    )
    assert ("no-hardcoded-secrets", provider.urn) in found([*good_resources(), provider])


def test_allowed_paths_are_skipped_by_exact_match() -> None:
    resources = changed(
        good_resources(), "kv", lambda p: p.update(tags={"note": synthetic_hex_key()})
    )
    assert found(resources, {"no-hardcoded-secrets": {"allowedPaths": ["tags.note"]}}) == set()
    assert found(resources, {"no-hardcoded-secrets": {"allowedPaths": ["tags"]}}) != set()


def test_an_unknown_setting_value_is_cannot_check_yet() -> None:
    resources = _settings(lambda p: p.update(AZURE_AI_KEY=UNKNOWN))
    assert found_levels(resources) == {
        ("no-hardcoded-secrets", "advisory", SETTINGS_URN),
        ("app-settings-use-key-vault-references", "advisory", SETTINGS_URN),
        ("web-app-can-read-its-key-vault-references", "advisory", None),
    }


def test_a_password_in_deployment_parameters_is_judged_by_its_parameter_name() -> None:
    # Weak and not key-shaped: only the parameter's name ("adminPassword") says credential.
    deployment = resource(
        "azure-native:resources:Deployment",
        "arm",
        {
            "properties": {
                "mode": "Incremental",
                "parameters": {"adminPassword": {"value": "Tr0ub4dor&3x"}},
            }
        },
    )
    violations = evaluate(plan_of([*good_resources(), deployment]))
    assert [(v.policy, v.urn) for v in violations] == [("no-hardcoded-secrets", deployment.urn)]
    assert violations[0].message.startswith("properties.parameters.adminPassword.value holds")
    assert "Tr0ub4dor&3x" not in violations[0].message


STATE = "key-vault-secret-value-stays-out-of-state"
OUTPUTS = "stack-outputs-hold-no-credential"
ROOT_STACK = "urn:pulumi:dev::secure-azure-ai::pulumi:pulumi:Stack::secure-azure-ai-dev"


@pytest.mark.parametrize("wrap", [lambda v: v, secret], ids=["plain", "secret-marked"])
def test_a_key_written_into_a_secret_lands_in_state_and_fails(wrap) -> None:
    key = synthetic_hex_key()
    resources = changed(
        good_resources(), "ai-key", lambda p: p["properties"].update(value=wrap(key))
    )
    violations = evaluate(plan_of(resources))
    assert {(v.policy, v.enforcement, v.urn) for v in violations} == {
        (STATE, "mandatory", SECRET_URN)
    }
    assert key not in violations[0].message


def test_a_secret_value_not_known_yet_cannot_be_checked() -> None:
    resources = changed(good_resources(), "ai-key", lambda p: p["properties"].update(value=UNKNOWN))
    assert found_levels(resources) == {(STATE, "advisory", SECRET_URN)}


def _with_outputs(outputs: dict) -> set:
    plan = plan_of(good_resources())
    plan.outputs = outputs
    return {(v.policy, v.enforcement, v.urn) for v in evaluate(plan)}


@pytest.mark.parametrize(
    "outputs",
    [
        lambda k: {"apiKey": k},
        lambda k: {"apiKey": secret(k)},
        lambda k: {"app": {"settings": json.dumps({"key": k})}},
        lambda k: {"keys": [k[:4], k]},
    ],
    ids=["plain", "secret-marked", "json-in-a-map", "in-a-list"],
)
def test_a_credential_in_a_stack_output_fails_on_the_stack(outputs) -> None:
    assert _with_outputs(outputs(synthetic_hex_key())) == {(OUTPUTS, "mandatory", ROOT_STACK)}


@pytest.mark.parametrize(
    "name", ["containerIPv4Address", "lb-ip", "Minecraft Server IP Address", "public_ip"]
)
def test_an_address_output_not_known_yet_is_not_a_cannot_check(name) -> None:
    # Public programs export a public IP that Azure assigns on create: unknown in a preview,
    # and an address never carries a credential.
    assert _with_outputs({name: UNKNOWN}) == set()


def test_an_output_that_could_hold_a_credential_is_still_a_cannot_check() -> None:
    assert _with_outputs({"adminPassword": UNKNOWN}) == {(OUTPUTS, "advisory", None)}


def test_outputs_that_say_where_the_key_lives_pass() -> None:
    outputs = {
        "secretUri": "https://kv-test.vault.azure.net/secrets/ai-api-key",
        "secretId": f"{SECRET_URN}",
        "principalId": "00000000-0000-4000-8000-0000000000b1",
        "aiEndpoint": UNKNOWN,
    }
    assert _with_outputs(outputs) == set()
