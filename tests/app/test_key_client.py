"""KeyClient against the emulated vault: caching, single-flight refresh, suppression, faults."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
import requests

import emulator
from app.key_client import (
    CachedKey,
    KeyRejectedError,
    KeyUnavailableError,
    KeyVaultUnavailableError,
)
from tests.app.conftest import Env, world_env

THREADS = 24


def run_threads(count: int, target: Callable[[], Any]) -> list[Any]:
    """Run `target` in `count` threads released together; results (or exceptions) in order."""
    start = threading.Barrier(count)
    results: list[Any] = [None] * count

    def worker(index: int) -> None:
        start.wait()
        try:
            results[index] = target()
        except Exception as exc:
            results[index] = exc

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_sdk_key_is_read_once_and_served_from_memory(env: Env) -> None:
    client = env.key_client()
    key = client.current()
    assert (key.value, key.version, key.slot, key.source, key.generation) == (
        env.keys()["key1"],
        env.world.secret.version,
        "key1",
        "sdk",
        0,
    )
    gets = env.kv_gets()
    for _ in range(100):
        assert client.current() is key
    assert (client.kv_reads, env.kv_gets()) == (1, gets)
    assert key.value not in repr(key)


def test_cold_start_under_many_threads_reads_key_vault_once(env: Env) -> None:
    client = env.key_client()
    env.state.add_fault(host=env.kv_host, method="GET", latency=0.05)
    results = run_threads(THREADS, client.current)
    assert {r.version for r in results} == {env.world.secret.version}
    assert client.kv_reads == 1


def test_refresh_after_401_is_single_flight_across_threads(env: Env) -> None:
    client = env.key_client()
    failed = client.current()
    new_version = env.rotate("key2")
    env.state.regenerate_key(env.world.account.name, "key1")
    before = env.kv_gets()
    # Hold the one read open long enough for every thread to arrive while it is in flight.
    env.state.add_fault(host=env.kv_host, method="GET", latency=0.1)

    results = run_threads(THREADS, lambda: client.refresh_after_failure(failed))

    assert all(isinstance(r, CachedKey) for r in results), results
    assert {(r.value, r.version, r.slot, r.generation) for r in results} == {
        (env.keys()["key2"], new_version, "key2", 1)
    }
    assert client.kv_reads == 2
    assert env.kv_gets() - before == 1
    # A latecomer with the old key gets the refreshed key without another read.
    assert client.refresh_after_failure(failed).version == new_version
    assert client.kv_reads == 2


def test_same_failing_key_is_reported_and_not_re_read_during_cooldown(env: Env) -> None:
    clock = emulator.ManualClock(start=1000.0)
    client = env.key_client(clock=clock, reject_cooldown=5.0)
    failed = client.current()
    env.state.regenerate_key(env.world.account.name, "key1")  # not published: KV holds a dead key
    env.state.add_fault(host=env.kv_host, method="GET", latency=0.05)

    results = run_threads(THREADS, lambda: client.refresh_after_failure(failed))

    assert all(isinstance(r, KeyRejectedError) for r in results), results
    assert str(results[0]) == (
        f"the AI endpoint rejects key version {failed.version} (slot key1) and Key Vault secret "
        f"'{env.world.secret_name}' holds no other key"
    )
    assert client.kv_reads == 2
    clock.advance(4.9)
    with pytest.raises(KeyRejectedError):
        client.refresh_after_failure(failed)
    assert client.kv_reads == 2  # suppressed: Key Vault just returned this key
    assert client.current() is not None and client.current().value == failed.value

    new_version = env.rotate("key2")
    clock.advance(0.2)
    refreshed = client.refresh_after_failure(failed)
    assert (refreshed.version, refreshed.slot, client.kv_reads) == (new_version, "key2", 3)


def test_background_recheck_after_max_age_moves_to_a_new_version(env: Env) -> None:
    clock = emulator.ManualClock(start=0.0)
    client = env.key_client(clock=clock, max_age=300.0)
    first = client.current()
    new_version = env.rotate("key2")  # published; the old key still works

    clock.advance(299)
    assert client.current() is first and client.background is None
    clock.advance(1)
    assert client.current() is first  # served at once; the re-check runs in the background
    assert client.background is not None
    client.background.join()
    now = client.current()
    assert (now.version, now.slot, now.generation, client.kv_reads) == (new_version, "key2", 1, 2)


def test_recheck_finding_the_same_version_keeps_the_generation(env: Env) -> None:
    client = env.key_client()
    first = client.current()
    again = client.revalidate()
    assert (again.value == first.value, again.version, again.generation) == (
        True,
        first.version,
        0,
    )


def test_throttling_is_retried_while_the_cached_key_keeps_serving(env: Env) -> None:
    client = env.key_client()
    cached = client.current()
    new_version = env.rotate("key2")
    fault = env.state.add_fault(host=env.kv_host, method="GET", status=429, times=2, retry_after=0)
    before = env.kv_gets()

    refreshed = client.refresh_after_failure(cached)

    assert (refreshed.version, fault.hits, env.kv_gets() - before, client.kv_reads) == (
        new_version,
        2,
        3,
        2,
    )


def test_key_vault_outage_fails_the_refresh_and_keeps_the_cached_key(env: Env) -> None:
    client = env.key_client()
    cached = client.current()
    env.state.add_fault(host=env.kv_host, method="GET", status=503)
    before = env.kv_gets()

    with pytest.raises(KeyVaultUnavailableError) as caught:
        client.revalidate()

    assert str(caught.value) == (
        f"Key Vault read of secret '{env.world.secret_name}' failed: HTTP 503 ServiceUnavailable"
    )
    assert env.kv_gets() - before == 4  # the first try and the SDK's 3 status retries
    assert client.current() is cached
    assert client.last_error == str(caught.value)

    env.state.clear_faults()
    assert client.revalidate().version == cached.version


class _Unreachable(requests.adapters.BaseAdapter):
    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        raise requests.ConnectionError(f"cannot connect to {request.url}")

    def close(self) -> None:
        pass


def test_unreachable_key_vault_is_an_outage(env: Env) -> None:
    from azure.core.pipeline.transport import RequestsTransport
    from azure.keyvault.secrets import SecretClient

    from app.key_client import KeyClient

    session = env.session()
    session.mount(f"https://{env.kv_host}", _Unreachable())
    secret_client = SecretClient(
        env.world.vault_url,
        env.credential(),
        transport=RequestsTransport(session=session, session_owner=False),
        retry_total=1,
        retry_backoff_factor=0.01,
    )
    client = KeyClient(secret_client, secret_name=env.world.secret_name, env_value=None)
    with pytest.raises(KeyVaultUnavailableError) as caught:
        client.current()
    assert str(caught.value) == (
        f"Key Vault read of secret '{env.world.secret_name}' failed: cannot reach Key Vault "
        "(ServiceRequestError)"
    )


def test_access_denied_is_not_an_outage(env: Env) -> None:
    for grant in list(env.state.grants):
        if grant.principal_id == env.world.site.identity.principal_id:
            env.state.revoke(grant)
    client = env.key_client()
    with pytest.raises(KeyUnavailableError) as caught:
        client.current()
    assert type(caught.value) is KeyUnavailableError
    assert str(caught.value) == (
        f"Key Vault read of secret '{env.world.secret_name}' failed: HTTP 403 Forbidden"
    )


# -- keys from the Key Vault reference --------------------------------------------------------


def test_reference_key_is_used_and_its_version_identified(env: Env) -> None:
    resolved = env.site_env()["AZURE_AI_API_KEY"]
    client = env.key_client(env_value=resolved)
    key = client.current()
    assert (key.value, key.version, key.slot, key.source, client.reference_state) == (
        env.keys()["key1"],
        env.world.secret.version,
        "key1",
        "reference",
        "resolved",
    )
    assert client.kv_reads == 1


def test_stale_reference_key_is_matched_to_its_older_version(env: Env) -> None:
    stale = env.site_env()["AZURE_AI_API_KEY"]
    env.rotate("key2")  # App Service still serves the cached key1 value (no refresh yet)
    assert env.site_env()["AZURE_AI_API_KEY"] == stale
    client = env.key_client(env_value=stale)
    key = client.current()
    assert (key.version, key.slot, key.source) == (env.world.secret.version, "key1", "reference")
    # Two secret reads (the latest, the matching older version) and one version listing.
    assert (client.kv_reads, client.kv_listings) == (2, 1)


def test_reference_key_matching_no_version_reports_why(env: Env) -> None:
    import secrets

    client = env.key_client(env_value=secrets.token_hex(16))
    key = client.current()
    assert (key.version, key.source) == (None, "reference")
    assert client.version_error == (
        "the key from the reference matches none of the 1 newest versions of secret "
        f"'{env.world.secret_name}'"
    )


def test_rejected_reference_key_falls_back_to_the_sdk(env: Env) -> None:
    client = env.key_client(env_value=env.site_env()["AZURE_AI_API_KEY"])
    failed = client.current()
    new_version = env.rotate("key2")
    env.state.regenerate_key(env.world.account.name, "key1")
    key = client.refresh_after_failure(failed)
    assert (key.value, key.version, key.source, key.generation) == (
        env.keys()["key2"],
        new_version,
        "sdk",
        1,
    )


def test_rejected_reference_key_without_sdk_settings_is_unavailable(env: Env) -> None:
    client = env.key_client(env_value=env.site_env()["AZURE_AI_API_KEY"], sdk=False)
    failed = client.current()
    assert (failed.version, client.kv_reads) == (None, 0)
    with pytest.raises(KeyUnavailableError) as caught:
        client.refresh_after_failure(failed)
    assert str(caught.value) == (
        "the key from the Key Vault reference is rejected and KEY_VAULT_URI/"
        "AZURE_AI_KEY_SECRET_NAME are not set: no newer key until App Service refreshes the "
        "reference"
    )


def test_unresolved_reference_is_never_used_as_a_key(caplog: pytest.LogCaptureFixture) -> None:
    with world_env() as env:
        # The site loses its role on the secret; a config change re-resolves the reference.
        for grant in list(env.state.grants):
            if grant.principal_id == env.world.site.identity.principal_id:
                env.state.revoke(grant)
        env.state.set_app_settings(env.world.site.name, dict(env.world.site.app_settings))
        literal = env.site_env()["AZURE_AI_API_KEY"]
        assert literal == f"@Microsoft.KeyVault(SecretUri={env.world.secret_uri})"
        caplog.set_level("ERROR", logger="app.key_client")

        client = env.key_client(env_value=literal, sdk=False)

        assert (client.reference_state, client.reference) == ("unresolved", literal)
        assert caplog.messages == [
            f"AZURE_AI_API_KEY holds an unresolved Key Vault reference {literal} (check the app "
            "identity's role on the secret and the reference status); no KEY_VAULT_URI/"
            "AZURE_AI_KEY_SECRET_NAME to fall back on: no key"
        ]
        with pytest.raises(KeyUnavailableError) as caught:
            client.current()
        assert str(caught.value) == (
            f"AZURE_AI_API_KEY holds the unresolved reference {literal} and KEY_VAULT_URI/"
            "AZURE_AI_KEY_SECRET_NAME are not set: no key to use"
        )


def test_unresolved_reference_falls_back_to_the_sdk(env: Env) -> None:
    literal = f"@Microsoft.KeyVault(SecretUri={env.world.secret_uri})"
    client = env.key_client(env_value=literal)
    key = client.current()
    assert (key.value, key.source, key.version, client.reference_state) == (
        env.keys()["key1"],
        "sdk",
        env.world.secret.version,
        "unresolved",
    )


class GatedVault:
    """While `gate` is set, holds authenticated secret reads until the test releases them:
    before the vault answers, or (`after`) with the vault's answer already taken."""

    def __init__(self, state: emulator.AzureState) -> None:
        self.app = emulator.EmulatorApp(state)
        self.gate = False
        self.after = False
        self.entered = threading.Event()
        self.release = threading.Event()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        held = (
            self.gate
            and environ.get("HTTP_HOST", "").endswith(".vault.azure.net")
            and "HTTP_AUTHORIZATION" in environ
        )
        answer = self.app(environ, start_response) if self.after else None
        if held:
            self.entered.set()
            assert self.release.wait(30), "the test never released the vault"
        return answer if self.after else self.app(environ, start_response)


