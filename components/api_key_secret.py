"""The AI account's API key copied into Key Vault by a dynamic resource; the key never enters state.

``AccountKeySecret`` reads the account's keys with the deployer's Azure credential and writes key1
as a Key Vault secret, tagged for rotation. Its inputs are identifiers and settings only; its
outputs are the versionless secret URI, the version and the active slot. The key value exists only
inside the provider's process, between the ARM ``listKeys`` answer and the Key Vault write.

The secret's tags, slots, content type, period bounds, the name rules and the ID and URI forms
are the contract's (``components/catalog``); this module holds the resource's spec, which of the
tags it owns, and its create, read, update and delete.

Wire names (inputs and outputs, as the engine and policies see them) are snake_case:
``account_id``, ``vault_uri``, ``secret_name``, ``rotation_period_days``, ``consumers``;
``secret_uri``, ``version``, ``slot``, ``secret_tags``. docs/key-in-vault.md describes them all.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pulumi
import pulumi.dynamic
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    CreateResult,
    DiffResult,
    ReadResult,
    ResourceProvider,
    UpdateResult,
)
from pulumi.output import contains_unknowns

from components.azure_edge.clients import Connection
from components.azure_edge.errors import EdgeError
from components.azure_edge.retry import Patience
from components.azure_edge.vault import SecretRecord, VaultSecrets
from components.catalog import ids, names, secret
from components.catalog.key_shapes import shown

log = logging.getLogger(__name__)

DEFAULT_DEADLINE_SECONDS = 300.0
# A key already older than a shortened period is due for rotation now; its expiry still lands a
# day ahead rather than in the past, so a reader that honours expiry keeps working until rotation.
EXPIRY_FLOOR = timedelta(days=1)


class InvalidInput(pulumi.RunError, ValueError):
    """An input that breaks a rule; Pulumi prints a RunError as its one-line message."""

    def __init__(self, field: str, value: object, rule: str) -> None:
        self.field, self.rule = field, rule
        super().__init__(f"AccountKeySecret input {field}={shown(value)}: {rule}")


class AccountKeySecretError(EdgeError):
    """A state the provider cannot act on (the secret gone since the last refresh), in one line;
    failures of ARM and Key Vault calls are the edge's ``EdgeError``."""


# --- The spec: each input's rule and normal form (pure) ------------------------------------------


def account_of(value: object) -> ids.ResourceId:
    """The AI account an ``account_id`` input names."""
    try:
        return ids.account_id(value)
    except ids.IdError as error:
        raise InvalidInput("account_id", value, str(error)) from None


def vault_of(value: object) -> str:
    """The ``vault_uri`` input normalised (lower case, no port, no trailing slash)."""
    try:
        return ids.vault_uri(value)
    except ids.IdError as error:
        raise InvalidInput("vault_uri", value, str(error)) from None


def secret_name_of(value: object) -> str:
    """The ``secret_name`` input, if Key Vault accepts it."""
    if not names.SECRET_NAME.matches(value):
        raise InvalidInput("secret_name", value, f"must be {names.SECRET_NAME.rule}")
    return value  # type: ignore[return-value]


def period_of(value: object) -> int:
    """The ``rotation_period_days`` input as an int (the engine sends numbers as floats)."""
    if not secret.is_period(value):
        raise InvalidInput("rotation_period_days", value, f"must be {secret.PERIOD_RULE}")
    return int(value)  # type: ignore[call-overload]


def consumers_tag(consumers: object) -> str | None:
    """The Consumers tag: site names comma-joined; None when consumers are not managed."""
    if consumers is None:
        return None
    if isinstance(consumers, str) or not isinstance(consumers, Sequence):
        raise InvalidInput("consumers", consumers, "must be a list of App Service site names")
    for site in consumers:
        if not names.SITE_NAME.matches(site):
            raise InvalidInput(
                "consumers", site, f"each must be a site name: {names.SITE_NAME.rule}"
            )
    if len(set(map(str.lower, consumers))) != len(consumers):
        raise InvalidInput("consumers", list(consumers), "each site may be named only once")
    joined = ",".join(consumers)
    if len(joined) > secret.MAX_TAG_VALUE_LENGTH:
        raise InvalidInput(
            "consumers",
            f"{len(consumers)} names, {len(joined)} characters comma-joined",
            f"must fit Key Vault's {secret.MAX_TAG_VALUE_LENGTH}-character tag value once "
            "comma-joined",
        )
    return joined


