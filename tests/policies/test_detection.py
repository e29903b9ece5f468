"""The detection engine on a labelled table and on the whole synthetic corpus.

Every credential is generated at run time (bench.corpus); none is written here.
"""

from __future__ import annotations

import base64
import random
import secrets
from collections import Counter

import pytest

from bench import corpus as c
from policies.detection import (
    KINDS,
    find_secrets,
    is_app_configuration_reference,
    is_application_insights_connection_string,
    is_base64_digest_name,
    is_credential_name,
    is_hex_value_name,
    is_key_vault_reference,
    mask,
    redact,
)
from preflight.model import SECRET_SIG_KEY, SECRET_SIG_VALUE

RNG = random.Random(7)


def _one(value: str, name: str | None = None) -> tuple[str, str]:
    """The single finding's kind and the exact text it covers."""
    found = find_secrets(value, setting_name=name)
    assert len(found) == 1, found
    return found[0].kind, value[found[0].start : found[0].end]


# --- positives: (case, setting name, value builder) -> the exact kind and secret ------------------


def _embedded(template: str, make):  # the secret inside a longer value
    def build() -> tuple[str, str]:
        secret = make(RNG)
        return template.format(secret), secret

    return build


def _whole(make):
    def build() -> tuple[str, str]:
        secret = make(RNG)
        return secret, secret

    return build


