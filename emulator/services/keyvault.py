"""Key Vault secrets (``{vault}.vault.azure.net``): set, get, update, list, versions, soft
delete and recover, behind Key Vault's 401 bearer challenge and RBAC (permission model RBAC)."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from werkzeug.wrappers import Request, Response

from emulator.errors import EmulatorError, azure_error, body_json, json_response
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
        return (
            f"/subscriptions/{self.subscription}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.KeyVault/vaults/{self.name}"
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


class KeyVaultState(RbacState, IdentityState):
    """The vaults, their secrets and their soft-deleted secrets."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.vaults: dict[str, Vault] = {}

    def add_vault(self, name: str, *, resource_group: str | None = None) -> Vault:
        """Create an empty Key Vault in RBAC mode."""
        with self.lock:
            key = name.lower()
            if key in self.vaults:
                raise EmulatorError(f"vault {name!r} already exists")
            vault = Vault(
                name=key,
                subscription=self.subscription,
                resource_group=resource_group or self.resource_group,
                tenant_id=self.tenant_id,
            )
            self.vaults[key] = vault
            return vault

    def vault(self, name: str) -> Vault:
        with self.lock:
            if name.lower() not in self.vaults:
                raise EmulatorError(f"vault {name!r} does not exist")
            return self.vaults[name.lower()]

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
            found = target.find(name)
            if found is None:
                return None
            stored, versions = found
            del target.secrets[stored]
            record = DeletedSecret(versions, int(self.clock()))
            target.deleted[stored] = record
            return stored, record

    def recover_secret(self, vault: str, name: str) -> tuple[str, list[SecretVersion]] | None:
        """Bring a deleted secret back with all its versions, or None when none is deleted."""
        with self.lock:
            target = self.vault(vault)
            found = target.find_deleted(name)
            if found is None:
                return None
            stored, record = found
            del target.deleted[stored]
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


def _method_not_allowed(request: Request) -> Response:
    return azure_error(405, "MethodNotAllowed", f"{request.method} is not allowed here.")


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


class KeyVault(Service):
    name = "keyvault"
    throttled_code = "Throttled"

    def _gate(
        self, request: Request, vault_name: str, action: str, secret: str | None = None
    ) -> Vault | Response:
        """Vault lookup, api-version, the bearer challenge and RBAC, in Key Vault's order; the
        scope checked is the secret's when ``secret`` is given, else the vault's."""
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

    def set_secret(self, request: Request, vault: str, name: str) -> Response:
        target = self._gate(request, vault, ACTION_SET_SECRET, name)
        if isinstance(target, Response):
            return target
        if not _SECRET_NAME.match(name):
            return _bad(f"The request URI contains an invalid name: {name}")
        fields, failure = _secret_fields(request, set_value=True)
        if failure:
            return failure
        if target.find_deleted(name) is not None:
            return azure_error(
                409,
                "Conflict",
                f"Secret {name} is currently in a deleted but recoverable state, and its name "
                "cannot be reused; in this state, the secret can only be recovered or purged.",
                innererror={"code": "ObjectIsDeletedButRecoverable"},
            )
        version = self.state.set_secret(vault, name, fields.pop("value"), **fields)
        stored = target.find(name)
        assert stored is not None
        return json_response(200, _secret_json(target, stored[0], version, value=True))

    def delete_secret(self, request: Request, vault: str, name: str) -> Response:
        target = self._gate(request, vault, ACTION_DELETE_SECRET, name)
        if isinstance(target, Response):
            return target
        deleted = self.state.delete_secret(vault, name)
        if deleted is None:
            return _secret_not_found(name)
        return json_response(200, _deleted_json(target, *deleted))

    def deleted_secret(self, request: Request, vault: str, name: str) -> Response:
        target = self._gate(request, vault, ACTION_READ_SECRET_METADATA, name)
        if isinstance(target, Response):
            return target
        with self.state.lock:
            found = target.find_deleted(name)
            if found is None:
                return _deleted_not_found(name)
            return json_response(200, _deleted_json(target, *found))

    def recover_secret(self, request: Request, vault: str, name: str) -> Response:
        target = self._gate(request, vault, ACTION_RECOVER_SECRET, name)
        if isinstance(target, Response):
            return target
        recovered = self.state.recover_secret(vault, name)
        if recovered is None:
            return _deleted_not_found(name)
        stored, versions = recovered
        return json_response(200, _secret_json(target, stored, versions[-1], value=False))

    def secret(self, request: Request, vault: str, name: str, version: str) -> Response:
        """GET (read, latest when ``version`` is empty) or PATCH (update) one version."""
        actions = {"GET": ACTION_GET_SECRET, "PATCH": ACTION_UPDATE_SECRET}
        if request.method not in actions:
            return _method_not_allowed(request)
        target = self._gate(request, vault, actions[request.method], name)
        if isinstance(target, Response):
            return target
        if request.method == "PATCH":
            fields, failure = _secret_fields(request, set_value=False)
            if failure:
                return failure
        with self.state.lock:
            found = target.find(name)
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
                return json_response(200, _secret_json(target, found[0], chosen, value=True))
            for key, value in fields.items():
                setattr(chosen, key, dict(value) if key == "tags" else value)
            chosen.updated = int(self.state.clock())
            return json_response(200, _secret_json(target, found[0], chosen, value=False))

    def _listing(self, request: Request, vault: str, name: str | None) -> Vault | Response:
        """The gate of a metadata listing (GET only, maxresults 1-25)."""
        if request.method != "GET":
            return _method_not_allowed(request)
        target = self._gate(request, vault, ACTION_READ_SECRET_METADATA, name)
        if isinstance(target, Response):
            return target
        return _max_results(request) or target

    def versions(self, request: Request, vault: str, name: str) -> Response:
        target = self._listing(request, vault, name)
        if isinstance(target, Response):
            return target
        with self.state.lock:
            found = target.find(name)
            if found is None:
                return _secret_not_found(name)
            stored, versions = found
            items = [_secret_json(target, stored, v, value=False) for v in versions]
        return json_response(200, {"value": items, "nextLink": None})

    def list_secrets(self, request: Request, vault: str) -> Response:
        target = self._listing(request, vault, None)
        if isinstance(target, Response):
            return target
        items = []
        with self.state.lock:
            for stored, versions in target.secrets.items():
                item = _secret_json(target, stored, versions[-1], value=False)
                item["id"] = f"https://{target.name}.vault.azure.net/secrets/{stored}"
                items.append(item)
        return json_response(200, {"value": items, "nextLink": None})

    def not_found(self, request: Request, vault: str) -> Response:
        target = self._gate(request, vault, ACTION_READ_SECRET_METADATA)
        if isinstance(target, Response):
            return target
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
