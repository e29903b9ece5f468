"""Properties of the engine: a credential is found wherever it sits, and masks never leak it."""

from __future__ import annotations

import random
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench import corpus as c
from policies.detection import find_secrets, mask
from preflight import scan

# Formats that identify themselves, so surrounding text cannot change the verdict.
SELF_IDENTIFYING = {
    "cask": (c.azure_identifiable_key, "azure-ai-key"),
    "entra": (c.entra_client_secret, "entra-client-secret"),
    "jwt": (c.jwt, "jwt"),
    "pem": (c.private_key, "private-key"),
    "openai": (c.openai_key, "openai-api-key"),
    "github": (c.github_token, "github-token"),
    "aws": (c.aws_access_key, "aws-access-key"),
}
# Surrounding text: anything printable, then a delimiter against the secret.
SURROUNDING = st.text(alphabet=string.printable, max_size=120)
DELIMITERS = st.sampled_from([" ", "\n", "\t", "'", '"', "=", ":", ",", ";", "(", "[", "{", "|"])
CLOSERS = st.sampled_from([" ", "\n", "\t", "'", '"', ",", ";", ")", "]", "}", "|", "&"])


@settings(max_examples=300, deadline=None)
@given(
    shape=st.sampled_from(sorted(SELF_IDENTIFYING)),
    seed=st.integers(0, 2**32),
    before=SURROUNDING,
    opener=DELIMITERS,
    closer=CLOSERS,
    after=SURROUNDING,
)
def test_a_self_identifying_secret_is_found_anywhere_with_its_exact_span(
    shape: str, seed: int, before: str, opener: str, closer: str, after: str
) -> None:
    make, kind = SELF_IDENTIFYING[shape]
    secret = make(random.Random(seed))
    value = before + opener + secret + closer + after
    start = len(before) + len(opener)
    found = find_secrets(value)
    assert any(
        f.kind == kind and (f.start, f.end) == (start, start + len(secret)) for f in found
    ), found


@settings(max_examples=200, deadline=None)
@given(
    seed=st.integers(0, 2**32),
    before=st.sampled_from(["", "x ", "value=", "--model-option ", '{"v": "', "a;b;c="]),
    after=st.sampled_from(["", " ", ";", '"}', "&x=1", "\n"]),
)
def test_a_hex_key_under_neutral_labels_is_found_with_its_exact_span(
    seed: int, before: str, after: str
) -> None:
    key = c.azure_hex_key(random.Random(seed))
    found = find_secrets(before + key + after, setting_name="MODEL_SETTING")
    assert [(f.kind, f.start, f.end) for f in found] == [
        ("azure-ai-key", len(before), len(before) + len(key))
    ]


SECRET_TEXT = st.text(alphabet=string.ascii_letters + string.digits + "+/=_-~.", min_size=1)


@given(secret=SECRET_TEXT)
def test_mask_never_holds_the_secret_or_its_middle(secret: str) -> None:
    masked = mask(secret)
    n = len(secret)
    assert f"({n} chars)" in masked
    if n >= 8:
        assert secret not in masked
        assert secret[n // 4 : n - n // 4] not in masked


@given(secret=SECRET_TEXT)
def test_mask_reveals_at_most_three_sixteenths_of_the_secret(secret: str) -> None:
    head, _, rest = mask(secret).partition("…(")
    _, _, tail = rest.partition(")…")
    assert secret.startswith(head) and secret.endswith(tail)
    assert (len(head) + len(tail)) * 16 <= 3 * len(secret)
    assert len(head) <= 4 and len(tail) <= 2


@settings(max_examples=150, deadline=None)
@given(
    shape=st.sampled_from(sorted(SELF_IDENTIFYING)),
    seed=st.integers(0, 2**32),
    offset=st.integers(0, 1500),
    chunk=st.integers(1, 3000),
    ending=st.sampled_from(["", "\n", "\r\nnext line\n"]),
)
def test_a_secret_anywhere_in_a_streamed_long_line_is_found_once_at_its_column(
    shape: str, seed: int, offset: int, chunk: int, ending: str
) -> None:
    """The scanner's windows (shrunk here so a short line spans many of them) and chunks, at any
    size and any offset: the secret is found once, at its exact column."""
    make, kind = SELF_IDENTIFYING[shape]
    secret = make(random.Random(seed)).replace("\n", "\\n")
    line = "x" * offset + " " + secret + " " + "y" * 700 + ending
    chunks = [line[i : i + chunk] for i in range(0, len(line), chunk)]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(scan, "WINDOW", 1024)
        patch.setattr(scan, "OVERLAP", 800)
        patch.setattr(scan, "CONTEXT", 64)
        found = scan.scan_stream(chunks, "f.txt")
    assert [(f.line, f.column, f.kind) for f in found] == [(1, offset + 2, kind)]
