"""A Key Vault data plane in a `requests` adapter, under a real `SecretClient`.

It answers as Key Vault's REST API does (Secrets 7.x: "Set Secret", "Get Secret", "Get Secret
Versions", "Update Secret", "Recover Deleted Secret"; errors as `{"error": {"code", "message",
"innererror"}}`), including the bearer challenge a first request gets (401 with
`WWW-Authenticate: Bearer authorization=..., resource=https://vault.azure.net`, which the SDK's
ChallengeAuthPolicy answers). Every request is recorded, so tests assert what went on the wire.
"""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
import urllib3
from azure.core.credentials import AccessToken
from azure.core.pipeline.transport import RequestsTransport

VAULT_URL = "https://kv-edge-test.vault.azure.net"
CHALLENGE = (
    'Bearer authorization="https://login.microsoftonline.com/'
    '00000000-0000-0000-0000-000000000001", '
    'resource="https://vault.azure.net"'
)


class FakeCredential:
    """Hands out a fixed bearer token; the tests are about Key Vault, not sign-in."""

    def get_token(self, *scopes: str, **_: Any) -> AccessToken:
        return AccessToken("test-bearer", 4_102_444_800)


@dataclass
class Answer:
    """A canned failure: status, error code and (optionally) inner error code."""

    status: int
    code: str
    inner: str | None = None


@dataclass
class KeyVaultAdapter(requests.adapters.BaseAdapter):
    """One vault's secrets in memory, keyed by name: a list of versions, newest last."""

    secrets: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    deleted: set[str] = field(default_factory=set)
    requests: list[tuple[str, str, Any]] = field(default_factory=list)
    # Failures to answer before the normal handling: (method, path suffix) -> list of answers.
    failures: dict[tuple[str, str], list[Answer]] = field(default_factory=dict)
    on_request: Callable[[str, str], None] | None = None

    def __post_init__(self) -> None:
        super().__init__()

    def close(self) -> None:
        pass

    def send(self, request: requests.PreparedRequest, **_: Any) -> requests.Response:
        if "Authorization" not in request.headers:
            return self._response(request, 401, {}, {"WWW-Authenticate": CHALLENGE})
        path = urlsplit(request.url).path
        body = json.loads(request.body) if request.body else None
        self.requests.append((request.method, path, body))
        if self.on_request:
            self.on_request(request.method, path)
        for (method, suffix), answers in self.failures.items():
            if request.method == method and path.endswith(suffix) and answers:
                answer = answers.pop(0)
                error: dict[str, Any] = {"code": answer.code, "message": "long text, not shown"}
                if answer.inner:
                    error["innererror"] = {"code": answer.inner}
                return self._response(request, answer.status, {"error": error})
        parts = path.strip("/").split("/")
        if parts[0] == "deletedsecrets" and request.method == "POST":
            name = parts[1]
            if name not in self.deleted:
                return self._error(request, 404, "SecretNotFound")
            self.deleted.discard(name)
            return self._response(request, 200, self._bundle(name, self.secrets[name][-1]))
        name = parts[1]
        if request.method == "PUT":
            if name in self.deleted:
                return self._error(request, 409, "Conflict")
            version = {
                "version": uuid.uuid4().hex,
                "value": body["value"],
                "tags": body.get("tags"),
                "contentType": body.get("contentType"),
                "attributes": {**body.get("attributes", {}), "created": 1_800_000_000},
            }
            self.secrets.setdefault(name, []).append(version)
            return self._response(request, 200, self._bundle(name, version))
        versions = self.secrets.get(name)
        if not versions or name in self.deleted:
            return self._error(request, 404, "SecretNotFound")
        if request.method == "GET" and len(parts) == 3 and parts[2] == "versions":
            listed = [self._bundle(name, v, value=False) for v in versions]
            return self._response(request, 200, {"value": listed, "nextLink": None})
        if request.method == "GET":
            wanted = parts[2] if len(parts) > 2 and parts[2] else versions[-1]["version"]
            found = next((v for v in versions if v["version"] == wanted), None)
            if found is None:
                return self._error(request, 404, "SecretNotFound")
            return self._response(request, 200, self._bundle(name, found))
        if request.method == "PATCH":
            found = next(v for v in versions if v["version"] == parts[2])
            if "tags" in body:
                found["tags"] = body["tags"]
            found["attributes"].update(body.get("attributes", {}))
            return self._response(request, 200, self._bundle(name, found, value=False))
        return self._error(request, 405, "BadRequest")

    def _bundle(self, name: str, version: dict[str, Any], value: bool = True) -> dict[str, Any]:
        bundle = {
            "id": f"{VAULT_URL}/secrets/{name}/{version['version']}",
            "attributes": version["attributes"],
            "tags": version["tags"],
            "contentType": version["contentType"],
        }
        if value:
            bundle["value"] = version["value"]
        return bundle

    def _error(self, request: requests.PreparedRequest, status: int, code: str) -> Any:
        return self._response(request, status, {"error": {"code": code, "message": "not shown"}})

    @staticmethod
    def _response(
        request: requests.PreparedRequest,
        status: int,
        body: dict[str, Any],
        headers: dict[str, str] | None = None,
    ) -> requests.Response:
        content = json.dumps(body).encode()
        all_headers = {"Content-Type": "application/json", **(headers or {})}
        response = requests.Response()
        response.status_code = status
        response.raw = urllib3.HTTPResponse(
            body=io.BytesIO(content), headers=all_headers, status=status, preload_content=False
        )
        response._content = content
        response.headers.update(all_headers)
        response.request = request
        response.url = request.url
        return response


@pytest.fixture
def key_vault() -> KeyVaultAdapter:
    return KeyVaultAdapter()


@pytest.fixture
def secret_client(key_vault: KeyVaultAdapter) -> Any:
    """A real SecretClient whose HTTP goes to the adapter (retries off: the tests count calls)."""
    from azure.keyvault.secrets import SecretClient

    session = requests.Session()
    session.mount("https://", key_vault)
    return SecretClient(
        VAULT_URL,
        FakeCredential(),
        transport=RequestsTransport(session=session, session_owner=False),
        retry_total=0,
    )
