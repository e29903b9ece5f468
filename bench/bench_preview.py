"""Offline preview cost: wall time and peak memory of `preflight preview`, by number of apps.

Each run is a fresh process (imports included, as a user or CI pays them); the median of a few
runs is reported, then the marginal cost per app between the smallest and the largest stack.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.stacks import ROOT, shipped_stack, write_stack_file
from preflight.harness import load_stack_config

RUNS = 3
SIZES = (1, 10, 50, 100)
GOALS = {1: 3.0, 100: 10.0}  # seconds: dev stack under 3 s, 100 apps under 10 s
# The stacks that ship: public network mode (dev) and private network mode (prod).
SHIPPED = ("dev", "prod")


def _one_run(config: Path) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one preview process."""
    command = [
        sys.executable,
        "-m",
        "preflight",
        "preview",
        "--config",
        str(config),
        "--stack",
        config.stem.split(".", 1)[1],
    ]
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode not in (0, 1):
        raise SystemExit(f"preview failed for {config.name}: {process.stderr.read().decode()}")
    return elapsed, usage.ru_maxrss / 1024


def _median(config: Path) -> tuple[float, float]:
    runs = [_one_run(config) for _ in range(RUNS)]
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


def measure(apps: int, directory: Path) -> tuple[float, float]:
    return _median(write_stack_file(apps, directory))


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        results = {apps: measure(apps, Path(folder)) for apps in SIZES}
    print(f"   {'apps':>5} {'wall s':>8} {'peak MiB':>9}  goal")
    for apps, (wall, rss) in results.items():
        goal = (
            f"< {GOALS[apps]:.0f} s {'met' if wall < GOALS[apps] else 'MISSED'}"
            if apps in GOALS
            else ""
        )
        print(f"   {apps:>5} {wall:>8.2f} {rss:>9.0f}  {goal}")
    small, large = min(SIZES), max(SIZES)
    per_app = (results[large][0] - results[small][0]) / (large - small)
    print(
        f"   marginal cost: {per_app * 1000:.1f} ms and "
        f"{(results[large][1] - results[small][1]) / (large - small):.2f} MiB per app; "
        f"{large}-app / {small}-app wall ratio {results[large][0] / results[small][0]:.1f}x"
    )
    print(f"   {'stack':>5} {'wall s':>8} {'peak MiB':>9}  network")
    for stack in SHIPPED:
        wall, rss = _median(shipped_stack(stack))
        mode = load_stack_config(shipped_stack(stack)).get("secure-azure-ai:networkMode", "public")
        print(f"   {stack:>5} {wall:>8.2f} {rss:>9.0f}  {mode}")
