"""Each worker's key version on the instance's board, and /healthz listing every worker."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from app.key_client import CachedKey
from app.workers import WorkerBoard


def key(version: str, slot: str = "key1") -> CachedKey:
    return CachedKey("synthetic-value", version, slot, "sdk")


def test_workers_publish_their_versions_and_dead_ones_are_dropped(tmp_path):
    first = WorkerBoard(tmp_path, worker=lambda: 101, alive=lambda pid: pid != 303)
    second = WorkerBoard(tmp_path, worker=lambda: 202, alive=lambda pid: pid != 303)
    gone = WorkerBoard(tmp_path, worker=lambda: 303)
    first.publish(key("v1"))
    second.publish(key("v2", "key2"))
    gone.publish(key("v0"))
    assert first.read() == [
        {"pid": 101, "secretVersion": "v1", "slot": "key1", "source": "sdk"},
        {"pid": 202, "secretVersion": "v2", "slot": "key2", "source": "sdk"},
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["101.json", "202.json"]
    # Never the key itself.
    assert all("synthetic-value" not in p.read_text() for p in tmp_path.iterdir())


def test_a_real_dead_process_is_not_listed(tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    dead = int(done.stdout)
    (tmp_path / f"{dead}.json").write_text(json.dumps({"pid": dead, "secretVersion": "v0"}))
    board = WorkerBoard(tmp_path)
    board.publish(key("v1"))
    assert board.read() == [
        {"pid": os.getpid(), "secretVersion": "v1", "slot": "key1", "source": "sdk"}
    ]
