"""The code deployment's dynamic provider against a stand-in for the app's SCM (Kudu) site and ARM.

What the stand-in reproduces, and where it is defined:
- OneDeploy for Flex Consumption: `POST https://<scm>/api/publish?RemoteBuild=true` with
  `Content-Type: application/zip` and an Entra bearer token for ARM, answered 202 with the
  deployment's ID; its status at `GET /api/deployments/<id>`, `status` 4 succeeded, 3 failed
  (Azure/azure-cli `appservice/custom.py` enable_zip_deploy_flex, Kudu DeployStatus);
- the functions ARM lists once the host indexed them: `GET {siteId}/functions` with
  `value[].name` = `<site>/<function>` (Microsoft.Web REST API, WebApps_ListFunctions).
The engine hands Check unknown inputs as `pulumi.output.Unknown` instances (pulumi 3.272,
`pulumi/runtime/rpc.py`); the mocks use the `rpc.UNKNOWN` string: both are accepted.

The package's contents are checked against the sources: the handlers' imports, followed through
rotation/, the contract (catalog/) and the Azure edge (azure_edge/), relative imports included.
"""

from __future__ import annotations

import json
import pickle
import secrets
from dataclasses import dataclass, field

import pulumi
import pytest
import requests
from azure.core.credentials import AccessToken
from azure.core.exceptions import ClientAuthenticationError
from pulumi.runtime.rpc import UNKNOWN

from components.azure_edge.clients import Connection
from components.azure_edge.code_deployment import ARM_SCOPE
from components.function_package import (
    DeploymentError,
    FunctionCodeDeploymentProvider,
    imports_of,
    package_files,
    package_sha256,
)

SITE_ID = (
    "/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/rg/providers/"
    "Microsoft.Web/sites/sai-dev-rot-5bc604"
)
SCM = "sai-dev-rot-5bc604.scm.azurewebsites.net"
FUNCTIONS = ["on_secret_near_expiry", "run_rotation", "daily_check"]
PACKAGE = b"PK\x05\x06" + b"\x00" * 18  # an empty zip: what is sent is not inspected here


@dataclass
class Answer:
    status_code: int
    body: object = ""

    @property
    def text(self) -> str:
        return self.body if isinstance(self.body, str) else json.dumps(self.body)

    def json(self) -> object:
        return self.body


@dataclass
class Kudu:
    """OneDeploy and ARM as the provider sees them; each GET pops the next scripted answer."""

    publish: Answer = field(default_factory=lambda: Answer(202, '"a1b2c3d4-0000-4000-8000-1"'))
    statuses: list[Answer] = field(default_factory=list)
    listings: list[Answer] = field(default_factory=list)
    posts: list[tuple[str, bytes, dict]] = field(default_factory=list)
    gets: list[tuple[str, dict]] = field(default_factory=list)

    def post(self, url: str, *, data: bytes, headers: dict, timeout: float) -> Answer:
        self.posts.append((url, data, headers))
        return self.publish

    def get(self, url: str, *, headers: dict, timeout: float) -> Answer:
        self.gets.append((url, headers))
        queue = self.listings if "/functions?" in url else self.statuses
        return queue.pop(0) if len(queue) > 1 else queue[0]


def listing(*names: str) -> Answer:
    return Answer(200, {"value": [{"name": f"sai-dev-rot-5bc604/{n}"} for n in names]})


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def token() -> str:
    return secrets.token_urlsafe(32)  # synthetic, generated per run


@dataclass
class Credential:
    """An azure-identity credential as the provider uses it: get_token(scope) per request."""

    token: str
    scopes: list[tuple[str, ...]] = field(default_factory=list)
    refusal: Exception | None = None

    def get_token(self, *scopes: str, **_: object) -> AccessToken:
        self.scopes.append(scopes)
        if self.refusal is not None:
            raise self.refusal
        return AccessToken(self.token, 4_102_444_800)


