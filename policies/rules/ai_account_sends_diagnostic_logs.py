"""ai-account-sends-diagnostic-logs: the AI account's requests are on record (advisory).

An AI account has a diagnostic setting that sends its logs (``Audit``, ``RequestResponse``, or
the ``audit`` / ``allLogs`` groups) to a Log Analytics workspace, so key use and model calls can
be traced. Advisory: the stack itself sends only the vault's audit log.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import EnforcementLevel

from policies.diagnostics import without_logs
from policies.support import AI_ACCOUNT, Controls, Outcome, StackResource, stack_policy

ACCOUNT_LOGS = ("Audit", "RequestResponse", "audit", "allLogs")


def check(resources: list[StackResource], config: Mapping[str, Any]) -> Outcome:
    """Each AI account: a diagnostic setting with its logs enabled, to a workspace."""
    out = Outcome()
    for account in without_logs(AI_ACCOUNT, ACCOUNT_LOGS, resources, out):
        out.fail(
            f"no diagnostic setting sends the logs of {account.name!r} to a Log Analytics "
            "workspace: its key use and requests leave no record",
            account.urn,
        )
    return out


POLICY = stack_policy(
    "ai-account-sends-diagnostic-logs",
    "AI accounts send their Audit and RequestResponse logs to a Log Analytics workspace.",
    rule=check,
    enforcement=EnforcementLevel.ADVISORY,
    controls=Controls(azure_policy=("1b4d1c4e",)),
    remediation=(
        "Add a monitor.DiagnosticSetting with resourceUri=<account id>, workspaceId=<workspace "
        "id> and logs=[{categoryGroup: 'audit', enabled: true}] or the Audit and RequestResponse "
        "categories."
    ),
)
