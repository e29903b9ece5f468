"""Entra ID sign-in (``login.microsoftonline.com``): client credentials with a client secret or
a federated assertion (workload identity federation), and the GitHub Actions OIDC token endpoint
whose tokens such an assertion carries."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from werkzeug.wrappers import Request, Response

from emulator.errors import json_response
from emulator.identity import Identity, IdentityState
from emulator.routing import Route, Service

FEDERATION_AUDIENCE = "api://AzureADTokenExchange"
GITHUB_OIDC_ISSUER = "https://token.actions.githubusercontent.com"
GITHUB_OIDC_LIFETIME = 300.0  # GitHub's OIDC tokens last 5-10 minutes
GITHUB_OIDC_HOST = "pipelines.actions.githubusercontent.com"
LOGIN_HOST = "login.microsoftonline.com"
_JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@dataclass
class FederatedCredential:
    """An app registration's federated identity credential: whose tokens it trusts."""

    issuer: str
    subject: str
    audience: str = FEDERATION_AUDIENCE


@dataclass
class ExternalToken:
    """A token an outside identity provider (GitHub Actions' OIDC) issued, as Entra checks it."""

    issuer: str
    subject: str
    audience: str
    expires: float


class EntraState(IdentityState):
    """App registrations' client secrets and federated credentials, outside tokens, CI jobs."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        # client_id -> client secret of service principals (Entra client-credential sign-in).
        self.client_secrets: dict[str, str] = {}
        self.federated: dict[str, FederatedCredential] = {}
        self.external_tokens: dict[str, ExternalToken] = {}
        self.github_jobs: dict[str, str] = {}

    def add_service_principal(self, name: str) -> tuple[Identity, str]:
        """Create an app registration that signs in with a client secret (made at run time).

        Returns the identity and its secret, for ``ClientSecretCredential(state.tenant_id,
        identity.client_id, secret)``.
        """
        identity = self.add_identity(name)
        secret = secrets.token_urlsafe(30)
        with self.lock:
            self.client_secrets[identity.client_id] = secret
        return identity, secret

    def add_federated_principal(self, name: str, credential: FederatedCredential) -> Identity:
        """Create an app registration that signs in with another provider's token (workload
        identity federation, as for GitHub Actions' OIDC), for ``ClientAssertionCredential``."""
        identity = self.add_identity(name)
        with self.lock:
            self.federated[identity.client_id] = credential
        return identity

    def issue_external_token(
        self, issuer: str, subject: str, audience: str = FEDERATION_AUDIENCE, lifetime: float = 300
    ) -> str:
        """A token from an outside identity provider, valid ``lifetime`` seconds on the state
        clock (GitHub's OIDC tokens last 5-10 minutes). Opaque, like every emulator token."""
        token = secrets.token_urlsafe(32)
        with self.lock:
            self.external_tokens[token] = ExternalToken(
                issuer, subject, audience, self.clock() + lifetime
            )
        return token

    def add_github_job(self, subject: str) -> str:
        """A GitHub Actions job with ``id-token: write``: its ACTIONS_ID_TOKEN_REQUEST_TOKEN,
        which gets OIDC tokens for ``subject`` (e.g. ``repo:<owner>/<repo>:environment:dev``)."""
        runtime_token = secrets.token_urlsafe(32)
        with self.lock:
            self.github_jobs[runtime_token] = subject
        return runtime_token

    def github_oidc_token(self, runtime_token: str, audience: str) -> str | None:
        """A new OIDC token of the job the runtime token belongs to, or None."""
        with self.lock:
            subject = self.github_jobs.get(runtime_token)
        if subject is None:
            return None
        return self.issue_external_token(
            GITHUB_OIDC_ISSUER, subject, audience, lifetime=GITHUB_OIDC_LIFETIME
        )

    def federated_principal(self, client_id: str, assertion: str) -> tuple[Identity | None, str]:
        """The app a federated assertion signs in as, or None and Entra's reason."""
        with self.lock:
            credential = self.federated.get(client_id)
            token = self.external_tokens.get(assertion)
            if credential is None:
                return (
                    None,
                    f"AADSTS700016: Application with identifier '{client_id}' was not found.",
                )
            if token is None:
                return None, "AADSTS50027: JWT token is invalid or malformed."
            if token.expires <= self.clock():
                return None, "AADSTS700024: Client assertion is not within its valid time range."
            for field_name in ("issuer", "subject", "audience"):
                if getattr(token, field_name) != getattr(credential, field_name):
                    return None, (
                        "AADSTS70021: No matching federated identity record found for presented "
                        f"assertion {field_name} '{getattr(token, field_name)}'."
                    )
            return self._by_client_id(client_id), ""

    def client_credentials_principal(self, client_id: str, secret: str) -> Identity | None:
        """The service principal a client id and secret sign in as, or None."""
        with self.lock:
            expected = self.client_secrets.get(client_id)
            if expected is None or not secrets.compare_digest(expected, secret):
                return None
            return self._by_client_id(client_id)

    def _by_client_id(self, client_id: str) -> Identity:
        return next(i for i in self.identities.values() if i.client_id == client_id)


