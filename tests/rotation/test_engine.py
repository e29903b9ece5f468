"""The engine against the emulator in memory: real SDK clients, both kinds of consumers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from drill.world import local_world
from emulator.topology import REFERENCE_SITE, SDK_SITE
from rotation import state
from rotation.engine import RotationStopped
from rotation.state import Operation

from .conftest import Look

NOW = datetime(2026, 11, 26, 12, 0, 0, tzinfo=UTC)


class Crash(Exception):
    """Stands for the process dying at a point."""


def engine(local, **kwargs):
    built = local.engine(
        **{k: v for k, v in kwargs.items() if k != "hook"}, hook=kwargs.get("hook", lambda p: None)
    )
    built._now = lambda: NOW
    return built


def test_rotate_publishes_a_fresh_standby_key_and_moves_every_consumer(local, look):
    before = look.keys()
    first = look.latest()
    outcome = engine(local).run(Operation("rotate"))
    after = look.keys()
    assert after["key1"] == before["key1"]  # the retired key stays valid until the next rotation
    assert after["key2"] != before["key2"]
    latest = look.latest()
    assert latest.value == after["key2"]
    assert latest.version != first.version and outcome.version == latest.version
    assert latest.tags == {
        "CredentialId": "key2",
        "ProviderAddress": local.world.account.id,
        "ValidityPeriodDays": "90",
        "RotationState": "idle",
        "Consumers": f"{REFERENCE_SITE},{SDK_SITE}",
        "RotatedAt": "2026-11-26T12:00:00+00:00",
        "SwitchedAt": "2026-11-26T12:00:00.000+00:00",
    }
    assert latest.exp == int((NOW + timedelta(days=90)).timestamp())
    assert latest.content_type == "text/plain; azure-ai-api-key"
    assert look.site_key() == after["key2"]
    assert look.sdk_version() == latest.version
    assert outcome.steps == [
        "1/4 confirm consumers",
        "2/4 regenerate key2",
        "3/4 publish key2",
        "4/4 confirm consumers",
    ]
    assert len(look.versions()) == 3


def test_second_rotation_regenerates_the_retired_key_and_switches_back(local, look):
    original = look.keys()
    engine(local).run(Operation("rotate"))
    middle = look.keys()
    engine(local).run(Operation("rotate"))
    final = look.keys()
    assert final["key2"] == middle["key2"]
    assert final["key1"] not in (original["key1"], middle["key1"])
    assert look.latest().value == final["key1"]
    assert look.latest().tags["CredentialId"] == "key1"
    assert look.site_key() == final["key1"]
    assert look.sdk_version() == look.latest().version


def test_revoke_of_the_active_slot_moves_consumers_then_regenerates_it(local, look):
    before = look.keys()
    outcome = engine(local).run(Operation("revoke", "key1"))
    after = look.keys()
    assert after["key2"] == before["key2"]  # the standby key goes into use as it is
    assert after["key1"] != before["key1"]
    assert look.latest().value == before["key2"]
    assert look.latest().tags["CredentialId"] == "key2"
    assert look.site_key() == before["key2"]
    assert outcome.steps == ["1/3 publish key2", "2/3 confirm consumers", "3/3 regenerate key1"]


def test_revoke_of_the_standby_slot_regenerates_it_without_a_new_version(local, look):
    before = look.keys()
    versions = len(look.versions())
    outcome = engine(local).run(Operation("revoke", "key2"))
    after = look.keys()
    assert after["key1"] == before["key1"] and after["key2"] != before["key2"]
    assert len(look.versions()) == versions
    assert look.latest().tags["CredentialId"] == "key1"
    assert outcome.steps == ["1/2 confirm consumers", "2/2 regenerate key2"]


def test_both_renews_both_keys_and_ends_on_the_primary(local, look):
    before = look.keys()
    versions = len(look.versions())
    outcome = engine(local).run(Operation("both"))
    after = look.keys()
    assert after["key1"] != before["key1"] and after["key2"] != before["key2"]
    assert look.latest().value == after["key1"]
    assert look.latest().tags["CredentialId"] == "key1"
    assert len(look.versions()) == versions + 2
    assert look.site_key() == after["key1"]
    assert look.sdk_version() == look.latest().version
    assert len(outcome.steps) == 6


def _points(op: Operation) -> list[tuple[Operation, str]]:
    steps = state.plan(op, "key1")
    return [(op, "start")] + [
        (op, f"{i}:{p}") for i in range(len(steps)) for p in ("done", "recorded")
    ]


CRASH_POINTS = [
    point
    for op in (
        Operation("rotate"),
        Operation("both"),
        Operation("revoke", "key1"),
        Operation("revoke", "key2"),
    )
    for point in _points(op)
]


@pytest.mark.parametrize(
    ("op", "point"), CRASH_POINTS, ids=[f"{o.tag}@{p}" for o, p in CRASH_POINTS]
)
def test_a_crash_anywhere_then_a_rerun_converges(op, point):
    with local_world(key_max_age=0.02) as local:
        look = Look(local)
        before = look.keys()
        versions = len(look.versions())
        seen: list[str] = []

        def crash(at: str) -> None:
            # At every point, the latest version holds a working key.
            assert look.latest_works(), at
            seen.append(at)
            if at == point and seen.count(at) == 1:
                raise Crash(at)

        with pytest.raises(Crash):
            engine(local, hook=crash).run(op)
        assert look.latest_works()
        steps = state.plan(op, "key1")
        finished = point == f"{len(steps) - 1}:recorded"
        if not finished:
            outcome = engine(local, hook=crash).run(op)
            # The re-run resumed the same operation instead of starting a second one.
            assert outcome.steps == []
            assert outcome.resumed == [
                f"{i + 1}/{len(steps)} {s.describe()}"
                for i, s in enumerate(steps)
                if i >= _resumes_at(steps, point)
            ]
        assert look.latest_works()
        published = [s.slot for s in steps if s.kind is state.StepKind.PUBLISH]
        regenerated = {s.slot for s in steps if s.kind is state.StepKind.REGENERATE}
        final_slot = published[-1] if published else "key1"
        latest = look.latest()
        assert len(look.versions()) == versions + len(published)
        assert latest.tags["CredentialId"] == final_slot
        assert latest.tags["RotationState"] == "idle"
        assert "RotationOp" not in latest.tags
        after = look.keys()
        for slot in state.SLOTS:
            assert (after[slot] != before[slot]) == (slot in regenerated), slot
        assert latest.value == after[final_slot]
        assert look.site_key() == after[final_slot]
        assert look.sdk_version() == latest.version


def _resumes_at(steps, point: str) -> int:
    """The step a re-run starts from: a step's action is redone unless recorded (publishing
    records itself)."""
    if point == "start":
        return 0
    index, phase = point.split(":")
    step = steps[int(index)]
    recorded = phase == "recorded" or step.kind is state.StepKind.PUBLISH
    return int(index) + 1 if recorded else int(index)


def test_unconfirmable_consumer_stops_before_any_key_it_may_use_is_regenerated(local, look):
    before = look.keys()
    versions = len(look.versions())
    local.state.mount(SDK_SITE, None)  # the SDK app is down: its version cannot be confirmed
    with pytest.raises(RotationStopped) as caught:
        engine(local, confirm_timeout=0.1).run(Operation("rotate"))
    latest = look.latest()
    instance = local.state.site(SDK_SITE).instances[0][:12]
    assert str(caught.value) == (
        f"consumer not confirmed on version {latest.version} (slot key1): {SDK_SITE} (health): "
        f"instance {instance}: health endpoint answered 503 with no secret version; stopped "
        "before regenerating key2, nothing broken; fix it and re-run"
    )
    assert look.keys() == before
    assert len(look.versions()) == versions
    assert latest.tags["RotationState"] == "started"


def test_revoke_stops_before_regenerating_when_a_site_cannot_be_refreshed(local, look):
    before = look.keys()
    write = next(g for g in local.state.grants if "Microsoft.Web/sites/config/write" in g.actions)
    local.state.revoke(write)
    with pytest.raises(RotationStopped) as caught:
        engine(local, confirm_timeout=0.1).run(Operation("revoke", "key1"))
    assert "stopped before regenerating key1" in str(caught.value)
    assert f"{REFERENCE_SITE} (site): refresh failed: HTTP 403 AuthorizationFailed" in str(
        caught.value
    )
    # key2 was published (it works); key1, which the site may still use, was left alone.
    assert look.keys() == before
    assert look.latest().value == before["key2"] and look.latest_works()
    assert look.site_key() == before["key1"]
    local.state.grants.append(write)
    engine(local).run(Operation("revoke", "key1"))
    assert look.keys()["key1"] != before["key1"]
    assert look.site_key() == before["key2"]


def test_a_key_accepted_only_after_a_delay_is_probed_until_it_answers():
    with local_world(accept_delay=0.15, key_max_age=0.02) as local:
        look = Look(local)
        built = engine(local)
        built.run(Operation("rotate"))
        assert built.edges.probe.attempts > 1
        assert look.latest_works()


def test_a_key_that_never_answers_is_not_published():
    with local_world(accept_delay=3600, key_max_age=0.02) as local:
        look = Look(local)
        versions = len(look.versions())
        with pytest.raises(RotationStopped) as caught:
            engine(local, probe_timeout=0.1).run(Operation("rotate"))
        assert str(caught.value) == (
            "the AI endpoint did not accept key2 within 0.1 s; nothing was published "
            "(re-run to retry)"
        )
        assert len(look.versions()) == versions
        assert look.latest().tags["CredentialId"] == "key1" and look.latest_works()


def test_another_command_first_finishes_the_operation_under_way(local, look):
    def crash(at: str) -> None:
        if at == "1:recorded":
            raise Crash(at)

    with pytest.raises(Crash):
        engine(local, hook=crash).run(Operation("rotate"))
    outcome = engine(local).run(Operation("revoke", "key2"))
    assert outcome.resumed == ["3/4 publish key2", "4/4 confirm consumers"]
    assert outcome.steps == ["1/3 publish key1", "2/3 confirm consumers", "3/3 regenerate key2"]
    assert look.latest().tags["CredentialId"] == "key1"


def test_rotation_waits_for_requests_on_the_retired_key_to_drain_revoke_does_not(local, look):
    waits: list[float] = []
    first = engine(local)
    first.run(Operation("rotate"))
    assert look.latest().tags["SwitchedAt"] == "2026-11-26T12:00:00.000+00:00"
    second = engine(local)
    second._drain, second._sleep = 5.0, waits.append
    second.run(Operation("rotate"))
    assert waits == [5.0]  # consumers switched "now": the whole drain period
    third = engine(local)
    third._drain, third._sleep = 5.0, waits.append
    third.run(Operation("revoke", "key1"))
    assert waits == [5.0]


def _sdk_only_engine(local, *, now, drain=0.0, sleep=None, hook=lambda p: None):
    """An engine whose only consumer is the SDK app (as for a secret read only through the SDK)."""
    from azure_edge.retry import Waiter
    from rotation.engine import Edges, Engine

    sdk = next(c for c in local.consumers if c.kind == "health")
    waiter = Waiter(timeout=5.0, interval=0.02, cap=0.2)
    edges = Edges.connect(
        local.connection, local.target, local.vault(), probe_waiter=waiter, confirm_waiter=waiter
    )
    return Engine(
        edges,
        (sdk,),
        now=now,
        hook=hook,
        echo=lambda line: None,
        drain_seconds=drain,
        sleep=sleep or (lambda s: None),
    )


def test_both_drains_the_retired_key_even_when_consumers_moved_before_the_first_look(local, look):
    # A rotation finished a day ago: its version carries an old RotatedAt.
    day_ago = datetime.now(UTC) - timedelta(days=1)
    _sdk_only_engine(local, now=lambda: day_ago).run(Operation("rotate"))
    assert look.latest().tags["CredentialId"] == "key2"

    def app_moves_on_its_own(point: str) -> None:
        # The SDK app's background re-check picks up each new version between the publish and
        # the confirm: at the confirm's first look it already reports the new version.
        if point in ("0:done", "3:done"):
            local.key_clients[0].revalidate()

    waits: list[float] = []
    _sdk_only_engine(
        local,
        now=lambda: datetime.now(UTC),
        drain=60.0,
        sleep=waits.append,
        hook=app_moves_on_its_own,
    ).run(Operation("both"))
    # Each regeneration waits for requests still holding the key just retired: the consumer
    # left it moments ago, not when the previous operation ended.
    assert len(waits) == 2 and all(55.0 < w <= 60.0 for w in waits), waits
    assert look.latest_works()


def test_a_run_never_regenerates_a_slot_another_run_published_meanwhile(local, look):
    """Two runs on one secret (e.g. an Event Grid redelivery while a rotation is under way)."""
    resumed: list[str] = []

    def other_run_finishes_first(point: str) -> None:
        if point == "0:recorded" and not resumed:
            resumed.append(point)
            # Another process resumes the same operation and completes it: key2 is published.
            engine(local).run(Operation("rotate"))
            assert look.latest().tags["CredentialId"] == "key2"

    with pytest.raises(RotationStopped) as caught:
        engine(local, hook=other_run_finishes_first).run(Operation("rotate"))
    published = look.latest()
    assert "changed while this run was under way" in str(caught.value)
    assert published.tags["CredentialId"] == "key2"
    assert look.latest_works()  # key2, which the latest version holds, was not regenerated
    assert look.keys()["key2"] == published.value


def test_a_key_regenerated_while_it_was_probed_is_not_published(local, look):
    """Another run regenerates the slot between this run's key read and its publish."""
    built = engine(local)
    accepted = built.edges.probe.accepted
    regenerated: list[str] = []

    def probe_then_other_run_regenerates(key: str) -> bool:
        answer = accepted(key)
        if answer and key == look.keys()["key2"] and not regenerated:
            regenerated.append(local.state.regenerate_key(look.account, "key2"))
        return answer

    built.edges.probe.accepted = probe_then_other_run_regenerates
    with pytest.raises(RotationStopped) as caught:
        built.run(Operation("rotate"))
    assert "key2 changed while it was probed" in str(caught.value)
    assert look.latest().tags["CredentialId"] == "key1" and look.latest_works()
    # A re-run resumes at the publish with the key as it is now.
    engine(local).run(Operation("rotate"))
    assert look.latest().value == look.keys()["key2"] == regenerated[0]
    assert look.latest_works()


