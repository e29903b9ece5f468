"""web-app-can-read-its-key-vault-references: each referenced secret is readable, nothing more.

For every web app (or slot) whose settings hold a Key Vault reference, its identity (system-
assigned, or the user-assigned one ``keyVaultReferenceIdentity`` names) must have a role
assignment that reads that secret: 'Key Vault Secrets User' scoped to the secret or its vault. A
stronger role, or a read grant on a secret the app does not reference, grants more than needed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.azure_ids import SecretRef, key_vault_reference_target, scope_target
from policies.identities import belongs_to, principal_of, role_assignments
from policies.roles import (
    KEY_VAULT_ADMINISTRATOR,
    KEY_VAULT_SECRETS_OFFICER,
    KEY_VAULT_SECRETS_USER,
    role_id_of,
    role_name,
)
from policies.settings import settings_of
from policies.support import (
    APP_SETTINGS,
    CONNECTION_STRINGS,
    NOT_KNOWN,
    USER_ASSIGNED_IDENTITY,
    WEB_APPS,
    Outcome,
    StackResource,
    is_unknown,
    stack_policy,
)

# Roles whose data actions include reading secret values.
SECRET_READERS = frozenset(
    {KEY_VAULT_SECRETS_USER, KEY_VAULT_SECRETS_OFFICER, KEY_VAULT_ADMINISTRATOR}
)


def _references(
    site: StackResource, resources: list[StackResource], out: Outcome
) -> tuple[set[SecretRef], bool]:
    """The secrets the site's settings reference, and whether some setting is not known yet."""
    holders = [site] + [
        r for r in resources if r.type in APP_SETTINGS | CONNECTION_STRINGS and belongs_to(r, site)
    ]
    refs, uncertain = set(), False
    for holder in holders:
        before = len(out.unknown)
        for setting in settings_of(holder.type, holder.props, out):
            if isinstance(setting.value, str) and setting.value is not NOT_KNOWN:
                target = key_vault_reference_target(setting.value)
                if target is not None:
                    refs.add(target)
        uncertain = uncertain or len(out.unknown) > before
    return refs, uncertain


def _identity_urns(site: StackResource, resources: list[StackResource]) -> set[str]:
    """The resources whose identity resolves the site's references."""
    chosen = site.props.get("keyVaultReferenceIdentity")
    if chosen in (None, "", "SystemAssigned"):
        return {site.urn}
    return {
        r.urn
        for r in resources
        if r.type == USER_ASSIGNED_IDENTITY
        and (site.depends_on([r.urn], "keyVaultReferenceIdentity") or r.props.get("id") == chosen)
    }


def _grants_to(assignment: StackResource, identities: list[StackResource]) -> bool | None:
    """True/False, or None when the principal is not known yet."""
    if assignment.depends_on([i.urn for i in identities], "principalId"):
        return True
    principal = assignment.props.get("principalId")
    if is_unknown(principal):
        # Traced to other resources, it is their identity; untraced, it could be anyone's.
        return False if assignment.property_dependencies.get("principalId") else None
    return isinstance(principal, str) and any(principal == principal_of(i) for i in identities)


def check(resources: list[StackResource], config: Mapping[str, Any]) -> Outcome:
    """Each reference has a read grant for the right identity; no read grant goes unused."""
    out = Outcome()
    by_urn = {r.urn: r for r in resources}
    assignments = role_assignments(resources)
    for site in (r for r in resources if r.type in WEB_APPS):
        refs, unknown_settings = _references(site, resources, out)
        identities = [by_urn[u] for u in _identity_urns(site, resources)]
        readable: set[SecretRef] = set()
        vaults: set[str] = set()
        # A grant not readable yet may be the one that covers a reference: then a reference
        # without a known grant cannot be called missing.
        uncertain = False
        for assignment in assignments:
            grants = _grants_to(assignment, identities)
            if grants is None:
                uncertain = True
                out.cannot_check((assignment.name, "principalId"))
                continue
            if not grants:
                continue
            role, scope = assignment.props.get("roleDefinitionId"), assignment.props.get("scope")
            if is_unknown(role) or is_unknown(scope):
                uncertain = True
                out.cannot_check(
                    (assignment.name, "scope" if is_unknown(scope) else "roleDefinitionId")
                )
                continue
            if not isinstance(role, str) or role_id_of(role) not in SECRET_READERS:
                continue
            target = scope_target(str(scope or ""))
            if role_id_of(role) != KEY_VAULT_SECRETS_USER:
                out.fail(
                    f"{role_name(role)!r} lets {site.name!r} do more than read secrets; grant "
                    "'Key Vault Secrets User'",
                    assignment.urn,
                )
            if isinstance(target, SecretRef):
                readable.add(target)
                if target not in refs and not unknown_settings:
                    out.fail(
                        f"grants {site.name!r} read access to secret {target} that none of its "
                        "settings references",
                        assignment.urn,
                    )
            elif isinstance(target, str):
                vaults.add(target)
        if not identities and refs:
            out.fail(
                f"keyVaultReferenceIdentity of {site.name!r} names no identity in the stack",
                site.urn,
            )
            continue
        for ref in sorted(refs, key=str):
            if ref not in readable and ref.vault not in vaults and not uncertain:
                out.fail(
                    f"settings reference secret {ref} but no role assignment lets the identity of "
                    f"{site.name!r} read it (grant 'Key Vault Secrets User' on the secret)",
                    site.urn,
                )
    return out


POLICY = stack_policy(
    "web-app-can-read-its-key-vault-references",
    "Every Key Vault reference in a web app's settings is readable by its identity, and the app "
    "is granted nothing beyond reading the secrets it references.",
    rule=check,
    remediation=(
        "Grant the app's identity 'Key Vault Secrets User' scoped to each referenced secret "
        "(<vault id>/secrets/<name>), and remove read grants on secrets it does not reference."
    ),
)
