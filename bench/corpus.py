"""A labelled corpus of app-settings-shaped values, generated at run time from a seed.

Every credential here is random bytes in a public format, made when the corpus is built: nothing
key-like is written in this file. Rows are ``Sample(name, value, label, kind, secret)``:

- positives (``label=True``): every format the engine knows, as a whole value and embedded in URLs,
  command lines, container args, JSON blobs and tags, under credential-like *and* neutral names
  (the blind spot of name-dependent scanners) and names of identifiers and versions (``KEY_ID``,
  ``APP_VERSION``, ``SOURCE_REVISION``), including delimiter-rich SAS tokens and connection
  strings and uniformly random 32-hex keys; credentials in command lines and HTTP headers
  (``curl -u user:password``, ``-H "Authorization: Bearer …"``, ``Basic`` credentials,
  ``-H "api-key: …"``, JWTs, ``sshpass -p``, ``mysql -p…``, ``docker login -p``,
  ``ConvertTo-SecureString … -AsPlainText``) and ``password = …`` assignments inside values;
- hard negatives (``label=False``): references, GUIDs, Application Insights keys and connection
  strings, resource IDs, endpoints, hashes and digests (md5/sha1/sha256 hex, SRI, image digests,
  ETags, trace IDs), what identifier names hold (Key Vault versions, GUIDs, build numbers, version
  strings, git SHAs), public keys, certificate thumbprints and placeholders, many of them under
  credential-like names; and command lines, headers and assignments of the same shapes whose
  credential is a variable, a prompt, a placeholder, a digest, an ID or a port mapping.

``kind`` is the expected finding kind for a positive and the non-secret class for a negative;
``secret`` is the exact credential text inside ``value`` (empty for a negative).
"""

from __future__ import annotations

import base64
import json
import random
import string
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from urllib.parse import quote

BASE62 = string.ascii_letters + string.digits
HEX = "0123456789abcdef"
ENTRA = string.ascii_letters + string.digits + "_~.-"


@dataclass(frozen=True)
class Sample:
    """One labelled value, as an app setting ``name=value``."""

    name: str
    value: str
    label: bool  # True when value holds a credential
    kind: str  # expected finding kind (positive) or the non-secret class (negative)
    secret: str = ""  # the credential text inside value, for span checks


# --- names ---------------------------------------------------------------------------------------

CREDENTIAL_NAMES = (
    "API_KEY",
    "AZURE_OPENAI_API_KEY",
    "OPENAI_API_KEY",
    "openaiKey",
    "AzureOpenAI__ApiKey",
    "COGNITIVE_SERVICES_KEY",
    "SEARCH_ADMIN_KEY",
    "AI_SECRET",
    "ACCESS_TOKEN",
    "client_secret",
    "SUBSCRIPTION_KEY",
    "apiKey",
    "STORAGE_ACCOUNT_KEY",
    "Auth__Token",
)
PASSWORD_NAMES = ("DB_PASSWORD", "password", "SQL_ADMIN_PASSWORD", "RedisPassword", "SMTP_PWD")
NEUTRAL_NAMES = (
    "MODEL_SETTING",
    "CONFIG_VALUE",
    "SETTING_1",
    "AI_CONFIG",
    "BACKEND_PARAM",
    "STARTUP_COMMAND",
    "CONTAINER_ARGS",
    "CUSTOM_DATA",
    "TAGS",
    "OPTIONS_JSON",
    "UPSTREAM",
    "WEBSITE_EXTRA",
)
CONNECTION_NAMES = (
    "AzureWebJobsStorage",
    "ConnectionStrings__Storage",
    "STORAGE_CONNECTION_STRING",
    "ServiceBusConnection",
    "ConnectionStrings__Db",
    "EVENTHUB_CONNECTION",
    "REDIS_CONNECTION",
    "DATABASE_URL",
    "APP_CONFIG_CONNECTION",
)
# Names of identifiers and versions: they hold GUIDs, resource IDs, build numbers, version strings,
# git SHAs and image digests, never 32 hex; a key typed or pasted there must still be found.
IDENTIFIER_NAMES = (
    "KEY_ID",
    "AI_KEY_ID",
    "BUILD_ID",
    "DEPLOYMENT_ID",
    "APP_VERSION",
    "MODEL_VERSION",
    "OPENAI_API_VERSION",
    "SOURCE_REVISION",
    "CONFIG_REVISION",
    "COMMIT",
)
IDENTIFIER_FIELDS = ("id", "version", "revision", "keyId", "build-id")
# Names that clear a 32-hex value (a trace, request or correlation ID, a GUID without dashes, a Key
# Vault object version, a hex digest) but never hold 86 base64 characters and "==": a storage key
# there is still a key.
HEX_VALUE_NAMES = (
    "SECRET_VERSION",
    "KEY_VAULT_SECRET_VERSION",
    "TRACE_ID",
    "CORRELATION_ID",
    "X_REQUEST_ID",
    "APP_GUID",
    "CONTENT_MD5",
    "SHA256",
)
# Where an App Service publishing password is kept or pasted: credential names, including the
# property names of listWebAppPublishingCredentials' result and of a publish profile.
PUBLISHING_PASSWORD_NAMES = (
    "publishingPassword",
    "PUBLISH_PASSWORD",
    "DEPLOY_PWD",
    "SCM_PASSWORD",
    "webDeployPassword",
    "AZURE_WEBAPP_PUBLISH_SECRET",
)
# Credential-sounding field names used inside embedded values.
CREDENTIAL_FIELDS = ("api-key", "apiKey", "subscription-key", "access_token", "client-secret")
NEUTRAL_FIELDS = ("value", "setting", "param", "data", "model-option")


