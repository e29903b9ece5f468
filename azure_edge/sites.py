"""The secret's consumers: App Service sites with a Key Vault reference, and apps that read the
secret through the SDK and report the version in use on a health endpoint.

Speaks in versions and statuses; a key never passes here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import requests
from azure.core.exceptions import AzureError
from azure.core.rest import HttpRequest
from azure.mgmt.core.tools import parse_resource_id

from .errors import describe
from .retry import Waiter

log = logging.getLogger(__name__)

# The refresh call Microsoft documents for Key Vault references (not in the SDK).
REFRESH_API_VERSION = "2022-03-01"
SITE = "site"
HEALTH = "health"


@dataclass(frozen=True)
class Consumer:
    """Something that reads the secret: an App Service site with a Key Vault reference
    (kind 'site', target = site ID) or an app reading it through the SDK (kind 'health',
    target = the URL of its health endpoint, which reports the secret version in use)."""

    name: str
    kind: str
    target: str
    site_id: str | None = None
    """For a health consumer running on App Service: its site, whose instances are each asked."""

    @property
    def site(self) -> tuple[str, str, str]:
        """(subscription, resource group, site name) of a site consumer (or of the site a
        health consumer runs on); the ID was checked when the consumer was made."""
        parts = parse_resource_id(self.site_id or self.target)
        return parts["subscription"], parts["resource_group"], parts["name"]


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


class ConsumerSites:
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
            if consumer.kind == SITE:
                return self._observe_site(consumer, expected, vouched=vouched)
            return self._observe_health(consumer, expected)
        except (AzureError, requests.RequestException, ValueError) as exc:
            return Observation(consumer, False, None, describe(exc))

    def confirm(self, consumer: Consumer, expected: str) -> Observation:
        """Bring a consumer onto version `expected` and wait until it reports it.

        A site already reporting `expected` is left alone: a refresh restarts its app.
        """
        refreshed = False
        if consumer.kind == SITE:
            seen = self.observe(consumer, expected)
            if seen.confirmed:
                log.info("consumer %s (site) already on version %s", consumer.name, expected)
                return seen
            try:
                self._refresh_site(consumer)
                refreshed = True
            except AzureError as exc:
                return Observation(consumer, False, None, f"refresh failed: {describe(exc)}")
        last: list[Observation] = []
        first: list[bool] = []

        def check() -> Observation | None:
            try:
                if consumer.kind == SITE:
                    seen = self._observe_site(consumer, expected, vouched=refreshed)
                else:
                    seen = self._observe_health(consumer, expected, ask=True)
            except (AzureError, requests.RequestException, ValueError) as exc:
                seen = Observation(consumer, False, None, describe(exc))
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
                scope = f"the front end's instance (instances not listed: {describe(exc)})"
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
