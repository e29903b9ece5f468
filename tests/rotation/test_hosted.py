"""The hosted functions (rotation/hosted.py) driven as the Functions host drives them.

Events are Key Vault's `Microsoft.KeyVault.SecretNearExpiry` in the Event Grid schema, as Key
Vault publishes them (learn.microsoft.com/azure/event-grid/event-schema-key-vault: top-level id,
topic, subject, eventType, eventTime, dataVersion, metadataVersion; data Id, VaultName,
ObjectType, ObjectName, Version, NBF, EXP). Event Grid delivers at least once, so the same event
arrives again and concurrently. The lease and the queue are Azurite's (real Blob lease and Queue
semantics); Key Vault, ARM and the sites are the emulator's.
"""

from __future__ import annotations

import json
import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from catalog import hosted as names
from drill.hosted import app_settings, near_expiry_event
from rotation import hosted, state
from rotation.engine import RotationStopped
from rotation.lease import SecretLease
from rotation.target import InputError

FAST = hosted.Timing(
    probe_timeout=5.0,
    confirm_timeout=5.0,
    poll_interval=0.02,
    poll_cap=0.2,
    drain_seconds=0.0,
    lease_seconds=15,
    lease_wait=0.5,
    lease_poll=0.05,
)


class Crash(RuntimeError):
    pass


@pytest.fixture
def hosted_env(local, storage):
    """A Function App's settings for the local world, with a lease container and queue of its
    own (names unique per test: Azurite is shared by the session)."""
    suffix = uuid.uuid4().hex[:8]
    env = app_settings(local, storage)
    env[names.LEASE_CONTAINER_SETTING] = f"leases-{suffix}"
    env[names.QUEUE_NAME_SETTING] = f"runs-{suffix}"
    settings = hosted.settings_from_environment(env)
    queued: list[str] = []
    services = hosted.Services(
        local.connection, storage.container(settings.lease_container), queued.append, timing=FAST
    )
    return env, settings, services, queued


def latest(local):
    return local.state.latest_secret(local.world.vault.name, local.world.secret_name)


def snapshot(local):
    world = local.world
    versions = local.state.secret_versions(world.vault.name, world.secret_name)
    return local.state.keys(world.account.name), [(v.version, dict(v.tags)) for v in versions]


def test_settings_from_the_function_app_environment(local, storage, hosted_env):
    env, settings, _, _ = hosted_env
    world = local.world
    assert settings.vault_url == world.vault_url.rstrip("/")  # catalog/ids.py's form
    assert settings.vault_name == world.vault.name
    assert settings.secret_name == world.secret_name
    assert settings.account.id == world.account.id
    assert settings.endpoint == world.endpoint.rstrip("/")
    sdk_site = local.state.site(local.sdk_site).id
    assert [(c.name, c.kind, c.site_id) for c in settings.consumers] == [
        ("app-ref-drill", "site", None),
        ("app-sdk-drill", "site", None),
        # The health URL of an app on a consumer site: its instances are each asked.
        ("app-sdk-drill.azurewebsites.net", "health", sdk_site),
    ]
    assert settings.blob_url == storage.blob_url
    assert settings.lease_blob == f"{world.vault.name}/{world.secret_name}"
    # Without service URIs, the account name gives the public endpoints.
    plain = {
        k: v for k, v in env.items() if k not in (names.STORAGE_BLOB_URI, names.STORAGE_QUEUE_URI)
    }
    plain[names.STORAGE_ACCOUNT_NAME] = "strotation01"
    other = hosted.settings_from_environment(plain)
    assert (other.blob_url, other.queue_url) == (
        "https://strotation01.blob.core.windows.net",
        "https://strotation01.queue.core.windows.net",
    )


