"""Shared fixtures of the preflight tests."""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest


@pytest.fixture
def no_hang() -> Iterator[None]:
    """Fail, rather than hang, if preflight ever opens a FIFO for reading (open() waits for a
    writer; the alarm interrupts it)."""

    def interrupt(signum, frame):
        raise AssertionError("preflight blocked on its input")

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.alarm(20)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)
