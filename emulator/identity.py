"""Identity shared by every service: principals, and the access tokens Entra and managed
identity issue and the resource services check.

Tokens are opaque random strings: the emulator remembers who each was issued to and for which
audience, so a service checks a bearer token by looking it up (:func:`authenticate`).
"""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from werkzeug.wrappers import Request

from emulator.base import StateBase

TOKEN_LIFETIME_SECONDS = 3600


@dataclass
class Identity:
    """A principal: a managed identity (system-assigned, a site's; or user-assigned) or an
    app registration's service principal."""

    name: str
    principal_id: str
    client_id: str
    resource_id: str


@dataclass
class TokenInfo:
    """What the emulator remembers about an access token it issued (the token itself is opaque)."""

    principal_id: str
    resource: str
    expires_on: int


def new_identity(name: str, resource_id: str) -> Identity:
    """A principal with fresh principal and client ids."""
    return Identity(name, str(uuid.uuid4()), str(uuid.uuid4()), resource_id)


@dataclass(frozen=True)
class TokenRefused:
    """Why a request's bearer token was refused (each service words its own answer):
    ``reason`` "missing", "invalid" (unknown or expired) or "audience" (``audience``: the
    token's, when it is for another resource)."""

    reason: str
    audience: str | None = None


class IdentityState(StateBase):
    """The directory's principals (by name) and the access tokens issued so far."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.identities: dict[str, Identity] = {}
        self.tokens: dict[str, TokenInfo] = {}

    def add_identity(self, name: str) -> Identity:
        """Create a user-assigned managed identity (select it with ``client_id=``)."""
        with self.lock:
            self.vacant(self.identities, "identity", name)
            identity = new_identity(
                name,
                self.resource_id("Microsoft.ManagedIdentity/userAssignedIdentities", name),
            )
            self.identities[name] = identity
            return identity

    def identity(self, name: str) -> Identity:
        return self.lookup(self.identities, "identity", name)

    def issue_token(self, principal_id: str, resource: str) -> tuple[str, int]:
        """Mint an opaque token for a principal and resource; returns (token, expires_on)."""
        token = secrets.token_urlsafe(32)
        expires_on = int(time.time()) + TOKEN_LIFETIME_SECONDS
        with self.lock:
            self.tokens[token] = TokenInfo(principal_id, resource.rstrip("/"), expires_on)
        return token, expires_on

    def token_info(self, token: str) -> TokenInfo | None:
        """The principal and audience behind a token, or None if unknown or expired."""
        with self.lock:
            info = self.tokens.get(token)
        # Token lifetimes follow real time: clients compute expiry from the wall clock too.
        if info is None or info.expires_on <= time.time():
            return None
        return info


def bearer(request: Request) -> str | None:
    """The request's ``Authorization: Bearer`` token, or None."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def authenticate(
    state: IdentityState, token: str | None, audiences: Iterable[str]
) -> TokenInfo | TokenRefused:
    """The token's principal when it is known, unexpired and for one of ``audiences``."""
    if token is None:
        return TokenRefused("missing")
    info = state.token_info(token)
    if info is None:
        return TokenRefused("invalid")
    if info.resource.lower() not in {a.lower() for a in audiences}:
        return TokenRefused("audience", info.resource)
    return info
