"""Rotations under load with faults: the drill at 16 and 64 concurrent clients, in memory, and
the hosted drill (Function handlers, Azurite lease and queue) at 16.

Faults: Key Vault and ARM throttled (429 with Retry-After past a rate), every k-th request
answering 503, added latency, and a new key accepted only after a delay. Figures: requests,
failed (goal 0), Key Vault reads by the apps per rotation per process (goal <= 2), rotation
time, and for the hosted drill the deliveries and runs it saw. The SDK app runs on 2 instances
of 2 workers, each its own key client.
"""

from __future__ import annotations

import logging
from typing import Any

from drill.hosted import drill as hosted_drill
from drill.rehearsal import Faults, drill_local

ROTATIONS = 4
FAULTS = Faults(
    kv_throttle=20, arm_throttle=20, kv_5xx=11, arm_5xx=7, latency_ms=5.0, accept_delay=0.4
)


def _line(label: str, report: dict[str, Any]) -> None:
    seconds = report["rotationSeconds"]
    print(
        f"   {label:<22} requests {report['requests']:>6}, failed {report['failed']} (goal 0); "
        f"rotations {report['rotations']}; Key Vault reads per rotation per process "
        f"{report['kvReadsPerRotationPerProcess']} (goal <= 2); rotation mean {seconds['mean']} s,"
        f" max {seconds['max']} s; p99 {report['p99Ms']} ms"
    )
    if report.get("stopped"):
        print(f"   {'':<22} stopped: {report['stopped']}")


def main() -> None:
    logging.disable(logging.WARNING)
    try:
        print(f"   faults: {FAULTS.describe()}")
        # Each SDK process reads Key Vault when a confirmation asks it for the new version (once
        # per rotation), or single-flight after a 401; nothing on a timer while nothing is asked.
        print("   the SDK app reads Key Vault when the rotation asks for a version, or after a 401")
        for clients in (16, 64):
            report = drill_local(ROTATIONS, clients, faults=FAULTS)
            _line(f"drill, {clients} clients", report)
            print(f"   {'':<22} fault hits {report['faults']['hits']}")
        hosted = hosted_drill(ROTATIONS, 16, faults=FAULTS)
        _line("hosted drill, 16", hosted)
        print(
            f"   {'':<22} due {hosted['due']}, regenerations {hosted['regenerations']}, "
            f"deliveries {hosted['deliveries']}, runs {hosted['runs']}, ok {hosted['ok']}"
        )
    finally:
        logging.disable(logging.NOTSET)
