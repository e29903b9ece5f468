"""What a setting or field name says about its value: credential, identifier or digest."""

from __future__ import annotations

import re
from functools import lru_cache
from itertools import pairwise

# Splits "openaiKey", "ConnectionStrings__Db", "api-key", "AZURE_OPENAI_API_KEY" into words.
# Digits stay with their word ("md5", "sha256", "CRC32").
_WORD = re.compile(r"[A-Z]{2,}[0-9]*(?![a-z])|[A-Z]?[a-z]+[0-9]*|[A-Z]+[0-9]*|[0-9]+")

# Words (or word endings, for run-together names like "APIKEY" or "dbpassword") that name a
# credential.
_CREDENTIAL_ENDINGS = (
    "key",
    "secret",
    "password",
    "passwd",
    "pwd",
    "token",
    "credential",
    "credentials",
    "connectionstring",
    "connectionstrings",
    "signature",
    "authorization",
    "apikey",
    "accesskey",
    "privatekey",
)
# Short words that name a credential only on their own ("PAT", not "path"; "pass", not "bypass").
_CREDENTIAL_WORDS = frozenset({"pass", "pat", "sas", "auth", "bearer", "sig", "cred", "creds"})
# Two-word credential names, as they appear split by _WORD.
_CREDENTIAL_PAIRS = {("connection", "string"), ("connection", "strings"), ("pass", "phrase")}

# Words that make a credential-sounding name describe something else: its name, where it lives,
# its length, its hash. "KEY_VAULT_URI", "SECRET_NAME", "PASSWORD_MIN_LENGTH", "API_KEY_HEADER".
_NOT_A_CREDENTIAL = frozenset(
    {
        "name",
        "names",
        "id",
        "ids",
        "uri",
        "url",
        "urls",
        "endpoint",
        "host",
        "hostname",
        "vault",
        "version",
        "ref",
        "reference",
        "header",
        "type",
        "kind",
        "format",
        "mode",
        "policy",
        "length",
        "len",
        "size",
        "min",
        "max",
        "count",
        "days",
        "expiry",
        "expires",
        "expiration",
        "ttl",
        "period",
        "rotation",
        "enabled",
        "disabled",
        "required",
        "public",
        "file",
        "path",
        "dir",
        "location",
        "env",
        "var",
        "field",
        "label",
        "slot",
        "settings",
        "setting",
        "config",
        "options",
        "profile",
        "instrumentationkey",
        "keyvault",
    }
)

# Names of hashes and digests: a hex or base64 value under one of these is not a key.
_DIGEST_WORDS = frozenset(
    {
        "md5",
        "sha",
        "sha1",
        "sha256",
        "sha384",
        "sha512",
        "hash",
        "hashes",
        "checksum",
        "checksums",
        "digest",
        "etag",
        "fingerprint",
        "thumbprint",
        "integrity",
        "crc",
        "crc32",
        "sum",
        "md5sum",
        "sha256sum",
        "nonce",
        "salt",
        "match",  # If-Match / If-None-Match carry ETags
    }
)
# Names of identifiers and versions: they describe an object ("KEY_ID", "SECRET_VERSION"), so
# they never name a credential. What they hold (dashed GUIDs, resource IDs, build numbers, version
# strings, git SHAs of 40 hex, image digests of 64) never has the 32-hex shape of an Azure AI key,
# so a key under "*_ID", "*_REVISION" or "*_VERSION" is still found, except under the names below.
_IDENTIFIER_WORDS = frozenset(
    {"id", "ids", "commit", "revision", "rev", "version", "uuid", "guid", "trace", "correlation"}
)
# Identifiers written as 32 hex: W3C trace IDs (traceparent; Application Insights operation IDs),
# request and correlation IDs (nginx $request_id), GUIDs written without dashes.
_HEX_IDENTIFIERS = frozenset(
    {"trace", "traceparent", "correlation", "request", "operation", "uuid", "guid"}
)
# Names of a 64-byte digest, or of a digest without its algorithm: what may hold 86 base64
# characters and "==" (SRI "sha512-…", Content-Digest "sha-512=:…:"). md5, sha1 and sha256 digests
# are shorter; ETags, thumbprints, trace IDs and versions are hex.
_BASE64_DIGEST_WORDS = frozenset(
    {"sha512", "hash", "hashes", "checksum", "checksums", "digest", "digests", "integrity", "sri"}
)
# A Key Vault object's version is 32 hex: "version" beside the object it versions.
_VERSIONED_OBJECTS = frozenset({"secret", "key", "certificate", "cert", "vault", "keyvault", "kv"})


def words(name: str) -> tuple[str, ...]:
    """The lower-case words of a name."""
    return tuple(w.lower() for w in _WORD.findall(name))


@lru_cache(maxsize=4096)
def is_credential_name(name: str) -> bool:
    """True if a setting or field name says its value is a credential (``API_KEY``, ``openaiKey``,
    ``ConnectionStrings__Db``, ``password``), and not a description of one (``SECRET_NAME``)."""
    parts = words(name)
    if not parts or any(
        w in _NOT_A_CREDENTIAL or w in _DIGEST_WORDS or w in _IDENTIFIER_WORDS for w in parts
    ):
        return False
    if any(w in _CREDENTIAL_WORDS or w.endswith(_CREDENTIAL_ENDINGS) for w in parts):
        return True
    return any(pair in _CREDENTIAL_PAIRS for pair in pairwise(parts))


@lru_cache(maxsize=4096)
def is_hex_value_name(name: str) -> bool:
    """True if a name says its value is written in hex: a hash, digest or thumbprint (``ETAG``,
    ``packageMd5``, ``CERT_THUMBPRINT``) or an identifier written as 32 hex (``TRACE_ID``,
    ``X-Request-Id``, ``APP_GUID``, ``SECRET_VERSION``). ``BUILD_ID``, ``APP_VERSION`` or
    ``SOURCE_REVISION`` are not: a 32-hex value there is a key."""
    parts = words(name)
    # "ETag" splits as "et", "ag": try the run-together name too.
    joined = "".join(parts)
    if any(w in _DIGEST_WORDS for w in parts) or joined in _DIGEST_WORDS:
        return True
    if any(w in _HEX_IDENTIFIERS for w in parts) or joined in _HEX_IDENTIFIERS:
        return True
    return "version" in parts and any(w in _VERSIONED_OBJECTS for w in parts)


@lru_cache(maxsize=4096)
def is_base64_digest_name(name: str) -> bool:
    """True if a name says its value is a base64 digest as long as a storage key (64 bytes):
    ``integrity``, ``SRI_HASH``, ``sha512``, ``CONTENT_DIGEST``. Names of identifiers and versions
    (``TRACE_ID``, ``SECRET_VERSION``) and of shorter or hex-written digests (``CONTENT_MD5``,
    ``SHA256``, ``ETAG``, ``THUMBPRINT``) are not: 86 base64 characters and ``==`` there are a
    key."""
    parts = words(name)
    return any(w in _BASE64_DIGEST_WORDS for w in parts) or "".join(parts) in _BASE64_DIGEST_WORDS


@lru_cache(maxsize=4096)
def is_password_name(name: str) -> bool:
    """True if a name says its value is a password (human-chosen, so short and low-entropy)."""
    return is_credential_name(name) and any(
        w.endswith(("password", "passwd", "pwd")) or w == "pass" or w == "passphrase"
        for w in words(name)
    )
