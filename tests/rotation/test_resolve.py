"""From flags, a stack outputs file or the Function App's settings to what a rotation acts on
(rotation/resolve.py): plain functions, tested directly."""

from __future__ import annotations

import json

import pytest

from catalog import hosted as names
from catalog.ids import ResourceId
from rotation import resolve
from rotation.engine import RotationStopped
from rotation.resolve import Where
from rotation.target import Consumer, InputError

SUB = "5f1c2a2e-7a43-4c4e-9a55-0c1e2d3f4a5b"
ACCOUNT = (
    f"/subscriptions/{SUB}/resourceGroups/rg-ai/providers/Microsoft.CognitiveServices/accounts/ai-x"
)
SITE = f"/subscriptions/{SUB}/resourceGroups/rg-ai/providers/Microsoft.Web/sites/web-x"


@pytest.fixture
def outputs_file(tmp_path):
    path = tmp_path / "outputs.json"
    path.write_text(
        json.dumps(
            {
                "vaultUri": "https://kv-x.vault.azure.net/",
                "secretName": "from-outputs",
                "aiAccountId": ACCOUNT,
                "apps": {"web": {"siteId": SITE}},
            }
        )
    )
    return str(path)


def test_flags_win_over_the_stack_outputs(outputs_file):
    located = resolve.locate(
        Where(stack_outputs=outputs_file, vault_url="https://KV-Y.vault.azure.net:443/")
    )
    assert (located.vault_url, located.secret_name) == (
        "https://kv-y.vault.azure.net",
        "from-outputs",
    )
    assert located.outputs.consumers == (Consumer("web", "site", SITE),)
    flagged = resolve.locate(Where(stack_outputs=outputs_file, secret_name="from-flag"))
    assert (flagged.vault_url, flagged.secret_name) == ("https://kv-x.vault.azure.net", "from-flag")


@pytest.mark.parametrize(
    ("where", "message"),
    [
        (
            Where(secret_name="s"),
            "vault URL: none given; the rule is --vault-url or --stack-outputs with 'vaultUri'",
        ),
        (
            Where(vault_url="https://kv-x.vault.azure.net"),
            "secret name: none given; the rule is --secret-name or --stack-outputs with "
            "'secretName'",
        ),
        # Every flag is checked before anything is read, the ones used later included.
        (
            Where(vault_url="https://kv-x.vault.azure.net", secret_name="s", account_id="/x"),
            "--account-id '/x': must be /subscriptions/<subscription GUID>/resourceGroups/"
            "<group>/providers/Microsoft.CognitiveServices/accounts/<name>",
        ),
        (
            Where(vault_url="https://kv-x.vault.azure.net", secret_name="s", endpoint="http://a"),
            "--endpoint 'http://a': the rule is https://<subdomain>.openai.azure.com/ (no port "
            "or query)",
        ),
        (
            Where(vault_url="https://kv-x.vault.azure.net", secret_name="s", deployment="-x"),
            "--deployment '-x': the rule is 1-64 letters, digits, '.', '_' or '-', starting "
            "with a letter or digit",
        ),
    ],
)
def test_what_is_missing_or_malformed_is_one_line(where, message):
    with pytest.raises(InputError) as raised:
        resolve.locate(where)
    assert str(raised.value) == message


def test_prepare_reads_the_secret_and_resolves_the_target_changing_nothing(local):
    world = local.world
    before = len(local.state.secret_versions(world.vault.name, world.secret_name))
    resolved, vault, latest = resolve.prepare(
        Where(vault_url=world.vault_url, secret_name=world.secret_name), local.connection
    )
    assert (resolved.vault_url, resolved.secret_name) == (
        world.vault_url.rstrip("/"),
        world.secret_name,
    )
    # Nothing but the secret's tags named the account and the sites.
    assert resolved.account.id == world.account.id
    assert [c.name for c in resolved.consumers] == latest.tags["Consumers"].split(",")
    assert latest.version == vault.latest().version
    assert len(local.state.secret_versions(world.vault.name, world.secret_name)) == before