def provider(kudu: Kudu, token: str | Credential, clock: Clock | None = None, **options):
    clock = clock or Clock()
    credential = token if isinstance(token, Credential) else Credential(token)
    return FunctionCodeDeploymentProvider(
        connection=Connection(credential, session=kudu),  # type: ignore[arg-type]
        package=lambda: PACKAGE,
        sleep=clock.sleep,
        clock=clock,
        **options,
    )


def props(**overrides: object) -> dict:
    return {
        "site_id": SITE_ID,
        "scm_host": SCM,
        "package_sha256": package_sha256(PACKAGE),
        "functions": FUNCTIONS,
        **overrides,
    }


def test_create_posts_the_zip_with_a_bearer_token_and_waits_for_the_functions(token):
    kudu = Kudu(
        statuses=[Answer(202), Answer(200, {"status": 1}), Answer(200, {"status": 4})],
        listings=[Answer(404), listing("run_rotation"), listing(*FUNCTIONS)],
    )
    result = provider(kudu, token).create(props())
    ((url, body, headers),) = kudu.posts
    assert url == f"https://{SCM}/api/publish?RemoteBuild=true&Deployer=secure-azure-ai"
    assert body == PACKAGE
    assert headers == {
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/zip",
        "Cache-Control": "no-cache",
    }
    assert [u for u, _ in kudu.gets] == [
        *[f"https://{SCM}/api/deployments/a1b2c3d4-0000-4000-8000-1"] * 3,
        *[f"https://management.azure.com{SITE_ID}/functions?api-version=2024-04-01"] * 3,
    ]
    assert all(h == {"Authorization": f"Bearer {token}"} for _, h in kudu.gets)
    assert result.id == f"{SITE_ID}/deployments/a1b2c3d4-0000-4000-8000-1"
    assert result.outs == {**props(), "deployment_id": "a1b2c3d4-0000-4000-8000-1"}
    # Nothing the provider returns carries the token.
    assert token not in json.dumps(result.outs)


def test_an_unnamed_answer_polls_the_latest_deployment(token):
    kudu = Kudu(
        publish=Answer(200, "<html>ok</html>"),
        statuses=[Answer(200, {"status": 4})],
        listings=[listing(*FUNCTIONS)],
    )
    provider(kudu, token).create(props())
    assert kudu.gets[0][0] == f"https://{SCM}/api/deployments/latest"


@pytest.mark.parametrize(
    ("kudu", "message"),
    [
        (
            Kudu(publish=Answer(401)),
            f"OneDeploy to {SCM}: HTTP 401",
        ),
        (
            # Flex's SCM site answers 400 with a BlobUploadFailedException holding storage's 403
            # when the app cannot write its package (as described by the ZeroFailed.Deploy.Azure
            # module's Publish-FlexConsumptionFunctionApp); only the exception name is matched.
            Kudu(
                publish=Answer(
                    400,
                    "BlobUploadFailedException: Failed to upload blob to storage account: "
                    "Response status code does not indicate success: 403 (This request is not "
                    "authorized to perform this operation.).",
                )
            ),
            f"OneDeploy to {SCM}: HTTP 400: the app could not write the package into its "
            "deployment container: a new Storage Blob Data Owner assignment can take minutes to "
            "apply, so run `pulumi up` again; if it persists with networkMode private, check that "
            "the storage account's blob private endpoint and privatelink.blob.core.windows.net "
            "resolve from the VNet the app is integrated with (docs/private-network.md)",
        ),
        (
            Kudu(publish=Answer(403, "Forbidden")),
            f"OneDeploy to {SCM}: HTTP 403: the SCM site turns the deployer away: its identity "
            "needs Microsoft.Web/sites/publish/Action on the app (Website Contributor), and a "
            "site with public network access disabled takes deployments only from its virtual "
            "network",
        ),
        (
            Kudu(statuses=[Answer(200, {"status": 3})]),
            f"OneDeploy to {SCM}: deployment a1b2c3d4-0000-4000-8000-1 failed; its log is at "
            f"https://{SCM}/api/deployments/a1b2c3d4-0000-4000-8000-1/log",
        ),
        (
            Kudu(statuses=[Answer(500)]),
            f"deployment status at {SCM}: HTTP 500",
        ),
        (
            Kudu(statuses=[Answer(200, {"status": 1})]),
            f"OneDeploy to {SCM}: deployment a1b2c3d4-0000-4000-8000-1 unfinished after 60 s",
        ),
        (
            Kudu(statuses=[Answer(200, {"status": 4})], listings=[listing("run_rotation")]),
            f"functions ['daily_check', 'on_secret_near_expiry'] not indexed on {SITE_ID} after "
            "60 s; see the app's logs in Application Insights",
        ),
    ],
    ids=[
        "publish refused",
        "deployment storage unwritable",
        "scm denied",
        "deployment failed",
        "status error",
        "never done",
        "not indexed",
    ],
)
def test_a_failed_step_is_one_line_naming_the_step(kudu, message, token):
    with pytest.raises(DeploymentError) as caught:
        provider(kudu, token, deadline_seconds=60).create(props())
    assert str(caught.value) == message
    assert token not in str(caught.value)


