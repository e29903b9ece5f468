"""The offline preview on programs other teams write: assets, identities, invokes, computed outputs,
secret config. Each program is written here, run through the harness, and its plan compared with
what the real engine and provider would produce (sources named per test)."""

from __future__ import annotations

import hashlib
import io
import json
import textwrap
import zipfile
from pathlib import Path

import pytest

from preflight.evaluate import evaluate
from preflight.harness import PREVIEW_TENANT, synthetic_config_secret
from preflight.model import ARCHIVE_SIG, ASSET_SIG, SECRET_SIG_KEY, SECRET_SIG_VALUE, UNKNOWN
from preflight.preview import plan_stack

PREFIX = "urn:pulumi:dev::t::pulumi:pulumi:Stack$"


def write_program(folder: Path, source: str, config: str = "config: {}\n") -> Path:
    (folder / "Pulumi.yaml").write_text("name: t\nruntime: python\n")
    (folder / "Pulumi.dev.yaml").write_text(textwrap.dedent(config))
    (folder / "__main__.py").write_text(textwrap.dedent(source))
    return folder


def resource(plan, name: str):
    (found,) = [r for r in plan.resources if r.name == name]
    return found


def secret(value: object) -> dict:
    return {SECRET_SIG_KEY: SECRET_SIG_VALUE, "value": value}


def test_assets_and_archives_reach_policies_as_the_engine_sends_them(tmp_path: Path) -> None:
    """The SDK serializes assets and archives with their signatures (pulumi/runtime/rpc.py
    serialize_property); the engine adds each one's SHA-256 on registration
    (pkg/resource/deploy/source_eval.go RegisterResource: ComputeAssetHashes; asset.go and
    archive.go EnsureHash: the bytes of a text, a file, or an archive file)."""
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "index.html").write_text("<h1>hello</h1>\n")
    bundle = io.BytesIO()
    with zipfile.ZipFile(bundle, "w") as archive:
        archive.writestr("function.json", "{}")
    (tmp_path / "app.zip").write_bytes(bundle.getvalue())
    write_program(
        tmp_path,
        """\
        import pulumi
        from pulumi_azure_native import resources, storage
        rg = resources.ResourceGroup("rg")
        def blob(name, source):
            storage.Blob(name, resource_group_name=rg.name, account_name="acct",
                         container_name="web", source=source)
        blob("file", pulumi.FileAsset("site/index.html"))
        blob("text", pulumi.StringAsset("hello"))
        blob("remote", pulumi.RemoteAsset("https://example.com/a.txt"))
        blob("folder", pulumi.FileArchive("site"))
        blob("zip", pulumi.FileArchive("app.zip"))
        blob("assets", pulumi.AssetArchive({"index.html": pulumi.StringAsset("hi")}))
        """,
    )
    plan = plan_stack(tmp_path, "dev")

    def sha(data: bytes) -> str:
        return hashlib.sha256(data).hexdigest()

    sources = {r.name: r.inputs["source"] for r in plan.of_type("azure-native:storage:Blob")}
    assert sources == {
        "file": {
            SECRET_SIG_KEY: ASSET_SIG,
            "path": "site/index.html",
            "hash": sha(b"<h1>hello</h1>\n"),
        },
        "text": {SECRET_SIG_KEY: ASSET_SIG, "text": "hello", "hash": sha(b"hello")},
        # The engine downloads a remote asset and tars a folder to hash them: not offline.
        "remote": {SECRET_SIG_KEY: ASSET_SIG, "uri": "https://example.com/a.txt"},
        "folder": {SECRET_SIG_KEY: ARCHIVE_SIG, "path": "site"},
        "zip": {SECRET_SIG_KEY: ARCHIVE_SIG, "path": "app.zip", "hash": sha(bundle.getvalue())},
        "assets": {
            SECRET_SIG_KEY: ARCHIVE_SIG,
            "assets": {"index.html": {SECRET_SIG_KEY: ASSET_SIG, "text": "hi", "hash": sha(b"hi")}},
        },
    }
    # The pack deserializes them into pulumi.FileAsset & co (pulumi_policy/deserialize.py)
    # without failing: every blob is evaluated, and none breaks a policy.
    assert {(v.policy, v.enforcement, v.urn.removeprefix(PREFIX)) for v in evaluate(plan)} == set()


