"""The seed document's own client, unmodified, against `python -m emulator`; Azure OpenAI's
streaming and api-version behaviour; no private key left behind by a killed emulator."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import requests

from emulator import run_process

# The seed's client as its document gives it: DefaultAzureCredential, SecretClient, then
# requests.post to the completions endpoint with api-version 2023-05-15. Only the environment
# differs (the emulator's proxy, CA and App Service identity endpoint).
SEED_CLIENT = textwrap.dedent(
    """
    import os
    import requests
    from azure.identity import DefaultAzureCredential
    from azure.keyvault.secrets import SecretClient

    credential = DefaultAzureCredential()
    client = SecretClient(vault_url=os.environ["KEY_VAULT_URI"], credential=credential)
    api_key = client.get_secret(os.environ["SECRET_NAME"]).value

    endpoint = os.environ["AZURE_OPENAI_ENDPOINT"]
    deployment = os.environ["DEPLOYMENT_NAME"]
    response = requests.post(
        f"{endpoint}/openai/deployments/{deployment}/completions?api-version=2023-05-15",
        headers={"api-key": api_key, "Content-Type": "application/json"},
        json={"prompt": "Say hello", "max_tokens": 50},
    )
    response.raise_for_status()
    print(response.json()["choices"][0]["text"])
    """
)


def test_the_seed_client_runs_unmodified_against_python_m_emulator(tmp_path):
    script = tmp_path / "seed_client.py"
    script.write_text(SEED_CLIENT)
    with run_process() as proc:
        env = {
            **os.environ,
            **proc.env,
            "KEY_VAULT_URI": proc.env["EMULATOR_VAULT_URL"],
            "SECRET_NAME": proc.env["EMULATOR_SECRET"],
            "AZURE_OPENAI_ENDPOINT": proc.env["EMULATOR_ENDPOINT"].rstrip("/"),
            "DEPLOYMENT_NAME": proc.env["EMULATOR_DEPLOYMENT"],
        }
        for name in ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET"):
            env.pop(name, None)
        done = subprocess.run(
            [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=120
        )
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"Emulated reply from {proc.env['EMULATOR_DEPLOYMENT']}.\n"


def _post(proc, key, path, body, api_version):
    return requests.post(
        f"{proc.env['EMULATOR_ENDPOINT']}openai/deployments/{proc.env['EMULATOR_DEPLOYMENT']}/"
        f"{path}",
        params={} if api_version is None else {"api-version": api_version},
        headers={"api-key": key},
        json=body,
        proxies=proc.proxies,
        verify=proc.ca_path,
        stream=True,
        timeout=30,
    )


def _key(proc):
    from azure.identity import ManagedIdentityCredential
    from azure.mgmt.cognitiveservices import CognitiveServicesManagementClient

    tls = {"connection_verify": proc.ca_path, "proxies": proc.proxies}
    os.environ["IDENTITY_ENDPOINT"] = proc.env["IDENTITY_ENDPOINT"]
    os.environ["IDENTITY_HEADER"] = proc.env["IDENTITY_HEADER"]
    try:
        rotator = ManagedIdentityCredential(client_id=proc.env["EMULATOR_ROTATOR_CLIENT_ID"], **tls)
        arm = CognitiveServicesManagementClient(rotator, proc.env["EMULATOR_SUBSCRIPTION"], **tls)
        return arm.accounts.list_keys(
            proc.env["EMULATOR_RESOURCE_GROUP"], proc.env["EMULATOR_ACCOUNT"]
        ).key1
    finally:
        del os.environ["IDENTITY_ENDPOINT"], os.environ["IDENTITY_HEADER"]


def test_streaming_and_api_versions_answer_as_azure_does():
    with run_process() as proc:
        key = _key(proc)
        body = {"messages": [{"role": "user", "content": "hi"}], "stream": True}
        streamed = _post(proc, key, "chat/completions", body, "2024-10-21")
        assert streamed.status_code == 200
        assert streamed.headers["Content-Type"] == "text/event-stream; charset=utf-8"
        lines = [line for line in streamed.iter_lines(decode_unicode=True) if line]
        assert lines[-1] == "data: [DONE]"
        chunks = [json.loads(line.removeprefix("data: ")) for line in lines[:-1]]
        assert all(line.startswith("data: ") for line in lines)
        assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
        assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
        text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
        assert text == f"Emulated reply from {proc.env['EMULATOR_DEPLOYMENT']}."
        assert [c["choices"][0]["finish_reason"] for c in chunks][-1] == "stop"

        unserved = _post(proc, key, "chat/completions", body, "2031-01-01")
        assert (unserved.status_code, unserved.json()) == (
            400,
            {"error": {"code": "BadRequest", "message": "API version not supported"}},
        )
        missing = _post(proc, key, "completions", {"prompt": "x"}, None)
        assert (missing.status_code, missing.json()) == (
            404,
            {"error": {"code": "404", "message": "Resource not found"}},
        )


def test_a_killed_emulator_leaves_no_private_key_behind(tmp_path):
    cert_dir = tmp_path / "certs"
    root = str(Path(__file__).resolve().parents[2])
    process = subprocess.Popen(
        [sys.executable, "-m", "emulator", "--format", "json", "--cert-dir", str(cert_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": root},
        text=True,
    )
    try:
        ready = json.loads(process.stdout.readline())
        assert Path(ready["env"]["REQUESTS_CA_BUNDLE"]).parent == cert_dir
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
        process.stdout.close()
        process.stderr.close()
    left = {p.name: p.read_bytes() for p in cert_dir.iterdir()}
    assert sorted(left) == ["emulator-ca.pem", "emulator-server.pem"]  # public certificates
    assert not any(b"PRIVATE KEY" in content for content in left.values())
