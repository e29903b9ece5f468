"""Fault injection, throttling and request counters, also under concurrent clients."""

from __future__ import annotations

import threading

import pytest
from azure.core.exceptions import HttpResponseError
from azure.keyvault.secrets import SecretClient

import emulator

pytestmark = pytest.mark.usefixtures("site_env")

SECRET_ROUTE = "/secrets/{name}/{version}"


def _kv_host(world: emulator.World) -> str:
    return f"{world.vault.name}.vault.azure.net"


def _client(world: emulator.World, **kwargs) -> SecretClient:
    credential = emulator.managed_identity_credential(world.state)
    return SecretClient(
        world.vault_url, credential, transport=emulator.transport(world.state), **kwargs
    )


def test_sdk_retries_through_injected_503s(world: emulator.World) -> None:
    fault = world.state.add_fault(
        host=_kv_host(world), method="GET", path=r"^/secrets/", status=503, times=2, retry_after=0
    )
    client = _client(world, retry_backoff_factor=0)

    secret = client.get_secret(world.secret_name)

    assert secret.properties.version == world.secret.version
    assert fault.hits == 2
    assert world.state.faults == []  # a rule with `times` goes once spent
    # challenge (401) + two injected 503s + the successful read
    assert world.state.requests(_kv_host(world), method="GET", route=SECRET_ROUTE) == 4


def test_always_failing_rule_exhausts_retries(world: emulator.World) -> None:
    world.state.add_fault(host=_kv_host(world), status=500)
    client = _client(world, retry_backoff_factor=0, retry_total=2)
    with pytest.raises(HttpResponseError) as caught:
        client.get_secret(world.secret_name)
    assert caught.value.status_code == 500
    assert caught.value.error.code == "InternalServerError"
    assert world.state.requests(_kv_host(world)) == 3


def test_throttle_answers_429_beyond_the_budget_until_the_window_rolls(
    world: emulator.World, clock: emulator.ManualClock
) -> None:
    http = emulator.session(world.state)
    key = world.state.keys(world.account.name)["key1"]
    url = f"{world.endpoint}openai/deployments/{world.deployment}/chat/completions"
    world.state.add_fault(
        host="ai-secure-demo.openai.azure.com", throttle_limit=3, throttle_window=10
    )

    def call() -> tuple[int, str | None]:
        response = http.post(
            url,
            params={"api-version": "2024-10-21"},
            json={"messages": [{"role": "user", "content": "x"}]},
            headers={"api-key": key},
        )
        return response.status_code, response.headers.get("Retry-After")

    assert [call() for _ in range(4)] == [(200, None)] * 3 + [(429, "10")]
    clock.advance(4)
    assert call() == (429, "6")
    clock.advance(6)
    assert call() == (200, None)


def test_latency_rule_counts_hits_and_lets_requests_through(world: emulator.World) -> None:
    fault = world.state.add_fault(host="management.azure.com", latency=0.001, times=2)
    http = emulator.session(world.state)
    for _ in range(3):
        response = http.get(f"https://management.azure.com{world.account.id}")
        assert response.status_code == 400  # no api-version: the request itself went through
    assert fault.hits == 2
    assert world.state.faults == []


def test_rules_match_method_and_path(world: emulator.World) -> None:
    fault = world.state.add_fault(host=_kv_host(world), method="PUT", status=503)
    _client(world).get_secret(world.secret_name)
    assert fault.hits == 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"status": 200}, "fault status 200 must be an HTTP error status 400-599"),
        ({"status": 503, "times": 0}, "fault times 0 must be >= 1 (or None for always)"),
        ({"path": "(", "status": 503}, "fault path '(' is not a valid regex"),
        ({}, "fault needs a status, a latency or a throttle_limit"),
        (
            {"status": 503, "throttle_limit": 1},
            "fault takes a status or a throttle_limit (429), not both",
        ),
    ],
)
def test_bad_fault_rules_are_refused(
    state: emulator.AzureState, kwargs: dict, message: str
) -> None:
    with pytest.raises(emulator.EmulatorError) as caught:
        state.add_fault(**kwargs)
    assert str(caught.value).startswith(message)


def test_counters_are_exact_under_16_concurrent_clients(world: emulator.World) -> None:
    key = world.state.keys(world.account.name)["key1"]
    url = f"{world.endpoint}openai/deployments/{world.deployment}/chat/completions"
    failures: list[int] = []
    start = threading.Barrier(16)

    def client() -> None:
        http = emulator.session(world.state)
        start.wait()
        for _ in range(25):
            response = http.post(
                url,
                params={"api-version": "2024-10-21"},
                json={"messages": [{"role": "user", "content": "x"}]},
                headers={"api-key": key},
            )
            if response.status_code != 200:
                failures.append(response.status_code)

    threads = [threading.Thread(target=client) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    assert world.state.requests("ai-secure-demo.openai.azure.com", method="POST") == 400
    world.state.reset_counters()
    assert world.state.requests() == 0