def gated_world() -> tuple[Any, list[GatedVault]]:
    gated: list[GatedVault] = []

    def wrap(state: emulator.AzureState) -> GatedVault:
        gated.append(GatedVault(state))
        return gated[0]

    return world_env(wrap), gated


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.001)


def test_cached_key_keeps_serving_while_a_key_vault_read_is_stuck() -> None:
    world, gated = gated_world()
    with world as env:
        vault = gated[0]
        client = env.key_client()
        cached = client.current()
        new_version = env.rotate("key2")
        vault.gate = True
        reader = threading.Thread(target=client.revalidate)
        reader.start()
        try:
            assert vault.entered.wait(30)
            served: list[CachedKey] = []
            others = [
                threading.Thread(target=lambda: served.append(client.current())) for _ in range(8)
            ]
            for thread in others:
                thread.start()
            for thread in others:
                thread.join(timeout=10)
            assert [t.is_alive() for t in others] == [False] * 8  # nobody waited for the read
            assert served == [cached] * 8
            assert reader.is_alive()
        finally:
            vault.release.set()
            reader.join()
        assert client.current().version == new_version


def test_a_recheck_that_read_before_the_publish_does_not_reject_the_new_key() -> None:
    world, gated = gated_world()
    with world as env:
        vault = gated[0]
        vault.after = True
        client = env.key_client()
        old = client.current()
        vault.gate = True
        recheck = threading.Thread(target=client.revalidate)
        recheck.start()
        try:
            assert vault.entered.wait(30)  # the re-check holds Key Vault's pre-rotation answer
            vault.gate = False
            new_version = env.rotate("key2")
            env.state.regenerate_key(env.world.account.name, "key1")
            results: list[Any] = []

            def refresh() -> None:
                try:
                    results.append(client.refresh_after_failure(old))
                except Exception as exc:
                    results.append(exc)

            follower = threading.Thread(target=refresh)
            follower.start()
            wait_for(lambda: client.shared_reads == 1, "the 401 to join the re-check in flight")
        finally:
            vault.release.set()
            recheck.join()
        follower.join()
        assert [(r.version, r.slot) for r in results] == [(new_version, "key2")]
        assert client.kv_reads == 3  # load, the stale re-check, the refresh after the 401