def test_a_missing_asset_file_fails_the_program_like_the_engine(tmp_path: Path, capsys) -> None:
    """The engine cannot hash a missing file and rejects the registration (rpc.go
    MarshalAsset / EnsureHashWithWD error): the program fails, exit 3, one line."""
    from preflight.__main__ import main

    write_program(
        tmp_path,
        """\
        import pulumi
        from pulumi_azure_native import storage
        storage.Blob("page", resource_group_name="rg", account_name="acct",
                     container_name="web", source=pulumi.FileAsset("missing.html"))
        """,
    )
    code = main(["preview", "--program", str(tmp_path)])
    captured = capsys.readouterr()
    assert (code, captured.out) == (3, "")
    assert captured.err == (
        "preflight: the program failed: resource 'page': failed to compute asset hash for "
        "'missing.html': no such file or directory\n"
    )


def test_user_assigned_identities_come_back_as_the_map_azure_returns(tmp_path: Path) -> None:
    """azure-native takes user-assigned identities as a list of IDs and returns a map of ID to
    {principalId, clientId} (web.ManagedServiceIdentityResponse.user_assigned_identities); the
    identity's own principal and client IDs are the same ones the site sees."""
    write_program(
        tmp_path,
        """\
        import pulumi
        from pulumi_azure_native import managedidentity, resources, web
        rg = resources.ResourceGroup("rg", resource_group_name="rg1")
        uai = managedidentity.UserAssignedIdentity("uai", resource_group_name=rg.name)
        identity = web.ManagedServiceIdentityArgs(
            type=web.ManagedServiceIdentityType.USER_ASSIGNED, user_assigned_identities=[uai.id])
        app = web.WebApp("app", resource_group_name=rg.name, identity=identity)
        pulumi.export("identities", app.identity.user_assigned_identities)
        pulumi.export("uai", {"id": uai.id, "principal": uai.principal_id, "client": uai.client_id})
        """,
    )
    plan = plan_stack(tmp_path, "dev")
    uai = plan.outputs["uai"]
    assert uai["id"] == (
        "/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/rg1/providers/"
        "Microsoft.ManagedIdentity/userAssignedIdentities/uai"
    )
    # Exported as the SDK's output type, which keeps Python names (pulumi/_types.py).
    assert plan.outputs["identities"] == {
        uai["id"]: {"principal_id": uai["principal"], "client_id": uai["client"]}
    }
    assert resource(plan, "app").outputs["identity"] == {
        "type": "UserAssigned",
        "userAssignedIdentities": {
            uai["id"]: {"principalId": uai["principal"], "clientId": uai["client"]}
        },
    }
    assert resource(plan, "uai").outputs["tenantId"] == PREVIEW_TENANT


def test_computed_outputs_are_unknown_in_a_preview_never_a_known_none(tmp_path: Path) -> None:
    """azure-native previews a new resource with its inputs projected onto the output type and
    every other output property unknown (provider/pkg/convert/previewOutputs.go); an input of
    the wrong shape for its output (a list where the output is a map) is unknown too."""
    write_program(
        tmp_path,
        """\
        import pulumi
        from pulumi_azure_native import network, resources, web
        rg = resources.ResourceGroup("rg")
        ip = network.PublicIPAddress("ip", resource_group_name=rg.name)
        app = web.WebApp("app", resource_group_name=rg.name, https_only=True,
                         site_config=web.SiteConfigArgs(min_tls_version="1.2"))
        unknown_id = web.WebApp("other", resource_group_name=ip.ip_address)
        subnet = network.Subnet("subnet", resource_group_name=rg.name, virtual_network_name="vnet")
        pulumi.export("ip", ip.ip_address)
        pulumi.export("verification", app.custom_domain_verification_id)
        pulumi.export("httpsOnly", app.https_only)
        pulumi.export("host", app.default_host_name)
        pulumi.export("ipName", ip.name)
        pulumi.export("ipId", ip.id)
        pulumi.export("subnetId", subnet.id)
        pulumi.export("otherHost", unknown_id.default_host_name)
        """,
    )
    plan = plan_stack(tmp_path, "dev")
    assert plan.outputs == {
        "ip": UNKNOWN,
        "verification": UNKNOWN,
        "httpsOnly": True,
        "host": "app.azurewebsites.net",
        "ipName": "ip",  # the autoname (the logical name here): known
        "ipId": (  # a top-level resource's ID follows from its name
            "/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/rg/providers/"
            "Microsoft.Network/publicIPAddresses/ip"
        ),
        "subnetId": UNKNOWN,  # a child's path is not derivable from the SDK: assigned on create
        "otherHost": UNKNOWN,  # its resource group is not known yet
    }
    site = resource(plan, "app").outputs
    assert site["siteConfig"]["minTlsVersion"] == "1.2"
    assert site["siteConfig"]["ftpsState"] == UNKNOWN
    assert site["customDomainVerificationId"] == UNKNOWN


