"""Find credentials in one value: self-identifying formats first, then credential names.

Order of evidence, strongest first:

1. A format that identifies itself (PEM private key, Azure identifiable keys, OpenAI, GitHub, AWS,
   JWT, Entra client secret, storage key, SAS signature, connection-string credentials, a password
   in a URL). These are found whatever the setting is called.
2. A bare 32-hex value is an Azure AI key unless its label (the field name written just before it,
   else the setting name) names a hash, digest or identifier, or its syntax is a digest's or an
   identifier's (a URL path segment, a trace-context field, ``md5sum`` output).
3. A random-looking value under a credential name (``API_KEY``, ``--client-secret``,
   ``"password":``), written as the setting's whole value or as a ``name=value`` pair inside it.

References (Key Vault, App Configuration), GUIDs, URLs, resource IDs, digests, public keys and
placeholders are never reported.
"""

from __future__ import annotations

import base64
import hashlib
import math
import re
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from itertools import pairwise

from policies.azure_ids import key_vault_reference_target
from policies.detection.names import (
    is_base64_digest_name,
    is_credential_name,
    is_hex_value_name,
    is_password_name,
)


@dataclass(frozen=True)
class Finding:
    """One credential found in a value. Carries no part of the secret beyond ``masked``."""

    kind: str  # e.g. "azure-ai-key", "storage-account-key", "sas-token"
    start: int  # span of the secret inside the scanned value
    end: int
    masked: str  # short prefix and suffix plus length, never the whole secret
    reason: str  # the rule that matched


# Every kind a finding can have, with what it is: the scanner's SARIF rules are built from this.
KINDS: dict[str, str] = {
    "azure-ai-key": "Azure AI services / OpenAI account key (32 hex or 84-char identifiable key)",
    "azure-identifiable-key": "Azure identifiable key of another service (JQQJ9 marker)",
    "storage-account-key": "Azure storage or Cosmos DB account key (86 base64 characters + '==')",
    "shared-access-key": "Service Bus / Event Hubs / IoT Hub shared access key",
    "sas-token": "shared access signature (the sig= of a SAS URL or connection string)",
    "connection-string-password": "password in a connection string or in a URL's user info",
    "connection-string-secret": "Secret=/ClientSecret=/AccessKey= in a connection string",
    "basic-auth": "HTTP Basic credentials: user:password, base64-encoded after 'Basic'",
    "command-line-password": "password on a command line (curl -u user:password, sshpass -p, "
    "mysql -p…, docker/az login -p, sqlcmd -P, redis-cli -a, ConvertTo-SecureString -AsPlainText)",
    "app-service-publishing-password": "App Service publishing password (publishingPassword, "
    "a publish profile's userPWD: 60 base62 characters)",
    "entra-client-secret": "Microsoft Entra application client secret",
    "jwt": "JSON Web Token (a bearer credential)",
    "private-key": "PEM private key block, encrypted or not",
    "openai-api-key": "OpenAI API key",
    "github-token": "GitHub personal access, OAuth, app or refresh token",
    "aws-access-key": "AWS access key ID",
    "generic-secret": "random-looking value, or a password, under a credential-like name",
}


