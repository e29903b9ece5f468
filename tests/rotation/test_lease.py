"""The secret's blob lease contended by several real processes (Azurite: the Blob service's
Lease Blob operation, where a second Acquire on a leased blob answers 409 LeaseAlreadyPresent)."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

from rotation.engine import RotationStopped
from rotation.lease import LeaseBusy, SecretLease

HOLDER = textwrap.dedent(
    """
    import json, sys, time
    from azure.storage.blob import ContainerClient
    from rotation.lease import SecretLease

    url, container, account, key, blob, out = sys.argv[1:7]
    credential = {"account_name": account, "account_key": key}
    client = ContainerClient(url, container, credential=credential)
    lease = SecretLease(client, blob, duration=15, wait=60, poll=0.02)
    with lease:
        began = time.time()
        lease.check()
        time.sleep(0.3)
        lease.check()
        ended = time.time()
    with open(out, "w") as handle:
        json.dump({"run": lease.run_id, "began": began, "ended": ended}, handle)
    """
)


def test_processes_contending_for_one_secret_hold_the_lease_one_at_a_time(storage, tmp_path):
    container = f"leases-{uuid.uuid4().hex[:8]}"
    storage.container(container)
    root = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": root}
    outs = [tmp_path / f"holder-{i}.json" for i in range(4)]
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                HOLDER,
                storage.blob_url,
                container,
                storage.account,
                storage.key,
                "kv-secure-demo/ai-api-key",
                str(out),
            ],
            env=env,
            stderr=subprocess.PIPE,
        )
        for out in outs
    ]
    for process in processes:
        _, err = process.communicate(timeout=120)
        assert process.returncode == 0, err.decode()
    holds = sorted((json.loads(o.read_text()) for o in outs), key=lambda h: h["began"])
    assert len({h["run"] for h in holds}) == 4
    for before, after in itertools.pairwise(holds):
        assert before["ended"] <= after["began"]  # never two holders at once


def test_a_lease_lost_to_another_holder_stops_the_next_write(storage):
    container = storage.container(f"leases-{uuid.uuid4().hex[:8]}")
    first = SecretLease(container, "kv/secret", duration=15, wait=0.2, poll=0.05)
    with first:
        # Another run breaks in (as after this holder paused past the lease's expiry).
        from azure.storage.blob import BlobLeaseClient

        BlobLeaseClient(container.get_blob_client("kv/secret"), lease_id=first.run_id).break_lease(
            0
        )
        taker = SecretLease(container, "kv/secret", duration=15, wait=2, poll=0.05).acquire()
        with pytest.raises(RotationStopped) as raised:
            first.check()
        assert str(raised.value).startswith(
            f"lease {container.container_name}/kv/secret lost by run {first.run_id} (HTTP 409"
        )
        taker.release()


def test_a_second_holder_waits_bounded_and_reports(storage):
    container = storage.container(f"leases-{uuid.uuid4().hex[:8]}")
    with SecretLease(container, "kv/secret", duration=15):
        second = SecretLease(container, "kv/secret", duration=15, wait=0.3, poll=0.05)
        with pytest.raises(LeaseBusy):
            second.acquire()
    with SecretLease(container, "kv/secret", duration=15, wait=0.3) as third:
        assert third.waited < 0.3
