"""Which Azure credential the key-writing provider signs in with, in each environment.

The environments are the ones the provider really runs in: a GitHub Actions job with
``permissions: id-token: write`` (GitHub sets ACTIONS_ID_TOKEN_REQUEST_URL and _TOKEN, the workflow
sets AZURE_CLIENT_ID and AZURE_TENANT_ID on the pulumi step), a workload-identity host (AKS and
others set AZURE_FEDERATED_TOKEN_FILE with the two IDs), and a developer machine (``az login``).
"""

from __future__ import annotations

import io
import json
import urllib.error
import urllib.parse
from typing import Any

import azure.identity
import pytest
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import (
    ClientAssertionCredential,
    DefaultAzureCredential,
    WorkloadIdentityCredential,
)

from components import deploy_credential
from components.deploy_credential import CredentialChoice, CredentialError

TENANT = "0c1e2d3f-4a5b-4c4e-9a55-5f1c2a2e7a43"
CLIENT = "7a435f1c-2a2e-4c4e-9a55-0c1e2d3f4a5b"
REQUEST_URL = "https://pipelines.actions.githubusercontent.com/abc/idtoken/1?api-version=2.0"
IDS = {"AZURE_CLIENT_ID": CLIENT, "AZURE_TENANT_ID": TENANT}
GITHUB = {"ACTIONS_ID_TOKEN_REQUEST_URL": REQUEST_URL, "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "rt"}
FEDERATED_FILE = {"AZURE_FEDERATED_TOKEN_FILE": "/var/run/secrets/azure/tokens/token"}


@pytest.mark.parametrize(
    ("environ", "choice"),
    [
        ({**GITHUB, **IDS}, CredentialChoice("github-oidc", TENANT, CLIENT)),
        # GitHub OIDC wins over a token file: each assertion is fetched fresh from the job.
        ({**GITHUB, **IDS, **FEDERATED_FILE}, CredentialChoice("github-oidc", TENANT, CLIENT)),
        (
            {**FEDERATED_FILE, **IDS},
            CredentialChoice(
                "workload-identity", TENANT, CLIENT, "/var/run/secrets/azure/tokens/token"
            ),
        ),
        # A job without the two IDs, or without id-token: write, keeps the Azure CLI session.
        (GITHUB, CredentialChoice("default")),
        ({**GITHUB, "AZURE_CLIENT_ID": CLIENT}, CredentialChoice("default")),
        ({**IDS, "ACTIONS_ID_TOKEN_REQUEST_URL": REQUEST_URL}, CredentialChoice("default")),
        (
            {**GITHUB, "AZURE_CLIENT_ID": " ", "AZURE_TENANT_ID": TENANT},
            CredentialChoice("default"),
        ),
        (FEDERATED_FILE, CredentialChoice("default")),
        ({}, CredentialChoice("default")),
        ({**IDS, "AZURE_CLIENT_SECRET": "not-used-here"}, CredentialChoice("default")),
    ],
)
def test_the_environment_decides_the_credential(
    environ: dict[str, str], choice: CredentialChoice
) -> None:
    assert deploy_credential.choose(environ) == choice


@pytest.mark.parametrize(
    ("environ", "kind"),
    [
        ({**GITHUB, **IDS}, ClientAssertionCredential),
        ({**FEDERATED_FILE, **IDS}, WorkloadIdentityCredential),
        ({}, DefaultAzureCredential),
    ],
)
def test_each_choice_builds_its_azure_identity_credential(
    environ: dict[str, str], kind: type, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_FEDERATED_TOKEN_FILE"):
        monkeypatch.delenv(name, raising=False)
    credential = deploy_credential.build(deploy_credential.choose(environ), environ)
    assert type(credential) is kind


class FakeOidc:
    """GitHub's OIDC token endpoint: each request answers a new token."""

    def __init__(self, status: int = 200, body: Any = None) -> None:
        self.status, self.body = status, body
        self.requests: list[Any] = []

    def __call__(self, request: Any, timeout: float) -> Any:
        self.requests.append(request)
        if self.status != 200:
            raise urllib.error.HTTPError(request.full_url, self.status, "x", {}, io.BytesIO())
        body = self.body if self.body is not None else {"value": f"jwt-{len(self.requests)}"}
        return io.BytesIO(json.dumps(body).encode())


def test_every_assertion_is_a_fresh_github_oidc_token_for_the_exchange_audience() -> None:
    oidc = FakeOidc()
    environ = {**GITHUB, **IDS}

    first = deploy_credential.github_oidc_assertion(environ, open_url=oidc)
    second = deploy_credential.github_oidc_assertion(environ, open_url=oidc)

    assert (first, second) == ("jwt-1", "jwt-2")
    request = oidc.requests[0]
    url = urllib.parse.urlsplit(request.full_url)
    assert (url.scheme, url.netloc, url.path) == (
        "https",
        "pipelines.actions.githubusercontent.com",
        "/abc/idtoken/1",
    )
    assert urllib.parse.parse_qs(url.query) == {
        "api-version": ["2.0"],
        "audience": ["api://AzureADTokenExchange"],
    }
    assert request.get_header("Authorization") == "bearer rt"


def test_the_credential_asks_github_for_an_assertion_each_time_it_needs_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # azure-identity calls the assertion function whenever it needs a new token from Entra; the
    # provider hands it one that fetches a new GitHub OIDC token on every call.
    built: list[tuple[str, str, Any]] = []

    def record(tenant_id: str, client_id: str, func: Any, **kwargs: Any) -> str:
        built.append((tenant_id, client_id, func))
        return "credential"

    monkeypatch.setattr(azure.identity, "ClientAssertionCredential", record)
    environ = {**GITHUB, **IDS}
    oidc = FakeOidc()

    credential = deploy_credential.build(deploy_credential.choose(environ), environ, oidc)

    [(tenant, client, assertion)] = built
    assert (credential, tenant, client) == ("credential", TENANT, CLIENT)
    assert oidc.requests == []  # nothing is fetched before a token is needed
    assert [assertion(), assertion()] == ["jwt-1", "jwt-2"]


@pytest.mark.parametrize(
    ("environ", "oidc", "message"),
    [
        (
            {**GITHUB, **IDS},
            FakeOidc(status=403),
            "GitHub OIDC token request to pipelines.actions.githubusercontent.com answered HTTP "
            "403: the job needs 'permissions: id-token: write'",
        ),
        (
            {**GITHUB, **IDS},
            FakeOidc(body={"count": 0}),
            "GitHub OIDC token request to pipelines.actions.githubusercontent.com answered "
            "without a token in 'value'",
        ),
        (
            {
                **IDS,
                "ACTIONS_ID_TOKEN_REQUEST_URL": "http://x/y",
                "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "t",
            },
            FakeOidc(),
            "ACTIONS_ID_TOKEN_REQUEST_URL must be an https:// URL",
        ),
    ],
)
def test_a_failed_assertion_is_one_authentication_error_that_shows_no_token(
    environ: dict[str, str], oidc: FakeOidc, message: str
) -> None:
    with pytest.raises(CredentialError) as raised:
        deploy_credential.github_oidc_assertion(environ, open_url=oidc)

    assert str(raised.value) == message
    assert "rt" not in str(raised.value).split()
    # The provider reports an authentication error as a missing credential, in one line.
    assert isinstance(raised.value, ClientAuthenticationError)
