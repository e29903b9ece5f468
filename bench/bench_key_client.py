"""What the key client adds on a cache hit, and what single-flight saves on a 401 storm.

Reference: a bare `requests` POST of the same chat body with the key in hand, against the emulated
AI endpoint in memory (no sockets, so the figure isolates the client's own work).
"""

from __future__ import annotations

import logging
import statistics
import threading
import time
from collections.abc import Callable

import emulator
from app.ai_client import AiClient
from app.key_client import KeyClient

CALLS = 1000
BATCHES = 9
THREADS = 16
MESSAGES = [{"role": "user", "content": "hello"}]


def _per_call_us(calls: int, *fns: Callable[[], object]) -> list[float]:
    """For each fn, the median over BATCHES of the mean time of one call, in microseconds.

    Batches of the fns alternate, so load from other processes falls on all of them alike.
    """
    means: list[list[float]] = [[] for _ in fns]
    for _ in range(BATCHES):
        for index, fn in enumerate(fns):
            started = time.perf_counter()
            for _ in range(calls):
                fn()
            means[index].append((time.perf_counter() - started) / calls * 1e6)
    return [statistics.median(m) for m in means]


def _storm(key_client: KeyClient, failed: object) -> None:
    start = threading.Barrier(THREADS)

    def worker() -> None:
        start.wait()
        key_client.refresh_after_failure(failed)  # type: ignore[arg-type]

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def main() -> None:
    """Print per-call figures and ratios against a bare request."""
    from azure.keyvault.secrets import SecretClient

    logging.getLogger("app").setLevel(logging.ERROR)  # the storm's refresh warning is expected
    state = emulator.AzureState()
    world = emulator.seed_world(state)
    emulator.clear_challenge_cache()
    with emulator.identity_environment(state, world.site.name):
        credential = emulator.managed_identity_credential(state)
        secret_client = SecretClient(
            world.vault_url, credential, transport=emulator.transport(state)
        )
        key_client = KeyClient(secret_client, secret_name=world.secret_name, env_value=None)
        session = emulator.session(state)
        ai = AiClient(world.endpoint, world.deployment, key_client, session)
        key = key_client.current()
        url = ai.url

        def bare() -> None:
            response = session.post(
                url, json={"messages": MESSAGES}, headers={"api-key": key.value}
            )
            response.raise_for_status()
            response.json()

        [hit_us] = _per_call_us(CALLS * 50, key_client.current)
        bare_us, chat_us = _per_call_us(CALLS, bare, lambda: ai.chat(MESSAGES))

        # A 401 storm: every thread holds the dead key at once.
        state.set_secret(
            world.vault.name,
            world.secret_name,
            state.keys(world.account.name)["key2"],
            tags={"slot": "key2"},
        )
        state.regenerate_key(world.account.name, "key1")
        state.add_fault(host=f"{world.vault.name}.vault.azure.net", method="GET", latency=0.02)
        reads_before, shared_before = key_client.kv_reads, key_client.shared_reads
        _storm(key_client, key)
        storm_reads = key_client.kv_reads - reads_before
        storm_shared = key_client.shared_reads - shared_before

    print(f"   KeyClient.current() on a cache hit:  {hit_us * 1000:8.0f} ns/call")
    print(f"   bare POST to the in-memory endpoint: {bare_us:8.1f} us/call")
    print(f"   AiClient.chat (current() + POST):    {chat_us:8.1f} us/call")
    print(
        f"   added by the key client:             {chat_us - bare_us:8.1f} us/call "
        f"(ratio chat/bare {chat_us / bare_us:.3f}; current()/bare {hit_us / bare_us:.5f})"
    )
    print(
        f"   Key Vault reads for a {THREADS}-thread 401 storm: {storm_reads} "
        f"({storm_shared} threads waited for it, the rest found the new key cached; "
        f"one read per thread would be {THREADS})"
    )
