"""Hosted entry point: rotate when Key Vault announces that the secret nears expiry.

Key Vault publishes `Microsoft.KeyVault.SecretNearExpiry` to Event Grid 30 days before a
version's expiry. Subscribe a webhook to it (filtered to the secret) and serve `create_app()`,
e.g. `gunicorn --timeout 0 'rotation.hosted:create_app(deployment="chat")'` in Container Apps,
with a managed identity holding the roles in docs/rotation.md. A rotation runs inside the request
for minutes (a 240 s drain, up to 600 s per consumer confirmation): gunicorn's default 30 s worker
timeout would kill it at every delivery, hence `--timeout 0`. Everything else comes from the
event and the secret's tags: vault and secret from the event, account from `ProviderAddress`,
sites from `Consumers`, endpoint from ARM.

Event Grid delivers at least once: an event for a version that is no longer the latest is
acknowledged without rotating again; a rotation under way is finished first (the engine resumes).
A stopped rotation answers 500 so that Event Grid retries with backoff.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from azure.core.exceptions import AzureError

from rotation import state, target
from rotation.azure import RotationStopped, Vault, Waiter, describe_error
from rotation.clients import Connection
from rotation.engine import Engine

log = logging.getLogger(__name__)

NEAR_EXPIRY = "Microsoft.KeyVault.SecretNearExpiry"
VALIDATION = "Microsoft.EventGrid.SubscriptionValidationEvent"
DRAIN_SECONDS = 240.0
# Secrets being rotated by this process. Event Grid waits 30 s for a webhook's answer, then
# delivers again: a rotation takes longer (drain, confirmations), so the redelivery must not start
# a second run of the same secret beside the first.
_RUNNING: set[tuple[str, str]] = set()
_RUNNING_LOCK = threading.Lock()


def _secret_of(data: Any) -> tuple[str, str, str]:
    """(vault URL, secret name, version) of a SecretNearExpiry event's data."""
    if not isinstance(data, dict) or not isinstance(data.get("Id"), str):
        raise target.InputError(f"event data {data!r}: the rule is an object with 'Id'")
    parts = urlsplit(data["Id"])
    segments = [s for s in parts.path.split("/") if s]
    if len(segments) != 3 or segments[0] != "secrets":
        raise target.InputError(
            f"event data 'Id' {data['Id']!r}: the rule is "
            "https://<vault>.vault.azure.net/secrets/<name>/<version>"
        )
    vault = target.vault_url(f"{parts.scheme}://{parts.netloc}/", "event data 'Id'")
    return vault, target.secret_name(segments[1], "event data 'Id'"), segments[2]


def rotate_for(
    vault_url: str,
    name: str,
    version: str,
    connection: Connection,
    *,
    deployment: str | None = None,
    drain_seconds: float = DRAIN_SECONDS,
    waiter: Callable[[], Waiter] = lambda: Waiter(timeout=600.0, interval=2.0, cap=15.0),
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Rotate `name` if `version` is still its latest version (or finish an operation under
    way); a one-line outcome either way. `deployment`: the chat deployment the probe calls.

    A delivery for a secret this process is already rotating stops at once (Event Grid retries
    it later, when the run is over and the event is acknowledged as already rotated)."""
    key = (vault_url, name)
    with _RUNNING_LOCK:
        if key in _RUNNING:
            raise RotationStopped(
                f"a rotation of secret {name!r} is already under way in this process; this "
                "delivery is left for Event Grid to retry"
            )
        _RUNNING.add(key)
    try:
        return _rotate_for(
            vault_url,
            name,
            version,
            connection,
            deployment=deployment,
            drain_seconds=drain_seconds,
            waiter=waiter,
            sleep=sleep,
        )
    finally:
        with _RUNNING_LOCK:
            _RUNNING.discard(key)


def _rotate_for(
    vault_url: str,
    name: str,
    version: str,
    connection: Connection,
    *,
    deployment: str | None,
    drain_seconds: float,
    waiter: Callable[[], Waiter],
    sleep: Callable[[float], None],
) -> dict[str, Any]:
    vault = Vault(connection.secret_client(vault_url), name)
    latest = vault.latest()
    current = state.parse_state(latest.tags, name)
    if latest.version != version and current.progress is None:
        return {
            "secret": name,
            "status": "skipped",
            "message": f"version {version} is no longer the latest ({latest.version}): "
            "already rotated",
        }
    resolved = target.resolve_target(
        vault=vault_url,
        secret=name,
        tags=latest.tags,
        outputs=target.StackOutputs(),
        account_id=None,
        endpoint=None,
        deployment=deployment,
    )
    edges = connection.edges(resolved, vault, probe_waiter=waiter(), confirm_waiter=waiter())
    op = current.progress.op if current.progress else state.Operation("rotate")
    outcome = Engine(edges, resolved.consumers, drain_seconds=drain_seconds, sleep=sleep).run(op)
    return {
        "secret": name,
        "status": "rotated",
        "message": f"{outcome.operation}: version {outcome.version} holds {outcome.slot}",
    }


def handle_events(events: Any, connection: Connection | None = None, **options: Any) -> dict:
    """Handle one Event Grid delivery (a list of events, Event Grid or CloudEvents schema).

    Returns {"validationResponse": code} for the subscription handshake, else
    {"ok": bool, "results": [{"secret", "status", "message"}, ...]}.
    """
    if isinstance(events, dict):
        events = [events]
    if not isinstance(events, list) or not all(isinstance(e, dict) for e in events):
        raise target.InputError("event delivery: the rule is a JSON list of event objects")
    results: list[dict[str, Any]] = []
    for event in events:
        kind = event.get("eventType") or event.get("type")
        data = event.get("data")
        if kind == VALIDATION:
            code = data.get("validationCode") if isinstance(data, dict) else None
            if not isinstance(code, str):
                raise target.InputError("validation event: 'data.validationCode' is missing")
            return {"validationResponse": code}
        if kind != NEAR_EXPIRY:
            results.append({"secret": None, "status": "ignored", "message": f"event {kind!r}"})
            continue
        try:
            vault_url, name, version = _secret_of(data)
            connection = connection or Connection.default()
            results.append(rotate_for(vault_url, name, version, connection, **options))
        except (target.InputError, state.StateError, RotationStopped) as exc:
            results.append({"secret": None, "status": "stopped", "message": str(exc)})
        except AzureError as exc:
            results.append({"secret": None, "status": "stopped", "message": describe_error(exc)})
    for result in results:
        log.warning("%s: %s", result["status"], result["message"])
    return {"ok": all(r["status"] != "stopped" for r in results), "results": results}


def create_app(connection: Connection | None = None, **options: Any) -> Any:
    """A WSGI app: POST / takes Event Grid deliveries (webhook), answering 500 when a rotation
    stopped so that Event Grid retries."""
    import flask

    app = flask.Flask(__name__)

    @app.route("/", methods=["OPTIONS"])
    def handshake() -> tuple[str, int, dict[str, str]]:
        # The CloudEvents schema validates a webhook with an OPTIONS request instead.
        origin = flask.request.headers.get("WebHook-Request-Origin", "")
        if not origin:
            return "", 400, {}
        return "", 200, {"WebHook-Allowed-Origin": origin, "Allow": "POST"}

    @app.post("/")
    def events() -> tuple[flask.Response, int]:
        body = flask.request.get_json(silent=True)
        try:
            result = handle_events(body, connection, **options)
        except target.InputError as exc:
            return flask.jsonify(error=str(exc)), 400
        if "validationResponse" in result:
            return flask.jsonify(result), 200
        return flask.jsonify(result), 200 if result["ok"] else 500

    return app