def _account_id(value: object) -> str:
    account_of(value)
    return value  # type: ignore[return-value]  # kept as given: ARM IDs are case-insensitive


def _consumers(value: object) -> list[str] | None:
    consumers_tag(value)
    return None if value is None else list(value)  # type: ignore[call-overload]


# Each input and the function that checks it and returns its normal form (InvalidInput if bad).
_INPUTS: dict[str, Callable[[Any], Any]] = {
    "account_id": _account_id,
    "vault_uri": vault_of,
    "secret_name": secret_name_of,
    "rotation_period_days": period_of,
    "consumers": _consumers,
}
_REPLACE_FIELDS = ("account_id", "vault_uri", "secret_name")
_UPDATE_FIELDS = ("rotation_period_days", "consumers")


@dataclass(frozen=True)
class SecretSpec:
    """Validated, normalised inputs of the resource."""

    account_id: str
    vault_uri: str
    secret_name: str
    rotation_period_days: int
    consumers: tuple[str, ...] | None

    @classmethod
    def of(cls, props: Mapping[str, Any]) -> SecretSpec:
        """Validate a property bag (inputs or stored outputs); raises InvalidInput."""
        bag = {field: normalise(props.get(field)) for field, normalise in _INPUTS.items()}
        consumers = bag.pop("consumers")
        return cls(**bag, consumers=None if consumers is None else tuple(consumers))

    @property
    def account(self) -> ids.ResourceId:
        return ids.account_id(self.account_id)

    @property
    def secret_uri(self) -> str:
        return ids.secret_uri(self.vault_uri, self.secret_name)

    def inputs(self) -> dict[str, Any]:
        """The normalised input bag (``consumers`` left out when not given)."""
        bag: dict[str, Any] = {
            "account_id": self.account_id,
            "vault_uri": self.vault_uri,
            "secret_name": self.secret_name,
            "rotation_period_days": self.rotation_period_days,
        }
        if self.consumers is not None:
            bag["consumers"] = list(self.consumers)
        return bag

    def outputs(self, version: str, tags: Mapping[str, str] | None) -> dict[str, Any]:
        """Inputs plus what the write produced or the read found; never the value."""
        tags = dict(tags or {})
        return {
            **self.inputs(),
            "secret_uri": self.secret_uri,
            "version": version,
            "slot": tags.get(secret.TAG_SLOT, ""),
            "secret_tags": tags,
        }


def is_unknown(value: object) -> bool:
    """Whether a value (or a list item, or a map value, in it) is not known yet.

    The engine marks a value that depends on a resource still to be created; the dynamic
    provider host decodes Check and Diff inputs with ``keep_unknowns=True``, so it arrives as a
    ``pulumi.output.Unknown`` instance (pulumi/dynamic/__main__.py, pulumi/runtime/rpc.py).
    """
    return contains_unknowns(value)


