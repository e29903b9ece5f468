"""In-memory mode: a requests adapter that calls the WSGI app directly (no sockets)."""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict
from requests.utils import get_encoding_from_headers
from urllib3 import HTTPResponse
from werkzeug.test import EnvironBuilder, run_wsgi_app

from emulator.app import EmulatorApp
from emulator.errors import EmulatorError
from emulator.identity import Identity
from emulator.state import AzureState

WsgiApp = Callable[..., Any]


def _as_app(target: AzureState | WsgiApp) -> WsgiApp:
    return EmulatorApp(target) if isinstance(target, AzureState) else target


class WSGIAdapter(BaseAdapter):
    """Sends each prepared request straight into a WSGI app and returns its response."""

    def __init__(self, app: WsgiApp) -> None:
        super().__init__()
        self.app = app

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> requests.Response:
        url = urlsplit(request.url or "")
        body = request.body
        if isinstance(body, str):
            body = body.encode("utf-8")
        elif body is not None and not isinstance(body, bytes):
            body = b"".join(c.encode() if isinstance(c, str) else c for c in body)
        headers = [(k, v) for k, v in request.headers.items() if k.lower() != "host"]
        builder = EnvironBuilder(
            path=url.path or "/",
            base_url=f"{url.scheme}://{url.netloc}",
            query_string=url.query,
            method=request.method or "GET",
            headers=headers,
            data=body,
        )
        try:
            environ = builder.get_environ()
        finally:
            builder.close()
        app_iter, status, response_headers = run_wsgi_app(self.app, environ, buffered=True)
        try:
            content = b"".join(app_iter)
        finally:
            close = getattr(app_iter, "close", None)
            if close is not None:
                close()
        response = requests.Response()
        response.status_code = int(status.split(" ", 1)[0])
        response.reason = status.split(" ", 1)[1] if " " in status else ""
        response.headers = CaseInsensitiveDict(response_headers.items())
        response.encoding = get_encoding_from_headers(response.headers)
        response.raw = HTTPResponse(
            body=io.BytesIO(content),
            headers=dict(response_headers.items()),
            status=response.status_code,
            preload_content=False,
            decode_content=False,
        )
        response._content = content
        response._content_consumed = True
        response.url = request.url or ""
        response.request = request
        response.connection = self
        return response

    def close(self) -> None:
        """Nothing to release: no connections are ever opened."""


def session(target: AzureState | WsgiApp) -> requests.Session:
    """A ``requests.Session`` whose http:// and https:// requests go to the emulator in memory.

    Environment proxies and CA bundles are ignored (``trust_env`` is off): nothing leaves the
    process. Use it for plain-requests callers (config references, chat, a site's /healthz).
    """
    result = requests.Session()
    result.trust_env = False
    adapter = WSGIAdapter(_as_app(target))
    result.mount("https://", adapter)
    result.mount("http://", adapter)
    return result


def transport(target: AzureState | WsgiApp) -> Any:
    """An azure-core ``RequestsTransport`` over :func:`session`: pass it as ``transport=`` to
    any Azure SDK client or credential, and the whole pipeline (retries, challenge, MSAL) runs."""
    from azure.core.pipeline.transport import RequestsTransport

    return RequestsTransport(session=session(target), session_owner=False)


def identity_env(state: AzureState, site: str | None = None) -> dict[str, str]:
    """IDENTITY_ENDPOINT/IDENTITY_HEADER as App Service sets them for ``site``.

    Without a site, the header is the state's host header, which may only request user-assigned
    identities (``ManagedIdentityCredential(client_id=...)``).
    """
    header = state.site(site).identity_header if site else state.host_identity_header
    return {"IDENTITY_ENDPOINT": state.identity_endpoint, "IDENTITY_HEADER": header}


@contextmanager
def identity_environment(state: AzureState, site: str | None = None) -> Iterator[dict[str, str]]:
    """Set :func:`identity_env` in ``os.environ`` for the block, then restore the old values.

    azure-identity and MSAL read these variables from the process environment, so only one
    identity endpoint/header pair can be active per process at a time.
    """
    values = identity_env(state, site)
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield values
    finally:
        for name, old in saved.items():
            if old is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = old


def managed_identity_credential(
    target: AzureState | WsgiApp, identity: Identity | None = None, **kwargs: Any
) -> Any:
    """A real ``ManagedIdentityCredential`` whose token requests go to the emulator in memory.

    ``identity``: a user-assigned identity (sent as client_id); None uses the system identity of
    the site whose IDENTITY_HEADER is in the environment. IDENTITY_ENDPOINT/IDENTITY_HEADER must
    be set (see :func:`identity_environment`); extra keyword arguments go to the credential.
    """
    from azure.identity import ManagedIdentityCredential

    if not (os.environ.get("IDENTITY_ENDPOINT") and os.environ.get("IDENTITY_HEADER")):
        raise EmulatorError(
            "IDENTITY_ENDPOINT/IDENTITY_HEADER are not set; wrap the credential's use in "
            "emulator.identity_environment(state, site)"
        )
    if identity is not None:
        kwargs["client_id"] = identity.client_id
    kwargs.setdefault("transport", transport(target))
    return ManagedIdentityCredential(**kwargs)


def clear_challenge_cache() -> None:
    """Forget Key Vault's process-wide authentication challenges (call between tests)."""
    from azure.keyvault.secrets._shared import http_challenge_cache

    http_challenge_cache.clear()
