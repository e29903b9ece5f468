"""The local world a drill rotates: the emulated deployment (emulator/topology.py) with the
sample app running on its sites.

One App Service site whose key comes from a Key Vault reference (its process restarts with the
re-resolved environment when the reference is refreshed, as on App Service) and one site whose
app reads the secret through the SDK, on instances of gunicorn-style workers, each its own key
client. The rotations run the real engine against the same world.
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import emulator
from app.ai_client import AiClient
from app.key_client import KeyClient
from app.settings import DEFAULT_KEY_MAX_AGE_SECONDS
from app.web import create_app
from app.workers import WorkerBoard
from azure_edge.clients import Connection
from azure_edge.retry import Waiter
from azure_edge.sites import HEALTH, SITE, Consumer
from azure_edge.vault import VaultSecrets
from catalog import secret
from catalog.sites import HEALTH_PATH
from emulator.topology import REFERENCE_SITE, SDK_SITE, seed_topology, site_url
from rotation.engine import Edges, Engine
from rotation.target import Target, account_ref


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
    def health_url(self) -> str:
        """The SDK app's /healthz, which a rotation asks for the version each process holds."""
        return f"{site_url(self.sdk_site)}{HEALTH_PATH}"

    @property
    def consumers(self) -> tuple[Consumer, ...]:
        """The reference site (refreshed through ARM) and the SDK app (its /healthz)."""
        sdk_site_id = self.state.site(self.sdk_site).id
        return (
            Consumer(REFERENCE_SITE, SITE, self.state.site(REFERENCE_SITE).id),
            Consumer(self.sdk_site, SITE, sdk_site_id),
            Consumer(
                self.sdk_site,
                HEALTH,
                self.health_url,
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
                    "healthUrl": self.health_url,
                },
            },
        }

    def rotator_process_env(self, served_env: dict[str, str]) -> dict[str, str]:
        """The environment of a separate process that signs in as the rotator against the
        emulator served with `served_env` (its proxy and CA): the machine's Azure and identity
        variables are left out, and DefaultAzureCredential picks the rotator, a user-assigned
        identity, by its client ID."""
        return {
            **{k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "IDENTITY_"))},
            **served_env,
            "AZURE_CLIENT_ID": self.world.rotator.client_id,
            "IDENTITY_HEADER": self.state.host_identity_header,
        }

    def vault(self) -> VaultSecrets:
        """The secret, through the rotator's SecretClient."""
        return self.connection.vault(self.world.vault_url, self.world.secret_name)

    def engine(
        self,
        *,
        hook: Callable[[str], None] = lambda p: None,
        echo: Callable[[str], None] = lambda line: None,
        **waits: Any,
    ) -> Engine:
        """An engine on this world that tells `echo` what it does; waits: probe_timeout,
        confirm_timeout, interval, drain, period_days."""
        interval = waits.get("interval", 0.02)
        vault = self.vault()
        edges = Edges.connect(
            self.connection,
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
            echo=echo,
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
        session = emulator.session(self.state)
        for instance in self.state.site(self.sdk_site).instances:
            for _ in range(len(self.key_clients)):
                session.get(
                    self.health_url,
                    cookies={"ARRAffinity": instance},
                    timeout=30,
                )
        self._reads_at_start = sum(k.kv_reads for k in self.key_clients)


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
    emulated = emulator.AzureState()
    topology = seed_topology(
        emulated,
        first_version_tags=lambda account_id, consumers: secret.first_version_tags(
            account_id, secret.DEFAULT_PERIOD_DAYS, consumers
        ),
        content_type=secret.CONTENT_TYPE,
        accept_delay=accept_delay,
        instances=instances,
    )
    world = topology.world
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
                slot_tag=secret.TAG_SLOT,
            )
            ai = AiClient(world.endpoint, world.deployment, key_client, emulator.session(emulated))
            return create_app(key_client=key_client, ai_client=ai)

        process = SiteProcess(emulated, REFERENCE_SITE, reference_app)
        emulated.mount(REFERENCE_SITE, process)
        app_credential = emulator.managed_identity_credential(emulated, topology.sdk_identity)
        for instance in topology.instances:
            board_dir = Path(boards.name) / instance
            board_dir.mkdir()
            apps = []
            for worker in range(workers):
                # Each worker is its own process: its own connection and SecretClient.
                worker_connection = Connection(
                    app_credential, sdk_options=lambda: {"transport": emulator.transport(emulated)}
                )
                sdk_key_client = KeyClient(
                    worker_connection.secret_client(world.vault_url),
                    secret_name=world.secret_name,
                    env_value=None,
                    max_age=DEFAULT_KEY_MAX_AGE_SECONDS if key_max_age is None else key_max_age,
                    slot_tag=secret.TAG_SLOT,
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