def input_problems(props: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(property, reason) for every input that breaks a rule; values not yet known are skipped."""
    problems = []
    for field, normalise in _INPUTS.items():
        value = props.get(field)
        if is_unknown(value):
            continue
        try:
            normalise(value)
        except InvalidInput as error:
            problems.append((field, str(error)))
    return problems


def normalised_inputs(props: Mapping[str, Any]) -> dict[str, Any]:
    """The input bag as create and update expect it; values not yet known are kept as they are,
    and ``consumers`` stays left out when not given. Call after :func:`input_problems`."""
    bag: dict[str, Any] = {}
    for field, normalise in _INPUTS.items():
        value = props.get(field)
        if value is None and field == "consumers":
            continue
        bag[field] = value if is_unknown(value) else normalise(value)
    return bag


def _comparable(field: str, value: Any) -> Any:
    """A value as diff compares it: IDs case-insensitively, URIs normalised, numbers as ints.

    A value not known yet compares unequal to everything: it may change (and, for the account,
    vault or name, replace)."""
    if value is None or is_unknown(value):
        return value
    try:
        normal = _INPUTS[field](value)
    except InvalidInput:
        return value
    if field == "account_id":
        return normal.lower()
    if field == "consumers":  # None (unmanaged) and [] (managed, none) differ
        return tuple(normal)
    return normal


def _differs(field: str, olds: Mapping[str, Any], news: Mapping[str, Any]) -> bool:
    return _comparable(field, olds.get(field)) != _comparable(field, news.get(field))


# --- Tag rules (pure): the resource owns the account, the period and, when given, the consumers ---


def owned_tags(spec: SecretSpec) -> dict[str, str]:
    """The tags this resource sets and keeps in line with its inputs."""
    return secret.owned_tags(
        spec.account_id, spec.rotation_period_days, consumers_tag(spec.consumers)
    )


def first_version_tags(spec: SecretSpec) -> dict[str, str]:
    """Tags of the first version: key1 active, rotation idle."""
    return secret.first_version_tags(
        spec.account_id, spec.rotation_period_days, consumers_tag(spec.consumers)
    )


def is_owned_tag(name: str, spec: SecretSpec) -> bool:
    """Whether this resource owns a tag: its two, and Consumers when it manages consumers."""
    always = secret.owned_tags(spec.account_id, spec.rotation_period_days, None)
    return name in always or (spec.consumers is not None and name == secret.TAG_CONSUMERS)


def merged_tags(current: Mapping[str, str] | None, spec: SecretSpec) -> dict[str, str]:
    """Current tags with only this resource's own brought in line; rotation's stay as found."""
    tags = {k: v for k, v in (current or {}).items() if not is_owned_tag(k, spec)}
    tags.update(owned_tags(spec))
    return tags


def tag_drift(observed: Mapping[str, str] | None, spec: SecretSpec) -> bool:
    """Whether the owned tags found on the current version differ from what the inputs ask."""
    found = {k: v for k, v in (observed or {}).items() if is_owned_tag(k, spec)}
    # ARM IDs are case-insensitive: a change of case alone is no drift.
    return _casefold_account(found) != _casefold_account(owned_tags(spec))


def _casefold_account(tags: dict[str, str]) -> dict[str, str]:
    return {k: v.lower() if k == secret.TAG_ACCOUNT else v for k, v in tags.items()}


def expiry_at(now: datetime, period_days: int) -> datetime:
    """Expiry of a version published now."""
    return now + timedelta(days=period_days)


def expiry_after_period_change(published: datetime, period_days: int, now: datetime) -> datetime:
    """Expiry of a version published earlier, under a new period: never in the past."""
    return max(published + timedelta(days=period_days), now + EXPIRY_FLOOR)


def latest_version(versions: Sequence[SecretRecord]) -> SecretRecord:
    """The version a versionless reference resolves to (the contract's order)."""
    return secret.latest(versions, lambda record: record.created_on)


def planned_outputs(inputs: Mapping[str, Any]) -> dict[str, Any]:
    """What create returns for these inputs, the version aside (for tests that mock the provider;
    the offline preview runs no provider and leaves these outputs unknown)."""
    spec = SecretSpec.of(inputs)
    return spec.outputs("", first_version_tags(spec))


# --- The provider --------------------------------------------------------------------------------

# What the deployer must do when a call keeps answering 403, or the vault's firewall turns it away.
_OFFICER_HINT = (
    "the deploying identity needs 'Key Vault Secrets Officer' on the vault "
    "(RBAC assignments can take minutes to apply)"
)
_LIST_KEYS_HINT = (
    "the deploying identity needs Microsoft.CognitiveServices/accounts/listKeys/action "
    "on the account"
)
_NETWORK_HINT = (
    "the vault's network rules turn the deploying machine away: with networkMode public, add its "
    "public IP address to secure-azure-ai:allowedIpRanges; with networkMode private, run "
    "`pulumi up` again from a machine in the stack's virtual network or a network peered with it, "
    "whose DNS resolves privatelink.vaultcore.azure.net (docs/private-network.md)"
)


class AccountKeySecretProvider(ResourceProvider):
    """Create, read, update and delete the key-in-vault secret, through the Azure edge.

    The connection, clock and sleep are for tests; in a deployment the provider signs in with the
    credential its environment calls for (``azure_edge.credentials``: GitHub OIDC with a fresh
    assertion per token, workload identity, else ``DefaultAzureCredential``). Only
    ``deadline_seconds`` survives serialisation into the ``__provider`` input.
    """

    serialize_as_secret_always = False  # it captures nothing secret: see __getstate__

    def __init__(
        self,
        *,
        connection: Connection | None = None,
        clock: Callable[[], datetime] | None = None,
        sleep: Callable[[float], None] | None = None,
        deadline_seconds: float = DEFAULT_DEADLINE_SECONDS,
    ) -> None:
        super().__init__()
        self.deadline_seconds = float(deadline_seconds)
        self._connection = connection
        self._clock = clock
        self._sleep = sleep

    # Pulumi pickles the provider into the resource's ``__provider`` input (the class by
    # reference, the instance by state): keep credentials, clients and test doubles out of it.
    def __getstate__(self) -> dict[str, Any]:
        return {"deadline_seconds": self.deadline_seconds}

    def __setstate__(self, state: Mapping[str, Any]) -> None:
        self.__init__(deadline_seconds=state.get("deadline_seconds", DEFAULT_DEADLINE_SECONDS))

    # -- the edge ----------------------------------------------------------------------------

    def _now(self) -> datetime:
        return self._clock() if self._clock else datetime.now(UTC)

    def _pause(self, seconds: float) -> None:
        (self._sleep or time.sleep)(seconds)

    def _patience(self, hint: str) -> Patience:
        """403s retried until the deadline (a role assignment still applying), then `hint`."""
        return Patience(
            self.deadline_seconds, hint, _NETWORK_HINT, clock=self._now, sleep=self._pause
        )

    @property
    def connection(self) -> Connection:
        """One sign-in per provider process, chosen from its environment."""
        if self._connection is None:
            self._connection = Connection.from_environment()
        return self._connection

    def _secret(self, spec: SecretSpec) -> VaultSecrets:
        return self.connection.vault(
            spec.vault_uri, spec.secret_name, patience=self._patience(_OFFICER_HINT)
        )

    def _key1(self, spec: SecretSpec) -> str:
        account = spec.account
        keys = self.connection.account_keys(
            account.subscription,
            account.resource_group,
            account.name,
            secret.ARM_KEY_NAMES,
            patience=self._patience(_LIST_KEYS_HINT),
        )
        return keys.key(secret.INITIAL_SLOT)

    # -- the dynamic provider interface ------------------------------------------------------

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        """Inputs validated (one failure per bad input) and normalised; a value not known yet
        (a first preview, a replaced account) passes as it is and is checked when known."""
        problems = input_problems(news)
        if problems:
            return CheckResult(news, [CheckFailure(field, reason) for field, reason in problems])
        extra = {k: v for k, v in news.items() if k not in _INPUTS}
        return CheckResult({**extra, **normalised_inputs(news)}, [])

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """Account, vault or name: replace. Period, consumers, or tags found drifted: update."""
        replaces = [f for f in _REPLACE_FIELDS if _differs(f, olds, news)]
        updates = [f for f in _UPDATE_FIELDS if _differs(f, olds, news)]
        # A value still unknown (preview) already differs above; an invalid one fails Check.
        settled = not replaces and not updates and not is_unknown(news) and not input_problems(news)
        observed = olds.get("secret_tags")
        if settled and observed is not None and tag_drift(observed, SecretSpec.of(news)):
            updates.append("secret_tags")
        return DiffResult(
            changes=bool(replaces or updates), replaces=replaces, delete_before_replace=False
        )

    def create(self, props: dict[str, Any]) -> CreateResult:
        """Copy key1 into a new version of the secret; outputs carry its version, not its value."""
        spec = SecretSpec.of(props)
        written = self._secret(spec).write(
            self._key1(spec),
            first_version_tags(spec),
            expiry_at(self._now(), spec.rotation_period_days),
            secret.CONTENT_TYPE,
        )
        log.info("published %s version %s (slot %s)", spec.secret_uri, written.version, "key1")
        return CreateResult(spec.secret_uri, spec.outputs(written.version, written.tags))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """Version, slot and tags of the current version, from its properties (never the value)."""
        spec = SecretSpec.of(props)
        versions = self._secret(spec).versions()
        if not versions:
            log.info("%s no longer exists", spec.secret_uri)
            return ReadResult("", {})
        current = latest_version(versions)
        return ReadResult(id_, spec.outputs(current.version, current.tags))

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        """Bring the current version's own tags and expiry in line; its value is never touched."""
        spec = SecretSpec.of(news)
        vault = self._secret(spec)
        versions = vault.versions()
        if not versions:
            raise AccountKeySecretError(
                f"{spec.secret_uri} no longer exists: run `pulumi refresh`, then `pulumi up` "
                "to write it again"
            )
        current = latest_version(versions)
        expires = None
        if _differs("rotation_period_days", olds, news):
            published = current.created_on or self._now()
            expires = expiry_after_period_change(published, spec.rotation_period_days, self._now())
        updated = vault.update(
            current.version, tags=merged_tags(current.tags, spec), expires_on=expires
        )
        log.info("updated tags of %s version %s", spec.secret_uri, updated.version)
        return UpdateResult(spec.outputs(updated.version, updated.tags))

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        """Disable every version holding this account's key, then soft-delete the secret.

        Purge protection keeps a deleted secret recoverable; disabled versions stay unreadable
        even if it is recovered. When a replacement for another account has since written the
        newest version, only this account's versions are disabled and the secret stays.
        """
        spec = SecretSpec.of(props)
        vault = self._secret(spec)
        versions = vault.versions()
        if not versions:
            log.info("%s is already gone", spec.secret_uri)
            return

        def ours(record: SecretRecord) -> bool:
            account = record.tags.get(secret.TAG_ACCOUNT, spec.account_id)
            return account.lower() == spec.account_id.lower()

        for record in versions:
            if ours(record) and record.enabled:
                vault.update(record.version, enabled=False)
                log.info("disabled %s version %s", spec.secret_uri, record.version)
        if not ours(latest_version(versions)):
            log.info("%s now holds another account's key; left in place", spec.secret_uri)
            return
        vault.delete()
        log.info("soft-deleted %s", spec.secret_uri)


# --- The resource --------------------------------------------------------------------------------


# Its type when the component package's own provider serves it (components/package.py), and its
# properties as the package's schema describes them (the wire names).
SERVED_TYPE = "secure-azure-ai:index:AccountKeySecret"
SCHEMA_INPUTS = {
    "account_id": ("string", "ARM ID of the AI account whose key1 is written."),
    "vault_uri": ("string", "The vault's URI, https://<vault>.vault.azure.net/."),
    "secret_name": ("string", f"The secret's name: {names.SECRET_NAME.rule}."),
    "rotation_period_days": (
        "integer",
        f"Days until each version expires: {secret.PERIOD_RULE}.",
    ),
    "consumers": ("array", "App Service site names tagged as the secret's consumers."),
}
OPTIONAL_INPUTS = frozenset({"consumers"})
SCHEMA_OUTPUTS = {
    "secret_uri": ("string", "Versionless secret URI: what consumers reference (never the value)."),
    "version": ("string", "The version this deployment last wrote or found."),
    "slot": ("string", "The account key the current version holds: key1 at creation."),
    "secret_tags": ("object", "The current version's tags (slot, rotation state, account...)."),
}


def resource_props(**inputs: Any) -> dict[str, Any]:
    """The resource's inputs by their wire names, plain ones checked now, with its outputs still
    to come (``None``)."""
    unexpected = sorted(set(inputs) - set(_INPUTS))
    if unexpected:
        raise TypeError(f"AccountKeySecret has no input {', '.join(unexpected)}")
    props = {field: inputs.get(field) for field in _INPUTS}
    # Plain values are checked here so a typo fails before anything is sent anywhere; values
    # still to come (Outputs) are checked by the provider's check().
    for field, value in props.items():
        if not isinstance(value, pulumi.Output) and not _holds_output(value):
            _INPUTS[field](value)
    return {**props, **dict.fromkeys(SCHEMA_OUTPUTS)}


class AccountKeySecret(pulumi.dynamic.Resource):
    """The AI account's key1 as a Key Vault secret with expiry, content type and rotation tags."""

    secret_uri: pulumi.Output[str]
    """Versionless ``https://<vault>.vault.azure.net/secrets/<name>``: what consumers reference."""
    version: pulumi.Output[str]
    """The version this deployment last wrote or found (rotation adds newer ones)."""
    slot: pulumi.Output[str]
    """The account key the current version holds: ``key1`` at creation."""
    secret_tags: pulumi.Output[dict[str, str]]
    """The current version's tags as last written or read (slot, rotation state, account...)."""

    def __init__(
        self,
        name: str,
        *,
        account_id: pulumi.Input[str],
        vault_uri: pulumi.Input[str],
        secret_name: pulumi.Input[str],
        rotation_period_days: pulumi.Input[int],
        consumers: pulumi.Input[Sequence[pulumi.Input[str]]] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props = resource_props(
            account_id=account_id,
            vault_uri=vault_uri,
            secret_name=secret_name,
            rotation_period_days=rotation_period_days,
            consumers=consumers,
        )
        super().__init__(AccountKeySecretProvider(), name, props, opts)


def _holds_output(value: object) -> bool:
    if isinstance(value, list | tuple):
        return any(isinstance(v, pulumi.Output) or hasattr(v, "__await__") for v in value)
    return hasattr(value, "__await__")
