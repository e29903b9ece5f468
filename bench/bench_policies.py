"""Time to evaluate the whole policy pack on the 100-app stack (median of a few runs).

Reference: the same evaluation through pulumi-policy's public ``validate`` API (the fallback
path), and the secret-scanning policy alone (the costliest one) for scale.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

RUNS = 5


def _median_seconds(action: Callable[[], Any]) -> float:
    timings = []
    for _ in range(RUNS):
        started = time.perf_counter()
        action()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def main() -> None:
    from pulumi_policy import policy as policy_sdk

    from bench.stacks import ROOT, hundred_app_config
    from policies.pack import POLICIES
    from preflight.evaluate import evaluate
    from preflight.harness import run_program

    plan = run_program(ROOT, hundred_app_config())
    count = len(plan.resources)
    servicer = _median_seconds(lambda: evaluate(plan))
    violations = evaluate(plan)

    only_secrets = {p.name: "disabled" for p in POLICIES if p.name != "no-hardcoded-secrets"}
    secrets_only = _median_seconds(lambda: evaluate(plan, policy_config=only_secrets))

    private = policy_sdk._PolicyAnalyzerServicer
    del policy_sdk._PolicyAnalyzerServicer
    try:
        public = _median_seconds(lambda: evaluate(plan))
    finally:
        policy_sdk._PolicyAnalyzerServicer = private

    print(f"   stack: {count} resources, {len(POLICIES)} policies, {len(violations)} violations")
    print(f"   engine path (servicer):  {servicer * 1000:8.1f} ms  {count / servicer:8.0f} res/s")
    print(f"   public validate() path:  {public * 1000:8.1f} ms  {count / public:8.0f} res/s")
    print(f"   ratio servicer/public:   {servicer / public:8.2f}")
    print(
        f"   no-hardcoded-secrets only: {secrets_only * 1000:6.1f} ms "
        f"({secrets_only / servicer:.0%} of the whole pack)"
    )
    print(f"   (median of {RUNS} runs each)")
