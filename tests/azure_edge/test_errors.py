"""Azure failures as one line: the status and the service's code, never its text or a body."""

from __future__ import annotations

import pytest
import requests
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ODataV4Format

from azure_edge.errors import describe, error_code_of, failed, inner_error_code_of, status_of


def _error(status: int, code: str | None, inner: str | None = None) -> HttpResponseError:
    error = HttpResponseError(message="the service's text\nwith a second line")
    error.status_code = status
    error.reason = "Reason Phrase"
    if code is not None:
        body = {"code": code, "message": "free text that may echo a request"}
        if inner:
            body["innererror"] = {"code": inner}
        error.error = ODataV4Format(body)
    return error


def test_status_and_codes_come_from_the_sdk_error():
    error = _error(403, "Forbidden", "ForbiddenByRbac")
    assert (status_of(error), error_code_of(error), inner_error_code_of(error)) == (
        403,
        "Forbidden",
        "ForbiddenByRbac",
    )
    bare = _error(500, None)
    assert (error_code_of(bare), inner_error_code_of(bare)) == ("Reason Phrase", None)
    assert status_of(ValueError("x")) is None


@pytest.mark.parametrize(
    ("error", "line"),
    [
        (_error(404, "VaultNotFound"), "HTTP 404 VaultNotFound"),
        (_error(403, "Forbidden", "ForbiddenByRbac"), "HTTP 403 Forbidden"),
        (
            _error(403, "Forbidden", "ForbiddenByFirewall"),
            "HTTP 403 Forbidden (ForbiddenByFirewall)",
        ),
        (_error(500, None), "HTTP 500 Reason Phrase"),
        (requests.ConnectionError("refused at 10.0.0.1"), "cannot reach it (ConnectionError)"),
        (
            ClientAuthenticationError("DefaultAzureCredential failed\nattempted: ..."),
            "no Azure credential (run 'az login', or set the AZURE_* or OIDC environment): "
            "DefaultAzureCredential failed",
        ),
        (ValueError("first\nsecond"), "ValueError: first"),
        (ValueError(""), "ValueError: no detail"),
    ],
)
def test_describe_gives_one_line_without_the_service_text(error, line):
    assert describe(error) == line


def test_a_long_message_is_cut_to_one_short_line():
    assert describe(RuntimeError("x" * 500)) == "RuntimeError: " + "x" * 186


def test_failed_names_what_failed_and_the_rule():
    error = failed("ARM listKeys of account a (resource group g)", _error(404, "NotFound"), "r")
    assert str(error) == "ARM listKeys of account a (resource group g) failed: HTTP 404 NotFound; r"