KEY = "0123456789abcdef" * 2  # the shape of an Azure AI key (synthetic)


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        (names.VAULT_URI, "", "app setting ROTATION_VAULT_URI: missing; the stack sets it"),
        (
            names.VAULT_URI,
            "https://kv-secure-demo.vault.azure.net:8443/",
            "app setting ROTATION_VAULT_URI 'https://kv-secure-demo.vault.azure.net:8443/': must "
            "be https://<vault name>.vault.azure.net/ (3-24 letters, digits or single hyphens; "
            "vault.azure.cn and vault.usgovcloudapi.net too)",
        ),
        (
            names.AI_ENDPOINT,
            "https://[::1]/",
            "app setting ROTATION_AI_ENDPOINT 'https://[::1]/': the rule is "
            "https://<subdomain>.openai.azure.com/ (no port or query)",
        ),
        (
            names.SECRET_NAME,
            KEY,
            "app setting ROTATION_SECRET_NAME <32 characters, masked: it looks like a key>: the "
            "rule is the secret's name, never a key; nothing was sent",
        ),
        (
            names.STORAGE_BLOB_URI,
            "http://storage.example.com/acct",
            "app setting AzureWebJobsStorage__blobServiceUri 'http://storage.example.com/acct': "
            "the rule is https://<account>.<service>.core.windows.net (http only on 127.0.0.1)",
        ),
        (
            names.QUEUE_NAME_SETTING,
            "Bad_Queue",
            "app setting ROTATION_QUEUE_NAME 'Bad_Queue': the rule is 3-63 lowercase letters, "
            "digits or single hyphens",
        ),
    ],
)
def test_a_bad_setting_is_one_line_naming_it(hosted_env, setting, value, message):
    env = dict(hosted_env[0])
    env[setting] = value
    with pytest.raises(InputError) as raised:
        hosted.settings_from_environment(env)
    assert str(raised.value) == message


def test_no_consumer_is_refused(hosted_env):
    env = dict(hosted_env[0], **{names.CONSUMER_SITE_IDS: "", names.CONSUMER_HEALTH_URLS: ""})
    with pytest.raises(InputError) as raised:
        hosted.settings_from_environment(env)
    assert str(raised.value) == (
        "app settings ROTATION_CONSUMER_SITE_IDS / ROTATION_CONSUMER_HEALTH_URLS: both empty; "
        "the rule is at least one consumer of the secret"
    )


def test_an_event_for_the_latest_version_queues_once_and_duplicates_are_acknowledged(
    local, hosted_env
):
    _, settings, services, queued = hosted_env
    event = near_expiry_event(local.world, latest(local))
    first = hosted.accept_event(event, settings, services)
    again = hosted.accept_event(event, settings, services)
    version = latest(local).version
    assert first == {
        "status": "queued",
        "message": f"version {version} near expiry: rotation queued",
    }
    assert again == {
        "status": "duplicate",
        "message": f"version {version} was queued before: acknowledged",
    }
    assert [json.loads(m) for m in queued] == [
        {"secret": local.world.secret_name, "version": version, "reason": "event"}
    ]


