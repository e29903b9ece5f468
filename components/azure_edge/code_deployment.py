"""Code deployment to an App Service or Functions app: OneDeploy to its SCM (Kudu) site, then
ARM's list of the app's functions.

``POST https://<scm host>/api/publish?RemoteBuild=true`` takes the zip with the deployer's Entra
token for Azure Resource Manager (the SCM site accepts it: no publishing credentials, no SAS);
``GET /api/deployments/<id>`` reports Kudu's status (3 failed, 4 succeeded); ARM's
``GET {siteId}/functions`` lists the functions once the host has indexed them. Every failure is
one line naming the step and the status, never a response body.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

import requests
from azure.core.exceptions import AzureError

from .errors import EdgeError, describe
from .retry import Waiter

ARM = "https://management.azure.com"
ARM_SCOPE = f"{ARM}/.default"
WEB_API_VERSION = "2024-04-01"
# Kudu deployment status codes (/api/deployments/<id>): 3 failed, 4 succeeded.
STATUS_FAILED = 3
STATUS_SUCCEEDED = 4
_DEPLOYMENT_ID = re.compile(r"^[A-Za-z0-9-]{1,64}$")


class OneDeploy:
    """OneDeploy and the function list, over one credential and HTTP session.

    `error` is the exception class raised (an ``EdgeError``); `waiter` paces and bounds every poll.
    """

    def __init__(
        self,
        credential: Any,
        session: requests.Session,
        waiter: Waiter,
        error: type[EdgeError] = EdgeError,
    ) -> None:
        self._credential = credential
        self._session = session
        self._waiter = waiter
        self._error = error

    def _send(self, what: str, method: str, url: str, **options: Any) -> Any:
        """One request with a fresh ARM token (a long deployment outlives a federated one)."""
        headers = options.pop("headers", {})
        try:
            token = self._credential.get_token(ARM_SCOPE).token
            send = getattr(self._session, method)
            return send(url, headers={"Authorization": f"Bearer {token}", **headers}, **options)
        except (AzureError, requests.RequestException) as exc:
            raise self._error(f"{what} failed: {describe(exc)}") from None

    def publish(self, host: str, package: bytes, refused: Callable[[int, str], str]) -> str:
        """POST the zip; the deployment's ID (or ``latest`` when the answer names none).
        `refused(status, body)` words the error for an answer other than 200/202."""
        answer = self._send(
            f"OneDeploy to {host}",
            "post",
            f"https://{host}/api/publish?RemoteBuild=true&Deployer=secure-azure-ai",
            data=package,
            headers={"Content-Type": "application/zip", "Cache-Control": "no-cache"},
            timeout=300,
        )
        if answer.status_code not in (200, 202):
            raise self._error(refused(answer.status_code, answer.text))
        named = answer.text.strip().strip('"')
        return named if _DEPLOYMENT_ID.match(named) else "latest"

    def _poll(
        self,
        what: str,
        url: str,
        done: Callable[[Any], bool],
        failure: Callable[[int], str],
        late: Callable[[], str],
    ) -> None:
        """GET `url` until `done(answer json)`; 202 and 404 mean not yet, any other non-200
        status stops with `failure(status)`, the waiter's deadline with `late()`."""

        def check() -> bool | None:
            answer = self._send(what, "get", url, timeout=60)
            if answer.status_code == 200:
                return True if done(answer.json()) else None
            if answer.status_code not in (202, 404):
                raise self._error(failure(answer.status_code))
            return None

        if self._waiter.until(check) is None:
            raise self._error(late())

    def wait_for_deployment(self, host: str, deployment_id: str) -> None:
        """Until Kudu reports the deployment succeeded; its failure names the log's URL."""
        url = f"https://{host}/api/deployments/{deployment_id}"

        def done(body: Any) -> bool:
            if body.get("status") == STATUS_FAILED:
                raise self._error(
                    f"OneDeploy to {host}: deployment {deployment_id} failed; its log is at "
                    f"{url}/log"
                )
            return body.get("status") == STATUS_SUCCEEDED

        self._poll(
            f"deployment status at {host}",
            url,
            done,
            lambda status: f"deployment status at {host}: HTTP {status}",
            lambda: (
                f"OneDeploy to {host}: deployment {deployment_id} unfinished after "
                f"{self._waiter.timeout:.0f} s"
            ),
        )

    def wait_for_functions(self, site_id: str, names: Sequence[str]) -> None:
        """Until ARM lists every function in `names` on the site."""
        missing = set(names)

        def done(body: Any) -> bool:
            listed = {
                str(item.get("name", "")).rsplit("/", 1)[-1] for item in body.get("value", [])
            }
            missing.clear()
            missing.update(set(names) - listed)
            return not missing

        self._poll(
            f"functions of {site_id}",
            f"{ARM}{site_id}/functions?api-version={WEB_API_VERSION}",
            done,
            lambda status: f"functions of {site_id}: HTTP {status}",
            lambda: (
                f"functions {sorted(missing)} not indexed on {site_id} after "
                f"{self._waiter.timeout:.0f} s; see the app's logs in Application Insights"
            ),
        )
