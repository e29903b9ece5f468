"""Detection quality and speed on the labelled app-settings corpus, against detect-secrets.

Both see every row as the same app setting. Our engine gets ``find_secrets(value,
setting_name=name)``. detect-secrets gets each line of ``NAME=value`` (the .env form, so its keyword
plugin sees the name) through ``detect_secrets.core.scan.scan_line`` under ``default_settings()``:
its documented in-process entry point, all default plugins and filters. A row counts as flagged
when any finding is reported. Speed is values per second of CPU time (process time, so other work
on a shared machine does not count) over the whole corpus: the best of five interleaved runs per
engine, after a warm-up pass that also measures precision and recall.

gitleaks is not measured: no registry this project installs from (PyPI, npm, Debian 12) ships the
gitleaks binary (the npm and PyPI packages of that name are unrelated or download it at install
time). The file scanner's own line measures a generated file of several megabytes: megabytes per
second and the peak Python memory of the scan, which stays near the window size, not the file's.
"""

from __future__ import annotations

import secrets
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

from bench.corpus import Sample, corpus
from policies.detection import find_secrets
from preflight import scan

PER_CASE = 40
REPEATS = 5
REFERENCE = "detect-secrets 1.5.0"
SCAN_MB = 16  # size of the generated file the scanner reads


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


def _quality(detector: Callable[[Sample], bool], rows: list[Sample]) -> tuple[float, float]:
    verdicts = [detector(row) for row in rows]
    tp = sum(v and r.label for v, r in zip(verdicts, rows, strict=True))
    fp = sum(v and not r.label for v, r in zip(verdicts, rows, strict=True))
    fn = sum(not v and r.label for v, r in zip(verdicts, rows, strict=True))
    return (tp / (tp + fp) if tp + fp else 1.0), (tp / (tp + fn) if tp + fn else 1.0)


def _seconds(detector: Callable[[Sample], bool], rows: list[Sample]) -> float:
    started = time.process_time()
    for row in rows:
        detector(row)
    return time.process_time() - started


def main() -> None:
    """Print precision, recall and throughput for both engines, and the ratios."""
    from detect_secrets.settings import default_settings

    rows = corpus(per_case=PER_CASE)
    positives = sum(r.label for r in rows)
    print(
        f"   corpus: {len(rows)} values ({positives} with a credential, "
        f"{len(rows) - positives} without)"
    )
    with default_settings():
        detectors = {"find_secrets": _ours, REFERENCE: _detect_secrets()}
        quality = {name: _quality(d, rows) for name, d in detectors.items()}
        best = dict.fromkeys(detectors, float("inf"))
        for _ in range(REPEATS):
            for name, detector in detectors.items():
                best[name] = min(best[name], _seconds(detector, rows))
    speed = {name: len(rows) / seconds for name, seconds in best.items()}
    print(f"   {'engine':<22}{'precision':>10}{'recall':>10}{'values/s':>12}")
    for name in detectors:
        (p, r), s = quality[name], speed[name]
        print(f"   {name:<22}{p:>10.3f}{r:>10.3f}{s:>12,.0f}")
    (op, orc), (rp, rr) = quality["find_secrets"], quality[REFERENCE]
    print(
        f"   ratio (ours / {REFERENCE}): precision {op / rp:.2f}x, recall {orc / rr:.2f}x, "
        f"throughput {speed['find_secrets'] / speed[REFERENCE]:.1f}x"
    )
    print("   gitleaks: not measured (no registry reachable here ships its binary)")
    _scanner()


def _scanner() -> None:
    """The file scanner on one large generated file: half of it one long line (windows), half
    short lines, a key at the end of each half."""
    keys = [secrets.token_hex(16) for _ in range(2)]
    half = SCAN_MB * 1024 * 1024 // 2
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder, "large.txt")
        with path.open("w") as handle:
            handle.write(("model=gpt-4o;region=swedencentral;" * (half // 36))[:half])
            handle.write(f" api_key={keys[0]}\n")
            line = "setting = a value that is not a credential at all\n"
            handle.write(line * (half // len(line)))
            handle.write(f"API_KEY={keys[1]}\n")
        size = path.stat().st_size
        started = time.process_time()
        findings, _ = scan.scan_file(str(path))
        seconds = time.process_time() - started
        tracemalloc.start()  # a second pass: tracing slows the scan, so it is timed without
        scan.scan_file(str(path))
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    found = sorted(f.masked for f in findings)
    assert found == sorted(f.masked for k in keys for f in find_secrets(k)), found
    print(
        f"   scan of a {size / 1e6:.0f} MB file (one {half / 1e6:.0f} MB line, then short lines): "
        f"{size / 1e6 / seconds:.1f} MB/s, peak memory {peak / 1e6:.1f} MB, both keys found"
    )


if __name__ == "__main__":
    main()