def test_failed_background_recheck_keeps_the_key_and_waits_before_retrying(env: Env) -> None:
    clock = emulator.ManualClock(start=0.0)
    client = env.key_client(clock=clock, max_age=300.0)
    first = client.current()
    env.state.add_fault(host=env.kv_host, method="GET", status=503)
    clock.advance(300)
    assert client.current() is first
    failed_check = client.background
    assert failed_check is not None
    failed_check.join()
    assert client.last_error == (
        f"Key Vault read of secret '{env.world.secret_name}' failed: HTTP 503 ServiceUnavailable"
    )
    assert client.current() is first and client.background is failed_check  # no retry yet
    clock.advance(29)
    assert client.current() is first and client.background is failed_check
    env.state.clear_faults()
    new_version = env.rotate("key2")
    clock.advance(1)
    assert client.current() is first
    assert client.background is not failed_check and client.background is not None
    client.background.join()
    assert (client.current().version, client.last_error, client.kv_reads) == (new_version, None, 3)


def test_a_rotation_asking_for_a_new_version_costs_one_read_and_nothing_after(
    env: Env,
) -> None:
    """`expect` (the rotation's confirmation asking for a version): one Key Vault read to move
    to it; asking again, or for any version this process already read, reads nothing."""
    clock = emulator.ManualClock(start=0.0)
    client = env.key_client(clock=clock, max_age=0)
    first = client.current()
    assert client.expect(first.version) is first and client.kv_reads == 1  # held: no read
    new_version = env.rotate("key2")
    moved = client.expect(new_version)
    assert (moved.version, moved.slot, moved.generation) == (new_version, "key2", 1)
    assert (client.kv_reads, client.expect_reads) == (2, 1)
    clock.advance(60)
    for version in (new_version, first.version):  # held, and an older one it read before
        assert client.expect(version) is moved
    assert client.kv_reads == 2


