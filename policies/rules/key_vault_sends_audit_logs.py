"""key-vault-sends-audit-logs: every read of the vault is on record in a workspace.

A vault has a diagnostic setting that sends its ``AuditEvent`` log (or the ``audit`` /
``allLogs`` category group) to a Log Analytics workspace: Key Vault keeps no access history of
its own, so without it no one can tell who read the key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.diagnostics import without_logs
from policies.support import VAULT, Controls, Outcome, StackResource, stack_policy

AUDIT_LOGS = ("AuditEvent", "audit", "allLogs")


def check(resources: list[StackResource], config: Mapping[str, Any]) -> Outcome:
    """Each vault: a diagnostic setting with AuditEvent enabled, to a workspace."""
    out = Outcome()
    for vault in without_logs(VAULT, AUDIT_LOGS, resources, out):
        out.fail(
            f"no diagnostic setting sends the AuditEvent log of {vault.name!r} to a Log "
            "Analytics workspace: reads of its secrets leave no record",
            vault.urn,
        )
    return out


POLICY = stack_policy(
    "key-vault-sends-audit-logs",
    "Every Key Vault sends its AuditEvent log to a Log Analytics workspace.",
    rule=check,
    controls=Controls(
        azure_policy=("cf820ca0",),
        psrule=("Azure.KeyVault.Logs",),
    ),
    remediation=(
        "Add a monitor.DiagnosticSetting with resourceUri=<vault id>, workspaceId=<workspace id> "
        "and logs=[{category: 'AuditEvent', enabled: true}] (the stack does when given a "
        "workspace)."
    ),
)
