"""Azure's name rules as the contract states them: what each accepts and refuses, and its text.

The limits are Microsoft's "Naming rules and restrictions for Azure resources"
(learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules) and, for secret
names, Key Vault's object names (learn.microsoft.com/azure/key-vault/general/about-keys-secrets-
certificates#object-identifiers).
"""

from __future__ import annotations

import pytest

from catalog import names

RULES = {
    "SECRET_NAME": (
        names.SECRET_NAME,
        ["a", "ai-api-key", "A1-b2", "a--b", "7" * 127],
        ["", "ai_key", "ai.key", "ai key", "k" * 128, "ai-key\n"],
    ),
    "SECRET_VERSION": (
        names.SECRET_VERSION,
        ["0" * 32, "0123456789abcdef0123456789ABCDEF"],
        ["", "0" * 31, "0" * 33, "g" * 32, "0123-4567", "0" * 32 + "\n"],
    ),
    "DEPLOYMENT_NAME": (
        names.DEPLOYMENT_NAME,
        ["c", "chat", "gpt-4o.mini_2", "a" * 64],
        ["", "-chat", ".chat", "chat/x", "a" * 65, "chat "],
    ),
    "VAULT_NAME": (
        names.VAULT_NAME,
        ["kva", "sai-dev-kv-1a2b3c", "a" + "b" * 23],
        ["kv", "1kv", "kv-", "kv--a", "-kva", "a" * 25, "kv_a"],
    ),
    "SITE_NAME": (
        names.SITE_NAME,
        ["ab", "1a", "sai-dev-web-1a2b3c", "a" * 60],
        ["a", "-ab", "ab-", "a--b", "a" * 61, "a.b"],
    ),
    "SUBDOMAIN_NAME": (
        names.SUBDOMAIN_NAME,
        ["ab", "sai-dev-ai-1a2b3c", "a" * 64],
        ["a", "ab-", "a--b", "a" * 65],
    ),
    "ACCOUNT_NAME": (
        names.ACCOUNT_NAME,
        ["ab", "ai-one", "a-", "a" * 64],
        ["a", "-ab", "a_b", "a" * 65],
    ),
    "STORAGE_ACCOUNT_NAME": (
        names.STORAGE_ACCOUNT_NAME,
        ["abc", "sairotdev1a2b3c", "a" * 24],
        ["ab", "Abc", "ab-c", "a" * 25],
    ),
    "RESOURCE_GROUP_NAME": (
        names.RESOURCE_GROUP_NAME,
        ["a", "rg", "team.rg(1)_x-y", "a" * 90],
        ["", "rg.", "rg/x", "rg x", "a" * 91],
    ),
    "WORKSPACE_NAME": (
        names.WORKSPACE_NAME,
        ["logs", "sai-dev-logs", "a" * 63],
        ["abc", "-logs", "logs-", "a" * 64, "lo_gs"],
    ),
}


@pytest.mark.parametrize("rule_name", RULES)
def test_each_rule_accepts_and_refuses_exactly(rule_name: str) -> None:
    rule, accepted, refused = RULES[rule_name]
    assert [value for value in accepted + refused if rule.matches(value)] == accepted


@pytest.mark.parametrize("value", [None, 1, b"ai-key", ["ai-key"]])
def test_only_strings_follow_a_rule(value: object) -> None:
    assert not names.SECRET_NAME.matches(value)


def test_each_rule_says_what_it_demands() -> None:
    assert {name: rule.rule for name, (rule, _, _) in RULES.items()} == {
        "SECRET_NAME": "1-127 letters, digits or hyphens",
        "SECRET_VERSION": "32 hex characters, as Key Vault writes them",
        "DEPLOYMENT_NAME": (
            "1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"
        ),
        "VAULT_NAME": (
            "3-24 letters, digits or single hyphens, starting with a letter, ending with a letter "
            "or digit"
        ),
        "SITE_NAME": (
            "2-60 letters, digits or single hyphens, starting and ending with a letter or digit"
        ),
        "SUBDOMAIN_NAME": (
            "2-64 letters, digits or single hyphens, starting and ending with a letter or digit"
        ),
        "ACCOUNT_NAME": "2-64 letters, digits or hyphens, starting with a letter or digit",
        "STORAGE_ACCOUNT_NAME": "3-24 lower-case letters or digits",
        "RESOURCE_GROUP_NAME": (
            "1-90 letters, digits, '-', '_', '.', '(' or ')', not ending with '.'"
        ),
        "WORKSPACE_NAME": (
            "4-63 letters, digits or hyphens, starting and ending with a letter or digit"
        ),
    }


def test_every_rule_is_listed_here() -> None:
    declared = {n for n, v in vars(names).items() if isinstance(v, names.NameRule)}
    assert declared == set(RULES)