def _oauth_error(status: int, error: str, description: str) -> Response:
    return json_response(status, {"error": error, "error_description": description})


class Entra(Service):
    name = "entra"

    def _tenant_error(self, tenant: str) -> Response | None:
        if tenant.lower() == self.state.tenant_id.lower():
            return None
        return _oauth_error(400, "invalid_tenant", f"AADSTS90002: Tenant '{tenant}' not found.")

    def _base(self) -> str:
        return f"https://{LOGIN_HOST}/{self.state.tenant_id}"

    def openid_configuration(self, request: Request, tenant: str) -> Response:
        failure = self._tenant_error(tenant)
        if failure:
            return failure
        base = self._base()
        return json_response(
            200,
            {
                "issuer": f"{base}/v2.0",
                "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                "token_endpoint": f"{base}/oauth2/v2.0/token",
                "token_endpoint_auth_methods_supported": ["client_secret_post"],
                "tenant_region_scope": "EU",
                "cloud_instance_name": "microsoftonline.com",
            },
        )

    def instance_discovery(self, request: Request) -> Response:
        # MSAL asks this after a failed sign-in to learn the cloud's host aliases.
        return json_response(
            200,
            {
                "tenant_discovery_endpoint": (
                    f"{self._base()}/v2.0/.well-known/openid-configuration"
                ),
                "api-version": "1.1",
                "metadata": [
                    {
                        "preferred_network": LOGIN_HOST,
                        "preferred_cache": "login.windows.net",
                        "aliases": [
                            LOGIN_HOST,
                            "login.windows.net",
                            "login.microsoft.com",
                            "sts.windows.net",
                        ],
                    }
                ],
            },
        )

    def client_credentials(self, request: Request, tenant: str) -> Response:
        if request.method != "POST":
            return _oauth_error(
                405, "invalid_request", "AADSTS900561: The endpoint only accepts POST."
            )
        tenant_failure = self._tenant_error(tenant)
        if tenant_failure:
            return tenant_failure
        form = request.form
        if form.get("grant_type") != "client_credentials":
            return _oauth_error(
                400,
                "unsupported_grant_type",
                f"AADSTS70003: grant_type {form.get('grant_type')!r} is not supported here.",
            )
        client_id = form.get("client_id", "")
        if form.get("client_assertion_type") == _JWT_BEARER:
            identity, problem = self.state.federated_principal(
                client_id, form.get("client_assertion", "")
            )
            if identity is None:
                return _oauth_error(401, "invalid_client", problem)
        elif client_id not in self.state.client_secrets:
            return _oauth_error(
                400,
                "unauthorized_client",
                f"AADSTS700016: Application with identifier '{client_id}' was not found.",
            )
        else:
            identity = self.state.client_credentials_principal(
                client_id, form.get("client_secret", "")
            )
            if identity is None:
                return _oauth_error(
                    401, "invalid_client", "AADSTS7000215: Invalid client secret provided."
                )
        scopes = form.get("scope", "").split()
        resources = [s.removesuffix("/.default") for s in scopes if s.endswith("/.default")]
        if len(resources) != 1:
            return _oauth_error(
                400,
                "invalid_scope",
                f"AADSTS1002012: scope {form.get('scope', '')!r} must be one "
                "'<resource>/.default'.",
            )
        token, expires_on = self.state.issue_token(identity.principal_id, resources[0])
        lifetime = expires_on - int(time.time())
        return json_response(
            200,
            {
                "token_type": "Bearer",
                "expires_in": lifetime,
                "ext_expires_in": lifetime,
                "access_token": token,
            },
        )

    def github_oidc(self, request: Request) -> Response:
        # GitHub's ID token endpoint (ACTIONS_ID_TOKEN_REQUEST_URL): a bearer runtime token in,
        # {"value": <OIDC token>} out, for the audience asked.
        scheme, _, runtime_token = request.headers.get("Authorization", "").partition(" ")
        audience = request.args.get("audience") or "https://github.com"
        token = None
        if scheme.lower() == "bearer" and request.method == "GET":
            token = self.state.github_oidc_token(runtime_token.strip(), audience)
        if token is None:
            return json_response(
                401, {"message": "Unauthorized: the job has no id-token permission."}
            )
        return json_response(200, {"count": len(token), "value": token})


ROUTES = [
    Route(
        "/<tenant>/v2.0/.well-known/openid-configuration",
        host=LOGIN_HOST,
        endpoint="entra.openid_configuration",
        counted_as="openid-configuration",
    ),
    Route(
        "/<tenant>/oauth2/v2.0/token",
        host=LOGIN_HOST,
        endpoint="entra.client_credentials",
        counted_as="/{tenant}/oauth2/v2.0/token",
    ),
    Route(
        "/common/discovery/instance",
        host=LOGIN_HOST,
        endpoint="entra.instance_discovery",
        counted_as="/common/discovery/instance",
    ),
    Route("/", host=GITHUB_OIDC_HOST, endpoint="entra.github_oidc", counted_as="idtoken"),
    Route(
        "/<path:_path>", host=GITHUB_OIDC_HOST, endpoint="entra.github_oidc", counted_as="idtoken"
    ),
]