def test_every_request_carries_a_fresh_arm_token_from_the_edges_credential(token):
    kudu = Kudu(statuses=[Answer(200, {"status": 4})], listings=[listing(*FUNCTIONS)])
    credential = Credential(token)
    provider(kudu, credential).create(props())
    # One token request per HTTP request: the credential (a fresh GitHub OIDC assertion in
    # Actions) decides when to renew, never a token kept by the provider.
    assert credential.scopes == [(ARM_SCOPE,)] * 3
    assert ARM_SCOPE == "https://management.azure.com/.default"


def test_no_sign_in_or_no_route_to_the_scm_site_is_one_line(token):
    refused = Credential(token, refusal=ClientAuthenticationError("AADSTS700024: expired\n..."))
    with pytest.raises(DeploymentError) as caught:
        provider(Kudu(), refused).create(props())
    assert str(caught.value) == (
        f"OneDeploy to {SCM} failed: no Azure credential (run 'az login', or set the AZURE_* or "
        "OIDC environment): AADSTS700024: expired"
    )

    class Unreachable(Kudu):
        def post(self, url: str, **_: object) -> Answer:
            raise requests.ConnectionError(f"cannot connect to {url}")

    with pytest.raises(DeploymentError) as caught:
        provider(Unreachable(), token).create(props())
    assert str(caught.value) == f"OneDeploy to {SCM} failed: cannot reach it (ConnectionError)"


def test_changed_sources_since_the_preview_stop_before_anything_is_sent(token):
    kudu = Kudu()
    with pytest.raises(DeploymentError, match="differs from the planned"):
        provider(kudu, token).create(props(package_sha256="0" * 64))
    assert kudu.posts == []


def test_diff_replaces_for_a_new_site_and_redeploys_for_a_new_digest(token):
    p = provider(Kudu(), token)
    assert p.diff("id", props(), props()).changes is False
    moved = p.diff("id", props(), props(package_sha256="f" * 64))
    assert (moved.changes, moved.replaces) == (True, [])
    other = p.diff("id", props(), props(site_id=SITE_ID + "x"))
    assert (other.changes, other.replaces) == (True, ["site_id"])


def test_update_deploys_the_new_package(token):
    kudu = Kudu(statuses=[Answer(200, {"status": 4})], listings=[listing(*FUNCTIONS)])
    result = provider(kudu, token).update("id", props(package_sha256="f" * 64), props())
    assert len(kudu.posts) == 1
    assert result.outs["package_sha256"] == package_sha256(PACKAGE)


