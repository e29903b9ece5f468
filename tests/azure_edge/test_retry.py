"""Polling until a condition holds, and the 403 rule outside any service."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from azure.core.exceptions import HttpResponseError, ODataV4Format

from azure_edge.errors import EdgeError
from azure_edge.retry import Waiter, backoff_seconds, retry_while_forbidden, run


def _status_error(status: int, inner: str | None = None) -> HttpResponseError:
    error = HttpResponseError(message=f"status {status}")
    error.status_code = status
    if inner:
        error.error = ODataV4Format({"code": "Forbidden", "innererror": {"code": inner}})
    return error


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_waiter_returns_the_first_answer_and_doubles_its_pause_up_to_the_cap():
    clock = Clock()
    answers = iter([None, None, None, None, "ok"])
    waiter = Waiter(timeout=100, interval=1, cap=3, clock=clock, sleep=clock.sleep)
    assert waiter.until(lambda: next(answers)) == "ok"
    assert clock.sleeps == [1, 2, 3, 3]


def test_waiter_gives_up_at_the_timeout_without_sleeping_past_it():
    clock = Clock()
    waiter = Waiter(timeout=5, interval=2, cap=10, clock=clock, sleep=clock.sleep)
    assert waiter.until(lambda: None) is None
    assert clock.sleeps == [2, 3]


def test_backoff_doubles_from_two_seconds_to_thirty():
    assert [backoff_seconds(n) for n in range(6)] == [2, 4, 8, 16, 30, 30]


def test_only_403s_are_retried():
    now = [datetime(2027, 1, 1, tzinfo=UTC)]
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += timedelta(seconds=seconds)

    answers: list[object] = [_status_error(403), _status_error(403), "done"]

    def call() -> object:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    result = retry_while_forbidden(
        call, what="w", hint="h", deadline_seconds=60, clock=lambda: now[0], sleep=sleep
    )
    assert (result, sleeps) == ("done", [2, 4])
    with pytest.raises(HttpResponseError):
        retry_while_forbidden(
            lambda: (_ for _ in ()).throw(_status_error(500)),
            what="w",
            hint="h",
            deadline_seconds=60,
            clock=lambda: now[0],
            sleep=sleep,
        )
    assert sleeps == [2, 4]


def test_the_caller_may_say_what_to_do_about_its_network():
    with pytest.raises(EdgeError) as raised:
        retry_while_forbidden(
            lambda: (_ for _ in ()).throw(_status_error(403, "ForbiddenByConnection")),
            what="Key Vault k (set secret s)",
            hint="h",
            deadline_seconds=60,
            clock=lambda: datetime(2027, 1, 1, tzinfo=UTC),
            sleep=lambda s: None,
            network_hint="add this machine to allowedIpRanges",
        )
    assert str(raised.value) == (
        "Key Vault k (set secret s) answers 403 Forbidden (ForbiddenByConnection): add this "
        "machine to allowedIpRanges"
    )


def test_run_makes_one_attempt_without_patience_and_passes_chosen_statuses_through():
    calls: list[int] = []

    def refused() -> None:
        calls.append(1)
        raise _status_error(403)

    with pytest.raises(EdgeError) as raised:
        run("ARM read of account a (resource group g)", refused, rule="the rule is a role")
    assert calls == [1]
    assert str(raised.value) == (
        "ARM read of account a (resource group g) failed: HTTP 403 no code; the rule is a role"
    )
    with pytest.raises(HttpResponseError):
        run("w", lambda: (_ for _ in ()).throw(_status_error(404)), passthrough=(404,))