POSITIVES = [
    ("hex key, neutral name", "MODEL_SETTING", _whole(c.azure_hex_key), "azure-ai-key"),
    ("hex key, credential name", "AZURE_OPENAI_API_KEY", _whole(c.azure_hex_key), "azure-ai-key"),
    (
        "hex key in a URL",
        "UPSTREAM",
        _embedded("https://x.example.net/v1?key={}&x=1", c.azure_hex_key),
        "azure-ai-key",
    ),
    (
        "hex key in curl",
        "STARTUP_COMMAND",
        _embedded("curl -H 'api-key: {}' https://a", c.azure_hex_key),
        "azure-ai-key",
    ),
    (
        "hex key, credential field beats digest setting",
        "CHECKSUMS",
        _embedded('{{"apiKey": "{}"}}', c.azure_hex_key),
        "azure-ai-key",
    ),
    ("hex key under an ID name", "KEY_ID", _whole(c.azure_hex_key), "azure-ai-key"),
    ("hex key under a build ID name", "BUILD_ID", _whole(c.azure_hex_key), "azure-ai-key"),
    ("hex key under a version name", "OPENAI_API_VERSION", _whole(c.azure_hex_key), "azure-ai-key"),
    ("hex key under a revision name", "SOURCE_REVISION", _whole(c.azure_hex_key), "azure-ai-key"),
    ("hex key under a commit name", "COMMIT", _whole(c.azure_hex_key), "azure-ai-key"),
    (
        "hex key in a JSON id field",
        "CUSTOM_DATA",
        _embedded('{{"id": "{}", "region": "swedencentral"}}', c.azure_hex_key),
        "azure-ai-key",
    ),
    (
        "hex key after a version option",
        "STARTUP_COMMAND",
        _embedded("python -m app --version {} --workers 2", c.azure_hex_key),
        "azure-ai-key",
    ),
    ("storage key under an ID name", "ACCOUNT_ID", _whole(c.storage_key), "storage-account-key"),
    (
        "storage key under a version name",
        "APP_VERSION",
        _whole(c.storage_key),
        "storage-account-key",
    ),
    # Names that clear 32 hex (a Key Vault version, a trace or request ID, a GUID without dashes,
    # an md5 or sha256 digest) never hold 86 base64 characters and '=='.
    (
        "storage key under a secret version name",
        "SECRET_VERSION",
        _whole(c.storage_key),
        "storage-account-key",
    ),
    ("storage key under a trace ID name", "TRACE_ID", _whole(c.storage_key), "storage-account-key"),
    ("storage key under a GUID name", "APP_GUID", _whole(c.storage_key), "storage-account-key"),
    ("storage key under an md5 name", "CONTENT_MD5", _whole(c.storage_key), "storage-account-key"),
    (
        "storage key after a trace ID field",
        "CUSTOM_DATA",
        _embedded('{{"traceId": "{}"}}', c.storage_key),
        "storage-account-key",
    ),
    (
        "publishing password under its property name",
        "publishingPassword",
        _whole(c.publishing_password),
        "app-service-publishing-password",
    ),
    (
        "publishing password under a deployment password name",
        "DEPLOY_PWD",
        _whole(c.publishing_password),
        "app-service-publishing-password",
    ),
    (
        "publishing password in listWebAppPublishingCredentials' result",
        "OUTPUTS",
        _embedded(
            '{{"publishingUserName": "$app1", "publishingPassword": "{}"}}', c.publishing_password
        ),
        "app-service-publishing-password",
    ),
    (
        "publishing password as userPWD",
        "PUBLISH_PROFILE",
        _embedded(
            '<publishProfile publishMethod="MSDeploy" userName="$app1" userPWD="{}" />',
            c.publishing_password,
        ),
        "app-service-publishing-password",
    ),
    (
        "publishing password in the SCM site's URL",
        "DEPLOY_REMOTE",
        _embedded("https://$app1:{}@app1.scm.azurewebsites.net/app1.git", c.publishing_password),
        "app-service-publishing-password",
    ),
    ("84-char key, neutral name", "CONFIG_VALUE", _whole(c.azure_identifiable_key), "azure-ai-key"),
    (
        "84-char key in JSON",
        "CUSTOM_DATA",
        _embedded('{{"k": "{}"}}', c.azure_identifiable_key),
        "azure-ai-key",
    ),
    ("storage key, neutral name", "SETTING_1", _whole(c.storage_key), "storage-account-key"),
    (
        "storage key in a connection string",
        "AzureWebJobsStorage",
        _embedded(
            "DefaultEndpointsProtocol=https;AccountName=a;AccountKey={};EndpointSuffix=core.windows.net",
            c.storage_key,
        ),
        "storage-account-key",
    ),
    (
        "storage key in a CLI",
        "STARTUP_COMMAND",
        _embedded("az storage blob list --account-key {} -c models", c.storage_key),
        "storage-account-key",
    ),
    (
        "shared access key",
        "ServiceBusConnection",
        _embedded(
            "Endpoint=sb://a.servicebus.windows.net/;SharedAccessKeyName=send;SharedAccessKey={}",
            c.shared_access_key,
        ),
        "shared-access-key",
    ),
    (
        "SAS in a URL",
        "WEBSITE_RUN_FROM_PACKAGE",
        _embedded(
            "https://a.blob.core.windows.net/c/app.zip?sv=2022-11-02&sr=b&sp=r&se=2030-01-01&sig={}",
            c.sas_signature,
        ),
        "sas-token",
    ),
    (
        "SAS in a connection string",
        "ConnectionStrings__Blob",
        _embedded(
            "BlobEndpoint=https://a.blob.core.windows.net/;SharedAccessSignature=sv=2022-11-02&ss=b&srt=co&sp=rl&se=2030-01-01&sig={}",
            c.sas_signature,
        ),
        "sas-token",
    ),
    (
        "SQL password",
        "ConnectionStrings__Db",
        _embedded(
            "Server=tcp:a.database.windows.net,1433;User ID=app;Password={};Encrypt=True",
            c.password,
        ),
        "connection-string-password",
    ),
    (
        "quoted SQL password",
        "ConnectionStrings__Db",
        _embedded("Server=a;User ID=app;Password='{}';", c.password),
        "connection-string-password",
    ),
    (
        "Redis password",
        "REDIS",
        _embedded("a.redis.cache.windows.net:6380,password={},ssl=True", c.shared_access_key),
        "connection-string-password",
    ),
    (
        "URL user info",
        "DATABASE_URL",
        _embedded("postgresql://app:{}@db.example.org:5432/app", lambda r: c.pick(r, c.BASE62, 16)),
        "connection-string-password",
    ),
    (
        "App Configuration secret",
        "APP_CONFIG",
        _embedded("Endpoint=https://a.azconfig.io;Id=ab12;Secret={}", c.shared_access_key),
        "connection-string-secret",
    ),
    (
        "Entra client secret, neutral name",
        "OPTIONS_JSON",
        _whole(c.entra_client_secret),
        "entra-client-secret",
    ),
    (
        "Entra client secret in tags",
        "TAGS",
        _embedded("env=prod;owner=ai;client={};team=x", c.entra_client_secret),
        "entra-client-secret",
    ),
    ("JWT after Bearer", "CUSTOM_HEADER", _embedded("Authorization: Bearer {}", c.jwt), "jwt"),
    ("PEM private key", "SIGNING", _whole(c.private_key), "private-key"),
    ("OpenAI key", "BACKEND_PARAM", _whole(c.openai_key), "openai-api-key"),
    (
        "GitHub token in a git URL",
        "REPO",
        _embedded("git clone https://x-access-token@github.com/a/b --config t={}", c.github_token),
        "github-token",
    ),
    (
        "AWS key ID",
        "AWS",
        _embedded("AWS_ACCESS_KEY_ID={} aws s3 ls", c.aws_access_key),
        "aws-access-key",
    ),
    (
        "random value under a credential name",
        "SEARCH_ADMIN_KEY",
        _whole(lambda r: secrets.token_urlsafe(30)),
        "generic-secret",
    ),
    (
        "random value under a credential flag",
        "CONTAINER_ARGS",
        _embedded('["--port", "80", "--client-secret", "{}"]', lambda r: secrets.token_hex(24)),
        "generic-secret",
    ),
    (
        ".NET appSettings entry",
        "WEB_CONFIG",
        _embedded('<add key="OpenAiKey" value="{}" />', lambda r: secrets.token_urlsafe(30)),
        "generic-secret",
    ),
    (
        "ARM appSettings name/value pair",
        "SITE_CONFIG",
        _embedded(
            '[{{"name": "AZURE_OPENAI_API_KEY", "value": "{}"}}]', lambda r: secrets.token_hex(24)
        ),
        "generic-secret",
    ),
    (
        "Kubernetes env entry",
        "MANIFEST",
        _embedded("env:\n- name: SEARCH_KEY\n  value: {}\n", lambda r: secrets.token_urlsafe(30)),
        "generic-secret",
    ),
    ("password under a password name", "DB_PASSWORD", _whole(c.password), "generic-secret"),
    (
        "quoted value under a credential name",
        "API_TOKEN",
        _embedded('"{}"', lambda r: secrets.token_urlsafe(24)),
        "generic-secret",
    ),
]


@pytest.mark.parametrize(
    ("name", "build", "kind"), [p[1:] for p in POSITIVES], ids=[p[0] for p in POSITIVES]
)
def test_finds_each_positive_with_its_kind_and_exact_span(name, build, kind) -> None:
    value, secret = build()
    assert _one(value, name) == (kind, secret)


