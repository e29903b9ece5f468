"""What a rotation acts on: vault, secret, account, AI endpoint and consumers, from flags, the stack
outputs (`pulumi stack output --json`) or the secret's own tags. Pure: no network.

Stack outputs read (every field optional; flags win over outputs, outputs over tags):

    {"vaultUri": "https://<vault>.vault.azure.net/", "secretName": "<name>",
     "secretUri": "https://<vault>.vault.azure.net/secrets/<name>",
     "aiAccountId": "/subscriptions/.../Microsoft.CognitiveServices/accounts/<name>",
     "aiEndpoint": "https://<subdomain>.openai.azure.com/", "chatDeployment": "<deployment>",
     "apps": {"<app>": {"siteId": "/subscriptions/.../Microsoft.Web/sites/<site>",
                        "hostName": "<site>.azurewebsites.net",
                        "healthUrl": "https://<host>/healthz"}}}

Each app with a siteId is a site consumer (Key Vault reference refreshed through ARM); each app
with a healthUrl, or else a hostName (health URL https://<hostName>/healthz), is also an SDK
consumer confirmed by its health report. Without apps in the outputs, the secret's Consumers tag
(comma-separated site names, in the account's subscription and resource group) names the sites.
"""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import SplitResult, urlsplit

from azure_edge.sites import HEALTH, SITE, Consumer
from catalog import ids, names
from catalog.ids import ResourceId
from catalog.key_shapes import looks_like_key, shown
from catalog.secret import TAG_ACCOUNT, TAG_CONSUMERS
from catalog.sites import health_url

_DNS_NAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
DEFAULT_DEPLOYMENT = "chat"
# A stack outputs file is a few kilobytes; anything past this is not one.
MAX_OUTPUTS_BYTES = 1_000_000
T = TypeVar("T")


class InputError(ValueError):
    """An input is missing or malformed; the message is one line naming input, value and rule."""


@dataclass(frozen=True)
class StackOutputs:
    """The fields of `pulumi stack output --json` a rotation reads."""

    vault_url: str | None = None
    secret_name: str | None = None
    account_id: str | None = None
    endpoint: str | None = None
    deployment: str | None = None
    consumers: tuple[Consumer, ...] = ()


@dataclass(frozen=True)
class Target:
    """Everything a rotation acts on, validated."""

    vault_url: str
    secret_name: str
    account: ResourceId
    endpoint: str | None
    deployment: str
    consumers: tuple[Consumer, ...] = field(default_factory=tuple)


def _parsed(value: str, what: str, parse: Callable[[str], T], rule: str = "") -> T:
    """`parse(value)`, or a one-line InputError naming `what` and the contract's rule."""
    try:
        return parse(value)
    except ids.IdError as exc:
        raise InputError(f"{what} {shown(value)}: {exc}") from None
    except ValueError:  # urlsplit's own: a bad port or IPv6 literal
        raise InputError(f"{what} {shown(value)}: {rule}") from None


def _https_parts(value: str, what: str, rule: str) -> SplitResult:
    """Split an https URL whose host is a DNS name: no port, user, IP literal or query."""
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        raise InputError(f"{what} {shown(value)}: the rule is {rule}") from None
    host = parts.hostname or ""
    if (
        parts.scheme != "https"
        or port is not None
        or parts.username is not None
        or parts.query
        or parts.fragment
        or not _DNS_NAME.match(host)
        or parts.netloc.lower() != host
    ):
        raise InputError(f"{what} {shown(value)}: the rule is {rule}")
    return parts


def vault_url(value: str, what: str = "--vault-url") -> str:
    """A Key Vault URL, normalised as catalog/ids.py does (https://<vault>.vault.azure.net)."""
    return _parsed(value, what, ids.vault_uri, ids.VAULT_URI_RULE)


def vault_name_of(url: str) -> str:
    """The vault's name in a URL that `vault_url` accepted."""
    return ids.vault_name(url)


def secret_name(value: str, what: str = "--secret-name") -> str:
    """A Key Vault secret name, and not a key's shape (a key pasted here would otherwise travel
    to Key Vault in a URL)."""
    if looks_like_key(value):
        raise InputError(
            f"{what} {shown(value)}: the rule is the secret's name, never a key; nothing was sent"
        )
    if not names.SECRET_NAME.matches(value):
        raise InputError(f"{what} {shown(value)}: the rule is {names.SECRET_NAME.rule}")
    return value


def account_ref(value: str, what: str = "--account-id") -> ResourceId:
    """An AI account's resource ID, split (catalog/ids.py)."""
    return _parsed(value.strip(), what, ids.account_id)


def endpoint_url(value: str, what: str = "--endpoint") -> str:
    """The AI account's https endpoint (custom subdomain), returned without a trailing slash."""
    parts = _https_parts(value, what, "https://<subdomain>.openai.azure.com/ (no port or query)")
    return f"https://{parts.hostname}{parts.path}".rstrip("/")


def deployment_name(value: str, what: str = "--deployment") -> str:
    """A model deployment name."""
    if not names.DEPLOYMENT_NAME.matches(value) or looks_like_key(value):
        raise InputError(f"{what} {shown(value)}: the rule is {names.DEPLOYMENT_NAME.rule}")
    return value


def consumer(name: str, kind: str, target: str, what: str, site_id: str | None = None) -> Consumer:
    """A validated consumer: a site ID for kind 'site', an https URL for kind 'health'."""
    if kind == SITE:
        _parsed(target, what, ids.site_id)
    if kind == HEALTH:
        _https_parts(target, what, "https://<host>/<path> (no port or query)")
    return Consumer(name, kind, target, site_id)


def _text(outputs: Mapping[str, Any], key: str, source: str) -> str | None:
    value = outputs.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InputError(f"{source} output {key!r}: {shown(value)} is not a string")
    return value


