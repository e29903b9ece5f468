"""preflight.evaluate: the engine's code path, policy config, and the public-API fallback."""

from __future__ import annotations

import importlib
import pkgutil

import jsonschema
import pytest
from pulumi_policy import policy as policy_sdk

import policies.rules
from policies.pack import POLICIES
from preflight.evaluate import PolicyConfigError, evaluate
from preflight.model import UNKNOWN
from tests.policies.fixtures import (
    SITE_URN,
    changed,
    found,
    found_levels,
    good_resources,
    plan_of,
    synthetic_hex_key,
)


def _bad_site():
    def edit(p):
        p["httpsOnly"] = False
        p["siteConfig"]["ftpsState"] = "AllAllowed"

    return changed(good_resources(), "site", edit)


def test_enforcement_levels_come_from_config() -> None:
    config = {
        "web-app-https-only": "advisory",
        "web-app-disables-ftp": {"enforcementLevel": "disabled"},
    }
    assert found_levels(_bad_site(), config) == {("web-app-https-only", "advisory", SITE_URN)}


def test_all_sets_every_level_and_a_named_policy_overrides_it() -> None:
    config = {"all": "advisory", "web-app-disables-ftp": "mandatory"}
    assert found_levels(_bad_site(), config) == {
        ("web-app-https-only", "advisory", SITE_URN),
        ("web-app-disables-ftp", "mandatory", SITE_URN),
    }
    assert found(_bad_site(), {"all": "disabled"}) == set()


def test_settings_without_a_level_keep_the_policy_default() -> None:
    config = {"web-app-disables-ftp": {"allowedFtpsStates": ["Disabled"]}}
    assert found_levels(_bad_site(), config) == {
        ("web-app-https-only", "mandatory", SITE_URN),
        ("web-app-disables-ftp", "mandatory", SITE_URN),
    }


@pytest.mark.parametrize("key", ["site", SITE_URN])
def test_a_resource_is_exempted_by_exact_name_or_urn(key: str) -> None:
    config = {"web-app-https-only": {"exemptResources": [key]}}
    assert found(_bad_site(), config) == {("web-app-disables-ftp", SITE_URN)}
    assert found(_bad_site(), {"web-app-https-only": {"exemptResources": ["sit"]}}) == {
        ("web-app-https-only", SITE_URN),
        ("web-app-disables-ftp", SITE_URN),
    }


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            {"web-app-https-onl": "advisory"},
            "policy config 'web-app-https-onl': no such policy in pack 'secure-azure-ai'",
        ),
        (
            {"web-app-https-only": "strict"},
            "policy config web-app-https-only.enforcementLevel: 'strict' is not one of advisory, "
            "mandatory, remediate, disabled",
        ),
        (
            {"web-app-disables-ftp": {"allowedFtpsStates": "Disabled"}},
            "policy config web-app-disables-ftp.allowedFtpsStates: 'Disabled': 'Disabled' is not "
            "of type 'array'",
        ),
        (
            {"key-vault-has-soft-delete": {"minimumRetentionDays": 3}},
            "policy config key-vault-has-soft-delete.minimumRetentionDays: 3: 3 is less than the "
            "minimum of 7",
        ),
        (
            {"all": {"enforcementLevel": "advisory", "allowedPaths": []}},
            "policy config all: ['allowedPaths']: 'all' takes only an enforcement level",
        ),
        (
            {"web-app-https-only": 2},
            "policy config web-app-https-only.enforcementLevel: 2 is not one of",
        ),
        (
            {"web-app-https-only": {"exemptResources": ["site"], "exempt": ["site"]}},
            "policy config web-app-https-only: ['exempt']: unknown setting (allowed: "
            "enforcementLevel, exemptResources)",
        ),
    ],
)
def test_bad_config_is_one_line_naming_input_value_and_rule(config: dict, message: str) -> None:
    with pytest.raises(PolicyConfigError) as caught:
        evaluate(plan_of(_bad_site()), policy_config=config)
    text = str(caught.value)
    assert "\n" not in text
    assert text.startswith(message)


def test_the_engine_code_path_is_the_analyzer_servicer(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = {"Analyze": 0, "AnalyzeStack": 0}
    real = policy_sdk._PolicyAnalyzerServicer

    class Counting(real):
        def Analyze(self, request, context):
            calls["Analyze"] += 1
            return super().Analyze(request, context)

        def AnalyzeStack(self, request, context):
            calls["AnalyzeStack"] += 1
            return super().AnalyzeStack(request, context)

    monkeypatch.setattr(policy_sdk, "_PolicyAnalyzerServicer", Counting)
    evaluate(plan_of(good_resources()))
    assert calls == {"Analyze": len(good_resources()), "AnalyzeStack": 1}


def _variants():
    yield good_resources()
    yield _bad_site()
    yield changed(
        good_resources(), "kv", lambda p: p["properties"].update(enablePurgeProtection=UNKNOWN)
    )
    yield changed(
        good_resources(), "settings", lambda p: p["properties"].update(X_KEY=synthetic_hex_key())
    )
    yield [r for r in good_resources() if r.name not in ("app-secrets-user", "ftp")]


@pytest.mark.parametrize("index", range(5))
def test_the_public_api_fallback_reports_the_same(
    monkeypatch: pytest.MonkeyPatch, index: int
) -> None:
    resources = list(_variants())[index]
    config = {"web-app-https-only": "advisory"}
    through_servicer = evaluate(plan_of(resources), policy_config=config)
    monkeypatch.delattr(policy_sdk, "_PolicyAnalyzerServicer")
    through_public_api = evaluate(plan_of(resources), policy_config=config)
    assert sorted(through_public_api, key=repr) == sorted(through_servicer, key=repr)


def test_a_violation_carries_the_remediation_and_a_message_without_the_description() -> None:
    (violation,) = evaluate(
        plan_of(changed(good_resources(), "site", lambda p: p.update(httpsOnly=False)))
    )
    assert violation.message == "httpsOnly is false; it must be true"
    assert violation.remediation == "Set httpsOnly=true."
    assert violation.urn == SITE_URN


def test_each_policy_lives_in_the_module_named_after_it() -> None:
    modules = {
        m.name: importlib.import_module(f"policies.rules.{m.name}")
        for m in pkgutil.iter_modules(policies.rules.__path__)
    }
    assert {m.POLICY.name.replace("-", "_") for m in modules.values()} == set(modules)
    assert {name.replace("_", "-") for name in modules} == {p.name for p in POLICIES}
    for name, module in modules.items():
        assert module.POLICY.name == name.replace("_", "-")


def test_each_policy_states_its_controls_and_a_valid_config_schema() -> None:
    for policy in POLICIES:
        assert policy.description.endswith("]"), policy.name
        assert policy.remediation_steps, policy.name
        schema = {"type": "object", "properties": policy.config_schema.properties}
        jsonschema.Draft7Validator.check_schema(schema)


def test_the_analyzer_describes_the_pack_as_the_cli_would_see_it() -> None:
    from policies.pack import DEFAULT_ENFORCEMENT, PACK_NAME
    from preflight.evaluate import pack_version

    servicer = policy_sdk._PolicyAnalyzerServicer(
        PACK_NAME, pack_version(), POLICIES, DEFAULT_ENFORCEMENT
    )
    info = servicer.GetAnalyzerInfo(None, None)
    assert info.name == "secure-azure-ai"
    assert info.version == "0.3.0"
    assert [p.name for p in info.policies] == [p.name for p in POLICIES]