# --- command lines and headers: (case, value template) -> the exact kind and secret ---------------
# "{}" is where the generated credential goes. Shapes from other scanners' published test cases
# (curl basic auth and headers, tool password flags), with values generated here.

COMMAND_LINE_POSITIVES = [
    ("curl -u", "curl -sS -u admin:{} https://x.example.net/api", "command-line-password"),
    (
        "curl --user quoted",
        "curl --user 'deploy:{}' https://x.example.net/",
        "command-line-password",
    ),
    ("curl --user=", "curl -X POST --user=app:{} https://x.example.net/", "command-line-password"),
    ("curl -u attached", "curl -uadmin:{} https://x.example.net/", "command-line-password"),
    ("sshpass -p", "sshpass -p '{}' ssh deploy@10.0.0.4", "command-line-password"),
    ("mysql -p attached", "mysql -h db -u app -p{} app", "command-line-password"),
    ("docker login -p", "docker login acr1.azurecr.io -u app -p {}", "command-line-password"),
    (
        "az login -p",
        "az login --service-principal -u app -p {} --tenant t",
        "command-line-password",
    ),
    ("sqlcmd -P", "sqlcmd -S tcp:db -U sa -P {} -d app", "command-line-password"),
    ("redis-cli -a", "redis-cli -h cache -p 6380 -a {} ping", "command-line-password"),
    (
        "ConvertTo-SecureString",
        "$pw = ConvertTo-SecureString '{}' -AsPlainText -Force",
        "command-line-password",
    ),
    ("password := in Go", 'dbPassword := "{}"', "generic-secret"),
    ("password = in an ini value", "[db]\nhost = db\npassword = {}\n", "generic-secret"),
]


@pytest.mark.parametrize(
    ("template", "kind"),
    [p[1:] for p in COMMAND_LINE_POSITIVES],
    ids=[p[0] for p in COMMAND_LINE_POSITIVES],
)
def test_finds_a_password_on_a_command_line_with_its_exact_span(template, kind) -> None:
    secret = c.password(RNG)
    assert _one(template.format(secret), "STARTUP_COMMAND") == (kind, secret)


def test_finds_basic_credentials_in_a_header() -> None:
    basic = base64.b64encode(f"deploy:{c.password(RNG)}".encode()).decode()
    for value in (
        f"curl -H 'Authorization: Basic {basic}' https://x.example.net/",
        f"authorization: basic {basic}",
    ):
        assert _one(value, "HEADERS") == ("basic-auth", basic)


def test_finds_bearer_tokens_api_key_headers_and_jwts_on_command_lines() -> None:
    token, key, jwt = secrets.token_urlsafe(30), secrets.token_hex(16), c.jwt(RNG)
    assert _one(f'curl -H "Authorization: Bearer {token}" https://x/', "CMD") == (
        "generic-secret",
        token,
    )
    assert _one(f'curl -H "api-key: {key}" https://x/', "CMD") == ("azure-ai-key", key)
    assert _one(f"curl --header 'Authorization: Bearer {jwt}' https://x/", "CMD") == ("jwt", jwt)


COMMAND_LINE_NEGATIVES = [
    ("curl -u with a variable", 'curl -u "admin:$API_PASSWORD" https://x/'),
    ("curl -u with an expansion", "curl -u admin:${{PASSWORD}} https://x/"),
    ("curl -u with the word password", "curl -u admin:password https://x/"),
    ("curl -u user only", "curl --user admin https://x/"),
    ("docker -u uid:gid", "docker run -u 1000:1000 -p 8080:80 web"),
    ("mysql -p prompts", "mysql -h db -u app -p app"),
    ("docker run -p ports", "docker run -p 8080:80 -p 8443:443 web"),
    ("docker login from stdin", "docker login acr1.azurecr.io -u app --password-stdin"),
    ("sshpass -p variable", 'sshpass -p "$SSH_PASSWORD" ssh host'),
    ("sqlcmd -P substitution", "sqlcmd -S db -U app -P $(SQL_PASSWORD) -d app"),
    ("SecureString of a variable", "ConvertTo-SecureString $env:PW -AsPlainText -Force"),
    ("Bearer variable", 'curl -H "Authorization: Bearer $TOKEN" https://x/'),
    ("Bearer substitution", 'curl -H "Authorization: Bearer $(az account get-access-token)" x'),
    ("Basic realm", 'WWW-Authenticate: Basic realm="api", charset="UTF-8"'),
    ("Basic in prose", "Authorization: Basic authentication is disabled here"),
    ("If-None-Match ETag", 'curl -H "If-None-Match: \\"{hex32}\\"" https://x/'),
    ("If-Match ETag", 'curl -H "If-Match: {hex32}" https://x/'),
    ("request ID header", 'curl -H "X-Request-Id: {hex32}" https://x/'),
    ("password from the environment", "password = os.environ['DB_PASSWORD']"),
    ("password from settings", "password = settings.DATABASE_PASSWORD"),
    ("password hash", "password_hash = {hex64}"),
    ("a dotted name under a credential label", "STORAGE_CREDENTIAL: hosted.MANAGED_IDENTITY,"),
    (
        "joined words under a credential label",
        "urn:pulumi:dev::p::azure-native:authorization:RoleAssignment::app-reader-0-assignment",
    ),
    ("a made-up sequence under a key name", 'KEY = "0123456789abcdef" * 2'),
    ("a made-up hex sequence", "api-key: 0123456789abcdef0123456789abcdef"),
    ("Pulumi asset signature", "c44067f5952c0a294b673a41bacd8c17"),
    ("Pulumi archive signature", "0def7320c3a5731c473e5ecbe6d01bc7"),
    ("secret version in a vault URL", "https://kv1.vault.azure.net/secrets/ai-key/{hex32}"),
]


