"""One rotation at a time per secret: a blob lease in the automation's storage account.

Every entry point (the queue worker, the daily timer, `python -m rotation rotate|revoke` given
`--lease-account`) takes the lease on the blob `<container>/<vault>/<secret>` before it reads the
secret's state, and holds it until the run is over. Azure Blob leases are exclusive (Blob service
REST API, "Lease Blob": a second Acquire answers 409 LeaseAlreadyPresent) and finite ones last
15-60 s unless renewed, so a crashed holder frees the secret within one lease period. A thread
renews the lease while the run waits (probe, drain, confirmations); before each write the engine
calls `check()`, which renews it at once and stops the run if the lease was lost.

The lease ID is the run's ID, the same one the run records in the secret's tags (fencing).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from azure.core.exceptions import (
    AzureError,
    HttpResponseError,
    ResourceExistsError,
    ResourceNotFoundError,
)

from azure_edge.errors import describe
from rotation.engine import RotationStopped

log = logging.getLogger(__name__)

DEFAULT_LEASE_SECONDS = 30
DEFAULT_WAIT_SECONDS = 60.0
MIN_LEASE_SECONDS, MAX_LEASE_SECONDS = 15, 60  # the Blob service's bounds for a finite lease


class LeaseBusy(RotationStopped):
    """Another run holds the secret's lease: this run changed nothing."""


def lease_blob_name(vault_name: str, secret_name: str) -> str:
    """The blob whose lease stands for one secret (names are case-insensitive in Key Vault)."""
    return f"{vault_name.lower()}/{secret_name.lower()}"


class SecretLease:
    """The lease on one secret's blob, held by one run (a context manager).

    `container`: an azure-storage-blob `ContainerClient` (identity auth in Azure, a shared key
    on Azurite). `wait`: how long `acquire()` keeps trying while another run holds it.
    """

    def __init__(
        self,
        container: Any,
        blob_name: str,
        *,
        run_id: str | None = None,
        duration: int = DEFAULT_LEASE_SECONDS,
        wait: float = DEFAULT_WAIT_SECONDS,
        poll: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not MIN_LEASE_SECONDS <= duration <= MAX_LEASE_SECONDS:
            raise ValueError(f"lease duration {duration!r}: the rule is 15-60 seconds")
        self._container = container
        self.blob_name = blob_name
        self.run_id = run_id or str(uuid.uuid4())
        self._duration = duration
        self._wait = wait
        self._poll = poll
        self._clock = clock
        self._sleep = sleep
        self._lease: Any = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None
        self.lost: str | None = None
        self.waited = 0.0
        """Seconds `acquire()` waited for another holder."""

    @property
    def where(self) -> str:
        return f"{self._container.container_name}/{self.blob_name}"

    def acquire(self) -> SecretLease:
        """Take the lease, waiting up to `wait` seconds; LeaseBusy when another run keeps it."""
        from azure.storage.blob import BlobLeaseClient

        blob = self._ensure_blob()
        lease = BlobLeaseClient(blob, lease_id=self.run_id)
        began = self._clock()
        deadline = began + self._wait
        while True:
            try:
                lease.acquire(lease_duration=self._duration)
                break
            except HttpResponseError as exc:
                if exc.status_code != 409:
                    raise self._failed("take", exc) from None
            except AzureError as exc:
                raise self._failed("take", exc) from None
            if self._clock() >= deadline:
                raise LeaseBusy(
                    f"lease {self.where}: another run holds it (waited {self._wait:g} s); one "
                    "rotation at a time per secret, nothing was changed: re-run when it is done"
                )
            self._sleep(min(self._poll, max(0.0, deadline - self._clock())))
        self.waited = self._clock() - began
        self._lease = lease
        self._stop.clear()
        self._renewer = threading.Thread(target=self._renew_loop, name="lease-renew", daemon=True)
        self._renewer.start()
        log.info("lease %s taken by run %s", self.where, self.run_id)
        return self

    def check(self) -> None:
        """Renew now; RotationStopped when the lease is no longer this run's (call before a
        write: the lease then lasts at least one more period)."""
        if self._lease is None:
            raise RotationStopped(f"lease {self.where}: not held by run {self.run_id}")
        with self._lock:
            if self.lost is None:
                self._renew_once()
            if self.lost is not None:
                raise RotationStopped(
                    f"lease {self.where} lost by run {self.run_id} ({self.lost}); stopped before "
                    "the next write, nothing broken"
                )

    def release(self) -> None:
        """Stop renewing and release the lease (a lost lease is simply forgotten)."""
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join(timeout=10)
            self._renewer = None
        lease, self._lease = self._lease, None
        if lease is None or self.lost is not None:
            return
        try:
            lease.release()
        except AzureError as exc:
            # It expires on its own within one period.
            log.warning("lease %s: release failed (%s)", self.where, describe(exc))

    def __enter__(self) -> SecretLease:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()

    def _ensure_blob(self) -> Any:
        blob = self._container.get_blob_client(self.blob_name)
        try:
            blob.upload_blob(b"", overwrite=False)
        except ResourceExistsError:
            pass
        except ResourceNotFoundError:
            try:
                self._container.create_container()
            except ResourceExistsError:
                pass
            except AzureError as exc:
                raise self._failed("create the container of", exc) from None
            return self._ensure_blob()
        except HttpResponseError as exc:
            # 412 LeaseIdMissing: the blob exists and another run holds its lease.
            if exc.status_code != 412:
                raise self._failed("create the blob of", exc) from None
        except AzureError as exc:
            raise self._failed("create the blob of", exc) from None
        return blob

    def _renew_once(self) -> None:
        try:
            self._lease.renew()
        except AzureError as exc:
            self.lost = describe(exc)
            log.error("lease %s lost by run %s: %s", self.where, self.run_id, self.lost)

    def _renew_loop(self) -> None:
        interval = self._duration / 3
        while not self._stop.wait(interval):
            with self._lock:
                if self.lost is not None:
                    return
                self._renew_once()

    def _failed(self, what: str, exc: BaseException) -> RotationStopped:
        return RotationStopped(
            f"lease {self.where}: cannot {what} it ({describe(exc)}); the rule is a "
            "storage account the run's identity may lease blobs in (Storage Blob Data "
            "Contributor or Owner); nothing was changed"
        )
