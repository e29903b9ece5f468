"""The emulator's WSGI app: routes by Host header to the emulated Azure endpoints."""

from __future__ import annotations

import json
import re
import secrets
import time
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.wrappers import Request, Response

from emulator import inference
from emulator.state import (
    ACTION_CHAT,
    ACTION_DELETE_SECRET,
    ACTION_GET_SECRET,
    ACTION_LIST_KEYS,
    ACTION_READ_ACCOUNT,
    ACTION_READ_SECRET_METADATA,
    ACTION_READ_SITE_CONFIG,
    ACTION_RECOVER_SECRET,
    ACTION_REGENERATE_KEY,
    ACTION_SET_SECRET,
    ACTION_UPDATE_SECRET,
    ACTION_WRITE_SITE_CONFIG,
    ARM_AUDIENCES,
    COGNITIVE_AUDIENCES,
    KEYVAULT_AUDIENCES,
    Account,
    AzureState,
    DeletedSecret,
    EmulatorError,
    ReferenceStatus,
    SecretVersion,
    Site,
    TokenInfo,
    Vault,
)

# The versions azure-keyvault-secrets 4.12 can send (its default is the first); others get 400.
KEYVAULT_API_VERSIONS = ("2026-04-01", "2025-07-01", "7.6", "7.5", "7.4")
IDENTITY_API_VERSION = "2019-08-01"
LOOPBACK_HOSTS = ("localhost", "127.0.0.1")
ADMIN_PREFIX = "/_emulator/"
_SECRET_NAME = re.compile(r"^[0-9A-Za-z-]{1,127}$")
_ARM_ACCOUNT = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)/providers/"
    r"Microsoft\.CognitiveServices/accounts/(?P<name>[^/]+)(?P<op>/listKeys|/regenerateKey)?/?$",
    re.IGNORECASE,
)
_ARM_SITE_REFS = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)/providers/Microsoft\.Web/"
    r"sites/(?P<name>[^/]+)/config/configreferences/appsettings(?:/(?P<key>[^/]+))?/?$",
    re.IGNORECASE,
)
_ARM_SITE_INSTANCES = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)/providers/Microsoft\.Web/"
    r"sites/(?P<name>[^/]+)/instances/?$",
    re.IGNORECASE,
)
_LOGIN = re.compile(
    r"^/(?P<tenant>[^/]+)(?P<op>/v2\.0/\.well-known/openid-configuration|/oauth2/v2\.0/token)$"
)
_JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
GITHUB_OIDC_HOST = "pipelines.actions.githubusercontent.com"
_INVALID_KEY_MESSAGE = (
    "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a "
    "valid key for an active subscription and use a correct regional API endpoint for your "
    "resource."
)


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(body),
        status=status,
        headers=headers or {},
        content_type="application/json; charset=utf-8",
    )


def _error(status: int, code: str, message: str, **extra: Any) -> Response:
    error: dict[str, Any] = {"code": code, "message": message}
    headers = extra.pop("headers", None)
    error.update(extra)
    return _json(status, {"error": error}, headers)


