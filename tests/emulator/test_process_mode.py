"""The TLS server and CONNECT proxy: real SDK clients and requests on production host names."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from azure.core.exceptions import HttpResponseError
from azure.identity import ManagedIdentityCredential
from azure.keyvault.secrets import SecretClient
from azure.mgmt.cognitiveservices import CognitiveServicesManagementClient

import emulator
from emulator.__main__ import main
from emulator.server import EmulatorServer, host_is_served, run_process, serve

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def server(world: emulator.World, monkeypatch: pytest.MonkeyPatch) -> Iterator[EmulatorServer]:
    with serve(world.state, world=world) as running:
        for name in ("IDENTITY_ENDPOINT", "IDENTITY_HEADER"):
            monkeypatch.setenv(name, running.env[name])
        yield running


def _tls(server: EmulatorServer) -> dict:
    """Per-client TLS and proxy settings (the machine's global CA bundle must not win)."""
    return {"connection_verify": str(server.ca_path), "proxies": server.proxies}


def test_secret_client_through_proxy_with_challenge(
    world: emulator.World, server: EmulatorServer
) -> None:
    credential = ManagedIdentityCredential(**_tls(server))
    client = SecretClient(world.vault_url, credential, **_tls(server))

    secret = client.get_secret(world.secret_name)

    assert secret.value == world.state.keys(world.account.name)["key1"]
    host = f"{world.vault.name}.vault.azure.net"
    assert world.state.requests(host, method="GET", route="/secrets/{name}/{version}") == 2
    assert world.state.requests("127.0.0.1", route="/MSI/token") == 1


def test_requests_reach_chat_and_site_by_production_names(
    world: emulator.World, server: EmulatorServer
) -> None:
    http = requests.Session()
    http.trust_env = False
    http.verify = str(server.ca_path)
    http.proxies = server.proxies
    key = world.state.keys(world.account.name)["key2"]
    chat = http.post(
        f"{world.endpoint}openai/deployments/{world.deployment}/chat/completions",
        params={"api-version": "2024-10-21"},
        json={"messages": [{"role": "user", "content": "hello"}]},
        headers={"api-key": key},
    )
    assert chat.status_code == 200
    assert chat.json()["choices"][0]["message"]["content"] == "Emulated reply from gpt-4o-mini."

    def site_app(environ: dict, start_response) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [environ["HTTP_HOST"].encode()]

    world.state.mount(world.site.name, site_app)
    assert (
        http.get(f"https://{world.site.host}/healthz").text == "app-secure-demo.azurewebsites.net"
    )


def test_admin_endpoint_injects_faults_and_reports_counters(
    world: emulator.World, server: EmulatorServer
) -> None:
    admin = requests.Session()
    admin.trust_env = False
    admin.verify = str(server.ca_path)
    assert admin.get(f"{server.admin_url}/counters").status_code == 401
    made = admin.post(
        f"{server.admin_url}/faults",
        json={"host": f"{world.vault.name}.vault.azure.net", "status": 503, "times": 1},
        headers=server.admin_headers,
    )
    assert made.status_code == 201
    assert made.json()["times"] == 1
    bad = admin.post(
        f"{server.admin_url}/faults", json={"status": "x"}, headers=server.admin_headers
    )
    assert (bad.status_code, bad.json()["error"]["message"]) == (
        400,
        "Fault field 'status' has the wrong type: 'x'.",
    )

    credential = ManagedIdentityCredential(**_tls(server))
    client = SecretClient(world.vault_url, credential, retry_backoff_factor=0, **_tls(server))
    client.get_secret(world.secret_name)

    counters = admin.get(f"{server.admin_url}/counters", headers=server.admin_headers).json()
    kv_gets = [
        c["count"]
        for c in counters["counters"]
        if c["host"] == f"{world.vault.name}.vault.azure.net" and c["method"] == "GET"
    ]
    assert kv_gets == [3]  # the injected 503, the challenge, the read
    assert world.state.faults == []


def test_proxy_tunnels_only_emulated_hosts(server: EmulatorServer) -> None:
    with socket.create_connection(("127.0.0.1", server.proxy_port)) as sock:
        sock.sendall(b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n")
        assert sock.recv(1024).split(b"\r\n", 1)[0] == b"HTTP/1.1 403 Forbidden"
    assert host_is_served("kv-a.vault.azure.net")
    assert not host_is_served("a.b.vault.azure.net")
    assert not host_is_served("vault.azure.net")


def test_python_m_emulator_serves_a_seeded_world(monkeypatch: pytest.MonkeyPatch) -> None:
    with run_process(["--account", "ai-proc", "--vault", "kv-proc"]) as proc:
        env = proc.env
        assert env["EMULATOR_ACCOUNT"] == "ai-proc"
        assert env["EMULATOR_VAULT_URL"] == "https://kv-proc.vault.azure.net/"
        for name in ("IDENTITY_ENDPOINT", "IDENTITY_HEADER"):
            monkeypatch.setenv(name, env[name])
        tls = {"connection_verify": proc.ca_path, "proxies": proc.proxies}
        rotator = ManagedIdentityCredential(client_id=env["EMULATOR_ROTATOR_CLIENT_ID"], **tls)
        arm = CognitiveServicesManagementClient(rotator, env["EMULATOR_SUBSCRIPTION"], **tls)
        keys = arm.accounts.list_keys(env["EMULATOR_RESOURCE_GROUP"], "ai-proc")
        site = ManagedIdentityCredential(**tls)
        secret = SecretClient(env["EMULATOR_VAULT_URL"], site, **tls).get_secret(
            env["EMULATOR_SECRET"]
        )
        assert secret.value == keys.key1
        with pytest.raises(HttpResponseError) as caught:
            SecretClient(env["EMULATOR_VAULT_URL"], site, **tls).set_secret("x", "y")
        assert caught.value.status_code == 403
    assert proc.process.returncode == 0


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--port", "70000"], "argument --port: port '70000' must be an integer 0-65535 (0: any)"),
        (
            ["--vault", "kv_bad"],
            "argument --vault: vault name 'kv_bad' is invalid: 3-24 letters, "
            "digits or '-', starting with a letter",
        ),
        (
            ["--accept-delay", "-1"],
            "argument --accept-delay: accept delay '-1' must be 0-3600 seconds",
        ),
        (
            ["--format", "xml"],
            "argument --format: invalid choice: 'xml' (choose from 'shell', 'json')",
        ),
        (
            ["--github-oidc", "main"],
            "argument --github-oidc: GitHub OIDC subject 'main' must look like "
            "repo:<owner>/<repo>:<context>",
        ),
    ],
)
def test_bad_flags_get_one_line_errors(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code == 2
    assert capsys.readouterr().err == f"emulator: {message}\n"


def test_bad_flag_from_the_shell_has_no_traceback() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "emulator", "--site", "Bad Site"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == (
        "emulator: argument --site: site name 'Bad Site' is invalid: 1-59 lowercase letters, "
        "digits or '-'\n"
    )


def test_sixteen_concurrent_clients_through_the_proxy(
    world: emulator.World, server: EmulatorServer
) -> None:
    url = f"{world.endpoint}openai/deployments/{world.deployment}/chat/completions"
    key = world.state.keys(world.account.name)["key1"]
    start = threading.Barrier(16)
    outcomes: list[str] = []

    def client() -> None:
        http = requests.Session()
        http.trust_env = False
        http.verify = str(server.ca_path)
        http.proxies = server.proxies
        start.wait()
        for _ in range(20):
            try:
                response = http.post(
                    url,
                    params={"api-version": "2024-10-21"},
                    json={"messages": [{"role": "user", "content": "x"}]},
                    headers={"api-key": key},
                    timeout=30,
                )
                outcomes.append(str(response.status_code))
            except requests.RequestException as exc:
                outcomes.append(type(exc).__name__)

    threads = [threading.Thread(target=client) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert outcomes == ["200"] * 320
    assert world.state.requests("ai-secure-demo.openai.azure.com", method="POST") == 320


def test_busy_port_is_a_one_line_error(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["--proxy-port", str(port)]) == 1
    assert capsys.readouterr().err == (
        f"emulator: cannot listen on 127.0.0.1 (--port 0 / --proxy-port {port}): "
        "Address already in use\n"
    )
