"""Azurite, Microsoft's storage emulator (npm `azurite`), for blob leases and queues.

`with azurite() as storage:` starts the blob and queue services on 127.0.0.1 (free ports, a
temporary data folder, a storage account whose key is generated for this run only), and stops
them and removes the folder afterwards; it also dies with this process. The binary comes from
the repository's package.json (`npm ci` at the repository root: `.ci/run` and `make test` run it).
"""

from __future__ import annotations

import base64
import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
AZURITE_BIN = REPO_ROOT / "node_modules" / ".bin" / "azurite"
LOOPBACK = "127.0.0.1"
ACCOUNT = "rotationlocal"


class AzuriteUnavailable(RuntimeError):
    """Azurite is not installed or did not start; the message says how to fix it."""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((LOOPBACK, port)) == 0


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    os.setsid()


@dataclass
class Azurite:
    """A running Azurite: the account, its generated key and the service URLs."""

    process: subprocess.Popen
    account: str
    key: str = field(repr=False)
    blob_port: int
    queue_port: int

    @property
    def blob_url(self) -> str:
        return f"http://{LOOPBACK}:{self.blob_port}/{self.account}"

    @property
    def queue_url(self) -> str:
        return f"http://{LOOPBACK}:{self.queue_port}/{self.account}"

    @property
    def credential(self) -> dict[str, str]:
        """The shared-key credential azure-storage-blob/-queue clients take."""
        return {"account_name": self.account, "account_key": self.key}

    def container(self, name: str) -> Any:
        """A `ContainerClient` (created if missing)."""
        from azure.core.exceptions import ResourceExistsError
        from azure.storage.blob import ContainerClient

        client = ContainerClient(self.blob_url, name, credential=self.credential)
        with contextlib.suppress(ResourceExistsError):
            client.create_container()
        return client

    def queue(self, name: str) -> Any:
        """A `QueueClient` (created if missing) that base64-encodes messages, as the Functions
        host expects by default (host.json `extensions.queues.messageEncoding`: base64)."""
        from azure.core.exceptions import ResourceExistsError
        from azure.storage.queue import (
            BinaryBase64DecodePolicy,
            BinaryBase64EncodePolicy,
            QueueClient,
        )

        client = QueueClient(
            self.queue_url,
            name,
            credential=self.credential,
            message_encode_policy=BinaryBase64EncodePolicy(),
            message_decode_policy=BinaryBase64DecodePolicy(),
        )
        with contextlib.suppress(ResourceExistsError):
            client.create_queue()
        return client


@contextlib.contextmanager
def azurite(*, timeout: float = 30.0) -> Iterator[Azurite]:
    """Run Azurite's blob and queue services for the block."""
    if not AZURITE_BIN.exists():
        raise AzuriteUnavailable(
            f"azurite: {AZURITE_BIN} is missing; the rule is `npm ci` at the repository root "
            "(make test and .ci/run do it)"
        )
    workdir = Path(tempfile.mkdtemp(prefix="azurite-"))
    key = base64.b64encode(secrets.token_bytes(64)).decode()
    blob_port, queue_port = _free_port(), _free_port()
    env = {**os.environ, "AZURITE_ACCOUNTS": f"{ACCOUNT}:{key}"}
    command = [
        str(AZURITE_BIN),
        "--silent",
        "--skipApiVersionCheck",
        "--disableProductStyleUrl",
        "--location",
        str(workdir),
        "--blobHost",
        LOOPBACK,
        "--blobPort",
        str(blob_port),
        "--queueHost",
        LOOPBACK,
        "--queuePort",
        str(queue_port),
        "--tableHost",
        LOOPBACK,
        "--tablePort",
        str(_free_port()),
    ]
    process = subprocess.Popen(
        command,
        env=env,
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        preexec_fn=_die_with_parent,
    )
    try:
        deadline = time.monotonic() + timeout
        while not (_listening(blob_port) and _listening(queue_port)):
            if process.poll() is not None:
                error = (process.stderr.read() if process.stderr else b"").decode(errors="replace")
                raise AzuriteUnavailable(
                    f"azurite exited with {process.returncode}: {error.strip()[:300]}"
                )
            if time.monotonic() > deadline:
                raise AzuriteUnavailable(f"azurite did not listen within {timeout:g} s")
            time.sleep(0.05)
        yield Azurite(process, ACCOUNT, key, blob_port, queue_port)
    finally:
        if process.poll() is None:
            # Azurite waits for idle keep-alive connections on SIGTERM; its data is throwaway.
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=1)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        if process.stderr is not None:
            process.stderr.close()
        shutil.rmtree(workdir, ignore_errors=True)
