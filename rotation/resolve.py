"""From what a caller gives to what a rotation acts on: flags and a stack outputs file (the CLI,
the drill), or the Function App's settings (the hosted entry points), into a validated Target,
the secret's edge and its latest version. Nothing here changes anything.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from azure_edge.clients import Connection
from azure_edge.sites import HEALTH, SITE, Consumer
from azure_edge.vault import SecretNotFound, SecretRecord, VaultSecrets
from catalog import hosted as names
from catalog import ids
from catalog.key_shapes import shown
from catalog.names import STORAGE_ACCOUNT_NAME
from catalog.sites import site_of_default_host
from rotation import state, target
from rotation.engine import RotationStopped
from rotation.lease import SecretLease, lease_blob_name
from rotation.target import InputError, StackOutputs, Target

# Blob containers and queues: 3-63 lower-case letters, digits or single hyphens (Azure Storage
# naming rules for containers and queues).
STORAGE_CHILD_NAME = re.compile(r"[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}")
STORAGE_CHILD_RULE = "3-63 lowercase letters, digits or single hyphens"


def storage_account(value: str, what: str) -> str:
    """A storage account name."""
    if not STORAGE_ACCOUNT_NAME.matches(value):
        raise InputError(f"{what} {shown(value)}: the rule is {STORAGE_ACCOUNT_NAME.rule}")
    return value


def storage_child(value: str, what: str) -> str:
    """A blob container or queue name."""
    if not STORAGE_CHILD_NAME.fullmatch(value):
        raise InputError(f"{what} {shown(value)}: the rule is {STORAGE_CHILD_RULE}")
    return value


# -- flags and stack outputs (the CLI, the drill) ------------------------------------------------


@dataclass(frozen=True)
class Where:
    """What to act on, as given on a command line (every field optional: flags win over the
    stack outputs file, which wins over the secret's tags)."""

    stack_outputs: str | None = None
    vault_url: str | None = None
    secret_name: str | None = None
    account_id: str | None = None
    endpoint: str | None = None
    deployment: str | None = None

    @classmethod
    def of(cls, flags: object) -> Where:
        """From parsed flags (an argparse Namespace with these attribute names)."""
        return cls(**{name: getattr(flags, name, None) for name in cls.__dataclass_fields__})


@dataclass(frozen=True)
class Located:
    """The secret located, before anything was read from Azure."""

    vault_url: str
    secret_name: str
    outputs: StackOutputs


def locate(where: Where) -> Located:
    """Vault URL and secret name from flags or stack outputs; every flag checked before any
    call (InputError, one line)."""
    outputs = (
        target.read_stack_outputs(where.stack_outputs) if where.stack_outputs else StackOutputs()
    )
    vault = _given(
        where.vault_url,
        target.vault_url,
        outputs.vault_url,
        "vault URL: none given; the rule is --vault-url or --stack-outputs with 'vaultUri'",
    )
    name = _given(
        where.secret_name,
        target.secret_name,
        outputs.secret_name,
        "secret name: none given; the rule is --secret-name or --stack-outputs with 'secretName'",
    )
    if where.account_id:
        target.account_ref(where.account_id)
    if where.endpoint:
        target.endpoint_url(where.endpoint)
    if where.deployment:
        target.deployment_name(where.deployment)
    return Located(vault, name, outputs)


def _given(flag: str | None, check: Callable[[str], str], output: str | None, missing: str) -> str:
    """The flag (checked) when given, else the stack output (checked when read), else an
    InputError saying where it may come from."""
    if flag:
        return check(flag)
    if output:
        return output
    raise InputError(missing)


def latest_checked(vault: VaultSecrets) -> SecretRecord:
    """The secret's latest version, its tags checked as a state (StateError otherwise)."""
    try:
        latest = vault.latest()
    except SecretNotFound as exc:
        raise RotationStopped(
            f"{exc}; the rule is: the stack creates it before any rotation"
        ) from None
    state.parse_state(latest.tags, vault.name)
    return latest


def prepare(where: Where, connection: Connection) -> tuple[Target, VaultSecrets, SecretRecord]:
    """Locate and read the secret, check its tags, resolve the target; nothing is changed."""
    located = locate(where)
    vault = connection.vault(located.vault_url, located.secret_name)
    latest = latest_checked(vault)
    resolved = target.resolve_target(
        vault=located.vault_url,
        secret=located.secret_name,
        tags=latest.tags,
        outputs=located.outputs,
        account_id=where.account_id,
        endpoint=where.endpoint,
        deployment=where.deployment,
    )
    return resolved, vault, latest


def lease(
    resolved: Target,
    connection: Connection,
    *,
    account: str,
    container: str,
    duration: int,
    wait: float,
) -> SecretLease:
    """The secret's lease in the automation's storage account (not yet taken)."""
    return SecretLease(
        connection.lease_container(account, container),
        lease_blob_name(ids.vault_name(resolved.vault_url), resolved.secret_name),
        duration=duration,
        wait=wait,
    )


# -- the Function App's settings (the hosted entry points) ---------------------------------------


@dataclass(frozen=True)
class HostedSettings:
    """What the hosted rotation acts on, all from the Function App's settings."""

    vault_url: str
    secret_name: str
    account: ids.ResourceId
    endpoint: str
    deployment: str
    consumers: tuple[Consumer, ...]
    lease_container: str
    queue_name: str
    blob_url: str
    queue_url: str

    @property
    def vault_name(self) -> str:
        return ids.vault_name(self.vault_url)

    @property
    def target(self) -> Target:
        return Target(
            vault_url=self.vault_url,
            secret_name=self.secret_name,
            account=self.account,
            endpoint=self.endpoint,
            deployment=self.deployment,
            consumers=self.consumers,
        )

    @property
    def lease_blob(self) -> str:
        return lease_blob_name(self.vault_name, self.secret_name)


def _storage_uri(value: str, setting: str) -> str:
    """A storage service URI: https, or http on the loopback address (Azurite)."""
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        parts = None
    loopback = parts is not None and parts.scheme == "http" and parts.hostname == "127.0.0.1"
    if (
        parts is None
        or not (parts.scheme == "https" or loopback)
        or not parts.hostname
        or parts.query
        or parts.username
    ):
        raise InputError(
            f"app setting {setting} {shown(value)}: the rule is https://<account>.<service>."
            "core.windows.net (http only on 127.0.0.1)"
        )
    return value.rstrip("/")


def settings_from_environment(environ: Mapping[str, str]) -> HostedSettings:
    """Read and check the Function App's settings; a one-line InputError names the first bad one."""

    def required(name: str) -> str:
        value = environ.get(name, "").strip()
        if not value:
            raise InputError(f"app setting {name}: missing; the stack sets it")
        return value

    def where(name: str) -> str:
        return f"app setting {name}"

    vault = target.vault_url(required(names.VAULT_URI), where(names.VAULT_URI))
    secret = target.secret_name(required(names.SECRET_NAME), where(names.SECRET_NAME))
    account = target.account_ref(required(names.ACCOUNT_ID), where(names.ACCOUNT_ID))
    endpoint = target.endpoint_url(required(names.AI_ENDPOINT), where(names.AI_ENDPOINT))
    deployment = target.deployment_name(required(names.DEPLOYMENT), where(names.DEPLOYMENT))
    consumers: list[Consumer] = []
    sites: dict[str, str] = {}
    for site_id in names.split_list(environ.get(names.CONSUMER_SITE_IDS, "")):
        site = target.consumer("", SITE, site_id, where(names.CONSUMER_SITE_IDS))
        sites[site.site[2].lower()] = site_id
        consumers.append(Consumer(site.site[2], SITE, site_id))
    for url in names.split_list(environ.get(names.CONSUMER_HEALTH_URLS, "")):
        target.consumer("", HEALTH, url, where(names.CONSUMER_HEALTH_URLS))
        host = urlsplit(url).hostname or url
        # An app on one of the consumer sites: each of its instances is asked.
        site_id = sites.get(site_of_default_host(host) or "")
        consumers.append(Consumer(host, HEALTH, url, site_id))
    if not consumers:
        raise InputError(
            f"app settings {names.CONSUMER_SITE_IDS} / {names.CONSUMER_HEALTH_URLS}: both empty; "
            "the rule is at least one consumer of the secret"
        )
    lease_container = storage_child(
        environ.get(names.LEASE_CONTAINER_SETTING, "").strip() or names.LEASE_CONTAINER,
        where(names.LEASE_CONTAINER_SETTING),
    )
    queue_name = storage_child(
        environ.get(names.QUEUE_NAME_SETTING, "").strip() or names.QUEUE_NAME,
        where(names.QUEUE_NAME_SETTING),
    )
    blob_uri = environ.get(names.STORAGE_BLOB_URI, "").strip()
    queue_uri = environ.get(names.STORAGE_QUEUE_URI, "").strip()
    if not (blob_uri and queue_uri):
        account_name = storage_account(
            required(names.STORAGE_ACCOUNT_NAME), where(names.STORAGE_ACCOUNT_NAME)
        )
        blob_uri = blob_uri or f"https://{account_name}.blob.core.windows.net"
        queue_uri = queue_uri or f"https://{account_name}.queue.core.windows.net"
    return HostedSettings(
        vault_url=vault,
        secret_name=secret,
        account=account,
        endpoint=endpoint,
        deployment=deployment,
        consumers=tuple(consumers),
        lease_container=lease_container,
        queue_name=queue_name,
        blob_url=_storage_uri(blob_uri, names.STORAGE_BLOB_URI),
        queue_url=_storage_uri(queue_uri, names.STORAGE_QUEUE_URI),
    )
