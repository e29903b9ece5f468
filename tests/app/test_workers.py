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


def test_a_version_asked_for_reaches_every_worker_once_and_expires(tmp_path):
    """The answering worker leaves the version on the instance's board; every other worker's
    watch asks its own key client for it at its next look (app/workers.py)."""
    import time as clock

    from app.workers import EXPECTED_TTL, KeyWatch

    class Client:
        def __init__(self, version: str) -> None:
            self.cached = key(version)
            self.asked: list[str] = []

        def expect(self, version: str) -> CachedKey:
            self.asked.append(version)
            self.cached = key(version, "key2")
            return self.cached

        def current(self) -> CachedKey:
            return self.cached

    wanted = "a" * 32
    board = WorkerBoard(tmp_path, worker=lambda: 101, alive=lambda pid: True)
    assert board.expected() is None
    board.expect(wanted)
    other = Client("b" * 32)
    watch = KeyWatch(other, WorkerBoard(tmp_path, worker=lambda: 202, alive=lambda pid: True))
    watch.tick()
    assert other.asked == [wanted]
    assert [e["secretVersion"] for e in board.read()] == [wanted]  # published by worker 202
    # An old request is no longer followed; a malformed file is ignored.
    stale = clock.time() - EXPECTED_TTL - 1
    os.utime(tmp_path / "expected-version", (stale, stale))
    assert board.expected() is None
    (tmp_path / "expected-version").write_text("../../etc")
    assert board.expected() is None


def test_workers_asked_at_the_same_time_share_the_version_without_error(tmp_path):
    """Several workers may answer a confirmation at once: each writes through its own scratch
    file, so none fails and the board always holds a whole version."""
    import threading

    boards = [WorkerBoard(tmp_path, worker=lambda n=n: 100 + n) for n in range(4)]
    versions = [f"{n:032x}" for n in range(1, 5)]
    errors: list[BaseException] = []
    start = threading.Barrier(len(boards))

    def ask(board: WorkerBoard, version: str) -> None:
        start.wait()
        try:
            for _ in range(50):
                board.expect(version)
                (tmp_path / "expected-version").touch()  # not fresh: the next call writes
                os.utime(tmp_path / "expected-version", (0, 0))
        except BaseException as exc:
            errors.append(exc)

    threads = [
        threading.Thread(target=ask, args=pair) for pair in zip(boards, versions, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert (tmp_path / "expected-version").read_text() in versions
    assert sorted(p.name for p in tmp_path.iterdir()) == ["expected-version"]