CREDENTIALS_PROGRAM = """\
    import pulumi
    from pulumi_azure_native import cognitiveservices, operationalinsights, resources, storage, web
    rg = resources.ResourceGroup("rg")
    ai = cognitiveservices.Account("ai", resource_group_name=rg.name, kind="OpenAI",
                                   sku=cognitiveservices.SkuArgs(name="S0"))
    keys = cognitiveservices.list_account_keys_output(account_name=ai.name,
                                                       resource_group_name=rg.name)
    storage_keys = storage.list_storage_account_keys(account_name="acct",
                                                     resource_group_name="rg")
    shared = operationalinsights.get_shared_keys_output(workspace_name="logs",
                                                        resource_group_name="rg")
    web.WebApp("app", resource_group_name=rg.name, https_only=True,
               site_config=web.SiteConfigArgs(app_settings=[
                   web.NameValuePairArgs(name="AI_KEY", value=keys.key1)]))
    pulumi.export("aiKey", keys.key1)
    pulumi.export("storageKey", storage_keys.keys[0].value)
    pulumi.export("storageKeyName", storage_keys.keys[1].key_name)
    pulumi.export("workspaceKey", shared.primary_shared_key)
    """


def test_credential_invokes_answer_keys_in_the_service_format(tmp_path: Path) -> None:
    """An invoke that lists keys answers format-correct synthetic keys (shared/DESIGN.md §8:
    AI keys 32 hex, storage and Log Analytics keys 86 base64 + '=='), plain as azure-native
    returns them (provider.go Invoke marshals no secret), in the shape of the SDK's result type
    (ListStorageAccountKeysResult.keys[].{keyName, value, ...}); the same answer every run."""
    write_program(tmp_path, CREDENTIALS_PROGRAM)
    plan = plan_stack(tmp_path, "dev")
    outputs = plan.outputs
    assert len(outputs["aiKey"]) == 32 and int(outputs["aiKey"], 16) >= 0
    for key in (outputs["storageKey"], outputs["workspaceKey"]):
        assert len(key) == 88 and key.endswith("==")
    assert outputs["storageKeyName"] == "key2"
    assert plan_stack(tmp_path, "dev").outputs == outputs
    assert plan.origins[outputs["aiKey"]] == (
        "invoke azure-native:cognitiveservices:listAccountKeys (key1)"
    )
    assert plan.origins[outputs["storageKey"]] == (
        "invoke azure-native:storage:listStorageAccountKeys (keys[0].value)"
    )


def test_a_listed_key_in_app_settings_is_found_and_named_by_its_invoke(tmp_path: Path) -> None:
    """The pack follows the listed key into the site's settings; the finding says it came from
    the invoke, and the fix offered fits that (an identity, not "remove the literal")."""
    write_program(tmp_path, CREDENTIALS_PROGRAM)
    plan = plan_stack(tmp_path, "dev")
    found = {
        (v.policy, v.enforcement)
        for v in evaluate(plan)
        if v.urn == PREFIX + "azure-native:web:WebApp::app"
    }
    assert {
        ("no-hardcoded-secrets", "mandatory"),
        ("app-settings-use-key-vault-references", "mandatory"),
    } <= found
    leak = next(v for v in evaluate(plan) if v.policy == "no-hardcoded-secrets")
    assert leak.message.startswith("siteConfig.appSettings[0].value holds a hardcoded credential")
    assert leak.message.endswith(
        "(the value comes from invoke azure-native:cognitiveservices:listAccountKeys (key1))"
    )
    assert leak.remediation.startswith("The value is a key the program reads from Azure")
    assert plan.outputs["aiKey"] not in leak.message


def test_other_invokes_answer_unknown_instead_of_stopping_the_run(tmp_path: Path) -> None:
    """An `_output` invoke the preview cannot answer is wholly unknown, the engine's answer to an
    invoke it cannot serve in a preview (ResourceInvokeResponse.unknown, pulumi/runtime/invoke.py);
    a plain invoke gets plain values its result class accepts, strings being the unknown
    sentinel, which stays unknown where the program passes it to a resource."""
    write_program(
        tmp_path,
        """\
        import pulumi
        from pulumi_azure_native import resources, storage
        existing = resources.get_resource_group(resource_group_name="shared")
        account = storage.get_storage_account_output(account_name="x", resource_group_name="shared")
        resources.ResourceGroup("copy", location=existing.location, tags=existing.tags)
        pulumi.export("kind", account.kind)
        pulumi.export("location", existing.location)
        """,
    )
    plan = plan_stack(tmp_path, "dev")
    assert plan.outputs == {"kind": UNKNOWN, "location": UNKNOWN}
    assert resource(plan, "copy").inputs == {"location": UNKNOWN, "tags": {}}


