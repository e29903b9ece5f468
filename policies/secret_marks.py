"""Secret-marked values where a secret must not sit: what only the offline preview can see.

Under the real engine a policy never sees Pulumi's secret marker: the engine sends it
(``KeepSecrets``) and pulumi-policy unwraps it before a policy runs, so a secret-marked value is
caught only by its shape or its name. The offline preview records inputs in wire format, marker
kept, so it can also refuse a value the program itself marked secret (``Output.secret``,
``secure:`` config, a credential invoke's result) wherever it lands in an app setting, a
connection string, a container's environment, a tag or a stack output, whatever it looks like.
The findings carry the name of the policy that owns the place, so its level and allow-lists apply.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pulumi_policy.deserialize import SPECIAL_SECRET_SIG, SPECIAL_SIG_KEY

from policies import detection
from policies.support import APP_SETTINGS, CONNECTION_STRINGS, WEB_APPS, canonical_type, format_path

_ENV_LISTS = frozenset({"env", "environmentVariables"})

SETTINGS_POLICY = "app-settings-use-key-vault-references"
INPUTS_POLICY = "no-hardcoded-secrets"
OUTPUTS_POLICY = "stack-outputs-hold-no-credential"


@dataclass(frozen=True)
class MarkedSecret:
    """A secret-marked value in a place a secret must not be: the owning policy and the path."""

    policy: str
    path: str
    setting: str | None

    def message(self) -> str:
        where = f"{self.path} (setting {self.setting!r})" if self.setting else self.path
        return (
            f"{where} holds a value the program marked secret: a secret here is stored in plain "
            "text; pass a Key Vault reference or use a managed identity"
        )


def _is_secret(value: Any) -> bool:
    return isinstance(value, dict) and value.get(SPECIAL_SIG_KEY) == SPECIAL_SECRET_SIG


def _marked(value: Any, path: tuple[str | int, ...]) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    """(path, unwrapped value) of every secret-marked value inside ``value``."""
    if _is_secret(value):
        yield path, value.get("value")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _marked(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _marked(item, (*path, index))


def _is_reference(value: Any) -> bool:
    return isinstance(value, str) and (
        detection.is_key_vault_reference(value) or detection.is_app_configuration_reference(value)
    )


def _setting_name(resource_type: str, inputs: Mapping[str, Any], path: tuple) -> str | None:
    """The app setting or connection string a path is the value of, if it is one."""
    pairs = (("appSettings", "value"), ("connectionStrings", "connectionString"))
    if (
        resource_type in WEB_APPS
        and len(path) == 4
        and path[0] == "siteConfig"
        and (path[1], path[3]) in pairs
    ):
        entry = inputs.get("siteConfig", {}).get(path[1], [])[path[2]]
        name = entry.get("name") if isinstance(entry, dict) else None
        return name if isinstance(name, str) else ""
    if resource_type in APP_SETTINGS and len(path) == 2 and path[0] == "properties":
        return str(path[1])
    if (
        resource_type in CONNECTION_STRINGS
        and path[:1] == ("properties",)
        and path[2:] == ("value",)
    ):
        return str(path[1])
    return None


def in_resource(resource_type: str, inputs: Mapping[str, Any]) -> list[MarkedSecret]:
    """Secret-marked values of one resource's wire-format inputs in settings, env and tags."""
    token = canonical_type(resource_type)
    found = []
    for path, value in _marked(dict(inputs), ()):
        setting = _setting_name(token, inputs, path)
        if setting is not None:
            if not _is_reference(value):
                found.append(MarkedSecret(SETTINGS_POLICY, format_path(path), setting or None))
        elif path[:1] == ("tags",) or (
            len(path) >= 3 and path[-1] == "value" and path[-3] in _ENV_LISTS
        ):
            found.append(MarkedSecret(INPUTS_POLICY, format_path(path), None))
    return found


def in_outputs(outputs: Mapping[str, Any]) -> list[MarkedSecret]:
    """Secret-marked stack outputs (wire format): a secret exported is a secret in state."""
    return [
        MarkedSecret(OUTPUTS_POLICY, f"stack output {format_path(path)}", None)
        for path, _ in _marked(dict(outputs), ())
    ]
