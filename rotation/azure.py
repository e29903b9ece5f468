"""The SDK edges of a rotation: Key Vault, the AI account's keys, the probe and the consumers.

Each class wraps one real client and speaks in versions, slots and statuses; key values pass
through and are never logged or kept.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests
from azure.core.exceptions import AzureError, HttpResponseError, ResourceNotFoundError
from azure.core.rest import HttpRequest

from rotation import state
from rotation.target import AccountRef, Consumer

log = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; azure-ai-api-key"
# The refresh call Microsoft documents for Key Vault references (not in the SDK).
REFRESH_API_VERSION = "2022-03-01"
DEFAULT_CHAT_API_VERSION = "2024-10-21"
T = TypeVar("T")


class RotationStopped(RuntimeError):
    """A rotation stopped on purpose, with nothing broken; the message is one line."""


def describe_error(exc: BaseException) -> str:
    """One line for an SDK or HTTP error, never its body (which could echo a request)."""
    if isinstance(exc, HttpResponseError) and exc.status_code is not None:
        code = exc.error.code if exc.error is not None and exc.error.code else exc.reason
        return f"HTTP {exc.status_code} {code}"
    if isinstance(exc, requests.RequestException):
        return f"cannot reach it ({type(exc).__name__})"
    first = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {first}"[:200]


@dataclass
class Waiter:
    """Polls a condition until it holds or `timeout` seconds pass (interval doubling to `cap`)."""

    timeout: float = 120.0
    interval: float = 1.0
    cap: float = 10.0
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep

    def until(self, check: Callable[[], T | None]) -> T | None:
        """The first non-None result of `check`, or None when time runs out."""
        deadline = self.clock() + self.timeout
        pause = self.interval
        while True:
            result = check()
            if result is not None:
                return result
            if self.clock() >= deadline:
                return None
            self.sleep(min(pause, max(0.0, deadline - self.clock())))
            pause = min(pause * 2, self.cap)


@dataclass(frozen=True)
class SecretRecord:
    """A secret version's metadata (never its value)."""

    version: str
    tags: dict[str, str]
    expires_on: datetime | None
    created_on: datetime | None
    enabled: bool


def _record(properties: Any) -> SecretRecord:
    return SecretRecord(
        version=properties.version,
        tags=dict(properties.tags or {}),
        expires_on=properties.expires_on,
        created_on=properties.created_on,
        enabled=properties.enabled is not False,
    )


class Vault:
    """The one secret, through `azure.keyvault.secrets.SecretClient`."""

    def __init__(self, client: Any, name: str) -> None:
        self._client = client
        self.name = name
        self.vault_url: str = client.vault_url

    @property
    def vault_name(self) -> str:
        """The vault's name, as App Service reports it in reference statuses."""
        return (urlsplit(self.vault_url).hostname or "").split(".")[0]

    def latest(self) -> SecretRecord:
        """The latest version's metadata (the read returns the value too; it is dropped)."""
        try:
            secret = self._client.get_secret(self.name)
        except ResourceNotFoundError as exc:
            if exc.error is not None and exc.error.code == "SecretNotFound":
                raise RotationStopped(
                    f"secret {self.name!r} does not exist in {self.vault_url}; the rule is: the "
                    "stack creates it (components/api_key_secret.py) before any rotation"
                ) from None
            raise RotationStopped(
                f"vault {self.vault_url}: cannot read secret {self.name!r} ({describe_error(exc)})"
            ) from None
        except AzureError as exc:
            raise RotationStopped(
                f"vault {self.vault_url}: cannot read secret {self.name!r} ({describe_error(exc)})"
            ) from None
        return _record(secret.properties)

    def versions(self) -> list[SecretRecord]:
        """Every version's metadata, newest first."""
        records = [_record(p) for p in self._client.list_properties_of_secret_versions(self.name)]
        return sorted(
            records, key=lambda r: r.created_on.timestamp() if r.created_on else 0.0, reverse=True
        )

    def publish(self, value: str, tags: Mapping[str, str], expires_on: datetime) -> SecretRecord:
        """Write `value` as the new latest version with its tags, expiry and content type."""
        secret = self._client.set_secret(
            self.name,
            value,
            tags=dict(tags),
            expires_on=expires_on,
            content_type=CONTENT_TYPE,
        )
        return _record(secret.properties)

    def set_tags(self, version: str, tags: Mapping[str, str]) -> None:
        """Replace the tags of one version (Key Vault keeps tags per version)."""
        self._client.update_secret_properties(self.name, version, tags=dict(tags))


class AccountKeys:
    """The AI account's two keys through `CognitiveServicesManagementClient`."""

    def __init__(self, client: Any, account: AccountRef) -> None:
        self._client = client
        self.account = account

    def key(self, slot: str) -> str:
        """The current value of `slot`."""
        keys = self._client.accounts.list_keys(self.account.resource_group, self.account.name)
        return keys.key1 if slot == "key1" else keys.key2

    def endpoint(self) -> str:
        """The account's data-plane endpoint, as ARM reports it (needs accounts/read)."""
        try:
            account = self._client.accounts.get(self.account.resource_group, self.account.name)
        except AzureError as exc:
            raise RotationStopped(
                f"account {self.account.resource_id}: cannot read its endpoint "
                f"({describe_error(exc)}); the rule is --endpoint, the stack output 'aiEndpoint' "
                "or a rotator role with Microsoft.CognitiveServices/accounts/read"
            ) from None
        endpoint = account.properties.endpoint if account.properties else None
        if not endpoint:
            raise RotationStopped(f"account {self.account.resource_id} reports no endpoint")
        return endpoint.rstrip("/")

    def check(self) -> None:
        """Fail with one line when the account cannot be found or its keys cannot be listed."""
        try:
            self.key("key1")
        except AzureError as exc:
            raise RotationStopped(
                f"account {self.account.resource_id}: cannot list its keys "
                f"({describe_error(exc)}); the rule is an existing account and a rotator role with "
                "Microsoft.CognitiveServices/accounts/listKeys/action"
            ) from None

    def regenerate(self, slot: str) -> str:
        """Regenerate `slot` and return its new value (the old one stops working at once)."""
        # key_name must be a keyword: a dict as third argument is wrapped inside keyName (400).
        keys = self._client.accounts.regenerate_key(
            self.account.resource_group, self.account.name, key_name=state.ARM_KEY_NAMES[slot]
        )
        log.info("regenerated %s of account %s", slot, self.account.name)
        return keys.key1 if slot == "key1" else keys.key2


class Probe:
    """Asks the AI endpoint whether a key is accepted: a one-token chat completion."""

    def __init__(
        self,
        session: requests.Session,
        endpoint: str,
        deployment: str,
        waiter: Waiter,
        api_version: str = DEFAULT_CHAT_API_VERSION,
    ) -> None:
        self._session = session
        self._url = f"{endpoint}/openai/deployments/{deployment}/chat/completions"
        self._api_version = api_version
        self._waiter = waiter
        self.attempts = 0

    def accepted(self, key: str) -> bool:
        """One request: True when the endpoint answers 200 with this key, False when it does not
        yet (401, throttling, unreachable); RotationStopped when the deployment does not exist."""
        self.attempts += 1
        try:
            response = self._session.post(
                self._url,
                params={"api-version": self._api_version},
                headers={"api-key": key},
                json={"messages": [{"role": "user", "content": "ping"}], "max_tokens": 1},
                timeout=30,
            )
        except requests.RequestException as exc:
            log.info("probe: endpoint not reached (%s)", type(exc).__name__)
            return False
        if response.status_code == 404:
            raise RotationStopped(
                f"the AI endpoint answered 404 for {self._url}; the rule is an existing chat "
                "deployment (--deployment or stack output 'chatDeployment'); nothing was published"
            )
        return response.status_code == 200

    def wait_accepted(self, key: str, slot: str) -> None:
        """Probe until the key is accepted; RotationStopped (nothing published) on timeout."""
        if self._waiter.until(lambda: True if self.accepted(key) else None) is None:
            raise RotationStopped(
                f"the AI endpoint did not accept {slot} within "
                f"{self._waiter.timeout:g} s; nothing was published (re-run to retry)"
            )
        log.info("probe: %s accepted by the AI endpoint", slot)


