"""Shapes of Azure keys, to keep a key typed where a name belongs from being sent or echoed.

A narrow check (not the policy pack's detection engine): Azure AI keys (32 hex characters, and the
84-character keys carrying `JQQJ9` and the `ACOG` signature at offset 76), storage account keys
(86 base64 characters and `==`), and long unbroken runs of mixed letters and digits such as tokens.
Names (secret names, deployments, sites: words joined by hyphens) never match. Pure, no I/O.
"""

from __future__ import annotations

import re

_SHAPES = (
    re.compile(r"[0-9a-fA-F]{32}"),
    re.compile(r"[A-Za-z0-9]{52}JQQJ9[A-Za-z0-9]{19}ACOG[A-Za-z0-9]{4}"),
    re.compile(r"[A-Za-z0-9+/]{86}=="),
)
_TOKEN = re.compile(r"[A-Za-z0-9+/_=.~]{32,}")


def looks_like_key(value: str) -> bool:
    """True when `value` has the shape of a key or token rather than of a name."""
    text = value.strip()
    if any(shape.fullmatch(text) for shape in _SHAPES):
        return True
    for run in _TOKEN.findall(text):
        if (
            re.search(r"[0-9]", run)
            and re.search(r"[a-z]", run)
            and re.search(r"[A-Z]", run)
            and not run.isalpha()
        ):
            return True
    return False


def shown(value: object, limit: int = 200) -> str:
    """`repr(value)` for a message, or only its length when it looks like a key; long values
    are cut."""
    if isinstance(value, str) and looks_like_key(value):
        return f"<{len(value)} characters, masked: it looks like a key>"
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 3]}..."
