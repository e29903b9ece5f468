"""The hosted rehearsal: the Function App's handlers (rotation/hosted.py) as the Functions host
runs them, against the in-memory emulator, with Azurite for the lease and the queue.

Each round makes the latest version due (its `exp` moved 29 days ahead, as if two months had
passed) and then plays what Azure does:

- Event Grid delivers Key Vault's `SecretNearExpiry` at least once: two concurrent deliveries
  and a later redelivery of the same event, plus a late event for the version before it
  (Event Grid schema, data as Key Vault sends it: Id, VaultName, ObjectType, ObjectName,
  Version, NBF, EXP; learn.microsoft.com/azure/event-grid/event-schema-key-vault);
- two queue workers (two instances of the app) take messages as the queue trigger does: a run
  that raises leaves its message to come back after the visibility timeout, and after
  `MAX_DEQUEUE` attempts the message goes to `<queue>-poison` (host.json `maxDequeueCount`);
- one round's event is lost: the daily timer (`check_due`) finds the due version instead;
- rounds 0 and 3 have their first run crash part-way (between steps: before and after the
  publish), and the redelivered message resumes;
- one round has `python -m rotation rotate --lease-account ...` racing the automation;
- a timer tick after every round, which must find nothing due.

The goal: exactly one rotation per due version, no failed client request.
"""

from __future__ import annotations

import contextlib
import io
import json
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from catalog import hosted as names
from catalog import ids, secret
from drill.rehearsal import (
    LOCAL_WAITS,
    SDK_INSTANCES,
    SDK_WORKERS,
    Faults,
    apply_faults,
    chat_caller,
    run_load,
    summary,
    vault_host,
)
from drill.world import local_world
from emulator.azurite import azurite
from emulator.topology import REFERENCE_SITE
from rotation import cli, hosted, resolve
from rotation.commands import Waits
from rotation.engine import RotationStopped

MAX_DEQUEUE = 5
VISIBILITY_SECONDS = 1
ROUND_TIMEOUT = 90.0
# Where a round's first run crashes: after the standby key's regeneration is recorded (before
# publishing), and, from the fourth round on, right after publishing (before the confirmation).
CRASH_POINTS = {0: "1:recorded", 3: "2:done"}


class InjectedCrash(RuntimeError):
    """The run's process "dies" between two steps (the function raises; the host retries)."""


@dataclass
class Ledger:
    """What the drill saw, thread-safe."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    deliveries: Counter[str] = field(default_factory=Counter)
    runs: Counter[str] = field(default_factory=Counter)
    timer: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)

    def note(self, counter: str, key: str) -> None:
        with self.lock:
            getattr(self, counter)[key] += 1

    def error(self, text: str) -> None:
        with self.lock:
            self.errors.append(text[:300])


def near_expiry_event(world: Any, version: Any) -> dict[str, Any]:
    """`Microsoft.KeyVault.SecretNearExpiry` as Event Grid delivers it (Event Grid schema)."""
    return {
        "id": str(uuid.uuid4()),
        "topic": world.vault.id,
        "subject": world.secret_name,
        "eventType": names.SECRET_NEAR_EXPIRY,
        "eventTime": datetime.now(UTC).isoformat(),
        "data": {
            "Id": f"{ids.secret_uri(world.vault_url, world.secret_name)}/{version.version}",
            "VaultName": world.vault.name,
            "ObjectType": "Secret",
            "ObjectName": world.secret_name,
            "Version": version.version,
            "NBF": version.nbf,
            "EXP": version.exp,
        },
        "dataVersion": "1",
        "metadataVersion": "1",
    }


def app_settings(local: Any, storage: Any) -> dict[str, str]:
    """The Function App's settings for this world (names: catalog/hosted.py)."""
    world = local.world
    return {
        names.VAULT_URI: world.vault_url,
        names.SECRET_NAME: world.secret_name,
        names.ACCOUNT_ID: world.account.id,
        names.AI_ENDPOINT: world.endpoint,
        names.DEPLOYMENT: world.deployment,
        names.CONSUMER_SITE_IDS: names.join_list(
            [local.state.site(REFERENCE_SITE).id, local.state.site(local.sdk_site).id]
        ),
        names.CONSUMER_HEALTH_URLS: local.health_url,
        names.LEASE_CONTAINER_SETTING: names.LEASE_CONTAINER,
        names.QUEUE_NAME_SETTING: names.QUEUE_NAME,
        names.STORAGE_BLOB_URI: storage.blob_url,
        names.STORAGE_QUEUE_URI: storage.queue_url,
    }


