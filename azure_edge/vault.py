"""The one secret in Key Vault, through ``azure.keyvault.secrets.SecretClient``.

Reads return metadata (:class:`SecretRecord`: version, tags, expiry, creation, enabled), never a
value, except :meth:`VaultSecrets.value`, which says so. :meth:`VaultSecrets.write` is the one
Key Vault write of a key: value, tags, expiry and content type in one new version.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from azure.core.exceptions import HttpResponseError

from .errors import EdgeError, describe, error_code_of
from .retry import Patience, backoff_seconds, run

log = logging.getLogger(__name__)


class SecretNotFound(EdgeError):
    """The secret does not exist (Key Vault answered 404 SecretNotFound)."""


@dataclass(frozen=True)
class SecretRecord:
    """A secret version's metadata (never its value)."""

    version: str
    tags: dict[str, str]
    expires_on: datetime | None
    created_on: datetime | None
    enabled: bool


def record_of(properties: Any) -> SecretRecord:
    """The record of an SDK ``SecretProperties``."""
    return SecretRecord(
        version=properties.version,
        tags=dict(properties.tags or {}),
        expires_on=properties.expires_on,
        created_on=properties.created_on,
        enabled=properties.enabled is not False,
    )


class VaultSecrets:
    """One secret of one vault. `patience`: retry 403s (a role assignment still applying) and
    recover a soft-deleted secret of the same name before writing; without it, every call is
    made once."""

    def __init__(self, client: Any, name: str, *, patience: Patience | None = None) -> None:
        self._client = client
        self.name = name
        self.vault_url: str = client.vault_url.rstrip("/")
        self._patience = patience

    @property
    def vault_name(self) -> str:
        """The vault's name, as App Service reports it in reference statuses."""
        return (urlsplit(self.vault_url).hostname or "").split(".")[0]

    def _what(self, operation: str) -> str:
        return f"Key Vault {self.vault_url} ({operation} secret {self.name})"

    def _run(self, operation: str, call: Any, passthrough: tuple[int, ...] = ()) -> Any:
        return run(self._what(operation), call, patience=self._patience, passthrough=passthrough)

    def latest(self) -> SecretRecord:
        """The latest version's metadata, as Key Vault resolves a versionless read (the read
        returns the value too; it is dropped). SecretNotFound when the secret does not exist."""
        try:
            secret = self._run("read", lambda: self._client.get_secret(self.name), (404,))
        except HttpResponseError as exc:  # 404 only: the others are EdgeErrors
            if error_code_of(exc) == "SecretNotFound":
                raise SecretNotFound(
                    f"secret {self.name!r} does not exist in {self.vault_url}"
                ) from None
            raise EdgeError(f"{self._what('read')} failed: {describe(exc)}") from None
        return record_of(secret.properties)

    def versions(self) -> list[SecretRecord]:
        """Every version's metadata, in the order Key Vault lists them (callers order them:
        creation times have one-second resolution); empty when the secret does not exist."""
        try:
            listed = self._run(
                "list versions of",
                lambda: list(self._client.list_properties_of_secret_versions(self.name)),
                (404,),
            )
        except HttpResponseError:  # 404: no such secret (or vault)
            return []
        return [record_of(properties) for properties in listed]

    def value(self, version: str | None = None) -> str:
        """The value of `version` (the latest when None). The one read that returns a key:
        the caller keeps it in memory only."""
        return self._run("read", lambda: self._client.get_secret(self.name, version)).value

    def write(
        self,
        value: str,
        tags: Mapping[str, str],
        expires_on: datetime | None,
        content_type: str,
    ) -> SecretRecord:
        """Write `value` as the new latest version, enabled, with its tags, expiry and content
        type. With patience, a soft-deleted secret of that name (purge protection) is recovered
        first and the write repeated until the deadline."""

        def call() -> Any:
            return self._client.set_secret(
                self.name,
                value,
                content_type=content_type,
                tags=dict(tags),
                expires_on=expires_on,
                enabled=True,
            ).properties

        if self._patience is None:
            return record_of(self._run("set", call))
        patience = self._patience
        started = patience.clock()
        recovering = False
        attempt = 0
        while True:
            try:
                return record_of(self._run("set", call, (409,)))
            except HttpResponseError as conflict:
                waited = (patience.clock() - started).total_seconds()
                if waited >= patience.deadline_seconds:
                    raise EdgeError(
                        f"{self._what('set')} still answers 409 Conflict "
                        f"({error_code_of(conflict)}) after {waited:.0f} s: the name is held by "
                        "a deleted secret that could not be recovered"
                    ) from None
            if not recovering:
                recovering = self._start_recovery()
            patience.sleep(min(backoff_seconds(attempt), patience.deadline_seconds))
            attempt += 1

    def _start_recovery(self) -> bool:
        """Ask Key Vault to recover the deleted secret; True once it accepted (no value is read)."""
        try:
            # The poller is left unwaited: waiting would poll by reading the secret's value.
            self._run(
                "recover", lambda: self._client.begin_recover_deleted_secret(self.name), (404, 409)
            )
        except HttpResponseError:  # still being deleted, or not deleted at all: try again later
            return False
        log.info("recovering soft-deleted secret %s in %s", self.name, self.vault_url)
        return True

    def update(
        self,
        version: str,
        *,
        tags: Mapping[str, str] | None = None,
        expires_on: datetime | None = None,
        enabled: bool | None = None,
    ) -> SecretRecord:
        """Change one version's tags (replaced whole: Key Vault keeps tags per version), expiry
        or enabled flag; what is None stays as it is. Its value is never touched."""
        options: dict[str, Any] = {}
        if tags is not None:
            options["tags"] = dict(tags)
        if expires_on is not None:
            options["expires_on"] = expires_on
        if enabled is not None:
            options["enabled"] = enabled
        properties = self._run(
            "update properties of",
            lambda: self._client.update_secret_properties(self.name, version, **options),
        )
        return record_of(properties)

    def delete(self) -> bool:
        """Soft-delete the secret (the poller is left unwaited: deletion completes on its own
        within seconds); False when it was already gone."""
        try:
            self._run("delete", lambda: self._client.begin_delete_secret(self.name), (404,))
        except HttpResponseError:  # 404: already gone
            return False
        return True
