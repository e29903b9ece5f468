"""Where App Service keeps settings, read the same way by every policy that inspects them.

A web app (or function app, or slot) has ``siteConfig.appSettings`` ([{name, value}]) and
``siteConfig.connectionStrings`` ([{name, connectionString, type}]); the separate resources
``WebAppApplicationSettings[Slot]`` hold ``properties`` ({name: value}) and
``WebAppConnectionStrings[Slot]`` hold ``properties`` ({name: {value, type}}).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from policies.support import (
    APP_SETTINGS,
    CONNECTION_STRINGS,
    NOT_KNOWN,
    WEB_APPS,
    Outcome,
)


@dataclass(frozen=True)
class Setting:
    """One setting: where it is, its name and its value (either may be NOT_KNOWN)."""

    path: tuple[str | int, ...]
    name: Any
    value: Any


def settings_of(resource_type: str, props: dict[str, Any], out: Outcome) -> list[Setting]:
    """Every app setting and connection string a resource declares; unknown parts recorded."""
    if resource_type in WEB_APPS:
        return _pairs(props, ("siteConfig", "appSettings"), "value", out) + _pairs(
            props, ("siteConfig", "connectionStrings"), "connectionString", out
        )
    if resource_type in APP_SETTINGS:
        return _mapping(props, out, nested_value=False)
    if resource_type in CONNECTION_STRINGS:
        return _mapping(props, out, nested_value=True)
    return []


def _pairs(props: dict[str, Any], path: tuple[str, ...], value_key: str, out: Outcome) -> list:
    items = out.read(props, *path)
    if items is NOT_KNOWN or not isinstance(items, list):
        return []
    result = []
    for index in range(len(items)):
        name = out.read(props, *path, index, "name")
        value = out.read(props, *path, index, value_key)
        if value is not None:
            result.append(Setting((*path, index, value_key), name, value))
    return result


def _mapping(props: dict[str, Any], out: Outcome, *, nested_value: bool) -> list[Setting]:
    entries = out.read(props, "properties")
    if entries is NOT_KNOWN or not isinstance(entries, dict):
        return []
    result = []
    for name in entries:
        path: tuple[str, ...] = (
            ("properties", name, "value") if nested_value else ("properties", name)
        )
        value = out.read(props, *path)
        if value is not None:
            result.append(Setting(path, name, value))
    return result