def _bearer(request: Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _body_json(request: Request) -> Any:
    """The request's JSON body, or raises ValueError."""
    return json.loads(request.get_data(as_text=True) or "null")


def _audience_ok(info: TokenInfo, audiences: Iterable[str]) -> bool:
    return info.resource.lower() in {a.lower() for a in audiences}


class EmulatorApp:
    """WSGI app serving every emulated host from one :class:`AzureState`.

    ``admin_token``: when set, the admin endpoints under ``http(s)://127.0.0.1/_emulator/`` need
    it in the ``X-Emulator-Admin`` header (the process mode sets one).
    """

    def __init__(self, state: AzureState, *, admin_token: str | None = None) -> None:
        self.state = state
        self.admin_token = admin_token

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable:
        request = Request(environ)
        host = request.host.rsplit(":", 1)[0].lower() if request.host else ""
        path = request.path
        if host in LOOPBACK_HOSTS and path.startswith(ADMIN_PREFIX):
            return self._admin(request, path)(environ, start_response)
        handler, route, params = self._route(host, request.method, path)
        self.state.count(host, request.method, route)
        decision = self.state.decide_faults(host, request.method, path)
        if decision.latency:
            time.sleep(decision.latency)
        if decision.status is not None:
            response = self._fault_response(host, decision.status, decision.retry_after)
            return response(environ, start_response)
        site_app = self._mounted_site(host, request.cookies.get("ARRAffinity"))
        if site_app is not None:
            return site_app(environ, start_response)
        return handler(request, **params)(environ, start_response)

    def _mounted_site(self, host: str, affinity: str | None) -> Callable[..., Any] | None:
        if not host.endswith(".azurewebsites.net"):
            return None
        with self.state.lock:
            site = self.state.sites.get(host.split(".")[0])
            if site is None:
                return None
            instance = site.pick_instance(affinity)
            return site.instance_apps.get(instance, site.wsgi_app)

    # ---- routing -------------------------------------------------------------------------

    def _route(
        self, host: str, method: str, path: str
    ) -> tuple[Callable[..., Response], str, dict[str, str]]:
        if host in LOOPBACK_HOSTS and path.lower().rstrip("/") == "/msi/token":
            return self._token, "/MSI/token", {}
        if host == "login.microsoftonline.com":
            match = _LOGIN.match(path)
            if match and match.group("op") == "/v2.0/.well-known/openid-configuration":
                return self._openid_configuration, "openid-configuration", match.groupdict()
            if match:
                return self._client_credentials, "/{tenant}/oauth2/v2.0/token", match.groupdict()
            if path == "/common/discovery/instance":
                return self._instance_discovery, path, {}
            return self._unknown_host, path, {"host": host}
        if host.endswith(".vault.azure.net"):
            vault = host.split(".")[0]
            segments = path.split("/")[1:]
            if segments[:1] == ["secrets"]:
                if len(segments) == 1 or (len(segments) == 2 and segments[1] == ""):
                    return self._kv_list_secrets, "/secrets", {"vault": vault}
                name = segments[1]
                rest = segments[2:]
                if rest in ([], [""]) and method == "PUT":
                    return self._kv_set, "/secrets/{name}", {"vault": vault, "name": name}
                if rest in ([], [""]) and method == "DELETE":
                    return self._kv_delete, "/secrets/{name}", {"vault": vault, "name": name}
                if rest in (["versions"], ["versions", ""]):
                    return (
                        self._kv_versions,
                        "/secrets/{name}/versions",
                        {"vault": vault, "name": name},
                    )
                if len(rest) <= 1:
                    version = rest[0] if rest else ""
                    return (
                        self._kv_secret,
                        "/secrets/{name}/{version}",
                        {"vault": vault, "name": name, "version": version},
                    )
            if segments[:1] == ["deletedsecrets"] and len(segments) >= 2 and segments[1]:
                params = {"vault": vault, "name": segments[1]}
                if segments[2:] in ([], [""]) and method == "GET":
                    return self._kv_deleted, "/deletedsecrets/{name}", params
                if segments[2:] == ["recover"] and method == "POST":
                    return self._kv_recover, "/deletedsecrets/{name}/recover", params
            return self._kv_not_found, path, {"vault": vault}
        if host == "management.azure.com":
            match = _ARM_ACCOUNT.match(path)
            if match:
                op = (match.group("op") or "").lower()
                route = {"": "account", "/listkeys": "listKeys", "/regeneratekey": "regenerateKey"}
                params = {k: match.group(k) for k in ("sub", "rg", "name")}
                return self._arm_account, f"accounts/{route[op]}", dict(params, op=route[op])
            match = _ARM_SITE_INSTANCES.match(path)
            if match:
                params = {k: match.group(k) for k in ("sub", "rg", "name")}
                return self._arm_site_instances, "sites/instances", params
            match = _ARM_SITE_REFS.match(path)
            if match:
                params = {k: match.group(k) or "" for k in ("sub", "rg", "name", "key")}
                # The refresh POST counts under ".../{key}" too (key "refresh").
                route = "configreferences/appsettings" + ("/{key}" if params["key"] else "")
                return self._arm_site_refs, route, params
            return self._arm_no_route, path, {}
        if host.endswith((".openai.azure.com", ".cognitiveservices.azure.com")):
            match = inference.INFERENCE.match(path)
            params = {"subdomain": host.split(".")[0]}
            if match:
                operation = match.group("operation")
                params.update(deployment=match.group("deployment"), operation=operation)
                return self._chat, f"/openai/deployments/{{deployment}}/{operation}", params
            return self._ai_not_found, path, params
        if host.endswith(".azurewebsites.net"):
            return self._site_unavailable, "site", {"host": host}
        if host == GITHUB_OIDC_HOST:
            return self._github_oidc, "idtoken", {}
        return self._unknown_host, path, {"host": host}

    def _fault_response(self, host: str, status: int, retry_after: float | None) -> Response:
        headers = {}
        if retry_after is not None:
            headers["Retry-After"] = str(max(0, round(retry_after)))
        if status == 429:
            code = "Throttled" if host.endswith(".vault.azure.net") else "TooManyRequests"
            message = "Request was not processed because too many requests were received."
        else:
            code = {500: "InternalServerError", 502: "BadGateway", 503: "ServiceUnavailable"}.get(
                status, f"Http{status}"
            )
            message = f"Injected fault: HTTP {status}."
        return _error(status, code, message, headers=headers)

    def _github_oidc(self, request: Request) -> Response:
        # GitHub's ID token endpoint (ACTIONS_ID_TOKEN_REQUEST_URL): a bearer runtime token in,
        # {"value": <OIDC token>} out, for the audience asked.
        header = request.headers.get("Authorization", "")
        scheme, _, runtime_token = header.partition(" ")
        audience = request.args.get("audience") or "https://github.com"
        token = None
        if scheme.lower() == "bearer" and request.method == "GET":
            token = self.state.github_oidc_token(runtime_token.strip(), audience)
        if token is None:
            return _json(401, {"message": "Unauthorized: the job has no id-token permission."})
        return _json(200, {"count": len(token), "value": token})

    def _unknown_host(self, request: Request, host: str) -> Response:
        return _error(404, "HostNotFound", f"The emulator serves no host named '{host}'.")

    def _site_unavailable(self, request: Request, host: str) -> Response:
        name = host.split(".")[0]
        if name not in self.state.sites:
            return _error(404, "SiteNotFound", f"The web app '{name}' does not exist.")
        return _error(503, "SiteNotStarted", f"The web app '{name}' has no running instance.")

    # ---- managed identity ----------------------------------------------------------------

    def _token(self, request: Request) -> Response:
        def failure(status: int, message: str) -> Response:
            return _json(status, {"statusCode": status, "message": message})

        if request.method != "GET":
            return failure(405, f"Method {request.method} is not allowed on the token endpoint.")
        version = request.args.get("api-version")
        if version != IDENTITY_API_VERSION:
            return failure(400, f"api-version {version!r} is not supported; use 2019-08-01.")
        resource = request.args.get("resource")
        if not resource:
            return failure(400, "The 'resource' query parameter is required.")
        header = request.headers.get("X-IDENTITY-HEADER", "")
        selector = {
            k: request.args[k] for k in ("client_id", "object_id", "mi_res_id") if k in request.args
        }
        if not self.state.header_known(header):
            return failure(401, "The X-IDENTITY-HEADER is missing or does not match.")
        identity = self.state.principal_for(header, selector)
        if identity is None and selector:
            return failure(400, f"No managed identity matches {selector} on this host.")
        if identity is None:
            return failure(400, "This host has no system-assigned managed identity.")
        token, expires_on = self.state.issue_token(identity.principal_id, resource)
        return _json(
            200,
            {
                "access_token": token,
                "expires_on": str(expires_on),
                "resource": resource,
                "token_type": "Bearer",
                "client_id": identity.client_id,
            },
        )

    # ---- Entra ID client credentials -----------------------------------------------------

    def _tenant_error(self, tenant: str) -> Response | None:
        if tenant.lower() == self.state.tenant_id.lower():
            return None
        return _json(
            400,
            {
                "error": "invalid_tenant",
                "error_description": f"AADSTS90002: Tenant '{tenant}' not found.",
            },
        )

    def _openid_configuration(self, request: Request, tenant: str, op: str) -> Response:
        failure = self._tenant_error(tenant)
        if failure:
            return failure
        base = f"https://login.microsoftonline.com/{self.state.tenant_id}"
        return _json(
            200,
            {
                "issuer": f"{base}/v2.0",
                "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                "token_endpoint": f"{base}/oauth2/v2.0/token",
                "token_endpoint_auth_methods_supported": ["client_secret_post"],
                "tenant_region_scope": "EU",
                "cloud_instance_name": "microsoftonline.com",
            },
        )

    def _instance_discovery(self, request: Request) -> Response:
        # MSAL asks this after a failed sign-in to learn the cloud's host aliases.
        base = f"https://login.microsoftonline.com/{self.state.tenant_id}"
        return _json(
            200,
            {
                "tenant_discovery_endpoint": f"{base}/v2.0/.well-known/openid-configuration",
                "api-version": "1.1",
                "metadata": [
                    {
                        "preferred_network": "login.microsoftonline.com",
                        "preferred_cache": "login.windows.net",
                        "aliases": [
                            "login.microsoftonline.com",
                            "login.windows.net",
                            "login.microsoft.com",
                            "sts.windows.net",
                        ],
                    }
                ],
            },
        )

    def _client_credentials(self, request: Request, tenant: str, op: str) -> Response:
        def failure(status: int, error: str, description: str) -> Response:
            return _json(status, {"error": error, "error_description": description})

        if request.method != "POST":
            return failure(405, "invalid_request", "AADSTS900561: The endpoint only accepts POST.")
        tenant_failure = self._tenant_error(tenant)
        if tenant_failure:
            return tenant_failure
        form = request.form
        if form.get("grant_type") != "client_credentials":
            return failure(
                400,
                "unsupported_grant_type",
                f"AADSTS70003: grant_type {form.get('grant_type')!r} is not supported here.",
            )
        client_id = form.get("client_id", "")
        if form.get("client_assertion_type") == _JWT_BEARER:
            identity, problem = self.state.federated_principal(
                client_id, form.get("client_assertion", "")
            )
            if identity is None:
                return failure(401, "invalid_client", problem)
        elif client_id not in self.state.client_secrets:
            return failure(
                400,
                "unauthorized_client",
                f"AADSTS700016: Application with identifier '{client_id}' was not found.",
            )
        else:
            identity = self.state.client_credentials_principal(
                client_id, form.get("client_secret", "")
            )
            if identity is None:
                return failure(
                    401, "invalid_client", "AADSTS7000215: Invalid client secret provided."
                )
        scopes = form.get("scope", "").split()
        resources = [s.removesuffix("/.default") for s in scopes if s.endswith("/.default")]
        if len(resources) != 1:
            return failure(
                400,
                "invalid_scope",
                f"AADSTS1002012: scope {form.get('scope', '')!r} must be one "
                "'<resource>/.default'.",
            )
        token, expires_on = self.state.issue_token(identity.principal_id, resources[0])
        lifetime = expires_on - int(time.time())
        return _json(
            200,
            {
                "token_type": "Bearer",
                "expires_in": lifetime,
                "ext_expires_in": lifetime,
                "access_token": token,
            },
        )

    # ---- Key Vault -----------------------------------------------------------------------

    def _kv_gate(
        self, request: Request, vault_name: str, action: str, resource_id: str | None = None
    ) -> tuple[Vault | None, Response | None]:
        """Vault lookup, api-version, the bearer challenge and RBAC, in Key Vault's order."""
        vault = self.state.vaults.get(vault_name)
        if vault is None:
            return None, _error(404, "VaultNotFound", f"The vault '{vault_name}' does not exist.")
        version = request.args.get("api-version")
        if version is None:
            return None, _error(400, "BadParameter", "The api-version query parameter is missing.")
        if version not in KEYVAULT_API_VERSIONS:
            return None, _error(
                400,
                "BadParameter",
                f"The specified version ({version}) is not recognized. Consider using the latest "
                f"supported version ({KEYVAULT_API_VERSIONS[0]}).",
            )
        challenge = {
            "WWW-Authenticate": (
                f'Bearer authorization="https://login.microsoftonline.com/{vault.tenant_id}", '
                'resource="https://vault.azure.net"'
            )
        }
        token = _bearer(request)
        if token is None:
            return None, _error(
                401,
                "Unauthorized",
                "AKV10000: Request is missing a Bearer or PoP token.",
                headers=challenge,
            )
        info = self.state.token_info(token)
        if info is None:
            return None, _error(
                401, "Unauthorized", "AKV10032: Invalid or expired token.", headers=challenge
            )
        if not _audience_ok(info, KEYVAULT_AUDIENCES):
            return None, _error(
                401,
                "Unauthorized",
                f"AKV10022: Invalid audience. Expected https://vault.azure.net, found: "
                f"{info.resource}.",
                headers=challenge,
            )
        scope = resource_id or vault.id
        if not self.state.is_authorized(info.principal_id, action, scope, data=True):
            return None, _error(
                403,
                "Forbidden",
                "Caller is not authorized to perform action on resource.\n"
                f"Caller: oid={info.principal_id}\nAction: '{action}'\nResource: '{scope.lower()}'",
                innererror={"code": "ForbiddenByRbac"},
            )
        return vault, None

    @staticmethod
    def _secret_json(vault: Vault, name: str, version: SecretVersion, *, value: bool) -> dict:
        attributes: dict[str, Any] = {
            "enabled": version.enabled,
            "created": version.created,
            "updated": version.updated,
            "recoveryLevel": "Recoverable",
            "recoverableDays": 90,
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

    @staticmethod
    def _secret_not_found(name: str, version: str = "") -> Response:
        which = f"({name}/{version})" if version else f"({name})"
        return _error(
            404,
            "SecretNotFound",
            f"A secret with (name/id) {which} was not found in this key vault. If you recently "
            "deleted this secret you may be able to recover it using the correct recovery command.",
        )

    @staticmethod
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

    def _kv_set(self, request: Request, vault: str, name: str) -> Response:
        target, failure = self._kv_gate(
            request, vault, ACTION_SET_SECRET, self._secret_scope(vault, name)
        )
        if failure:
            return failure
        assert target is not None
        if not _SECRET_NAME.match(name):
            return _error(400, "BadParameter", f"The request URI contains an invalid name: {name}")
        try:
            body = _body_json(request)
        except ValueError:
            return _error(400, "BadParameter", "The request body is not valid JSON.")
        if not isinstance(body, dict) or not isinstance(body.get("value"), str):
            return _error(400, "BadParameter", "Property 'value' is required and must be a string.")
        fields, problem = self._read_attributes(body)
        if problem:
            return _error(400, "BadParameter", f"Invalid secret properties: {problem}.")
        if target.find_deleted(name) is not None:
            return _error(
                409,
                "Conflict",
                f"Secret {name} is currently in a deleted but recoverable state, and its name "
                "cannot be reused; in this state, the secret can only be recovered or purged.",
                innererror={"code": "ObjectIsDeletedButRecoverable"},
            )
        version = self.state.set_secret(vault, name, body["value"], **fields)
        stored = target.find(name)
        assert stored is not None
        return _json(200, self._secret_json(target, stored[0], version, value=True))

    def _deleted_json(self, target: Vault, name: str, record: DeletedSecret) -> dict:
        body = self._secret_json(target, name, record.versions[-1], value=False)
        body["recoveryId"] = f"https://{target.name}.vault.azure.net/deletedsecrets/{name}"
        body["deletedDate"] = record.deleted
        body["scheduledPurgeDate"] = record.deleted + 90 * 86_400
        return body

    def _kv_delete(self, request: Request, vault: str, name: str) -> Response:
        target, failure = self._kv_gate(
            request, vault, ACTION_DELETE_SECRET, self._secret_scope(vault, name)
        )
        if failure:
            return failure
        assert target is not None
        deleted = self.state.delete_secret(vault, name)
        if deleted is None:
            return self._secret_not_found(name)
        return _json(200, self._deleted_json(target, *deleted))

    def _kv_deleted(self, request: Request, vault: str, name: str) -> Response:
        target, failure = self._kv_gate(
            request, vault, ACTION_READ_SECRET_METADATA, self._secret_scope(vault, name)
        )
        if failure:
            return failure
        assert target is not None
        with self.state.lock:
            found = target.find_deleted(name)
            if found is None:
                return _error(404, "SecretNotFound", f"Deleted Secret not found: {name}")
            return _json(200, self._deleted_json(target, *found))

    def _kv_recover(self, request: Request, vault: str, name: str) -> Response:
        target, failure = self._kv_gate(
            request, vault, ACTION_RECOVER_SECRET, self._secret_scope(vault, name)
        )
        if failure:
            return failure
        assert target is not None
        recovered = self.state.recover_secret(vault, name)
        if recovered is None:
            return _error(404, "SecretNotFound", f"Deleted Secret not found: {name}")
        stored, versions = recovered
        return _json(200, self._secret_json(target, stored, versions[-1], value=False))

    def _secret_scope(self, vault: str, name: str) -> str | None:
        target = self.state.vaults.get(vault)
        return target.secret_id(name) if target else None

    def _find_version(
        self, target: Vault, name: str, version: str
    ) -> tuple[str, SecretVersion] | Response:
        found = target.find(name)
        if found is None or not found[1]:
            return self._secret_not_found(name, version)
        stored, versions = found
        if not version:
            return stored, versions[-1]
        chosen = next((v for v in versions if v.version == version), None)
        if chosen is None:
            return self._secret_not_found(name, version)
        return stored, chosen

    def _kv_secret(self, request: Request, vault: str, name: str, version: str) -> Response:
        if request.method == "GET":
            action = ACTION_GET_SECRET
        elif request.method == "PATCH":
            action = ACTION_UPDATE_SECRET
        else:
            return _error(405, "MethodNotAllowed", f"{request.method} is not allowed here.")
        target, failure = self._kv_gate(request, vault, action, self._secret_scope(vault, name))
        if failure:
            return failure
        assert target is not None
        if request.method == "PATCH":
            try:
                body = _body_json(request)
            except ValueError:
                return _error(400, "BadParameter", "The request body is not valid JSON.")
            if not isinstance(body, dict):
                return _error(400, "BadParameter", "The request body must be a JSON object.")
            fields, problem = self._read_attributes(body)
            if problem:
                return _error(400, "BadParameter", f"Invalid secret properties: {problem}.")
        with self.state.lock:
            found = self._find_version(target, name, version)
            if isinstance(found, Response):
                return found
            stored, chosen = found
            if request.method == "GET":
                if not chosen.enabled:
                    return _error(
                        403,
                        "Forbidden",
                        "Operation get is not allowed on a disabled secret.",
                        innererror={"code": "SecretDisabled"},
                    )
                return _json(200, self._secret_json(target, stored, chosen, value=True))
            for key, value in fields.items():
                setattr(chosen, key, dict(value) if key == "tags" else value)
            chosen.updated = int(self.state.clock())
            return _json(200, self._secret_json(target, stored, chosen, value=False))

    @staticmethod
    def _max_results(request: Request) -> Response | None:
        raw = request.args.get("maxresults")
        if raw is None:
            return None
        if not raw.isdigit() or not 1 <= int(raw) <= 25:
            return _error(
                400, "BadParameter", f"maxresults {raw!r} is invalid; it must be between 1 and 25."
            )
        return None

    def _kv_versions(self, request: Request, vault: str, name: str) -> Response:
        if request.method != "GET":
            return _error(405, "MethodNotAllowed", f"{request.method} is not allowed here.")
        target, failure = self._kv_gate(
            request, vault, ACTION_READ_SECRET_METADATA, self._secret_scope(vault, name)
        )
        if failure:
            return failure
        assert target is not None
        failure = self._max_results(request)
        if failure:
            return failure
        with self.state.lock:
            found = target.find(name)
            if found is None:
                return self._secret_not_found(name)
            stored, versions = found
            items = [self._secret_json(target, stored, v, value=False) for v in versions]
        return _json(200, {"value": items, "nextLink": None})

    def _kv_list_secrets(self, request: Request, vault: str) -> Response:
        if request.method != "GET":
            return _error(405, "MethodNotAllowed", f"{request.method} is not allowed here.")
        target, failure = self._kv_gate(request, vault, ACTION_READ_SECRET_METADATA)
        if failure:
            return failure
        assert target is not None
        failure = self._max_results(request)
        if failure:
            return failure
        items = []
        with self.state.lock:
            for stored, versions in target.secrets.items():
                item = self._secret_json(target, stored, versions[-1], value=False)
                item["id"] = f"https://{target.name}.vault.azure.net/secrets/{stored}"
                items.append(item)
        return _json(200, {"value": items, "nextLink": None})

    def _kv_not_found(self, request: Request, vault: str) -> Response:
        _, failure = self._kv_gate(request, vault, ACTION_READ_SECRET_METADATA)
        if failure:
            return failure
        return _error(404, "NotFound", f"No Key Vault operation matches {request.path}.")

    # ---- ARM -----------------------------------------------------------------------------

    def _arm_gate(
        self, request: Request, sub: str, rg: str, action: str, resource_id: str
    ) -> Response | None:
        if not request.args.get("api-version"):
            return _error(
                400,
                "MissingApiVersionParameter",
                "The api-version query parameter (?api-version=) is required for all requests.",
            )
        token = _bearer(request)
        challenge = {
            "WWW-Authenticate": (
                'Bearer authorization_uri="https://login.windows.net/", error="invalid_token", '
                'error_description="The authentication failed because of missing '
                "'Authorization' header.\""
            )
        }
        if token is None:
            return _error(
                401,
                "AuthenticationFailed",
                "Authentication failed. The 'Authorization' header is missing.",
                headers=challenge,
            )
        info = self.state.token_info(token)
        if info is None:
            return _error(
                401, "InvalidAuthenticationToken", "The access token is invalid or has expired."
            )
        if not _audience_ok(info, ARM_AUDIENCES):
            return _error(
                401,
                "InvalidAuthenticationTokenAudience",
                f"The access token has been obtained for wrong audience or resource "
                f"'{info.resource}'. It should exactly match with one of the allowed audiences "
                "'https://management.azure.com/'.",
            )
        if sub.lower() != self.state.subscription.lower():
            return _error(
                404, "SubscriptionNotFound", f"The subscription '{sub}' could not be found."
            )
        # ARM authorizes before it looks the resource group up, as Azure does.
        if not self.state.is_authorized(info.principal_id, action, resource_id, data=False):
            return _error(
                403,
                "AuthorizationFailed",
                f"The client '{info.principal_id}' with object id '{info.principal_id}' does not "
                f"have authorization to perform action '{action}' over scope '{resource_id}' or "
                "the scope is invalid. If access was recently granted, please refresh your "
                "credentials.",
            )
        known_groups = {self.state.resource_group.lower()}
        with self.state.lock:
            for resource in [*self.state.accounts.values(), *self.state.sites.values()]:
                known_groups.add(resource.resource_group.lower())
        if rg.lower() not in known_groups:
            return _error(
                404, "ResourceGroupNotFound", f"Resource group '{rg}' could not be found."
            )
        return None

    @staticmethod
    def _arm_not_found(kind: str, name: str, rg: str) -> Response:
        return _error(
            404,
            "ResourceNotFound",
            f"The Resource '{kind}/{name}' under resource group '{rg}' was not found. For more "
            "details please go to https://aka.ms/ARMResourceNotFoundFix",
        )

    def _arm_no_route(self, request: Request) -> Response:
        return _error(
            404, "InvalidResourceType", f"The emulator has no ARM operation for '{request.path}'."
        )

    def _arm_account(self, request: Request, sub: str, rg: str, name: str, op: str) -> Response:
        expected = {"account": "GET", "listKeys": "POST", "regenerateKey": "POST"}[op]
        if request.method != expected:
            return _error(
                405,
                "MethodNotAllowed",
                f"The requested resource does not support http method '{request.method}'.",
            )
        action = {
            "account": ACTION_READ_ACCOUNT,
            "listKeys": ACTION_LIST_KEYS,
            "regenerateKey": ACTION_REGENERATE_KEY,
        }[op]
        resource_id = (
            f"/subscriptions/{sub}/resourceGroups/{rg}/providers/"
            f"Microsoft.CognitiveServices/accounts/{name}"
        )
        failure = self._arm_gate(request, sub, rg, action, resource_id)
        if failure:
            return failure
        account = self.state.accounts.get(name)
        if account is None or account.resource_group.lower() != rg.lower():
            return self._arm_not_found("Microsoft.CognitiveServices/accounts", name, rg)
        if op == "account":
            return _json(200, self._account_json(account))
        if op == "listKeys":
            return _json(200, self.state.keys(account.name))
        try:
            body = _body_json(request)
        except ValueError:
            return _error(
                400,
                "InvalidRequestContent",
                "The request content was invalid and could not be deserialized.",
            )
        key_name = body.get("keyName") if isinstance(body, dict) else None
        if key_name not in ("Key1", "Key2"):
            shown = json.dumps(key_name) if not isinstance(key_name, str) else key_name
            return _error(
                400,
                "BadRequest",
                f"The key name '{shown}' is invalid. Valid values are 'Key1' and 'Key2'.",
            )
        try:
            self.state.regenerate_key(account.name, key_name.lower())
        except EmulatorError as exc:
            return _error(400, "BadRequest", str(exc))
        return _json(200, self.state.keys(account.name))

    @staticmethod
    def _account_json(account: Account) -> dict[str, Any]:
        openai = f"https://{account.subdomain}.openai.azure.com/"
        return {
            "id": account.id,
            "name": account.name,
            "type": "Microsoft.CognitiveServices/accounts",
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

    def _arm_site_instances(self, request: Request, sub: str, rg: str, name: str) -> Response:
        """GET {siteId}/instances (azure-mgmt-web web_apps.list_instance_identifiers)."""
        if request.method != "GET":
            return _error(
                405,
                "MethodNotAllowed",
                f"The requested resource does not support http method '{request.method}'.",
            )
        resource_id = (
            f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Web/sites/{name}"
        )
        failure = self._arm_gate(
            request, sub, rg, "Microsoft.Web/sites/instances/read", resource_id
        )
        if failure:
            return failure
        site = self.state.sites.get(name)
        if site is None or site.resource_group.lower() != rg.lower():
            return self._arm_not_found("Microsoft.Web/sites", name, rg)
        with self.state.lock:
            instances = list(site.instances)
        items = [
            {
                "id": f"{site.id}/instances/{instance}",
                "name": instance,
                "type": "Microsoft.Web/sites/instances",
                "properties": {"state": "READY", "statusUrl": None},
            }
            for instance in instances
        ]
        return _json(200, {"value": items, "nextLink": None})

    def _arm_site_refs(self, request: Request, sub: str, rg: str, name: str, key: str) -> Response:
        refresh = request.method == "POST" and key.lower() == "refresh"
        if not refresh and request.method != "GET":
            return _error(
                405,
                "MethodNotAllowed",
                f"The requested resource does not support http method '{request.method}'.",
            )
        resource_id = (
            f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Web/sites/{name}"
        )
        action = ACTION_WRITE_SITE_CONFIG if refresh else ACTION_READ_SITE_CONFIG
        failure = self._arm_gate(request, sub, rg, action, resource_id)
        if failure:
            return failure
        site = self.state.sites.get(name)
        if site is None or site.resource_group.lower() != rg.lower():
            return self._arm_not_found("Microsoft.Web/sites", name, rg)
        if refresh:
            self.state.refresh_references(site.name)
        with self.state.lock:
            references = dict(site.references)
        if key and not refresh:
            status = references.get(key)
            if status is None:
                return _error(
                    404,
                    "NotFound",
                    f"App setting '{key}' of site '{name}' holds no Key Vault reference.",
                )
            return _json(200, self._reference_json(site, status))
        items = [self._reference_json(site, s) for s in references.values()]
        return _json(200, {"value": items, "nextLink": None})

    def _reference_json(self, site: Site, status: ReferenceStatus) -> dict[str, Any]:
        if site.key_vault_reference_identity is not None:
            user = self.state.identities.get(site.key_vault_reference_identity)
            identity_type: dict[str, Any] = {
                "type": "UserAssigned",
                "userAssignedIdentities": (
                    {
                        user.resource_id: {
                            "principalId": user.principal_id,
                            "clientId": user.client_id,
                        }
                    }
                    if user
                    else {}
                ),
            }
        else:
            identity_type = {"type": "SystemAssigned" if site.identity else "None"}
        return {
            "id": f"{site.id}/config/configreferences/appsettings/{status.setting}",
            "name": status.setting,
            "type": "Microsoft.Web/sites/config/reference",
            "properties": {
                "reference": status.reference,
                "status": status.status,
                "vaultName": status.vault_name,
                "secretName": status.secret_name,
                "secretVersion": status.secret_version,
                "identityType": identity_type,
                "details": status.details,
                "source": "KeyVault",
                "activeVersion": status.active_version,
            },
        }

    # ---- AI data plane -------------------------------------------------------------------

    def _ai_not_found(self, request: Request, subdomain: str) -> Response:
        return _error(404, "404", "Resource not found")

    def _chat(self, request: Request, subdomain: str, deployment: str, operation: str) -> Response:
        account = self.state.account_by_subdomain(subdomain)
        if account is None or request.method != "POST":
            return _error(404, "404", "Resource not found")
        refused = inference.version_error(request.args.get("api-version"))
        if refused is not None:
            return refused
        api_key = request.headers.get("api-key")
        token = _bearer(request)
        if api_key is not None:
            if account.disable_local_auth:
                return _error(
                    403,
                    "AuthenticationTypeDisabled",
                    "Key based authentication is disabled for this resource.",
                )
            if not self.state.key_accepted(account, api_key):
                return _error(401, "401", _INVALID_KEY_MESSAGE)
        elif token is not None:
            info = self.state.token_info(token)
            if info is None or not _audience_ok(info, COGNITIVE_AUDIENCES):
                return _error(401, "401", "Access denied due to invalid or expired token.")
            if not self.state.is_authorized(info.principal_id, ACTION_CHAT, account.id, data=True):
                return _error(
                    401, "PermissionDenied", "Principal does not have access to API/Operation."
                )
        else:
            return _error(
                401,
                "401",
                "Access denied due to missing subscription key. Make sure to include "
                "subscription key when making requests to an API.",
            )
        if deployment not in account.deployments:
            return _error(
                404,
                "DeploymentNotFound",
                "The API deployment for this resource does not exist. If you created the "
                "deployment within the last 5 minutes, please wait a moment and try again.",
            )
        try:
            body = _body_json(request)
        except ValueError:
            return _error(400, "BadRequest", "The request body is not valid JSON.")
        return inference.answer(
            body,
            operation=operation,
            deployment=deployment,
            model=account.deployments[deployment],
            created=int(self.state.clock()),
        )

    # ---- admin (process mode) ------------------------------------------------------------

    def _admin(self, request: Request, path: str) -> Response:
        route = path[len(ADMIN_PREFIX) :].strip("/")
        if route == "health":
            return _json(200, {"status": "ok"})
        if self.admin_token is not None and not secrets.compare_digest(
            request.headers.get("X-Emulator-Admin", ""), self.admin_token
        ):
            return _error(401, "Unauthorized", "X-Emulator-Admin header is missing or wrong.")
        if route == "counters" and request.method == "GET":
            with self.state.lock:
                counters = [
                    {"host": h, "method": m, "route": r, "count": n}
                    for (h, m, r), n in sorted(self.state.counters.items())
                ]
            return _json(200, {"counters": counters})
        if route == "counters" and request.method == "DELETE":
            self.state.reset_counters()
            return Response(status=204)
        if route == "faults" and request.method == "GET":
            with self.state.lock:
                faults = [f.to_dict() for f in self.state.faults]
            return _json(200, {"faults": faults})
        if route == "faults" and request.method == "POST":
            return self._admin_add_fault(request)
        if route == "faults" and request.method == "DELETE":
            self.state.clear_faults()
            return Response(status=204)
        match = re.fullmatch(r"sites/([^/]+)/environment", route)
        if match and request.method == "GET":
            try:
                return _json(200, self.state.site_environment(match.group(1)))
            except EmulatorError as exc:
                return _error(404, "NotFound", str(exc))
        return _error(404, "NotFound", f"No admin operation {request.method} {path}.")

    def _admin_add_fault(self, request: Request) -> Response:
        allowed = {
            "host": str,
            "method": str,
            "path": str,
            "status": int,
            "times": int,
            "retry_after": (int, float),
            "latency": (int, float),
            "throttle_limit": int,
            "throttle_window": (int, float),
            "every": int,
        }
        try:
            body = _body_json(request)
        except ValueError:
            return _error(400, "BadRequest", "The fault body is not valid JSON.")
        if not isinstance(body, dict):
            return _error(400, "BadRequest", "The fault body must be a JSON object.")
        for name, value in body.items():
            if name not in allowed:
                return _error(
                    400, "BadRequest", f"Fault field {name!r} is unknown; use {sorted(allowed)}."
                )
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, allowed[name])
            ):
                return _error(
                    400, "BadRequest", f"Fault field {name!r} has the wrong type: {value!r}."
                )
        try:
            fault = self.state.add_fault(**body)
        except EmulatorError as exc:
            return _error(400, "BadRequest", str(exc))
        return _json(201, fault.to_dict())
