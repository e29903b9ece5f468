"""Managed identity: App Service's token endpoint (``IDENTITY_ENDPOINT``, api-version
2019-08-01) on the loopback host, for a site's system identity or a user-assigned one."""

from __future__ import annotations

import secrets

from werkzeug.wrappers import Request, Response

from emulator.errors import json_response
from emulator.identity import Identity, IdentityState
from emulator.routing import LOOPBACK_HOSTS, Route, Service, caseless

# App Service's own endpoint for managed identity tokens (plain http on the sandbox's loopback).
APP_SERVICE_IDENTITY_ENDPOINT = "http://localhost:4141/MSI/token"
IDENTITY_API_VERSION = "2019-08-01"


class ManagedIdentityState(IdentityState):
    """The hosts that may ask the endpoint for tokens, each by its X-IDENTITY-HEADER.

    A site's header selects its system identity (sites register it); the host header
    (``host_identity_header``: a VM or a CI runner without a site) only user-assigned ones.
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.identity_endpoint = APP_SERVICE_IDENTITY_ENDPOINT
        self.host_identity_header = secrets.token_urlsafe(24)
        # X-IDENTITY-HEADER -> the system identity it selects (None: user-assigned only).
        self.identity_hosts: dict[str, Identity | None] = {self.host_identity_header: None}

    def add_identity_host(self, system_identity: Identity | None) -> str:
        """A new X-IDENTITY-HEADER whose token requests get ``system_identity`` by default."""
        header = secrets.token_urlsafe(24)
        with self.lock:
            self.identity_hosts[header] = system_identity
        return header

    def _identity_host(self, identity_header: str) -> tuple[bool, Identity | None]:
        with self.lock:
            hosts = list(self.identity_hosts.items())
        for header, system_identity in hosts:
            if identity_header and secrets.compare_digest(header, identity_header):
                return True, system_identity
        return False, None

    def header_known(self, identity_header: str) -> bool:
        """Whether an X-IDENTITY-HEADER value is a site's or the host's."""
        return self._identity_host(identity_header)[0]

    def principal_for(self, identity_header: str, selector: dict[str, str]) -> Identity | None:
        """Which identity a token request with this X-IDENTITY-HEADER and selector asks for.

        A site's header selects its system identity; any valid header (a site's or
        ``host_identity_header``) may select a user-assigned identity by client_id, principal id
        (object_id) or resource id (mi_res_id).
        """
        known, system_identity = self._identity_host(identity_header)
        if not known:
            return None
        if not selector:
            return system_identity
        with self.lock:
            for identity in self.identities.values():
                if (
                    selector.get("client_id") == identity.client_id
                    or selector.get("object_id") == identity.principal_id
                    or (selector.get("mi_res_id") or "").lower() == identity.resource_id.lower()
                ):
                    return identity
        return None


class ManagedIdentity(Service):
    name = "managed_identity"

    def token(self, request: Request) -> Response:
        def failure(status: int, message: str) -> Response:
            return json_response(status, {"statusCode": status, "message": message})

        if request.method != "GET":
            return failure(405, f"Method {request.method} is not allowed on the token endpoint.")
        version = request.args.get("api-version")
        if version != IDENTITY_API_VERSION:
            return failure(400, f"api-version {version!r} is not supported; use 2019-08-01.")
        resource = request.args.get("resource")
        if not resource:
            return failure(400, "The 'resource' query parameter is required.")
        header = request.headers.get("X-IDENTITY-HEADER", "")
        selector = {
            k: request.args[k] for k in ("client_id", "object_id", "mi_res_id") if k in request.args
        }
        if not self.state.header_known(header):
            return failure(401, "The X-IDENTITY-HEADER is missing or does not match.")
        identity = self.state.principal_for(header, selector)
        if identity is None and selector:
            return failure(400, f"No managed identity matches {selector} on this host.")
        if identity is None:
            return failure(400, "This host has no system-assigned managed identity.")
        token, expires_on = self.state.issue_token(identity.principal_id, resource)
        return json_response(
            200,
            {
                "access_token": token,
                "expires_on": str(expires_on),
                "resource": resource,
                "token_type": "Bearer",
                "client_id": identity.client_id,
            },
        )


ROUTES = [
    Route(
        caseless("/MSI/token"),
        host=host,
        endpoint="managed_identity.token",
        counted_as="/MSI/token",
    )
    for host in LOOPBACK_HOSTS
]
