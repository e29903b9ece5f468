"""The rehearsal: rotations under concurrent load through both kinds of consumers."""

from __future__ import annotations

import json

from rotation import cli
from rotation.drill import REFERENCE_SITE, SDK_SITE, local_world, run_local_drill


def test_drill_with_three_rotations_loses_no_request_and_counts_exactly():
    with local_world(accept_delay=0.05, key_max_age=0.05) as local:
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
        assert report["kvReads"] == local.key_clients[0].kv_reads
        # One reference refresh per rotation (after publishing; before it the site is current).
        assert local.state.site(REFERENCE_SITE).refresh_count == refreshes + 3


def test_drill_command_prints_json_and_exits_0(capsys):
    lines: list[str] = []
    code = cli.main(
        ["drill", "--local", "--rotations", "1", "--clients", "2", "--format", "json"],
        out=lines.append,
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
