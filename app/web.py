"""The Flask app: POST /chat forwards a prompt, GET /healthz reports the key in use."""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import flask
from werkzeug.exceptions import HTTPException

from app.ai_client import AiCallError, AiClient
from app.catalog import names
from app.catalog.sites import HEALTH_PATH
from app.key_client import KeyClient, KeyClientError, KeyRejectedError
from app.settings import Settings
from app.workers import STATE_DIR_SETTING, KeyWatch, WorkerBoard, is_secret_version

if TYPE_CHECKING:
    import requests
    from azure.core.credentials import TokenCredential

log = logging.getLogger(__name__)

MAX_TEXT = 8000
MAX_TOKENS = 4096
MAX_BODY_BYTES = 64 * 1024
# Retries of one Key Vault read inside the SDK (429 with Retry-After, 5xx, connection errors),
# with exponential backoff: the cached key keeps serving meanwhile.
KV_RETRY = {
    "retry_total": 4,
    "retry_status": 3,
    "retry_backoff_factor": 0.5,
    "retry_backoff_max": 8,
}


class BadRequest(ValueError):
    """A /chat body that breaks a rule; the message is one line naming field, value and rule."""


def build_clients(
    settings: Settings,
    *,
    credential: TokenCredential | None = None,
    session: requests.Session | None = None,
    key_client: KeyClient | None = None,
    **sdk_options: Any,
) -> tuple[KeyClient | None, AiClient]:
    """The key client and AI client the settings describe (`key_client`: use this one).

    `credential` defaults to DefaultAzureCredential (the managed identity on App Service);
    `sdk_options` go to SecretClient (e.g. `transport=`).
    """
    needs_credential = settings.auth_mode == "keyless" or (
        settings.sdk_configured and key_client is None
    )
    if credential is None and needs_credential:
        from azure.identity import DefaultAzureCredential

        credential = DefaultAzureCredential()
    if settings.auth_mode == "keyless":
        key_client = None
    elif key_client is None:
        secret_client = None
        if settings.sdk_configured:
            from azure.keyvault.secrets import SecretClient

            assert settings.key_vault_uri is not None and credential is not None
            secret_client = SecretClient(
                settings.key_vault_uri, credential, **{**KV_RETRY, **sdk_options}
            )
        key_client = KeyClient(
            secret_client,
            secret_name=settings.secret_name if secret_client is not None else None,
            env_value=settings.api_key,
            max_age=settings.key_max_age_seconds,
        )
    ai_client = AiClient(
        settings.endpoint,
        settings.deployment,
        key_client,
        session,
        settings.auth_mode,
        credential=credential if settings.auth_mode == "keyless" else None,
        api_version=settings.api_version,
    )
    return key_client, ai_client


