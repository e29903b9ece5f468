"""Errors: the Python API's exception and the JSON answers every emulated service sends."""

from __future__ import annotations

import json
from typing import Any

from werkzeug.wrappers import Request, Response


class EmulatorError(ValueError):
    """A call to the emulator's Python API named something that does not exist or is invalid."""


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    """A JSON answer, with the content type Azure's services send."""
    return Response(
        json.dumps(body),
        status=status,
        headers=headers or {},
        content_type="application/json; charset=utf-8",
    )


def azure_error(status: int, code: str, message: str, **extra: Any) -> Response:
    """Azure's error body, ``{"error": {"code", "message", ...}}``; ``headers=`` goes on the
    response, anything else (``innererror=``) into the error object."""
    error: dict[str, Any] = {"code": code, "message": message}
    headers = extra.pop("headers", None)
    error.update(extra)
    return json_response(status, {"error": error}, headers)


def body_json(request: Request) -> Any:
    """The request's JSON body (None when empty), or raises ValueError."""
    return json.loads(request.get_data(as_text=True) or "null")
