"""The emulator's WSGI app: routes each request by host, path and method to a service.

Every request but the admin endpoints' is counted under its route's name, then meets the fault
rules, then its handler. The routing table is the union of the services' ``ROUTES``
(werkzeug ``Map(host_matching=True)``); a host or path none serves gets ``HostNotFound``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.wrappers import Request

from emulator import admin
from emulator.faults import fault_response
from emulator.routing import Router, Service, unknown_host
from emulator.services import (
    ai_inference,
    app_service,
    arm,
    arm_accounts,
    entra,
    keyvault,
    managed_identity,
)
from emulator.state import AzureState

SERVICES: tuple[type[Service], ...] = (
    keyvault.KeyVault,
    arm.Arm,
    arm_accounts.ArmAccounts,
    app_service.ArmSites,
    app_service.Sites,
    ai_inference.AiInference,
    managed_identity.ManagedIdentity,
    entra.Entra,
)
ROUTER = Router(
    [
        *keyvault.ROUTES,
        *arm.ROUTES,
        *arm_accounts.ROUTES,
        *app_service.ROUTES,
        *ai_inference.ROUTES,
        *managed_identity.ROUTES,
        *entra.ROUTES,
        *admin.ROUTES,
    ]
)

__all__ = ["ROUTER", "SERVICES", "EmulatorApp"]


class EmulatorApp:
    """WSGI app serving every emulated host from one :class:`AzureState`.

    ``admin_token``: when set, the admin endpoints under ``http(s)://127.0.0.1/_emulator/`` need
    it in the ``X-Emulator-Admin`` header (the process mode sets one).
    """

    def __init__(self, state: AzureState, *, admin_token: str | None = None) -> None:
        self.state = state
        self.admin_token = admin_token
        self.services: dict[str, Service] = {cls.name: cls(state) for cls in SERVICES}
        self.services[admin.Admin.name] = admin.Admin(state, admin_token)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable:
        request = Request(environ)
        host = request.host.rsplit(":", 1)[0].lower() if request.host else ""
        path = request.path
        route, params = ROUTER.match(host, path, request.method)
        service = self.services[route.service] if route is not None else None
        if route is not None and not route.observed:
            return service.dispatch(route.handler, request, params)(environ, start_response)
        self.state.count(host, request.method, (route and route.counted_as) or path)
        decision = self.state.decide_faults(host, request.method, path)
        if decision.latency:
            time.sleep(decision.latency)
        if decision.status is not None:
            throttled_code = (service or Service).throttled_code
            response = fault_response(
                decision.status, decision.retry_after, throttled_code=throttled_code
            )
        elif route is None:
            response = unknown_host(host)
        else:
            response = service.dispatch(route.handler, request, params)
        return response(environ, start_response)