# --- credentials, in their public formats ---------------------------------------------------------


def pick(rng: random.Random, alphabet: str, n: int) -> str:
    """n characters drawn from alphabet."""
    return "".join(rng.choice(alphabet) for _ in range(n))


def _b64(rng: random.Random, n_bytes: int) -> str:
    return base64.b64encode(rng.randbytes(n_bytes)).decode()


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def azure_hex_key(rng: random.Random) -> str:
    return pick(rng, HEX, 32)


def azure_identifiable_key(rng: random.Random) -> str:
    """84 characters: 52 base62, the JQQJ9 marker, version and date fields, ACOG at offset 76."""
    return (
        pick(rng, BASE62, 52)
        + "JQQJ"
        + "9"
        + rng.choice("9DH")
        + rng.choice(BASE62)
        + rng.choice("ABCDEFGHIJKL")
        + pick(rng, BASE62, 16)
        + "AC"
        + "OG"
        + pick(rng, BASE62, 4)
    )


def storage_key(rng: random.Random) -> str:
    return _b64(rng, 64)


def shared_access_key(rng: random.Random) -> str:
    return _b64(rng, 32)


def entra_client_secret(rng: random.Random) -> str:
    return pick(rng, ENTRA, 3) + rng.choice("78") + "Q" + "~" + pick(rng, ENTRA, 34)


def jwt(rng: random.Random) -> str:
    header = json.dumps({"alg": "RS256", "typ": "JWT", "kid": pick(rng, BASE62, 12)})
    payload = json.dumps(
        {
            "aud": "https://cognitiveservices.azure.com",
            "oid": str(uuid.UUID(int=rng.getrandbits(128))),
            "exp": rng.randint(1_700_000_000, 1_900_000_000),
        }
    )
    return ".".join(
        (_b64url(header.encode()), _b64url(payload.encode()), _b64url(rng.randbytes(64)))
    )


def private_key(rng: random.Random) -> str:
    label = rng.choice(("RSA ", "", "EC ", "OPENSSH ", "ENCRYPTED "))
    newline = rng.choice(("\n", "\\n"))
    body = _b64(rng, rng.randint(90, 300))
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    dashes = "-" * 5
    return newline.join(
        [
            f"{dashes}BEGIN {label}PRIVATE KEY{dashes}",
            *lines,
            f"{dashes}END {label}PRIVATE KEY{dashes}",
        ]
    )


def openai_key(rng: random.Random) -> str:
    prefix = rng.choice(("sk-", "sk-proj-", "sk-svcacct-"))
    marker = base64.b64encode(b"Open" + b"AI").decode()[:8]  # the format's fixed infix
    return prefix + pick(rng, BASE62, 20) + marker + pick(rng, BASE62, 20)


def github_token(rng: random.Random) -> str:
    if rng.random() < 0.25:
        return "github_pat_" + pick(rng, BASE62, 22) + "_" + pick(rng, BASE62, 59)
    return "gh" + rng.choice("pousr") + "_" + pick(rng, BASE62, 36)


def aws_access_key(rng: random.Random) -> str:
    return rng.choice(("AKIA", "ASIA")) + pick(rng, string.ascii_uppercase + "234567", 16)


def publishing_password(rng: random.Random) -> str:
    """An App Service publishing password: 60 base62 characters (mixed case and digits)."""
    while True:
        value = pick(rng, BASE62, 60)
        if value != value.lower() and value != value.upper() and any(c.isdigit() for c in value):
            return value


def publish_profile(site: str, password: str) -> str:
    """A publish profile (.PublishSettings) as the portal and listPublishingProfileXmlWithSecrets
    return it: one Web Deploy and one FTP profile, both with the site's publishing user."""
    return (
        f'<publishData><publishProfile profileName="{site} - Web Deploy" publishMethod="MSDeploy" '
        f'publishUrl="{site}.scm.azurewebsites.net:443" msdeploySite="{site}" '
        f'userName="${site}" userPWD="{password}" destinationAppUrl="https://{site}.azurewebsites.net">'
        f'<databases /></publishProfile><publishProfile profileName="{site} - FTP" '
        f'publishMethod="FTP" publishUrl="ftps://waws-prod-am2-001.ftp.azurewebsites.windows.net/'
        f'site/wwwroot" userName="{site}\\${site}" userPWD="{password}" /></publishData>'
    )


def generic_token(rng: random.Random) -> str:
    shape = rng.randrange(4)
    if shape == 0:
        return pick(rng, HEX, rng.choice((40, 48, 64)))
    if shape == 1:
        return _b64url(rng.randbytes(rng.randint(18, 40)))
    if shape == 2:
        return _b64(rng, rng.choice((24, 33, 48)))
    return pick(rng, BASE62, rng.randint(20, 52))


def password(rng: random.Random) -> str:
    letters = pick(rng, string.ascii_letters, rng.randint(6, 12))
    return letters + pick(rng, string.digits, rng.randint(1, 4)) + rng.choice("!#%^*+-_")


