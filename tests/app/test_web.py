"""The Flask app through its test client, built from the environment App Service injects."""

from __future__ import annotations

import logging
import secrets
from typing import Any

import pytest

import emulator
from app.settings import Settings
from app.web import create_app
from tests.app.conftest import Env, world_env


def revoke_site_grants(env: Env) -> None:
    for grant in list(env.state.grants):
        if grant.principal_id == env.world.site.identity.principal_id:
            env.state.revoke(grant)


def test_healthz_reports_the_reference_key_version_and_slot(env: Env) -> None:
    client = env.app().test_client()
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {
        "status": "ok",
        "authMode": "keyVault",
        "source": "reference",
        "secretVersion": env.world.secret.version,
        "slot": "key1",
        "reference": {"state": "resolved", "value": None},
        "lastAiCall": None,
        "problems": [],
    }


def test_chat_forwards_the_prompt_and_healthz_records_the_call(env: Env) -> None:
    client = env.app().test_client()
    response = client.post("/chat", json={"prompt": "hello there", "system": "be brief"})
    assert response.status_code == 200
    assert response.get_json() == {
        "reply": f"Emulated reply from {env.world.deployment}.",
        "model": env.world.deployment,
        "usage": response.get_json()["usage"],
    }
    assert response.get_json()["usage"]["prompt_tokens"] == 4
    last = client.get("/healthz").get_json()["lastAiCall"]
    assert {k: last[k] for k in ("ok", "status", "secretVersion", "refreshes")} == {
        "ok": True,
        "status": 200,
        "secretVersion": env.world.secret.version,
        "refreshes": 0,
    }


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"data": "hello", "content_type": "text/plain"},
            "request body: must be a JSON object (Content-Type application/json) with a 'prompt' "
            "string",
        ),
        (
            {"json": ["hello"]},
            "request body: must be a JSON object (Content-Type application/json) with a 'prompt' "
            "string",
        ),
        (
            {"data": "{not json", "content_type": "application/json"},
            "request body: must be a JSON object (Content-Type application/json) with a 'prompt' "
            "string",
        ),
        (
            {"json": {}},
            "request body field 'prompt'=None: must be a non-empty string of at most 8000 "
            "characters",
        ),
        (
            {"json": {"prompt": "   "}},
            "request body field 'prompt'='   ': must be a non-empty string of at most 8000 "
            "characters",
        ),
        (
            {"json": {"prompt": 42}},
            "request body field 'prompt'=42: must be a non-empty string of at most 8000 characters",
        ),
        (
            {"json": {"prompt": "x" * 8001}},
            "request body field 'prompt'='xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...: must be a "
            "non-empty string of at most 8000 characters",
        ),
        (
            {"json": {"prompt": "hi", "system": ""}},
            "request body field 'system'='': must be a non-empty string of at most 8000 characters",
        ),
        (
            {"json": {"prompt": "hi", "maxTokens": 0}},
            "request body field 'maxTokens'=0: must be an integer from 1 to 4096",
        ),
        (
            {"json": {"prompt": "hi", "maxTokens": True}},
            "request body field 'maxTokens'=True: must be an integer from 1 to 4096",
        ),
        (
            {"json": {"prompt": "hi", "temperature": 2}},
            "request body field 'temperature': unknown; allowed: prompt, system, maxTokens",
        ),
    ],
)
def test_bad_chat_bodies_get_one_line_400s(env: Env, kwargs: dict[str, Any], message: str) -> None:
    client = env.app().test_client()
    chat_calls = env.state.requests(route="/openai/deployments/{deployment}/chat/completions")
    response = client.post("/chat", **kwargs)
    assert (response.status_code, response.get_json()) == (400, {"error": message})
    after = env.state.requests(route="/openai/deployments/{deployment}/chat/completions")
    assert after == chat_calls


def test_oversized_body_and_unknown_routes_get_one_line_json(env: Env) -> None:
    client = env.app().test_client()
    big = client.post("/chat", data="x" * (65 * 1024), content_type="application/json")
    assert (big.status_code, big.get_json()) == (
        413,
        {"error": "POST /chat: Request Entity Too Large"},
    )
    assert client.get("/nope").get_json() == {"error": "GET /nope: Not Found"}
    assert client.get("/chat").status_code == 405


def test_rotation_is_seen_in_healthz_after_a_401(env: Env) -> None:
    client = env.app().test_client()
    new_version = env.rotate("key2")
    env.state.regenerate_key(env.world.account.name, "key1")
    assert client.post("/chat", json={"prompt": "hi"}).status_code == 200
    health = client.get("/healthz").get_json()
    assert (health["source"], health["secretVersion"], health["slot"]) == (
        "sdk",
        new_version,
        "key2",
    )
    assert health["lastAiCall"]["refreshes"] == 1


