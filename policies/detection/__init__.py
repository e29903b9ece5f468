"""Secret detection: find credentials in configuration values, and recognise what is not one.

A pure engine (no Pulumi, no I/O) shared by the policy pack, the offline preview and the file
scanner (``python -m preflight scan``).
"""

from policies.detection.engine import (
    KINDS,
    Finding,
    find_secrets,
    is_app_configuration_reference,
    is_application_insights_connection_string,
    is_key_vault_reference,
    is_placeholder,
    mask,
    redact,
)
from policies.detection.names import (
    is_base64_digest_name,
    is_credential_name,
    is_hex_value_name,
)

__all__ = [
    "KINDS",
    "Finding",
    "find_secrets",
    "is_app_configuration_reference",
    "is_application_insights_connection_string",
    "is_base64_digest_name",
    "is_credential_name",
    "is_hex_value_name",
    "is_key_vault_reference",
    "is_placeholder",
    "mask",
    "redact",
]
