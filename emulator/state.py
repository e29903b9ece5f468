"""The emulated world's state: every service's state on one object under one re-entrant lock.

Each service keeps its own tables and operations in its module (``emulator/services/``), over
the shared identity (principals and tokens, ``emulator/identity.py``), RBAC
(``emulator/rbac.py``) and fault rules (``emulator/faults.py``). :class:`AzureState` combines
them, so tests and rehearsals seed and inspect the world through one object; this module also
names the state's types and constants for callers that import them from here.
"""

from __future__ import annotations

from emulator.base import (
    DEFAULT_RESOURCE_GROUP,
    DEFAULT_SUBSCRIPTION,
    DEFAULT_TENANT,
    ManualClock,
)
from emulator.errors import EmulatorError
from emulator.faults import Fault, FaultDecision, FaultState
from emulator.identity import TOKEN_LIFETIME_SECONDS, Identity, TokenInfo
from emulator.rbac import BUILTIN_ROLES, Grant
from emulator.services.ai_inference import ACTION_CHAT, COGNITIVE_AUDIENCES
from emulator.services.app_service import (
    ACTION_READ_SITE_CONFIG,
    ACTION_WRITE_SITE_CONFIG,
    AppServiceState,
    ReferenceStatus,
    Site,
    parse_reference,
)
from emulator.services.arm import ARM_AUDIENCES
from emulator.services.arm_accounts import (
    ACTION_LIST_KEYS,
    ACTION_READ_ACCOUNT,
    ACTION_REGENERATE_KEY,
    ROTATOR_ACTIONS,
    Account,
    AccountsState,
)
from emulator.services.entra import (
    FEDERATION_AUDIENCE,
    GITHUB_OIDC_ISSUER,
    GITHUB_OIDC_LIFETIME,
    EntraState,
    ExternalToken,
    FederatedCredential,
)
from emulator.services.keyvault import (
    ACTION_DELETE_SECRET,
    ACTION_GET_SECRET,
    ACTION_READ_SECRET_METADATA,
    ACTION_RECOVER_SECRET,
    ACTION_SET_SECRET,
    ACTION_UPDATE_SECRET,
    KEYVAULT_AUDIENCES,
    DeletedSecret,
    SecretVersion,
    Vault,
)
from emulator.services.managed_identity import APP_SERVICE_IDENTITY_ENDPOINT


class AzureState(AppServiceState, AccountsState, EntraState, FaultState):
    """All emulated resources plus the grant table, fault rules and request counters.

    ``clock`` (default ``time.time``) drives key acceptance delays, secret timestamps and throttle
    windows; pass a :class:`ManualClock` to move time without sleeping. ``rbac=False`` lets any
    valid token perform any operation (role checks off); the default checks grants like Azure RBAC.
    Keyword arguments: ``tenant_id``, ``subscription``, ``resource_group``, ``clock``, ``rbac``
    (see :class:`emulator.base.StateBase`).
    """


__all__ = [
    "ACTION_CHAT",
    "ACTION_DELETE_SECRET",
    "ACTION_GET_SECRET",
    "ACTION_LIST_KEYS",
    "ACTION_READ_ACCOUNT",
    "ACTION_READ_SECRET_METADATA",
    "ACTION_READ_SITE_CONFIG",
    "ACTION_RECOVER_SECRET",
    "ACTION_REGENERATE_KEY",
    "ACTION_SET_SECRET",
    "ACTION_UPDATE_SECRET",
    "ACTION_WRITE_SITE_CONFIG",
    "APP_SERVICE_IDENTITY_ENDPOINT",
    "ARM_AUDIENCES",
    "BUILTIN_ROLES",
    "COGNITIVE_AUDIENCES",
    "DEFAULT_RESOURCE_GROUP",
    "DEFAULT_SUBSCRIPTION",
    "DEFAULT_TENANT",
    "FEDERATION_AUDIENCE",
    "GITHUB_OIDC_ISSUER",
    "GITHUB_OIDC_LIFETIME",
    "KEYVAULT_AUDIENCES",
    "ROTATOR_ACTIONS",
    "TOKEN_LIFETIME_SECONDS",
    "Account",
    "AzureState",
    "DeletedSecret",
    "EmulatorError",
    "ExternalToken",
    "Fault",
    "FaultDecision",
    "FederatedCredential",
    "Grant",
    "Identity",
    "ManualClock",
    "ReferenceStatus",
    "SecretVersion",
    "Site",
    "TokenInfo",
    "Vault",
    "parse_reference",
]