def test_prepare_names_a_secret_the_stack_has_not_created(local):
    world = local.world
    local.state.delete_secret(world.vault.name, world.secret_name)
    with pytest.raises(RotationStopped) as raised:
        resolve.prepare(
            Where(vault_url=world.vault_url, secret_name=world.secret_name), local.connection
        )
    assert str(raised.value) == (
        f"secret {world.secret_name!r} does not exist in {world.vault_url.rstrip('/')}; the "
        "rule is: the stack creates it before any rotation"
    )


ENV = {
    names.VAULT_URI: "https://kv-x.vault.azure.net/",
    names.SECRET_NAME: "ai-api-key",
    names.ACCOUNT_ID: ACCOUNT,
    names.AI_ENDPOINT: "https://ai-x.openai.azure.com/",
    names.DEPLOYMENT: "chat",
    names.CONSUMER_SITE_IDS: SITE,
    names.CONSUMER_HEALTH_URLS: "https://web-x.azurewebsites.net/healthz",
    names.STORAGE_ACCOUNT_NAME: "strotation01",
}


def test_the_function_apps_settings_resolve_to_one_target():
    settings = resolve.settings_from_environment(ENV)
    assert settings == resolve.HostedSettings(
        vault_url="https://kv-x.vault.azure.net",
        secret_name="ai-api-key",
        account=ResourceId(SUB, "rg-ai", "ai-x", "Microsoft.CognitiveServices", "accounts"),
        endpoint="https://ai-x.openai.azure.com",
        deployment="chat",
        consumers=(
            Consumer("web-x", "site", SITE),
            Consumer("web-x.azurewebsites.net", "health", ENV[names.CONSUMER_HEALTH_URLS], SITE),
        ),
        lease_container=names.LEASE_CONTAINER,
        queue_name=names.QUEUE_NAME,
        blob_url="https://strotation01.blob.core.windows.net",
        queue_url="https://strotation01.queue.core.windows.net",
    )
    assert settings.lease_blob == "kv-x/ai-api-key"


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        (
            names.QUEUE_NAME_SETTING,
            "Runs--1",
            "app setting ROTATION_QUEUE_NAME 'Runs--1': the rule is 3-63 lowercase letters, "
            "digits or single hyphens",
        ),
        (
            names.STORAGE_ACCOUNT_NAME,
            "st-rotation",
            "app setting AzureWebJobsStorage__accountName 'st-rotation': the rule is 3-24 "
            "lower-case letters or digits",
        ),
        (
            names.CONSUMER_SITE_IDS,
            "/subscriptions/x/sites/w",
            "app setting ROTATION_CONSUMER_SITE_IDS '/subscriptions/x/sites/w': must be "
            "/subscriptions/<subscription GUID>/resourceGroups/<group>/providers/Microsoft.Web/"
            "sites/<name>",
        ),
    ],
)
def test_a_bad_setting_is_one_line_naming_it(setting, value, message):
    with pytest.raises(InputError) as raised:
        resolve.settings_from_environment({**ENV, setting: value})
    assert str(raised.value) == message


def test_the_lease_is_the_secrets_blob_in_the_named_container():
    class Containers:
        asked: list[tuple[str, str]] = []

        def __call__(self, account, container):
            self.asked.append((account, container))
            return type("Container", (), {"container_name": container})()

    from azure_edge.clients import Connection

    containers = Containers()
    settings = resolve.settings_from_environment(ENV)
    lease = resolve.lease(
        settings.target,
        Connection(credential=None, containers=containers),
        account="strotation01",
        container="leases",
        duration=15,
        wait=1.0,
    )
    assert containers.asked == [("strotation01", "leases")]
    assert (lease.where, lease.blob_name) == ("leases/kv-x/ai-api-key", "kv-x/ai-api-key")
