"""Declarative routing: each service lists its (host, path, method) rules; one werkzeug
``Map(host_matching=True)`` finds the handler and the name its requests are counted under."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from typing import Any, ClassVar

from werkzeug.exceptions import HTTPException
from werkzeug.routing import BaseConverter, Map, Rule
from werkzeug.wrappers import Request, Response

from emulator.errors import azure_error

LOOPBACK_HOSTS = ("localhost", "127.0.0.1")


class HostLabelConverter(BaseConverter):
    """One DNS label of a host name (``<label:vault>.vault.azure.net``)."""

    regex = r"[^./]+"
    part_isolating = True


class CaselessConverter(BaseConverter):
    """A fixed path segment matched without regard to case (ARM and IIS paths are caseless)."""

    part_isolating = True

    def __init__(self, url_map: Map, literal: str) -> None:
        super().__init__(url_map)
        self.regex = f"(?i:{re.escape(literal)})"


def caseless(path: str) -> str:
    """``path`` with each fixed segment matched regardless of case (``<...>`` ones unchanged)."""
    segments = path.split("/")
    return "/".join(
        segment if not segment or segment.startswith("<") else f'<caseless("{segment}"):_{i}>'
        for i, segment in enumerate(segments)
    )


class Route(Rule):
    """A rule whose endpoint is ``"<service>.<handler>"``.

    ``counted_as``: the name the request counters record it under (None: the request's path);
    ``observed=False`` (the admin endpoints): neither counted nor subject to fault rules.
    """

    def __init__(
        self, string: str, *, counted_as: str | None = None, observed: bool = True, **kwargs: Any
    ) -> None:
        super().__init__(string, **kwargs)
        self.counted_as = counted_as
        self.observed = observed

    @property
    def service(self) -> str:
        return str(self.endpoint).partition(".")[0]

    @property
    def handler(self) -> str:
        return str(self.endpoint).partition(".")[2]

    def get_empty_kwargs(self) -> dict[str, Any]:
        return {
            **super().get_empty_kwargs(),
            "counted_as": self.counted_as,
            "observed": self.observed,
        }


class Service:
    """One emulated service's request handlers over the shared state.

    Handlers take the request and the rule's parameters and return a WSGI app (a Response).
    """

    name: ClassVar[str]
    # The error code the service answers 429 with when a fault rule throttles it.
    throttled_code: ClassVar[str] = "TooManyRequests"

    def __init__(self, state: Any) -> None:
        self.state = state

    def dispatch(self, handler: str, request: Request, params: dict[str, str]) -> Any:
        return getattr(self, handler)(request, **params)


class Router:
    """The routing table of every service; :meth:`match` gives a request's rule and parameters."""

    def __init__(self, routes: Iterable[Route]) -> None:
        self.map = Map(
            list(routes),
            host_matching=True,
            strict_slashes=False,
            merge_slashes=False,
            redirect_defaults=False,
            converters={"label": HostLabelConverter, "caseless": CaselessConverter},
        )
        # The table never changes, so a request line seen before skips werkzeug's matcher.
        self._cached_match = functools.lru_cache(maxsize=4096)(self._match)

    def match(self, host: str, path: str, method: str) -> tuple[Route | None, dict[str, str]]:
        """The rule for ``method`` ``host`` ``path`` and its parameters, or (None, {}) when no
        rule serves the host and path."""
        rule, params = self._cached_match(host, path, method)
        return rule, dict(params)

    def _match(
        self, host: str, path: str, method: str
    ) -> tuple[Route | None, tuple[tuple[str, str], ...]]:
        try:
            rule, params = self.map.bind(host).match(path, method, return_rule=True)
        except HTTPException:  # NotFound; no rule here restricts methods without a fallback
            return None, ()
        assert isinstance(rule, Route)
        return rule, tuple((k, v) for k, v in params.items() if not k.startswith("_"))


def unknown_host(host: str) -> Response:
    """The answer for a host (or a path of a host) no emulated service serves."""
    return azure_error(404, "HostNotFound", f"The emulator serves no host named '{host}'.")
