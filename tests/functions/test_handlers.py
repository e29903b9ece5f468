"""The three functions, called the way the Python worker calls them, against the emulator (Key
Vault, ARM, the AI endpoint, App Service) and Azurite (the lease container and the queue).

What stands in for the Functions host, and where the real behaviour is defined:
- the trigger payload is decoded by the azure-functions library's own converters, as the worker
  decodes it (`azure/functions/eventgrid.py` EventGridEventInConverter, `timer.py`);
- the event is Key Vault's `SecretNearExpiry` in the Event Grid schema exactly as Microsoft
  documents it (learn.microsoft.com/azure/event-grid/event-schema-key-vault: `topic` the vault's
  ARM ID, `subject` the secret name, data `Id`, `VaultName`, `ObjectType`, `ObjectName`,
  `Version`, `NBF`, `EXP`);
- the handlers send their message with azure-storage-queue's `QueueClient` (base64, as the
  queue trigger decodes by default) to Azurite's queue, and the queue trigger's payload is an
  `azure.functions.QueueMessage` with that body, as the worker hands it over;
- Event Grid answers a failed invocation by delivering the event again (at least once,
  learn.microsoft.com/azure/event-grid/delivery-and-retry), so a redelivery is a second call;
- the app settings are the ones the stack writes (catalog/hosted.py), pointed at the emulators.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from datetime import UTC, datetime, timedelta

import azure.functions as func
import pytest
from azure.functions.eventgrid import EventGridEventInConverter
from azure.functions.meta import Datum
from azure.functions.timer import TimerRequestConverter

from catalog import hosted as names
from rotation import hosted
from rotation.target import InputError

pytest.importorskip("azure.storage.blob")


@pytest.fixture(scope="module")
def storage():
    from emulator.azurite import AzuriteUnavailable, azurite

    try:
        with azurite() as running:
            yield running
    except AzuriteUnavailable as missing:
        pytest.fail(f"Azurite is required (npm ci at the repository root): {missing}")


@pytest.fixture
def world(storage, monkeypatch):
    """A fresh emulated deployment; the Function App's settings in the environment and the
    app's clients (Services.default) bound to the emulators."""
    from drill.hosted import app_settings
    from drill.world import local_world

    with local_world() as local:
        settings = app_settings(local, storage)
        # Each test its own lease container, so markers and leases never leak between tests.
        settings[names.LEASE_CONTAINER_SETTING] = f"leases-{uuid.uuid4().hex[:12]}"
        settings[names.QUEUE_NAME_SETTING] = f"runs-{uuid.uuid4().hex[:12]}"
        for key, value in settings.items():
            monkeypatch.setenv(key, value)
        parsed = hosted.settings_from_environment(settings)
        container = storage.container(parsed.lease_container)
        timing = hosted.Timing(
            probe_timeout=20.0,
            confirm_timeout=20.0,
            poll_interval=0.05,
            poll_cap=0.2,
            drain_seconds=0.2,
            lease_seconds=15,
            lease_wait=5.0,
            lease_poll=0.05,
        )
        local.runs = storage.queue(parsed.queue_name)
        local.services = hosted.Services(
            local.connection, container, hosted.sender(local.runs), timing=timing
        )
        monkeypatch.setattr(hosted.Services, "default", classmethod(lambda cls, s: local.services))
        yield local


def sent(local) -> list[str]:
    """The messages in the run queue, taken off it (as the queue trigger would)."""
    texts = []
    for message in local.runs.receive_messages(max_messages=32):
        texts.append(message.content.decode())
        local.runs.delete_message(message)
    return texts


def latest(local):
    return local.state.latest_secret(local.world.vault.name, local.world.secret_name)


def expire_in(local, days: int) -> None:
    version = latest(local)
    with local.state.lock:
        version.exp = int((datetime.now(UTC) + timedelta(days=days)).timestamp())


def make_due(local) -> None:
    """Two months later: the latest version expires in 29 days (Key Vault's event is due)."""
    expire_in(local, 29)


def near_expiry(local, version: str, *, secret: str | None = None) -> func.EventGridEvent:
    """Key Vault's event as Event Grid delivers it, decoded by the worker's converter."""
    world = local.world
    name = secret or world.secret_name
    stored = latest(local)
    body = {
        "id": str(uuid.uuid4()),
        "topic": world.vault.id,
        "subject": name,
        "eventType": "Microsoft.KeyVault.SecretNearExpiry",
        "eventTime": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "data": {
            "Id": f"{world.vault_url}secrets/{name}/{version}",
            "VaultName": world.vault.name,
            "ObjectType": "Secret",
            "ObjectName": name,
            "Version": version,
            "NBF": stored.nbf,
            "EXP": stored.exp,
        },
        "dataVersion": "1",
        "metadataVersion": "1",
    }
    return EventGridEventInConverter.decode(Datum(json.dumps(body), "json"), trigger_metadata={})


def timer_tick(past_due: bool = False) -> func.TimerRequest:
    payload = {"Schedule": {"AdjustForDST": True}, "ScheduleStatus": None, "IsPastDue": past_due}
    return TimerRequestConverter.decode(Datum(json.dumps(payload), "json"), trigger_metadata={})


