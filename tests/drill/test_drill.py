"""The rehearsal: rotations under concurrent load through both kinds of consumers."""

from __future__ import annotations

import json

from drill import hosted
from drill.__main__ import main
from drill.rehearsal import run_local_drill
from drill.world import local_world
from emulator.topology import REFERENCE_SITE, SDK_SITE


def test_drill_with_three_rotations_loses_no_request_and_counts_exactly():
    with local_world(accept_delay=0.05) as local:
        versions = len(local.state.secret_versions(local.world.vault.name, local.world.secret_name))
        local.state.reset_counters()
        refreshes = local.state.site(REFERENCE_SITE).refresh_count
        report = run_local_drill(local, rotations=3, clients=4)
        state = local.state
        assert report["failed"] == 0, report["errors"]
        assert report["rotations"] == 3
        chats = sum(
            state.requests(f"{site}.azurewebsites.net", method="POST", route="site")
            for site in (REFERENCE_SITE, SDK_SITE)
        )
        assert report["requests"] == chats > 0
        assert state.requests("management.azure.com", route="accounts/regenerateKey") == 3
        assert len(state.secret_versions(local.world.vault.name, local.world.secret_name)) == (
            versions + 3
        )
        # Three rotations alternate key1 -> key2 -> key1 -> key2.
        latest = state.latest_secret(local.world.vault.name, local.world.secret_name)
        assert latest.tags["CredentialId"] == "key2"
        # Counted from the warm-up on: the process start's first read is not a rotation's.
        assert report["kvReads"] == local.key_clients[0].kv_reads - 1
        # The SDK process read Key Vault once per rotation, when the confirmation asked it for
        # the new version; nothing while the rotation drained, regenerated or probed.
        assert (report["kvReads"], local.key_clients[0].expect_reads) == (3, 3)
        assert report["kvReadsPerRotationPerProcess"] == 1.0
        # One reference refresh per rotation (after publishing; before it the site is current).
        assert local.state.site(REFERENCE_SITE).refresh_count == refreshes + 3


def test_drill_command_prints_json_and_exits_0(capsys):
    lines: list[str] = []
    code = main(
        ["--local", "--rotations", "1", "--clients", "2", "--format", "json"], out=lines.append
    )
    report = json.loads(lines[0])
    assert code == 0
    assert (report["mode"], report["rotations"], report["failed"]) == ("local", 1, 0)
    assert set(report) == {
        "mode",
        "requests",
        "failed",
        "errors",
        "rotations",
        "stopped",
        "faults",
        "kvReads",
        "kvReadsPerRotationPerProcess",
        "p50Ms",
        "p99Ms",
        "maxMs",
        "rotationSeconds",
    }


def test_hosted_drill_rotates_each_due_version_exactly_once():
    """The Function App's handlers under at-least-once delivery (duplicates, concurrent and late
    redeliveries), a lost event found by the timer, a crash between steps, and a command-line
    run racing the automation: one rotation per due version, no failed request."""
    report = hosted.drill(3, 2)
    assert report["failed"] == 0, report["errors"]
    assert (report["due"], report["rotations"], report["regenerations"]) == (3, 3, 3)
    assert report["ok"] is True, report["problems"]
    runs = report["runs"]
    # The crashed run failed once; its redelivered message resumed the operation.
    assert (runs["failed:InjectedCrash"], runs["resumed"]) == (1, 1)
    # Round 1's event was lost: the timer queued it; after each round it found nothing due.
    assert report["timer"] == {"idle": 3, "queued": 1}
    # Rounds 0 and 2 each delivered the event 3 times (2 concurrently, 1 redelivery); round 2
    # also delivered a late event for round 1's version.
    deliveries = report["deliveries"]
    assert sum(deliveries.values()) == 7 and set(deliveries) <= {"queued", "duplicate", "stale"}
    assert deliveries["stale"] >= 1  # at least the late event
    # Each message sent (by a delivery or the timer) ended in exactly one finished run: racing
    # deliveries may each send one, and all but the first are skipped under the lease.
    finished = runs.get("rotated", 0) + runs["resumed"] + runs.get("skipped", 0)
    assert finished == deliveries["queued"] + report["timer"]["queued"]
    assert len(report["cli"]) == 1 and report["cli"][0].startswith("exit 0: rotate: ")
    assert report["poisoned"] == 0
    assert set(report) >= {"requests", "failed", "rotations", "deliveries"}


def test_a_drill_whose_rotation_stops_keeps_its_figures_and_exits_1():
    """A new key the AI endpoint accepts only after the probe gave up: the rotation stops with
    nothing published, and the figures gathered until then are still printed."""
    lines: list[str] = []
    argv = ["--local", "--rotations", "2", "--clients", "2", "--format", "json"]
    code = main([*argv, "--accept-delay", "30", "--probe-timeout", "0.3"], out=lines.append)
    report = json.loads(lines[0])
    assert code == 1
    assert report["stopped"] == (
        "the AI endpoint did not accept key2 within 0.3 s; nothing was published (re-run to retry)"
    )
    assert (report["rotations"], report["failed"]) == (0, 0)
    assert report["requests"] > 0
    assert report["faults"] == {"accept_delay": 30.0, "hits": {}}
