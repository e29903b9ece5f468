"""Process mode: the emulator over TLS (cheroot, trustme certificates) behind a CONNECT proxy.

Clients keep production host names: they send ``CONNECT myvault.vault.azure.net:443`` to the
proxy (HTTPS_PROXY), which pipes the tunnel to the TLS server; the certificate, issued by a
throwaway CA, covers every emulated host, so Key Vault's challenge-resource check stays on.
Everything binds to 127.0.0.1 only.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import selectors
import signal
import socket
import socketserver
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import trustme
from cheroot import wsgi
from cheroot.ssl.builtin import BuiltinSSLAdapter

from emulator.app import EmulatorApp
from emulator.services.entra import GITHUB_OIDC_HOST
from emulator.state import AzureState
from emulator.world import World

LOOPBACK = "127.0.0.1"
# Host names the certificate covers and the proxy tunnels; everything else is refused.
SERVED_HOSTS = (
    "*.vault.azure.net",
    "management.azure.com",
    "login.microsoftonline.com",
    "*.openai.azure.com",
    "*.cognitiveservices.azure.com",
    "*.azurewebsites.net",
    GITHUB_OIDC_HOST,
    "localhost",
    LOOPBACK,
)
# Above the drill's 16+ concurrent clients, so keep-alive connections are not dropped.
KEEP_ALIVE_CONNECTIONS = 256
REQUEST_QUEUE_SIZE = 256
SERVER_THREADS = 48
_MAX_CONNECT_HEAD = 8192


def host_is_served(host: str) -> bool:
    """Whether the proxy tunnels CONNECT requests for ``host`` (case-insensitive)."""
    host = host.lower().strip("[]")
    for pattern in SERVED_HOSTS:
        if pattern.startswith("*."):
            suffix = pattern[1:]
            label = host[: -len(suffix)] if host.endswith(suffix) else ""
            if label and "." not in label:
                return True
        elif host == pattern:
            return True
    return False


def _pipe(client: socket.socket, upstream: socket.socket) -> None:
    """Copy bytes both ways until both sides have closed."""
    selector = selectors.DefaultSelector()
    peers = {client: upstream, upstream: client}
    for sock in peers:
        selector.register(sock, selectors.EVENT_READ)
    open_readers = 2
    try:
        while open_readers:
            for key, _ in selector.select(timeout=60):
                source = key.fileobj
                try:
                    data = source.recv(65536)
                except OSError:
                    data = b""
                if data:
                    try:
                        peers[source].sendall(data)
                    except OSError:
                        return
                    continue
                selector.unregister(source)
                open_readers -= 1
                with contextlib.suppress(OSError):
                    peers[source].shutdown(socket.SHUT_WR)
    finally:
        selector.close()


class _TunnelHandler(socketserver.BaseRequestHandler):
    server: _ProxyServer

    def handle(self) -> None:
        client: socket.socket = self.request
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = client.recv(4096)
            if not chunk or len(head) > _MAX_CONNECT_HEAD:
                return
            head += chunk
        head, _, early = head.partition(b"\r\n\r\n")
        request_line = head.split(b"\r\n", 1)[0].decode("latin-1")
        parts = request_line.split()
        if len(parts) != 3 or parts[0].upper() != "CONNECT":
            client.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
            return
        host = parts[1].rsplit(":", 1)[0]
        if not host_is_served(host):
            client.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
            return
        # Every tunnel ends at the emulator, whatever port was asked: never an open relay.
        upstream = socket.create_connection((LOOPBACK, self.server.upstream_port))
        upstream.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with upstream:
            client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            if early:
                upstream.sendall(early)
            _pipe(client, upstream)


class _ProxyServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = REQUEST_QUEUE_SIZE

    def __init__(self, port: int, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        super().__init__((LOOPBACK, port), _TunnelHandler)


@contextlib.contextmanager
def _private_key_file(pem: bytes, fallback_dir: Path) -> Iterator[str]:
    """A path the TLS context loads the server's private key from, gone after the block.

    On Linux the key lives in an anonymous memory file (memfd) opened through /proc/self/fd: it
    is never on disk, so a killed emulator (SIGKILL included) leaves no private key behind.
    Elsewhere, a 0600 file removed right after loading.
    """
    if hasattr(os, "memfd_create") and Path("/proc/self/fd").is_dir():
        fd = os.memfd_create("emulator-server-key", os.MFD_CLOEXEC)
        try:
            os.write(fd, pem)
            yield f"/proc/self/fd/{fd}"
        finally:
            os.close(fd)
        return
    path = fallback_dir / "emulator-server.key"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(descriptor, pem)
        os.close(descriptor)
        yield str(path)
    finally:
        path.unlink(missing_ok=True)


@dataclass
class EmulatorServer:
    """The TLS server and the proxy, running in threads of this process.

    After :meth:`start`: ``port`` (TLS), ``proxy_port``, ``ca_path`` (PEM of the CA to trust),
    ``env`` (variables a client process exports), ``proxies`` (for requests / azure-core
    ``proxies=``), ``admin_url`` and ``admin_headers`` (for the ``/_emulator/`` endpoints).
    """

    state: AzureState
    port: int = 0
    proxy_port: int = 0
    cert_dir: Path | None = None
    world: World | None = None
    admin_token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    ca_path: Path = field(init=False)
    _server: Any = field(init=False, default=None)
    _proxy: _ProxyServer | None = field(init=False, default=None)
    _threads: list[threading.Thread] = field(init=False, default_factory=list)
    _tempdir: tempfile.TemporaryDirectory | None = field(init=False, default=None)

    def start(self) -> EmulatorServer:
        """Issue certificates, bind both listeners and serve in background threads."""
        if self.cert_dir is None:
            self._tempdir = tempfile.TemporaryDirectory(prefix="emulator-ca-")
            self.cert_dir = Path(self._tempdir.name)
        self.cert_dir.mkdir(parents=True, exist_ok=True)
        ca = trustme.CA()  # the CA's private key stays in this process's memory
        leaf = ca.issue_cert(*SERVED_HOSTS)
        self.ca_path = self.cert_dir / "emulator-ca.pem"
        ca.cert_pem.write_to_path(str(self.ca_path))
        chain_path = self.cert_dir / "emulator-server.pem"
        chain_path.write_bytes(b"".join(blob.bytes() for blob in leaf.cert_chain_pems))

        app = EmulatorApp(self.state, admin_token=self.admin_token)
        server = wsgi.Server(
            (LOOPBACK, self.port),
            app,
            numthreads=SERVER_THREADS,
            request_queue_size=REQUEST_QUEUE_SIZE,
            timeout=30,
            shutdown_timeout=2,
        )
        server.keep_alive_conn_limit = KEEP_ALIVE_CONNECTIONS
        with _private_key_file(leaf.private_key_pem.bytes(), self.cert_dir) as key_path:
            server.ssl_adapter = BuiltinSSLAdapter(str(chain_path), key_path)
        server.prepare()
        self._server = server
        self.port = server.bind_addr[1]
        try:
            self._proxy = _ProxyServer(self.proxy_port, self.port)
        except OSError:
            self.stop()  # nothing half-started stays behind
            raise
        self.proxy_port = self._proxy.server_address[1]
        self.state.identity_endpoint = f"https://{LOOPBACK}:{self.port}/MSI/token"
        for name, target in (("emulator-tls", server.serve), ("emulator-proxy", self._serve_proxy)):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def _serve_proxy(self) -> None:
        assert self._proxy is not None
        self._proxy.serve_forever(poll_interval=0.1)

    def stop(self) -> None:
        """Stop both listeners and remove temporary certificate files."""
        if self._proxy is not None:
            self._proxy.shutdown()
            self._proxy.server_close()
            self._proxy = None
        if self._server is not None:
            self._server.stop()
            self._server = None
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads.clear()
        if self._tempdir is not None:
            self._tempdir.cleanup()
            self._tempdir = None

    @property
    def proxy_url(self) -> str:
        return f"http://{LOOPBACK}:{self.proxy_port}"

    @property
    def proxies(self) -> dict[str, str]:
        return {"https": self.proxy_url}

    @property
    def admin_url(self) -> str:
        return f"https://{LOOPBACK}:{self.port}/_emulator"

    @property
    def admin_headers(self) -> dict[str, str]:
        return {"X-Emulator-Admin": self.admin_token}

    @property
    def env(self) -> dict[str, str]:
        """What a client process exports to use this emulator with production host names."""
        header = self.world.site.identity_header if self.world else self.state.host_identity_header
        env = {
            "HTTPS_PROXY": self.proxy_url,
            "NO_PROXY": f"{LOOPBACK},localhost",
            "REQUESTS_CA_BUNDLE": str(self.ca_path),
            "SSL_CERT_FILE": str(self.ca_path),
            "IDENTITY_ENDPOINT": self.state.identity_endpoint,
            "IDENTITY_HEADER": header,
            "EMULATOR_ADMIN_URL": self.admin_url,
            "EMULATOR_ADMIN_TOKEN": self.admin_token,
            "EMULATOR_SUBSCRIPTION": self.state.subscription,
            "EMULATOR_RESOURCE_GROUP": self.state.resource_group,
            "EMULATOR_HOST_IDENTITY_HEADER": self.state.host_identity_header,
        }
        if self.world is not None:
            env.update(
                {
                    "EMULATOR_ACCOUNT": self.world.account.name,
                    "EMULATOR_ENDPOINT": self.world.endpoint,
                    "EMULATOR_DEPLOYMENT": self.world.deployment,
                    "EMULATOR_VAULT_URL": self.world.vault_url,
                    "EMULATOR_SECRET": self.world.secret_name,
                    "EMULATOR_SITE": self.world.site.name,
                    "EMULATOR_SITE_ID": self.world.site.id,
                    "EMULATOR_ROTATOR_CLIENT_ID": self.world.rotator.client_id,
                }
            )
        if self.world is not None and self.world.deployer and self.world.github_job_token:
            # What GitHub sets in a job with id-token: write, and the identity it deploys as.
            env.update(
                {
                    "ACTIONS_ID_TOKEN_REQUEST_URL": (
                        f"https://{GITHUB_OIDC_HOST}/emulator/idtoken?api-version=2.0"
                    ),
                    "ACTIONS_ID_TOKEN_REQUEST_TOKEN": self.world.github_job_token,
                    "EMULATOR_DEPLOYER_CLIENT_ID": self.world.deployer.client_id,
                    "EMULATOR_TENANT_ID": self.state.tenant_id,
                }
            )
        return env


@contextlib.contextmanager
def serve(
    state: AzureState, *, world: World | None = None, port: int = 0, proxy_port: int = 0
) -> Iterator[EmulatorServer]:
    """Run the TLS emulator and its proxy in this process for the block (ready on entry).

    The state stays shared: tests seed and inspect it directly while clients go through TLS.
    Pass the CA per client (``connection_verify=server.ca_path`` / ``verify=``) and the proxy
    (``proxies=server.proxies``): this machine's global REQUESTS_CA_BUNDLE would win otherwise.
    """
    server = EmulatorServer(state, port=port, proxy_port=proxy_port, world=world).start()
    try:
        yield server
    finally:
        server.stop()


@dataclass
class EmulatorProcess:
    """A ``python -m emulator`` subprocess and the JSON it printed when ready."""

    process: subprocess.Popen
    info: dict[str, Any]

    @property
    def env(self) -> dict[str, str]:
        return dict(self.info["env"])

    @property
    def ca_path(self) -> str:
        return self.info["env"]["REQUESTS_CA_BUNDLE"]

    @property
    def proxies(self) -> dict[str, str]:
        return {"https": self.info["env"]["HTTPS_PROXY"]}

    @property
    def admin_url(self) -> str:
        return self.info["env"]["EMULATOR_ADMIN_URL"]

    @property
    def admin_headers(self) -> dict[str, str]:
        return {"X-Emulator-Admin": self.info["env"]["EMULATOR_ADMIN_TOKEN"]}


class EmulatorStartError(RuntimeError):
    """The emulator process exited or stayed silent instead of reporting ready."""


@contextlib.contextmanager
def run_process(
    args: list[str] | None = None, *, timeout: float = 30.0
) -> Iterator[EmulatorProcess]:
    """Start ``python -m emulator --format json [args]``, wait for ready, stop it on exit."""
    package_root = str(Path(__file__).resolve().parent.parent)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
    process = subprocess.Popen(
        [sys.executable, "-m", "emulator", "--format", "json", *(args or [])],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        info = _read_ready_line(process, timeout)
        yield EmulatorProcess(process, info)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def _read_ready_line(process: subprocess.Popen, timeout: float) -> dict[str, Any]:
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise EmulatorStartError(f"emulator printed nothing within {timeout:g} s")
            if selector.select(timeout=remaining):
                break
    line = process.stdout.readline()
    if not line:
        process.wait(timeout=10)
        error = process.stderr.read().strip() if process.stderr else ""
        raise EmulatorStartError(f"emulator exited with {process.returncode}: {error}")
    return json.loads(line)