@pytest.mark.parametrize(
    "template", [n[1] for n in COMMAND_LINE_NEGATIVES], ids=[n[0] for n in COMMAND_LINE_NEGATIVES]
)
def test_reports_nothing_for_a_command_line_without_a_written_credential(template) -> None:
    assert find_secrets(_fill(template)) == []


# Shapes seen as false alarms when scanning installed SDKs (azure-*, msal, urllib3, werkzeug,
# pulumi), rewritten here: code, docs and public constants, not credentials.
CODE_NEGATIVES = [
    ("a call under a credential label", "self._sync_credential = SyncVSCodeCredential(**kwargs)"),
    ("a call returning a key", "key = decode_base64_to_bytes(key)"),
    (
        "a Sphinx type",
        ":vartype credentials: ~azure.mgmt.cognitiveservices.models.ConnectionOAuth2",
    ),
    ("settings, not a credential", "site_auth_settings_v2: _models.SiteAuthSettingsV2,"),
    ("a Pascal-case field name", '{"key": "CustomerProvidedKeySha256", "type": "str"}'),
    ("a constant's name", "WSS_SAML_TOKEN_PROFILE_V1_1: GRANT_TYPE_SAML1_1,"),
    ("a PEM header in prose", '"private_key": "...-----BEGIN PRIVATE KEY-----... in PEM format",'),
    ("a URL in documentation", '# "https://username:password@host.com:80/path?query#fragment"'),
    ("a printf template", 'SECRET = "%(secret)s";'),
    ("a URL template", 'proxy_url="socks5h://<username>:<password>@proxy-host"'),
    ("Pulumi resource signature", '_special_resource_sig = "5cf8f73096256a8f31e491e813e4eb8e"'),
    ("Pulumi output signature", '_special_output_value_sig = "d0e6a833031e9bbcd3f4e8bde6ca49a4"'),
]


@pytest.mark.parametrize(
    "value", [n[1] for n in CODE_NEGATIVES], ids=[n[0] for n in CODE_NEGATIVES]
)
def test_reports_nothing_for_code_docs_and_public_constants(value) -> None:
    assert find_secrets(value) == []


def test_the_storage_emulators_published_key_is_not_a_leak() -> None:
    parser = pytest.importorskip("azure.storage.blob._shared.parser")
    value = f"AccountKey={parser.DEVSTORE_ACCOUNT_KEY};BlobEndpoint=http://127.0.0.1:10000/"
    assert find_secrets(value) == []
    assert find_secrets(parser.DEVSTORE_ACCOUNT_KEY) == []


def test_the_same_shapes_with_a_real_value_are_still_found() -> None:
    password, token = c.password(RNG), secrets.token_urlsafe(30)
    assert _one(f'SECRET = "{password}";')[1] == password
    assert _one(f"key = {token}")[1] == token
    assert _one(f"https://deploy:{password.replace('#', 'x')}@host.example.net/")[0] == (
        "connection-string-password"
    )
    header = "-" * 5 + "BEGIN PRIVATE KEY" + "-" * 5
    assert _one(f"{header}\\n{c.storage_key(RNG)}")[0] == "private-key"


def test_a_32_hex_resource_name_in_an_azure_path_is_a_key() -> None:
    """A key typed into a resource group or secret name ends up in every ARM ID built from it."""
    key = secrets.token_hex(16)
    for value in (
        f"/subscriptions/{GUID}/resourceGroups/{key}/providers/Microsoft.Web/sites/app",
        f"rg: vaults/kv1/secrets/{key}",
        f"https://kv1.vault.azure.net/secrets/{key}",
    ):
        assert _one(value) == ("azure-ai-key", key)


def test_redact_masks_every_credential_and_keeps_the_rest() -> None:
    key, token = secrets.token_hex(16), c.github_token(RNG)
    text = f"config secretName {key!r}: too long; also {token}."
    assert redact(text) == f"config secretName '{mask(key)}': too long; also {mask(token)}."
    assert redact("no credential here: sai-dev-kv, 2024-07-18") == (
        "no credential here: sai-dev-kv, 2024-07-18"
    )


def test_redact_masks_exact_values_wherever_they_occur() -> None:
    """Values known to be credentials are masked even where the engine sees none: a 60-character
    publishing password alone, twice, and inside a longer word."""
    password, other = c.publishing_password(RNG), c.publishing_password(RNG)
    assert find_secrets(password) == []
    text = f"{password} and {password}, x{password}y; not {other}"
    masked = f"{mask(password)} and {mask(password)}, x{mask(password)}y; not {other}"
    assert redact(text, exact={password}) == masked
    assert redact(text, exact=()) == text


def test_redact_joins_an_exact_value_with_a_finding_it_overlaps() -> None:
    """A synthetic key inside a connection string the engine also flags: one mask, over both."""
    key = c.storage_key(RNG)
    text = f"AccountKey={key};x"
    assert redact(text, exact={key[:40]}) == f"AccountKey={mask(key)};x"
    assert redact(text, exact={text}) == mask(text)


