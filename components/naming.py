"""Deterministic Azure names: prefix + stack + a short stable hash, never random per run."""

from __future__ import annotations

import hashlib
import re
import uuid

# Namespace for deterministic role assignment names (uuid5 of scope + role + principal).
_ROLE_ASSIGNMENT_NAMESPACE = uuid.UUID("8f6d7e1c-5b1a-4c2e-9a57-3c1f1d0e2a64")


def slug(text: str) -> str:
    """Lower-case letters, digits and single hyphens: the alphabet every name below may use."""
    return re.sub(r"-{2,}", "-", re.sub(r"[^a-z0-9]+", "-", text.lower())).strip("-")


def stable_suffix(*parts: str, length: int = 6) -> str:
    """A short hex digest of the parts: the same stack always gets the same names."""
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:length]


def role_assignment_name(scope: str, role_definition_id: str, principal_id: str) -> str:
    """A GUID that is the same on every run for the same grant, so a re-run never duplicates it."""
    key = f"{scope.lower()}|{role_definition_id.lower()}|{principal_id.lower()}"
    return str(uuid.uuid5(_ROLE_ASSIGNMENT_NAMESPACE, key))