def sas_signature(rng: random.Random) -> str:
    return quote(_b64(rng, 32), safe="")


def _sas_query(rng: random.Random, sig: str) -> str:
    fields = [
        "sv=2022-11-02",
        rng.choice(("ss=bfqt&srt=sco", "sr=b", "sr=c")),
        "sp=" + rng.choice(("r", "rl", "racwdl", "rwdlacupiytfx")),
        f"se=2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T00%3A00%3A00Z",
        "spr=https",
    ]
    rng.shuffle(fields)
    return "&".join([*fields, f"sig={sig}"])


# --- positives ------------------------------------------------------------------------------------

SelfIdentifying = Callable[[random.Random], str]

SELF_IDENTIFYING: dict[str, tuple[SelfIdentifying, str]] = {
    "hex32": (azure_hex_key, "azure-ai-key"),
    "cask": (azure_identifiable_key, "azure-ai-key"),
    "storage": (storage_key, "storage-account-key"),
    "entra": (entra_client_secret, "entra-client-secret"),
    "jwt": (jwt, "jwt"),
    "pem": (private_key, "private-key"),
    "openai": (openai_key, "openai-api-key"),
    "github": (github_token, "github-token"),
    "aws": (aws_access_key, "aws-access-key"),
}


def _embed(rng: random.Random, secret: str, field: str) -> str:
    """The secret inside a longer value: URL, command line, container args, JSON, tags, YAML,
    and name/value pairs (.NET appSettings XML, ARM appSettings JSON, Kubernetes env)."""
    host = f"https://{pick(rng, string.ascii_lowercase, 8)}.openai.azure.com"
    shape = rng.randrange(10)
    if shape == 0:
        return f"{host}/openai/deployments/chat/completions?api-version=2024-06-01&{field}={secret}"
    if shape == 1:
        return f"python -m app --endpoint {host} --{field} {secret} --workers {rng.randint(1, 8)}"
    if shape == 2:
        return f"curl -s -H '{field}: {secret}' {host}/openai/models"
    if shape == 3:
        return json.dumps(["--port", "8080", f"--{field}", secret, "--log-level", "info"])
    if shape == 4:
        return json.dumps({"endpoint": host, field: secret, "deployment": "chat"})
    if shape == 5:
        return f"env=prod;owner=platform;{field}={secret};team=ai"
    if shape == 6:
        return f"endpoint: {host}\n{field}: {secret}\ntimeout: 30"
    if shape == 7:
        return f'<appSettings><add key="{field}" value="{secret}" /></appSettings>'
    if shape == 8:
        pairs = [
            {"name": "WEBSITE_RUN_FROM_PACKAGE", "value": "1"},
            {"name": field, "value": secret},
        ]
        return json.dumps(pairs)
    return f"env:\n- name: LOG_LEVEL\n  value: info\n- name: {field}\n  value: {secret}\n"


def positives(rng: random.Random, per_case: int) -> Iterator[Sample]:
    """Credentials as whole values and embedded, under credential-like and neutral names."""
    for _ in range(per_case):
        for _shape, (make, kind) in SELF_IDENTIFYING.items():
            secret = make(rng)
            yield Sample(rng.choice(CREDENTIAL_NAMES), secret, True, kind, secret)
            secret = make(rng)
            yield Sample(rng.choice(NEUTRAL_NAMES), secret, True, kind, secret)
            if kind != "private-key":
                secret = make(rng)
                field = rng.choice(CREDENTIAL_FIELDS)
                yield Sample(
                    rng.choice(NEUTRAL_NAMES), _embed(rng, secret, field), True, kind, secret
                )
                secret = make(rng)
                field = rng.choice(NEUTRAL_FIELDS)
                yield Sample(
                    rng.choice(NEUTRAL_NAMES), _embed(rng, secret, field), True, kind, secret
                )

        yield from _under_identifier_names(rng)
        secret = generic_token(rng)
        yield Sample(rng.choice(CREDENTIAL_NAMES), secret, True, "generic-secret", secret)
        secret = generic_token(rng)
        field = rng.choice(CREDENTIAL_FIELDS)
        yield Sample(
            rng.choice(NEUTRAL_NAMES), _embed(rng, secret, field), True, "generic-secret", secret
        )
        secret = password(rng)
        yield Sample(rng.choice(PASSWORD_NAMES), secret, True, "generic-secret", secret)
        yield from _connection_strings(rng)
        yield from _command_lines(rng)
        yield from _publishing_passwords(rng)


def _publishing_passwords(rng: random.Random) -> Iterator[Sample]:
    """An App Service publishing password under a credential name, in a publish profile, in the
    result of listWebAppPublishingCredentials (ARM ``User``: publishingUserName, publishingPassword,
    scmUri) and in the SCM site's URL (``https://$<site>:<password>@<site>.scm.azurewebsites.net``)."""
    kind = "app-service-publishing-password"
    site = "app-" + pick(rng, string.ascii_lowercase + string.digits, 8)
    secret = publishing_password(rng)
    yield Sample(rng.choice(PUBLISHING_PASSWORD_NAMES), secret, True, kind, secret)
    secret = publishing_password(rng)
    yield Sample(rng.choice(NEUTRAL_NAMES), publish_profile(site, secret), True, kind, secret)
    secret = publishing_password(rng)
    credentials = {
        "publishingUserName": f"${site}",
        "publishingPassword": secret,
        "scmUri": f"https://{site}.scm.azurewebsites.net",
    }
    yield Sample(rng.choice(NEUTRAL_NAMES), json.dumps(credentials), True, kind, secret)
    secret = publishing_password(rng)
    yield Sample(
        rng.choice(NEUTRAL_NAMES),
        f"git remote add azure https://${site}:{secret}@{site}.scm.azurewebsites.net/{site}.git",
        True,
        kind,
        secret,
    )


