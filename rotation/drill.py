"""The rehearsal: concurrent load through the sample app's key client while rotations run.

Local mode builds the project's topology in the in-memory emulator: one App Service site whose key
comes from a Key Vault reference (its process restarts with the re-resolved environment when the
reference is refreshed, as on App Service) and one site whose app reads the secret through the SDK.
Client threads call both sites' /chat; the rotations run the real engine against the same world.
Remote mode (`--stack-outputs` without `--local`) drives key clients in this process against the
deployment the stack outputs name, with DefaultAzureCredential.
"""

from __future__ import annotations

import argparse
import json
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from rotation import state as machine
from rotation.azure import RotationStopped, Vault, Waiter
from rotation.clients import Connection
from rotation.engine import Engine
from rotation.target import Consumer, InputError, Target, account_ref

PROMPT = {"prompt": "Say hello.", "maxTokens": 8}
REFERENCE_SITE = "app-ref-drill"
SDK_SITE = "app-sdk-drill"
# Longer than any request of the drill takes: a request holding the retired key finishes before
# the next rotation regenerates it.
DRAIN_SECONDS = 1.0
ACCEPT_DELAY = 0.05
# The SDK app as App Service scales it: instances of gunicorn workers, each its own process.
SDK_INSTANCES = 2
SDK_WORKERS = 2
KV_HOST_SUFFIX = ".vault.azure.net"
ARM_HOST = "management.azure.com"