def test_redact_ignores_exact_values_too_short_to_be_credentials() -> None:
    assert redact("a true value", exact={"true", ""}) == "a true value"


def test_redact_reads_the_field_name_as_context() -> None:
    password = c.publishing_password(RNG)
    assert redact(password) == password
    assert redact(password, name="publishingPassword") == mask(password)
    assert redact(password, name="publishingUserName") == password


# --- hard negatives -------------------------------------------------------------------------------

GUID = "0f8fad5b-d9cb-469f-a165-70867728950e"

NEGATIVES = [
    (
        "Key Vault reference by URI",
        "API_KEY",
        "@Microsoft.KeyVault(SecretUri=https://kv-a1.vault.azure.net/secrets/ai-key/)",
    ),
    (
        "Key Vault reference with version",
        "API_KEY",
        "@Microsoft.KeyVault(SecretUri=https://kv-a1.vault.azure.net/secrets/ai-key/{hex32})",
    ),
    (
        "Key Vault reference by name",
        "password",
        "@Microsoft.KeyVault(VaultName=kv-a1;SecretName=db-password)",
    ),
    (
        "App Configuration reference",
        "API_KEY",
        "@Microsoft.AppConfiguration(Endpoint=https://appcfg1.azconfig.io; Key=ai:key; Label=prod)",
    ),
    ("GUID", "AZURE_CLIENT_ID", GUID),
    ("instrumentation key", "APPINSIGHTS_INSTRUMENTATIONKEY", GUID),
    (
        "App Insights connection string",
        "APPLICATIONINSIGHTS_CONNECTION_STRING",
        f"InstrumentationKey={GUID};IngestionEndpoint=https://westeurope-5.in.applicationinsights.azure.com/;ApplicationId={GUID}",
    ),
    (
        "App Insights connection string, instrumentation key alone",
        "APPLICATIONINSIGHTS_CONNECTION_STRING",
        f"InstrumentationKey={GUID}",
    ),
    (
        "App Insights connection string, fields in another order",
        "APPLICATIONINSIGHTS_CONNECTION_STRING",
        f"ApplicationId={GUID};EndpointSuffix=applicationinsights.azure.cn;"
        f"InstrumentationKey={GUID};LiveEndpoint=https://live.applicationinsights.azure.cn/;",
    ),
    (
        "App Insights connection string under a neutral name",
        "MODEL_SETTING",
        f"InstrumentationKey={GUID};IngestionEndpoint=https://dc.applicationinsights.azure.com/",
    ),
    (
        "resource ID",
        "KEY_VAULT_ID",
        f"/subscriptions/{GUID}/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv-a1",
    ),
    ("endpoint", "AZURE_OPENAI_ENDPOINT", "https://ai-a1.openai.azure.com/"),
    ("Key Vault secret ID", "SECRET_ID", "https://kv-a1.vault.azure.net/secrets/ai-key/{hex32}"),
    ("md5 under a hash name", "PACKAGE_MD5", "{hex32}"),
    ("md5 under a credential-and-hash name", "KEY_CHECKSUM", "{hex32}"),
    ("md5 field in JSON", "CUSTOM_DATA", '{{"file": "m.bin", "md5": "{hex32}"}}'),
    ("md5 digest prefix", "CUSTOM_DATA", "md5:{hex32}"),
    ("ETag", "CUSTOM_HEADER", 'ETag: W/"{hex32}"'),
    ("md5sum output", "CUSTOM_DATA", "{hex32}  model.bin"),
    ("trace context", "TRACEPARENT", "00-{hex32}-00f067aa0ba902b7-01"),
    ("trace ID", "TRACE_ID", "{hex32}"),
    ("correlation ID", "CORRELATION_ID", "{hex32}"),
    ("request ID", "X_REQUEST_ID", "{hex32}"),
    ("GUID without dashes under a GUID name", "APP_GUID", "{hex32}"),
    ("Key Vault secret version", "SECRET_VERSION", "{hex32}"),
    ("Key Vault secret version, full name", "KEY_VAULT_SECRET_VERSION", "{hex32}"),
    ("Key Vault key version", "apiKeyVersion", "{hex32}"),
    ("Key Vault certificate version", "CERTIFICATE_VERSION", "{hex32}"),
    ("GUID under a build ID name", "BUILD_ID", GUID),
    ("build number under a build ID name", "BUILD_ID", "20241201.4"),
    ("version string", "APP_VERSION", "1.14.2"),
    ("API version", "OPENAI_API_VERSION", "2024-06-01-preview"),
    ("sha1 commit", "GIT_SHA", "{hex40}"),
    ("sha1 under a version name", "SOURCE_VERSION", "{hex40}"),
    ("sha1 under a revision name", "SOURCE_REVISION", "{hex40}"),
    ("short sha under a revision name", "REVISION", "{hex40:.9}"),
    ("image digest under an ID name", "IMAGE_ID", "sha256:{hex64}"),
    ("sha256 under a credential-and-hash name", "API_KEY_SHA256", "{hex64}"),
    ("SRI hash", "integrity", "sha512-{b64_88}"),
    ("SRI hash under a neutral name", "CDN_SCRIPT", "sha512-{b64_88}"),
    ("prefixed base64 digest", "ARTIFACT", "sha512:{b64_88}"),
    ("base64 sha512 digest field", "CUSTOM_DATA", '{{"sha512": "{b64_88}"}}'),
    ("image digest", "LINUX_FX_VERSION", "DOCKER|acr1.azurecr.io/app@sha256:{hex64}"),
    ("ssh public key", "AUTHORIZED_KEY", "ssh-rsa AAAAB3NzaC1yc2E{b64_88} deploy@ci"),
    (
        "PEM public key",
        "JWT_PUBLIC_KEY",
        "-----BEGIN PUBLIC KEY-----\\n{b64_88}\\n-----END PUBLIC KEY-----",
    ),
    ("thumbprint", "SIGNING_KEY_THUMBPRINT", "{hex40_upper}"),
    ("GitHub secret expression", "API_KEY", "${{{{ secrets.AZURE_OPENAI_KEY }}}}"),
    ("pipeline variable", "API_KEY", "$(AI_KEY)"),
    ("shell variable", "API_KEY", "${{AI_KEY}}"),
    ("angle placeholder", "client_secret", "<your-key>"),
    ("REPLACE_ME", "API_KEY", "REPLACE_ME"),
    ("token replacement", "API_KEY", "#{{ApiKey}}#"),
    ("x run", "API_KEY", "xxxxxxxxxxxxxxxxxxxxxxxx"),
    ("changeme", "DB_PASSWORD", "changeme"),
    (
        "placeholder account key",
        "AzureWebJobsStorage",
        "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=<account-key>;EndpointSuffix=core.windows.net",
    ),
    (
        "placeholder password",
        "ConnectionStrings__Db",
        "Server=a;User ID=app;Password=${{DB_PASSWORD}};",
    ),
    (
        "placeholder SAS",
        "UPSTREAM",
        "https://a.blob.core.windows.net/c?sv=2022-11-02&sp=r&sig=<signature>",
    ),
    (
        "keyless connection string",
        "ConnectionStrings__Db",
        "Server=tcp:a.database.windows.net,1433;Database=app;"
        "Authentication=Active Directory Managed Identity;",
    ),
    ("header name under a credential name", "API_KEY_HEADER", "Ocp-Apim-Subscription-Key"),
    ("header name under a password name", "SMTP_PASSWORD", "Ocp-Apim-Subscription-Key"),
    ("secret name", "SECRET_NAME", "openai-api-key"),
    ("model name under a credential name", "API_KEY", "gpt-4o-mini-2024-07-18"),
    ("path under a credential name", "API_KEY", "/home/site/wwwroot/keys"),
    ("neutral name/value pair", "WEB_CONFIG", '<add key="Theme" value="{token}" />'),
    ("keyword argument in code", "CODE", "client = connect(host, password=password, timeout=5)"),
    ("publishing password hash", "publishingPasswordHash", "{b62_60}"),
    ("publishing password hash salt", "publishingPasswordHashSalt", "{b62_60}"),
    ("60 base62 under an identifier name", "DEPLOYMENT_ID", "{b62_60}"),
    ("60 base62 under a neutral name", "MODEL_SETTING", "{b62_60}"),
    (
        "words run together into 60 characters under a credential name",
        "SCM_CREDENTIAL",
        "PublishingCredentialsPolicyScmBasicAuthDisabledSiteAuthSc12",
    ),
    (
        "publish profile with a pipeline variable",
        "PUBLISH_PROFILE",
        '<publishProfile userName="$app1" userPWD="$(PublishPassword)" />',
    ),
    ("SCM URL without a password", "DEPLOY_REMOTE", "https://app1.scm.azurewebsites.net/app1.git"),
    ("Pulumi secret signature", "SECRET_SIG_KEY", SECRET_SIG_KEY),
    ("Pulumi secret signature value", "SIG", SECRET_SIG_VALUE),
]