def test_dead_key_still_in_key_vault_gives_502_and_a_degraded_health(env: Env) -> None:
    client = env.app().test_client()
    env.state.regenerate_key(env.world.account.name, "key1")
    response = client.post("/chat", json={"prompt": "hi"})
    assert (response.status_code, response.get_json()) == (
        502,
        {
            "error": f"the AI endpoint rejects key version {env.world.secret.version} (slot "
            f"key1) and Key Vault secret '{env.world.secret_name}' holds no other key"
        },
    )
    health = client.get("/healthz")
    assert health.status_code == 200
    body = health.get_json()
    assert (body["status"], body["lastAiCall"]["ok"], body["lastAiCall"]["status"]) == (
        "degraded",
        False,
        401,
    )
    assert body["problems"] == [
        f"the AI endpoint rejects key version {env.world.secret.version} (slot key1) and Key "
        f"Vault secret '{env.world.secret_name}' holds no other key",
        "last AI call failed (HTTP 401)",
    ]


def test_key_vault_outage_on_refresh_gives_503(env: Env) -> None:
    client = env.app().test_client()
    env.rotate("key2")
    env.state.regenerate_key(env.world.account.name, "key1")
    env.state.add_fault(host=env.kv_host, method="GET", status=500)
    response = client.post("/chat", json={"prompt": "hi"})
    assert (response.status_code, response.get_json()) == (
        503,
        {
            "error": f"Key Vault read of secret '{env.world.secret_name}' failed: HTTP 500 "
            "InternalServerError"
        },
    )


def test_unresolved_reference_with_sdk_fallback_is_degraded_but_serves(env: Env) -> None:
    environ = env.site_env()
    literal = f"@Microsoft.KeyVault(SecretUri={env.world.secret_uri})"
    environ["AZURE_AI_API_KEY"] = literal
    client = env.app(environ).test_client()
    health = client.get("/healthz")
    assert health.status_code == 200
    body = health.get_json()
    assert (body["status"], body["source"], body["secretVersion"], body["reference"]) == (
        "degraded",
        "sdk",
        env.world.secret.version,
        {"state": "unresolved", "value": literal},
    )
    assert body["problems"] == [f"AZURE_AI_API_KEY is an unresolved reference {literal}"]
    assert client.post("/chat", json={"prompt": "hi"}).status_code == 200


def test_unresolved_reference_without_sdk_is_unavailable(env: Env) -> None:
    revoke_site_grants(env)
    env.state.set_app_settings(env.world.site.name, dict(env.world.site.app_settings))
    environ = env.site_env()
    for name in ("KEY_VAULT_URI", "AZURE_AI_KEY_SECRET_NAME"):
        del environ[name]
    literal = environ["AZURE_AI_API_KEY"]
    assert literal.startswith("@Microsoft.KeyVault(")
    client = env.app(environ).test_client()
    chat = client.post("/chat", json={"prompt": "hi"})
    error = (
        f"AZURE_AI_API_KEY holds the unresolved reference {literal} and KEY_VAULT_URI/"
        "AZURE_AI_KEY_SECRET_NAME are not set: no key to use"
    )
    assert (chat.status_code, chat.get_json()) == (503, {"error": error})
    health = client.get("/healthz")
    assert health.status_code == 503
    body = health.get_json()
    assert (body["status"], body["source"], body["reference"]["state"]) == (
        "unavailable",
        None,
        "unresolved",
    )
    assert body["problems"] == [error, f"AZURE_AI_API_KEY is an unresolved reference {literal}"]
    assert env.state.requests(route="/openai/deployments/{deployment}/chat/completions") == 0


def test_healthz_of_the_mounted_site_follows_a_published_version() -> None:
    """What the rotation engine does: publish, then poll /healthz until the version shows."""
    with world_env() as env:
        clock = emulator.ManualClock(start=0.0)
        key_client = env.key_client(clock=clock, max_age=60.0)
        settings = Settings.from_env(env.site_env())
        app = create_app(settings, key_client=key_client, ai_client=env.ai_client(key_client))
        env.state.mount(env.world.site.name, app)
        session = env.session()
        url = f"https://{env.world.site.host}/healthz"
        assert session.get(url).json()["secretVersion"] == env.world.secret.version

        new_version = env.rotate("key2")
        clock.advance(60)
        assert session.get(url).json()["secretVersion"] == env.world.secret.version
        assert key_client.background is not None
        key_client.background.join()
        body = session.get(url).json()
        assert (body["secretVersion"], body["slot"], body["source"]) == (
            new_version,
            "key2",
            "sdk",
        )


