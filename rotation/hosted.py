"""The hosted rotation: plain functions the Function App's triggers call (functions/).

Three entry points, each given the settings the stack wrote on the Function App
(`settings_from_environment(os.environ)`, rotation/resolve.py; names in catalog/hosted.py):

- `accept_event(event, settings)`: Event Grid delivers Key Vault's
  `Microsoft.KeyVault.SecretNearExpiry` (AzureFunction endpoint: Event Grid itself invokes the
  function, no webhook, no handshake). Answers in seconds: acts only for the configured vault and
  secret and only when the event's `data.Version` is the secret's latest version; a duplicate
  (the same version queued before) is acknowledged without queueing again. It sends one
  message; nothing from the event chooses a host (the vault comes from the settings).
- `run_queued(message, settings)`: the queue-triggered long phase (probe, publish, confirm,
  drain, regenerate). It takes the secret's blob lease (rotation/lease.py), then finishes an
  operation under way, or rotates when the message's version is still the latest, or
  acknowledges a version already rotated. A crash anywhere leaves the progress in the secret's
  tags; the queue redelivers the message (at least once) and the next run resumes.
- `check_due(settings)`: the daily timer. Queues a run when an operation is stranded
  part-way (and no run holds the lease) or when the latest version expires within 30 days
  (an event missed, or a version created before the subscription existed).

Why a queue and not a durable orchestration: the queue trigger needs no framework beyond the
Functions host, retries a failed run (maxDequeueCount) and then parks the message in the
`-poison` queue where it can be watched, and delivers at least once; resumability does not need
an orchestrator's replay because every step's progress is already in the secret's tags.

Why the message is sent with a `QueueClient` and not through a queue output binding: the host
writes an output binding's value only after the function has returned, so the function cannot
know that the message exists (Microsoft's "Azure Functions error handling and retries": errors
of an output binding cannot be handled in the function; use the service's client SDK where they
must be). The event handler sends the message first and only then writes its duplicate marker
(`accepted/<lease blob>/<version>`): a failed send leaves no marker, so Event Grid's
redelivery sends again; a failed marker write leaves at most a second message, which
`run_queued` skips under the lease (the version is no longer the latest once rotated). No
ordering of failures loses a run, and no duplicate rotates twice.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from azure.core.exceptions import AzureError

from azure_edge.clients import Connection
from azure_edge.errors import describe
from azure_edge.retry import Waiter
from azure_edge.vault import VaultSecrets
from catalog import hosted as names
from catalog.key_shapes import shown
from rotation import state
from rotation.engine import Edges, Engine, RotationStopped
from rotation.lease import DEFAULT_LEASE_SECONDS, LeaseBusy, SecretLease
from rotation.resolve import HostedSettings, settings_from_environment
from rotation.target import InputError

log = logging.getLogger(__name__)

NEAR_EXPIRY_DAYS = 30  # Key Vault sends SecretNearExpiry 30 days before `exp` (fixed)
MAX_MESSAGE_BYTES = 4096
# A rotation message is one flat object: deeper nesting is refused before the parser recurses
# (a parse a thousand levels deep leaves no stack for anything else the process runs then).
MAX_MESSAGE_BRACKETS = 8
_VERSION = re.compile(r"^[0-9a-f]{32}$")
REASONS = ("event", "timer")


class EventRejected(InputError):
    """An event or queue message that breaks the schema; one line, nothing changed. Raised so
    that Event Grid retries and then dead-letters it (or the queue moves it to -poison)."""


@dataclass
class Timing:
    """How long the hosted phases wait (production defaults; the drill shortens them)."""

    probe_timeout: float = 300.0
    confirm_timeout: float = 900.0
    poll_interval: float = 2.0
    poll_cap: float = 15.0
    drain_seconds: float = 240.0
    lease_seconds: int = DEFAULT_LEASE_SECONDS
    lease_wait: float = 600.0
    lease_poll: float = 2.0

    def waiter(self, timeout: float) -> Waiter:
        return Waiter(timeout=timeout, interval=self.poll_interval, cap=self.poll_cap)


@dataclass
class Services:
    """The clients the hosted functions use: Azure SDK clients (`connection`), the
    automation's lease container (azure-storage-blob `ContainerClient`) and `enqueue`, which
    sends one message to the run queue and returns only once the queue has it."""

    connection: Connection
    container: Any
    enqueue: Callable[[str], None]
    timing: Timing = field(default_factory=Timing)
    sleep: Callable[[float], None] = time.sleep

    @classmethod
    def default(cls, settings: HostedSettings) -> Services:
        """The Function App's user-assigned identity (DefaultAzureCredential reads
        AZURE_CLIENT_ID) for Key Vault, ARM, the AI endpoint's probe and storage alike."""
        connection = Connection.default()
        container = connection.blob_container(settings.blob_url, settings.lease_container)
        queue = connection.queue(settings.queue_url, settings.queue_name)
        return cls(connection, container, sender(queue))

    def vault(self, settings: HostedSettings) -> VaultSecrets:
        return self.connection.vault(settings.vault_url, settings.secret_name)


