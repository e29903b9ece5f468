"""The AI account's key, cached in memory and re-read from Key Vault only when it stops working
or when a rotation asks for a newer version.

Key Vault allows about 2,000 secret reads per 10 s per vault and `SecretClient` caches nothing, so
the key is read once per process and re-read single-flight: however many threads see a 401 on the
same key, one Key Vault read happens and every one of them uses its result. A rotation that has
published a version asks for it (`expect`, from the health endpoint): one read, and none for a
version this process already read. An optional re-check after `max_age` is a safety net only.
"""

from __future__ import annotations

import hmac
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
)

from app.catalog import secret
from app.settings import is_key_vault_reference

if TYPE_CHECKING:
    from azure.keyvault.secrets import KeyVaultSecret, SecretClient

log = logging.getLogger(__name__)

Source = Literal["reference", "sdk"]
ReferenceState = Literal["absent", "resolved", "unresolved"]

SLOT_TAG = secret.TAG_SLOT
"""The secret tag naming the account key slot (key1 / key2) a version holds (set by the stack
and by rotation, after Microsoft's two-credential rotation pattern)."""
VERSIONS_TO_MATCH = 4
"""How many of the newest versions are matched against a key from the reference."""
EXPECT_INTERVAL = 1.0
"""At most one Key Vault read per this many seconds for `expect` requests, whatever they name."""
EXPECT_RETRY = 10.0
"""A version asked for and not found in Key Vault is looked for again only after this long."""
KNOWN_VERSIONS = 32
"""How many versions read from Key Vault a client remembers (a request for one costs nothing)."""


class KeyClientError(RuntimeError):
    """Base of the key client's errors: messages name secret, versions and slots, never a key."""


class KeyUnavailableError(KeyClientError):
    """No usable key can be had (unresolved reference with no SDK path, access denied, ...)."""


class KeyVaultUnavailableError(KeyUnavailableError):
    """Key Vault kept answering 429/5xx or could not be reached, after the SDK's retries."""


class KeyRejectedError(KeyClientError):
    """The AI endpoint rejects the key and Key Vault just returned that same key."""


@dataclass(frozen=True)
class CachedKey:
    """A key in use: its value (never shown by repr), the secret version and slot it came from."""

    value: str = field(repr=False)
    version: str | None
    """The Key Vault secret version, None while unknown (a reference not yet matched)."""
    slot: str | None
    """The account key slot from the secret's `slot` tag (key1 / key2), None when untagged."""
    source: Source
    """`reference`: App Service put it in the environment; `sdk`: read through SecretClient."""
    generation: int = 0
    """Bumped each time the process switches to a different key value."""
    fetched_at: float = field(default=0.0, repr=False, compare=False)


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def _describe_azure_error(exc: AzureError) -> str:
    if isinstance(exc, ClientAuthenticationError) and exc.status_code is None:
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return f"no token for Key Vault ({first_line})"
    if isinstance(exc, HttpResponseError) and exc.status_code is not None:
        code = exc.error.code if exc.error is not None and exc.error.code else exc.reason
        return f"HTTP {exc.status_code} {code}"
    return f"cannot reach Key Vault ({type(exc).__name__})"