def mask(secret: str) -> str:
    """A masked form that shows at most 4 leading and 2 trailing characters and the length.

    Short secrets show less (nothing under 8 characters): at most 3/16 of a secret is shown.
    """
    n = len(secret)
    head = min(4, n // 8)
    tail = min(2, n // 16)
    return f"{secret[:head]}…({n} chars)…{secret[n - tail :] if tail else ''}"


# --- references --------------------------------------------------------------------------------

_APP_CONFIG_REFERENCE = re.compile(
    r"\s*@Microsoft\.AppConfiguration\(\s*"
    r"Endpoint\s*=\s*https://[A-Za-z0-9-]{5,50}\.azconfig\.(?:io|azure\.cn|azure\.us)/?\s*;"
    r"\s*Key\s*=\s*[^;()]{1,1024}?(?:\s*;\s*Label\s*=\s*[^;()]*)?\s*\)\s*",
    re.IGNORECASE,
)


def is_key_vault_reference(value: str) -> bool:
    """True for an App Service Key Vault reference, ``@Microsoft.KeyVault(SecretUri=...)`` or
    ``@Microsoft.KeyVault(VaultName=...;SecretName=...)``, whose vault, cloud and secret follow
    Azure's rules."""
    return key_vault_reference_target(value) is not None


def is_app_configuration_reference(value: str) -> bool:
    """True for an App Service App Configuration reference,
    ``@Microsoft.AppConfiguration(Endpoint=https://<store>.azconfig.io; Key=<key>)``, with an
    optional ``; Label=<label>``."""
    return _APP_CONFIG_REFERENCE.fullmatch(value) is not None


# --- what is not a secret ----------------------------------------------------------------------

# Words and markers anywhere in a lower-cased token (plain alternatives: a fast search).
_PLACEHOLDER_MARK = re.compile(
    r"\$\{|\$\(|#\{|\{\{|replace.?me|change.?me|your[_-]|placeholder|redacted|xxxx|\*\*\*|\.\.\.|…"
    r"|example|dummy|sample|insert[_-]"
)
# Shapes, tried only on tokens holding one of "<%${": `<your-key>`, `%VAR%`, `$VAR`, `{name}`.
_PLACEHOLDER_SHAPE = re.compile(
    r"<[^<>]*>|%[A-Za-z_]\w*%|^\$[A-Za-z_]\w*$|^\{[^{}]*\}$|\{[A-Za-z_][\w.]*(?:\[[^\]]*\])?\}"
    r"|%\([A-Za-z_]\w*\)[sdr]"
)
_SHAPE_CHARS = frozenset("<%${")
_NOT_A_VALUE = frozenset({"true", "false", "null", "none", "yes", "no", "on", "off", "undefined"})
_GUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
_DIGEST_SYNTAX = re.compile(r"(?:sha(?:1|224|256|384|512)|md5)[:-]", re.IGNORECASE)
_PUBLIC_KEY_SYNTAX = re.compile(r"(?:ssh-(?:rsa|dss|ed25519)|ecdsa-sha2-\w+|sk-ssh-\S+)\s*$")
_HOSTNAME = re.compile(r"[a-z0-9-]+(?:\.[a-z0-9-]+)+\.?(?::\d+)?")
_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)*[a-zA-Z%]{0,3}")
# sha256 of public constants that look like keys: Pulumi's secret signature key and its asset,
# archive, secret, resource and output-value signatures (pulumi/runtime/rpc.py), and the storage
# emulator's published development account key (Azurite; azure-storage-blob's _shared/parser.py).
_PUBLIC_CONSTANTS_SHA256 = frozenset(
    {
        "42a8af5aab5958b8fa98a667ae9e2a8ed7a25f20d0ca99ad2357688c4d471e98",
        "5e56393271db3db7608d079d31ccf8640e0ed44cba3d1c1967bbca1871735a8d",
        "295bb567703963a57ad4456d83e9602e434a7686ae2a4c19174fc43f9889cc31",
        "e7e8f06ed950ca4dbc2c86d083058e078be4a9283f8180cd76bc7a295004cc89",
        "7647425ba1addc8fa946135e3dc1ee7dccb09b10fa6fca7e5a1a28b0d1c9fbae",
        "9d9da52943d617a97ebb0e93c1874850295eeeaa2185ece2f9ecd099086f2869",
        "0011cc25eb4320717494d2703e8cba85743e71b500283c21c8b88147992f9059",
    }
)
_PUBLIC_CONSTANT_PREFIXES = frozenset({"4dab", "1b47", "c440", "0def", "5cf8", "d0e6", "Eby8"})


def is_placeholder(token: str) -> bool:
    """True for a placeholder where a secret would go: ``${{ secrets.X }}``, ``$(VAR)``,
    ``${VAR}``, ``<your-key>``, ``REPLACE_ME``, ``#{X}#``, ``xxxx``, ``changeme``."""
    lowered = token.lower()
    return (
        lowered in _NOT_A_VALUE
        or _PLACEHOLDER_MARK.search(lowered) is not None
        or (not _SHAPE_CHARS.isdisjoint(token) and _PLACEHOLDER_SHAPE.search(token) is not None)
        or len(set(token)) == 1
    )


# The fields of an Application Insights connection string and the shape of each value
# (learn.microsoft.com/azure/azure-monitor/app/connection-strings#schema). Its instrumentation key
# and ApplicationId are identifiers, not security tokens (same page), so a string of these fields
# alone holds no credential.
_HTTPS_ENDPOINT = re.compile(r"https://[A-Za-z0-9.-]+(?::\d+)?(?:/[\w.~/-]*)?")
_APP_INSIGHTS_FIELDS: dict[str, re.Pattern[str]] = {
    "instrumentationkey": _GUID,
    "applicationid": _GUID,
    "ingestionendpoint": _HTTPS_ENDPOINT,
    "liveendpoint": _HTTPS_ENDPOINT,
    "profilerendpoint": _HTTPS_ENDPOINT,
    "snapshotendpoint": _HTTPS_ENDPOINT,
    "endpointsuffix": re.compile(r"[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+"),
    "location": re.compile(r"[A-Za-z0-9-]{1,64}"),
    "authorization": re.compile(r"ikey|aad", re.IGNORECASE),
}


def is_application_insights_connection_string(value: str) -> bool:
    """True for an Application Insights connection string: ``InstrumentationKey=<guid>`` with, in
    any order, only the other fields of its schema (``IngestionEndpoint``, ``LiveEndpoint``,
    ``ApplicationId``, ``EndpointSuffix``, ...), each once. A string that adds any other field
    (``SharedAccessKey=``, ``Password=``) is not one."""
    seen: set[str] = set()
    for part in value.strip().removesuffix(";").split(";"):
        field, equals, field_value = part.partition("=")
        field = field.strip().lower()
        shape = _APP_INSIGHTS_FIELDS.get(field)
        if not equals or shape is None or field in seen:
            return False
        if shape.fullmatch(field_value.strip()) is None:
            return False
        seen.add(field)
    return "instrumentationkey" in seen


def _is_public_constant(token: str) -> bool:
    # Hash only what starts like one of them (the first 4 characters are not key-like).
    return (
        token[:4] in _PUBLIC_CONSTANT_PREFIXES
        and hashlib.sha256(token.encode()).hexdigest() in _PUBLIC_CONSTANTS_SHA256
    )


_PATH = re.compile(r"(?:~|\.{1,2})?(?:/[\w.@-]+)+/?")
_DOTTED_NAME = re.compile(r"~?[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+")


def _is_path(token: str) -> bool:
    """A file path or URL path ("/home/site/wwwroot/keys"): word-like segments, not base64."""
    return _PATH.fullmatch(token) is not None and not any(
        _random_enough(part, password=False) for part in token.split("/")
    )


def _is_dotted_name(token: str) -> bool:
    """A reference in code ("settings.DB_PASSWORD", "hosted.MANAGED_IDENTITY"): word-like names
    joined by dots, none of them random."""
    if _DOTTED_NAME.fullmatch(token) is None:
        return False
    parts = token.split(".")
    return len(parts) >= 3 or not any(_random_enough(part, password=False) for part in parts)


def _is_sequence(token: str) -> bool:
    """Mostly consecutive characters ("0123456789abcdef", "abcdefgh12345678"): a made-up value."""
    steps = sum(ord(b) - ord(a) == 1 for a, b in pairwise(token))
    return steps * 4 >= (len(token) - 1) * 3


def _is_benign_token(token: str) -> bool:
    """True for a value that has a known non-secret shape (checked before calling one a secret)."""
    return (
        is_placeholder(token)
        or _is_sequence(token)
        or _GUID.fullmatch(token) is not None
        or "://" in token
        or token.startswith(("/subscriptions/", "/providers/", "@Microsoft."))
        or _is_path(token)
        or _is_dotted_name(token)
        or _DIGEST_SYNTAX.match(token) is not None
        or _HOSTNAME.fullmatch(token) is not None
        or _NUMBER.fullmatch(token) is not None
        or (token.count("@") == 1 and _HOSTNAME.fullmatch(token.split("@")[1]) is not None)
    )


def _entropy(token: str) -> float:
    """Shannon entropy in bits per character."""
    n = len(token)
    counts = [token.count(c) for c in set(token)]
    return math.log2(n) - sum(c * math.log2(c) for c in counts) / n


_DIGIT = re.compile(r"\d")
_SEPARATORS = re.compile(r"[-_./:]+")
_WORD_LIKE = re.compile(r"(?:[A-Z]?[a-z]+)+[0-9]*|[A-Z]+[0-9]*|[0-9]+")
_CAMEL_WORDS = re.compile(r"[a-z]*(?:[A-Z][a-z]+[0-9]*){2,}")
_CAPITAL = re.compile(r"[A-Z]")
_PASSWORD_SYMBOLS = frozenset("!@#$%^&*+=?~|<>()[]{},;'\"\\")


def _random_enough(token: str, *, password: bool) -> bool:
    """Does a value under a credential name look generated (or, for a password, chosen)?"""
    n = len(token)
    if n < (8 if password else 16) or n > 4096:
        return False
    lower = token != token.upper()
    upper = token != token.lower()
    digit = _DIGIT.search(token) is not None
    # Identifiers and versions ("gpt-4o-mini-2024-07-18", "my.service.name") are a fifth or more
    # separators; base64, hex and generated passwords are not.
    if sum(map(token.count, "-_./:")) * 5 > n:
        return False
    if password:
        # Letters with digits or symbols; separators alone make words ("Ocp-Apim-Key"), not one.
        return (lower or upper) and (digit or not _PASSWORD_SYMBOLS.isdisjoint(token))
    if lower + upper + digit < 2 or not (lower or upper):
        return False
    parts = [part for part in _SEPARATORS.split(token) if part]
    if len(parts) >= 3 and all(_WORD_LIKE.fullmatch(part) for part in parts):
        return False  # words and numbers joined ("RoleAssignment::app-reader-0-assignment")
    if len(parts) == 1 and _CAMEL_WORDS.fullmatch(token):
        return False  # an identifier in camel or Pascal case ("CustomerProvidedKeySha256")
    if not digit:
        # camelCase and Title-Case words ("Ocp-Apim-Subscription-Key") have few capitals.
        capitals = len(_CAPITAL.findall(token)) / n
        if not 0.25 <= capitals <= 0.75:
            return False
    return _entropy(token) >= 3.0


# --- labels: the name written just before a value ----------------------------------------------

# `apiKey: v`, `"apiKey": "v`, `\"apiKey\": \"v`, `--api-key v`, `--api-key=v`, `?api-key=v`,
# `<apiKey>v`, `key => 'v`, `ETag: W/"v`, `Bearer v`, `["--api-key", "v`.
# Matched on the reversed text before the value, so it is anchored where the value starts:
# label, optional quote, separator, optional `W/` and opening quote or parenthesis, reversed.
_LABEL_BEFORE_REVERSED = re.compile(
    r"\s*(?:[\"'(]\\?)?(?:/W)?\s*(?:>=|[:=>,]|\s)\s*(?:[\"']\\?)?([A-Za-z0-9_.\-]{0,63}[A-Za-z])"
)


def _label_before(text: str, start: int) -> str | None:
    m = _LABEL_BEFORE_REVERSED.match(text[max(0, start - 80) : start][::-1])
    return m.group(1)[::-1] if m else None


# --- rules -------------------------------------------------------------------------------------

Check = Callable[[str, "re.Match[str]", "str | None"], "tuple[str, str] | None"]


@dataclass(frozen=True)
class _Rule:
    kind: str
    reason: str
    pattern: re.Pattern[str]
    # What the value must hold for the rule to apply: one of these literals, or a connection-
    # string field name in any case (_CREDENTIAL_WORD), or a command-line option
    # (_COMMAND_OPTION), or nothing (None: always applies). All literals are looked for in one
    # pass, since most values hold none of them.
    gate: tuple[str, ...] | str | None
    check: Check | None = None  # refines or rejects a match: (kind, reason) or None
    group: str = "s"  # the group that holds the secret


_B62 = "A-Za-z0-9"
_CREDENTIAL_WORD = "(credential word)"
_COMMAND_OPTION = "(command option)"  # a value holding an option (" -x"): a command line
_PEM_END = re.compile(r"-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----")
_PEM_BODY = re.compile(r"[A-Za-z0-9+/=\s\\:,-]*?(?=-----|\Z|[^A-Za-z0-9+/=\s\\:,-])")


def _check_pem(text: str, m: re.Match[str], name: str | None) -> tuple[str, str] | None:
    after = text[m.end() : m.end() + 8].lstrip()
    before = text[max(0, m.start() - 3) : m.start()]
    if after.startswith(("...", "…")) or before.endswith(("...", "…")):
        return None  # "...-----BEGIN PRIVATE KEY-----... in PEM format": a description
    return "", ""


def _pem_span(text: str, m: re.Match[str]) -> int:
    end = _PEM_END.search(text, m.end())
    return end.end() if end else _PEM_BODY.match(text, m.end()).end()  # type: ignore[union-attr]


def _check_cask(text: str, m: re.Match[str], name: str | None) -> tuple[str, str] | None:
    key = m.group("s")
    if key[76:80] == "ACOG":
        return "azure-ai-key", "format: Azure AI identifiable key (JQQJ9 marker, ACOG signature)"
    return "azure-identifiable-key", "format: Azure identifiable key (JQQJ9 marker)"


def _check_not_placeholder(text: str, m: re.Match[str], name: str | None) -> tuple[str, str] | None:
    return None if is_placeholder(m.group("s")) else ("", "")


def _check_storage_key(text: str, m: re.Match[str], name: str | None) -> tuple[str, str] | None:
    # An SRI value (sha512-<base64>) never gets here: '-' before the key fails the pattern.
    if _is_public_constant(m.group("s")):
        return None
    label = _label_before(text, m.start("s"))
    if label is not None and is_base64_digest_name(label):
        return None
    if label is None and name is not None and is_base64_digest_name(name):
        return None
    return "", ""


_SAS_STOP = tuple(" \t\r\n\"'<>`,")
_SAS_FIELD = re.compile(r"(?:^|[?&;=])(?:sv|se|sp|st|spr|srt|ss|sr|skoid)=")


def _check_sas(text: str, m: re.Match[str], name: str | None) -> tuple[str, str] | None:
    if is_placeholder(m.group("s")):
        return None
    # The SAS is the run of text around sig= up to whitespace, a quote or a bracket.
    left = max(text.rfind(c, 0, m.start()) for c in _SAS_STOP) + 1
    ends = [i for i in (text.find(c, m.end()) for c in _SAS_STOP) if i >= 0]
    right = min(ends, default=len(text))
    return ("", "") if _SAS_FIELD.search(text, left, right) else None


_CONNECTION_FIELDS = ("accountkey", "sharedaccesskey", "password", "pwd", "secret", "accesskey")
_CONN_KIND = {
    "accountkey": ("storage-account-key", "connection string: AccountKey="),
    "sharedaccesskey": ("shared-access-key", "connection string: SharedAccessKey="),
    "password": ("connection-string-password", "connection string: Password="),
    "pwd": ("connection-string-password", "connection string: Pwd="),
    "secret": ("connection-string-secret", "connection string: Secret="),
    "clientsecret": ("connection-string-secret", "connection string: ClientSecret="),
    "accesskey": ("connection-string-secret", "connection string: AccessKey="),
}


_PAIR_DELIMITERS = frozenset(";?&,")


def _in_connection_string(text: str, m: re.Match[str]) -> bool:
    """Is ``Name=Value`` a field of a delimited string (``a=b;Password=c``, ``?sig=``,
    ``host,password=c``, ``Password=c;...``) rather than code (``connect(password=pw)``)?"""
    start = m.start("label")
    if start and text[start - 1] in _PAIR_DELIMITERS:
        return True
    end = m.end()
    return text.startswith(";", end + (1 if m.group("q") else 0))


def _check_connection_pair(text: str, m: re.Match[str], name: str | None) -> tuple[str, str] | None:
    value = m.group("s")
    if not _in_connection_string(text, m):
        return None
    kind, reason = _CONN_KIND[m.group("label").lower()]
    if is_placeholder(value) or (value.startswith("$") and value[1:2].isalpha()):
        return None
    if _is_public_constant(value):
        return None  # the storage emulator's development key
    if kind == "connection-string-password":
        return (kind, reason) if len(value) >= 4 else None
    if len(value) < 8 or not _random_enough(value, password=True):
        return None
    return kind, reason


def _check_url_password(text: str, m: re.Match[str], name: str | None) -> tuple[str, str] | None:
    value = m.group("s")
    if is_placeholder(value) or value.startswith("$") or len(value) < 3:
        return None
    if value.lower() in _PASSWORD_WORDS:
        return None  # "https://username:password@host": documentation
    user = text[m.start() + 3 : m.start("s") - 1]
    if user.startswith("$") and _is_publishing_password(value):
        # The SCM site's URL as listWebAppPublishingCredentials returns it (scmUri):
        # https://$<site>:<publishing password>@<site>.scm.azurewebsites.net
        return "app-service-publishing-password", "URL with the publishing user's password"
    return "connection-string-password", "URL with a password in its user info"


_TRACEPARENT_LEFT = re.compile(r"[0-9a-fA-F]{2}-\Z")
_AZURE_PATH = re.compile(
    r"/subscriptions/|/providers/|\.vault\.azure\.net/|(?<![\w/.-])vaults/[\w-]+/secrets/",
    re.IGNORECASE,
)
# Collections whose next segment is a resource's name (in ARM IDs and Key Vault URLs). A secret
# version follows the secret's name, never the collection, so it is not in a name position.
_NAME_COLLECTIONS = frozenset(
    {
        "resourcegroups",
        "secrets",
        "keys",
        "certificates",
        "vaults",
        "accounts",
        "sites",
        "deployments",
        "serverfarms",
        "storageaccounts",
        "userassignedidentities",
        "workspaces",
        "components",
    }
)


def _in_name_position(text: str, start: int) -> bool:
    """Is the segment at ``start`` (after a '/') the name of an Azure resource or a Key Vault
    object? 32 hex characters there are a key typed into a name, not an identifier."""
    if _AZURE_PATH.search(text) is None:
        return False
    previous = text[text.rfind("/", 0, start - 1) + 1 : start - 1]
    return previous.lower() in _NAME_COLLECTIONS


def _check_hex_key(text: str, m: re.Match[str], name: str | None) -> tuple[str, str] | None:
    key = m.group("s")
    start, end = m.span("s")
    if len(set(key.lower())) < 8 or _is_public_constant(key) or _is_sequence(key):
        return None  # "0000…", "abab…", "0123…": placeholders; Pulumi's signatures
    before = text[start - 1] if start else ""
    if before == "/" and not _in_name_position(text, start):
        return None  # a URL path segment: object IDs, Key Vault secret versions
    if (before == "-" and _TRACEPARENT_LEFT.search(text, 0, start)) or text.startswith("-", end):
        return None  # hyphen-joined hex fields: trace-context IDs
    if text.startswith("  ", end) and end + 2 < len(text) and not text[end + 2].isspace():
        return None  # md5sum/sha*sum output: "<digest>  <file>"
    label = _label_before(text, start)
    if label is not None and is_credential_name(label):
        return "azure-ai-key", f"format: 32 hex characters under '{label}'"
    if label is not None and is_hex_value_name(label):
        return None
    if name is not None and is_hex_value_name(name) and not is_credential_name(name):
        return None
    return "azure-ai-key", "format: 32 hex characters (Azure AI key), not labelled a digest"


def _is_publishing_password(token: str) -> bool:
    """The shape of an App Service publishing password (``publishingPassword`` of
    listWebAppPublishingCredentials and listSiteUserCredentials, ``userPWD`` in a publish profile):
    60 random base62 characters, mixing lower case, upper case and digits (words run together
    into a 60-character name are not one). Not self-identifying: only under a credential label or
    the publishing user's name does it say what it is."""
    return (
        len(token) == 60
        and token.isascii()
        and token.isalnum()
        and token != token.lower()
        and token != token.upper()
        and _DIGIT.search(token) is not None
        and _entropy(token) >= 4.5  # random base62 of this length: about 5.1 bits per character
    )


# What documentation writes where a password goes ("curl -u user:password").
_PASSWORD_WORDS = frozenset({"password", "passwd", "pass", "pwd", "secret", "token", "apikey"})


def _chosen_password(value: str) -> bool:
    """A password written out, not a placeholder, a variable, a command substitution or a word."""
    return (
        not is_placeholder(value)
        and value.rstrip(".,;:!?)]}`").lower() not in _PASSWORD_WORDS
        and value[0] not in "$`%"
        and not value.startswith("(")
        and _random_enough(value, password=True)
    )


def _check_basic_auth(text: str, m: re.Match[str], name: str | None) -> tuple[str, str] | None:
    try:
        decoded = base64.b64decode(m.group("s"), validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None  # prose ("Basic authentication") is not base64 of text
    user, colon, password = decoded.rstrip("\r\n").partition(":")
    if not colon or not user or not password.isprintable() or not user.isprintable():
        return None
    if is_placeholder(password) or password[0] in "$`%" or len(password) < 4:
        return None
    return "", ""


def _check_curl_user(text: str, m: re.Match[str], name: str | None) -> tuple[str, str] | None:
    return ("", "") if _chosen_password(m.group("s")) else None


def _check_tool_password(text: str, m: re.Match[str], name: str | None) -> tuple[str, str] | None:
    if not _chosen_password(m.group("s")):
        return None
    return "", f"command line: {m.group('tool')} {m.group('flag')} <password>"


def _tool_password(tools: str, option: str) -> re.Pattern[str]:
    """The password option of command-line tools: the first ``option`` after the tool's name in
    the same command (up to a newline, ``;``, ``|`` or ``&``)."""
    return re.compile(
        rf"(?<![\w.-])(?P<tool>{tools})(?![\w.-])[^\n;|&]*?\s(?P<flag>{option})"
        r"(?P<q>[\"']?)(?P<s>[^\s\"'$-][^\s\"']*)"
    )


def _check_secure_string(text: str, m: re.Match[str], name: str | None) -> tuple[str, str] | None:
    return ("", "") if _chosen_password(m.group("s")) else None


_RULES: tuple[_Rule, ...] = (
    _Rule(
        "private-key",
        "format: PEM private key block",
        re.compile(r"(?P<s>-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----)"),
        ("PRIVATE KEY",),
        _check_pem,
    ),
    _Rule(
        "azure-ai-key",
        "",
        re.compile(
            rf"(?<![{_B62}])(?P<s>[{_B62}]{{52}}JQQJ9[9DH][{_B62}][A-L][{_B62}]{{16}}"
            rf"[A-Za-z][{_B62}]{{7}}(?:[{_B62}]{{2}}==)?)(?![{_B62}])"
        ),
        ("JQQJ9",),
        _check_cask,
    ),
    _Rule(
        "openai-api-key",
        "format: OpenAI API key (sk-…T3BlbkFJ…)",
        re.compile(r"(?<![\w-])(?P<s>sk-[\w-]{16,}?T3BlbkFJ[\w-]{16,})(?![\w-])"),
        ("T3BlbkFJ",),
    ),
    _Rule(
        "github-token",
        "format: GitHub token (ghp_/gho_/ghu_/ghs_/ghr_/github_pat_)",
        re.compile(
            r"(?<!\w)(?P<s>gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59})(?!\w)"
        ),
        ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
    ),
    _Rule(
        "aws-access-key",
        "format: AWS access key ID (AKIA/ASIA…)",
        re.compile(r"(?<![A-Za-z0-9])(?P<s>(?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16})(?![A-Za-z0-9])"),
        ("AKIA", "ASIA", "ABIA", "ACCA"),
    ),
    _Rule(
        "jwt",
        "format: JSON Web Token",
        re.compile(r"(?<![\w-])(?P<s>eyJ[\w-]{8,}\.eyJ[\w-]{8,}\.[\w-]{16,})(?![\w-])"),
        ("eyJ",),
    ),
    _Rule(
        "entra-client-secret",
        "format: Microsoft Entra client secret (…8Q~…)",
        re.compile(r"(?<![\w~.+/-])(?P<s>[\w~.-]{3}[78]Q~[\w~.-]{31,34})(?![\w~.+/=-])"),
        ("Q~",),
        _check_not_placeholder,
    ),
    _Rule(
        "storage-account-key",
        "format: 86 base64 characters and '==' (storage account key)",
        re.compile(r"(?<![A-Za-z0-9+/_-])(?P<s>[A-Za-z0-9+/]{86}==)(?![A-Za-z0-9+/=])"),
        ("==",),
        _check_storage_key,
    ),
    _Rule(
        "sas-token",
        "format: shared access signature (sig= with sv/se/sp)",
        re.compile(r"(?<![A-Za-z0-9_])sig=(?P<s>[A-Za-z0-9%+/=_-]{20,})"),
        ("sig=",),
        _check_sas,
    ),
    _Rule(
        "azure-ai-key",
        "",
        re.compile(r"(?<![A-Za-z0-9])(?P<s>[0-9a-f]{32}|[0-9A-F]{32})(?![A-Za-z0-9])"),
        None,
        _check_hex_key,
    ),
    _Rule(
        "basic-auth",
        "format: HTTP Basic credentials (Basic <base64 of user:password>)",
        re.compile(r"(?<![\w-])[Bb]asic\s+(?P<s>[A-Za-z0-9+/]{8,}={0,2})(?![\w+/=-])"),
        ("asic ",),
        _check_basic_auth,
    ),
    _Rule(
        "command-line-password",
        "command line: curl -u user:<password>",
        re.compile(
            r"(?<![\w.-])curl(?![\w.-])[^\n;|&]*?\s(?:-u[ \t]*|--user(?:[ \t]+|=))(?P<q>[\"']?)"
            r"[^\s:\"']*:(?P<s>[^\s\"']+)"
        ),
        _COMMAND_OPTION,
        _check_curl_user,
    ),
    # "-p" alone means something else to most tools (a port, "parents"); mysql's "-p name"
    # prompts for the password and names the database, so only an attached "-p…" is one.
    *(
        _Rule(
            "command-line-password",
            "",
            _tool_password(tools, option),
            _COMMAND_OPTION,
            _check_tool_password,
        )
        for tools, option in (
            ("sshpass", r"-p(?=[ \t]*[^\s-])[ \t]*"),
            ("mysql|mysqldump|mysqladmin|mariadb", r"-p"),
            ("docker|podman|helm|az", r"login\b[^\n;|&]*?\s-p[ \t]+"),
            ("sqlcmd|bcp", r"-P[ \t]+"),
            ("redis-cli", r"-a[ \t]+"),
        )
    ),
    _Rule(
        "command-line-password",
        "command line: ConvertTo-SecureString '<password>' -AsPlainText",
        re.compile(
            r"ConvertTo-SecureString\s+(?:-String\s+)?(?P<q>[\"'])(?P<s>[^\"'\s]+)(?P=q)"
            r"[^\n;|]*-AsPlainText",
            re.IGNORECASE,
        ),
        _COMMAND_OPTION,
        _check_secure_string,
    ),
    _Rule(
        "connection-string",
        "",
        re.compile(
            r"(?<![^;,\s\"'{?&])(?P<label>AccountKey|SharedAccessKey|Password|Pwd|Secret|ClientSecret"
            r"|AccessKey)\s*=\s*(?P<q>[\"'])?(?P<s>(?(q)[^\"']+|[^;,\"'\s]+))",
            re.IGNORECASE,
        ),
        _CREDENTIAL_WORD,
        _check_connection_pair,
    ),
    _Rule(
        "connection-string-password",
        "",
        re.compile(r"://[^\s:/@\"']+:(?P<s>[^\s@/\"']+)@[\w.-]"),
        ("://",),
        _check_url_password,
    ),
)

# Credential-sounding words: where a credential label may be.
_CREDENTIAL_WORDS = (
    "key|secret|passw|pwd|token|credential|connectionstring|signature|sas|pat|bearer|auth|pass"
    "|sig|cred"
)
_CREDENTIAL_HINT = re.compile(_CREDENTIAL_WORDS)

# One pass over the value finds the rules' gate literals (plain literals, no groups, so the
# regex engine searches them fast).
_GATE_RULES: dict[str, set[int]] = {}
for _index, _rule in enumerate(_RULES):
    if isinstance(_rule.gate, tuple):
        for _literal in _rule.gate:
            _GATE_RULES.setdefault(_literal, set()).add(_index)
_GATE = re.compile("|".join(sorted(map(re.escape, _GATE_RULES), key=len, reverse=True)))
_ALWAYS = frozenset(i for i, rule in enumerate(_RULES) if rule.gate is None)
_ON_CREDENTIAL_WORD = frozenset(i for i, rule in enumerate(_RULES) if rule.gate == _CREDENTIAL_WORD)
_ON_COMMAND_OPTION = frozenset(i for i, rule in enumerate(_RULES) if rule.gate == _COMMAND_OPTION)

_LABEL_RUN = re.compile(r"[A-Za-z0-9_.\-]*")
# After a label: the separator, then the value (`: `, `=`, `": "`, ` `, `=>`, `", "`).
# A comma separates only quoted items (`"--api-key", "v"`), never code (`f(password=p, t=5)`);
# a value holds '=' only as base64 padding.
_AFTER_LABEL = re.compile(
    r"(?:\\?[\"'][ \t]*,[ \t]*\\?[\"']"
    r"|(?:\\?[\"'])?[ \t]*(?:=>|:=|[:=>]|[ \t])[ \t]*(?:\\?[\"'])?)[ \t]*"
    r"(?P<s>[^\s\"'\\,;&(){}<>\[\]`|=]{8,}=*)"
)


# A setting written as a name/value pair: `<add key="ApiKey" value="v"/>`,
# `{"name": "API_KEY", "value": "v"}`, `- name: API_KEY\n  value: v`.
_NAMED_VALUE = re.compile(
    r"\b(?:name|key)\\?[\"']?\s*[:=]\s*\\?[\"']?(?P<label>[A-Za-z][\w.:-]{0,63})\\?[\"']?"
    r"\s*,?\s*\\?[\"']?value\\?[\"']?\s*[:=]\s*\\?[\"']?"
    r"(?P<s>[^\s\"'\\,;&(){}<>\[\]`|=]{8,}=*)"
)
_NAMED_VALUE_ANY_CASE = re.compile(_NAMED_VALUE.pattern, re.IGNORECASE)


def _labelled_values(value: str, lowered: str, first: int) -> Iterator[tuple[str, int, int]]:
    """(label, start, end) of each value written after a credential-sounding label, or paired
    with one in a name/value setting. ``first`` is where the first credential word is."""
    if "value" in lowered:
        # Matched on the lower-cased text when it has the same length (it does for ASCII): a
        # case-sensitive regex is faster. Cased slices are taken from the value.
        if len(lowered) == len(value):
            matches = _NAMED_VALUE.finditer(lowered)
        else:
            matches = _NAMED_VALUE_ANY_CASE.finditer(value)
        for m in matches:
            yield value[m.start("label") : m.end("label")], m.start("s"), m.end("s")
    n = len(value)
    done = -1
    backwards = ""
    for hint in _CREDENTIAL_HINT.finditer(lowered, first):
        if hint.start() < done:
            continue  # another hint inside a label already seen
        # The label is the run of label characters around the hint (found backwards by matching
        # the reversed value, to stay in C).
        end = _LABEL_RUN.match(value, hint.end()).end()  # type: ignore[union-attr]
        done = end
        m = _AFTER_LABEL.match(value, end)
        if m is None:
            continue
        if value[end : m.start("s")].strip() == ">" and not value.startswith("<", m.end("s")):
            continue  # `<password>@host` is a template; an element is `<password>v</password>`
        backwards = backwards or value[::-1]
        start = n - _LABEL_RUN.match(backwards, n - hint.start()).end()  # type: ignore[union-attr]
        while start < end and not value[start].isalpha():
            start += 1
        yield value[start:end], m.start("s"), m.end("s")


_SINGLE_TOKEN = re.compile(r"[^\s\"'`]+")


def _overlaps(spans: list[tuple[int, int]], start: int, end: int) -> bool:
    return any(start < e and s < end for s, e in spans)


def _generic(token: str, label: str) -> tuple[str, str] | None:
    """The kind of secret a token under a credential label is, and why, or None."""
    password = is_password_name(label)
    if _is_benign_token(token) or not _random_enough(token, password=password):
        return None
    if _PUBLIC_KEY_SYNTAX.match(token) or _is_public_constant(token):
        return None
    if _is_publishing_password(token):
        return (
            "app-service-publishing-password",
            f"name: '{label}' holds 60 base62 characters (App Service publishing password)",
        )
    what = "a password" if password else "a random-looking value"
    return "generic-secret", f"name: '{label}' holds {what}"


def find_secrets(value: str, *, setting_name: str | None = None) -> list[Finding]:
    """Credentials in ``value``, in order of position. ``setting_name`` (the app setting, env var or
    field that holds the value) is context, never required: self-identifying formats are found
    under any name."""
    if len(value) < 8 or (
        "@Microsoft." in value
        and (is_key_vault_reference(value) or is_app_configuration_reference(value))
    ):
        return []
    lowered = value.lower()
    if "instrumentationkey" in lowered and is_application_insights_connection_string(value):
        return []
    found: list[Finding] = []
    spans: list[tuple[int, int]] = []

    def add(kind: str, start: int, end: int, reason: str) -> None:
        spans.append((start, end))
        found.append(Finding(kind, start, end, mask(value[start:end]), reason))

    first_hint = _CREDENTIAL_HINT.search(lowered)
    gates = set(_ALWAYS)
    if first_hint and any(field in lowered for field in _CONNECTION_FIELDS):
        gates |= _ON_CREDENTIAL_WORD
    if " -" in value or "\t-" in value:
        gates |= _ON_COMMAND_OPTION
    for literal in set(_GATE.findall(value)):
        gates.update(_GATE_RULES[literal])
    for index in sorted(gates):
        rule = _RULES[index]
        for m in rule.pattern.finditer(value):
            start, end = m.span(rule.group)
            if rule.kind == "private-key":
                end = _pem_span(value, m)
            if _overlaps(spans, start, end):
                continue
            kind, reason = rule.kind, rule.reason
            if rule.check is not None:
                verdict = rule.check(value, m, setting_name)
                if verdict is None:
                    continue
                kind, reason = verdict[0] or kind, verdict[1] or reason
            add(kind, start, end, reason)

    if spans and spans[0] == (0, len(value)):
        return found  # the whole value is one credential: nothing else can be in it
    labelled = _labelled_values(value, lowered, first_hint.start()) if first_hint else ()
    for label, start, end in labelled:
        if not is_credential_name(label) or _overlaps(spans, start, end):
            continue
        if value.startswith("(", end):
            continue  # a call in code ("key = decode_base64(key)"), not a value
        verdict = _generic(value[start:end], label)
        if verdict is not None:
            add(verdict[0], start, end, verdict[1])

    if setting_name is not None and is_credential_name(setting_name):
        token = value.strip()
        quoted = len(token) >= 2 and token[0] == token[-1] and token[0] in "\"'"
        offset = value.index(token) + (1 if quoted else 0)
        token = token[1:-1] if quoted else token
        end = offset + len(token)
        if (
            _SINGLE_TOKEN.fullmatch(token)
            and not ("=" in token and ";" in token)
            and not _overlaps(spans, offset, end)
        ):
            verdict = _generic(token, setting_name)
            if verdict is not None:
                add(verdict[0], offset, end, verdict[1])

    if len(found) > 1:
        found.sort(key=lambda f: f.start)
    return found


def redact(text: str, *, name: str | None = None, exact: Collection[str] = ()) -> str:
    """``text`` with every credential in it replaced by its masked form.

    The one way a report or an error message prints a value it did not choose (a resource name, a
    config value, a file name): whatever the field, a value the engine calls a credential is never
    printed in clear. ``name`` is the field that holds ``text`` (context, as for find_secrets);
    ``exact`` are values known to be credentials (the offline preview's synthetic keys and secure
    config), masked wherever they occur whatever the engine thinks of them.
    """
    spans = [(f.start, f.end) for f in find_secrets(text, setting_name=name)]
    for value in exact:
        if len(value) < 8:
            continue  # too short to be a credential made for the program; and mask() shows none
        start = text.find(value)
        while start >= 0:
            spans.append((start, start + len(value)))
            start = text.find(value, start + 1)
    if not spans:
        return text
    parts, last = [], 0
    for start, end in _merged(spans):
        parts += [text[last:start], mask(text[start:end])]
        last = end
    parts.append(text[last:])
    return "".join(parts)


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Overlapping spans joined, in order."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged
