"""`python -m rotation` as its own process, over TLS with production host names, against the
emulator served from this process (DefaultAzureCredential -> the rotator's managed identity)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from drill.world import local_world
from emulator.server import serve
from emulator.topology import REFERENCE_SITE

ROOT = Path(__file__).resolve().parents[2]


def cli(env: dict[str, str], *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rotation", *argv],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_rotate_and_status_over_tls_as_a_separate_process(tmp_path):
    with local_world(key_max_age=0.02) as local, serve(local.state) as server:
        outputs = tmp_path / "outputs.json"
        outputs.write_text(json.dumps(local.stack_outputs()))
        env = local.rotator_process_env(server.env)
        before = local.state.keys(local.world.account.name)
        rotated = cli(
            env,
            "rotate",
            "--stack-outputs",
            str(outputs),
            "--probe-timeout",
            "20",
            "--confirm-timeout",
            "20",
            "--poll-interval",
            "0.05",
            "--drain-seconds",
            "0",
        )
        assert rotated.returncode == 0, rotated.stderr
        latest = local.state.latest_secret(local.world.vault.name, local.world.secret_name)
        assert rotated.stdout == f"rotate: done; version {latest.version} holds key2 (4 steps)\n"
        after = local.state.keys(local.world.account.name)
        assert after["key1"] == before["key1"] and after["key2"] != before["key2"]
        assert latest.value == after["key2"]
        assert local.state.site_environment(REFERENCE_SITE)["AZURE_AI_API_KEY"] == after["key2"]
        for value in (*before.values(), *after.values()):
            assert value not in rotated.stderr and value not in rotated.stdout
        # Every call went through the TLS server under production names.
        assert local.state.requests("management.azure.com", route="accounts/regenerateKey") == 1
        assert (
            local.state.requests(
                "management.azure.com", method="POST", route="configreferences/appsettings/{key}"
            )
            == 2  # one refresh per site, after publishing
        )

        status = cli(env, "status", "--stack-outputs", str(outputs), "--format", "json")
        assert status.returncode == 0, status.stderr
        report = json.loads(status.stdout)
        assert (report["version"], report["activeSlot"], report["ok"]) == (
            latest.version,
            "key2",
            True,
        )

        bad = cli(env, "revoke", "--slot", "key9", "--stack-outputs", str(outputs))
        assert bad.returncode == 2
        assert bad.stderr == (
            "rotation: error: argument --slot: invalid choice: 'key9' (choose from 'key1', "
            "'key2')\n"
        )