class KeyClient:
    """The key in use by this process, from the resolved Key Vault reference or from Key Vault.

    `secret_client` reads `secret_name` through the managed identity (None: reference only).
    `env_value` is AZURE_AI_API_KEY as the process sees it: the resolved key, or the literal
    `@Microsoft.KeyVault(...)` text when App Service could not resolve it (detected, reported and
    never sent; the SDK path is used instead when configured).
    """

    def __init__(
        self,
        secret_client: SecretClient | None,
        *,
        secret_name: str | None,
        env_value: str | None,
        max_age: float = 300.0,
        reject_cooldown: float = 5.0,
        slot_tag: str = SLOT_TAG,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if (secret_client is None) != (secret_name is None):
            raise ValueError("secret_client and secret_name go together: give both or neither")
        if secret_client is None and env_value is None:
            raise ValueError("KeyClient needs env_value or secret_client with secret_name")
        self._secret_client = secret_client
        self._secret_name = secret_name
        self._max_age = max_age
        self._reject_cooldown = reject_cooldown
        self._slot_tag = slot_tag
        self._clock = clock
        self._lock = threading.Lock()
        self._flight: Future[CachedKey] | None = None
        # Why the read in flight started: only a read started after a 401 ("refresh") proves
        # that Key Vault holds nothing newer than the rejected key.
        self._flight_kind = ""
        self._cached: CachedKey | None = None
        self._rejected: tuple[int, float] | None = None  # (generation, until)
        self._revalidate_after = 0.0
        self._identify_lock = threading.Lock()
        self._identify_after = 0.0
        self._known: dict[str, None] = {}  # versions read from Key Vault, oldest first
        self._expect_after = 0.0
        self._expect_tried: dict[str, float] = {}
        self.kv_reads = 0
        """Secret reads sent to Key Vault by this client (SDK retries of one read count once)."""
        self.kv_listings = 0
        """Version listings (metadata, no value) sent to Key Vault, counted apart from reads."""
        self.expect_reads = 0
        """Of `kv_reads`, those made because a rotation asked for a version (`expect`)."""
        self.shared_reads = 0
        """Calls that waited for a read already in flight instead of making their own."""
        self.last_error: str | None = None
        """The last failure to get a key, for the health report."""
        self.version_error: str | None = None
        """Why the version of a key from the reference is unknown, if it is."""
        self.background: threading.Thread | None = None
        """The latest background re-check of Key Vault (joinable)."""

        self.reference: str | None = None
        """The unresolved `@Microsoft.KeyVault(...)` text, when App Service left it in place."""
        self.reference_state: ReferenceState = "absent"
        if env_value is not None and is_key_vault_reference(env_value):
            self.reference = env_value.strip()
            self.reference_state = "unresolved"
            self._env_value: str | None = None
            fallback = (
                f"reading secret {secret_name!r} through the SDK instead"
                if secret_client is not None
                else "no KEY_VAULT_URI/AZURE_AI_KEY_SECRET_NAME to fall back on: no key"
            )
            log.error(
                "AZURE_AI_API_KEY holds an unresolved Key Vault reference %s (check the app "
                "identity's role on the secret and the reference status); %s",
                self.reference,
                fallback,
            )
        else:
            self._env_value = env_value
            if env_value is not None:
                self.reference_state = "resolved"

    @property
    def max_age(self) -> float:
        """Seconds after which a key read through the SDK is re-checked against Key Vault."""
        return self._max_age

    @property
    def cached(self) -> CachedKey | None:
        """The key in use, without loading one."""
        return self._cached

    @property
    def sdk_configured(self) -> bool:
        """True when Key Vault can be read through the SDK."""
        return self._secret_client is not None

    def current(self) -> CachedKey:
        """The key to use now: the cached one (no I/O), loaded single-flight on first use.

        A key read through the SDK older than `max_age` keeps serving while one background read
        asks Key Vault for a newer version, so a rotation's new version reaches this process
        without waiting for the old key to fail.
        """
        key = self._cached
        if key is None:
            return self._single_flight(self._load, "load")
        if (
            self._max_age > 0
            and key.source == "sdk"
            and self._clock() - key.fetched_at >= self._max_age
            and self._clock() >= self._revalidate_after
        ):
            self._revalidate_in_background()
        return key

    def refresh_after_failure(self, failed: CachedKey) -> CachedKey:
        """The key to retry with after the AI endpoint rejected `failed` (401).

        Single-flight: one Key Vault read per process however many threads call this with the
        same key; the others wait for it and share its result. Returns the already refreshed key
        when another thread got there first. Raises KeyRejectedError when Key Vault returns the
        same key (and, for `reject_cooldown` seconds, without asking again), KeyUnavailableError
        when Key Vault cannot be read.
        """
        while True:
            with self._lock:
                cached = self._cached
                if cached is not None and cached.generation != failed.generation:
                    return cached
                rejected = self._rejected
                if rejected and rejected[0] == failed.generation and self._clock() < rejected[1]:
                    raise self._rejected_error(failed)
                flight, leader = self._join_flight("refresh")
                kind = self._flight_kind
            if leader:
                result = self._lead(flight, lambda: self._refresh(failed))
                break
            result = self._follow(flight)
            if kind == "refresh":
                break
            # A background re-check may have read Key Vault before the new version was
            # published: look again instead of calling the key rejected.
        if result.generation == failed.generation:
            error = self._rejected_error(result)
            if leader:
                self.last_error = str(error)
                log.error("%s", error)
            raise error
        if leader:
            log.warning(
                "the AI endpoint rejected key version %s (slot %s, %s); now using version %s "
                "(slot %s) from Key Vault",
                failed.version,
                failed.slot,
                failed.source,
                result.version,
                result.slot,
            )
        return result

    def revalidate(self) -> CachedKey:
        """Ask Key Vault for the latest version now (single-flight) and switch to it if new."""
        return self._single_flight(self._read_and_store, "recheck")

    def expect(self, version: str) -> CachedKey | None:
        """A rotation waits for this process to hold secret `version`: read Key Vault once
        (single-flight) and switch to the latest version, unless no read can help.

        No read when this process already read `version` from Key Vault (it holds it, or it is
        older than what it holds), when `version` was asked for and not found less than
        EXPECT_RETRY seconds ago, or when a read for a request like this one happened less than
        EXPECT_INTERVAL seconds ago: whatever anyone asks, at most one read per EXPECT_INTERVAL.
        Returns the key in use; a failed read keeps the cached key (logged).
        """
        if self._secret_client is None:
            return self._cached
        with self._lock:
            now = self._clock()
            tried = self._expect_tried.get(version)
            if (
                version in self._known
                or now < self._expect_after
                or (tried is not None and now < tried + EXPECT_RETRY)
            ):
                return self._cached
            self._expect_after = now + EXPECT_INTERVAL
            self._expect_tried[version] = now
            while len(self._expect_tried) > KNOWN_VERSIONS:
                del self._expect_tried[next(iter(self._expect_tried))]
            self.expect_reads += 1
        try:
            key = self.revalidate() if self._cached is not None else self.current()
        except KeyClientError as exc:
            # Nothing learnt: the version may be asked for again after EXPECT_INTERVAL.
            with self._lock:
                self._expect_tried.pop(version, None)
            log.warning("Key Vault read for version %s failed, key kept: %s", version, exc)
            return self._cached
        if key.version != version:
            log.info("asked for version %s; Key Vault's latest is %s", version, key.version)
        return key

    def identify_reference_version(self, *, min_interval: float = 30.0) -> CachedKey | None:
        """Find the secret version of a key from the reference, if still unknown (rate-limited).

        The process is handed a value with no version; App Service may have resolved it up to
        24 h ago, so the latest version's properties alone could name a version this process does
        not use. The value is matched instead (in memory, constant-time) against the newest
        versions.
        """
        key = self._cached
        if key is None or key.source != "reference" or key.version is not None:
            return key
        if self._secret_client is None or not self._identify_lock.acquire(blocking=False):
            return key
        try:
            if self._clock() < self._identify_after:
                return key
            self._identify_after = self._clock() + min_interval
            found = self._identify(key)
            with self._lock:
                if self._cached is key:
                    self._cached = found
            return found
        finally:
            self._identify_lock.release()

    # -- single flight ------------------------------------------------------------------------

    def _join_flight(self, kind: str) -> tuple[Future[CachedKey], bool]:
        # Caller holds self._lock.
        if self._flight is None:
            self._flight, self._flight_kind = Future(), kind
            return self._flight, True
        self.shared_reads += 1
        return self._flight, False

    def _single_flight(self, work: Callable[[], CachedKey], kind: str) -> CachedKey:
        with self._lock:
            flight, leader = self._join_flight(kind)
        return self._lead(flight, work) if leader else self._follow(flight)

    def _lead(self, flight: Future[CachedKey], work: Callable[[], CachedKey]) -> CachedKey:
        try:
            result = work()
        except BaseException as exc:
            with self._lock:
                self._flight = None
            flight.set_exception(exc)
            if isinstance(exc, KeyClientError):
                self.last_error = str(exc)
            raise
        with self._lock:
            self._flight = None
        flight.set_result(result)
        return result

    @staticmethod
    def _follow(flight: Future[CachedKey]) -> CachedKey:
        try:
            return flight.result()
        except KeyClientError as exc:
            # A fresh instance per waiting thread: one exception object raised in many threads
            # would share (and grow) one traceback.
            raise type(exc)(*exc.args) from None

    def _revalidate_in_background(self) -> None:
        with self._lock:
            if self._flight is not None:
                return
            flight, _ = self._join_flight("recheck")

        def recheck() -> CachedKey:
            try:
                return self._read_and_store()
            except KeyClientError:
                # Set before the flight ends: callers meanwhile must not start another re-check.
                self._revalidate_after = self._clock() + min(self._max_age, 30.0)
                raise

        def run() -> None:
            try:
                self._lead(flight, recheck)
            except KeyClientError as exc:
                log.warning("background re-check of Key Vault failed, key kept: %s", exc)

        self.background = threading.Thread(target=run, name="key-revalidate", daemon=True)
        self.background.start()

    # -- work done by the leader --------------------------------------------------------------

    def _load(self) -> CachedKey:
        if self._env_value is not None:
            key = CachedKey(self._env_value, None, None, "reference", 0, self._clock())
            if self._secret_client is not None:
                self._identify_after = self._clock() + 30.0
                key = self._identify(key)
        elif self._secret_client is not None:
            key = self._to_key(self._read(), "sdk", 0)
        else:
            raise KeyUnavailableError(
                f"AZURE_AI_API_KEY holds the unresolved reference {self.reference} and "
                "KEY_VAULT_URI/AZURE_AI_KEY_SECRET_NAME are not set: no key to use"
            )
        with self._lock:
            self._cached = key
        self.last_error = None
        log.info(
            "AI key loaded from the %s (secret version %s, slot %s)",
            "Key Vault reference" if key.source == "reference" else "Key Vault SDK",
            key.version,
            key.slot,
        )
        return key

    def _refresh(self, failed: CachedKey) -> CachedKey:
        key = self._read_and_store()
        if key.generation == failed.generation:
            # Recorded before the flight ends, so no caller slips in a second read meanwhile.
            with self._lock:
                self._rejected = (failed.generation, self._clock() + self._reject_cooldown)
        return key

    def _read_and_store(self) -> CachedKey:
        if self._secret_client is None:
            raise KeyUnavailableError(
                "the key from the Key Vault reference is rejected and KEY_VAULT_URI/"
                "AZURE_AI_KEY_SECRET_NAME are not set: no newer key until App Service refreshes "
                "the reference"
            )
        secret = self._read()
        with self._lock:
            cached = self._cached
            if cached is not None and _same(secret.value or "", cached.value):
                # Same key: keep its generation (callers compare generations), note the metadata.
                key = self._to_key(secret, cached.source, cached.generation)
            else:
                generation = 0 if cached is None else cached.generation + 1
                key = self._to_key(secret, "sdk", generation)
            self._cached = key
        self.last_error = None
        return key

    def _to_key(self, secret: KeyVaultSecret, source: Source, generation: int) -> CachedKey:
        if not secret.value:
            raise KeyUnavailableError(
                f"secret {self._secret_name!r} version {secret.properties.version} is empty"
            )
        tags = secret.properties.tags or {}
        return CachedKey(
            secret.value,
            secret.properties.version,
            tags.get(self._slot_tag),
            source,
            generation,
            self._clock(),
        )

    def _read(self, version: str | None = None) -> KeyVaultSecret:
        assert self._secret_client is not None and self._secret_name is not None
        self._count_read()
        try:
            secret = self._secret_client.get_secret(self._secret_name, version)
        except AzureError as exc:
            raise self._kv_error(exc) from None
        self._remember(secret.properties.version)
        return secret

    def _count_read(self) -> None:
        with self._lock:
            self.kv_reads += 1

    def _remember(self, version: str | None) -> None:
        if version is None:
            return
        with self._lock:
            self._known[version] = None
            while len(self._known) > KNOWN_VERSIONS:
                del self._known[next(iter(self._known))]

    def _kv_error(self, exc: AzureError) -> KeyUnavailableError:
        what = f"Key Vault read of secret {self._secret_name!r} failed: " + _describe_azure_error(
            exc
        )
        status = getattr(exc, "status_code", None)
        if isinstance(exc, ClientAuthenticationError | ResourceNotFoundError) or (
            status is not None and status != 429 and status < 500
        ):
            return KeyUnavailableError(what)
        return KeyVaultUnavailableError(what)

    def _identify(self, key: CachedKey) -> CachedKey:
        """Match a key from the reference against the newest versions (best effort)."""
        assert self._secret_client is not None and self._secret_name is not None
        try:
            latest = self._read()
            if _same(latest.value or "", key.value):
                self.version_error = None
                return self._to_key(latest, "reference", key.generation)
            with self._lock:
                self.kv_listings += 1
            older = secret.newest_first(
                (
                    p
                    for p in self._secret_client.list_properties_of_secret_versions(
                        self._secret_name
                    )
                    if p.enabled is not False and p.version != latest.properties.version
                ),
                lambda p: p.created_on,
            )[: VERSIONS_TO_MATCH - 1]
            for properties in older:
                candidate = self._read(properties.version)
                if _same(candidate.value or "", key.value):
                    self.version_error = None
                    return self._to_key(candidate, "reference", key.generation)
            self.version_error = (
                f"the key from the reference matches none of the {len(older) + 1} newest versions "
                f"of secret {self._secret_name!r}"
            )
        except (AzureError, KeyClientError) as exc:
            error = self._kv_error(exc) if isinstance(exc, AzureError) else exc
            self.version_error = f"version not identified: {error}"
        log.warning("%s", self.version_error)
        return key

    def _rejected_error(self, key: CachedKey) -> KeyRejectedError:
        return KeyRejectedError(
            f"the AI endpoint rejects key version {key.version} (slot {key.slot}) and Key Vault "
            f"secret {self._secret_name!r} holds no other key"
        )
