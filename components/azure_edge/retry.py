"""Waiting and retrying: polling until a condition holds, and the 403 rule.

A new role assignment can take minutes to apply, so a 403 is worth retrying with backoff, up to
a deadline. A 403 from the vault's network rules (``ForbiddenByFirewall``,
``ForbiddenByConnection``) is not: waiting clears no firewall, so it fails at once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from azure.core.exceptions import AzureError

from .errors import (
    NETWORK_DENIALS,
    EdgeError,
    error_code_of,
    failed,
    inner_error_code_of,
    status_of,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

_MAX_BACKOFF_SECONDS = 30.0
NETWORK_HINT = (
    "the vault's network rules turn this machine away: allow its address in the vault's "
    "firewall, or call from a network that reaches the vault's private endpoint"
)


@dataclass
class Waiter:
    """Polls a condition until it holds or `timeout` seconds pass (interval doubling to `cap`)."""

    timeout: float = 120.0
    interval: float = 1.0
    cap: float = 10.0
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep

    def until(self, check: Callable[[], T | None]) -> T | None:
        """The first non-None result of `check`, or None when time runs out."""
        deadline = self.clock() + self.timeout
        pause = self.interval
        while True:
            result = check()
            if result is not None:
                return result
            if self.clock() >= deadline:
                return None
            self.sleep(min(pause, max(0.0, deadline - self.clock())))
            pause = min(pause * 2, self.cap)


def backoff_seconds(attempt: int) -> float:
    """2, 4, 8, 16, 30, 30, ... seconds: RBAC assignments take seconds to minutes to apply."""
    return min(2.0 * 2**attempt, _MAX_BACKOFF_SECONDS)


def retry_while_forbidden(
    call: Callable[[], T],
    *,
    what: str,
    hint: str,
    deadline_seconds: float,
    clock: Callable[[], datetime],
    sleep: Callable[[float], None],
    network_hint: str = NETWORK_HINT,
) -> T:
    """``call()``, repeated with backoff while it answers 403, up to the deadline; then one line.

    A 403 from the vault's firewall is reported at once: waiting only helps a role assignment.
    """
    started = clock()
    attempt = 0
    while True:
        try:
            return call()
        except Exception as error:
            if status_of(error) != 403:
                raise
            denial = inner_error_code_of(error)
            if denial in NETWORK_DENIALS:
                raise EdgeError(
                    f"{what} answers 403 Forbidden ({denial}): {network_hint}"
                ) from None
            waited = (clock() - started).total_seconds()
            pause = min(backoff_seconds(attempt), max(deadline_seconds - waited, 0.0))
            if pause <= 0:
                raise EdgeError(
                    f"{what} still answers 403 Forbidden ({error_code_of(error)}) after "
                    f"{waited:.0f} s: {hint}"
                ) from None
            log.info("%s answered 403; retrying in %.0f s (attempt %d)", what, pause, attempt + 1)
            sleep(pause)
            attempt += 1


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Patience:
    """How long calls keep trying while they answer 403, and what to say when they give up.

    `hint`: the role the caller needs (said when the deadline passes); `network_hint`: what to
    do when the vault's firewall turns the caller away.
    """

    deadline_seconds: float
    hint: str
    network_hint: str = NETWORK_HINT
    clock: Callable[[], datetime] = _now
    sleep: Callable[[float], None] = time.sleep


def run(
    what: str,
    call: Callable[[], T],
    *,
    patience: Patience | None = None,
    passthrough: Collection[int] = (),
    rule: str = "",
) -> T:
    """``call()`` with every Azure failure as one EdgeError naming `what` (and `rule`, the
    condition the caller must meet).

    With `patience`, 403s are retried (the firewall-403 rule holds). Statuses in `passthrough`
    reach the caller as the SDK's own exception, for the answers it handles itself.
    """
    try:
        if patience is None:
            return call()
        return retry_while_forbidden(
            call,
            what=what,
            hint=patience.hint,
            deadline_seconds=patience.deadline_seconds,
            clock=patience.clock,
            sleep=patience.sleep,
            network_hint=patience.network_hint,
        )
    except AzureError as error:
        if status_of(error) in passthrough:
            raise
        raise failed(what, error, rule) from None