def _under_identifier_names(rng: random.Random) -> Iterator[Sample]:
    """Keys under names of identifiers and versions, whole and as an identifier field."""
    secret = azure_hex_key(rng)
    yield Sample(rng.choice(IDENTIFIER_NAMES), secret, True, "azure-ai-key", secret)
    secret = azure_hex_key(rng)
    field = rng.choice(IDENTIFIER_FIELDS)
    yield Sample(
        rng.choice(NEUTRAL_NAMES), _embed(rng, secret, field), True, "azure-ai-key", secret
    )
    secret = storage_key(rng)
    yield Sample(rng.choice(IDENTIFIER_NAMES), secret, True, "storage-account-key", secret)
    secret = storage_key(rng)
    yield Sample(rng.choice(HEX_VALUE_NAMES), secret, True, "storage-account-key", secret)


def _connection_strings(rng: random.Random) -> Iterator[Sample]:
    account = pick(rng, string.ascii_lowercase + string.digits, 12)
    name = rng.choice(CONNECTION_NAMES + NEUTRAL_NAMES)

    key = storage_key(rng)
    yield Sample(
        name,
        f"DefaultEndpointsProtocol=https;AccountName={account};AccountKey={key};"
        "EndpointSuffix=core.windows.net",
        True,
        "storage-account-key",
        key,
    )
    key = shared_access_key(rng)
    entity = rng.choice(("", f";EntityPath={pick(rng, string.ascii_lowercase, 6)}"))
    yield Sample(
        name,
        f"Endpoint=sb://{account}.servicebus.windows.net/;SharedAccessKeyName="
        f"RootManageSharedAccessKey;SharedAccessKey={key}{entity}",
        True,
        "shared-access-key",
        key,
    )
    sig = sas_signature(rng)
    yield Sample(
        name,
        f"BlobEndpoint=https://{account}.blob.core.windows.net/;SharedAccessSignature="
        + _sas_query(rng, sig),
        True,
        "sas-token",
        sig,
    )
    sig = sas_signature(rng)
    yield Sample(
        rng.choice((*NEUTRAL_NAMES, "WEBSITE_RUN_FROM_PACKAGE", "MODEL_BLOB_URL")),
        f"https://{account}.blob.core.windows.net/models/app.zip?" + _sas_query(rng, sig),
        True,
        "sas-token",
        sig,
    )
    secret = password(rng)
    yield Sample(
        name,
        f"Server=tcp:{account}.database.windows.net,1433;Initial Catalog=app;"
        f"User ID=app;Password={secret};Encrypt=True;",
        True,
        "connection-string-password",
        secret,
    )
    secret = password(rng).replace("#", "x").replace("%", "x").replace("^", "x")
    yield Sample(
        name,
        f"postgresql://app:{secret}@{account}.postgres.database.azure.com:5432/app?sslmode=require",
        True,
        "connection-string-password",
        secret,
    )
    secret = shared_access_key(rng)
    yield Sample(
        name,
        f"{account}.redis.cache.windows.net:6380,password={secret},ssl=True,abortConnect=False",
        True,
        "connection-string-password",
        secret,
    )
    secret = shared_access_key(rng)
    yield Sample(
        name,
        f"Endpoint=https://{account}.azconfig.io;Id={pick(rng, BASE62, 4)}-l0-s0:"
        f"{pick(rng, BASE62, 20)};Secret={secret}",
        True,
        "connection-string-secret",
        secret,
    )


def _host(rng: random.Random) -> str:
    return f"https://{pick(rng, string.ascii_lowercase, 8)}.openai.azure.com"


