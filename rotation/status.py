"""The status report: active slot, versions, expiry and consumers; pure evaluation and rendering."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from azure_edge.sites import Observation
from azure_edge.vault import SecretRecord
from catalog.secret import TAG_ROTATED_AT, TAG_RUN, TAG_SLOT, newest_first
from rotation import state

DEFAULT_THRESHOLD_DAYS = 30
VERSIONS_SHOWN = 5


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="seconds") if moment else None


def evaluate(
    secret: str,
    vault_url: str,
    latest: SecretRecord,
    versions: Sequence[SecretRecord],
    observations: Sequence[Observation],
    *,
    now: datetime,
    threshold_days: float,
) -> dict[str, Any]:
    """The report as a JSON-able dict; `problems` lists why the status is not ok."""
    current = state.parse_state(latest.tags, secret)
    problems: list[str] = []
    days_left = None
    if latest.expires_on is None:
        problems.append(f"version {latest.version} has no expiry")
    else:
        days_left = round((latest.expires_on - now).total_seconds() / 86400, 2)
        if days_left < threshold_days:
            problems.append(
                f"version {latest.version} expires in {days_left:g} days "
                f"(threshold {threshold_days:g})"
            )
    if not observations:
        problems.append("no consumers known")
    for seen in observations:
        if not seen.confirmed:
            problems.append(
                f"consumer {seen.consumer.name} ({seen.consumer.kind}) not confirmed on "
                f"{latest.version}: {seen.detail}"
            )
    progress = current.progress
    operation = None
    if progress is not None:
        # Part-way, the latest version may not be what every consumer uses and a standby key
        # may be regenerated: someone must finish it (re-run the operation, or the automation).
        problems.append(
            f"operation {progress.op.tag} stranded at step {progress.next_step + 1}/"
            f"{len(progress.steps)} ({progress.steps[progress.next_step].describe()}), run "
            f"{latest.tags.get(TAG_RUN, 'unknown')}: finish it with the same command"
        )
        operation = {
            "op": progress.op.tag,
            "startSlot": progress.start_slot,
            "nextStep": progress.next_step + 1,
            "steps": [s.describe() for s in progress.steps],
        }
    return {
        "secret": secret,
        "vault": vault_url,
        "version": latest.version,
        "activeSlot": current.active_slot,
        "standbySlot": state.other(current.active_slot),
        "state": current.state_name,
        "operation": operation,
        "expiresOn": _iso(latest.expires_on),
        "daysToExpiry": days_left,
        "thresholdDays": threshold_days,
        "rotatedAt": latest.tags.get(TAG_ROTATED_AT),
        "consumers": [o.to_dict() for o in observations],
        "versions": [
            {
                "version": r.version,
                "slot": r.tags.get(TAG_SLOT),
                "createdOn": _iso(r.created_on),
                "expiresOn": _iso(r.expires_on),
                "enabled": r.enabled,
            }
            for r in _newest_first(latest, versions)[:VERSIONS_SHOWN]
        ],
        "problems": problems,
        "ok": not problems,
    }


def _newest_first(latest: SecretRecord, versions: Sequence[SecretRecord]) -> list[SecretRecord]:
    # Creation times have one-second resolution: the latest version is known, put it first.
    rest = [r for r in versions if r.version != latest.version]
    return [latest, *newest_first(rest, lambda r: r.created_on)]


def render_text(report: dict[str, Any]) -> str:
    """A plain-text view of the report for people."""
    lines = [
        f"secret    {report['secret']} in {report['vault']}",
        f"version   {report['version']}  active {report['activeSlot']}  "
        f"standby {report['standbySlot']}  state {report['state']}",
        f"expires   {report['expiresOn'] or 'never'}"
        + (f"  ({report['daysToExpiry']:g} days)" if report["daysToExpiry"] is not None else ""),
    ]
    if report["operation"]:
        op = report["operation"]
        lines.append(
            f"operation {op['op']} at step {op['nextStep']}/{len(op['steps'])}: "
            f"{op['steps'][op['nextStep'] - 1]}"
        )
    lines.append("consumers")
    for c in report["consumers"]:
        mark = "confirmed" if c["confirmed"] else "NOT confirmed"
        lines.append(f"  {c['name']:<16} {c['kind']:<7} {mark:<13} {c['detail']}")
    lines.append("versions")
    for v in report["versions"]:
        lines.append(
            f"  {v['version']}  {v['slot'] or '-':<5} created {v['createdOn']}  "
            f"expires {v['expiresOn']}{'' if v['enabled'] else '  disabled'}"
        )
    lines.append("status    " + ("ok" if report["ok"] else "; ".join(report["problems"])))
    return "\n".join(lines)
