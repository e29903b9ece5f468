"""AiClient against the emulated AI endpoint: 401 -> refresh -> retry, straddles, concurrency."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

import emulator
from app.ai_client import AiCallError, AiClient
from app.key_client import KeyRejectedError
from tests.app.conftest import Env, world_env

MESSAGES = [{"role": "user", "content": "hello"}]


def test_chat_sends_the_key_and_returns_the_completion(env: Env) -> None:
    client = env.ai_client(env.key_client())
    payload = client.chat(MESSAGES, max_tokens=5)
    assert (
        payload["choices"][0]["message"]["content"]
        == f"Emulated reply from {env.world.deployment}."
    )
    outcome = client.last_call
    assert outcome is not None
    assert (outcome.ok, outcome.status, outcome.key_version, outcome.refreshes) == (
        True,
        200,
        env.world.secret.version,
        0,
    )


def test_401_refreshes_the_key_once_and_retries(env: Env) -> None:
    key_client = env.key_client()
    client = env.ai_client(key_client)
    client.chat(MESSAGES)
    new_version = env.rotate("key2")
    env.state.regenerate_key(env.world.account.name, "key1")
    client.chat(MESSAGES)
    assert client.last_call is not None
    assert (client.last_call.key_version, client.last_call.refreshes, key_client.kv_reads) == (
        new_version,
        1,
        2,
    )


class RotateOnRead:
    """Runs `action` right after the vault answers the n-th authenticated read of the secret:
    a rotation step landing while a request is in flight."""

    def __init__(self, state: emulator.AzureState) -> None:
        self.app = emulator.EmulatorApp(state)
        self.actions: list[Callable[[], None]] = []
        self.reads = 0

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        result = self.app(environ, start_response)
        host = environ.get("HTTP_HOST", "")
        if (
            host.endswith(".vault.azure.net")
            and environ["REQUEST_METHOD"] == "GET"
            and "HTTP_AUTHORIZATION" in environ
        ):
            self.reads += 1
            if self.actions:
                self.actions.pop(0)()
        return result


@pytest.mark.parametrize("regenerations", [2, 3])
def test_a_call_straddling_regenerations_gets_two_refresh_cycles(regenerations: int) -> None:
    hook: list[RotateOnRead] = []

    def wrap(state: emulator.AzureState) -> RotateOnRead:
        hook.append(RotateOnRead(state))
        return hook[0]

    with world_env(wrap) as env:
        key_client = env.key_client()
        client = env.ai_client(key_client)
        client.chat(MESSAGES)  # caches key1 (first read: no action queued)
        # First rotation: key2 published, key1 regenerated: the cached key is now dead.
        env.rotate("key2")
        env.state.regenerate_key(env.world.account.name, "key1")

        def next_rotation(publish: str, kill: str) -> Callable[[], None]:
            def act() -> None:
                # Publish the standby slot (regenerated earlier), then kill the one just read.
                env.state.set_secret(
                    env.world.vault.name,
                    env.world.secret_name,
                    env.keys()[publish],
                    tags={"CredentialId": publish},
                )
                env.state.regenerate_key(env.world.account.name, kill)

            return act

        # Right after the refresh reads key2, key2 is regenerated (and key1 published), ...
        hook[0].actions = [next_rotation("key1", "key2"), next_rotation("key2", "key1")][
            : regenerations - 1
        ]
        if regenerations == 2:
            client.chat(MESSAGES)
            assert client.last_call is not None
            assert (client.last_call.refreshes, client.last_call.status) == (2, 200)
            assert key_client.current().value == env.keys()["key1"]
        else:
            with pytest.raises(AiCallError) as caught:
                client.chat(MESSAGES)
            assert (caught.value.status, str(caught.value)) == (
                401,
                "the AI endpoint answered HTTP 401 (401)",
            )
            assert client.last_call is not None
            assert (client.last_call.ok, client.last_call.refreshes) == (False, 2)
        assert key_client.kv_reads == 3


def test_key_vault_holding_the_dead_key_fails_the_call_once(env: Env) -> None:
    key_client = env.key_client()
    client = env.ai_client(key_client)
    client.chat(MESSAGES)
    env.state.regenerate_key(env.world.account.name, "key1")
    with pytest.raises(KeyRejectedError):
        client.chat(MESSAGES)
    with pytest.raises(KeyRejectedError):
        client.chat(MESSAGES)
    assert key_client.kv_reads == 2  # the second call did not ask Key Vault again
    assert client.last_call is not None
    assert (client.last_call.ok, client.last_call.status) == (False, 401)


def test_non_401_errors_are_reported_with_their_status(env: Env) -> None:
    client = AiClient(env.world.endpoint, "no-such-deployment", env.key_client(), env.session())
    with pytest.raises(AiCallError) as caught:
        client.chat(MESSAGES)
    assert (caught.value.status, str(caught.value)) == (
        404,
        "the AI endpoint answered HTTP 404 (DeploymentNotFound)",
    )


def test_keyless_mode_sends_an_entra_token_for_cognitive_services() -> None:
    with world_env(keyless=True) as env:
        client = AiClient(
            env.world.endpoint,
            env.world.deployment,
            None,
            env.session(),
            "keyless",
            credential=env.credential(),
        )
        assert client.chat(MESSAGES)["object"] == "chat.completion"
        tokens = env.state.tokens.values()
        assert {t.resource for t in tokens} == {"https://cognitiveservices.azure.com"}


def test_sixteen_clients_keep_working_through_rotations(env: Env) -> None:
    key_client = env.key_client()
    client = env.ai_client(key_client)
    client.chat(MESSAGES)
    stop = threading.Event()
    failures: list[BaseException] = []
    calls = [0] * 16

    def worker(index: int) -> None:
        while not stop.is_set():
            try:
                client.chat(MESSAGES)
                calls[index] += 1
            except Exception as exc:
                failures.append(exc)
                return  # one failure is enough to fail the test

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()

    def wait_until(condition: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + 10
        while not condition():
            assert not failures, failures
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            stop.wait(0.002)

    active, standby = "key1", "key2"
    try:
        for _ in range(3):
            version = env.rotate(standby)  # publish the regenerated standby key
            env.state.regenerate_key(env.world.account.name, active)  # then retire the old one
            wait_until(
                lambda v=version: key_client.cached is not None and key_client.cached.version == v,
                "the process to move to the new version",
            )
            # Like the rotation's confirmation step: every client has finished a call since, so
            # no call still holds the retired key when the next regeneration comes.
            seen = list(calls)
            wait_until(
                lambda s=seen: all(now > then for now, then in zip(calls, s, strict=True)),
                "every client to finish a call on the new key",
            )
            active, standby = standby, active
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert failures == []
    assert min(calls) > 0
    assert key_client.kv_reads == 4  # the first load and one read per rotation
