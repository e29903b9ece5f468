"""The Azure credential a process signs in with, chosen from its environment.

A deployment can run for longer than the sign-in it started with. In GitHub Actions, ``azure/login``
turns the job's OIDC token into an Azure CLI session, and that token expires after 5-10 minutes: an
Azure CLI asked later for a token of a new audience (``https://vault.azure.net``) fails with
``AADSTS700024`` (Azure/azure-cli#28708, Azure/login#372). The key write comes after the vault, the
account and the role assignments, so it would depend on the deployment being quick.

So a deploying process (the key-writing provider, the code deployment) signs in on its own,
with a credential that asks for a fresh assertion each time it needs a token:

1. GitHub Actions OIDC (``ACTIONS_ID_TOKEN_REQUEST_URL`` and ``ACTIONS_ID_TOKEN_REQUEST_TOKEN``, set
   when the job has ``id-token: write``) with ``AZURE_CLIENT_ID`` and ``AZURE_TENANT_ID``:
   ``ClientAssertionCredential`` whose assertion is a new GitHub OIDC token per token request;
2. workload identity (``AZURE_FEDERATED_TOKEN_FILE`` with ``AZURE_CLIENT_ID`` and
   ``AZURE_TENANT_ID``, as AKS and other federated hosts set them): ``WorkloadIdentityCredential``,
   which reads the platform-refreshed file each time;
3. anything else (a developer's ``az login``, a managed identity, ``AZURE_CLIENT_SECRET``...):
   ``DefaultAzureCredential``.

:func:`choose` is pure (environment in, choice out); :func:`build` turns the choice into an
azure-identity credential.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from azure.core.exceptions import ClientAuthenticationError

GITHUB_OIDC = "github-oidc"
WORKLOAD_IDENTITY = "workload-identity"
DEFAULT = "default"

# The audience azure/login asks for, and the one Entra federated credentials expect by default.
FEDERATION_AUDIENCE = "api://AzureADTokenExchange"
_OIDC_TIMEOUT_SECONDS = 30.0


class CredentialError(ClientAuthenticationError):
    """The sign-in environment is unusable, as one line that never shows a token (an
    authentication error, so callers report it as a missing credential)."""


@dataclass(frozen=True)
class CredentialChoice:
    """Which credential to build, and from what (no token values)."""

    kind: str
    tenant_id: str | None = None
    client_id: str | None = None
    token_file: str | None = None


def choose(environ: Mapping[str, str]) -> CredentialChoice:
    """The credential for this environment (see the module docstring for the order)."""

    def value(name: str) -> str | None:
        return (environ.get(name) or "").strip() or None

    tenant_id, client_id = value("AZURE_TENANT_ID"), value("AZURE_CLIENT_ID")
    federated = tenant_id is not None and client_id is not None
    github = value("ACTIONS_ID_TOKEN_REQUEST_URL") and value("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
    if github and federated:
        return CredentialChoice(GITHUB_OIDC, tenant_id, client_id)
    token_file = value("AZURE_FEDERATED_TOKEN_FILE")
    if token_file and federated:
        return CredentialChoice(WORKLOAD_IDENTITY, tenant_id, client_id, token_file)
    return CredentialChoice(DEFAULT)


UrlOpener = Callable[..., Any]  # urllib.request.urlopen(request, timeout=...)


def github_oidc_assertion(
    environ: Mapping[str, str], open_url: UrlOpener = urllib.request.urlopen
) -> str:
    """A new GitHub Actions OIDC token for Entra's token exchange (one request per call).

    GitHub documents the exchange: GET ``$ACTIONS_ID_TOKEN_REQUEST_URL`` with ``audience`` added,
    ``Authorization: bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN``; the answer is ``{"value": <JWT>}``.
    """
    url = environ.get("ACTIONS_ID_TOKEN_REQUEST_URL", "")
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "https" or not parts.netloc:
        raise CredentialError("ACTIONS_ID_TOKEN_REQUEST_URL must be an https:// URL")
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    query = [(k, v) for k, v in query if k != "audience"] + [("audience", FEDERATION_AUDIENCE)]
    request = urllib.request.Request(
        urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query))),
        headers={
            "Authorization": f"bearer {environ.get('ACTIONS_ID_TOKEN_REQUEST_TOKEN', '')}",
            "Accept": "application/json",
        },
    )
    where = f"GitHub OIDC token request to {parts.netloc}"
    try:
        with open_url(request, timeout=_OIDC_TIMEOUT_SECONDS) as response:
            body = response.read()
    except urllib.error.HTTPError as error:
        raise CredentialError(
            f"{where} answered HTTP {error.code}: the job needs 'permissions: id-token: write'"
        ) from None
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise CredentialError(f"{where} failed: {type(error).__name__}: {reason}") from None
    try:
        token = json.loads(body)["value"]
    except (ValueError, KeyError, TypeError):
        token = None
    if not isinstance(token, str) or not token:
        raise CredentialError(f"{where} answered without a token in 'value'")
    return token


def build(
    choice: CredentialChoice,
    environ: Mapping[str, str],
    open_url: UrlOpener = urllib.request.urlopen,
    **options: Any,
) -> Any:
    """The azure-identity credential for a choice (``open_url`` reaches GitHub's OIDC endpoint;
    ``options`` go to the credential, e.g. ``transport``)."""
    if choice.kind == GITHUB_OIDC:
        from azure.identity import ClientAssertionCredential

        return ClientAssertionCredential(
            choice.tenant_id,
            choice.client_id,
            lambda: github_oidc_assertion(environ, open_url),
            **options,
        )
    if choice.kind == WORKLOAD_IDENTITY:
        from azure.identity import WorkloadIdentityCredential

        return WorkloadIdentityCredential(
            tenant_id=choice.tenant_id,
            client_id=choice.client_id,
            token_file_path=choice.token_file,
            **options,
        )
    from azure.identity import DefaultAzureCredential

    return DefaultAzureCredential(**options)