def test_keyless_app_uses_its_identity() -> None:
    with world_env(keyless=True) as env:
        client = env.app().test_client()
        assert client.post("/chat", json={"prompt": "hi"}).status_code == 200
        body = client.get("/healthz").get_json()
        assert (body["authMode"], body["source"], body["secretVersion"], body["status"]) == (
            "keyless",
            None,
            None,
            "ok",
        )
        assert "reference" not in body


def test_keyless_app_without_its_role_reports_the_upstream_401() -> None:
    with world_env(keyless=True) as env:
        revoke_site_grants(env)
        client = env.app().test_client()
        response = client.post("/chat", json={"prompt": "hi"})
        assert (response.status_code, response.get_json()) == (
            502,
            {
                "error": "the AI endpoint answered HTTP 401 (PermissionDenied)",
                "upstreamStatus": 401,
            },
        )


def test_nothing_logs_a_key_or_a_token(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with world_env() as env:
        used_keys = set(env.keys().values())
        client = env.app().test_client()
        assert client.post("/chat", json={"prompt": "hi"}).status_code == 200
        env.rotate("key2")
        env.state.regenerate_key(env.world.account.name, "key1")
        used_keys |= set(env.keys().values())
        assert client.post("/chat", json={"prompt": "hi"}).status_code == 200
        env.state.regenerate_key(env.world.account.name, "key2")  # dead key left in Key Vault
        assert client.post("/chat", json={"prompt": "hi"}).status_code == 502
        environ = env.site_env()
        environ["AZURE_AI_API_KEY"] = secrets.token_hex(16)
        used_keys.add(environ["AZURE_AI_API_KEY"])
        assert env.app(environ).test_client().get("/healthz").status_code == 200
        tokens = set(env.state.tokens)
    assert len(tokens) >= 1 and len(used_keys) >= 4
    text = "\n".join(f"{r.getMessage()} {r.exc_text or ''} {r.args!r}" for r in caplog.records)
    assert "AI key loaded" in text and "now using version" in text  # logging did happen
    leaked = [s for s in used_keys | tokens if s in text]
    assert leaked == []


def test_reference_version_is_identified_once_key_vault_answers(env: Env) -> None:
    clock = emulator.ManualClock(start=0.0)
    env.state.add_fault(host=env.kv_host, method="GET", status=503)
    key_client = env.key_client(env_value=env.site_env()["AZURE_AI_API_KEY"], clock=clock)
    settings = Settings.from_env(env.site_env())
    app = create_app(settings, key_client=key_client, ai_client=env.ai_client(key_client))
    client = app.test_client()

    assert client.post("/chat", json={"prompt": "hi"}).status_code == 200  # KV down, key serves
    body = client.get("/healthz").get_json()
    assert (body["status"], body["source"], body["secretVersion"], body["problems"]) == (
        "degraded",
        "reference",
        None,
        [
            f"version not identified: Key Vault read of secret '{env.world.secret_name}' "
            "failed: HTTP 503 ServiceUnavailable"
        ],
    )
    env.state.clear_faults()
    reads = key_client.kv_reads
    clock.advance(29)
    assert client.get("/healthz").get_json()["secretVersion"] is None
    assert key_client.kv_reads == reads  # re-tried at most every 30 s
    clock.advance(1)
    body = client.get("/healthz").get_json()
    assert (body["status"], body["secretVersion"], body["slot"], body["problems"]) == (
        "ok",
        env.world.secret.version,
        "key1",
        [],
    )


def test_healthz_asked_for_a_published_version_moves_to_it_with_one_read() -> None:
    """The rotation's confirmation asks `/healthz?expectVersion=<v>` (azure_edge/sites.py): the
    worker reads Key Vault once and answers with the new version; asking again reads nothing."""
    with world_env() as env:
        key_client = env.key_client(max_age=0)
        settings = Settings.from_env(env.site_env())
        app = create_app(settings, key_client=key_client, ai_client=env.ai_client(key_client))
        client = app.test_client()
        assert client.get("/healthz").get_json()["secretVersion"] == env.world.secret.version
        new_version = env.rotate("key2")
        assert client.get("/healthz").get_json()["secretVersion"] == env.world.secret.version
        assert key_client.kv_reads == 1  # nothing asked: nothing read
        for _ in range(3):
            body = client.get(f"/healthz?expectVersion={new_version}").get_json()
            assert (body["secretVersion"], body["slot"]) == (new_version, "key2")
        assert key_client.kv_reads == 2


def test_healthz_refuses_a_malformed_expected_version_in_one_line(env: Env) -> None:
    client = env.app().test_client()
    response = client.get("/healthz?expectVersion=../../secrets/x")
    assert response.status_code == 400
    assert response.get_json() == {
        "error": "query parameter 'expectVersion': the rule is a Key Vault secret version "
        "(32 hex characters, as Key Vault writes them)"
    }
