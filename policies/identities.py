"""Which identity a role assignment grants to: an application's, or someone else's (a deployer).

An assignment is to an app identity when its ``principalId`` comes from a web app (or from a
user-assigned identity a web app uses): a property dependency of ``principalId`` on that resource,
or a known principal ID equal to that resource's identity, or ``principalType: ServicePrincipal``
together with a dependency on a web app. The deployer's own grants take their principal from the
client config (an invoke, not a resource), so they match none of these.
"""

from __future__ import annotations

from collections.abc import Sequence

from policies.support import (
    ROLE_ASSIGNMENT,
    USER_ASSIGNED_IDENTITY,
    WEB_APPS,
    Outcome,
    StackResource,
    is_unknown,
)


def app_identities(resources: Sequence[StackResource]) -> list[StackResource]:
    """Web apps, and the user-assigned identities some web app depends on."""
    apps = [r for r in resources if r.type in WEB_APPS]
    identities = [
        r
        for r in resources
        if r.type == USER_ASSIGNED_IDENTITY and any(a.depends_on([r.urn]) for a in apps)
    ]
    return apps + identities


def principal_of(resource: StackResource) -> str | None:
    """A resource's managed identity principal ID, when known."""
    if resource.type == USER_ASSIGNED_IDENTITY:
        value = resource.props.get("principalId")
    else:
        identity = resource.props.get("identity")
        value = identity.get("principalId") if isinstance(identity, dict) else None
    return value if isinstance(value, str) and value and not is_unknown(value) else None


def grantee(
    assignment: StackResource, owners: Sequence[StackResource], out: Outcome
) -> StackResource | None:
    """The app identity (web app or user-assigned identity) an assignment grants to, if any."""
    for owner in owners:
        if assignment.depends_on([owner.urn], "principalId"):
            return owner
    principal = assignment.props.get("principalId")
    if is_unknown(principal):
        # Unknown and not traced to an app by dependency: a deployer's principal from an invoke
        # is known at preview, so an unknown one may well be an app's.
        out.cannot_check((assignment.name, "principalId"))
        return None
    for owner in owners:
        if principal is not None and principal == principal_of(owner):
            return owner
    if assignment.props.get("principalType") == "ServicePrincipal":
        for owner in owners:
            if owner.type in WEB_APPS and assignment.depends_on([owner.urn]):
                return owner
    return None


def role_assignments(resources: Sequence[StackResource]) -> list[StackResource]:
    return [r for r in resources if r.type == ROLE_ASSIGNMENT]


def site_key(resource: StackResource) -> tuple[object, object]:
    """(site name, slot) of a site or per-site resource; slot is None for the site itself."""
    slot = resource.props.get("slot") if resource.type.endswith("Slot") else None
    return resource.props.get("name"), slot


def belongs_to(resource: StackResource, site: StackResource) -> bool:
    """True when a per-site resource (settings, publishing policy) configures ``site``."""
    if resource.type.endswith("Slot") != (site.type != "azure-native:web:WebApp"):
        return False
    if resource.depends_on([site.urn], "name") or resource.depends_on([site.urn], "slot"):
        return True
    name, slot = site_key(resource)
    return isinstance(name, str) and not is_unknown(name) and (name, slot) == site_key(site)