def test_concurrent_redeliveries_rotate_exactly_once(local, hosted_env):
    """Deliveries racing past the marker check each send a message (the message is sent before
    the marker is written, so that a failed send never leaves a marker): the runs then rotate
    once and skip the rest under the lease."""
    _, settings, services, queued = hosted_env
    event = near_expiry_event(local.world, latest(local))
    due = latest(local).version
    results: list[str] = []
    barrier = threading.Barrier(6)

    def deliver():
        barrier.wait()
        results.append(hosted.accept_event(event, settings, services)["status"])

    threads = [threading.Thread(target=deliver) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert set(results) <= {"queued", "duplicate"}
    assert len(queued) == results.count("queued") >= 1
    runs = [hosted.run_queued(m, settings, services)["status"] for m in queued]
    assert runs == ["rotated"] + ["skipped"] * (len(queued) - 1)
    assert latest(local).version != due
    # A later delivery of the rotated version: acknowledged, nothing queued.
    assert hosted.accept_event(event, settings, services)["status"] == "stale"


def test_events_not_ours_are_ignored_and_old_versions_are_stale(local, hosted_env):
    _, settings, services, queued = hosted_env
    world = local.world
    current = latest(local)
    other_type = dict(
        near_expiry_event(world, current), eventType="Microsoft.KeyVault.SecretNewVersionCreated"
    )
    other_secret = near_expiry_event(world, current)
    other_secret["data"]["ObjectName"] = "some-other-secret"
    other_vault = near_expiry_event(world, current)
    other_vault["data"]["VaultName"] = "kv-elsewhere"
    statuses = [
        hosted.accept_event(e, settings, services)["status"]
        for e in (other_type, other_secret, other_vault)
    ]
    assert statuses == ["ignored", "ignored", "ignored"]
    # A version that is no longer the latest (rotated since): acknowledged, nothing queued.
    old = near_expiry_event(world, current)
    local.state.set_secret(world.vault.name, world.secret_name, "x", tags=dict(current.tags))
    assert hosted.accept_event(old, settings, services)["status"] == "stale"
    assert queued == []


def test_no_event_field_chooses_the_host_called(local, hosted_env):
    _, settings, services, _ = hosted_env
    event = near_expiry_event(local.world, latest(local))
    event["data"]["Id"] = f"https://attacker.vault.azure.net/secrets/x/{latest(local).version}"
    event["topic"] = "/subscriptions/x/resourceGroups/y/providers/Microsoft.KeyVault/vaults/z"
    local.state.reset_counters()
    assert hosted.accept_event(event, settings, services)["status"] == "queued"
    vault_host = f"{local.world.vault.name}.vault.azure.net"
    hosts = {h for (h, _m, _r) in local.state.counters}
    # Key Vault from the settings, and the identity endpoint for its token: nothing else.
    assert vault_host in hosts and hosts <= {vault_host, "localhost"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda e: e["data"].pop("Version"),
            "event data 'Version': None; the rule is a non-empty string",
        ),
        (
            lambda e: e["data"].update(Version="../../keys/x"),
            "event data 'Version' '../../keys/x': the rule is 32 hex digits",
        ),
        (lambda e: e.update(data=[1, 2]), "event data: [1, 2]; the rule is Key Vault's event data"),
    ],
)
def test_a_malformed_event_is_rejected_in_one_line_and_changes_nothing(
    local, hosted_env, change, message
):
    _, settings, services, queued = hosted_env
    event = near_expiry_event(local.world, latest(local))
    change(event)
    before = snapshot(local)
    with pytest.raises(hosted.EventRejected) as raised:
        hosted.accept_event(event, settings, services)
    assert str(raised.value) == message
    assert queued == [] and snapshot(local) == before


def test_a_queued_run_rotates_once_and_the_same_message_again_is_skipped(local, look, hosted_env):
    _, settings, services, _ = hosted_env
    due = latest(local)
    versions = len(look.versions())
    message = hosted.queue_message(settings.secret_name, due.version, "event")
    first = hosted.run_queued(message, settings, services)
    assert first["status"] == "rotated"
    now = latest(local)
    assert first["message"] == f"rotate: version {now.version} holds key2"
    assert now.tags[state.TAG_SLOT] == "key2" and state.TAG_RUN not in now.tags
    assert look.latest_works()
    second = hosted.run_queued(message, settings, services)
    assert second["status"] == "skipped"
    assert len(look.versions()) == versions + 1


def test_a_crash_between_steps_resumes_on_redelivery_with_one_rotation(local, look, hosted_env):
    _, settings, services, _ = hosted_env
    due = latest(local)
    versions = len(look.versions())
    message = hosted.queue_message(settings.secret_name, due.version, "event")

    def crash(point):
        if point == "1:recorded":  # the standby key regenerated and recorded, not yet published
            raise Crash(point)

    with pytest.raises(Crash):
        hosted.run_queued(message, settings, services, hook=crash)
    stranded = latest(local)
    assert stranded.version == due.version
    assert (stranded.tags[state.TAG_OP], stranded.tags[state.TAG_STEP]) == ("rotate", "2")
    assert look.latest_works()  # at no moment does the published secret hold a dead key
    # The queue redelivers the message; the next run takes over and finishes.
    resumed = hosted.run_queued(message, settings, services)
    assert resumed["status"] == "resumed"
    assert len(look.versions()) == versions + 1
    assert latest(local).tags[state.TAG_SLOT] == "key2"
    assert local.state.account(local.world.account.name).regenerations == 1


