"""What every worker process of this instance holds: the secret version of its key.

gunicorn runs several worker processes, each with its own cached key; a health request reaches
one of them. So that the health report speaks for the whole instance, each worker writes a small
file `<dir>/<pid>.json` (version, slot, source: never the key) whenever its key changes, and the
health endpoint lists every live worker's file.

A rotation's health request names the version it waits for (`/healthz?expectVersion=<v>`). The
worker that answers reads Key Vault for it and leaves the version in `<dir>/expected-version`;
every worker looks at that file every WATCH_INTERVAL seconds (a local file, no Key Vault) and
asks its key client for the version (`KeyClient.expect`: one read, none for a version it already
read). So an idle worker moves too, and no worker reads Key Vault while nothing is asked of it.

The folder is APP_WORKER_STATE_DIR, which gunicorn's master creates before forking the workers
(app/gunicorn.conf.py), on the instance's local disk: App Service's /home is shared by every
instance, and each instance must report only its own workers.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.catalog import names
from app.key_client import CachedKey, KeyClient, KeyClientError

log = logging.getLogger(__name__)

STATE_DIR_SETTING = "APP_WORKER_STATE_DIR"
MAX_WORKERS_LISTED = 256
EXPECTED_FILE = "expected-version"
EXPECTED_TTL = 60.0
"""A version asked for is followed this long after the last request naming it (a confirmation
polls far more often while it waits)."""
WATCH_INTERVAL = 1.0
"""How often each worker looks for a version asked for (a read of one small local file)."""


def is_secret_version(value: str) -> bool:
    """A Key Vault secret version (the contract's rule: 32 hex characters)."""
    return names.SECRET_VERSION.matches(value)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class WorkerBoard:
    """The per-worker files of one instance."""

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        worker: Callable[[], int | str] = os.getpid,
        alive: Callable[[int | str], bool] | None = None,
    ) -> None:
        """`worker`: this worker's ID (its pid); `alive`: whether a listed worker still runs
        (default: a process with that pid exists)."""
        self.directory = Path(directory)
        self._pid = worker
        self._alive = alive or (lambda pid: _alive(int(pid)))
        self._last: tuple[Any, ...] | None = None
        self._lock = threading.Lock()

    def publish(self, key: CachedKey | None) -> None:
        """Record this worker's key version (written only when it changed)."""
        entry = {
            "pid": self._pid(),
            "secretVersion": key.version if key else None,
            "slot": key.slot if key else None,
            "source": key.source if key else None,
        }
        fingerprint = tuple(entry.values())
        with self._lock:
            if fingerprint == self._last:
                return
            path = self.directory / f"{entry['pid']}.json"
            scratch = path.with_suffix(".tmp")
            scratch.write_text(json.dumps({**entry, "at": time.time()}))
            scratch.replace(path)  # atomic: a reader never sees half a file
            self._last = fingerprint

    def expect(self, version: str) -> None:
        """Ask every worker of the instance to move to `version` (a rotation waits for it)."""
        if not is_secret_version(version):
            raise ValueError("expected version: the rule is 32 hex digits")
        path = self.directory / EXPECTED_FILE
        with self._lock:
            try:
                fresh = time.time() - path.stat().st_mtime < EXPECTED_TTL / 2
                if fresh and path.read_text() == version:
                    return
            except OSError:
                pass
            # A scratch file of this worker's own: several workers may answer at once.
            scratch = path.with_name(f"{EXPECTED_FILE}.{self._pid()}.tmp")
            try:
                scratch.write_text(version)
                scratch.replace(path)
            except OSError as exc:
                log.warning("expected version not shared with the other workers: %s", exc)

    def expected(self) -> str | None:
        """The version asked for within the last EXPECTED_TTL seconds, if any."""
        path = self.directory / EXPECTED_FILE
        try:
            if time.time() - path.stat().st_mtime > EXPECTED_TTL:
                return None
            version = path.read_text().strip()
        except OSError:
            return None
        return version if is_secret_version(version) else None

    def remove(self) -> None:
        """Forget this worker (it is exiting)."""
        (self.directory / f"{self._pid()}.json").unlink(missing_ok=True)

    def read(self) -> list[dict[str, Any]]:
        """Every live worker's entry, by pid; files of dead workers are removed."""
        entries = []
        for path in sorted(self.directory.glob("*.json"))[:MAX_WORKERS_LISTED]:
            try:
                entry = json.loads(path.read_text())
                pid = entry["pid"]
                running = self._alive(pid)
            except (OSError, ValueError, KeyError, TypeError):
                continue
            if not running:
                path.unlink(missing_ok=True)
                continue
            entries.append({k: entry.get(k) for k in ("pid", "secretVersion", "slot", "source")})
        return sorted(entries, key=lambda e: str(e["pid"]))


class KeyWatch:
    """A worker's background look-out: every `interval` seconds, the version the instance was
    asked for (`KeyClient.expect`: a Key Vault read only for a version this worker never read),
    the key client's `current()` (the load at the worker's start, then a re-check only past its
    max age), then `publish`."""

    def __init__(
        self, key_client: KeyClient, board: WorkerBoard, interval: float = WATCH_INTERVAL
    ) -> None:
        self._key_client = key_client
        self._board = board
        self._interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def tick(self) -> None:
        expected = self._board.expected()
        if expected is not None:
            self._key_client.expect(expected)
        try:
            key = self._key_client.current()
        except KeyClientError as exc:
            log.warning("key re-check failed, the cached key is kept: %s", exc)
            key = self._key_client.cached
        self._board.publish(key)

    def start(self) -> None:
        if self._thread is not None:
            return

        def loop() -> None:
            self.tick()
            while not self._stop.wait(self._interval):
                self.tick()

        self._thread = threading.Thread(target=loop, name="key-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self._interval + 30)
        self._board.remove()
