"""policies/__main__.py as the Pulumi CLI runs it: its own folder as cwd, a gRPC analyzer server."""

from __future__ import annotations

import os
import selectors
import subprocess
import sys
from pathlib import Path

import grpc
from google.protobuf import empty_pb2
from pulumi.runtime.proto import analyzer_pb2_grpc

from policies.pack import POLICIES

PACK_DIR = Path(__file__).resolve().parents[2] / "policies"


def _first_line(process: subprocess.Popen, timeout: float) -> str:
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            raise AssertionError(f"the pack printed no port within {timeout} s")
    return process.stdout.readline().decode().strip()


def test_the_pack_serves_every_policy_when_run_from_its_own_folder() -> None:
    # No PYTHONPATH: the entry point alone must make the repository's packages importable.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    process = subprocess.Popen(
        [sys.executable, "__main__.py"],
        cwd=PACK_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        port = _first_line(process, timeout=60)
        assert port.isdigit(), (
            process.stderr.read1().decode() if process.poll() is not None else port
        )
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = analyzer_pb2_grpc.AnalyzerStub(channel)
            info = stub.GetAnalyzerInfo(empty_pb2.Empty(), timeout=30)
        assert info.name == "secure-azure-ai"
        assert [p.name for p in info.policies] == [p.name for p in POLICIES]
    finally:
        process.terminate()
        process.wait(timeout=30)
        process.stdout.close()
        process.stderr.close()