class QueueWorkers:
    """Queue-triggered instances: receive, run, delete; a failure makes the message visible
    again after VISIBILITY_SECONDS, and the MAX_DEQUEUE-th failure moves it to the poison
    queue (the Functions host's queue trigger)."""

    def __init__(self, queue: Any, poison: Any, handle: Any, ledger: Ledger, count: int) -> None:
        self._queue = queue
        self._poison = poison
        self._handle = handle
        self._ledger = ledger
        self._stop = threading.Event()
        self._busy = 0
        self._lock = threading.Lock()
        self._threads = [
            threading.Thread(target=self._loop, name=f"queue-worker-{i}", daemon=True)
            for i in range(count)
        ]

    def __enter__(self) -> QueueWorkers:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)

    @property
    def busy(self) -> bool:
        with self._lock:
            return self._busy > 0

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                message = self._queue.receive_message(visibility_timeout=VISIBILITY_SECONDS * 30)
            except Exception as exc:  # storage emulator hiccup: try again
                self._ledger.error(f"receive: {type(exc).__name__}")
                time.sleep(0.1)
                continue
            if message is None:
                time.sleep(0.05)
                continue
            with self._lock:
                self._busy += 1
            try:
                self._run(message)
            finally:
                with self._lock:
                    self._busy -= 1

    def _run(self, message: Any) -> None:
        try:
            outcome = self._handle(message.content, message.dequeue_count)
        except Exception as exc:
            kind = type(exc).__name__
            self._ledger.note("runs", f"failed:{kind}")
            if message.dequeue_count >= MAX_DEQUEUE:
                self._poison.send_message(message.content)
                self._queue.delete_message(message)
                self._ledger.note("runs", "poisoned")
                self._ledger.error(f"poisoned after {kind}: {exc}")
            else:
                self._queue.update_message(message, visibility_timeout=VISIBILITY_SECONDS)
            return
        self._ledger.note("runs", outcome["status"])
        self._queue.delete_message(message)


def drill(
    rotations: int, clients: int, *, faults: Faults | None = None, waits: Waits | None = None
) -> dict[str, Any]:
    """Run the hosted rehearsal; the report has the load figures, `deliveries`, `runs`,
    `timer`, `due` and `ok` (exactly one rotation per due version, nothing failed)."""
    faults = faults or Faults()
    waits = waits or LOCAL_WAITS
    with (
        azurite() as storage,
        local_world(
            accept_delay=faults.accept_delay,
            instances=SDK_INSTANCES,
            workers=SDK_WORKERS,
        ) as local,
    ):
        hits = apply_faults(local.state, vault_host(local), faults)
        report = _rehearse(local, storage, rotations, clients, waits)
        report["faults"] = {**faults.describe(), "hits": hits()}
        return report


