"""The secret's contract: slots, the period and its tag, "the latest version", the first version's
tags and the text of an unresolved reference."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from catalog import secret

T0 = datetime(2026, 1, 1, tzinfo=UTC)
ACCOUNT = (
    "/subscriptions/00000000-0000-4000-8000-00000000000a/resourceGroups/rg/providers/"
    "Microsoft.CognitiveServices/accounts/ai-one"
)


def test_the_tag_names_slots_and_content_type() -> None:
    assert (secret.TAG_SLOT, secret.TAG_ACCOUNT, secret.TAG_PERIOD) == (
        "CredentialId",
        "ProviderAddress",
        "ValidityPeriodDays",
    )
    assert secret.PROGRESS_TAGS == ("RotationOp", "RotationStart", "RotationStep", "RotationState")
    assert (secret.SLOTS, secret.INITIAL_SLOT) == (("key1", "key2"), "key1")
    assert secret.ARM_KEY_NAMES == {"key1": "Key1", "key2": "Key2"}
    assert secret.CONTENT_TYPE == "text/plain; azure-ai-api-key"


def test_the_other_slot() -> None:
    assert (secret.other_slot("key1"), secret.other_slot("key2")) == ("key2", "key1")
    with pytest.raises(ValueError) as refused:
        secret.other_slot("Key1")
    assert str(refused.value) == "slot 'Key1': the rule is key1 or key2"


def test_the_period_bounds_and_default() -> None:
    assert (secret.MIN_PERIOD_DAYS, secret.MAX_PERIOD_DAYS, secret.DEFAULT_PERIOD_DAYS) == (
        1,
        365,
        90,
    )
    assert secret.PERIOD_RULE == "a whole number of days from 1 to 365"


@pytest.mark.parametrize(
    ("value", "expected"),
    # The engine sends every number as a float (google.protobuf.Value has only number_value).
    [
        *[(1, True), (365, True), (90.0, True), (0, False), (366, False), (30.5, False)],
        *[(True, False), ("90", False), (None, False)],
    ],
)
def test_a_period_is_a_whole_number_of_days_within_the_bounds(value, expected) -> None:
    assert secret.is_period(value) is expected


@pytest.mark.parametrize(
    ("tag", "period"),
    [
        *[("30", 30), (" 365 ", 365), ("1", 1), ("366", 90), ("0", 90), ("-5", 90)],
        *[("30.0", 90), ("", 90), (None, 90), ("ninety", 90)],
    ],
)
def test_the_period_a_tag_states_or_the_default(tag: str | None, period: int) -> None:
    assert secret.period_from_tag(tag) == period


def test_newest_first_by_creation_and_on_a_tie_the_one_listed_last_first() -> None:
    # Key Vault's created times have one-second resolution: two versions written in the same
    # second tie, and the one listed last was written last.
    versions = [("a", T0), ("b", T0 + timedelta(seconds=1)), ("c", T0), ("d", None), ("e", T0)]
    ordered = secret.newest_first(versions, lambda v: v[1])
    assert [name for name, _ in ordered] == ["b", "e", "c", "a", "d"]
    assert secret.latest(versions, lambda v: v[1]) == ("b", T0 + timedelta(seconds=1))


def test_the_latest_of_no_versions_is_an_error() -> None:
    with pytest.raises(ValueError) as refused:
        secret.latest([], lambda v: v)
    assert str(refused.value) == "the secret has no versions"


def test_the_first_versions_tags() -> None:
    assert secret.first_version_tags(ACCOUNT, 30, "web-1,web-2") == {
        "ProviderAddress": ACCOUNT,
        "ValidityPeriodDays": "30",
        "Consumers": "web-1,web-2",
        "CredentialId": "key1",
        "RotationState": "idle",
    }
    assert secret.first_version_tags(ACCOUNT, 90, None) == {
        "ProviderAddress": ACCOUNT,
        "ValidityPeriodDays": "90",
        "CredentialId": "key1",
        "RotationState": "idle",
    }
    assert secret.owned_tags(ACCOUNT, 90, "") == {
        "ProviderAddress": ACCOUNT,
        "ValidityPeriodDays": "90",
    }


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("@Microsoft.KeyVault(SecretUri=https://kv-a.vault.azure.net/secrets/ai-key)", True),
        (" @microsoft.keyvault(anything at all) \n", True),
        ("@Microsoft.KeyVault(\nVaultName=kv-a;\nSecretName=k)", True),
        ("@Microsoft.KeyVault(", False),
        ("key @Microsoft.KeyVault(x)", False),
        ("0123456789abcdef0123456789abcdef", False),
        (None, False),
    ],
)
def test_reference_text_well_formed_or_not(value: object, expected: bool) -> None:
    assert secret.is_reference_text(value) is expected
