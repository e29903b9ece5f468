"""The emulator's own control endpoints (process mode) under ``http(s)://127.0.0.1/_emulator/``:
health, request counters, fault rules and a site's environment. Neither counted nor faulted."""

from __future__ import annotations

import secrets
from typing import Any

from werkzeug.wrappers import Request, Response

from emulator.errors import EmulatorError, azure_error, body_json, json_response
from emulator.faults import FAULT_FIELDS
from emulator.routing import LOOPBACK_HOSTS, Route, Service

ADMIN_PREFIX = "/_emulator/"


class Admin(Service):
    """``admin_token``: when set, every endpoint but health needs it in ``X-Emulator-Admin``."""

    name = "admin"

    def __init__(self, state: Any, admin_token: str | None = None) -> None:
        super().__init__(state)
        self.admin_token = admin_token

    def dispatch(self, handler: str, request: Request, params: dict[str, str]) -> Any:
        if (
            handler != "health"
            and self.admin_token is not None
            and not secrets.compare_digest(
                request.headers.get("X-Emulator-Admin", ""), self.admin_token
            )
        ):
            return azure_error(401, "Unauthorized", "X-Emulator-Admin header is missing or wrong.")
        return super().dispatch(handler, request, params)

    def health(self, request: Request) -> Response:
        return json_response(200, {"status": "ok"})

    def counters(self, request: Request) -> Response:
        with self.state.lock:
            counters = [
                {"host": h, "method": m, "route": r, "count": n}
                for (h, m, r), n in sorted(self.state.counters.items())
            ]
        return json_response(200, {"counters": counters})

    def reset_counters(self, request: Request) -> Response:
        self.state.reset_counters()
        return Response(status=204)

    def faults(self, request: Request) -> Response:
        with self.state.lock:
            faults = [f.to_dict() for f in self.state.faults]
        return json_response(200, {"faults": faults})

    def clear_faults(self, request: Request) -> Response:
        self.state.clear_faults()
        return Response(status=204)

    def add_fault(self, request: Request) -> Response:
        try:
            body = body_json(request)
        except ValueError:
            return azure_error(400, "BadRequest", "The fault body is not valid JSON.")
        if not isinstance(body, dict):
            return azure_error(400, "BadRequest", "The fault body must be a JSON object.")
        for name, value in body.items():
            if name not in FAULT_FIELDS:
                return azure_error(
                    400,
                    "BadRequest",
                    f"Fault field {name!r} is unknown; use {sorted(FAULT_FIELDS)}.",
                )
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, FAULT_FIELDS[name])
            ):
                return azure_error(
                    400, "BadRequest", f"Fault field {name!r} has the wrong type: {value!r}."
                )
        try:
            fault = self.state.add_fault(**body)
        except EmulatorError as exc:
            return azure_error(400, "BadRequest", str(exc))
        return json_response(201, fault.to_dict())

    def site_environment(self, request: Request, site: str) -> Response:
        try:
            return json_response(200, self.state.site_environment(site))
        except EmulatorError as exc:
            return azure_error(404, "NotFound", str(exc))

    def unknown(self, request: Request) -> Response:
        return azure_error(404, "NotFound", f"No admin operation {request.method} {request.path}.")


_TABLE = (
    ("health", "health", None),
    ("counters", "counters", ["GET"]),
    ("counters", "reset_counters", ["DELETE"]),
    ("faults", "faults", ["GET"]),
    ("faults", "add_fault", ["POST"]),
    ("faults", "clear_faults", ["DELETE"]),
    ("sites/<site>/environment", "site_environment", ["GET"]),
    ("", "unknown", None),
    ("<path:_path>", "unknown", None),
)
ROUTES = [
    Route(
        f"{ADMIN_PREFIX}{path}",
        host=host,
        endpoint=f"admin.{handler}",
        methods=methods,
        observed=False,
    )
    for host in LOOPBACK_HOSTS
    for path, handler, methods in _TABLE
]