def _fill(template: str) -> str:
    return template.format(
        hex32=secrets.token_hex(16),
        hex40=secrets.token_hex(20),
        hex40_upper=secrets.token_hex(20).upper(),
        hex64=secrets.token_hex(32),
        b64_88=c.storage_key(RNG),
        token=secrets.token_urlsafe(30),
        b62_60=c.publishing_password(RNG),
    )


@pytest.mark.parametrize(
    ("name", "template"), [n[1:] for n in NEGATIVES], ids=[n[0] for n in NEGATIVES]
)
def test_reports_nothing_for_each_hard_negative(name, template) -> None:
    assert find_secrets(_fill(template), setting_name=name) == []


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("PACKAGE_MD5", True),
        ("ETag", True),
        ("CERT_THUMBPRINT", True),
        ("integrity", True),
        ("TRACE_ID", True),
        ("traceId", True),
        ("TRACEPARENT", True),
        ("CORRELATION_ID", True),
        ("X-Request-Id", True),
        ("APP_GUID", True),
        ("SECRET_VERSION", True),
        ("KEY_VAULT_SECRET_VERSION", True),
        ("apiKeyVersion", True),
        ("CERTIFICATE_VERSION", True),
        ("KEY_ID", False),
        ("BUILD_ID", False),
        ("DEPLOYMENT_ID", False),
        ("APP_VERSION", False),
        ("OPENAI_API_VERSION", False),
        ("SOURCE_REVISION", False),
        ("COMMIT", False),
        ("MODEL_SETTING", False),
        ("", False),
    ],
)
def test_is_hex_value_name_only_for_digests_and_identifiers_written_as_32_hex(
    name: str, expected: bool
) -> None:
    """A name clears a 32-hex value only when that is what the name holds: a digest, a trace,
    request or correlation ID, a GUID without dashes, or a Key Vault object version (32 hex, the
    last segment of a versioned secret ID: learn.microsoft.com/azure/key-vault/general/about-keys-
    secrets-certificates#object-identifiers)."""
    assert is_hex_value_name(name) is expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("integrity", True),
        ("SRI_HASH", True),
        ("sha512", True),
        ("CONTENT_DIGEST", True),
        ("ARTIFACT_CHECKSUM", True),
        ("CONTENT_MD5", False),
        ("SHA256", False),
        ("ETag", False),
        ("CERT_THUMBPRINT", False),
        ("TRACE_ID", False),
        ("X-Request-Id", False),
        ("APP_GUID", False),
        ("SECRET_VERSION", False),
        ("KEY_VAULT_SECRET_VERSION", False),
        ("MODEL_SETTING", False),
        ("", False),
    ],
)
def test_is_base64_digest_name_only_for_names_of_a_64_byte_digest(
    name: str, expected: bool
) -> None:
    """86 base64 characters and '==' are 64 bytes: a sha512 digest (SRI ``sha512-…``,
    w3.org/TR/SRI) or a digest named without its algorithm, never an md5 (16 bytes), a sha256
    (32), a hex ETag or thumbprint, nor a 32-hex identifier."""
    assert is_base64_digest_name(name) is expected