def test_the_period_is_the_contracts_one_to_365_days():
    """The flag wins, else the secret's ValidityPeriodDays tag, else 90 (catalog/secret.py); a
    tag outside 1-365 states no period."""
    from rotation.engine import period_days

    assert period_days({"ValidityPeriodDays": "30"}, 7) == 7
    assert [
        period_days({"ValidityPeriodDays": raw}, None) for raw in ("1", "365", "366", "0", "x", "")
    ] == [1, 365, 90, 90, 90, 90]
    assert period_days({}, None) == 90


@pytest.mark.parametrize("override", [0, 366, 3650])
def test_a_period_outside_the_bounds_is_refused_before_anything_changes(local, look, override):
    from rotation.target import InputError

    before = (look.keys(), [v.version for v in look.versions()])
    with pytest.raises(InputError) as raised:
        engine(local, period_days=override)
    assert str(raised.value) == (
        f"period {override}: the rule is a whole number of days from 1 to 365"
    )
    assert (look.keys(), [v.version for v in look.versions()]) == before


def test_a_tag_past_the_bound_publishes_with_the_default_period_and_says_so(local, look):
    """A release that took periods up to 3650 days may have left such a tag: the rotation says
    which period it used instead of shortening the secret's life silently."""
    world = local.world
    first = look.latest()
    local.state.set_secret(
        world.vault.name,
        world.secret_name,
        first.value,
        tags={**first.tags, "ValidityPeriodDays": "3650"},
    )
    lines: list[str] = []
    engine(local, echo=lines.append).run(Operation("rotate"))
    assert look.latest().exp == int((NOW + timedelta(days=90)).timestamp())
    assert [line for line in lines if line.startswith("tag ")] == [
        "tag ValidityPeriodDays='3650' is not a whole number of days from 1 to 365: the new "
        "version expires after the default 90 days"
    ]


def test_no_key_reaches_the_logs_of_a_rotation(local, look, caplog):
    """Every logger at DEBUG, the SDKs' HTTP logging included: versions and slots, no key."""
    import logging

    caplog.set_level(logging.DEBUG)
    before = look.keys()
    engine(local).run(Operation("both"))
    after = look.keys()
    assert caplog.records and look.latest().version in caplog.text
    assert [key for key in {*before.values(), *after.values()} if key in caplog.text] == []
