"""`python -m drill --stack-outputs ...` as its own process, over TLS with production host names,
against the emulator served from this process (DefaultAzureCredential -> the rotator's managed
identity): the remote drill, whose key client and engine act on what the outputs name."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from drill.world import local_world
from emulator.server import serve

ROOT = Path(__file__).resolve().parents[2]


def test_remote_drill_rotates_the_deployment_the_outputs_name(tmp_path):
    with local_world(key_max_age=0.02) as local, serve(local.state) as server:
        outputs = tmp_path / "outputs.json"
        outputs.write_text(json.dumps(local.stack_outputs()))
        env = local.rotator_process_env(server.env)
        # The drill against "the real deployment" the outputs name: here, the served emulator.
        drill = subprocess.run(
            [
                sys.executable,
                "-m",
                "drill",
                "--stack-outputs",
                str(outputs),
                "--rotations",
                "2",
                "--clients",
                "2",
                "--format",
                "json",
                "--drain-seconds",
                "0",
                "--poll-interval",
                "0.05",
                "--probe-timeout",
                "20",
                "--confirm-timeout",
                "20",
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert drill.returncode == 0, drill.stderr
        figures = json.loads(drill.stdout)
        assert (figures["mode"], figures["rotations"], figures["failed"]) == ("remote", 2, 0)
        assert figures["requests"] > 0
        latest = local.state.latest_secret(local.world.vault.name, local.world.secret_name)
        assert latest.tags["CredentialId"] == "key1"  # key1 -> key2 -> key1
        for value in local.state.keys(local.world.account.name).values():
            assert value not in drill.stderr and value not in drill.stdout