def _command_lines(rng: random.Random) -> Iterator[Sample]:
    """Credentials in command lines and HTTP headers, and passwords assigned inside values, under
    neutral setting names (a startup command, a script, a config fragment)."""
    name = rng.choice(NEUTRAL_NAMES)
    host = _host(rng)
    user = rng.choice(("admin", "deploy", "svc-ai", "app"))

    secret = password(rng)
    quote_char = rng.choice(("", "'", '"'))
    option = rng.choice(("-u ", "--user ", "--user=", "-u"))
    yield Sample(
        name,
        f"curl -sS {option}{quote_char}{user}:{secret}{quote_char} {host}/openai/models",
        True,
        "command-line-password",
        secret,
    )
    token = generic_token(rng)
    quote_char = rng.choice(("'", '"'))
    yield Sample(
        name,
        f"curl -X POST -H {quote_char}Authorization: Bearer {token}{quote_char} {host}/v1/chat",
        True,
        "generic-secret",
        token,
    )
    token = jwt(rng)
    yield Sample(
        name,
        rng.choice(
            (
                f'curl --header "Authorization: Bearer {token}" {host}/openai/models',
                f"Authorization: Bearer {token}",
                f"{host}/chat?access_token={token}",
                f"Cookie: session={token}; Path=/",
            )
        ),
        True,
        "jwt",
        token,
    )
    basic = base64.b64encode(f"{user}:{password(rng)}".encode()).decode()
    yield Sample(
        name,
        rng.choice(
            (
                f"curl -H 'Authorization: Basic {basic}' {host}/",
                f"Authorization: Basic {basic}",
                json.dumps({"headers": {"Authorization": f"Basic {basic}"}}),
            )
        ),
        True,
        "basic-auth",
        basic,
    )
    key = azure_hex_key(rng)
    header = rng.choice(("api-key", "Ocp-Apim-Subscription-Key", "x-api-key"))
    yield Sample(name, f'curl -H "{header}: {key}" {host}/openai/models', True, "azure-ai-key", key)
    secret = password(rng)
    yield Sample(
        name,
        rng.choice(
            (
                f"sshpass -p '{secret}' ssh {user}@10.0.0.4",
                f"mysql -h db -u {user} -p{secret} app",
                f"docker login myregistry.azurecr.io -u {user} -p {secret}",
                f"az login --service-principal -u {_guid(rng)} -p {secret} --tenant {_guid(rng)}",
                f"sqlcmd -S tcp:db.database.windows.net -U {user} -P {secret} -d app",
                f"redis-cli -h cache -p 6380 -a {secret} ping",
                f"$pw = ConvertTo-SecureString '{secret}' -AsPlainText -Force",
            )
        ),
        True,
        "command-line-password",
        secret,
    )
    secret = password(rng)
    yield Sample(
        name,
        rng.choice(
            (
                f"[database]\nhost = db\npassword = {secret}\n",
                f"db:\n  user: {user}\n  password: '{secret}'\n",
                f'DB = {{"host": "db", "password": "{secret}"}}',
                f'dbPassword := "{secret}"',
                f'$Password = "{secret}"',
                f"spring.datasource.password={secret}",
                f"<password>{secret}</password>",
            )
        ),
        True,
        "generic-secret",
        secret,
    )


# --- hard negatives -------------------------------------------------------------------------------