@pytest.mark.parametrize(
    ("field", "value", "rule"),
    [
        ("site_id", "sites/x", "the ARM ID of a Microsoft.Web/sites resource"),
        ("scm_host", "https://x.scm.azurewebsites.net/", "the site's SCM host name"),
        ("package_sha256", "ABC", "a lower-case hex SHA-256 digest"),
        ("functions", [], "a non-empty list of function names"),
    ],
)
def test_check_names_each_bad_input_and_its_rule(field, value, rule, token):
    failures = provider(Kudu(), token).check({}, props(**{field: value})).failures
    assert [(f.property, f.reason.startswith(rule)) for f in failures] == [(field, True)]


@pytest.mark.parametrize("unknown", [UNKNOWN, pulumi.output.Unknown()], ids=["mocks", "engine"])
def test_check_accepts_values_still_unknown_at_preview(unknown, token):
    news = props(site_id=unknown, scm_host=unknown)
    assert provider(Kudu(), token).check({}, news).failures == []


def test_the_pickled_provider_carries_only_its_deadline(token):
    p = provider(Kudu(), token, deadline_seconds=120)
    assert p.__getstate__() == {"deadline_seconds": 120.0}
    restored = pickle.loads(pickle.dumps(p))
    assert restored.deadline_seconds == 120.0
    assert token.encode() not in pickle.dumps(p)


# --- The package's contents ---------------------------------------------------------------------

# The zip of the hosted rotation: the app folder at the root, then every module its handlers
# import, directly or through others. A change to what rotation/ imports changes this list on
# purpose: update it here after checking that the new module belongs in the Functions app.
PACKAGED = [
    "azure_edge/__init__.py",
    "azure_edge/account_keys.py",
    "azure_edge/clients.py",
    "azure_edge/credentials.py",
    "azure_edge/errors.py",
    "azure_edge/probe.py",
    "azure_edge/retry.py",
    "azure_edge/sites.py",
    "azure_edge/vault.py",
    "catalog/__init__.py",
    "catalog/hosted.py",
    "catalog/ids.py",
    "catalog/key_shapes.py",
    "catalog/names.py",
    "catalog/secret.py",
    "catalog/sites.py",
    "function_app.py",
    "host.json",
    "requirements.txt",
    "rotation/__init__.py",
    "rotation/engine.py",
    "rotation/hosted.py",
    "rotation/lease.py",
    "rotation/resolve.py",
    "rotation/state.py",
    "rotation/target.py",
]


def test_the_package_holds_the_app_and_exactly_the_modules_its_handlers_import():
    assert [name for name, _ in package_files()] == PACKAGED


def _tree(root, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, "utf-8")


def test_relative_imports_inside_the_contract_and_the_edge_are_followed(tmp_path):
    # catalog/ and azure_edge/ import themselves relatively, so that their shipped-alone copies
    # stay byte-equal; the package must still carry every module they reach that way.
    _tree(
        tmp_path,
        {
            "functions/function_app.py": "from catalog import ids\n",
            "functions/host.json": "{}",
            "catalog/__init__.py": "",
            "catalog/ids.py": "from . import names\nfrom .secret import LIMIT\n",
            "catalog/names.py": "",
            "catalog/secret.py": "LIMIT = 1\n",
            "catalog/unused.py": "",
            "azure_edge/__init__.py": "",
            "azure_edge/errors.py": "",
        },
    )

    assert imports_of(tmp_path / "catalog" / "ids.py", tmp_path) == {
        "catalog",
        "catalog.names",
        "catalog.secret",
        "catalog.secret.LIMIT",
    }
    assert [name for name, _ in package_files(tmp_path)] == [
        "catalog/__init__.py",
        "catalog/ids.py",
        "catalog/names.py",
        "catalog/secret.py",
        "function_app.py",
        "host.json",
    ]
    _tree(tmp_path, {"catalog/names.py": "from .. import outside\n"})
    with pytest.raises(ValueError, match=r"names.py: relative import above its package"):
        package_files(tmp_path)
