"""VaultSecrets through a real SecretClient against Key Vault's REST answers (conftest.py)."""

from __future__ import annotations

import logging
import secrets
from datetime import UTC, datetime, timedelta

import pytest

from azure_edge.errors import EdgeError
from azure_edge.retry import Patience
from azure_edge.vault import SecretNotFound, SecretRecord, VaultSecrets

from .conftest import VAULT_URL, Answer

NAME = "ai-api-key"
CONTENT_TYPE = "text/plain; azure-ai-api-key"
EXPIRES = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
START = datetime(2027, 1, 1, tzinfo=UTC)


def _patient(sleeps: list[float], deadline: float = 60.0) -> Patience:
    now = [START]

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += timedelta(seconds=seconds)

    return Patience(deadline, "the caller needs a role", clock=lambda: now[0], sleep=sleep)


def test_write_sends_value_tags_expiry_and_content_type_in_one_enabled_version(
    key_vault, secret_client, caplog
):
    caplog.set_level(logging.DEBUG)
    value = secrets.token_urlsafe(32)
    vault = VaultSecrets(secret_client, NAME)
    record = vault.write(value, {"CredentialId": "key1"}, EXPIRES, CONTENT_TYPE)
    [(method, path, body)] = key_vault.requests
    assert (method, path) == ("PUT", f"/secrets/{NAME}")
    assert body == {
        "value": value,
        "tags": {"CredentialId": "key1"},
        "contentType": CONTENT_TYPE,
        "attributes": {"enabled": True, "exp": int(EXPIRES.timestamp())},
    }
    assert record == SecretRecord(
        version=key_vault.secrets[NAME][0]["version"],
        tags={"CredentialId": "key1"},
        expires_on=EXPIRES,
        created_on=datetime.fromtimestamp(1_800_000_000, UTC),
        enabled=True,
    )
    assert value not in caplog.text


def test_with_patience_a_soft_deleted_name_is_recovered_then_written(key_vault, secret_client):
    vault = VaultSecrets(secret_client, NAME)
    vault.write("first-value", {}, EXPIRES, CONTENT_TYPE)
    key_vault.deleted.add(NAME)
    sleeps: list[float] = []
    patient = VaultSecrets(secret_client, NAME, patience=_patient(sleeps))
    record = patient.write("second-value", {"CredentialId": "key1"}, EXPIRES, CONTENT_TYPE)
    assert [(m, p) for m, p, _ in key_vault.requests[1:]] == [
        ("PUT", f"/secrets/{NAME}"),
        ("POST", f"/deletedsecrets/{NAME}/recover"),
        ("PUT", f"/secrets/{NAME}"),
    ]
    assert sleeps == [2.0]
    assert record.version == key_vault.secrets[NAME][-1]["version"]
    assert vault.value() == "second-value"


def test_without_patience_a_conflict_is_one_line(key_vault, secret_client):
    key_vault.failures[("PUT", f"/secrets/{NAME}")] = [Answer(409, "Conflict")]
    with pytest.raises(EdgeError) as raised:
        VaultSecrets(secret_client, NAME).write("v", {}, EXPIRES, CONTENT_TYPE)
    assert str(raised.value) == (
        f"Key Vault {VAULT_URL} (set secret {NAME}) failed: HTTP 409 Conflict"
    )


def test_latest_names_a_missing_secret_and_a_refusal_in_one_line(key_vault, secret_client):
    vault = VaultSecrets(secret_client, NAME)
    with pytest.raises(SecretNotFound) as missing:
        vault.latest()
    assert str(missing.value) == f"secret {NAME!r} does not exist in {VAULT_URL}"
    key_vault.failures[("GET", f"/secrets/{NAME}/")] = [Answer(403, "Forbidden", "ForbiddenByRbac")]
    with pytest.raises(EdgeError) as refused:
        vault.latest()
    assert type(refused.value) is EdgeError
    assert str(refused.value) == (
        f"Key Vault {VAULT_URL} (read secret {NAME}) failed: HTTP 403 Forbidden"
    )