@dataclass(frozen=True)
class Faults:
    """Faults a local drill injects through the emulator's fault rules (emulator/state.py)."""

    kv_throttle: int | None = None  # Key Vault: 429 past N requests per second
    arm_throttle: int | None = None  # ARM: 429 past N requests per second
    kv_5xx: int | None = None  # every K-th Key Vault request answers 503
    arm_5xx: int | None = None  # every K-th ARM request answers 503
    latency_ms: float | None = None  # added to every Key Vault and ARM request
    accept_delay: float = ACCEPT_DELAY  # a new key is accepted this long after regeneration

    def describe(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass(frozen=True)
class Waits:
    """The engine's waits in a drill."""

    probe_timeout: float = 10.0
    confirm_timeout: float = 10.0
    interval: float = 0.02
    drain: float = DRAIN_SECONDS
    period_days: int | None = None


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


class SiteProcess:
    """The process App Service runs for a site: rebuilt from the site's environment whenever the
    emulator re-resolves its references (a refresh restarts the app, a plain restart does not)."""

    def __init__(self, emulated: Any, site: str, build: Callable[[dict[str, str]], Any]) -> None:
        self._state = emulated
        self._site = site
        self._build = build
        self._lock = threading.Lock()
        self._generation = -1
        self._app: Any = None
        self.starts = 0
        self.apps: list[Any] = []

    def current(self) -> Any:
        """The app instance serving now (starting a new one after a refresh)."""
        with self._lock:
            generation = self._state.site(self._site).refresh_count
            if generation != self._generation:
                self._app = self._build(self._state.site_environment(self._site))
                self.apps.append(self._app)
                self._generation = generation
                self.starts += 1
            return self._app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        return self.current()(environ, start_response)


@dataclass
class LocalWorld:
    """The emulated deployment a local drill (and the tests) rotate."""

    state: Any
    world: Any
    connection: Connection
    key_clients: list[Any]
    reference_process: SiteProcess
    sdk_site: str
    identity_env: Any
    _reads_at_start: int = 0

    @property
    def target(self) -> Target:
        """What a rotation of this world acts on (consumers of both kinds)."""
        return Target(
            vault_url=self.world.vault_url,
            secret_name=self.world.secret_name,
            account=account_ref(self.world.account.id),
            endpoint=self.world.endpoint.rstrip("/"),
            deployment=self.world.deployment,
            consumers=self.consumers,
        )

    @property
    def consumers(self) -> tuple[Consumer, ...]:
        """The reference site (refreshed through ARM) and the SDK app (its /healthz)."""
        sdk_site_id = self.state.site(self.sdk_site).id
        return (
            Consumer(REFERENCE_SITE, "site", self.state.site(REFERENCE_SITE).id),
            Consumer(self.sdk_site, "site", sdk_site_id),
            Consumer(
                self.sdk_site,
                "health",
                f"https://{self.sdk_site}.azurewebsites.net/healthz",
                sdk_site_id,
            ),
        )

    def stack_outputs(self) -> dict[str, Any]:
        """What `pulumi stack output --json` would print for this world."""
        return {
            "aiAccountId": self.world.account.id,
            "aiEndpoint": self.world.endpoint,
            "vaultUri": self.world.vault_url,
            "secretName": self.world.secret_name,
            "secretUri": self.world.secret_uri,
            "chatDeployment": self.world.deployment,
            "apps": {
                REFERENCE_SITE: {"siteId": self.state.site(REFERENCE_SITE).id},
                self.sdk_site: {
                    "siteId": self.state.site(self.sdk_site).id,
                    "healthUrl": f"https://{self.sdk_site}.azurewebsites.net/healthz",
                },
            },
        }

    def vault(self) -> Vault:
        """The secret, through the rotator's SecretClient."""
        return Vault(self.connection.secret_client(self.world.vault_url), self.world.secret_name)

    def engine(self, *, hook: Callable[[str], None] = lambda p: None, **waits: Any) -> Engine:
        """An engine on this world; waits: probe_timeout, confirm_timeout, interval, drain,
        period_days."""
        interval = waits.get("interval", 0.02)
        vault = self.vault()
        edges = self.connection.edges(
            self.target,
            vault,
            probe_waiter=Waiter(
                timeout=waits.get("probe_timeout", 10.0), interval=interval, cap=0.2
            ),
            confirm_waiter=Waiter(
                timeout=waits.get("confirm_timeout", 10.0), interval=interval, cap=0.2
            ),
        )
        return Engine(
            edges,
            self.consumers,
            hook=hook,
            echo=lambda line: None,
            drain_seconds=waits.get("drain", 0.0),
            period_override=waits.get("period_days"),
        )

    def kv_reads(self) -> int:
        """Secret reads the apps' key clients sent to Key Vault since `warm_up` (the reference
        site's process reads none: App Service resolves its reference)."""
        return sum(k.kv_reads for k in self.key_clients) - self._reads_at_start

    def warm_up(self) -> None:
        """Every SDK process loads its key (one read each, at process start, not caused by any
        rotation), then the read count starts from zero."""
        import emulator

        session = emulator.session(self.state)
        for instance in self.state.site(self.sdk_site).instances:
            for _ in range(len(self.key_clients)):
                session.get(
                    f"https://{self.sdk_site}.azurewebsites.net/healthz",
                    cookies={"ARRAffinity": instance},
                    timeout=30,
                )
        self._reads_at_start = sum(k.kv_reads for k in self.key_clients)


def initial_tags(account_id: str, consumers: str) -> dict[str, str]:
    """The tags components/api_key_secret.py writes with the first version."""
    return {
        machine.TAG_SLOT: "key1",
        machine.TAG_ACCOUNT: account_id,
        machine.TAG_PERIOD: "90",
        machine.TAG_STATE: machine.IDLE,
        machine.TAG_CONSUMERS: consumers,
    }


class Workers:
    """One App Service instance running gunicorn-style workers: each request goes to the next
    worker; each worker has its own key client and reports to the instance's board."""

    def __init__(self, apps: list[Any]) -> None:
        self._apps = apps
        self._next = 0
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        with self._lock:
            app = self._apps[self._next % len(self._apps)]
            self._next += 1
        return app(environ, start_response)


@contextmanager
def local_world(
    *,
    accept_delay: float = 0.0,
    key_max_age: float | None = None,
    instances: int = 1,
    workers: int = 1,
) -> Iterator[LocalWorld]:
    """Build the emulated deployment; IDENTITY_ENDPOINT/HEADER are set while it is in use.

    The SDK app runs on `instances` App Service instances of `workers` processes each, every
    worker with its key watch running (as gunicorn's post_worker_init starts it); `key_max_age`:
    the app's AZURE_AI_KEY_MAX_AGE_SECONDS (default: the app's own, 300 s)."""
    import tempfile

    from azure.keyvault.secrets import SecretClient

    import emulator
    from app.ai_client import AiClient
    from app.key_client import KeyClient
    from app.settings import DEFAULT_KEY_MAX_AGE_SECONDS
    from app.web import create_app
    from app.workers import WorkerBoard

    emulated = emulator.AzureState()
    world = emulator.seed_world(
        emulated, site=REFERENCE_SITE, accept_delay=accept_delay, secret_tags={}
    )
    emulated.set_secret(
        world.vault.name,
        world.secret_name,
        emulated.keys(world.account.name)["key1"],
        content_type="text/plain",
        tags=initial_tags(world.account.id, f"{REFERENCE_SITE},{SDK_SITE}"),
    )
    emulated.refresh_references(REFERENCE_SITE)
    sdk_site = emulated.add_site(SDK_SITE)
    sdk_identity = emulated.add_identity("id-app-sdk-drill")
    emulated.grant(sdk_identity, world.vault.secret_id(world.secret_name), "Key Vault Secrets User")
    # The SDK app's site carries the reference too (the stack gives every app one); the app
    # itself reads the secret through the SDK.
    emulated.grant(sdk_site, world.vault.secret_id(world.secret_name), "Key Vault Secrets User")
    emulated.set_app_settings(
        SDK_SITE, {"AZURE_AI_API_KEY": f"@Microsoft.KeyVault(SecretUri={world.secret_uri})"}
    )
    emulated.grant(
        world.rotator,
        sdk_site.id,
        actions=(
            "Microsoft.Web/sites/config/read",
            "Microsoft.Web/sites/config/write",
            "Microsoft.Web/sites/instances/read",
        ),
    )
    emulated.grant(world.rotator, world.site.id, actions=("Microsoft.Web/sites/instances/read",))
    boards = tempfile.TemporaryDirectory(prefix="drill-workers-")
    key_clients: list[Any] = []
    watches: list[Any] = []
    emulator.clear_challenge_cache()
    with emulator.identity_environment(emulated) as env:
        rotator = emulator.managed_identity_credential(emulated, world.rotator)
        connection = Connection(
            rotator,
            session=emulator.session(emulated),
            sdk_options=lambda: {"transport": emulator.transport(emulated)},
        )

        def reference_app(environ: dict[str, str]) -> Any:
            key_client = KeyClient(
                None,
                secret_name=None,
                env_value=environ["AZURE_AI_API_KEY"],
                slot_tag=machine.TAG_SLOT,
            )
            ai = AiClient(world.endpoint, world.deployment, key_client, emulator.session(emulated))
            return create_app(key_client=key_client, ai_client=ai)

        process = SiteProcess(emulated, REFERENCE_SITE, reference_app)
        emulated.mount(REFERENCE_SITE, process)
        app_credential = emulator.managed_identity_credential(emulated, sdk_identity)
        for instance in emulated.scale_out(SDK_SITE, instances):
            board_dir = Path(boards.name) / instance
            board_dir.mkdir()
            apps = []
            for worker in range(workers):
                sdk_key_client = KeyClient(
                    SecretClient(
                        world.vault_url, app_credential, transport=emulator.transport(emulated)
                    ),
                    secret_name=world.secret_name,
                    env_value=None,
                    max_age=DEFAULT_KEY_MAX_AGE_SECONDS if key_max_age is None else key_max_age,
                    slot_tag=machine.TAG_SLOT,
                )
                key_clients.append(sdk_key_client)
                sdk_ai = AiClient(
                    world.endpoint, world.deployment, sdk_key_client, emulator.session(emulated)
                )
                board = WorkerBoard(
                    board_dir, worker=lambda w=worker: f"worker-{w}", alive=lambda _: True
                )
                apps.append(
                    create_app(
                        key_client=sdk_key_client, ai_client=sdk_ai, board=board, instance=instance
                    )
                )
            emulated.mount(SDK_SITE, Workers(apps), instance=instance)
            watches.extend(app.extensions["key_watch"] for app in apps)
        # Each worker loads its key as it starts (its watch's first look), before the world is
        # handed over: request counts start from zero after that.
        for watch in watches:
            watch.tick()
        emulated.reset_counters()
        for watch in watches:
            watch.start()
        try:
            yield LocalWorld(emulated, world, connection, key_clients, process, SDK_SITE, env)
        finally:
            for watch in watches:
                watch.stop()
            emulator.clear_challenge_cache()
            boards.cleanup()


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
        hits = apply_faults(local.state, local.world.vault.name + KV_HOST_SUFFIX, faults)
        report = run_local_drill(local, rotations, clients, waits=waits)
        report["faults"] = {**faults.describe(), "hits": hits()}
        return report


def run_local_drill(
    local: LocalWorld, rotations: int, clients: int, *, waits: Waits | None = None
) -> dict[str, Any]:
    """Load both sites' /chat from `clients` threads while `rotations` rotations run."""
    waits = waits or Waits()
    engine = local.engine(
        drain=waits.drain,
        probe_timeout=waits.probe_timeout,
        confirm_timeout=waits.confirm_timeout,
        interval=waits.interval,
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
    import emulator

    # One session per client thread: requests sessions are not meant to be shared.
    sessions = [emulator.session(local.state) for _ in range(clients)]
    hosts = [f"https://{site}.azurewebsites.net" for site in (REFERENCE_SITE, local.sdk_site)]

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
    from app.ai_client import AiClient
    from app.key_client import KeyClient
    from rotation import cli

    connection = Connection.default()
    resolved, vault, _ = cli.prepare(args, connection)
    edges = connection.edges(
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
        slot_tag=machine.TAG_SLOT,
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


def render_text(report: dict[str, Any]) -> str:
    """The summary for people."""
    lines = [
        f"drill ({report['mode']}): {report['rotations']} rotations under load",
        f"requests  {report['requests']}  failed {report['failed']}"
        + (f"  {report['errors']}" if report["errors"] else ""),
        f"latency   p50 {report['p50Ms']} ms  p99 {report['p99Ms']} ms  max {report['maxMs']} ms",
        f"key vault {report['kvReads']} reads by the apps "
        f"({report['kvReadsPerRotationPerProcess']} per rotation per process)",
        f"rotation  mean {report['rotationSeconds']['mean']} s  "
        f"max {report['rotationSeconds']['max']} s",
    ]
    if "deliveries" in report:
        lines.append(f"events    {report['deliveries']}")
        lines.append(f"runs      {report['runs']}")
    if report.get("faults"):
        lines.append(f"faults    {report['faults']}")
    if report.get("stopped"):
        lines.append(f"stopped   {report['stopped']}")
    return "\n".join(lines)


_TARGET_FLAGS = ("vault_url", "secret_name", "account_id", "endpoint", "deployment")
_FAULT_FLAGS = ("kv_throttle", "arm_throttle", "kv_5xx", "arm_5xx", "latency_ms", "accept_delay")


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def check_flags(args: argparse.Namespace) -> bool:
    """Whether the drill is local; InputError for a flag this mode cannot honour."""
    local = args.local or not args.stack_outputs
    if local:
        given = [f for f in ("stack_outputs", *_TARGET_FLAGS) if getattr(args, f)]
        if given:
            raise InputError(
                f"{_flag(given[0])}: a local drill acts on the emulator's own world; the rule "
                "is --local without target flags, or --stack-outputs without --local"
            )
        return True
    given = [f for f in ("hosted", *_FAULT_FLAGS) if getattr(args, f)]
    if given:
        raise InputError(
            f"{_flag(given[0])}: only a local drill (--local) can honour it; a remote drill "
            "injects no faults and drives no hosted functions"
        )
    return False


def main(args: argparse.Namespace, out: Callable[[str], None] = print) -> int:
    """`python -m rotation drill`: exit 0 only when no request failed and no rotation stopped."""
    local = check_flags(args)
    if local:
        faults = Faults(
            kv_throttle=args.kv_throttle,
            arm_throttle=args.arm_throttle,
            kv_5xx=args.kv_5xx,
            arm_5xx=args.arm_5xx,
            latency_ms=args.latency_ms,
            accept_delay=ACCEPT_DELAY if args.accept_delay is None else args.accept_delay,
        )
        defaults = Waits()
        waits = Waits(
            probe_timeout=args.probe_timeout or defaults.probe_timeout,
            confirm_timeout=args.confirm_timeout or defaults.confirm_timeout,
            interval=args.poll_interval or defaults.interval,
            drain=defaults.drain if args.drain_seconds is None else args.drain_seconds,
            period_days=args.period_days,
        )
        if args.hosted:
            from rotation import drill_hosted

            report = drill_hosted.drill(args.rotations, args.clients, faults=faults, waits=waits)
        else:
            report = drill_local(args.rotations, args.clients, faults=faults, waits=waits)
    else:
        for name, value in (
            ("probe_timeout", 120.0),
            ("confirm_timeout", 600.0),
            ("poll_interval", 1.0),
            ("drain_seconds", 240.0),
        ):
            if getattr(args, name) is None:
                setattr(args, name, value)
        report = drill_remote(args, args.rotations, args.clients)
    out(json.dumps(report, indent=2) if args.format == "json" else render_text(report))
    ok = report["failed"] == 0 and not report.get("stopped") and report.get("ok", True)
    return 0 if ok else 1
