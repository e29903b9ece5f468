"""Confirmation means every process: each App Service instance of the SDK app (ARM
`GET {siteId}/instances`, each asked through its ARRAffinity cookie, as App Service's front end
routes by that cookie) and each gunicorn worker of each instance (app/workers.py)."""

from __future__ import annotations

import pytest

import emulator
from drill.world import local_world
from emulator.topology import SDK_SITE
from rotation.engine import RotationStopped, consumer_sites
from rotation.state import Operation


@pytest.fixture
def scaled():
    with local_world(instances=2, workers=2) as world:
        yield world


def health(local, instance):
    session = emulator.session(local.state)
    return session.get(
        f"https://{SDK_SITE}.azurewebsites.net/healthz",
        cookies={"ARRAffinity": instance},
        timeout=10,
    ).json()


def prime(local):
    """Each worker serves a request (and so loads its key and reports it)."""
    for instance in local.state.site(SDK_SITE).instances:
        for _ in range(2):
            health(local, instance)


def test_every_instance_and_worker_is_confirmed(scaled):
    prime(scaled)
    reads = [client.kv_reads for client in scaled.key_clients]
    outcome = scaled.engine(drain=0.0).run(Operation("rotate"))
    # Each worker read Key Vault exactly once, because the confirmation asked for the version
    # (the answering worker at once, the others from the instance's board): no timer, no 401.
    assert [c.kv_reads - r for c, r in zip(scaled.key_clients, reads, strict=True)] == [1] * 4
    assert [c.expect_reads for c in scaled.key_clients] == [1] * 4
    seen = consumer_sites(scaled.connection, scaled.target, scaled.vault(), _waiter()).observe(
        scaled.consumers[2], outcome.version
    )
    assert (seen.confirmed, seen.detail) == (
        True,
        f"2 instance(s), 4 worker(s) on {outcome.version}",
    )
    for instance in scaled.state.site(SDK_SITE).instances:
        report = health(scaled, instance)
        assert report["instance"] == instance
        assert {w["secretVersion"] for w in report["workers"]} == {outcome.version}


def test_one_worker_behind_on_one_instance_is_not_confirmed(scaled):
    prime(scaled)
    before = scaled.state.keys(scaled.world.account.name)
    stuck = scaled.key_clients[3]  # the second worker of the second instance
    # A worker that cannot get the new version: it keeps the one it has.
    stuck.expect = lambda version: stuck.cached
    stuck._max_age = 0
    with pytest.raises(RotationStopped) as raised:
        scaled.engine(drain=0.0, confirm_timeout=0.3).run(Operation("rotate"))
    second = scaled.state.site(SDK_SITE).instances[1]
    old = stuck.cached.version
    assert f"{SDK_SITE} (health): instance {second[:12]}: a process on version {old}" in str(
        raised.value
    )
    after = scaled.state.keys(scaled.world.account.name)
    assert after["key1"] == before["key1"]  # the key the stuck worker holds stays valid


def test_without_instance_listing_the_detail_says_what_was_confirmed(scaled):
    prime(scaled)
    site_id = scaled.state.site(SDK_SITE).id
    listing = next(
        g
        for g in scaled.state.grants
        if g.scope == site_id and "Microsoft.Web/sites/instances/read" in g.actions
    )
    scaled.state.revoke(listing)
    config = ("Microsoft.Web/sites/config/read", "Microsoft.Web/sites/config/write")
    scaled.state.grant(scaled.world.rotator, site_id, actions=config)
    outcome = scaled.engine(drain=0.0).run(Operation("rotate"))
    # Only the instance the front end chose was asked for the version (the other moves on its
    # first 401 or its max age): the confirmation says so.
    seen = consumer_sites(scaled.connection, scaled.target, scaled.vault(), _waiter()).confirm(
        scaled.consumers[2], outcome.version
    )
    assert seen.confirmed is True
    assert seen.detail == (
        "the front end's instance (instances not listed: HTTP 403 AuthorizationFailed), "
        f"2 worker(s) on {outcome.version}"
    )


def _waiter():
    from azure_edge.retry import Waiter

    return Waiter(timeout=1.0, interval=0.02, cap=0.1)


def test_observing_never_makes_an_app_read_key_vault_and_confirming_asks_once(scaled):
    """`status` observes (`Consumers.observe`): no `expectVersion`, so no worker reads Key
    Vault; `confirm` asks, and each of the 4 workers reads once."""
    prime(scaled)
    world, emulated = scaled.world, scaled.state
    current = emulated.latest_secret(world.vault.name, world.secret_name)
    emulated.set_secret(world.vault.name, world.secret_name, current.value, tags=dict(current.tags))
    published = emulated.latest_secret(world.vault.name, world.secret_name).version
    consumers = consumer_sites(scaled.connection, scaled.target, scaled.vault(), _waiter())
    reads = [client.kv_reads for client in scaled.key_clients]
    seen = consumers.observe(scaled.consumers[2], published)
    assert seen.confirmed is False
    assert [c.kv_reads for c in scaled.key_clients] == reads
    confirmed = consumers.confirm(scaled.consumers[2], published)
    assert (confirmed.confirmed, confirmed.detail) == (
        True,
        f"2 instance(s), 4 worker(s) on {published}",
    )
    assert [c.kv_reads - r for c, r in zip(scaled.key_clients, reads, strict=True)] == [1] * 4
