"""The hosted rotation's code: a deterministic zip, deployed to Flex Consumption by OneDeploy.

The package is `functions/` at its root (function_app.py, host.json, requirements.txt) plus the
project modules the handlers import, found by following function_app.py's imports through
`rotation/`, the contract (`catalog/`) and the Azure edge (`azure_edge/`), relative imports
included (so the rotation CLI, the rehearsals and the components stay out). Entries are sorted
and carry one fixed timestamp and mode, so the same sources always give the same bytes and the
same SHA-256: an unchanged package is not deployed again.

``FunctionCodeDeployment`` hands the package to the Azure edge's ``OneDeploy``
(``components.azure_edge.code_deployment``): a POST to the app's OneDeploy endpoint with the
deployer's Entra token for Azure Resource Manager, a wait for the deployment to finish, then a
wait until ARM lists every function (Event Grid refuses a subscription to a function that is not
indexed yet). No key, SAS or publishing credential is involved: the platform writes the package
into the app's deployment container with the app's own identity, and installs requirements.txt
(remote build). This module keeps the package, the spec, the hints for a refused upload and the
CRUD.

Wire names (inputs and outputs) are snake_case: ``site_id``, ``scm_host``, ``package_sha256``,
``functions``; ``deployment_id``.
"""

from __future__ import annotations

import ast
import hashlib
import io
import logging
import time
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pulumi
import pulumi.dynamic
from pulumi.dynamic import CheckFailure, CheckResult, CreateResult, DiffResult, UpdateResult
from pulumi.output import contains_unknowns
from pulumi.runtime.rpc import UNKNOWN

from components.azure_edge.clients import Connection
from components.azure_edge.code_deployment import OneDeploy
from components.azure_edge.errors import EdgeError
from components.azure_edge.retry import Waiter
from components.catalog import ids

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
APP_FOLDER = "functions"
ENTRY_POINT = "function_app.py"
MODULE_FOLDERS = ("rotation", "catalog", "azure_edge")
# 1980-01-01, the earliest time a zip entry can carry: no clock reaches the bytes.
FIXED_TIMESTAMP = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o644 << 16
_SKIPPED_PARTS = frozenset({"__pycache__", ".pytest_cache"})
_SKIPPED_SUFFIXES = frozenset({".pyc", ".pyo"})

DEFAULT_DEADLINE_SECONDS = 900.0
POLL_SECONDS = 5.0


class DeploymentError(EdgeError):
    """A failed deployment step, as one line naming the step and the status."""


# OneDeploy answers 400 with a BlobUploadFailedException (storage's 403 inside) when the platform
# cannot write the package into the app's deployment container: it writes with the app's own
# identity, from the app's side, so with a firewalled account the app's VNet must reach the
# account's blob private endpoint. The SCM site itself stays public unless the app is private.
_STORAGE_WRITE_HINT = (
    "the app could not write the package into its deployment container: a new Storage Blob Data "
    "Owner assignment can take minutes to apply, so run `pulumi up` again; if it persists with "
    "networkMode private, check that the storage account's blob private endpoint and "
    "privatelink.blob.core.windows.net resolve from the VNet the app is integrated with "
    "(docs/private-network.md)"
)
_SCM_DENIED_HINT = (
    "the SCM site turns the deployer away: its identity needs Microsoft.Web/sites/publish/Action "
    "on the app (Website Contributor), and a site with public network access disabled takes "
    "deployments only from its virtual network"
)


def publish_failure(host: str, status: int, body: str) -> str:
    """The one-line error for a refused OneDeploy POST; the answer's body is never echoed."""
    if status == 400 and "BlobUploadFailed" in body:
        return f"OneDeploy to {host}: HTTP 400: {_STORAGE_WRITE_HINT}"
    if status == 403:
        return f"OneDeploy to {host}: HTTP 403: {_SCM_DENIED_HINT}"
    return f"OneDeploy to {host}: HTTP {status}"


# --- The package (pure) --------------------------------------------------------------------------


def package_files(root: Path = ROOT) -> list[tuple[str, Path]]:
    """(name in the zip, file) for every file of the package, sorted by name: the app folder's
    files at the root, and each project module the app imports, directly or through others."""
    app = root / APP_FOLDER
    entries = {
        path.relative_to(app).as_posix(): path
        for path in app.rglob("*")
        if path.is_file()
        and not _SKIPPED_PARTS.intersection(path.relative_to(app).parts)
        and path.suffix not in _SKIPPED_SUFFIXES
    }
    for module in module_closure(root, [app / ENTRY_POINT]):
        entries[module.relative_to(root).as_posix()] = module
    return sorted(entries.items())


