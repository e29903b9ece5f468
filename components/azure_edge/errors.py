"""Azure failures as one line: what failed, the status and the service's error code.

A service's free-text message and a response body are never shown: they can echo a request,
and a request can carry a key.
"""

from __future__ import annotations

from collections.abc import Mapping

import requests
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError

# 403s that no wait clears: the vault's network rules, not a role assignment still applying,
# turned the caller away (Key Vault names them in the error's ``innererror.code``).
NETWORK_DENIALS = frozenset({"ForbiddenByFirewall", "ForbiddenByConnection"})

_MAX_LINE = 200


class EdgeError(RuntimeError):
    """An Azure call that failed or was refused; the message is one line naming what and why."""


def status_of(error: BaseException) -> int | None:
    """The HTTP status of an Azure SDK error, if it carries one."""
    return getattr(error, "status_code", None)


def error_code_of(error: BaseException) -> str:
    """The service's error code (``Forbidden``, ``SecretNotFound``...), never its free text."""
    odata = getattr(error, "error", None)
    return str(getattr(odata, "code", None) or getattr(error, "reason", None) or "no code")


def inner_error_code_of(error: BaseException) -> str | None:
    """The service's inner error code (``ForbiddenByRbac``, ``ForbiddenByFirewall``...), if any."""
    inner = getattr(getattr(error, "error", None), "innererror", None)
    code = inner.get("code") if isinstance(inner, Mapping) else None
    return str(code) if code else None


def describe(exc: BaseException) -> str:
    """One line for an SDK or HTTP error: ``HTTP 403 Forbidden``, ``cannot reach it
    (ConnectionError)``, ``no Azure credential (...)``; never a body. A 403 from the vault's
    network rules says so: ``HTTP 403 Forbidden (ForbiddenByFirewall)``."""
    if isinstance(exc, HttpResponseError) and status_of(exc) is not None:
        denial = inner_error_code_of(exc)
        network = f" ({denial})" if denial in NETWORK_DENIALS else ""
        return f"HTTP {status_of(exc)} {error_code_of(exc)}{network}"
    if isinstance(exc, requests.RequestException):
        return f"cannot reach it ({type(exc).__name__})"
    lines = str(exc).strip().splitlines()
    first = lines[0] if lines else "no detail"
    if isinstance(exc, ClientAuthenticationError):
        return (
            "no Azure credential (run 'az login', or set the AZURE_* or OIDC environment): "
            f"{first}"[:_MAX_LINE]
        )
    return f"{type(exc).__name__}: {first}"[:_MAX_LINE]


def failed(what: str, exc: BaseException, rule: str = "") -> EdgeError:
    """The EdgeError for `what` failing with `exc`: ``<what> failed: <describe>[; <rule>]``."""
    return EdgeError(f"{what} failed: {describe(exc)}" + (f"; {rule}" if rule else ""))