def test_a_name_clears_only_the_shapes_it_holds() -> None:
    """The same name clears a 32-hex value and not a storage key; a hash name clears both."""
    hex_key, storage_key = secrets.token_hex(16), c.storage_key(RNG)
    for name in ("SECRET_VERSION", "TRACE_ID", "APP_GUID", "CONTENT_MD5"):
        assert find_secrets(hex_key, setting_name=name) == [], name
        assert [f.kind for f in find_secrets(storage_key, setting_name=name)] == [
            "storage-account-key"
        ], name
    assert find_secrets(hex_key, setting_name="CONTENT_DIGEST") == []
    assert find_secrets(storage_key, setting_name="CONTENT_DIGEST") == []


def test_identifier_names_never_name_a_credential() -> None:
    for name in ("KEY_ID", "SECRET_VERSION", "API_KEY_REVISION", "TOKEN_COMMIT", "KEY_UUID"):
        assert is_credential_name(name) is False, name


def test_hex_key_rule_depends_on_label_not_on_setting_name() -> None:
    key = secrets.token_hex(16)
    assert [f.kind for f in find_secrets(key, setting_name="MODEL_SETTING")] == ["azure-ai-key"]
    assert [f.kind for f in find_secrets(key)] == ["azure-ai-key"]
    assert find_secrets(key, setting_name="CONTENT_MD5") == []


# --- the corpus -----------------------------------------------------------------------------------


def test_corpus_every_positive_found_with_kind_and_span_and_no_negative_flagged() -> None:
    rows = c.corpus(seed=1234, per_case=12)
    misses, false_alarms = Counter(), Counter()
    for row in rows:
        found = find_secrets(row.value, setting_name=row.name)
        if row.label:
            hit = any(
                f.kind == row.kind and row.value[f.start : f.end] == row.secret for f in found
            )
            misses[row.kind] += not hit
        else:
            false_alarms[row.kind] += bool(found)
    assert +misses == Counter()
    assert +false_alarms == Counter()


def test_corpus_is_balanced_across_kinds_and_names() -> None:
    rows = c.corpus(seed=1, per_case=5)
    kinds = Counter(r.kind for r in rows if r.label)
    assert set(kinds) == set(KINDS) - {"azure-identifiable-key"}
    assert sum(not r.label for r in rows) >= len(rows) // 3
    # positives under neutral names (the blind spot of name-based scanners) are a large share
    neutral = sum(r.label and not is_credential_name(r.name) for r in rows)
    assert neutral >= sum(r.label for r in rows) // 2


def test_corpus_is_deterministic_for_a_seed_and_varies_across_seeds() -> None:
    assert c.corpus(seed=5, per_case=2) == c.corpus(seed=5, per_case=2)
    assert c.corpus(seed=5, per_case=2) != c.corpus(seed=6, per_case=2)


