"""Detection quality and speed on the labelled app-settings corpus: our engine against detect-secrets.

Both see every row as the same app setting. Our engine gets ``find_secrets(value,
setting_name=name)``. detect-secrets gets each line of ``NAME=value`` (the .env form, so its keyword
plugin sees the name) through ``detect_secrets.core.scan.scan_line`` under ``default_settings()``:
its documented in-process entry point, all default plugins and filters. A row counts as flagged
when any finding is reported. Speed is values per second over the whole corpus, the best of three
runs for each engine.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from policies.detection import find_secrets
from tests.policies.corpus import Sample, corpus

PER_CASE = 40
REPEATS = 3  # best of: the first run of each also warms caches


def _ours(sample: Sample) -> bool:
    return bool(find_secrets(sample.value, setting_name=sample.name))


def _detect_secrets() -> Callable[[Sample], bool]:
    from detect_secrets.core.scan import scan_line

    def flagged(sample: Sample) -> bool:
        return any(
            any(True for _ in scan_line(f"{sample.name}={line}"))
            for line in sample.value.splitlines() or [""]
        )

    return flagged


def _measure(detector: Callable[[Sample], bool], rows: list[Sample], repeats: int) -> tuple:
    best = float("inf")
    verdicts: list[bool] = []
    for _ in range(repeats):
        started = time.perf_counter()
        verdicts = [detector(row) for row in rows]
        best = min(best, time.perf_counter() - started)
    tp = sum(v and r.label for v, r in zip(verdicts, rows, strict=True))
    fp = sum(v and not r.label for v, r in zip(verdicts, rows, strict=True))
    fn = sum(not v and r.label for v, r in zip(verdicts, rows, strict=True))
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return precision, recall, len(rows) / best


def main() -> None:
    """Print precision, recall and throughput for both engines, and the ratios."""
    from detect_secrets.settings import default_settings

    rows = corpus(per_case=PER_CASE)
    positives = sum(r.label for r in rows)
    print(f"   corpus: {len(rows)} values ({positives} with a credential, {len(rows) - positives} without)")
    ours = _measure(_ours, rows, repeats=REPEATS)
    with default_settings():
        theirs = _measure(_detect_secrets(), rows, repeats=REPEATS)
    print(f"   {'engine':<22}{'precision':>10}{'recall':>10}{'values/s':>12}")
    for name, (p, r, speed) in (("find_secrets", ours), ("detect-secrets 1.5.0", theirs)):
        print(f"   {name:<22}{p:>10.3f}{r:>10.3f}{speed:>12,.0f}")
    print(
        f"   ratio (ours / detect-secrets): precision {ours[0] / theirs[0]:.2f}x, "
        f"recall {ours[1] / theirs[1]:.2f}x, throughput {ours[2] / theirs[2]:.1f}x"
    )


if __name__ == "__main__":
    main()