def sender(queue: Any) -> Callable[[str], None]:
    """`enqueue` for an azure-storage-queue `QueueClient` that base64-encodes bytes."""

    def enqueue(text: str) -> None:
        queue.send_message(text.encode())

    return enqueue


def queue_message(secret: str, version: str, reason: str) -> str:
    """The queue message between the entry points and `run_queued` (JSON, no secret value)."""
    return json.dumps({"secret": secret, "version": version, "reason": reason})


def _field(data: Mapping[str, Any], name: str, what: str) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value:
        raise EventRejected(f"{what} {name!r}: {shown(value)}; the rule is a non-empty string")
    return value


def event_payload(event: Any) -> dict[str, Any]:
    """An `azure.functions.EventGridEvent` as the Event Grid schema's JSON object (a dict is
    returned as it is)."""
    if isinstance(event, dict):
        return event
    return {
        "id": event.id,
        "topic": event.topic,
        "subject": event.subject,
        "eventType": event.event_type,
        "data": event.get_json(),
        "dataVersion": event.data_version,
    }


def accept_event(
    event: Any, settings: HostedSettings, services: Services | None = None
) -> dict[str, Any]:
    """Handle one Event Grid event (Event Grid schema); returns {"status", "message"}.

    Statuses: `queued` (a message for `run_queued` is in the queue), `duplicate` (a message for
    this version was queued before: acknowledged), `stale` (a version that is no longer the
    latest: already rotated), `ignored` (another event type, vault or secret). Raises
    EventRejected for an event that breaks Key Vault's schema, so that it ends in the
    dead-letter container; a failed send raises too, so that Event Grid delivers again.
    """
    payload = event_payload(event)
    if not isinstance(payload, dict):
        raise EventRejected(f"event: {type(payload).__name__}; the rule is an Event Grid event")
    kind = payload.get("eventType")
    if kind != names.SECRET_NEAR_EXPIRY:
        return _outcome("ignored", f"event type {shown(kind)} is not {names.SECRET_NEAR_EXPIRY}")
    data = payload.get("data")
    if not isinstance(data, dict):
        raise EventRejected(f"event data: {shown(data)}; the rule is Key Vault's event data")
    vault_name = _field(data, "VaultName", "event data")
    object_type = _field(data, "ObjectType", "event data")
    object_name = _field(data, "ObjectName", "event data")
    version = _field(data, "Version", "event data")
    if object_type != "Secret" or vault_name.lower() != settings.vault_name.lower():
        return _outcome(
            "ignored", f"event for {shown(object_type)} in vault {shown(vault_name)}: not ours"
        )
    if object_name.lower() != settings.secret_name.lower():
        return _outcome("ignored", f"event for secret {shown(object_name)}: not ours")
    if not _VERSION.match(version):
        raise EventRejected(f"event data 'Version' {shown(version)}: the rule is 32 hex digits")
    services = services or Services.default(settings)
    latest = services.vault(settings).latest()
    if latest.version != version:
        return _outcome(
            "stale", f"version {version} is no longer the latest ({latest.version}): rotated"
        )
    marker = services.container.get_blob_client(f"accepted/{settings.lease_blob}/{version}")
    if marker.exists():
        return _outcome("duplicate", f"version {version} was queued before: acknowledged")
    # The message before the marker: a marker always means a message was sent.
    services.enqueue(queue_message(settings.secret_name, version, "event"))
    try:
        marker.upload_blob(str(payload.get("id", ""))[:100].encode(), overwrite=True)
    except AzureError as exc:
        # The run is queued; without the marker a redelivery only queues a message that
        # run_queued skips.
        log.warning("marker for version %s not written (%s)", version, describe(exc))
    return _outcome("queued", f"version {version} near expiry: rotation queued")


def _outcome(status: str, message: str) -> dict[str, Any]:
    log.info("%s: %s", status, message)
    return {"status": status, "message": message}


def parse_message(text: str | bytes, settings: HostedSettings) -> dict[str, str]:
    """Check a queue message; EventRejected (one line) when it breaks the schema."""
    raw = text.encode() if isinstance(text, str) else text
    if len(raw) > MAX_MESSAGE_BYTES:
        raise EventRejected(f"queue message: over {MAX_MESSAGE_BYTES} bytes")
    if raw.count(b"[") + raw.count(b"{") > MAX_MESSAGE_BRACKETS:
        raise EventRejected("queue message: nested too deeply; the rule is a rotation message")
    try:
        message = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise EventRejected(
            "queue message: not UTF-8 JSON; the rule is a rotation message"
        ) from None
    if not isinstance(message, dict):
        raise EventRejected("queue message: not a JSON object; the rule is a rotation message")
    secret = _field(message, "secret", "queue message")
    version = _field(message, "version", "queue message")
    reason = _field(message, "reason", "queue message")
    if secret.lower() != settings.secret_name.lower():
        raise EventRejected(f"queue message 'secret' {shown(secret)}: not the configured secret")
    if not _VERSION.match(version):
        raise EventRejected(f"queue message 'version' {shown(version)}: the rule is 32 hex digits")
    if reason not in REASONS:
        raise EventRejected(f"queue message 'reason' {shown(reason)}: one of {', '.join(REASONS)}")
    return {"secret": secret, "version": version, "reason": reason}


