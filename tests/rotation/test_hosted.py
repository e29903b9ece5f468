"""The Event Grid entry point: SecretNearExpiry rotates once, redeliveries do not rotate again."""

from __future__ import annotations

from rotation.azure import Waiter
from rotation.drill import REFERENCE_SITE
from rotation.hosted import NEAR_EXPIRY, VALIDATION, create_app, handle_events

FAST = {
    "drain_seconds": 0.0,
    "waiter": lambda: Waiter(timeout=5.0, interval=0.02, cap=0.2),
    "deployment": "gpt-4o-mini",
}


def near_expiry(local, version: str) -> dict:
    world = local.world
    return {
        "id": "e1",
        "eventType": NEAR_EXPIRY,
        "subject": world.secret_name,
        "data": {
            "Id": f"{world.vault_url}secrets/{world.secret_name}/{version}",
            "VaultName": world.vault.name,
            "ObjectType": "Secret",
            "ObjectName": world.secret_name,
            "Version": version,
        },
    }


def test_subscription_handshake_echoes_the_code(local):
    event = {"eventType": VALIDATION, "data": {"validationCode": "abc-123"}}
    assert handle_events([event], local.connection) == {"validationResponse": "abc-123"}


def test_near_expiry_rotates_once_and_a_redelivery_is_acknowledged(local, look):
    before = look.keys()
    versions = len(look.versions())
    event = near_expiry(local, look.latest().version)
    result = handle_events([event], local.connection, **FAST)
    latest = look.latest()
    assert result == {
        "ok": True,
        "results": [
            {
                "secret": local.world.secret_name,
                "status": "rotated",
                "message": f"rotate: version {latest.version} holds key2",
            }
        ],
    }
    assert look.keys()["key2"] != before["key2"] and latest.value == look.keys()["key2"]
    # Consumers came from the secret's Consumers tag alone.
    assert local.state.site_environment(REFERENCE_SITE)["AZURE_AI_API_KEY"] == latest.value
    again = handle_events([event], local.connection, **FAST)
    assert again["ok"] is True and again["results"][0]["status"] == "skipped"
    assert len(look.versions()) == versions + 1


def test_webhook_answers_500_when_a_rotation_stops_and_400_on_a_bad_body(local, look):
    client = create_app(local.connection, **FAST).test_client()
    bad = near_expiry(local, look.latest().version)
    bad["data"]["Id"] = "https://kv.vault.azure.net/keys/k/1"
    response = client.post("/", json=[bad, {"eventType": "Other.Event", "data": {}}])
    assert response.status_code == 500
    assert response.get_json()["results"] == [
        {
            "secret": None,
            "status": "stopped",
            "message": "event data 'Id' 'https://kv.vault.azure.net/keys/k/1': the rule is "
            "https://<vault>.vault.azure.net/secrets/<name>/<version>",
        },
        {"secret": None, "status": "ignored", "message": "event 'Other.Event'"},
    ]
    response = client.post("/", data="not json", content_type="application/json")
    assert response.status_code == 400
    assert response.get_json() == {
        "error": "event delivery: the rule is a JSON list of event objects"
    }


def test_cloudevents_webhook_handshake(local):
    client = create_app(local.connection).test_client()
    response = client.options("/", headers={"WebHook-Request-Origin": "eventgrid.azure.net"})
    assert response.status_code == 200
    assert response.headers["WebHook-Allowed-Origin"] == "eventgrid.azure.net"
    assert client.options("/").status_code == 400


def test_a_redelivery_while_the_rotation_still_runs_is_retried_later_not_run_twice(local, look):
    # Event Grid gives a webhook 30 s, then redelivers: a rotation (drain, confirmations) takes
    # longer, so the same event arrives while it is still under way in this process.
    from rotation import hosted

    before = look.keys()
    versions = len(look.versions())
    event = near_expiry(local, look.latest().version)
    results: list[dict] = []

    def redelivered(seconds: float) -> None:
        results.append(handle_events([event], local.connection, **FAST))

    hosted_sleep = {**FAST, "drain_seconds": 3600.0, "sleep": redelivered}
    with_drain = handle_events([event], local.connection, **hosted_sleep)
    assert with_drain["ok"] is True, with_drain
    assert len(results) == 1
    assert results[0]["ok"] is False
    assert results[0]["results"][0]["status"] == "stopped"
    assert "under way" in results[0]["results"][0]["message"]
    assert look.keys()["key1"] == before["key1"] and look.latest_works()
    assert len(look.versions()) == versions + 1
    assert not hosted._RUNNING
