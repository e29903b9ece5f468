"""Key Vault secrets (``{vault}.vault.azure.net``): set, get, update, list, versions, soft
delete and recover, behind Key Vault's 401 bearer challenge and RBAC (permission model RBAC)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from werkzeug.wrappers import Request, Response

from emulator.base import arm_id
from emulator.errors import azure_error, body_json, json_response
from emulator.identity import IdentityState, TokenInfo, TokenRefused, authenticate, bearer
from emulator.rbac import RbacState
from emulator.routing import Route, Service

# The versions azure-keyvault-secrets 4.12 can send (its default is the first); others get 400.
KEYVAULT_API_VERSIONS = ("2026-04-01", "2025-07-01", "7.6", "7.5", "7.4")
KEYVAULT_AUDIENCES = ("https://vault.azure.net",)

_KV = "Microsoft.KeyVault/vaults/secrets"
ACTION_GET_SECRET = f"{_KV}/getSecret/action"
ACTION_SET_SECRET = f"{_KV}/setSecret/action"
ACTION_UPDATE_SECRET = f"{_KV}/update/action"
ACTION_READ_SECRET_METADATA = f"{_KV}/readMetadata/action"
ACTION_DELETE_SECRET = f"{_KV}/delete"
ACTION_RECOVER_SECRET = f"{_KV}/recover/action"

_VAULTS = "Microsoft.KeyVault/vaults"
Handler = Callable[..., Response]
_SECRET_NAME = re.compile(r"^[0-9A-Za-z-]{1,127}$")
_RETENTION_DAYS = 90


@dataclass
class SecretVersion:
    """One version of a Key Vault secret."""

    version: str
    value: str
    content_type: str | None
    tags: dict[str, str]
    enabled: bool
    exp: int | None
    nbf: int | None
    created: int
    updated: int


@dataclass
class DeletedSecret:
    """A soft-deleted secret: every version, and when it was deleted (Unix seconds).

    Vaults here have purge protection, as the stack makes them: a deleted secret stays until
    recovered, and its name cannot be reused meanwhile (nothing purges it)."""

    versions: list[SecretVersion]
    deleted: int


@dataclass
class Vault:
    """A Key Vault (RBAC permission model)."""

    name: str
    subscription: str
    resource_group: str
    tenant_id: str
    secrets: dict[str, list[SecretVersion]] = field(default_factory=dict)
    deleted: dict[str, DeletedSecret] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return arm_id(
            self.subscription, self.resource_group, "Microsoft.KeyVault/vaults", self.name
        )

    @property
    def uri(self) -> str:
        return f"https://{self.name}.vault.azure.net/"

    def secret_id(self, name: str) -> str:
        """The RBAC scope of one secret (grant a role here to limit it to that secret)."""
        return f"{self.id}/secrets/{name}"

    def find(self, name: str) -> tuple[str, list[SecretVersion]] | None:
        """The secret's stored name and versions (names are case-insensitive), or None."""
        return _find(self.secrets, name)

    def find_deleted(self, name: str) -> tuple[str, DeletedSecret] | None:
        """The deleted secret's stored name and record (case-insensitive), or None."""
        return _find(self.deleted, name)


def _find(table: dict[str, Any], name: str) -> tuple[str, Any] | None:
    for stored, record in table.items():
        if stored.lower() == name.lower():
            return stored, record
    return None


def _take(table: dict[str, Any], name: str) -> tuple[str, Any] | None:
    """Remove and return the (stored name, record) ``name`` finds (case-insensitive), or None."""
    found = _find(table, name)
    if found is not None:
        del table[found[0]]
    return found


