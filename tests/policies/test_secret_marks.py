"""Secret-marked values in places no secret may sit: found offline, where the marker is kept.

Under the engine, pulumi-policy unwraps secrets before a policy runs (pulumi_policy/deserialize.py
``_deserialize_property``), so these are the offline preview's own findings; they carry the name
of the policy that owns the place and follow its level and allow-lists.
"""

from __future__ import annotations

import pytest

from preflight.evaluate import evaluate
from tests.policies.fixtures import (
    KV_REFERENCE,
    SETTINGS_URN,
    SITE_URN,
    VAULT_URN,
    changed,
    found_levels,
    good_resources,
    plan_of,
    secret,
)

ROOT_STACK = "urn:pulumi:dev::secure-azure-ai::pulumi:pulumi:Stack::secure-azure-ai-dev"
# Looks like nothing: only the secret marker says it is one.
PLAIN_LOOKING = "blue-harbour-42"


def test_a_secret_marked_neutral_setting_fails_and_a_marked_reference_passes() -> None:
    resources = changed(
        good_resources(),
        "settings",
        lambda p: p["properties"].update(
            MODEL_OPTION=secret(PLAIN_LOOKING), AZURE_AI_KEY=secret(KV_REFERENCE)
        ),
    )
    violations = evaluate(plan_of(resources))
    assert {(v.policy, v.enforcement, v.urn) for v in violations} == {
        ("app-settings-use-key-vault-references", "mandatory", SETTINGS_URN)
    }
    assert violations[0].message.startswith("properties.MODEL_OPTION (setting 'MODEL_OPTION')")
    assert PLAIN_LOOKING not in violations[0].message


@pytest.mark.parametrize(
    ("name", "edit", "urn"),
    [
        ("kv", lambda p: p.update(tags={"owner": secret(PLAIN_LOOKING)}), VAULT_URN),
        (
            "site",
            lambda p: p["siteConfig"]["appSettings"].append(
                {"name": "WORKER_MODE", "value": secret(PLAIN_LOOKING)}
            ),
            SITE_URN,
        ),
    ],
    ids=["tag", "site-config-setting"],
)
def test_secret_marked_values_in_tags_and_site_settings_fail(name, edit, urn) -> None:
    policy = "no-hardcoded-secrets" if name == "kv" else "app-settings-use-key-vault-references"
    assert found_levels(changed(good_resources(), name, edit)) == {(policy, "mandatory", urn)}


def test_a_secret_marked_stack_output_fails_once() -> None:
    plan = plan_of(good_resources())
    plan.outputs = {"token": secret(PLAIN_LOOKING), "endpoint": "https://ai-test.openai.azure.com/"}
    assert {(v.policy, v.urn) for v in evaluate(plan)} == {
        ("stack-outputs-hold-no-credential", ROOT_STACK)
    }


def test_the_owning_policys_level_and_allow_list_apply() -> None:
    resources = changed(
        good_resources(), "settings", lambda p: p["properties"].update(MODEL_OPTION=secret("x1"))
    )
    policy = "app-settings-use-key-vault-references"
    assert found_levels(resources, {policy: "advisory"}) == {(policy, "advisory", SETTINGS_URN)}
    assert found_levels(resources, {policy: "disabled"}) == set()
    allowed = {policy: {"allowedSettingNames": ["MODEL_OPTION"]}}
    assert found_levels(resources, allowed) == set()
