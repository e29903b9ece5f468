"""Azure Resource Manager's front door (``management.azure.com``), shared by the ARM services:
api-version, bearer token and audience, subscription, RBAC, then the resource group, in ARM's
order; and ARM's answer for a path no emulated operation serves."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request, Response

from emulator.base import arm_id
from emulator.errors import azure_error
from emulator.identity import IdentityState, TokenInfo, authenticate, bearer
from emulator.rbac import RbacState
from emulator.routing import Route, Service, caseless

ARM_HOST = "management.azure.com"
ARM_AUDIENCES = ("https://management.azure.com", "https://management.core.windows.net")
_CHALLENGE = {
    "WWW-Authenticate": (
        'Bearer authorization_uri="https://login.windows.net/", error="invalid_token", '
        'error_description="The authentication failed because of missing '
        "'Authorization' header.\""
    )
}
_TOKEN_REFUSALS = {
    "missing": (
        "AuthenticationFailed",
        "Authentication failed. The 'Authorization' header is missing.",
    ),
    "invalid": ("InvalidAuthenticationToken", "The access token is invalid or has expired."),
}


class ArmState(RbacState, IdentityState):
    """What the front door needs: the resource groups that hold emulated ARM resources."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._arm_tables: list[dict[str, Any]] = []

    def arm_table(self) -> dict[str, Any]:
        """A new name -> resource table of an ARM service (its resources have a
        ``resource_group``), whose resource groups the front door then knows."""
        table: dict[str, Any] = {}
        self._arm_tables.append(table)
        return table

    def resource_groups(self) -> set[str]:
        """The known resource groups, lowercased (the default one always exists)."""
        with self.lock:
            return {self.resource_group.lower()} | {
                r.resource_group.lower() for table in self._arm_tables for r in table.values()
            }


def arm_path(resource: str, suffix: str = "") -> str:
    """The rule path of an ARM resource under a subscription and resource group (caseless)."""
    return caseless(f"/subscriptions/<sub>/resourceGroups/<rg>/providers/{resource}/<name>{suffix}")


class ArmService(Service):
    """Handlers behind the front door: :meth:`_gate` before anything else."""

    def _gate(
        self, request: Request, sub: str, rg: str, action: str, resource_id: str
    ) -> Response | None:
        if not request.args.get("api-version"):
            return azure_error(
                400,
                "MissingApiVersionParameter",
                "The api-version query parameter (?api-version=) is required for all requests.",
            )
        info = authenticate(self.state, bearer(request), ARM_AUDIENCES)
        if not isinstance(info, TokenInfo):
            if info.reason in _TOKEN_REFUSALS:
                code, message = _TOKEN_REFUSALS[info.reason]
                headers = _CHALLENGE if info.reason == "missing" else None
                return azure_error(401, code, message, headers=headers)
            return azure_error(
                401,
                "InvalidAuthenticationTokenAudience",
                f"The access token has been obtained for wrong audience or resource "
                f"'{info.audience}'. It should exactly match with one of the allowed audiences "
                "'https://management.azure.com/'.",
            )
        if sub.lower() != self.state.subscription.lower():
            return azure_error(
                404, "SubscriptionNotFound", f"The subscription '{sub}' could not be found."
            )
        # ARM authorizes before it looks the resource group up, as Azure does.
        if not self.state.is_authorized(info.principal_id, action, resource_id, data=False):
            return azure_error(
                403,
                "AuthorizationFailed",
                f"The client '{info.principal_id}' with object id '{info.principal_id}' does not "
                f"have authorization to perform action '{action}' over scope '{resource_id}' or "
                "the scope is invalid. If access was recently granted, please refresh your "
                "credentials.",
            )
        if rg.lower() not in self.state.resource_groups():
            return azure_error(
                404, "ResourceGroupNotFound", f"Resource group '{rg}' could not be found."
            )
        return None

    def _resource(
        self,
        request: Request,
        table: dict[str, Any],
        provider: str,
        ids: tuple[str, str, str],
        action: str,
        method: str = "GET",
    ) -> Any:
        """The resource ``ids`` (subscription, resource group, name) names in ``table``, after
        the method check and the front door; or ARM's answer (a Response)."""
        sub, rg, name = ids
        if request.method != method:
            return self._method_not_allowed(request)
        failure = self._gate(request, sub, rg, action, arm_id(sub, rg, provider, name))
        if failure:
            return failure
        resource = table.get(name)
        if resource is None or resource.resource_group.lower() != rg.lower():
            return self._not_found(provider, name, rg)
        return resource

    @staticmethod
    def _method_not_allowed(request: Request) -> Response:
        return azure_error(
            405,
            "MethodNotAllowed",
            f"The requested resource does not support http method '{request.method}'.",
        )

    @staticmethod
    def _not_found(kind: str, name: str, rg: str) -> Response:
        return azure_error(
            404,
            "ResourceNotFound",
            f"The Resource '{kind}/{name}' under resource group '{rg}' was not found. For more "
            "details please go to https://aka.ms/ARMResourceNotFoundFix",
        )


class Arm(ArmService):
    name = "arm"

    def no_route(self, request: Request) -> Response:
        return azure_error(
            404, "InvalidResourceType", f"The emulator has no ARM operation for '{request.path}'."
        )


ROUTES = [
    Route("/", host=ARM_HOST, endpoint="arm.no_route"),
    Route("/<path:_path>", host=ARM_HOST, endpoint="arm.no_route"),
]