def test_secure_config_is_a_synthetic_value_marked_secret(tmp_path: Path) -> None:
    """The engine hands a program its decrypted secure config, marked secret (pulumi/config.py
    require_secret; PULUMI_CONFIG_SECRET_KEYS): offline each becomes a synthetic value, never the
    text "[secret]", and a finding on it names the config key."""
    write_program(
        tmp_path,
        """\
        import pulumi
        from pulumi_azure_native import resources, web
        config = pulumi.Config()
        rg = resources.ResourceGroup("rg")
        setting = web.NameValuePairArgs(name="DB_PASSWORD", value=config.require_secret("db"))
        web.WebApp("app", resource_group_name=rg.name, https_only=True,
                   site_config=web.SiteConfigArgs(app_settings=[setting]))
        pulumi.export("db", config.require_secret("db"))
        pulumi.export("plain", config.require("db"))
        """,
        config="""\
        config:
          t:db:
            secure: v1:AAAAAAAAAAAAAAAA:cGxhY2Vob2xkZXI=
        """,
    )
    plan = plan_stack(tmp_path, "dev")
    value = synthetic_config_secret("t:db")
    assert len(value) == 32 and value.isalnum()
    assert plan.outputs == {"db": secret(value), "plain": value}
    setting = resource(plan, "app").inputs["siteConfig"]["appSettings"][0]
    assert setting == {"name": "DB_PASSWORD", "value": secret(value)}
    assert "[secret]" not in json.dumps([r.inputs for r in plan.resources])
    leak = next(v for v in evaluate(plan) if v.policy == "no-hardcoded-secrets")
    assert leak.message.endswith("(the value comes from config t:db (secure))")
    assert leak.remediation.startswith("The value is a secret from the stack's config")


@pytest.fixture
def failing_program(tmp_path: Path) -> Path:
    return write_program(
        tmp_path,
        """\
        import pulumi
        from pulumi_azure_native import resources

        def check(name):
            raise ValueError(f"unexpected group {name}")

        resources.ResourceGroup("rg", resource_group_name="prod").name.apply(check)
        """,
    )


def test_a_failing_program_exits_3_with_one_line(failing_program: Path, capsys) -> None:
    from preflight.__main__ import main

    code = main(["preview", "--program", str(failing_program)])
    captured = capsys.readouterr()
    assert (code, captured.out) == (3, "")
    assert captured.err == (
        "preflight: the program failed: ValueError: unexpected group prod "
        f"at {failing_program}/__main__.py:5\n"
    )


def test_debug_adds_the_traceback_before_the_line(failing_program: Path, capsys) -> None:
    from preflight.__main__ import main

    code = main(["preview", "--program", str(failing_program), "--debug"])
    lines = capsys.readouterr().err.splitlines()
    assert code == 3
    assert lines[0] == "Traceback (most recent call last):"
    assert f'  File "{failing_program}/__main__.py", line 5, in check' in lines
    assert lines[-2:] == [
        "ValueError: unexpected group prod",
        "preflight: the program failed: ValueError: unexpected group prod "
        f"at {failing_program}/__main__.py:5",
    ]


@pytest.mark.parametrize(
    ("token", "credentials"),
    [
        ("azure-native:cognitiveservices:listAccountKeys", True),
        ("azure-native:storage:listStorageAccountKeys", True),
        ("azure-native:storage:listStorageAccountServiceSAS", True),
        ("azure-native:operationalinsights:getSharedKeys", True),
        ("azure-native:web:listWebAppPublishingCredentials", True),
        ("azure-native:containerregistry:listRegistryCredentials", True),
        ("azure-native:cosmosdb:listDatabaseAccountKeys", True),
        ("azure-native:compute:getSshPublicKey", False),  # a public key
        ("azure-native:keyvault:getSecret", False),  # the secret resource, not its value
        ("azure-native:keyvault:getKey", False),
        ("azure-native:resources:getResourceGroup", False),
    ],
)
def test_credential_invokes_are_told_by_name_across_the_installed_sdk(token, credentials):
    """Every invoke of the installed SDK is classed by its function name (no hand list); each
    token named here exists there with a result type to shape the answer."""
    from preflight.harness import invoke_result_type, is_credential_invoke

    assert invoke_result_type(token) is not None
    assert is_credential_invoke(token) is credentials