def parse_stack_outputs(outputs: Any, source: str = "stack outputs") -> StackOutputs:
    """Validate the fields of `pulumi stack output --json` a rotation reads."""
    if not isinstance(outputs, dict):
        raise InputError(f"{source}: {type(outputs).__name__} is not a JSON object")
    vault = _text(outputs, "vaultUri", source)
    name = _text(outputs, "secretName", source)
    secret_uri = _text(outputs, "secretUri", source)
    if secret_uri and (vault is None or name is None):
        address = _parsed(secret_uri, f"{source} output 'secretUri'", ids.parse_secret_uri)
        vault = vault or address.vault_uri
        name = name or address.name
    apps = outputs.get("apps")
    apps = {} if apps is None else apps
    if not isinstance(apps, dict):
        raise InputError(f"{source} output 'apps': {shown(apps)} is not an object of apps by name")
    consumers: list[Consumer] = []
    for app_name, app in sorted(apps.items()):
        if not isinstance(app, dict):
            raise InputError(f"{source} output 'apps.{shown(app_name)}': not an object")
        if app.get("siteId"):
            where = f"{source} output 'apps.{app_name}.siteId'"
            consumers.append(consumer(app_name, SITE, str(app["siteId"]), where))
        site_id = str(app["siteId"]) if app.get("siteId") else None
        if app.get("healthUrl"):
            where = f"{source} output 'apps.{app_name}.healthUrl'"
            consumers.append(consumer(app_name, HEALTH, str(app["healthUrl"]), where, site_id))
        elif app.get("hostName"):
            where = f"{source} output 'apps.{app_name}.hostName'"
            url = health_url(str(app["hostName"]))
            consumers.append(consumer(app_name, HEALTH, url, where, site_id))
    return StackOutputs(
        vault_url=vault_url(vault, f"{source} output 'vaultUri'") if vault else None,
        secret_name=secret_name(name, f"{source} output 'secretName'") if name else None,
        account_id=_text(outputs, "aiAccountId", source) or _text(outputs, "accountId", source),
        endpoint=_text(outputs, "aiEndpoint", source),
        deployment=_text(outputs, "chatDeployment", source),
        consumers=tuple(consumers),
    )


def read_stack_outputs(path: str) -> StackOutputs:
    """Read and validate a file written by `pulumi stack output --json` (a regular file of at
    most 1 MB, UTF-8 JSON): a FIFO, a device or an endless file is refused, never waited on."""
    where = f"--stack-outputs {shown(path)}"
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise InputError(f"{where}: cannot be read ({exc.strerror})") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise InputError(f"{where}: not a regular file; the rule is a JSON file")
        with os.fdopen(fd, "rb", closefd=False) as handle:
            raw = handle.read(MAX_OUTPUTS_BYTES + 1)
    except OSError as exc:
        raise InputError(f"{where}: cannot be read ({exc.strerror})") from None
    finally:
        os.close(fd)
    if len(raw) > MAX_OUTPUTS_BYTES:
        raise InputError(f"{where}: larger than {MAX_OUTPUTS_BYTES} bytes; not stack outputs")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{where}: not UTF-8 (byte {exc.start}); the rule is UTF-8 JSON") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{where}: not JSON (line {exc.lineno}: {exc.msg}); the rule is "
            "the output of `pulumi stack output --json`"
        ) from None
    except RecursionError:
        raise InputError(f"{where}: nested too deeply; not stack outputs") from None
    return parse_stack_outputs(data, where)


def tag_consumers(
    tags: Mapping[str, str], account: ResourceId, secret: str
) -> tuple[Consumer, ...]:
    """Sites named by the secret's Consumers tag, in the account's subscription and group."""
    sites = [n.strip() for n in tags.get(TAG_CONSUMERS, "").split(",") if n.strip()]
    where = f"secret {secret!r} tag {TAG_CONSUMERS!r}"
    return tuple(
        consumer(
            site,
            SITE,
            ResourceId(
                account.subscription, account.resource_group, site, "Microsoft.Web", "sites"
            ).id,
            where,
        )
        for site in sites
    )


def resolve_target(
    *,
    vault: str,
    secret: str,
    tags: Mapping[str, str],
    outputs: StackOutputs,
    account_id: str | None,
    endpoint: str | None,
    deployment: str | None,
) -> Target:
    """Combine flags (given here), stack outputs and the secret's tags into a Target.

    Consumers come from the stack outputs when they name any, else from the secret's tags. The
    endpoint may stay None: the account then tells it (accounts/read).
    """
    account_value = account_id or outputs.account_id or tags.get(TAG_ACCOUNT)
    if not account_value:
        raise InputError(
            f"account ID: none given; the rule is --account-id, the stack output 'aiAccountId' "
            f"or the tag {TAG_ACCOUNT!r} on secret {secret!r}"
        )
    where = (
        "--account-id"
        if account_id
        else "stack output 'aiAccountId'"
        if outputs.account_id
        else f"secret {secret!r} tag {TAG_ACCOUNT!r}"
    )
    account = account_ref(account_value, where)
    endpoint_value = endpoint or outputs.endpoint
    consumers = outputs.consumers or tag_consumers(tags, account, secret)
    return Target(
        vault_url=vault,
        secret_name=secret,
        account=account,
        endpoint=(
            endpoint_url(endpoint_value, "--endpoint" if endpoint else "stack output 'aiEndpoint'")
            if endpoint_value
            else None
        ),
        deployment=deployment_name(
            deployment or outputs.deployment or DEFAULT_DEPLOYMENT,
            "--deployment" if deployment else "chat deployment",
        ),
        consumers=consumers,
    )