def _guid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def negatives(rng: random.Random, per_case: int) -> Iterator[Sample]:
    """Values that look like credentials, or sit under credential names, and are not secrets."""
    for _ in range(per_case):
        vault = "kv-" + pick(rng, string.ascii_lowercase + string.digits, 8)
        secret_name = rng.choice(("ai-key", "openai-api-key", "search-key", "db-password"))
        account = pick(rng, string.ascii_lowercase + string.digits, 10)
        sub, tenant = _guid(rng), _guid(rng)
        cred_name = rng.choice(CREDENTIAL_NAMES + PASSWORD_NAMES)

        def neg(name: str, value: str, kind: str) -> Sample:
            return Sample(name, value, False, kind)

        version = rng.choice(("", "/", "/" + pick(rng, HEX, 32)))
        yield neg(
            cred_name,
            f"@Microsoft.KeyVault(SecretUri=https://{vault}.vault.azure.net/secrets/{secret_name}"
            f"{version})",
            "key-vault-reference",
        )
        yield neg(
            cred_name,
            f"@Microsoft.KeyVault(VaultName={vault};SecretName={secret_name})",
            "key-vault-reference",
        )
        yield neg(
            cred_name,
            f"@Microsoft.AppConfiguration(Endpoint=https://{account}.azconfig.io; "
            f"Key=ai:{secret_name}; Label=prod)",
            "app-configuration-reference",
        )
        yield neg(
            rng.choice(
                (
                    "AZURE_CLIENT_ID",
                    "AZURE_TENANT_ID",
                    "KEY_ID",
                    "ClientId",
                    "DEPLOYMENT_ID",
                    "OBJECT_ID",
                    "BUILD_ID",
                )
            ),
            _guid(rng),
            "guid",
        )
        yield from _identifier_values(rng)
        yield neg(
            rng.choice(("APPINSIGHTS_INSTRUMENTATIONKEY", "InstrumentationKey")),
            _guid(rng),
            "instrumentation-key",
        )
        yield neg(
            "APPLICATIONINSIGHTS_CONNECTION_STRING",
            f"InstrumentationKey={_guid(rng)};IngestionEndpoint=https://swedencentral-0."
            f"in.applicationinsights.azure.com/;LiveEndpoint=https://swedencentral.livediagnostics."
            f"monitor.azure.com/;ApplicationId={_guid(rng)}",
            "instrumentation-connection-string",
        )
        yield from _application_insights_strings(rng)
        yield from _publishing_negatives(rng)
        yield neg(
            rng.choice(("KEY_VAULT_ID", "AI_ACCOUNT_ID", "SECRET_RESOURCE_ID", "scope")),
            f"/subscriptions/{sub}/resourceGroups/rg-{account}/providers/Microsoft.KeyVault/"
            f"vaults/{vault}/secrets/{secret_name}",
            "resource-id",
        )
        yield neg(
            rng.choice(("AZURE_OPENAI_ENDPOINT", "KEY_VAULT_URI", "TOKEN_ENDPOINT", "endpoint")),
            rng.choice(
                (
                    f"https://{account}.openai.azure.com/",
                    f"https://{vault}.vault.azure.net/",
                    f"https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token",
                    f"https://{account}.openai.azure.com/openai/deployments/chat/completions"
                    "?api-version=2024-06-01",
                )
            ),
            "endpoint",
        )
        yield neg(
            rng.choice(("SECRET_ID", "KEY_VAULT_SECRET_URI", "apiKeySecretUri")),
            f"https://{vault}.vault.azure.net/secrets/{secret_name}/{pick(rng, HEX, 32)}",
            "key-vault-secret-id",
        )
        yield neg(
            rng.choice(
                (
                    "SECRET_VERSION",
                    "KEY_VERSION",
                    "apiKeyVersion",
                    "KEY_VAULT_SECRET_VERSION",
                    "AI_KEY_SECRET_VERSION",
                    "CERTIFICATE_VERSION",
                )
            ),
            pick(rng, HEX, 32),
            "key-vault-version",
        )
        md5 = pick(rng, HEX, 32)
        yield from (
            neg(
                rng.choice(("PACKAGE_MD5", "CONTENT_MD5", "checksum", "ETAG", "KEY_CHECKSUM")),
                md5,
                "md5",
            ),
            neg(rng.choice(NEUTRAL_NAMES), json.dumps({"file": "model.bin", "md5": md5}), "md5"),
            neg(rng.choice(NEUTRAL_NAMES), f'ETag: W/"{pick(rng, HEX, 32)}"', "etag"),
            neg(rng.choice(NEUTRAL_NAMES), f"{pick(rng, HEX, 32)}  model.bin", "md5sum"),
            neg(
                rng.choice((*NEUTRAL_NAMES, "TRACEPARENT")),
                f"00-{pick(rng, HEX, 32)}-{pick(rng, HEX, 16)}-01",
                "trace-context",
            ),
            neg(
                rng.choice(("TRACE_ID", "CORRELATION_ID", "traceId", "X_REQUEST_ID")),
                pick(rng, HEX, 32),
                "hex-id",
            ),
            neg(
                rng.choice(
                    (
                        "GIT_SHA",
                        "COMMIT",
                        "SOURCE_REVISION",
                        "SOURCE_VERSION",
                        "BUILD_SOURCEVERSION",
                        "APP_REVISION",
                    )
                ),
                pick(rng, HEX, 40),
                "sha1",
            ),
            neg(
                rng.choice(("IMAGE_DIGEST", "SHA256", "API_KEY_SHA256")),
                pick(rng, HEX, 64),
                "sha256",
            ),
            neg(
                rng.choice(("integrity", "SRI_HASH", "CDN_SCRIPT")),
                "sha512-" + _b64(rng, 64),
                "sri",
            ),
            neg(
                rng.choice(("DOCKER_CUSTOM_IMAGE_NAME", "LINUX_FX_VERSION", "IMAGE")),
                rng.choice(("DOCKER|", ""))
                + f"{account}.azurecr.io/app@sha256:{pick(rng, HEX, 64)}",
                "image-digest",
            ),
        )
        ssh = "ssh-" + "rsa AAAAB3NzaC1yc2E" + _b64(rng, 270).rstrip("=") + " deploy@build"
        yield neg(
            rng.choice(("SSH_PUBLIC_KEY", "AUTHORIZED_KEY", "DEPLOY_PUBLIC_KEY")),
            ssh,
            "ssh-public-key",
        )
        dashes = "-" * 5
        body = "\\n".join(_b64(rng, 48) for _ in range(3))
        block = rng.choice(("PUBLIC KEY", "CERTIFICATE"))
        yield neg(
            rng.choice(("JWT_PUBLIC_KEY", "SIGNING_CERTIFICATE", "PUBLIC_KEY_PEM")),
            f"{dashes}BEGIN {block}{dashes}\\n{body}\\n{dashes}END {block}{dashes}",
            "public-key",
        )
        thumb = pick(rng, "0123456789ABCDEF", 40)
        yield neg(
            rng.choice(("WEBSITE_LOAD_CERTIFICATES", "CERT_THUMBPRINT", "SIGNING_KEY_THUMBPRINT")),
            thumb,
            "thumbprint",
        )
        yield neg(
            cred_name,
            rng.choice(
                (
                    "${{ secrets.AZURE_OPENAI_KEY }}",
                    "$(AI_KEY)",
                    "${AI_KEY}",
                    "<your-key>",
                    "REPLACE_ME",
                    "#{ApiKey}#",
                    "x" * rng.randint(16, 40),
                    "changeme",
                    "your-api-key-here",
                    "%API_KEY%",
                    "{{ .Values.apiKey }}",
                    "*" * rng.randint(8, 20),
                )
            ),
            "placeholder",
        )
        yield neg(
            rng.choice(CONNECTION_NAMES),
            rng.choice(
                (
                    f"DefaultEndpointsProtocol=https;AccountName={account};"
                    "AccountKey=<account-key>;EndpointSuffix=core.windows.net",
                    f"Server=tcp:{account}.database.windows.net,1433;Database=app;"
                    "User ID=app;Password=${DB_PASSWORD};",
                    f"https://{account}.blob.core.windows.net/c?sv=2022-11-02&sp=r&sig=<signature>",
                    f"Endpoint=sb://{account}.servicebus.windows.net/;SharedAccessKeyName=send;"
                    "SharedAccessKey=$(SB_KEY)",
                )
            ),
            "placeholder-connection-string",
        )
        yield neg(
            rng.choice(CONNECTION_NAMES),
            rng.choice(
                (
                    f"Server=tcp:{account}.database.windows.net,1433;Database=app;"
                    "Authentication=Active Directory Managed Identity;",
                    f"Endpoint=sb://{account}.servicebus.windows.net/;Authentication=ManagedIdentity",
                    f"AccountName={account};BlobEndpoint=https://{account}.blob.core.windows.net/",
                    f"https://{account}.blob.core.windows.net/models/app.zip",
                )
            ),
            "keyless-connection",
        )
        yield neg(
            rng.choice(
                (
                    "API_KEY_HEADER",
                    "KEY_ROTATION_DAYS",
                    "SECRET_NAME",
                    "PASSWORD_MIN_LENGTH",
                    "AUTH_MODE",
                    "TOKEN_AUDIENCE",
                    "KEY_VAULT_NAME",
                    "ApiKeyHeaderName",
                    "KEY_NAME",
                    "AZURE_OPENAI_API_VERSION",
                )
            ),
            rng.choice(
                (
                    "api-key",
                    "90",
                    f"{secret_name}",
                    "12",
                    "keyVault",
                    "https://cognitiveservices.azure.com/.default",
                    vault,
                    "Ocp-Apim-Subscription-Key",
                    "key1",
                    "2024-06-01",
                )
            ),
            "setting-about-a-credential",
        )
        yield neg(
            cred_name,
            rng.choice(
                (
                    "true",
                    "Ocp-Apim-Subscription-Key",
                    f"{secret_name}-primary",
                    "Authorization",
                    "/home/site/wwwroot/keys",
                    "gpt-4o-mini-2024-07-18",
                    f"{vault}.vault.azure.net",
                    "AzureCliCredential",
                    "ManagedIdentityCredential",
                )
            ),
            "word-under-credential-name",
        )
        yield from _command_line_negatives(rng)


