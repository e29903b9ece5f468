"""Reading diagnostic settings: which resource's logs go to which destination.

``monitor.DiagnosticSetting`` names the resource it watches by ``resourceUri`` (its ARM ID) and
sends ``logs`` (by ``category`` or ``categoryGroup``: ``audit``, ``allLogs``) to a Log Analytics
``workspaceId``. In a preview the IDs are unknown; the property dependency of ``resourceUri``
on the resource tells which one it watches.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from policies.support import Outcome, StackResource, is_unknown

DIAGNOSTIC_SETTINGS = frozenset(
    {"azure-native:monitor:DiagnosticSetting", "azure-native:insights:DiagnosticSetting"}
)


def settings_for(
    resource: StackResource, resources: Sequence[StackResource]
) -> list[StackResource]:
    """The diagnostic settings that watch ``resource``."""
    own_id = resource.props.get("id")
    found = []
    for setting in resources:
        if setting.type not in DIAGNOSTIC_SETTINGS:
            continue
        uri = setting.props.get("resourceUri")
        known = isinstance(uri, str) and not is_unknown(uri)
        same_id = known and isinstance(own_id, str) and uri.lower() == own_id.lower()
        if same_id or setting.depends_on([resource.urn], "resourceUri"):
            found.append(setting)
    return found


def sends_to_workspace(setting: StackResource) -> bool | None:
    """True when the setting has a workspace (None: not known yet)."""
    workspace = setting.props.get("workspaceId")
    if is_unknown(workspace):
        return None if not setting.property_dependencies.get("workspaceId") else True
    return isinstance(workspace, str) and bool(workspace.strip())


def enabled_logs(setting: StackResource) -> set[str] | None:
    """Lower-cased categories and category groups of the enabled logs (None: not known yet)."""
    logs = setting.props.get("logs")
    if is_unknown(logs):
        return None
    names: set[str] = set()
    for entry in logs if isinstance(logs, list) else ():
        if not isinstance(entry, dict) or entry.get("enabled") is False:
            continue
        for key in ("category", "categoryGroup"):
            value = entry.get(key)
            if isinstance(value, str) and not is_unknown(value):
                names.add(value.lower())
    return names


def covers(names: Iterable[str], wanted: Iterable[str]) -> bool:
    return bool(set(names) & {w.lower() for w in wanted})


def without_logs(
    resource_type: str, wanted: Iterable[str], resources: Sequence[StackResource], out: Outcome
) -> list[StackResource]:
    """Resources of ``resource_type`` no diagnostic setting sends ``wanted`` logs of to a
    workspace; settings not readable yet are recorded on ``out`` and not counted against."""
    missing = []
    for resource in (r for r in resources if r.type == resource_type):
        verdicts = []
        for setting in settings_for(resource, resources):
            logs, workspace = enabled_logs(setting), sends_to_workspace(setting)
            if logs is None or workspace is None:
                out.cannot_check((setting.name, "logs" if logs is None else "workspaceId"))
                verdicts.append(None)
            else:
                verdicts.append(covers(logs, wanted) and workspace)
        if True not in verdicts and None not in verdicts:
            missing.append(resource)
    return missing
