"""What `python -m rotation status|rotate|revoke` do, as plain functions over resolved inputs
(rotation/cli.py parses the flags and prints what these return)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from azure_edge.clients import Connection
from azure_edge.retry import Waiter
from azure_edge.vault import VaultSecrets
from catalog import secret
from rotation import resolve, state, status
from rotation.engine import Edges, Engine, consumer_sites
from rotation.lease import DEFAULT_LEASE_SECONDS, SecretLease
from rotation.target import Target


@dataclass(frozen=True)
class Waits:
    """How long an operation waits, and the validity of what it publishes."""

    probe_timeout: float
    confirm_timeout: float
    poll_interval: float
    drain_seconds: float
    period_days: int | None = None


@dataclass(frozen=True)
class LeaseAt:
    """Where the automation's lease blobs are, and how long to wait for another holder."""

    account: str
    container: str
    wait: float


def status_report(
    where: resolve.Where,
    connection: Connection,
    *,
    threshold_days: float,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The status report (rotation/status.py): observed, nothing changed."""
    resolved, vault, latest = resolve.prepare(where, connection)
    consumers = consumer_sites(connection, resolved, vault, Waiter())
    current = state.parse_state(latest.tags, resolved.secret_name)
    vouched = current.progress is None and secret.TAG_ROTATED_AT in latest.tags
    observations = [
        consumers.observe(c, latest.version, vouched=vouched) for c in resolved.consumers
    ]
    return status.evaluate(
        resolved.secret_name,
        resolved.vault_url,
        latest,
        vault.versions(),
        observations,
        now=now or datetime.now(UTC),
        threshold_days=threshold_days,
    )


def operate(
    where: resolve.Where,
    connection: Connection,
    op: state.Operation,
    waits: Waits,
    *,
    lease_at: LeaseAt | None = None,
    echo: Callable[[str], None],
) -> str:
    """Perform `op` (finishing any operation under way first), under the secret's lease when
    `lease_at` names it; returns the one line that says what was done."""
    resolved, vault, seen = resolve.prepare(where, connection)
    if lease_at is None:
        return _run_engine(connection, resolved, vault, op, waits, echo)
    lease = resolve.lease(
        resolved,
        connection,
        account=lease_at.account,
        container=lease_at.container,
        duration=DEFAULT_LEASE_SECONDS,
        wait=lease_at.wait,
    )
    with lease:
        if op.kind != "revoke":
            latest = vault.latest()
            if latest.version != seen.version and secret.TAG_OP not in latest.tags:
                # Another run rotated while this one waited: rotating again would only
                # regenerate a key consumers have just moved onto.
                return (
                    f"{op.tag}: another run published version {latest.version} while this one "
                    f"waited for the lease (was {seen.version}); nothing more done"
                )
        return _run_engine(connection, resolved, vault, op, waits, echo, lease)


def _run_engine(
    connection: Connection,
    resolved: Target,
    vault: VaultSecrets,
    op: state.Operation,
    waits: Waits,
    echo: Callable[[str], None],
    lease: SecretLease | None = None,
) -> str:
    edges = Edges.connect(
        connection,
        resolved,
        vault,
        probe_waiter=Waiter(timeout=waits.probe_timeout, interval=waits.poll_interval, cap=5.0),
        confirm_waiter=Waiter(
            timeout=waits.confirm_timeout, interval=waits.poll_interval, cap=15.0
        ),
    )
    engine = Engine(
        edges,
        resolved.consumers,
        period_override=waits.period_days,
        drain_seconds=waits.drain_seconds,
        echo=echo,
        run_id=lease.run_id if lease else None,
        guard=lease.check if lease else lambda: None,
    )
    outcome = engine.run(op)
    return (
        f"{op.tag}: done; version {outcome.version} holds {outcome.slot} "
        f"({len(outcome.resumed) + len(outcome.steps)} steps)"
    )