def test_latest_drops_the_value_and_versions_keep_the_listed_order(key_vault, secret_client):
    vault = VaultSecrets(secret_client, NAME)
    assert vault.versions() == []
    written = [vault.write(f"value-{i}", {"n": str(i)}, EXPIRES, CONTENT_TYPE) for i in range(3)]
    assert vault.latest() == written[-1]
    assert [r.version for r in vault.versions()] == [r.version for r in written]
    assert not hasattr(vault.latest(), "value")


def test_update_replaces_tags_and_expiry_and_leaves_the_value(key_vault, secret_client):
    vault = VaultSecrets(secret_client, NAME)
    first = vault.write("kept-value", {"a": "1", "b": "2"}, EXPIRES, CONTENT_TYPE)
    later = EXPIRES + timedelta(days=30)
    updated = vault.update(first.version, tags={"a": "3"}, expires_on=later)
    assert key_vault.requests[-1] == (
        "PATCH",
        f"/secrets/{NAME}/{first.version}",
        {"tags": {"a": "3"}, "attributes": {"exp": int(later.timestamp())}},
    )
    assert (updated.tags, updated.expires_on) == ({"a": "3"}, later)
    assert vault.value(first.version) == "kept-value"
    disabled = vault.update(first.version, enabled=False)
    assert key_vault.requests[-1][2] == {"attributes": {"enabled": False}}
    assert disabled.enabled is False


@pytest.mark.parametrize("denial", ["ForbiddenByFirewall", "ForbiddenByConnection"])
def test_a_firewall_403_fails_at_once_even_with_patience(key_vault, secret_client, denial):
    """Key Vault names a network denial in `innererror.code` (Key Vault REST error format);
    waiting clears no firewall, so there is no retry."""
    key_vault.failures[("PUT", f"/secrets/{NAME}")] = [Answer(403, "Forbidden", denial)] * 5
    sleeps: list[float] = []
    vault = VaultSecrets(secret_client, NAME, patience=_patient(sleeps, deadline=300))
    with pytest.raises(EdgeError) as raised:
        vault.write("v", {}, EXPIRES, CONTENT_TYPE)
    assert sleeps == []
    assert len(key_vault.requests) == 1
    assert str(raised.value) == (
        f"Key Vault {VAULT_URL} (set secret {NAME}) answers 403 Forbidden ({denial}): the "
        "vault's network rules turn this machine away: allow its address in the vault's "
        "firewall, or call from a network that reaches the vault's private endpoint"
    )


def test_a_role_403_is_retried_with_backoff_until_it_clears(key_vault, secret_client):
    """A new role assignment takes seconds to minutes to apply (Azure RBAC docs): 403
    ForbiddenByRbac until then."""
    key_vault.failures[("PUT", f"/secrets/{NAME}")] = [
        Answer(403, "Forbidden", "ForbiddenByRbac")
    ] * 2
    sleeps: list[float] = []
    vault = VaultSecrets(secret_client, NAME, patience=_patient(sleeps))
    vault.write("v", {}, EXPIRES, CONTENT_TYPE)
    assert sleeps == [2.0, 4.0]
    assert len(key_vault.secrets[NAME]) == 1


def test_a_role_403_past_the_deadline_names_the_role(key_vault, secret_client):
    key_vault.failures[("GET", f"/secrets/{NAME}/versions")] = [Answer(403, "Forbidden")] * 10
    sleeps: list[float] = []
    vault = VaultSecrets(secret_client, NAME, patience=_patient(sleeps, deadline=10))
    with pytest.raises(EdgeError) as raised:
        vault.versions()
    assert sleeps == [2.0, 4.0, 4.0]
    assert str(raised.value) == (
        f"Key Vault {VAULT_URL} (list versions of secret {NAME}) still answers 403 Forbidden "
        "(Forbidden) after 10 s: the caller needs a role"
    )
