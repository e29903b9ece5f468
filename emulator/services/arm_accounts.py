"""Cognitive Services / Azure OpenAI accounts on ARM: get, listKeys, regenerateKey; the
accounts' two keys, as the data plane (``services/ai_inference.py``) accepts them."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from werkzeug.wrappers import Request, Response

from emulator.base import arm_id
from emulator.errors import EmulatorError, azure_error, body_json, json_response
from emulator.routing import Route
from emulator.services.arm import ARM_HOST, ArmService, ArmState, arm_path

_CS = "Microsoft.CognitiveServices"
ACTION_READ_ACCOUNT = f"{_CS}/accounts/read"
ACTION_LIST_KEYS = f"{_CS}/accounts/listKeys/action"
ACTION_REGENERATE_KEY = f"{_CS}/accounts/regenerateKey/action"
ROTATOR_ACTIONS = (ACTION_READ_ACCOUNT, ACTION_LIST_KEYS, ACTION_REGENERATE_KEY)
KEY_SLOTS = ("key1", "key2")
_ACCOUNTS = f"{_CS}/accounts"


@dataclass
class Account:
    """A Cognitive Services / Azure OpenAI account with its two keys."""

    name: str
    subscription: str
    resource_group: str
    subdomain: str
    kind: str
    location: str
    deployments: dict[str, str]
    disable_local_auth: bool
    accept_delay: float
    keys: dict[str, str] = field(default_factory=dict)
    # When (state clock) each slot's current key starts being accepted by the data plane.
    accepted_from: dict[str, float] = field(default_factory=dict)
    regenerations: int = 0

    @property
    def id(self) -> str:
        return arm_id(self.subscription, self.resource_group, _ACCOUNTS, self.name)

    @property
    def endpoint(self) -> str:
        host = "openai.azure.com" if self.kind == "OpenAI" else "cognitiveservices.azure.com"
        return f"https://{self.subdomain}.{host}/"


def _new_key() -> str:
    return secrets.token_hex(16)


class AccountsState(ArmState):
    """The AI accounts and their keys."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.accounts: dict[str, Account] = self.arm_table()

    def add_account(
        self,
        name: str,
        *,
        subdomain: str | None = None,
        kind: str = "OpenAI",
        location: str = "swedencentral",
        deployments: Iterable[str] = ("gpt-4o-mini",),
        disable_local_auth: bool = False,
        accept_delay: float = 0.0,
        resource_group: str | None = None,
    ) -> Account:
        """Create an AI account with two fresh synthetic keys, usable at once."""
        with self.lock:
            self.vacant(self.accounts, "account", name)
            if accept_delay < 0:
                raise EmulatorError(f"accept_delay {accept_delay!r} must be >= 0 seconds")
            account = Account(
                name=name,
                subscription=self.subscription,
                resource_group=resource_group or self.resource_group,
                subdomain=(subdomain or name).lower(),
                kind=kind,
                location=location,
                deployments={d: d for d in deployments},
                disable_local_auth=disable_local_auth,
                accept_delay=accept_delay,
            )
            now = self.clock()
            for slot in KEY_SLOTS:
                account.keys[slot] = _new_key()
                account.accepted_from[slot] = now
            self.accounts[name] = account
            return account

    def account(self, name: str) -> Account:
        return self.lookup(self.accounts, "account", name)

    def account_by_subdomain(self, subdomain: str) -> Account | None:
        with self.lock:
            for account in self.accounts.values():
                if account.subdomain == subdomain.lower():
                    return account
            return None

    def keys(self, account: str) -> dict[str, str]:
        """The account's two current keys, as listKeys returns them."""
        with self.lock:
            return dict(self.account(account).keys)

    def regenerate_key(self, account: str, slot: str) -> str:
        """Replace ``slot`` ("key1"/"key2") with a fresh key; the old one stops working at once."""
        with self.lock:
            acct = self.account(account)
            if slot not in acct.keys:
                raise EmulatorError(f"key slot {slot!r} must be 'key1' or 'key2'")
            acct.keys[slot] = _new_key()
            acct.accepted_from[slot] = self.clock() + acct.accept_delay
            acct.regenerations += 1
            return acct.keys[slot]

    def key_accepted(self, account: Account, key: str) -> bool:
        """Whether the data plane accepts ``key`` now (current and past its accept delay)."""
        with self.lock:
            now = self.clock()
            return any(
                secrets.compare_digest(value, key) and now >= account.accepted_from[slot]
                for slot, value in account.keys.items()
            )


def _account_json(account: Account) -> dict[str, Any]:
    openai = f"https://{account.subdomain}.openai.azure.com/"
    return {
        "id": account.id,
        "name": account.name,
        "type": _ACCOUNTS,
        "location": account.location,
        "kind": account.kind,
        "sku": {"name": "S0"},
        "properties": {
            "endpoint": account.endpoint,
            "endpoints": {"OpenAI Language Model Instance API": openai},
            "customSubDomainName": account.subdomain,
            "disableLocalAuth": account.disable_local_auth,
            "provisioningState": "Succeeded",
            "publicNetworkAccess": "Enabled",
        },
    }


class ArmAccounts(ArmService):
    name = "arm_accounts"

    def get(self, request: Request, sub: str, rg: str, name: str) -> Response:
        account = self._resource(
            request, self.state.accounts, _ACCOUNTS, (sub, rg, name), ACTION_READ_ACCOUNT, "GET"
        )
        if isinstance(account, Response):
            return account
        return json_response(200, _account_json(account))

    def list_keys(self, request: Request, sub: str, rg: str, name: str) -> Response:
        account = self._resource(
            request, self.state.accounts, _ACCOUNTS, (sub, rg, name), ACTION_LIST_KEYS, "POST"
        )
        if isinstance(account, Response):
            return account
        return json_response(200, self.state.keys(account.name))

    def regenerate_key(self, request: Request, sub: str, rg: str, name: str) -> Response:
        account = self._resource(
            request, self.state.accounts, _ACCOUNTS, (sub, rg, name), ACTION_REGENERATE_KEY, "POST"
        )
        if isinstance(account, Response):
            return account
        try:
            body = body_json(request)
        except ValueError:
            return azure_error(
                400,
                "InvalidRequestContent",
                "The request content was invalid and could not be deserialized.",
            )
        key_name = body.get("keyName") if isinstance(body, dict) else None
        if key_name not in ("Key1", "Key2"):
            shown = json.dumps(key_name) if not isinstance(key_name, str) else key_name
            return azure_error(
                400,
                "BadRequest",
                f"The key name '{shown}' is invalid. Valid values are 'Key1' and 'Key2'.",
            )
        try:
            self.state.regenerate_key(account.name, key_name.lower())
        except EmulatorError as exc:
            return azure_error(400, "BadRequest", str(exc))
        return json_response(200, self.state.keys(account.name))


ROUTES = [
    Route(
        arm_path(_ACCOUNTS, suffix),
        host=ARM_HOST,
        endpoint=f"arm_accounts.{handler}",
        counted_as=f"accounts/{operation}",
    )
    for suffix, handler, operation in (
        ("", "get", "account"),
        ("/listKeys", "list_keys", "listKeys"),
        ("/regenerateKey", "regenerate_key", "regenerateKey"),
    )
]