@dataclass(frozen=True)
class Observation:
    """What a consumer reports: whether it is on `expected`, and the facts behind that."""

    consumer: Consumer
    confirmed: bool
    version: str | None
    detail: str
    moved: bool = False  # it was not on the version at first look: it just switched

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able view (names, versions, statuses: nothing secret)."""
        return {
            "name": self.consumer.name,
            "kind": self.consumer.kind,
            "target": self.consumer.target,
            "confirmed": self.confirmed,
            "version": self.version,
            "detail": self.detail,
        }


class Consumers:
    """Refreshes and observes the secret's consumers.

    Sites: App Service refreshes its Key Vault references on the documented POST and reports each
    reference's status (azure-mgmt-web's get_app_settings_key_vault_references). Apps reading the
    secret through the SDK: their health endpoint reports the version in use; confirming asks it
    for the new version (`?expectVersion=<v>`: the sample app's workers then read Key Vault once
    each, app/workers.py), observing never does.
    """

    def __init__(
        self,
        web_client: Callable[[str], Any],
        session: requests.Session,
        waiter: Waiter,
        *,
        vault_name: str,
        secret_name: str,
    ) -> None:
        self._web_client = web_client
        self._session = session
        self._waiter = waiter
        self._vault_name = vault_name.lower()
        self._secret_name = secret_name.lower()

    def observe(self, consumer: Consumer, expected: str, *, vouched: bool = False) -> Observation:
        """Read (never change) where a consumer stands.

        `vouched`: the operation that published `expected` finished, so it confirmed every site
        after a refresh; a site whose status names no version is then taken as on it.
        """
        try:
            if consumer.kind == "site":
                return self._observe_site(consumer, expected, vouched=vouched)
            return self._observe_health(consumer, expected)
        except (AzureError, requests.RequestException, ValueError) as exc:
            return Observation(consumer, False, None, describe_error(exc))

    def confirm(self, consumer: Consumer, expected: str) -> Observation:
        """Bring a consumer onto version `expected` and wait until it reports it.

        A site already reporting `expected` is left alone: a refresh restarts its app.
        """
        refreshed = False
        if consumer.kind == "site":
            seen = self.observe(consumer, expected)
            if seen.confirmed:
                log.info("consumer %s (site) already on version %s", consumer.name, expected)
                return seen
            try:
                self._refresh_site(consumer)
                refreshed = True
            except AzureError as exc:
                return Observation(consumer, False, None, f"refresh failed: {describe_error(exc)}")
        last: list[Observation] = []
        first: list[bool] = []

        def check() -> Observation | None:
            try:
                if consumer.kind == "site":
                    seen = self._observe_site(consumer, expected, vouched=refreshed)
                else:
                    seen = self._observe_health(consumer, expected, ask=True)
            except (AzureError, requests.RequestException, ValueError) as exc:
                seen = Observation(consumer, False, None, describe_error(exc))
            last[:] = [seen]
            first.append(seen.confirmed)
            return seen if seen.confirmed else None

        confirmed = self._waiter.until(check)
        if confirmed is not None:
            confirmed = replace(confirmed, moved=refreshed or not first[0])
            log.info(
                "consumer %s (%s) confirmed on version %s", consumer.name, consumer.kind, expected
            )
            return confirmed
        return last[0] if last else Observation(consumer, False, None, "no answer")

    # -- sites --------------------------------------------------------------------------------

    def _refresh_site(self, consumer: Consumer) -> None:
        subscription, _, _ = consumer.site
        client = self._web_client(subscription)
        request = HttpRequest(
            "POST",
            f"{consumer.target}/config/configreferences/appsettings/refresh",
            params={"api-version": REFRESH_API_VERSION},
        )
        response = client.send_request(request)
        response.raise_for_status()

    def _observe_site(self, consumer: Consumer, expected: str, *, vouched: bool) -> Observation:
        subscription, group, site = consumer.site
        client = self._web_client(subscription)
        ours = []
        for ref in client.web_apps.get_app_settings_key_vault_references(group, site):
            props = ref.properties
            if props is None:
                continue
            if (props.vault_name or "").lower() == self._vault_name and (
                props.secret_name or ""
            ).lower() == self._secret_name:
                ours.append((ref.name, props))
        if not ours:
            return Observation(
                consumer,
                False,
                None,
                f"no app setting references secret {self._secret_name!r} in vault "
                f"{self._vault_name!r}",
            )
        for name, props in ours:
            version = props.active_version or props.secret_version
            if props.status != "Resolved":
                return Observation(consumer, False, version, f"{name}: {props.status}")
            if version is not None and version != expected:
                return Observation(consumer, False, version, f"{name}: Resolved on {version}")
            if version is None and not vouched:
                # App Service may report no version: only a refresh issued after the version was
                # published proves the cached value is the latest.
                return Observation(consumer, False, None, f"{name}: Resolved, version not reported")
        names = ", ".join(n for n, _ in ours)
        version = ours[0][1].active_version or ours[0][1].secret_version or expected
        return Observation(consumer, True, version, f"{names}: Resolved")

    # -- SDK apps -----------------------------------------------------------------------------

    def _observe_health(
        self, consumer: Consumer, expected: str, *, ask: bool = False
    ) -> Observation:
        """Confirmed only when every process reports `expected`: each App Service instance of
        the consumer's site (ARM `GET {siteId}/instances`, each asked through its ARRAffinity
        cookie, App Service's instance routing), and each worker an answer lists (`workers`,
        app/workers.py). An answer without a worker list speaks for one process only; the
        detail says exactly what was confirmed. `ask`: name `expected` in the request, so that
        the app moves to it (an app that knows no such parameter ignores it)."""
        params = {"expectVersion": expected} if ask else None
        instances: list[str | None] = [None]
        scope = "the front end's instance"
        if consumer.site_id:
            subscription, group, site = consumer.site
            try:
                listed = self._web_client(subscription).web_apps.list_instance_identifiers(
                    group, site
                )
                instances = [i.name for i in listed] or [None]
                scope = f"{len(instances)} instance(s)"
            except AzureError as exc:
                scope = f"the front end's instance (instances not listed: {describe_error(exc)})"
        processes = 0
        for instance in instances:
            cookies = {"ARRAffinity": instance} if instance else None
            response = self._session.get(
                consumer.target, params=params, cookies=cookies, timeout=15
            )
            try:
                body = response.json()
            except ValueError:
                body = {}
            where = f"instance {instance[:12]}: " if instance else ""
            answered = body.get("instance") if isinstance(body, dict) else None
            if instance and answered and answered != instance:
                return Observation(
                    consumer, False, None, f"{where}answered by instance {str(answered)[:12]}"
                )
            version = _reported_version(body)
            if version is None:
                return Observation(
                    consumer,
                    False,
                    None,
                    f"{where}health endpoint answered {response.status_code} with no secret "
                    "version",
                )
            workers = body.get("workers") if isinstance(body.get("workers"), list) else None
            held = [version] if workers is None else [_reported_version(w) for w in workers]
            behind = [v for v in held if v != expected]
            if version != expected or behind:
                shown = version if version != expected else behind[0]
                return Observation(consumer, False, shown, f"{where}a process on version {shown}")
            processes += 1 if workers is None else len(workers)
        unit = "worker(s)" if consumer.site_id or processes > 1 else "process"
        return Observation(consumer, True, expected, f"{scope}, {processes} {unit} on {expected}")


def _reported_version(body: Any) -> str | None:
    """The secret version a health report names (`secretVersion` or `key.version`)."""
    if not isinstance(body, dict):
        return None
    version = body.get("secretVersion")
    if version is None and isinstance(body.get("key"), dict):
        version = body["key"].get("version")
    return version if isinstance(version, str) and version else None