def test_requests_for_versions_key_vault_does_not_hold_are_rate_limited(env: Env) -> None:
    """Anyone can name a version: whatever is asked, at most one read per EXPECT_INTERVAL, and
    a version not found is looked for again only after EXPECT_RETRY."""
    from app.key_client import EXPECT_INTERVAL, EXPECT_RETRY

    clock = emulator.ManualClock(start=0.0)
    client = env.key_client(clock=clock, max_age=0)
    held = client.current()
    bogus = [f"{n:032x}" for n in range(1, 6)]
    for version in bogus:
        assert client.expect(version).version == held.version
    assert client.kv_reads == 2  # the load and one read for the first request
    clock.advance(EXPECT_INTERVAL)
    client.expect(bogus[0])
    assert client.kv_reads == 2  # not found just now
    client.expect(bogus[1])
    assert client.kv_reads == 3
    clock.advance(EXPECT_RETRY)
    client.expect(bogus[0])
    assert (client.kv_reads, client.current().version) == (4, held.version)


def test_a_failed_read_for_an_expected_version_keeps_the_key(env: Env) -> None:
    clock = emulator.ManualClock(start=0.0)
    client = env.key_client(clock=clock, max_age=0)
    held = client.current()
    new_version = env.rotate("key2")
    env.state.add_fault(host=env.kv_host, status=503)  # past the SDK's retries
    assert client.expect(new_version) is held
    env.state.clear_faults()
    clock.advance(1.0)
    assert client.expect(new_version).version == new_version


def test_a_client_without_key_vault_never_reads_for_an_expected_version(env: Env) -> None:
    client = env.key_client(env_value=env.site_env()["AZURE_AI_API_KEY"], sdk=False)
    key = client.current()
    assert client.expect(f"{7:032x}") is key and client.kv_reads == 0
