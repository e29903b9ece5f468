"""The rehearsal: concurrent load through the sample app's key client while rotations run.

Local mode runs on the in-memory emulator's deployment (drill/world.py: one App Service site
whose key comes from a Key Vault reference and one whose app reads the secret through the SDK).
Client threads call both sites' /chat; the rotations run the real engine against the same world.
Remote mode (`--stack-outputs` without `--local`) drives key clients in this process against the
deployment the stack outputs name, with DefaultAzureCredential.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests

import emulator
from app.ai_client import AiClient
from app.key_client import KeyClient
from azure_edge.clients import Connection
from azure_edge.retry import Waiter
from catalog import secret
from drill.world import LocalWorld, local_world
from emulator.topology import REFERENCE_SITE, site_url
from rotation import resolve
from rotation import state as machine
from rotation.commands import Waits
from rotation.engine import Edges, Engine, RotationStopped
from rotation.target import InputError

PROMPT = {"prompt": "Say hello.", "maxTokens": 8}
# Longer than any request of the drill takes: a request holding the retired key finishes before
# the next rotation regenerates it.
DRAIN_SECONDS = 1.0
ACCEPT_DELAY = 0.05
# The SDK app as App Service scales it: instances of gunicorn workers, each its own process.
SDK_INSTANCES = 2
SDK_WORKERS = 2
ARM_HOST = "management.azure.com"


@dataclass(frozen=True)
class Faults:
    """Faults a local drill injects through the emulator's fault rules."""

    kv_throttle: int | None = None  # Key Vault: 429 past N requests per second
    arm_throttle: int | None = None  # ARM: 429 past N requests per second
    kv_5xx: int | None = None  # every K-th Key Vault request answers 503
    arm_5xx: int | None = None  # every K-th ARM request answers 503
    latency_ms: float | None = None  # added to every Key Vault and ARM request
    accept_delay: float = ACCEPT_DELAY  # a new key is accepted this long after regeneration

    def describe(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


# The engine's waits in a local drill: the emulator answers within milliseconds.
LOCAL_WAITS = Waits(
    probe_timeout=10.0, confirm_timeout=10.0, poll_interval=0.02, drain_seconds=DRAIN_SECONDS
)


def apply_faults(emulated: Any, vault_host: str, faults: Faults) -> Callable[[], dict[str, int]]:
    """Install the fault rules on the emulated world (Key Vault: the drill's vault host);
    returns a function telling how many requests each rule acted on."""
    installed: dict[str, Any] = {}
    for service, host, throttle, every in (
        ("kv", vault_host, faults.kv_throttle, faults.kv_5xx),
        ("arm", ARM_HOST, faults.arm_throttle, faults.arm_5xx),
    ):
        if throttle is not None:
            installed[f"{service}429"] = emulated.add_fault(
                host=host, throttle_limit=throttle, throttle_window=1.0
            )
        if every is not None:
            installed[f"{service}503"] = emulated.add_fault(host=host, status=503, every=every)
        if faults.latency_ms is not None:
            installed[f"{service}Latency"] = emulated.add_fault(
                host=host, latency=faults.latency_ms / 1000
            )
    return lambda: {name: fault.hits for name, fault in installed.items()}


def vault_host(local: LocalWorld) -> str:
    """The host name of the local world's vault (where the Key Vault faults apply)."""
    return urlsplit(local.world.vault_url).hostname or ""


@dataclass
class Tally:
    """Thread-safe request counts and latencies."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    requests: int = 0
    failures: int = 0
    latencies: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    stopped: str | None = None

    def add(self, seconds: float, error: str | None) -> None:
        with self.lock:
            self.requests += 1
            self.latencies.append(seconds)
            if error is not None:
                self.failures += 1
                self.errors[error] = self.errors.get(error, 0) + 1


def _percentile(values: list[float], fraction: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def run_load(
    call: Callable[[int], str | None],
    clients: int,
    rotate: Callable[[], None],
    rotations: int,
) -> tuple[Tally, list[float]]:
    """Run `clients` threads calling `call(i)` (an error label or None) while `rotate()` runs
    `rotations` times; returns the tally and each rotation's duration."""
    tally = Tally()
    stop = threading.Event()
    started = threading.Barrier(clients + 1)

    def worker(index: int) -> None:
        started.wait()
        n = 0
        while not stop.is_set() or n == 0:
            begin = time.perf_counter()
            error = call(index + n)
            tally.add(time.perf_counter() - begin, error)
            n += 1

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    started.wait()
    durations = []
    try:
        for _ in range(rotations):
            begin = time.perf_counter()
            try:
                rotate()
            except (RotationStopped, InputError) as exc:
                # The figures so far are kept: the report says where the drill stopped.
                tally.stopped = str(exc)
                break
            durations.append(time.perf_counter() - begin)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    return tally, durations


def summary(
    tally: Tally, durations: list[float], kv_reads: int, processes: int, mode: str
) -> dict[str, Any]:
    """The drill's figures (seconds in milliseconds where named so)."""
    rotations = len(durations)
    return {
        "mode": mode,
        "requests": tally.requests,
        "failed": tally.failures,
        "errors": dict(sorted(tally.errors.items())),
        "rotations": rotations,
        "stopped": tally.stopped,
        "kvReads": kv_reads,
        "kvReadsPerRotationPerProcess": round(kv_reads / max(1, rotations) / max(1, processes), 2),
        "p50Ms": round(_percentile(tally.latencies, 0.50) * 1000, 2),
        "p99Ms": round(_percentile(tally.latencies, 0.99) * 1000, 2),
        "maxMs": round(max(tally.latencies, default=0.0) * 1000, 2),
        "rotationSeconds": {
            "mean": round(statistics.fmean(durations), 3) if durations else 0.0,
            "max": round(max(durations), 3) if durations else 0.0,
        },
    }


def drill_local(
    rotations: int, clients: int, *, faults: Faults | None = None, waits: Waits | None = None
) -> dict[str, Any]:
    """The drill against the in-memory emulator."""
    faults = faults or Faults()
    with local_world(
        accept_delay=faults.accept_delay,
        instances=SDK_INSTANCES,
        workers=SDK_WORKERS,
    ) as local:
        hits = apply_faults(local.state, vault_host(local), faults)
        report = run_local_drill(local, rotations, clients, waits=waits)
        report["faults"] = {**faults.describe(), "hits": hits()}
        return report


def run_local_drill(
    local: LocalWorld, rotations: int, clients: int, *, waits: Waits | None = None
) -> dict[str, Any]:
    """Load both sites' /chat from `clients` threads while `rotations` rotations run."""
    waits = waits or LOCAL_WAITS
    engine = local.engine(
        drain=waits.drain_seconds,
        probe_timeout=waits.probe_timeout,
        confirm_timeout=waits.confirm_timeout,
        interval=waits.poll_interval,
        period_days=waits.period_days,
    )
    call = chat_caller(local, clients)
    local.warm_up()

    def rotate() -> None:
        engine.run(machine.Operation("rotate"))

    tally, durations = run_load(call, clients, rotate, rotations)
    return summary(tally, durations, local.kv_reads(), len(local.key_clients), "local")


def chat_caller(local: LocalWorld, clients: int) -> Callable[[int], str | None]:
    """A load call: POST /chat to the two sites in turn; an error label or None."""
    # One session per client thread: requests sessions are not meant to be shared.
    sessions = [emulator.session(local.state) for _ in range(clients)]
    hosts = [site_url(site) for site in (REFERENCE_SITE, local.sdk_site)]

    def call(index: int) -> str | None:
        host = hosts[index % len(hosts)]
        try:
            response = sessions[index % clients].post(f"{host}/chat", json=PROMPT, timeout=30)
        except requests.RequestException as exc:
            return type(exc).__name__
        if response.status_code == 200:
            return None
        try:
            reason = str(response.json().get("error", ""))[:120]
        except ValueError:
            reason = ""
        # The app's errors name versions and slots, never a key.
        return f"HTTP {response.status_code} {reason}".strip()

    return call


def drill_remote(args: argparse.Namespace, rotations: int, clients: int) -> dict[str, Any]:
    """The drill against the real deployment named by the stack outputs."""
    connection = Connection.default()
    resolved, vault, _ = resolve.prepare(resolve.Where.of(args), connection)
    edges = Edges.connect(
        connection,
        resolved,
        vault,
        probe_waiter=Waiter(timeout=args.probe_timeout, interval=args.poll_interval),
        confirm_waiter=Waiter(timeout=args.confirm_timeout, interval=args.poll_interval),
    )
    engine = Engine(
        edges,
        resolved.consumers,
        drain_seconds=args.drain_seconds,
        period_override=args.period_days,
    )
    endpoint = resolved.endpoint or edges.keys.endpoint()
    key_client = KeyClient(
        connection.secret_client(resolved.vault_url),
        secret_name=resolved.secret_name,
        env_value=None,
        max_age=60.0,
        slot_tag=secret.TAG_SLOT,
    )
    ai = AiClient(endpoint, resolved.deployment, key_client)

    def call(index: int) -> str | None:
        try:
            ai.chat([{"role": "user", "content": PROMPT["prompt"]}], max_tokens=1)
        except Exception as exc:
            return type(exc).__name__
        return None

    tally, durations = run_load(
        call, clients, lambda: engine.run(machine.Operation("rotate")), rotations
    )
    return summary(tally, durations, key_client.kv_reads, 1, "remote")