def test_a_run_that_cannot_get_the_lease_changes_nothing(local, hosted_env):
    _, settings, services, _ = hosted_env
    message = hosted.queue_message(settings.secret_name, latest(local).version, "event")
    before = snapshot(local)
    with (
        SecretLease(services.container, settings.lease_blob, duration=15),
        pytest.raises(hosted.LeaseBusy) as raised,
    ):
        hosted.run_queued(message, settings, services)
    assert str(raised.value) == (
        f"lease {settings.lease_container}/{settings.lease_blob}: another run holds it (waited "
        "0.5 s); one rotation at a time per secret, nothing was changed: re-run when it is done"
    )
    assert snapshot(local) == before


def test_a_run_whose_tag_was_taken_over_stops_before_its_next_write(local, look):
    """Fencing: run A loses its lease (paused past expiry); run B takes the operation over and
    records its run ID. A's next write is refused, so it never acts on B's step."""
    before = look.keys()

    def take_over(point):
        if point == "start":
            current = latest(local)
            local.state.vaults[local.world.vault.name].secrets[local.world.secret_name][
                -1
            ].tags = state.claimed_tags(current.tags, "run-b")

    engine = local.engine(hook=take_over)
    with pytest.raises(RotationStopped) as raised:
        engine.run(state.Operation("rotate"))
    assert "another run is acting on it: stopped before recording progress" in str(raised.value)
    assert "by run run-b" in str(raised.value)
    assert look.keys() == before  # nothing regenerated


def test_the_timer_queues_only_what_is_due(local, hosted_env):
    _, settings, services, queued = hosted_env
    version = latest(local)
    now = datetime.now(UTC)
    with local.state.lock:
        version.exp = int((now + timedelta(days=60)).timestamp())
    assert hosted.check_due(settings, services)["status"] == "idle"
    with local.state.lock:
        version.exp = int((now + timedelta(days=29)).timestamp())
    assert hosted.check_due(settings, services)["status"] == "queued"
    assert [json.loads(m)["reason"] for m in queued] == ["timer"]
    # An operation stranded part-way: queued to finish, unless a run holds the lease.
    with local.state.lock:
        version.exp = int((now + timedelta(days=60)).timestamp())
        version.tags = state.progress_tags(
            version.tags, state.Progress(state.Operation("rotate"), "key1", 1), "key1"
        )
    with SecretLease(services.container, settings.lease_blob, duration=15):
        running = hosted.check_due(settings, services)
    assert running == {
        "status": "running",
        "message": "rotate under way and its run holds the lease",
    }
    stranded = hosted.check_due(settings, services)
    assert stranded["status"] == "queued" and len(queued) == 2


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (b"\xff\xfe", "queue message: not UTF-8 JSON; the rule is a rotation message"),
        (b"[" * 100000, "queue message: over 4096 bytes"),
        (b"[" * 4000, "queue message: nested too deeply; the rule is a rotation message"),
        (b"[" * 9 + b"]" * 9, "queue message: nested too deeply; the rule is a rotation message"),
        (
            json.dumps({"secret": "other", "version": "0" * 32, "reason": "event"}).encode(),
            "queue message 'secret' 'other': not the configured secret",
        ),
    ],
)
def test_a_bad_queue_message_is_one_line(hosted_env, text, message):
    _, settings, _, _ = hosted_env
    with pytest.raises(hosted.EventRejected) as raised:
        hosted.parse_message(text, settings)
    assert str(raised.value) == message


def test_the_function_host_event_object_converts_to_the_schema():
    """azure.functions.EventGridEvent (azure-functions: id, topic, subject, event_type,
    data_version, get_json()) becomes the Event Grid schema's object."""
    func = pytest.importorskip("azure.functions")

    data = {"Version": "0" * 32}
    event = func.EventGridEvent(
        id="e1",
        data=data,
        topic="/t",
        subject="s",
        event_type=names.SECRET_NEAR_EXPIRY,
        event_time=None,
        data_version="1",
    )
    assert hosted.event_payload(event) == {
        "id": "e1",
        "topic": "/t",
        "subject": "s",
        "eventType": names.SECRET_NEAR_EXPIRY,
        "data": data,
        "dataVersion": "1",
    }
