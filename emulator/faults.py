"""Fault injection shared by every emulated host: error statuses, throttling and latency."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from werkzeug.wrappers import Response

from emulator.base import StateBase
from emulator.errors import EmulatorError, azure_error


@dataclass
class Fault:
    """A fault rule: requests matching host/method/path get a status, a delay or throttling.

    ``status`` answers matching requests with that error (only every ``every``-th matching
    request when ``every`` is set); ``throttle_limit`` answers 429 (with Retry-After) to requests
    beyond that many per ``throttle_window`` seconds; ``latency`` delays matching requests.
    ``hits`` counts the requests the rule acted on; after ``times`` of them (None: never) the rule
    is removed. The first status-giving rule wins.
    """

    id: int
    host: str | None
    method: str | None
    path: str | None
    status: int | None
    times: int | None
    retry_after: float | None
    latency: float
    throttle_limit: int | None
    throttle_window: float
    every: int | None = None
    hits: int = 0
    seen: int = 0
    window_start: float = 0.0
    window_count: int = 0

    def matches(self, host: str, method: str, path: str) -> bool:
        if self.host is not None and self.host.lower() != host.lower():
            return False
        if self.method is not None and self.method.upper() != method.upper():
            return False
        return self.path is None or re.search(self.path, path) is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "host": self.host,
            "method": self.method,
            "path": self.path,
            "status": self.status,
            "times": self.times,
            "retry_after": self.retry_after,
            "latency": self.latency,
            "throttle_limit": self.throttle_limit,
            "throttle_window": self.throttle_window,
            "every": self.every,
            "hits": self.hits,
        }


@dataclass
class FaultDecision:
    """What the fault rules decided for one request (status None: let it through)."""

    status: int | None = None
    retry_after: float | None = None
    latency: float = 0.0


# The fields of add_fault and the JSON types the admin endpoint accepts for each.
FAULT_FIELDS: dict[str, type | tuple[type, ...]] = {
    "host": str,
    "method": str,
    "path": str,
    "status": int,
    "times": int,
    "retry_after": (int, float),
    "latency": (int, float),
    "throttle_limit": int,
    "throttle_window": (int, float),
    "every": int,
}


class FaultState(StateBase):
    """The fault rules, checked in the order added."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.faults: list[Fault] = []
        self._fault_ids = 0

    def add_fault(
        self,
        *,
        host: str | None = None,
        method: str | None = None,
        path: str | None = None,
        status: int | None = None,
        times: int | None = None,
        retry_after: float | None = None,
        latency: float = 0.0,
        throttle_limit: int | None = None,
        throttle_window: float = 10.0,
        every: int | None = None,
    ) -> Fault:
        """Add a fault rule (see :class:`Fault`); rules are checked in the order added."""
        if every is not None and (every < 1 or status is None):
            raise EmulatorError(f"fault every {every!r} must be >= 1 and go with a status")
        if status is not None and not 400 <= status <= 599:
            raise EmulatorError(f"fault status {status!r} must be an HTTP error status 400-599")
        if times is not None and times < 1:
            raise EmulatorError(f"fault times {times!r} must be >= 1 (or None for always)")
        if latency < 0 or (retry_after is not None and retry_after < 0):
            raise EmulatorError("fault latency and retry_after must be >= 0 seconds")
        if throttle_limit is not None and (throttle_limit < 0 or throttle_window <= 0):
            raise EmulatorError("fault throttle_limit must be >= 0 and throttle_window > 0")
        if status is not None and throttle_limit is not None:
            raise EmulatorError("fault takes a status or a throttle_limit (429), not both")
        if status is None and throttle_limit is None and latency == 0:
            raise EmulatorError("fault needs a status, a latency or a throttle_limit")
        if path is not None:
            try:
                re.compile(path)
            except re.error as exc:
                raise EmulatorError(f"fault path {path!r} is not a valid regex: {exc}") from None
        with self.lock:
            self._fault_ids += 1
            fault = Fault(
                id=self._fault_ids,
                host=host,
                method=method,
                path=path,
                status=status,
                times=times,
                retry_after=retry_after,
                latency=latency,
                throttle_limit=throttle_limit,
                throttle_window=throttle_window,
                every=every,
            )
            self.faults.append(fault)
            return fault

    def clear_faults(self) -> None:
        """Remove every fault rule."""
        with self.lock:
            self.faults.clear()

    def decide_faults(self, host: str, method: str, path: str) -> FaultDecision:
        """Apply the fault rules to one request (consumes ``times`` and throttle budget)."""
        decision = FaultDecision()
        with self.lock:
            now = self.clock()
            for fault in list(self.faults):
                if not fault.matches(host, method, path):
                    continue
                acted = False
                if fault.latency:
                    decision.latency += fault.latency
                    acted = True
                if decision.status is None and fault.throttle_limit is not None:
                    if now - fault.window_start >= fault.throttle_window:
                        fault.window_start, fault.window_count = now, 0
                    fault.window_count += 1
                    if fault.window_count > fault.throttle_limit:
                        decision.status = 429
                        remaining = fault.window_start + fault.throttle_window - now
                        decision.retry_after = max(1.0, remaining)
                        acted = True
                elif decision.status is None and fault.status is not None:
                    fault.seen += 1
                    if fault.every is None or fault.seen % fault.every == 0:
                        decision.status = fault.status
                        decision.retry_after = fault.retry_after
                        acted = True
                if acted:
                    fault.hits += 1
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times == 0:
                            self.faults.remove(fault)
        return decision


def fault_response(
    status: int, retry_after: float | None, *, throttled_code: str = "TooManyRequests"
) -> Response:
    """The answer to a request a fault rule stopped (``throttled_code``: the service's 429 code)."""
    headers = {}
    if retry_after is not None:
        headers["Retry-After"] = str(max(0, round(retry_after)))
    if status == 429:
        code = throttled_code
        message = "Request was not processed because too many requests were received."
    else:
        code = {500: "InternalServerError", 502: "BadGateway", 503: "ServiceUnavailable"}.get(
            status, f"Http{status}"
        )
        message = f"Injected fault: HTTP {status}."
    return azure_error(status, code, message, headers=headers)
