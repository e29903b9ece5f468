"""The documented startup command, run for real: gunicorn with app/gunicorn.conf.py."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]


def startup_command(port: int) -> list[str]:
    # The command App Service runs, with the bind narrowed to loopback for the test.
    return [
        str(Path(sys.executable).parent / "gunicorn"),
        "--config",
        "app/gunicorn.conf.py",
        "--bind",
        f"127.0.0.1:{port}",
        "app.wsgi:application",
    ]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def clean_env(**settings: str) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
    return {**keep, "GUNICORN_WORKERS": "1", "GUNICORN_THREADS": "2", **settings}


@pytest.mark.parametrize(
    ("settings", "line"),
    [
        (
            {"AZURE_AI_ENDPOINT": "http://example.openai.azure.com", "AZURE_AI_DEPLOYMENT": "c"},
            "app: AZURE_AI_ENDPOINT='http://example.openai.azure.com': must be an https:// URL "
            "with a host name",
        ),
        (
            {"APP_LOG_LEVEL": "loud"},
            "app: APP_LOG_LEVEL='loud': must be one of debug, info, warning, error",
        ),
        (
            {"GUNICORN_THREADS": "0"},
            "app: GUNICORN_THREADS='0': must be an integer from 1 to 256",
        ),
    ],
)
def test_bad_setting_stops_gunicorn_with_one_line(settings: dict[str, str], line: str) -> None:
    result = subprocess.run(
        startup_command(free_port()),
        cwd=ROOT,
        env=clean_env(**settings),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == line
    assert "Traceback" not in result.stderr + result.stdout


def test_gunicorn_serves_healthz_with_a_resolved_reference() -> None:
    port = free_port()
    key = secrets.token_hex(16)
    env = clean_env(
        AZURE_AI_ENDPOINT="https://example.openai.azure.com",
        AZURE_AI_DEPLOYMENT="chat",
        AZURE_AI_API_KEY=key,
    )
    server = subprocess.Popen(
        startup_command(port),
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        response = None
        while response is None:
            assert server.poll() is None, "gunicorn exited before serving"
            assert time.monotonic() < deadline, "gunicorn did not answer within 30 s"
            try:
                response = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
            except requests.ConnectionError:
                time.sleep(0.1)  # the listener is not up yet
        assert response.status_code == 200
        body = response.json()
        assert (body["status"], body["source"], body["secretVersion"]) == ("ok", "reference", None)
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=30)
    assert "AI key loaded from the Key Vault reference" in output
    assert key not in output


def test_every_worker_reports_its_key_version_in_healthz() -> None:
    """gunicorn forks GUNICORN_WORKERS processes, each with its own cached key: /healthz (served
    by any one of them) lists all of them, so a rotation confirms every process."""
    port = free_port()
    env = clean_env(
        AZURE_AI_ENDPOINT="https://example.openai.azure.com",
        AZURE_AI_DEPLOYMENT="chat",
        AZURE_AI_API_KEY=secrets.token_hex(16),
        GUNICORN_WORKERS="3",
    )
    server = subprocess.Popen(
        startup_command(port),
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        workers: list[dict] = []
        while len(workers) < 3:
            assert server.poll() is None, "gunicorn exited before serving"
            assert time.monotonic() < deadline, f"workers reported: {workers}"
            try:
                body = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).json()
                workers = body.get("workers", [])
            except requests.ConnectionError:
                pass
            time.sleep(0.1)
        children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
        assert sorted(w["pid"] for w in workers) == sorted(int(c) for c in children)
        assert {(w["source"], w["secretVersion"]) for w in workers} == {("reference", None)}
    finally:
        server.terminate()
        server.wait(timeout=30)
