"""Runs a plan (rotation/state.py) against the Azure edge (azure_edge/), recording progress.

The secret's latest version carries the progress, so any crash followed by a re-run of the same
command resumes where it stopped; a different command first finishes the operation under way.
"""

from __future__ import annotations

import hmac
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from azure_edge.account_keys import AccountKeys
from azure_edge.clients import Connection
from azure_edge.errors import EdgeError
from azure_edge.probe import Probe
from azure_edge.retry import Waiter
from azure_edge.sites import Consumer, ConsumerSites
from azure_edge.vault import SecretRecord, VaultSecrets
from catalog import secret
from catalog.key_shapes import shown
from rotation import state
from rotation.target import InputError, Target

log = logging.getLogger(__name__)


class RotationStopped(RuntimeError):
    """A rotation stopped on purpose, with nothing broken; the message is one line."""


@dataclass
class Edges:
    """The four edges a rotation drives, and how long the probe may wait for a new key."""

    vault: VaultSecrets
    keys: AccountKeys
    probe: Probe
    consumers: ConsumerSites
    probe_waiter: Waiter = field(default_factory=Waiter)

    @classmethod
    def connect(
        cls,
        connection: Connection,
        target: Target,
        vault: VaultSecrets,
        *,
        probe_waiter: Waiter,
        confirm_waiter: Waiter,
    ) -> Edges:
        """The edges of a rotation of `target` (the endpoint asked of ARM when not given)."""
        keys = connection.account_keys(
            target.account.subscription,
            target.account.resource_group,
            target.account.name,
            secret.ARM_KEY_NAMES,
        )
        endpoint = target.endpoint or keys.endpoint()
        return cls(
            vault=vault,
            keys=keys,
            probe=connection.probe(endpoint, target.deployment),
            consumers=consumer_sites(connection, target, vault, confirm_waiter),
            probe_waiter=probe_waiter,
        )


def consumer_sites(
    connection: Connection, target: Target, vault: VaultSecrets, waiter: Waiter
) -> ConsumerSites:
    """The consumer edge alone (all `status` needs)."""
    return connection.sites(vault.vault_name, target.secret_name, waiter)


@dataclass
class Outcome:
    """What a run did: each step as 'index/total description', the final version and slot."""

    operation: str
    resumed: list[str] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)
    version: str = ""
    slot: str = ""


def period_days(tags: dict[str, str], override: int | None) -> int:
    """The validity period for a new version: the flag, else the secret's tag, else the default
    (catalog/secret.py: 1-365 days, 90 by default; a tag outside the bounds counts as none)."""
    if override is not None:
        return override
    return secret.period_from_tag(tags.get(secret.TAG_PERIOD))


