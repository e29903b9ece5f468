"""The state every emulated service shares: one lock, one clock, the tenancy, request counters.

Each service's state is a class over :class:`StateBase` (``services/*.py``); ``AzureState``
(``emulator/state.py``) combines them, so one object holds the whole world under one re-entrant
lock and the WSGI app may be driven from many threads.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import TypeVar

from emulator.errors import EmulatorError

DEFAULT_SUBSCRIPTION = "5f1c2a2e-7a43-4c4e-9a55-0c1e2d3f4a5b"
DEFAULT_TENANT = "72f988bf-0000-4000-8000-00000000e0e0"
DEFAULT_RESOURCE_GROUP = "rg-secure-ai"

T = TypeVar("T")


def arm_id(subscription: str, resource_group: str, provider: str, name: str) -> str:
    """The ARM id of resource ``name`` of type ``provider`` (e.g. ``Microsoft.Web/sites``)."""
    return (
        f"/subscriptions/{subscription}/resourceGroups/{resource_group}/providers/{provider}/{name}"
    )


class ManualClock:
    """A clock tests move by hand, so delays (accept_delay, throttle windows) need no sleeping."""

    def __init__(self, start: float | None = None) -> None:
        self._now = time.time() if start is None else start
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds``."""
        with self._lock:
            self._now += seconds


class StateBase:
    """The tenancy (tenant, subscription, default resource group), lock, clock and counters.

    Service states extend it cooperatively: each ``__init__`` takes ``**kwargs``, passes them on
    with ``super().__init__(**kwargs)`` and then adds its own tables.
    """

    def __init__(
        self,
        *,
        tenant_id: str = DEFAULT_TENANT,
        subscription: str = DEFAULT_SUBSCRIPTION,
        resource_group: str = DEFAULT_RESOURCE_GROUP,
        clock: Callable[[], float] = time.time,
        rbac: bool = True,
    ) -> None:
        self.lock = threading.RLock()
        self.tenant_id = tenant_id
        self.subscription = subscription
        self.resource_group = resource_group
        self.clock = clock
        self.rbac = rbac
        self.counters: Counter[tuple[str, str, str]] = Counter()

    def resource_id(self, provider: str, name: str, resource_group: str | None = None) -> str:
        """The ARM id of ``provider``/``name`` in this subscription (default resource group)."""
        return arm_id(self.subscription, resource_group or self.resource_group, provider, name)

    def lookup(self, table: dict[str, T], kind: str, name: str) -> T:
        """``table[name]``, or EmulatorError "<kind> <name> does not exist"."""
        with self.lock:
            if name not in table:
                raise EmulatorError(f"{kind} {name!r} does not exist")
            return table[name]

    def vacant(self, table: dict[str, object], kind: str, name: str) -> None:
        """Raise EmulatorError "<kind> <name> already exists" when ``table`` holds ``name``."""
        if name in table:
            raise EmulatorError(f"{kind} {name!r} already exists")

    def count(self, host: str, method: str, route: str) -> None:
        """Record one request (the WSGI app calls this for every request it sees)."""
        with self.lock:
            self.counters[(host.lower(), method.upper(), route)] += 1

    def requests(
        self, host: str | None = None, *, method: str | None = None, route: str | None = None
    ) -> int:
        """How many requests matched host/method/route (route: the template, e.g.
        ``"/secrets/{name}/{version}"``); None matches anything."""
        with self.lock:
            return sum(
                n
                for (h, m, r), n in self.counters.items()
                if (host is None or h == host.lower())
                and (method is None or m == method.upper())
                and (route is None or r == route)
            )

    def reset_counters(self) -> None:
        """Forget all request counts."""
        with self.lock:
            self.counters.clear()
