"""Azure OpenAI chat completions, with the key client's key or an Entra token."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import requests

from app.key_client import CachedKey, KeyClient, KeyClientError
from app.settings import DEFAULT_API_VERSION, AuthMode

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

log = logging.getLogger(__name__)

COGNITIVE_SERVICES_SCOPE = "https://cognitiveservices.azure.com/.default"
MAX_REFRESHES = 2
"""Key refreshes one call may do: a call can straddle two regenerations of the account keys."""


class AiCallError(RuntimeError):
    """The AI endpoint could not be reached or did not answer 2xx; `status` is its HTTP status."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class CallOutcome:
    """How the last call to the AI endpoint went (for the health report)."""

    ok: bool
    status: int | None
    at: float
    """Wall-clock time (epoch seconds) the call ended."""
    key_version: str | None
    refreshes: int


class AiClient:
    """Chat completions against one deployment, in `keyVault` (api-key) or `keyless` mode.

    In keyVault mode a 401 makes the key client re-read the key (single-flight) and the call is
    retried, up to MAX_REFRESHES times; in keyless mode `credential` supplies a token for
    COGNITIVE_SERVICES_SCOPE (azure-identity caches and renews it).
    """

    def __init__(
        self,
        endpoint: str,
        deployment: str,
        key_client: KeyClient | None,
        session: requests.Session | None = None,
        auth_mode: AuthMode = "keyVault",
        *,
        credential: TokenCredential | None = None,
        api_version: str = DEFAULT_API_VERSION,
        timeout: float = 30.0,
        max_refreshes: int = MAX_REFRESHES,
    ) -> None:
        if auth_mode == "keyVault" and key_client is None:
            raise ValueError("auth_mode='keyVault' needs a key_client")
        if auth_mode == "keyless" and credential is None:
            raise ValueError("auth_mode='keyless' needs a credential")
        if auth_mode not in ("keyVault", "keyless"):
            raise ValueError(f"auth_mode={auth_mode!r}: must be keyVault or keyless")
        self.url = (
            f"{endpoint.rstrip('/')}/openai/deployments/{quote(deployment, safe='')}"
            f"/chat/completions?api-version={quote(api_version, safe='')}"
        )
        self.auth_mode = auth_mode
        self.key_client = key_client
        self._credential = credential
        self._session = session or requests.Session()
        self._timeout = timeout
        self._max_refreshes = max_refreshes
        self._outcome_lock = threading.Lock()
        self.last_call: CallOutcome | None = None
        """The outcome of the most recent call that ended."""

    def chat(self, messages: list[dict[str, str]], **params: Any) -> dict[str, Any]:
        """Send `messages` (plus body `params` such as max_tokens); return the response JSON.

        Raises AiCallError when the endpoint does not answer 2xx, KeyClientError when no working
        key can be had.
        """
        body = {"messages": messages, **params}
        if self.auth_mode == "keyless":
            return self._finish(self._post(body, self._bearer_headers()), None, 0)

        assert self.key_client is not None
        key = self.key_client.current()
        refreshes = 0
        while True:
            response = self._post(body, {"api-key": key.value}, key)
            if response.status_code != 401 or refreshes >= self._max_refreshes:
                return self._finish(response, key, refreshes)
            refreshes += 1
            try:
                key = self.key_client.refresh_after_failure(key)
            except KeyClientError:
                self._record(False, 401, key, refreshes)
                raise

    def _bearer_headers(self) -> dict[str, str]:
        assert self._credential is not None
        try:
            token = self._credential.get_token(COGNITIVE_SERVICES_SCOPE)
        except Exception as exc:
            self._record(False, None, None, 0)
            first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise AiCallError(f"no Entra token for the AI endpoint: {first_line}") from None
        return {"Authorization": f"Bearer {token.token}"}

    def _post(
        self, body: dict[str, Any], headers: dict[str, str], key: CachedKey | None = None
    ) -> requests.Response:
        try:
            return self._session.post(self.url, json=body, headers=headers, timeout=self._timeout)
        except requests.RequestException as exc:
            self._record(False, None, key, 0)
            raise AiCallError(f"cannot reach the AI endpoint ({type(exc).__name__})") from None

    def _finish(
        self, response: requests.Response, key: CachedKey | None, refreshes: int
    ) -> dict[str, Any]:
        status = response.status_code
        if not 200 <= status < 300:
            self._record(False, status, key, refreshes)
            raise AiCallError(
                f"the AI endpoint answered HTTP {status} ({_error_code(response)})", status
            )
        try:
            payload = response.json()
        except ValueError:
            self._record(False, status, key, refreshes)
            raise AiCallError(
                f"the AI endpoint answered HTTP {status} with no JSON body", status
            ) from None
        if not isinstance(payload, dict):
            self._record(False, status, key, refreshes)
            raise AiCallError(f"the AI endpoint answered HTTP {status} with a non-object", status)
        self._record(True, status, key, refreshes)
        return payload

    def _record(self, ok: bool, status: int | None, key: CachedKey | None, refreshes: int) -> None:
        outcome = CallOutcome(ok, status, time.time(), key.version if key else None, refreshes)
        with self._outcome_lock:
            self.last_call = outcome


def _error_code(response: requests.Response) -> str:
    try:
        error = response.json().get("error", {})
        code = error.get("code") if isinstance(error, dict) else None
    except (ValueError, AttributeError):
        code = None
    return str(code) if code else (response.reason or "no reason")