class Engine:
    """Performs operations on one secret and its account.

    `hook(point)` is called after each step's action ('<i>:done') and after its record
    ('<i>:recorded'), and after an operation is recorded as started ('start'): tests raise there
    to simulate a crash.

    Fencing: the run records `run_id` in the latest version's tags when it starts or takes over
    an operation, and before every write (tags, publish, regeneration) it calls `guard()` (the
    lease holder's check: the lease is still ours) and re-reads the latest version: when the
    version, the step or the run tag is not what this run last wrote, another run is acting and
    this one stops without writing.
    """

    def __init__(
        self,
        edges: Edges,
        consumers: tuple[Consumer, ...],
        *,
        period_override: int | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        hook: Callable[[str], None] = lambda point: None,
        echo: Callable[[str], None] = log.info,
        drain_seconds: float = 0.0,
        sleep: Callable[[float], None] = time.sleep,
        run_id: str | None = None,
        guard: Callable[[], None] = lambda: None,
    ) -> None:
        # Checked before anything changes: a bad period would otherwise stop a run half-way.
        if period_override is not None and not secret.is_period(period_override):
            raise InputError(f"period {period_override!r}: the rule is {secret.PERIOD_RULE}")
        self.edges = edges
        self.consumers = consumers
        self._period_override = period_override
        self._now = now
        self._hook = hook
        self._echo = echo
        self._drain = drain_seconds
        self._sleep = sleep
        self.run_id = run_id or str(uuid.uuid4())
        self._guard = guard

    def run(self, op: state.Operation) -> Outcome:
        """Finish any operation under way, then perform `op` unless it was the one under way."""
        if not self.consumers:
            raise InputError(
                "consumers: none known; the rule is stack outputs apps.<app>.siteId/hostName or "
                f"the {secret.TAG_CONSUMERS!r} tag on the secret"
            )
        outcome = Outcome(op.tag)
        latest = self.edges.vault.latest()
        current = state.parse_state(latest.tags, self.edges.vault.name)
        # Before any change: the account's keys can be listed and the probe's route exists (the
        # answer for the key in use does not matter here: a revoke may be what fixes it).
        self.edges.keys.check()
        self._accepted(self.edges.keys.key(current.active_slot))
        if current.progress is not None:
            same = current.progress.op == op
            self._echo(
                f"resuming {current.progress.op.tag} at step {current.progress.next_step + 1}/"
                f"{len(current.progress.steps)} (state {current.state_name}, version "
                f"{latest.version}, slot {current.active_slot})"
            )
            latest = self._claim(latest, "taking over the operation under way")
            latest = self._execute(latest, current.progress, outcome.resumed)
            if same:
                return self._finish(outcome, latest)
            current = state.parse_state(latest.tags, self.edges.vault.name)
        progress = state.Progress(op, current.active_slot, 0)
        self._echo(
            f"starting {op.tag}: version {latest.version}, active {current.active_slot}, "
            f"plan: {', '.join(s.describe() for s in progress.steps)}"
        )
        self._fence(latest, f"starting {op.tag}")
        tags = state.claimed_tags(
            state.progress_tags(latest.tags, progress, current.active_slot), self.run_id
        )
        self.edges.vault.update(latest.version, tags=tags)
        latest = replace(latest, tags=tags)
        self._hook("start")
        latest = self._execute(latest, progress, outcome.steps)
        return self._finish(outcome, latest)

    def _finish(self, outcome: Outcome, latest: SecretRecord) -> Outcome:
        outcome.version = latest.version
        outcome.slot = latest.tags.get(secret.TAG_SLOT, "")
        self._echo(f"done: version {outcome.version} holds {outcome.slot}; every consumer on it")
        return outcome

    def _execute(
        self, latest: SecretRecord, progress: state.Progress, done: list[str]
    ) -> SecretRecord:
        steps = progress.steps
        current: state.Progress | None = progress
        while current is not None:
            index = current.next_step
            step = steps[index]
            label = f"{index + 1}/{len(steps)} {step.describe()}"
            active = latest.tags.get(secret.TAG_SLOT, "")
            following = state.advance(current)
            if step.kind is state.StepKind.CONFIRM:
                moved = self._confirm(latest.version, active, steps[index + 1 :])
                # Right after a publish every consumer switched at some moment up to now, even
                # one that had already moved on its own before the first look: the drain before
                # the retired key is regenerated counts from now.
                after_publish = index > 0 and steps[index - 1].kind is state.StepKind.PUBLISH
                if moved or after_publish:
                    switched = state.switched_tags(latest.tags, self._now())
                    latest = replace(latest, tags=switched)
            elif step.kind is state.StepKind.REGENERATE:
                assert step.slot is not None
                if step.slot == active:
                    # Never reached by a valid plan: the latest version must always hold a live key.
                    raise RotationStopped(
                        f"refusing to regenerate {step.slot}: latest version {latest.version} "
                        "holds it"
                    )
                if progress.op.kind != "revoke":
                    self._wait_for_drain(latest)
                self._fence(latest, f"regenerating {step.slot}")
                self.edges.keys.regenerate(step.slot)
            else:
                assert step.slot is not None
                latest = self._publish(latest, step.slot, following)
            self._echo(
                f"step {label}: done (version {latest.version}, slot "
                f"{latest.tags.get(secret.TAG_SLOT)})"
            )
            self._hook(f"{index}:done")
            if step.kind is not state.StepKind.PUBLISH:
                latest = self._record(latest, following)
            done.append(label)
            self._hook(f"{index}:recorded")
            current = following
        return latest

    def _record(self, latest: SecretRecord, following: state.Progress | None) -> SecretRecord:
        slot = latest.tags[secret.TAG_SLOT]
        tags = (
            state.finished_tags(latest.tags, slot, self._now())
            if following is None
            else state.progress_tags(latest.tags, following, slot)
        )
        self._fence(latest, "recording progress")
        self.edges.vault.update(latest.version, tags=tags)
        return replace(latest, tags=tags)

    def _claim(self, latest: SecretRecord, why: str) -> SecretRecord:
        """Record this run as the one acting on the operation under way."""
        self._fence(latest, why)
        tags = state.claimed_tags(latest.tags, self.run_id)
        self.edges.vault.update(latest.version, tags=tags)
        return replace(latest, tags=tags)

    def _fence(self, latest: SecretRecord, before: str) -> None:
        """Stop unless the latest version is still the one this run last wrote (same version,
        operation, step and run): another run (an Event Grid redelivery, the timer, a second
        shell, or this run's own lease lost and taken over) may have moved on meanwhile."""
        self._guard()
        fresh = self.edges.vault.latest()
        fenced = (secret.TAG_OP, secret.TAG_STEP, secret.TAG_RUN)
        expected = {k: latest.tags.get(k) for k in fenced}
        found = {k: fresh.tags.get(k) for k in fenced}
        if fresh.version != latest.version or found != expected:
            raise RotationStopped(
                f"secret {self.edges.vault.name!r} changed while this run was under way (latest "
                f"version {fresh.version} at step {found[secret.TAG_STEP]} of "
                f"{found[secret.TAG_OP]} by run {found[secret.TAG_RUN]}; this run {self.run_id} "
                f"expected version {latest.version} at step {expected[secret.TAG_STEP]} of "
                f"{expected[secret.TAG_OP]}); another run is acting on it: stopped before "
                f"{before}, nothing broken; re-run once it is done"
            )

    def _wait_for_drain(self, latest: SecretRecord) -> None:
        # A request that read the retired key just before its consumer switched may still be in
        # flight; a revoke does not wait (the key is compromised), a rotation does.
        since = state.drain_since(latest.tags, latest.created_on)
        if since is None or self._drain <= 0:
            return
        remaining = (since - self._now()).total_seconds() + self._drain
        if remaining > 0:
            self._echo(f"waiting {remaining:.1f} s for requests on the retired key to drain")
            self._sleep(remaining)

    def _confirm(self, version: str, active: str, rest: tuple[state.Step, ...]) -> bool:
        """Confirm every consumer on `version`; True when any of them had to move to it."""
        failures = []
        moved = False
        for consumer in self.consumers:
            seen = self.edges.consumers.confirm(consumer, version)
            moved = moved or seen.moved
            if not seen.confirmed:
                failures.append(f"{consumer.name} ({consumer.kind}): {seen.detail}")
        if failures:
            nxt = next((s for s in rest if s.kind is state.StepKind.REGENERATE), None)
            stop = f"stopped before regenerating {nxt.slot}" if nxt else "stopped"
            raise RotationStopped(
                f"consumer not confirmed on version {version} (slot {active}): "
                f"{'; '.join(failures)}; {stop}, nothing broken; fix it and re-run"
            )
        return moved

    def _publish(
        self,
        latest: SecretRecord,
        slot: str,
        following: state.Progress | None,
    ) -> SecretRecord:
        value = self.edges.keys.key(slot)
        # Never publish a key that has not answered: a new key may be accepted only after a delay.
        waiter = self.edges.probe_waiter
        if waiter.until(lambda: True if self._accepted(value) else None) is None:
            raise RotationStopped(
                f"the AI endpoint did not accept {slot} within {waiter.timeout:g} s; nothing was "
                "published (re-run to retry)"
            )
        log.info("probe: %s accepted by the AI endpoint", slot)
        # Another run may have regenerated the slot while this one probed it: publishing the
        # probed value would then put a dead key in the latest version.
        if not hmac.compare_digest(self.edges.keys.key(slot).encode(), value.encode()):
            raise RotationStopped(
                f"{slot} changed while it was probed (another run regenerated it); nothing was "
                "published, re-run to publish the key as it is now"
            )
        self._fence(latest, f"publishing {slot}")
        now = self._now()
        tags = (
            state.finished_tags(state.published_tags(latest.tags, None, slot), slot, now)
            if following is None
            else state.published_tags(latest.tags, following, slot)
        )
        days = period_days(latest.tags, self._period_override)
        stated = latest.tags.get(secret.TAG_PERIOD)
        if self._period_override is None and stated is not None and stated.strip() != str(days):
            # A tag written by hand, or by a release that took longer periods: said, not silent.
            self._echo(
                f"tag {secret.TAG_PERIOD}={shown(stated)} is not {secret.PERIOD_RULE}: the new "
                f"version expires after the default {days} days"
            )
        expires = now + timedelta(days=days)
        record = self.edges.vault.write(value, tags, expires, secret.CONTENT_TYPE)
        self._echo(
            f"published {slot} as version {record.version} (expires "
            f"{expires.date().isoformat()}), was {latest.version}"
        )
        return record

    def _accepted(self, key: str) -> bool:
        """One probe; a missing chat deployment stops the run before anything is published."""
        try:
            return self.edges.probe.accepted(key)
        except EdgeError as exc:
            raise RotationStopped(
                f"{exc} (--deployment or stack output 'chatDeployment'); nothing was published"
            ) from None
