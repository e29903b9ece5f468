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
import urllib.request
from typing import Any

import azure.identity
import pytest
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import (
    ClientAssertionCredential,
    DefaultAzureCredential,
    WorkloadIdentityCredential,
)

import emulator
from azure_edge import credentials
from azure_edge.credentials import CredentialChoice, CredentialError
from emulator.state import FederatedCredential

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
    assert credentials.choose(environ) == choice


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
    credential = credentials.build(credentials.choose(environ), environ)
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

    first = credentials.github_oidc_assertion(environ, open_url=oidc)
    second = credentials.github_oidc_assertion(environ, open_url=oidc)

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

    credential = credentials.build(credentials.choose(environ), environ, oidc)

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
        credentials.github_oidc_assertion(environ, open_url=oidc)

    assert str(raised.value) == message
    assert "rt" not in str(raised.value).split()
    # The provider reports an authentication error as a missing credential, in one line.
    assert isinstance(raised.value, ClientAuthenticationError)


# --- Through Entra: why a fresh assertion per token matters ------------------------------------

GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
SUBJECT = "repo:contoso/secure-azure-ai:environment:dev"


class EmulatedGithubOidc:
    """GitHub's OIDC endpoint issuing tokens Entra trusts through a federated credential; each
    lasts five minutes on the emulator's clock, as GitHub's do (5-10 minutes)."""

    def __init__(self, state: emulator.AzureState) -> None:
        self.state = state
        self.issued = 0

    def __call__(self, request: Any, timeout: float) -> Any:
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(request.full_url).query)
        self.issued += 1
        token = self.state.issue_external_token(
            GITHUB_ISSUER, SUBJECT, query["audience"][0], lifetime=300
        )
        return io.BytesIO(json.dumps({"value": token}).encode())


def test_the_github_credential_outlives_the_jobs_first_oidc_token() -> None:
    """The CI failure this avoids (Azure/azure-cli#28708, Azure/login#372): a sign-in made from
    one GitHub OIDC token cannot get a token for a new audience once that token expired
    (AADSTS700024). The provider's credential asks GitHub again and gets one."""
    clock = emulator.ManualClock(start=1_800_000_000.0)
    state = emulator.AzureState(clock=clock)
    deployer = state.add_federated_principal(
        "deployer", FederatedCredential(GITHUB_ISSUER, SUBJECT)
    )
    environ = {
        **GITHUB,
        "AZURE_CLIENT_ID": deployer.client_id,
        "AZURE_TENANT_ID": state.tenant_id,
    }
    github = EmulatedGithubOidc(state)
    transport = emulator.transport(state)
    credential = credentials.build(
        credentials.choose(environ), environ, github, transport=transport
    )
    # What azure/login leaves behind: a sign-in bound to the job's first OIDC token.
    first = credentials.github_oidc_assertion(environ, github)
    session = ClientAssertionCredential(
        state.tenant_id, deployer.client_id, lambda: first, transport=transport
    )
    assert credential.get_token("https://management.azure.com/.default").token
    assert session.get_token("https://management.azure.com/.default").token

    clock.advance(10 * 60)  # the vault, the account and their role assignments took a while

    with pytest.raises(ClientAuthenticationError, match="AADSTS700024"):
        session.get_token("https://vault.azure.net/.default")
    vault_token = credential.get_token("https://vault.azure.net/.default").token
    assert state.token_info(vault_token).principal_id == deployer.principal_id
    assert github.issued == 3  # the session's one, then one per token the credential needed
