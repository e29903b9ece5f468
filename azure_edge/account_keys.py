"""The AI account's two keys, through ``CognitiveServicesManagementClient``.

ARM answers ``listKeys`` with ``{key1, key2}`` and ``regenerateKey`` takes ``{"keyName": "Key1"}``;
a regenerated key's old value stops working at once. Key values pass through: never logged.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from .errors import EdgeError
from .retry import Patience, run

log = logging.getLogger(__name__)

LIST_KEYS_RULE = (
    "the rule is an existing account and an identity with "
    "Microsoft.CognitiveServices/accounts/listKeys/action on it"
)


class AccountKeys:
    """One account's keys. `arm_key_names`: slot (``key1``, the listKeys field) to the name
    regenerateKey takes (``Key1``). `patience`: retry 403s (a role assignment still applying)."""

    def __init__(
        self,
        client: Any,
        resource_group: str,
        account_name: str,
        arm_key_names: Mapping[str, str],
        *,
        patience: Patience | None = None,
    ) -> None:
        self._client = client
        self.resource_group = resource_group
        self.account_name = account_name
        self._arm_key_names = dict(arm_key_names)
        self._patience = patience

    def _what(self, operation: str) -> str:
        return (
            f"ARM {operation} of account {self.account_name} (resource group {self.resource_group})"
        )

    def _slot(self, slot: str) -> str:
        if slot not in self._arm_key_names:
            raise ValueError(f"slot {slot!r}: the rule is one of {', '.join(self._arm_key_names)}")
        return slot

    def keys(self) -> dict[str, str]:
        """Both keys by slot."""
        listed = run(
            self._what("listKeys"),
            lambda: self._client.accounts.list_keys(self.resource_group, self.account_name),
            patience=self._patience,
            rule=LIST_KEYS_RULE,
        )
        return {slot: getattr(listed, slot, None) or "" for slot in self._arm_key_names}

    def key(self, slot: str) -> str:
        """The current value of `slot`; EdgeError when ARM returns none."""
        value = self.keys()[self._slot(slot)]
        if not value:
            raise EdgeError(f"{self._what('listKeys')} returned no {slot}")
        return value

    def check(self) -> None:
        """Fail with one line when the account cannot be found or its keys cannot be listed."""
        self.keys()

    def endpoint(self) -> str:
        """The account's data-plane endpoint, as ARM reports it (needs accounts/read)."""
        account = run(
            self._what("read"),
            lambda: self._client.accounts.get(self.resource_group, self.account_name),
            patience=self._patience,
            rule="the rule is an identity with Microsoft.CognitiveServices/accounts/read on it, "
            "or the endpoint given",
        )
        endpoint = account.properties.endpoint if account.properties else None
        if not endpoint:
            raise EdgeError(f"{self._what('read')} reports no endpoint")
        return endpoint.rstrip("/")

    def regenerate(self, slot: str) -> str:
        """Regenerate `slot` and return its new value (the old one stops working at once)."""
        name = self._arm_key_names[self._slot(slot)]
        # key_name must be a keyword: a dict as third argument is wrapped inside keyName (400).
        keys = run(
            self._what(f"regenerateKey {name}"),
            lambda: self._client.accounts.regenerate_key(
                self.resource_group, self.account_name, key_name=name
            ),
            patience=self._patience,
        )
        log.info("regenerated %s of account %s", slot, self.account_name)
        return getattr(keys, slot)