def run_queued(
    message: str | bytes,
    settings: HostedSettings,
    services: Services | None = None,
    *,
    hook: Callable[[str], None] = lambda point: None,
) -> dict[str, Any]:
    """The long phase, under the secret's lease; returns {"status", "message", "run"}.

    Statuses: `rotated`, `resumed` (an operation under way finished), `skipped` (the version was
    rotated meanwhile). Raises LeaseBusy when another run keeps the lease past the wait (the queue
    redelivers the message later), RotationStopped when a step could not complete (nothing
    broken; the message is retried and the run resumes), EventRejected for a bad message.
    """
    wanted = parse_message(message, settings)
    services = services or Services.default(settings)
    timing = services.timing
    lease = SecretLease(
        services.container,
        settings.lease_blob,
        duration=timing.lease_seconds,
        wait=timing.lease_wait,
        poll=timing.lease_poll,
    )
    with lease:
        vault = services.vault(settings)
        latest = vault.latest()
        current = state.parse_state(latest.tags, settings.secret_name)
        if current.progress is not None:
            op, status = current.progress.op, "resumed"
        elif latest.version == wanted["version"]:
            op, status = state.Operation("rotate"), "rotated"
        else:
            return _run_outcome(
                "skipped",
                f"version {wanted['version']} is no longer the latest ({latest.version}): "
                "already rotated",
                lease,
            )
        edges = Edges.connect(
            services.connection,
            settings.target,
            vault,
            probe_waiter=timing.waiter(timing.probe_timeout),
            confirm_waiter=timing.waiter(timing.confirm_timeout),
        )
        engine = Engine(
            edges,
            settings.consumers,
            drain_seconds=timing.drain_seconds,
            sleep=services.sleep,
            run_id=lease.run_id,
            guard=lease.check,
            hook=hook,
            echo=log.info,
        )
        outcome = engine.run(op)
        return _run_outcome(
            status,
            f"{outcome.operation}: version {outcome.version} holds {outcome.slot}",
            lease,
        )


def _run_outcome(status: str, message: str, lease: SecretLease) -> dict[str, Any]:
    log.info("%s (run %s): %s", status, lease.run_id, message)
    return {"status": status, "message": message, "run": lease.run_id}


def check_due(
    settings: HostedSettings,
    services: Services | None = None,
    *,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The daily re-check; returns {"status", "message"} (`queued` or `idle`/`running`)."""
    services = services or Services.default(settings)
    now = now or datetime.now(UTC)
    latest = services.vault(settings).latest()
    current = state.parse_state(latest.tags, settings.secret_name)
    if current.progress is not None:
        if _lease_held(services, settings):
            return _outcome(
                "running", f"{current.progress.op.tag} under way and its run holds the lease"
            )
        services.enqueue(queue_message(settings.secret_name, latest.version, "timer"))
        return _outcome(
            "queued",
            f"{current.progress.op.tag} stranded at step {current.progress.next_step + 1} "
            f"(version {latest.version}): run queued to finish it",
        )
    due = latest.expires_on is None or latest.expires_on - now <= timedelta(days=NEAR_EXPIRY_DAYS)
    if due:
        when = latest.expires_on.date().isoformat() if latest.expires_on else "never"
        services.enqueue(queue_message(settings.secret_name, latest.version, "timer"))
        return _outcome("queued", f"version {latest.version} expires {when}: rotation queued")
    days = (latest.expires_on - now).days if latest.expires_on else 0
    return _outcome("idle", f"version {latest.version} expires in {days} days: nothing due")


def _lease_held(services: Services, settings: HostedSettings) -> bool:
    try:
        properties = services.container.get_blob_client(settings.lease_blob).get_blob_properties()
    except AzureError as exc:
        log.info("lease %s: no state (%s)", settings.lease_blob, describe(exc))
        return False
    return properties.lease.state == "leased"


__all__ = [
    "EventRejected",
    "HostedSettings",
    "LeaseBusy",
    "RotationStopped",
    "Services",
    "Timing",
    "accept_event",
    "check_due",
    "event_payload",
    "parse_message",
    "queue_message",
    "run_queued",
    "sender",
    "settings_from_environment",
]
