"""Reading what to act on from `pulumi stack output --json` and the secret's tags (pure)."""

from __future__ import annotations

import pytest

from catalog.ids import ResourceId
from rotation import target
from rotation.target import Consumer

SUB = "5f1c2a2e-7a43-4c4e-9a55-0c1e2d3f4a5b"
ACCOUNT = (
    f"/subscriptions/{SUB}/resourceGroups/rg-ai/providers/Microsoft.CognitiveServices/accounts/ai-x"
)
SITE = f"/subscriptions/{SUB}/resourceGroups/rg-ai/providers/Microsoft.Web/sites/web-x"


def test_the_stacks_own_outputs_name_every_input_and_both_consumer_kinds():
    outputs = target.parse_stack_outputs(
        {
            "authMode": "keyVault",
            "aiAccountId": ACCOUNT,
            "aiEndpoint": "https://ai-x.openai.azure.com/",
            "vaultUri": "https://kv-x.vault.azure.net/",
            "secretName": "ai-api-key",
            "secretUri": "https://kv-x.vault.azure.net/secrets/ai-api-key",
            "apps": {
                "web": {
                    "siteName": "web-x",
                    "siteId": SITE,
                    "hostName": "web-x.azurewebsites.net",
                    "principalId": "00000000-0000-0000-0000-000000000001",
                }
            },
        }
    )
    assert outputs == target.StackOutputs(
        vault_url="https://kv-x.vault.azure.net",
        secret_name="ai-api-key",
        account_id=ACCOUNT,
        endpoint="https://ai-x.openai.azure.com/",
        deployment=None,
        consumers=(
            Consumer("web", "site", SITE),
            # The health consumer runs on that site: each of its instances is asked.
            Consumer("web", "health", "https://web-x.azurewebsites.net/healthz", SITE),
        ),
    )
    resolved = target.resolve_target(
        vault=outputs.vault_url,
        secret=outputs.secret_name,
        tags={},
        outputs=outputs,
        account_id=None,
        endpoint=None,
        deployment=None,
    )
    assert resolved.account == ResourceId(
        SUB, "rg-ai", "ai-x", "Microsoft.CognitiveServices", "accounts"
    )
    assert (resolved.endpoint, resolved.deployment) == ("https://ai-x.openai.azure.com", "chat")


def test_secret_uri_alone_gives_vault_and_name():
    outputs = target.parse_stack_outputs({"secretUri": "https://kv-x.vault.azure.net/secrets/k"})
    assert (outputs.vault_url, outputs.secret_name) == ("https://kv-x.vault.azure.net", "k")


def test_tags_name_the_account_and_the_sites_when_outputs_do_not():
    tags = {"ProviderAddress": ACCOUNT, "Consumers": "web-x, web-y"}
    resolved = target.resolve_target(
        vault="https://kv-x.vault.azure.net/",
        secret="k",
        tags=tags,
        outputs=target.StackOutputs(),
        account_id=None,
        endpoint=None,
        deployment="gpt",
    )
    assert resolved.consumers == (
        Consumer("web-x", "site", SITE),
        Consumer("web-y", "site", SITE.replace("web-x", "web-y")),
    )
    assert resolved.endpoint is None  # asked of ARM later


@pytest.mark.parametrize(
    ("outputs", "message"),
    [
        ([], "stack outputs: list is not a JSON object"),
        ({"apps": []}, "stack outputs output 'apps': [] is not an object of apps by name"),
        (
            {"apps": {"web": {"siteId": "/subscriptions/x/sites/w"}}},
            "stack outputs output 'apps.web.siteId' '/subscriptions/x/sites/w': must be "
            "/subscriptions/<subscription GUID>/resourceGroups/<group>/providers/Microsoft.Web/"
            "sites/<name>",
        ),
        (
            {"vaultUri": "https://example.com/"},
            "stack outputs output 'vaultUri' 'https://example.com/': must be "
            "https://<vault name>.vault.azure.net/ (3-24 letters, digits or single hyphens; "
            "vault.azure.cn and vault.usgovcloudapi.net too)",
        ),
        ({"aiAccountId": 7}, "stack outputs output 'aiAccountId': 7 is not a string"),
    ],
)
def test_bad_outputs_are_one_line_errors(outputs, message):
    with pytest.raises(target.InputError) as caught:
        target.parse_stack_outputs(outputs)
    assert str(caught.value) == message


def test_no_account_anywhere_is_a_one_line_error():
    with pytest.raises(target.InputError) as caught:
        target.resolve_target(
            vault="https://kv-x.vault.azure.net/",
            secret="k",
            tags={"CredentialId": "key1"},
            outputs=target.StackOutputs(),
            account_id=None,
            endpoint=None,
            deployment=None,
        )
    assert str(caught.value) == (
        "account ID: none given; the rule is --account-id, the stack output 'aiAccountId' or the "
        "tag 'ProviderAddress' on secret 'k'"
    )


def test_not_json_outputs_file(tmp_path):
    path = tmp_path / "o.json"
    path.write_text("[secret]")
    with pytest.raises(target.InputError) as caught:
        target.read_stack_outputs(str(path))
    assert str(caught.value) == (
        f"--stack-outputs {str(path)!r}: not JSON (line 1: Expecting value); the rule is the "
        "output of `pulumi stack output --json`"
    )