# --- references and names -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("@Microsoft.KeyVault(SecretUri=https://kv-a1.vault.azure.net/secrets/ai-key/)", True),
        ("@Microsoft.KeyVault(SecretUri=https://kv-a1.vault.azure.net/secrets/ai-key)", True),
        (
            "@Microsoft.KeyVault(SecretUri=https://kv-a1.vault.azure.net/secrets/ai-key/"
            f"{secrets.token_hex(16)})",
            True,
        ),
        ("@Microsoft.KeyVault(VaultName=kv-a1;SecretName=ai-key)", True),
        ("@Microsoft.KeyVault(VaultName=kv-a1; SecretName=ai-key; SecretVersion=abc)", False),
        ("@Microsoft.KeyVault(SecretUri=https://evil.example.com/secrets/ai-key)", False),
        ("@Microsoft.KeyVault(SecretUri=http://kv-a1.vault.azure.net/secrets/ai-key)", False),
        ("prefix @Microsoft.KeyVault(VaultName=kv-a1;SecretName=ai-key)", False),
        ("@Microsoft.KeyVault()", False),
        # Each name follows Azure's rule (catalog.names) and the host is a Key Vault cloud's.
        ("@Microsoft.KeyVault(VaultName=1kv-a;SecretName=ai-key)", False),
        ("@Microsoft.KeyVault(VaultName=kv--a;SecretName=ai-key)", False),
        ("@Microsoft.KeyVault(VaultName=kv-a1;SecretName=ai_key)", False),
        ("@Microsoft.KeyVault(VaultName=kv-a1;SecretName=ai--key)", True),
        ("@Microsoft.KeyVault(SecretUri=https://kv-a1.vault.azure.cn/secrets/ai-key)", True),
        ("@Microsoft.KeyVault(SecretUri=https://KV-A1.Vault.UsGovCloudApi.net/secrets/k)", True),
        ("@Microsoft.KeyVault(SecretUri=https://kv-a1.vault.microsoftazure.de/secrets/k)", False),
        (
            "@Microsoft.KeyVault(SecretUri=https://kv-a1.vault.azure.net/secrets/"
            + "k" * 128
            + ")",
            False,
        ),
    ],
)
def test_is_key_vault_reference(value: str, expected: bool) -> None:
    assert is_key_vault_reference(value) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("@Microsoft.AppConfiguration(Endpoint=https://appcfg1.azconfig.io; Key=ai:key)", True),
        (
            "@Microsoft.AppConfiguration(Endpoint=https://appcfg1.azconfig.io; Key=k; Label=prod)",
            True,
        ),
        ("@Microsoft.AppConfiguration(Endpoint=https://appcfg1.example.com; Key=k)", False),
        ("@Microsoft.AppConfiguration(Key=k)", False),
    ],
)
def test_is_app_configuration_reference(value: str, expected: bool) -> None:
    assert is_app_configuration_reference(value) is expected


_INGESTION = "IngestionEndpoint=https://swedencentral-0.in.applicationinsights.azure.com/"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (f"InstrumentationKey={GUID}", True),
        (f"InstrumentationKey={GUID};", True),
        (f"{_INGESTION};InstrumentationKey={GUID}", True),
        (f" InstrumentationKey = {GUID} ; ApplicationId={GUID}", True),
        (
            f"instrumentationkey={GUID};endpointsuffix=applicationinsights.us;Location=usgovvirginia",
            True,
        ),
        (
            f"InstrumentationKey={GUID};Authorization=ikey;ProfilerEndpoint=https://p.monitor.azure.com/",
            True,
        ),
        (f"{_INGESTION}", False),  # the instrumentation key is required
        (f"InstrumentationKey={GUID};InstrumentationKey={GUID}", False),
        ("InstrumentationKey=not-a-guid", False),
        (f"InstrumentationKey={GUID};IngestionEndpoint=https://u:p@dc.example.net/", False),
        (f"InstrumentationKey={GUID};SharedAccessKey=abc", False),
        (f"InstrumentationKey={GUID};ApiKey=abc", False),
    ],
)
def test_is_application_insights_connection_string(value: str, expected: bool) -> None:
    """The schema's fields, in any order, each once, the instrumentation key required
    (learn.microsoft.com/azure/azure-monitor/app/connection-strings#schema)."""
    assert is_application_insights_connection_string(value) is expected


def test_an_app_insights_string_that_adds_a_credential_field_is_still_flagged() -> None:
    prefix = f"InstrumentationKey={GUID};{_INGESTION};"
    name = "APPLICATIONINSIGHTS_CONNECTION_STRING"
    key = c.shared_access_key(RNG)
    assert _one(f"{prefix}SharedAccessKey={key}", name) == ("shared-access-key", key)
    password = c.password(RNG)
    assert _one(f"{prefix}Password={password};", name) == ("connection-string-password", password)
    token = secrets.token_urlsafe(30)
    assert _one(f"InstrumentationKey={GUID};ApiKey={token}", name) == ("generic-secret", token)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("API_KEY", True),
        ("openaiKey", True),
        ("AZURE_OPENAI_API_KEY", True),
        ("ConnectionStrings__Db", True),
        ("password", True),
        ("DB_PASSWORD", True),
        ("client_secret", True),
        ("ACCESS_TOKEN", True),
        ("APIKEY", True),
        ("SECRET_NAME", False),
        ("KEY_VAULT_URI", False),
        ("APPINSIGHTS_INSTRUMENTATIONKEY", False),
        ("API_KEY_HEADER", False),
        ("PASSWORD_MIN_LENGTH", False),
        ("CERT_THUMBPRINT", False),
        ("API_KEY_SHA256", False),
        ("path", False),
        ("MODEL_SETTING", False),
        ("", False),
    ],
)
def test_is_credential_name(name: str, expected: bool) -> None:
    assert is_credential_name(name) is expected


# --- masking --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("length", "head", "tail"),
    [(1, 0, 0), (7, 0, 0), (8, 1, 0), (16, 2, 1), (32, 4, 2), (88, 4, 2)],
)
def test_mask_reveals_little_and_states_the_length(length: int, head: int, tail: int) -> None:
    secret = secrets.token_hex(length)[:length]
    expected = f"{secret[:head]}…({length} chars)…{secret[length - tail :] if tail else ''}"
    assert mask(secret) == expected


def test_findings_carry_masked_value_not_the_secret() -> None:
    key = c.storage_key(RNG)
    (found,) = find_secrets(f"AccountName=a;AccountKey={key};EndpointSuffix=core.windows.net")
    assert found.masked == mask(key)
    assert key not in repr(found)
    assert found.reason == "format: 86 base64 characters and '==' (storage account key)"
