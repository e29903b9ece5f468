"""Emulator cost per call: in memory (the reference) against TLS + CONNECT proxy, and under load."""

from __future__ import annotations

import os
import statistics
import threading
import time
from collections.abc import Callable

import requests
from azure.identity import ManagedIdentityCredential
from azure.keyvault.secrets import SecretClient

import emulator
from emulator.server import serve

CALLS = 300
CLIENTS = 16
CALLS_PER_CLIENT = 25


def _per_call_ms(action: Callable[[], object], calls: int) -> float:
    action()  # warm up: token, challenge, connection
    started = time.perf_counter()
    for _ in range(calls):
        action()
    return (time.perf_counter() - started) * 1000 / calls


def _chat_load(world: emulator.World, make_session: Callable[[], requests.Session]) -> float:
    """Requests per second of CLIENTS threads each posting CALLS_PER_CLIENT chat calls."""
    url = f"{world.endpoint}openai/deployments/{world.deployment}/chat/completions"
    key = world.state.keys(world.account.name)["key1"]
    barrier = threading.Barrier(CLIENTS + 1)
    errors: list[int] = []

    def client() -> None:
        http = make_session()
        barrier.wait()
        for _ in range(CALLS_PER_CLIENT):
            response = http.post(
                url,
                params={"api-version": "2024-10-21"},
                json={"messages": [{"role": "user", "content": "ping"}]},
                headers={"api-key": key},
            )
            if response.status_code != 200:
                errors.append(response.status_code)

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"chat load saw non-200 answers: {sorted(set(errors))}")
    return CLIENTS * CALLS_PER_CLIENT / elapsed


def main() -> None:
    """Print per-call latency and throughput for both modes, with ratios to in-memory."""
    state = emulator.AzureState()
    world = emulator.seed_world(state)
    saved = {name: os.environ.get(name) for name in ("IDENTITY_ENDPOINT", "IDENTITY_HEADER")}
    try:
        emulator.clear_challenge_cache()
        with emulator.identity_environment(state, world.site.name):
            credential = emulator.managed_identity_credential(state)
            client = SecretClient(world.vault_url, credential, transport=emulator.transport(state))
            memory_ms = statistics.median(
                _per_call_ms(lambda: client.get_secret(world.secret_name), CALLS) for _ in range(3)
            )
        memory_rps = _chat_load(world, lambda: emulator.session(state))

        emulator.clear_challenge_cache()
        with serve(state, world=world) as server:
            os.environ["IDENTITY_ENDPOINT"] = server.env["IDENTITY_ENDPOINT"]
            os.environ["IDENTITY_HEADER"] = server.env["IDENTITY_HEADER"]
            tls = {"connection_verify": str(server.ca_path), "proxies": server.proxies}
            tls_client = SecretClient(world.vault_url, ManagedIdentityCredential(**tls), **tls)
            tls_ms = statistics.median(
                _per_call_ms(lambda: tls_client.get_secret(world.secret_name), CALLS)
                for _ in range(3)
            )

            def tls_session() -> requests.Session:
                http = requests.Session()
                http.trust_env = False
                http.verify = str(server.ca_path)
                http.proxies = server.proxies
                return http

            tls_rps = _chat_load(world, tls_session)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        emulator.clear_challenge_cache()

    print(f"   SecretClient.get_secret, in memory (reference): {memory_ms:7.3f} ms/call")
    print(
        f"   SecretClient.get_secret, TLS + proxy:           {tls_ms:7.3f} ms/call "
        f"({tls_ms / memory_ms:.1f}x the reference)"
    )
    print(f"   chat, {CLIENTS} clients, in memory (reference):  {memory_rps:7.0f} requests/s")
    print(
        f"   chat, {CLIENTS} clients, TLS + proxy:            {tls_rps:7.0f} requests/s "
        f"({tls_rps / memory_rps:.2f}x the reference)"
    )


if __name__ == "__main__":
    main()