def queue_message(text: str) -> func.QueueMessage:
    return func.QueueMessage(id=str(uuid.uuid4()), body=text.encode())


def test_a_near_expiry_event_queues_one_run_and_the_run_rotates_once(function_app, world):
    make_due(world)
    before = latest(world)
    slot = before.tags["CredentialId"]
    started = time.monotonic()
    function_app.on_secret_near_expiry(near_expiry(world, before.version))
    assert time.monotonic() - started < 5  # Event Grid waits ~30 s; the handler must not
    runs = sent(world)
    assert [json.loads(text) for text in runs] == [
        {"secret": world.world.secret_name, "version": before.version, "reason": "event"}
    ]
    # A redelivery of the same version (at least once) queues nothing more.
    function_app.on_secret_near_expiry(near_expiry(world, before.version))
    assert sent(world) == []

    function_app.run_rotation(queue_message(runs[0]))
    after = latest(world)
    assert after.version != before.version
    assert after.tags["CredentialId"] == ("key2" if slot == "key1" else "key1")
    assert after.tags["RotationState"] == "idle"
    # The same message delivered again (the queue is at-least-once) rotates nothing.
    function_app.run_rotation(queue_message(runs[0]))
    assert latest(world).version == after.version
    # A late event for the old version is acknowledged: no second run queued.
    function_app.on_secret_near_expiry(near_expiry(world, before.version))
    assert sent(world) == []


def test_a_failed_send_fails_the_delivery_and_the_redelivery_queues_the_run(function_app, world):
    """The queue refuses the message (here: the queue is missing, Azurite answers 404
    QueueNotFound): the invocation fails, nothing marks the version as queued, and Event Grid's
    redelivery queues the run."""
    from azure.core.exceptions import ResourceNotFoundError

    make_due(world)
    due = latest(world)
    world.runs.delete_queue()
    with pytest.raises(ResourceNotFoundError):
        function_app.on_secret_near_expiry(near_expiry(world, due.version))
    world.runs.create_queue()
    function_app.on_secret_near_expiry(near_expiry(world, due.version))
    runs = sent(world)
    assert [json.loads(text)["version"] for text in runs] == [due.version]
    function_app.run_rotation(queue_message(runs[0]))
    assert latest(world).version != due.version
    assert latest(world).tags["RotationState"] == "idle"


def test_a_lost_marker_only_duplicates_the_message_and_the_duplicate_rotates_nothing(
    function_app, world, monkeypatch
):
    """The message is sent but the duplicate marker cannot be written (storage answers 503):
    the delivery is still acknowledged as queued; a redelivery queues a second message, and of
    the two runs exactly one rotates."""
    from azure.core.exceptions import HttpResponseError
    from azure.storage.blob import BlobClient

    make_due(world)
    due = latest(world)
    regenerations = world.state.account(world.world.account.name).regenerations
    versions = len(world.state.secret_versions(world.world.vault.name, world.world.secret_name))

    def unavailable(self, *args, **kwargs):
        raise HttpResponseError(message="Server Busy (503)")

    with monkeypatch.context() as patch:
        patch.setattr(BlobClient, "upload_blob", unavailable)
        function_app.on_secret_near_expiry(near_expiry(world, due.version))
    function_app.on_secret_near_expiry(near_expiry(world, due.version))
    runs = sent(world)
    assert [json.loads(text)["version"] for text in runs] == [due.version, due.version]
    outcomes = [
        hosted.run_queued(text.encode(), hosted.settings_from_environment(os.environ))
        for text in runs
    ]
    assert [o["status"] for o in outcomes] == ["rotated", "skipped"]
    assert world.state.account(world.world.account.name).regenerations == regenerations + 1
    assert (
        len(world.state.secret_versions(world.world.vault.name, world.world.secret_name))
        == versions + 1
    )


def test_an_event_for_another_secret_is_acknowledged_and_changes_nothing(function_app, world):
    make_due(world)
    version = latest(world).version
    function_app.on_secret_near_expiry(near_expiry(world, version, secret="other-secret"))
    assert sent(world) == []
    assert latest(world).version == version


def test_an_event_that_breaks_key_vaults_schema_fails_so_event_grid_dead_letters_it(
    function_app, world
):
    event = near_expiry(world, "not-a-version")
    with pytest.raises(hosted.EventRejected) as caught:
        function_app.on_secret_near_expiry(event)
    assert "\n" not in str(caught.value)
    assert sent(world) == []


def test_the_daily_timer_queues_a_due_version_and_nothing_when_none_is(function_app, world):
    expire_in(world, 90)  # just published: 90 days to go
    function_app.daily_check(timer_tick())
    assert sent(world) == []
    make_due(world)
    function_app.daily_check(timer_tick(past_due=True))
    assert [json.loads(text) for text in sent(world)] == [
        {"secret": world.world.secret_name, "version": latest(world).version, "reason": "timer"}
    ]


def test_a_missing_setting_stops_the_function_with_one_line_naming_it(
    function_app, world, monkeypatch
):
    monkeypatch.delenv(names.SECRET_NAME)
    with pytest.raises(InputError) as caught:
        function_app.daily_check(timer_tick())
    assert str(caught.value) == f"app setting {names.SECRET_NAME}: missing; the stack sets it"