def create_app(
    settings: Settings | None = None,
    *,
    key_client: KeyClient | None = None,
    ai_client: AiClient | None = None,
    board: WorkerBoard | None = None,
    instance: str | None = None,
) -> flask.Flask:
    """The WSGI app; clients not given are built from `settings` (default: the environment).

    `board`: where this instance's workers report their key version (default: the folder in
    APP_WORKER_STATE_DIR, set by gunicorn's master); `instance`: the App Service instance ID
    reported by /healthz (default: WEBSITE_INSTANCE_ID).
    """
    if ai_client is None:
        settings = settings or Settings.from_env(os.environ)
        key_client, ai_client = build_clients(settings, key_client=key_client)
    elif key_client is None:
        key_client = ai_client.key_client
    if board is None and os.environ.get(STATE_DIR_SETTING):
        board = WorkerBoard(os.environ[STATE_DIR_SETTING])
    instance = instance or os.environ.get("WEBSITE_INSTANCE_ID") or None
    app = flask.Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    ai: AiClient = ai_client
    if board is not None and key_client is not None:
        app.extensions["key_watch"] = KeyWatch(key_client, board)

    @app.get(HEALTH_PATH)
    def healthz() -> tuple[flask.Response, int]:
        expected = flask.request.args.get("expectVersion")
        if expected is not None and not is_secret_version(expected):
            return flask.jsonify(
                error="query parameter 'expectVersion': the rule is a Key Vault secret version "
                f"({names.SECRET_VERSION.rule})"
            ), 400
        if expected is not None and key_client is not None:
            # A rotation waits for this version: this worker reads it now (at most once), the
            # instance's other workers on their next look at the board.
            if board is not None:
                board.expect(expected)
            key_client.expect(expected)
        report: dict[str, Any] = {
            "authMode": ai.auth_mode,
            "source": None,
            "secretVersion": None,
            "slot": None,
        }
        problems: list[str] = []
        available = True
        if key_client is not None:
            try:
                key = key_client.current()
                if key.source == "reference" and key.version is None:
                    key = key_client.identify_reference_version() or key
                report.update(source=key.source, secretVersion=key.version, slot=key.slot)
            except KeyClientError as exc:
                available = False
                problems.append(str(exc))
            if available and key_client.last_error:
                problems.append(key_client.last_error)  # a failed refresh; the cached key serves
            report["reference"] = {
                "state": key_client.reference_state,
                "value": key_client.reference,
            }
            if key_client.reference_state == "unresolved":
                problems.append(
                    f"AZURE_AI_API_KEY is an unresolved reference {key_client.reference}"
                )
            if key_client.version_error and report["source"] == "reference":
                problems.append(key_client.version_error)
        last = ai.last_call
        report["lastAiCall"] = (
            None
            if last is None
            else {
                "ok": last.ok,
                "status": last.status,
                "at": datetime.fromtimestamp(last.at, UTC).isoformat(timespec="seconds"),
                "secretVersion": last.key_version,
                "refreshes": last.refreshes,
            }
        )
        if last is not None and not last.ok:
            answer = f"HTTP {last.status}" if last.status is not None else "no answer"
            problems.append(f"last AI call failed ({answer})")
        if instance is not None:
            report["instance"] = instance
        if board is not None and key_client is not None:
            # Every worker of this instance, not only the one answering.
            board.publish(key_client.cached)
            report["workers"] = board.read()
        report["status"] = "unavailable" if not available else "degraded" if problems else "ok"
        report["problems"] = problems
        return flask.jsonify(report), 200 if available else 503

    @app.post("/chat")
    def chat() -> tuple[flask.Response, int]:
        try:
            messages, params = parse_chat_body(flask.request)
        except BadRequest as exc:
            return flask.jsonify(error=str(exc)), 400
        try:
            payload = ai.chat(messages, **params)
        except KeyRejectedError as exc:
            return flask.jsonify(error=str(exc)), 502
        except KeyClientError as exc:
            return flask.jsonify(error=str(exc)), 503
        except AiCallError as exc:
            return flask.jsonify(error=str(exc), upstreamStatus=exc.status), 502
        finally:
            if board is not None and key_client is not None:
                board.publish(key_client.cached)
        try:
            reply = payload["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError):
            return flask.jsonify(error="the AI endpoint answered without choices[0].message"), 502
        answer = {"reply": reply, "model": payload.get("model"), "usage": payload.get("usage")}
        return flask.jsonify(answer), 200

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> tuple[flask.Response, int]:
        code = exc.code or 500
        return flask.jsonify(error=f"{flask.request.method} {flask.request.path}: {exc.name}"), code

    return app


def parse_chat_body(request: flask.Request) -> tuple[list[dict[str, str]], dict[str, Any]]:
    """Validate a /chat body {prompt, system?, maxTokens?} into chat messages and parameters."""
    body = request.get_json(silent=True) if request.is_json else None
    if not isinstance(body, dict):
        raise BadRequest(
            "request body: must be a JSON object (Content-Type application/json) with a "
            "'prompt' string"
        )
    unknown = sorted(set(body) - {"prompt", "system", "maxTokens"})
    if unknown:
        raise BadRequest(
            f"request body field {unknown[0]!r}: unknown; allowed: prompt, system, maxTokens"
        )
    messages = []
    for field, role, required in (("system", "system", False), ("prompt", "user", True)):
        value = body.get(field)
        if value is None and not required:
            continue
        if not isinstance(value, str) or not value.strip() or len(value) > MAX_TEXT:
            shown = _shown(value)
            raise BadRequest(
                f"request body field {field!r}={shown}: must be a non-empty string of at most "
                f"{MAX_TEXT} characters"
            )
        messages.append({"role": role, "content": value})
    params: dict[str, Any] = {}
    if "maxTokens" in body:
        tokens = body["maxTokens"]
        if isinstance(tokens, bool) or not isinstance(tokens, int) or not 1 <= tokens <= MAX_TOKENS:
            raise BadRequest(
                f"request body field 'maxTokens'={_shown(tokens)}: must be an integer from 1 to "
                f"{MAX_TOKENS}"
            )
        params["max_tokens"] = tokens
    return messages, params


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:37]}..."