class KeyVaultState(RbacState, IdentityState):
    """The vaults, their secrets and their soft-deleted secrets."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.vaults: dict[str, Vault] = {}

    def add_vault(self, name: str, *, resource_group: str | None = None) -> Vault:
        """Create an empty Key Vault in RBAC mode."""
        with self.lock:
            key = name.lower()
            self.vacant(self.vaults, "vault", key)
            vault = Vault(
                name=key,
                subscription=self.subscription,
                resource_group=resource_group or self.resource_group,
                tenant_id=self.tenant_id,
            )
            self.vaults[key] = vault
            return vault

    def vault(self, name: str) -> Vault:
        return self.lookup(self.vaults, "vault", name.lower())

    def set_secret(
        self,
        vault: str,
        name: str,
        value: str,
        *,
        content_type: str | None = None,
        tags: dict[str, str] | None = None,
        enabled: bool = True,
        exp: int | None = None,
        nbf: int | None = None,
    ) -> SecretVersion:
        """Add a new version of a secret (as Key Vault's set secret does)."""
        with self.lock:
            target = self.vault(vault)
            now = int(self.clock())
            version = SecretVersion(
                version=uuid.uuid4().hex,
                value=value,
                content_type=content_type,
                tags=dict(tags or {}),
                enabled=enabled,
                exp=exp,
                nbf=nbf,
                created=now,
                updated=now,
            )
            found = target.find(name)
            if found is None:
                target.secrets[name] = [version]
            else:
                found[1].append(version)
            return version

    def delete_secret(self, vault: str, name: str) -> tuple[str, DeletedSecret] | None:
        """Soft-delete a secret, every version (as Key Vault's delete secret does), or None."""
        with self.lock:
            target = self.vault(vault)
            taken = _take(target.secrets, name)
            if taken is None:
                return None
            record = DeletedSecret(taken[1], int(self.clock()))
            target.deleted[taken[0]] = record
            return taken[0], record

    def recover_secret(self, vault: str, name: str) -> tuple[str, list[SecretVersion]] | None:
        """Bring a deleted secret back with all its versions, or None when none is deleted."""
        with self.lock:
            target = self.vault(vault)
            taken = _take(target.deleted, name)
            if taken is None:
                return None
            stored, record = taken
            target.secrets[stored] = record.versions
            return stored, record.versions

    def secret_versions(self, vault: str, name: str) -> list[SecretVersion]:
        """All versions of a secret, oldest first ([] when it does not exist)."""
        with self.lock:
            found = self.vault(vault).find(name)
            return list(found[1]) if found else []

    def latest_secret(self, vault: str, name: str) -> SecretVersion | None:
        """The newest version of a secret, or None."""
        versions = self.secret_versions(vault, name)
        return versions[-1] if versions else None


# ---- wire format -------------------------------------------------------------------------


def _secret_json(vault: Vault, name: str, version: SecretVersion, *, value: bool) -> dict:
    attributes: dict[str, Any] = {
        "enabled": version.enabled,
        "created": version.created,
        "updated": version.updated,
        "recoveryLevel": "Recoverable",
        "recoverableDays": _RETENTION_DAYS,
    }
    if version.exp is not None:
        attributes["exp"] = version.exp
    if version.nbf is not None:
        attributes["nbf"] = version.nbf
    body: dict[str, Any] = {
        "id": f"https://{vault.name}.vault.azure.net/secrets/{name}/{version.version}",
        "attributes": attributes,
        "tags": dict(version.tags),
    }
    if value:
        body["value"] = version.value
    if version.content_type is not None:
        body["contentType"] = version.content_type
    return body


def _deleted_json(target: Vault, name: str, record: DeletedSecret) -> dict:
    body = _secret_json(target, name, record.versions[-1], value=False)
    body["recoveryId"] = f"https://{target.name}.vault.azure.net/deletedsecrets/{name}"
    body["deletedDate"] = record.deleted
    body["scheduledPurgeDate"] = record.deleted + _RETENTION_DAYS * 86_400
    return body


def _read_attributes(body: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """Validated attributes/tags/contentType from a set or update body, or an error text."""
    out: dict[str, Any] = {}
    attributes = body.get("attributes", {})
    if not isinstance(attributes, dict):
        return {}, "attributes must be an object"
    for field_name in ("exp", "nbf"):
        if attributes.get(field_name) is not None:
            if not isinstance(attributes[field_name], int) or isinstance(
                attributes[field_name], bool
            ):
                return {}, f"attributes.{field_name} must be a Unix time in seconds"
            out[field_name] = attributes[field_name]
    if attributes.get("enabled") is not None:
        if not isinstance(attributes["enabled"], bool):
            return {}, "attributes.enabled must be true or false"
        out["enabled"] = attributes["enabled"]
    if body.get("tags") is not None:
        tags = body["tags"]
        if not isinstance(tags, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in tags.items()
        ):
            return {}, "tags must be an object of strings"
        if len(tags) > 15:
            return {}, f"tags has {len(tags)} entries; at most 15 are allowed"
        out["tags"] = tags
    if body.get("contentType") is not None:
        if not isinstance(body["contentType"], str):
            return {}, "contentType must be a string"
        out["content_type"] = body["contentType"]
    return out, None


def _bad(message: str) -> Response:
    return azure_error(400, "BadParameter", message)


def _secret_not_found(name: str, version: str = "") -> Response:
    which = f"({name}/{version})" if version else f"({name})"
    return azure_error(
        404,
        "SecretNotFound",
        f"A secret with (name/id) {which} was not found in this key vault. If you recently "
        "deleted this secret you may be able to recover it using the correct recovery command.",
    )


def _deleted_not_found(name: str) -> Response:
    return azure_error(404, "SecretNotFound", f"Deleted Secret not found: {name}")


def _max_results(request: Request) -> Response | None:
    raw = request.args.get("maxresults")
    if raw is None or (raw.isdigit() and 1 <= int(raw) <= 25):
        return None
    return _bad(f"maxresults {raw!r} is invalid; it must be between 1 and 25.")


def _secret_fields(request: Request, *, set_value: bool) -> tuple[dict[str, Any], Response | None]:
    """The body of a set (with its value) or update call, checked, or Key Vault's 400."""
    try:
        body = body_json(request)
    except ValueError:
        return {}, _bad("The request body is not valid JSON.")
    if set_value and (not isinstance(body, dict) or not isinstance(body.get("value"), str)):
        return {}, _bad("Property 'value' is required and must be a string.")
    if not isinstance(body, dict):
        return {}, _bad("The request body must be a JSON object.")
    fields, problem = _read_attributes(body)
    if problem:
        return {}, _bad(f"Invalid secret properties: {problem}.")
    if set_value:
        fields["value"] = body["value"]
    return fields, None


def _token_refusal(refused: TokenRefused) -> str:
    if refused.reason == "missing":
        return "AKV10000: Request is missing a Bearer or PoP token."
    if refused.reason == "invalid":
        return "AKV10032: Invalid or expired token."
    return (
        f"AKV10022: Invalid audience. Expected https://vault.azure.net, found: {refused.audience}."
    )


def operation(*, listing: bool = False, **actions: str) -> Callable[[Handler], Handler]:
    """Declare the RBAC action a handler needs per HTTP method (``ANY``: every method); other
    methods get 405. ``listing``: the call takes ``maxresults`` (1-25)."""

    def declare(handler: Handler) -> Handler:
        handler.actions = actions  # type: ignore[attr-defined]
        handler.listing = listing  # type: ignore[attr-defined]
        return handler

    return declare


class KeyVault(Service):
    """Every call passes the gate first: the method, then the vault, api-version, the bearer
    challenge and RBAC, in Key Vault's order (:meth:`dispatch`); handlers get the vault."""

    name = "keyvault"
    throttled_code = "Throttled"

    def dispatch(self, handler: str, request: Request, params: dict[str, str]) -> Any:
        method = getattr(self, handler)
        action = method.actions.get(request.method) or method.actions.get("ANY")
        if action is None:
            return azure_error(405, "MethodNotAllowed", f"{request.method} is not allowed here.")
        arguments = dict(params)
        vault = self._gate(request, arguments.pop("vault"), action, arguments.get("name"))
        if isinstance(vault, Response):
            return vault
        return (method.listing and _max_results(request)) or method(request, vault, **arguments)

    def _gate(
        self, request: Request, vault_name: str, action: str, secret: str | None
    ) -> Vault | Response:
        """The vault, or Key Vault's answer; the scope checked is the secret's when ``secret``
        is given, else the vault's."""
        vault = self.state.vaults.get(vault_name)
        if vault is None:
            return azure_error(404, "VaultNotFound", f"The vault '{vault_name}' does not exist.")
        version = request.args.get("api-version")
        if version is None:
            return _bad("The api-version query parameter is missing.")
        if version not in KEYVAULT_API_VERSIONS:
            return _bad(
                f"The specified version ({version}) is not recognized. Consider using the latest "
                f"supported version ({KEYVAULT_API_VERSIONS[0]}).",
            )
        info = authenticate(self.state, bearer(request), KEYVAULT_AUDIENCES)
        if not isinstance(info, TokenInfo):
            challenge = {
                "WWW-Authenticate": (
                    f'Bearer authorization="https://login.microsoftonline.com/{vault.tenant_id}", '
                    'resource="https://vault.azure.net"'
                )
            }
            return azure_error(401, "Unauthorized", _token_refusal(info), headers=challenge)
        scope = vault.secret_id(secret) if secret is not None else vault.id
        if not self.state.is_authorized(info.principal_id, action, scope, data=True):
            return azure_error(
                403,
                "Forbidden",
                "Caller is not authorized to perform action on resource.\n"
                f"Caller: oid={info.principal_id}\nAction: '{action}'\nResource: '{scope.lower()}'",
                innererror={"code": "ForbiddenByRbac"},
            )
        return vault

    @operation(PUT=ACTION_SET_SECRET)
    def set_secret(self, request: Request, vault: Vault, name: str) -> Response:
        if not _SECRET_NAME.match(name):
            return _bad(f"The request URI contains an invalid name: {name}")
        fields, failure = _secret_fields(request, set_value=True)
        if failure:
            return failure
        if vault.find_deleted(name) is not None:
            return azure_error(
                409,
                "Conflict",
                f"Secret {name} is currently in a deleted but recoverable state, and its name "
                "cannot be reused; in this state, the secret can only be recovered or purged.",
                innererror={"code": "ObjectIsDeletedButRecoverable"},
            )
        version = self.state.set_secret(vault.name, name, fields.pop("value"), **fields)
        stored = vault.find(name)
        assert stored is not None
        return json_response(200, _secret_json(vault, stored[0], version, value=True))

    @operation(DELETE=ACTION_DELETE_SECRET)
    def delete_secret(self, request: Request, vault: Vault, name: str) -> Response:
        deleted = self.state.delete_secret(vault.name, name)
        if deleted is None:
            return _secret_not_found(name)
        return json_response(200, _deleted_json(vault, *deleted))

    @operation(GET=ACTION_READ_SECRET_METADATA)
    def deleted_secret(self, request: Request, vault: Vault, name: str) -> Response:
        with self.state.lock:
            found = vault.find_deleted(name)
            if found is None:
                return _deleted_not_found(name)
            return json_response(200, _deleted_json(vault, *found))

    @operation(POST=ACTION_RECOVER_SECRET)
    def recover_secret(self, request: Request, vault: Vault, name: str) -> Response:
        recovered = self.state.recover_secret(vault.name, name)
        if recovered is None:
            return _deleted_not_found(name)
        stored, versions = recovered
        return json_response(200, _secret_json(vault, stored, versions[-1], value=False))

    @operation(GET=ACTION_GET_SECRET, PATCH=ACTION_UPDATE_SECRET)
    def secret(self, request: Request, vault: Vault, name: str, version: str) -> Response:
        """GET (read, latest when ``version`` is empty) or PATCH (update) one version."""
        if request.method == "PATCH":
            fields, failure = _secret_fields(request, set_value=False)
            if failure:
                return failure
        with self.state.lock:
            found = vault.find(name)
            versions = found[1] if found else []
            if not version:
                chosen = versions[-1] if versions else None
            else:
                chosen = next((v for v in versions if v.version == version), None)
            if found is None or chosen is None:
                return _secret_not_found(name, version)
            if request.method == "GET":
                if not chosen.enabled:
                    return azure_error(
                        403,
                        "Forbidden",
                        "Operation get is not allowed on a disabled secret.",
                        innererror={"code": "SecretDisabled"},
                    )
                return json_response(200, _secret_json(vault, found[0], chosen, value=True))
            for key, value in fields.items():
                setattr(chosen, key, dict(value) if key == "tags" else value)
            chosen.updated = int(self.state.clock())
            return json_response(200, _secret_json(vault, found[0], chosen, value=False))

    @operation(GET=ACTION_READ_SECRET_METADATA, listing=True)
    def versions(self, request: Request, vault: Vault, name: str) -> Response:
        with self.state.lock:
            found = vault.find(name)
            if found is None:
                return _secret_not_found(name)
            stored, versions = found
            items = [_secret_json(vault, stored, v, value=False) for v in versions]
        return json_response(200, {"value": items, "nextLink": None})

    @operation(GET=ACTION_READ_SECRET_METADATA, listing=True)
    def list_secrets(self, request: Request, vault: Vault) -> Response:
        items = []
        with self.state.lock:
            for stored, versions in vault.secrets.items():
                item = _secret_json(vault, stored, versions[-1], value=False)
                item["id"] = f"https://{vault.name}.vault.azure.net/secrets/{stored}"
                items.append(item)
        return json_response(200, {"value": items, "nextLink": None})

    @operation(ANY=ACTION_READ_SECRET_METADATA)
    def not_found(self, request: Request, vault: Vault) -> Response:
        return azure_error(404, "NotFound", f"No Key Vault operation matches {request.path}.")


_HOST = "<label:vault>.vault.azure.net"


def _route(path: str, handler: str, counted_as: str | None, **kwargs: Any) -> Route:
    return Route(path, host=_HOST, endpoint=f"keyvault.{handler}", counted_as=counted_as, **kwargs)


ROUTES = [
    _route("/secrets", "list_secrets", "/secrets"),
    _route("/secrets/<name>", "set_secret", "/secrets/{name}", methods=["PUT"]),
    _route("/secrets/<name>", "delete_secret", "/secrets/{name}", methods=["DELETE"]),
    _route("/secrets/<name>", "secret", "/secrets/{name}/{version}", defaults={"version": ""}),
    _route("/secrets/<name>/versions", "versions", "/secrets/{name}/versions"),
    _route("/secrets/<name>/<version>", "secret", "/secrets/{name}/{version}"),
    _route("/deletedsecrets/<name>", "deleted_secret", "/deletedsecrets/{name}", methods=["GET"]),
    _route(
        "/deletedsecrets/<name>/recover",
        "recover_secret",
        "/deletedsecrets/{name}/recover",
        methods=["POST"],
    ),
    _route("/", "not_found", None),
    _route("/<path:_path>", "not_found", None),
]