def _rehearse(
    local: Any, storage: Any, rotations: int, clients: int, waits: Waits
) -> dict[str, Any]:
    emulated, world = local.state, local.world
    settings = resolve.settings_from_environment(app_settings(local, storage))
    container = storage.container(settings.lease_container)
    queue = storage.queue(settings.queue_name)
    poison = storage.queue(f"{settings.queue_name}-poison")
    timing = hosted.Timing(
        probe_timeout=waits.probe_timeout,
        confirm_timeout=waits.confirm_timeout,
        poll_interval=waits.poll_interval,
        poll_cap=0.2,
        drain_seconds=waits.drain_seconds,
        lease_seconds=15,
        lease_wait=60.0,
        lease_poll=0.05,
    )
    services = hosted.Services(local.connection, container, hosted.sender(queue), timing=timing)
    ledger = Ledger()
    crashes: dict[str, str | None] = {"point": None}
    crash_lock = threading.Lock()

    def crash_hook(point: str) -> None:
        with crash_lock:
            if point == crashes["point"]:
                crashes["point"] = None
                raise InjectedCrash(f"crash injected at {point}")

    def handle(content: bytes, dequeue_count: int) -> dict[str, Any]:
        return hosted.run_queued(content, settings, services, hook=crash_hook)

    def deliver(event: dict[str, Any]) -> None:
        try:
            outcome = hosted.accept_event(event, settings, services)
        except Exception as exc:  # Event Grid would redeliver; the drill counts it
            ledger.note("deliveries", f"failed:{type(exc).__name__}")
            ledger.error(f"delivery: {exc}")
            return
        ledger.note("deliveries", outcome["status"])

    def tick() -> str:
        try:
            outcome = hosted.check_due(settings, services)
        except Exception as exc:
            ledger.note("timer", f"failed:{type(exc).__name__}")
            ledger.error(f"timer: {exc}")
            return "failed"
        ledger.note("timer", outcome["status"])
        return outcome["status"]

    outputs = Path(tempfile.mkdtemp(prefix="drill-outputs-")) / "outputs.json"
    outputs.write_text(json.dumps(local.stack_outputs()))
    cli_connection = replace(local.connection, containers=lambda a, c: storage.container(c))
    cli_results: list[str] = []

    def cli_run() -> None:
        lines: list[str] = []
        argv = [
            "rotate",
            "--stack-outputs",
            str(outputs),
            "--lease-account",
            storage.account,
            "--lease-container",
            settings.lease_container,
            "--lease-wait",
            "60",
            "--probe-timeout",
            str(waits.probe_timeout),
            "--confirm-timeout",
            str(waits.confirm_timeout),
            "--poll-interval",
            str(waits.poll_interval),
            "--drain-seconds",
            str(waits.drain_seconds),
        ]
        with contextlib.redirect_stderr(io.StringIO()) as err:
            code = cli.main(argv, connection=cli_connection, out=lines.append)
        last = lines[-1] if lines else err.getvalue().strip().splitlines()[-1:]
        cli_results.append(f"exit {code}: {last}")

    previous: list[Any] = []
    missed_round = 1 if rotations > 1 else None
    cli_round = 2 if rotations > 2 else None
    rounds = {"n": 0}

    def one_round() -> None:
        r = rounds["n"]
        rounds["n"] += 1
        latest = emulated.latest_secret(world.vault.name, world.secret_name)
        # Two months later: the latest version expires in 29 days, so it is due.
        with emulated.lock:
            latest.exp = int((datetime.now(UTC) + timedelta(days=29)).timestamp())
        with crash_lock:
            crashes["point"] = CRASH_POINTS.get(r)
        threads: list[threading.Thread] = []
        if r == cli_round:
            threads.append(threading.Thread(target=cli_run, name="cli-rotate"))
        if r != missed_round:
            event = near_expiry_event(world, latest)
            threads += [threading.Thread(target=deliver, args=(event,)) for _ in range(2)]
            if previous:
                late = near_expiry_event(world, previous[-1])
                threads.append(threading.Thread(target=deliver, args=(late,)))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if r == missed_round:
            tick()
        else:
            time.sleep(0.2)
            deliver(event)  # Event Grid redelivers (no answer seen within its timeout)
        _wait_round(emulated, world, latest.version, workers, queue)
        previous.append(latest)
        if tick() != "idle":
            raise RotationStopped(f"round {r}: the timer found work left after the round")

    call = chat_caller(local, clients)
    local.warm_up()
    regenerations_before = emulated.account(world.account.name).regenerations
    versions_before = len(emulated.secret_versions(world.vault.name, world.secret_name))
    workers = QueueWorkers(queue, poison, handle, ledger, count=2)
    with workers:
        tally, durations = run_load(call, clients, one_round, rotations)
    versions = emulated.secret_versions(world.vault.name, world.secret_name)
    rotated = len(versions) - versions_before
    regenerations = emulated.account(world.account.name).regenerations - regenerations_before
    report = summary(tally, durations, local.kv_reads(), len(local.key_clients), "local-hosted")
    report.update(
        rotations=rotated,
        due=rounds["n"],
        regenerations=regenerations,
        deliveries=dict(sorted(ledger.deliveries.items())),
        runs=dict(sorted(ledger.runs.items())),
        timer=dict(sorted(ledger.timer.items())),
        cli=cli_results,
        poisoned=_count(poison),
        problems=ledger.errors,
    )
    # Each due version rotated once: one new version and one regeneration of the standby key
    # each (a rotation regenerates the standby key only).
    report["ok"] = (
        not tally.stopped
        and rotated == rounds["n"]
        and regenerations == rounds["n"]
        and report["poisoned"] == 0
        and all(line.startswith("exit 0") for line in cli_results)
    )
    return report


def _count(queue: Any) -> int:
    return queue.get_queue_properties().approximate_message_count


def _wait_round(
    emulated: Any, world: Any, due_version: str, workers: QueueWorkers, queue: Any
) -> None:
    deadline = time.monotonic() + ROUND_TIMEOUT
    while time.monotonic() < deadline:
        latest = emulated.latest_secret(world.vault.name, world.secret_name)
        idle = secret.TAG_OP not in latest.tags
        if latest.version != due_version and idle and not workers.busy and _count(queue) == 0:
            return
        time.sleep(0.05)
    raise RotationStopped(
        f"the due version {due_version} was not rotated within {ROUND_TIMEOUT:g} s"
    )
