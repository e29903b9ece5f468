"""Rotations under load: the drill at 16 concurrent clients and 10 rotations, in memory.

Figures: failed requests (goal 0), Key Vault reads per rotation per process (goal <= 2), rotation
duration, request latency. Reference: the same load for the same time with no rotation (latency
ratio), and a client that reads Key Vault on every request (Key Vault read ratio). The key
client's cache-hit overhead is measured by bench_key_client.
"""

from __future__ import annotations

import logging
import time

from rotation.drill import KEY_MAX_AGE, local_world, run_load, run_local_drill, summary

CLIENTS = 16
ROTATIONS = 10


def main() -> None:
    logging.disable(logging.WARNING)
    try:
        with local_world(accept_delay=0.05, key_max_age=KEY_MAX_AGE) as local:
            report = run_local_drill(local, ROTATIONS, CLIENTS)
        with local_world(accept_delay=0.05, key_max_age=KEY_MAX_AGE) as local:
            # The reference: the same load, as long as the drill's rotations took, no rotation.
            seconds = report["rotationSeconds"]["mean"] * ROTATIONS

            def idle() -> None:
                time.sleep(seconds)

            import emulator

            sessions = [emulator.session(local.state) for _ in range(CLIENTS)]
            hosts = [f"https://{s}.azurewebsites.net" for s in ("app-ref-drill", "app-sdk-drill")]

            def call(index: int) -> str | None:
                host = hosts[index % 2]
                response = sessions[index % CLIENTS].post(
                    f"{host}/chat", json={"prompt": "Say hello.", "maxTokens": 8}, timeout=30
                )
                return None if response.status_code == 200 else f"HTTP {response.status_code}"

            tally, _ = run_load(call, CLIENTS, idle, 1)
            baseline = summary(tally, [], local.kv_reads(), len(local.key_clients), "baseline")
    finally:
        logging.disable(logging.NOTSET)
    sdk_requests = report["requests"] // 2  # half the calls go to the app reading through the SDK
    print(f"   clients {CLIENTS}, rotations {report['rotations']}")
    print(f"   requests {report['requests']}, failed {report['failures']} (goal 0)")
    print(
        f"   Key Vault reads {report['kvReads']}: {report['kvReadsPerRotationPerProcess']} per "
        f"rotation per process (goal <= 2); a read per request would be {sdk_requests} "
        f"({sdk_requests / max(1, report['kvReads']):.0f}x more)"
    )
    print(
        f"   rotation duration mean {report['rotationSeconds']['mean']} s, "
        f"max {report['rotationSeconds']['max']} s"
    )
    print(
        f"   latency p50 {report['p50Ms']} ms, p99 {report['p99Ms']} ms; without rotations "
        f"p50 {baseline['p50Ms']} ms, p99 {baseline['p99Ms']} ms "
        f"(p99 ratio {report['p99Ms'] / max(baseline['p99Ms'], 0.001):.2f})"
    )