def _application_insights_strings(rng: random.Random) -> Iterator[Sample]:
    """Application Insights connection strings of any subset and order of their schema's fields
    (learn.microsoft.com/azure/azure-monitor/app/connection-strings), the instrumentation key
    alone included: identifiers and endpoints, no credential."""
    region = rng.choice(("swedencentral", "westeurope", "eastus2"))
    fields = [
        f"IngestionEndpoint=https://{region}-{rng.randint(0, 9)}.in.applicationinsights.azure.com/",
        f"LiveEndpoint=https://{region}.livediagnostics.monitor.azure.com/",
        f"ApplicationId={_guid(rng)}",
        "EndpointSuffix=" + rng.choice(("applicationinsights.azure.cn", "applicationinsights.us")),
    ]
    chosen = rng.sample(fields, rng.randint(0, len(fields)))
    chosen.insert(rng.randint(0, len(chosen)), f"InstrumentationKey={_guid(rng)}")
    yield Sample(
        rng.choice(
            ("APPLICATIONINSIGHTS_CONNECTION_STRING", "ApplicationInsights__ConnectionString")
        ),
        ";".join(chosen) + rng.choice(("", ";")),
        False,
        "instrumentation-connection-string",
    )


def _publishing_negatives(rng: random.Random) -> Iterator[Sample]:
    """What else is 60 base62 characters, or sits where a publishing password does, and is not
    one: the password's hash and salt (ARM ``User.publishingPasswordHash``/``...HashSalt``), a
    60-character value under an identifier's name, a publish profile whose password is a
    placeholder, and words run together into a 60-character name under a credential name (not a
    password name: a passphrase is words)."""
    site = "app-" + pick(rng, string.ascii_lowercase + string.digits, 8)
    yield Sample(
        rng.choice(
            ("publishingPasswordHash", "publishingPasswordHashSalt", "PUBLISH_PASSWORD_HASH")
        ),
        publishing_password(rng),
        False,
        "password-hash",
    )
    yield Sample(
        rng.choice(("SESSION_ID", "DEPLOYMENT_ID", "OPERATION_ID", "RUN_ID")),
        publishing_password(rng),
        False,
        "identifier-60",
    )
    yield Sample(
        rng.choice(("PUBLISH_PROFILE", "CUSTOM_DATA")),
        publish_profile(
            site, rng.choice(("$(PublishPassword)", "", "********", "${{ secrets.PUBLISH_PWD }}"))
        ),
        False,
        "placeholder-publish-profile",
    )
    words = ("Publishing", "Credentials", "Policy", "Scm", "Basic", "Auth", "Disabled", "Site")
    name = ""
    while len(name) < 57:
        name += rng.choice([w for w in words if len(name) + len(w) <= 58] or ["Id"])
    name += pick(rng, string.digits, 60 - len(name))
    yield Sample(
        rng.choice(("PUBLISHING_CREDENTIALS", "SCM_CREDENTIAL", "DEPLOY_TOKEN", "WEBAPP_SECRET")),
        name,
        False,
        "identifier-60",
    )