def imports_of(path: Path, root: Path = ROOT) -> set[str]:
    """Every module name `path` (a file under `root`) imports, at module level or inside
    functions; a relative import (inside catalog/ and azure_edge/) is resolved against the
    file's package."""
    package = path.relative_to(root).parent.parts
    tree = ast.parse(path.read_bytes(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level > len(package):
                raise ValueError(f"{path}: relative import above its package")
            base = package[: len(package) - node.level + 1] if node.level else ()
            module = ".".join([*base, *([node.module] if node.module else [])])
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def module_closure(root: Path, entries: Sequence[Path]) -> list[Path]:
    """The project's module files (MODULE_FOLDERS) that `entries` need, transitively, with the
    `__init__.py` of each package on the way."""
    found: set[Path] = set()
    todo = list(entries)
    while todo:
        for name in sorted(imports_of(todo.pop(), root)):
            parts = name.split(".")
            if parts[0] not in MODULE_FOLDERS:
                continue
            for depth in range(1, len(parts) + 1):
                base = root.joinpath(*parts[:depth])
                for candidate in (base / "__init__.py", base.with_suffix(".py")):
                    if candidate.is_file() and candidate not in found:
                        found.add(candidate)
                        todo.append(candidate)
    return sorted(found)


def build_package(files: Iterable[tuple[str, Path]]) -> bytes:
    """The zip of `files`: sorted entries, fixed timestamp and mode, deflated."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, path in sorted(files):
            info = zipfile.ZipInfo(name, date_time=FIXED_TIMESTAMP)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = FILE_MODE
            archive.writestr(info, path.read_bytes())
    return buffer.getvalue()


def package_sha256(package: bytes) -> str:
    """The package's identity: an unchanged digest means nothing to deploy."""
    return hashlib.sha256(package).hexdigest()


def scm_host_of(host_names: Sequence[str] | None) -> str | None:
    """The SCM (Kudu) host among a site's enabled host names: `<app>.scm.azurewebsites.net`."""
    for host in host_names or ():
        if ".scm." in host:
            return host
    return None


# --- The dynamic provider ------------------------------------------------------------------------

_INPUTS = ("site_id", "scm_host", "package_sha256", "functions")


def _known(value: object) -> bool:
    """False for a value the engine has not resolved yet (preview): the mocks' sentinel string
    or, from the real engine, a ``pulumi.output.Unknown`` instance (pulumi/runtime/rpc.py)."""
    if isinstance(value, list | tuple):
        return all(_known(v) for v in value)
    return value != UNKNOWN and not contains_unknowns(value)


def _site_id(value: object) -> bool:
    try:
        ids.site_id(value)
    except ids.IdError:
        return False
    return True


def _scm_host(value: object) -> bool:
    return isinstance(value, str) and ".scm." in value and "/" not in value


def _digest(value: object) -> bool:
    return isinstance(value, str) and len(value) == 64 and set(value) <= set("0123456789abcdef")


def _names(value: object) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(n, str) and n for n in value)


_RULES: dict[str, tuple[Callable[[object], bool], str]] = {
    "site_id": (_site_id, "the ARM ID of a Microsoft.Web/sites resource"),
    "scm_host": (_scm_host, "the site's SCM host name, e.g. <app>.scm.azurewebsites.net"),
    "package_sha256": (_digest, "a lower-case hex SHA-256 digest"),
    "functions": (_names, "a non-empty list of function names"),
}


def input_problems(props: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(input, rule) for each input given and known that breaks its rule."""
    return [
        (field, rule)
        for field, (valid, rule) in _RULES.items()
        if field in props and _known(props[field]) and not valid(props[field])
    ]


class FunctionCodeDeploymentProvider(pulumi.dynamic.ResourceProvider):
    """Deploy the package by OneDeploy with an Entra token; redeploy only when its digest moves.

    The connection, package builder, sleep and clock are for tests; in a deployment the provider
    signs in through the Azure edge as the key write does (``azure_edge.credentials``: in GitHub
    Actions a fresh OIDC assertion per token, since the upload comes late in a long deployment)
    and speaks over the connection's HTTP session. Nothing survives serialisation into the
    ``__provider`` input but the deadline.
    """

    serialize_as_secret_always = False  # it captures nothing secret: see __getstate__

    def __init__(
        self,
        *,
        connection: Connection | None = None,
        package: Callable[[], bytes] | None = None,
        sleep: Callable[[float], None] | None = None,
        clock: Callable[[], float] | None = None,
        deadline_seconds: float = DEFAULT_DEADLINE_SECONDS,
    ) -> None:
        super().__init__()
        self.deadline_seconds = float(deadline_seconds)
        self._connection = connection
        self._package = package
        self._sleep = sleep or time.sleep
        self._clock = clock or time.monotonic

    def __getstate__(self) -> dict[str, Any]:
        return {"deadline_seconds": self.deadline_seconds}

    def __setstate__(self, state: Mapping[str, Any]) -> None:
        self.__init__(deadline_seconds=state.get("deadline_seconds", DEFAULT_DEADLINE_SECONDS))

    # -- the edge ---------------------------------------------------------------------------

    @property
    def connection(self) -> Connection:
        """One sign-in per provider process, chosen from its environment."""
        if self._connection is None:
            self._connection = Connection.from_environment()
        return self._connection

    def _one_deploy(self) -> OneDeploy:
        waiter = Waiter(
            timeout=self.deadline_seconds,
            interval=POLL_SECONDS,
            cap=POLL_SECONDS,
            clock=self._clock,
            sleep=self._sleep,
        )
        return OneDeploy(
            self.connection.credential, self.connection.session, waiter, DeploymentError
        )

    def _build(self) -> bytes:
        return self._package() if self._package else build_package(package_files())

    # -- steps ------------------------------------------------------------------------------

    def _deploy(self, props: Mapping[str, Any]) -> dict[str, Any]:
        package = self._build()
        digest = package_sha256(package)
        if digest != props["package_sha256"]:
            raise DeploymentError(
                f"package digest {digest} differs from the planned {props['package_sha256']}: "
                "the sources changed after the preview; run the update again"
            )
        host = props["scm_host"]
        deploy = self._one_deploy()
        deployment_id = deploy.publish(
            host, package, lambda status, body: publish_failure(host, status, body)
        )
        deploy.wait_for_deployment(host, deployment_id)
        deploy.wait_for_functions(props["site_id"], props["functions"])
        log.info("deployed package %s to %s (deployment %s)", digest[:12], host, deployment_id)
        return {**{k: props[k] for k in _INPUTS}, "deployment_id": deployment_id}

    # -- the dynamic provider interface -----------------------------------------------------

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        return CheckResult(
            news, [CheckFailure(field, rule) for field, rule in input_problems(news)]
        )

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """A new site replaces; a new digest, host or function list redeploys in place."""
        replaces = ["site_id"] if olds.get("site_id") != news.get("site_id") else []
        updates = [k for k in _INPUTS[1:] if olds.get(k) != news.get(k)]
        return DiffResult(changes=bool(replaces or updates), replaces=replaces)

    def create(self, props: dict[str, Any]) -> CreateResult:
        outputs = self._deploy(props)
        return CreateResult(f"{props['site_id']}/deployments/{outputs['deployment_id']}", outputs)

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(self._deploy(news))

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """Nothing to undo: the code goes with the app and its deployment container."""


# Its type when the component package's own provider serves it (components/package.py), and its
# properties as the package's schema describes them (the wire names).
SERVED_TYPE = "secure-azure-ai:index:FunctionCodeDeployment"
SCHEMA_INPUTS = {
    "site_id": ("string", "ARM ID of the Function App (Microsoft.Web/sites) to deploy to."),
    "scm_host": ("string", "The app's SCM host name, <app>.scm.azurewebsites.net."),
    "package_sha256": ("string", "SHA-256 of the package: a new digest deploys again."),
    "functions": ("array", "Function names ARM must list before the deployment is done."),
}
OPTIONAL_INPUTS: frozenset[str] = frozenset()
SCHEMA_OUTPUTS = {
    "deployment_id": ("string", "Kudu's ID of the deployment that put the package in place."),
}


def resource_props(**inputs: Any) -> dict[str, Any]:
    """The resource's inputs by their wire names, plain ones checked now (RunError naming the
    first bad one), with its output still to come (``None``)."""
    unexpected = sorted(set(inputs) - set(_INPUTS))
    if unexpected:
        raise TypeError(f"FunctionCodeDeployment has no input {', '.join(unexpected)}")
    props = {field: inputs.get(field) for field in _INPUTS}
    props["functions"] = list(props["functions"] or ())
    problems = input_problems({k: v for k, v in props.items() if not isinstance(v, pulumi.Output)})
    if problems:
        field, rule = problems[0]
        raise pulumi.RunError(f"FunctionCodeDeployment input {field}: {rule}")
    return {**props, **dict.fromkeys(SCHEMA_OUTPUTS)}


class FunctionCodeDeployment(pulumi.dynamic.Resource):
    """The Functions package deployed to a Flex Consumption app, keyed by its SHA-256."""

    deployment_id: pulumi.Output[str]
    """Kudu's ID of the deployment that put the current package in place."""

    def __init__(
        self,
        name: str,
        *,
        site_id: pulumi.Input[str],
        scm_host: pulumi.Input[str],
        package_sha256: str,
        functions: Sequence[str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props = resource_props(
            site_id=site_id, scm_host=scm_host, package_sha256=package_sha256, functions=functions
        )
        super().__init__(FunctionCodeDeploymentProvider(), name, props, opts)
