"""Azure RBAC: built-in roles, role assignments (grants) and the check every service makes."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from emulator.base import StateBase
from emulator.errors import EmulatorError

# Data-plane and control-plane permissions of the built-in roles the project uses (Azure's own
# action names, trimmed to what the emulated operations check).
_KV = "Microsoft.KeyVault/vaults/secrets"
_CS = "Microsoft.CognitiveServices"
BUILTIN_ROLES: dict[str, dict[str, Any]] = {
    "Key Vault Secrets User": {
        "id": "4633458b-17de-408a-b874-0445c86b69e6",
        "actions": [],
        "data_actions": [f"{_KV}/getSecret/action", f"{_KV}/readMetadata/action"],
    },
    "Key Vault Secrets Officer": {
        "id": "b86a8fe4-44ce-4948-aee5-eccb2c155cd7",
        "actions": ["Microsoft.KeyVault/vaults/*/read"],
        "data_actions": [f"{_KV}/*"],
    },
    "Key Vault Administrator": {
        "id": "00482a5a-887f-4fb3-b363-3b7fe8e74483",
        "actions": ["Microsoft.KeyVault/vaults/*/read"],
        "data_actions": ["Microsoft.KeyVault/vaults/*"],
    },
    "Key Vault Reader": {
        "id": "21090545-7ca7-4776-b22c-e363652d74d2",
        "actions": ["Microsoft.KeyVault/vaults/*/read"],
        "data_actions": [f"{_KV}/readMetadata/action"],
    },
    "Cognitive Services User": {
        "id": "a97b65f3-24c7-4388-baec-2e87135dc908",
        "actions": [f"{_CS}/*/read", f"{_CS}/accounts/listkeys/action"],
        "data_actions": [f"{_CS}/*"],
    },
    "Cognitive Services OpenAI User": {
        "id": "5e0bd9bd-7b93-4f28-af87-19fc36ad61bd",
        "actions": [f"{_CS}/*/read"],
        "data_actions": [f"{_CS}/accounts/OpenAI/*"],
    },
    "Cognitive Services Contributor": {
        "id": "25fbc0a9-bd7c-42a3-aa1a-3b75d497ee68",
        "actions": [f"{_CS}/*"],
        "data_actions": [],
    },
    "Owner": {"id": "8e3af657-a8ff-443c-a75c-2fe8c4bcb635", "actions": ["*"], "data_actions": []},
    "Contributor": {
        "id": "b24988ac-6180-42a0-ab88-20f7382dd24c",
        "actions": ["*"],
        "data_actions": [],
    },
    "Reader": {
        "id": "acdd72a7-3385-48ef-bd42-f606fba81ae7",
        "actions": ["*/read"],
        "data_actions": [],
    },
}
_ROLE_BY_ID = {spec["id"]: name for name, spec in BUILTIN_ROLES.items()}


class Principal(Protocol):
    """Anything with a principal id: an Identity, or a Site (its system identity's)."""

    @property
    def principal_id(self) -> str: ...


@dataclass
class Grant:
    """A role assignment: a principal may perform matching actions at and below ``scope``."""

    principal_id: str
    scope: str
    role: str
    actions: tuple[str, ...]
    data_actions: tuple[str, ...]


def _scope_covers(scope: str, resource_id: str) -> bool:
    scope = scope.rstrip("/").lower()
    target = resource_id.rstrip("/").lower()
    return scope in ("", "/") or target == scope or target.startswith(scope + "/")


def _action_allowed(patterns: Iterable[str], action: str) -> bool:
    return any(fnmatch.fnmatchcase(action.lower(), p.lower()) for p in patterns)


class RbacState(StateBase):
    """The role assignments. With ``rbac=False`` every check passes (role checks off)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.grants: list[Grant] = []

    def grant(
        self,
        principal: Principal | str,
        scope: str,
        role: str | None = None,
        *,
        actions: Iterable[str] = (),
        data_actions: Iterable[str] = (),
    ) -> Grant:
        """Assign ``role`` (built-in name or role-definition GUID) or custom actions at ``scope``.

        ``principal`` is an Identity, a Site (its system identity) or a principal id; ``scope`` a
        resource id (a vault's, a secret's via ``vault.secret_id(name)``, an account's, ...).
        """
        principal_id = principal if isinstance(principal, str) else principal.principal_id
        role_actions: list[str] = list(actions)
        role_data_actions: list[str] = list(data_actions)
        role_name = "custom"
        if role is not None:
            role_name = _ROLE_BY_ID.get(role.lower(), role)
            if role_name not in BUILTIN_ROLES:
                known = ", ".join(BUILTIN_ROLES)
                raise EmulatorError(f"role {role!r} is not a known built-in role ({known})")
            role_actions += BUILTIN_ROLES[role_name]["actions"]
            role_data_actions += BUILTIN_ROLES[role_name]["data_actions"]
        if not role_actions and not role_data_actions:
            raise EmulatorError("grant needs a role or at least one action")
        if not scope.startswith("/"):
            raise EmulatorError(f"scope {scope!r} must be a resource id starting with '/'")
        grant = Grant(principal_id, scope, role_name, tuple(role_actions), tuple(role_data_actions))
        with self.lock:
            self.grants.append(grant)
        return grant

    def revoke(self, grant: Grant) -> None:
        """Remove a role assignment made by :meth:`grant`."""
        with self.lock:
            self.grants.remove(grant)

    def is_authorized(
        self, principal_id: str, action: str, resource_id: str, *, data: bool
    ) -> bool:
        """Whether a grant lets ``principal_id`` perform ``action`` on ``resource_id``."""
        if not self.rbac:
            return True
        with self.lock:
            grants = list(self.grants)
        for grant in grants:
            if grant.principal_id != principal_id or not _scope_covers(grant.scope, resource_id):
                continue
            if _action_allowed(grant.data_actions if data else grant.actions, action):
                return True
        return False