def _identifier_values(rng: random.Random) -> Iterator[Sample]:
    """What names of identifiers and versions really hold: GUIDs written without dashes under GUID
    names, build numbers, version strings, short git SHAs and image digests."""
    yield Sample(
        rng.choice(("APP_GUID", "INSTANCE_UUID", "deviceGuid")),
        uuid.UUID(int=rng.getrandbits(128), version=4).hex,
        False,
        "guid-without-dashes",
    )
    yield Sample(
        rng.choice(("BUILD_ID", "BUILD_NUMBER", "RUN_ID", "BUILD_BUILDID")),
        rng.choice(
            (
                str(rng.randint(1, 99999)),
                f"2024{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}.{rng.randint(1, 9)}",
                _guid(rng),
            )
        ),
        False,
        "build-number",
    )
    yield Sample(
        rng.choice(("APP_VERSION", "MODEL_VERSION", "API_VERSION", "SCHEMA_REVISION")),
        rng.choice(
            (
                f"{rng.randint(0, 9)}.{rng.randint(0, 30)}.{rng.randint(0, 99)}",
                "2024-07-18",
                "2024-06-01-preview",
                f"v{rng.randint(1, 9)}",
            )
        ),
        False,
        "version-string",
    )
    yield Sample(
        rng.choice(("REVISION", "COMMIT_SHORT", "APP_VERSION")),
        pick(rng, HEX, rng.randint(7, 12)),
        False,
        "short-sha",
    )
    yield Sample(
        rng.choice(("IMAGE_VERSION", "IMAGE_ID", "CONTAINER_IMAGE_REVISION")),
        f"sha256:{pick(rng, HEX, 64)}",
        False,
        "image-digest",
    )


def _command_line_negatives(rng: random.Random) -> Iterator[Sample]:
    """Command lines, headers and assignments whose credential is not written in them."""
    name = rng.choice(NEUTRAL_NAMES)
    host = _host(rng)
    user = rng.choice(("admin", "deploy", "app"))

    def neg(value: str, kind: str) -> Sample:
        return Sample(name, value, False, kind)

    yield neg(
        rng.choice(
            (
                f'curl -u "{user}:$API_PASSWORD" {host}/',
                f"curl -u {user}:${{PASSWORD}} {host}/",
                f"curl --user {user} {host}/",
                f"curl -u {user}: {host}/",
                f"docker run -u 1000:1000 -p 8080:80 {user}/web:1.2.3",
                f"curl -u {user}:password {host}/",
            )
        ),
        "command-line-variable",
    )
    yield neg(
        rng.choice(
            (
                f'curl -H "Authorization: Bearer $TOKEN" {host}/',
                'curl -H "Authorization: Bearer ${{ secrets.AI_TOKEN }}" ' + host,
                'curl -H "Authorization: Bearer $(az account get-access-token --query '
                f'accessToken -o tsv)" {host}/',
                "Authorization: Bearer <token>",
                'WWW-Authenticate: Basic realm="api", charset="UTF-8"',
                f'curl -H "api-key: $AZURE_OPENAI_API_KEY" {host}/',
                "Authorization: Basic authentication is disabled on this endpoint",
            )
        ),
        "header-variable",
    )
    yield neg(
        rng.choice(
            (
                f'curl -H "If-None-Match: \\"{pick(rng, HEX, 32)}\\"" {host}/',
                f'curl -H "If-Match: {pick(rng, HEX, 32)}" {host}/',
                f'curl -H "x-ms-client-request-id: {_guid(rng)}" {host}/',
                f'curl -H "X-Request-Id: {pick(rng, HEX, 32)}" {host}/',
                f"git checkout {pick(rng, HEX, 40)} && make",
                f"pip install app==1.0 --hash=sha256:{pick(rng, HEX, 64)}",
                f"echo '{pick(rng, HEX, 64)}  model.bin' | sha256sum -c",
                f"az keyvault secret show --id https://kv1.vault.azure.net/secrets/k/"
                f"{pick(rng, HEX, 32)}",
            )
        ),
        "command-line-digest-or-id",
    )
    yield neg(
        rng.choice(
            (
                f"mysql -h db -u {user} -p app",
                "mkdir -p /home/site/wwwroot/data",
                "docker run -p 8080:80 -p 8443:443 web",
                'sshpass -p "$SSH_PASSWORD" ssh host',
                "sqlcmd -S db -U app -P $(SQL_PASSWORD) -d app",
                "$pw = ConvertTo-SecureString $env:ADMIN_PASSWORD -AsPlainText -Force",
                "docker login myregistry.azurecr.io -u app --password-stdin",
            )
        ),
        "command-line-prompt",
    )
    yield neg(
        rng.choice(
            (
                "password = os.environ['DB_PASSWORD']",
                "password = getpass.getpass('Password: ')",
                "password = settings.DATABASE_PASSWORD",
                'password = "${DB_PASSWORD}"',
                "password: <your-password>",
                f"password_hash = {pick(rng, HEX, 64)}",
                "password = None",
                "password: !vault |",
            )
        ),
        "assignment-without-value",
    )


def corpus(seed: int = 20240601, per_case: int = 40) -> list[Sample]:
    """The labelled corpus: ``60 * per_case`` positives and ``43 * per_case`` negatives."""
    rng = random.Random(seed)
    return [*positives(rng, per_case), *negatives(rng, per_case)]
