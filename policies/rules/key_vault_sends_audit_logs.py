"""key-vault-sends-audit-logs: every read of the vault is on record in a workspace.

A vault has a diagnostic setting that sends its ``AuditEvent`` log (or the ``audit`` /
``allLogs`` category group) to a Log Analytics workspace: Key Vault keeps no access history of
its own, so without it no one can tell who read the key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.diagnostics import covers, enabled_logs, sends_to_workspace, settings_for
from policies.support import VAULT, Controls, Outcome, StackResource, stack_policy

AUDIT_LOGS = ("AuditEvent", "audit", "allLogs")


def check(resources: list[StackResource], config: Mapping[str, Any]) -> Outcome:
    """Each vault: a diagnostic setting with AuditEvent enabled, to a workspace."""
    out = Outcome()
    for vault in (r for r in resources if r.type == VAULT):
        verdicts = []
        for setting in settings_for(vault, resources):
            logs, workspace = enabled_logs(setting), sends_to_workspace(setting)
            if logs is None or workspace is None:
                out.cannot_check((setting.name, "logs" if logs is None else "workspaceId"))
                verdicts.append(None)
            else:
                verdicts.append(covers(logs, AUDIT_LOGS) and workspace)
        if True not in verdicts and None not in verdicts:
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
