"""The pure state machine: plans, tag parsing and the safety property every plan keeps."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rotation import state
from rotation.state import Operation, Progress, Step, StepKind

CONFIRM = Step(StepKind.CONFIRM)
OPS = [
    Operation("rotate"),
    Operation("both"),
    Operation("revoke", "key1"),
    Operation("revoke", "key2"),
]


def regen(slot: str) -> Step:
    return Step(StepKind.REGENERATE, slot)


def publish(slot: str) -> Step:
    return Step(StepKind.PUBLISH, slot)


@pytest.mark.parametrize(
    ("op", "start", "expected"),
    [
        (Operation("rotate"), "key1", (CONFIRM, regen("key2"), publish("key2"), CONFIRM)),
        (Operation("rotate"), "key2", (CONFIRM, regen("key1"), publish("key1"), CONFIRM)),
        (Operation("revoke", "key1"), "key1", (publish("key2"), CONFIRM, regen("key1"))),
        (Operation("revoke", "key2"), "key1", (CONFIRM, regen("key2"))),
        (
            Operation("both"),
            "key1",
            (publish("key2"), CONFIRM, regen("key1"), publish("key1"), CONFIRM, regen("key2")),
        ),
    ],
)
def test_plan_is_exactly_the_documented_steps(op, start, expected):
    assert state.plan(op, start) == expected


@given(st.sampled_from(OPS), st.sampled_from(state.SLOTS))
def test_every_regeneration_follows_a_confirm_on_the_other_slot(op, start):
    steps = state.plan(op, start)
    for index, step in enumerate(steps):
        active = state.active_slot_before(steps, index, start)
        if step.kind is StepKind.REGENERATE:
            # The latest version never holds the key being replaced ...
            assert step.slot != active
            # ... and every consumer was confirmed on that version right before.
            assert index > 0 and steps[index - 1] == CONFIRM
        if step.kind is StepKind.PUBLISH:
            assert step.slot != active


@given(st.sampled_from(OPS), st.sampled_from(state.SLOTS), st.data())
def test_progress_tags_round_trip_at_every_step(op, start, data):
    steps = state.plan(op, start)
    index = data.draw(st.integers(0, len(steps) - 1))
    progress = Progress(op, start, index)
    active = state.active_slot_before(steps, index, start)
    tags = state.progress_tags({"ProviderAddress": "x", "Consumers": "a,b"}, progress, active)
    assert tags["ProviderAddress"] == "x" and tags["Consumers"] == "a,b"
    assert state.parse_state(tags, "s") == state.SecretState(active, progress)


def test_state_names_follow_the_last_completed_step():
    op = Operation("rotate")
    names = [state.SecretState("key1", Progress(op, "key1", i)).state_name for i in range(2)]
    names.append(state.SecretState("key2", Progress(op, "key1", 3)).state_name)
    assert names == ["started", "confirmed", "published"]
    assert state.SecretState("key1", None).state_name == "idle"


def test_finished_tags_clear_progress_and_stamp_the_time():
    tags = state.progress_tags({"Consumers": "a"}, Progress(Operation("rotate"), "key1", 3), "key2")
    done = state.finished_tags(tags, "key2", datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    assert done == {
        "Consumers": "a",
        "CredentialId": "key2",
        "RotationState": "idle",
        "RotatedAt": "2026-01-02T03:04:05+00:00",
    }
    assert state.parse_state(done, "s") == state.SecretState("key2", None)


def test_advance_ends_after_the_last_step():
    op = Operation("revoke", "key2")
    assert state.advance(Progress(op, "key1", 0)) == Progress(op, "key1", 1)
    assert state.advance(Progress(op, "key1", 1)) is None


@pytest.mark.parametrize(
    ("tags", "message"),
    [
        (
            {},
            "secret 's': tag 'CredentialId' is missing; the rule is: the latest version names "
            "the slot its key comes from (key1 or key2)",
        ),
        (
            {"CredentialId": "Key1"},
            "secret 's' tag 'CredentialId' 'Key1': the rule is key1 or key2",
        ),
        (
            {"CredentialId": "key1", "RotationOp": "spin"},
            "operation 'spin': the rule is one of rotate, both, revoke",
        ),
        (
            {
                "CredentialId": "key1",
                "RotationOp": "rotate",
                "RotationStart": "key1",
                "RotationStep": "4",
            },
            "secret 's' tag 'RotationStep': '4' is not a step of 'rotate'; the rule is an integer "
            "from 0 to 3",
        ),
        (
            {
                "CredentialId": "key1",
                "RotationOp": "rotate",
                "RotationStart": "key1",
                "RotationStep": "3",
            },
            "secret 's' tag 'CredentialId': 'key1' at step 3 of 'rotate' started on key1; the "
            "rule is 'key2'",
        ),
    ],
)
def test_bad_tags_are_one_line_errors(tags, message):
    with pytest.raises(state.StateError) as caught:
        state.parse_state(tags, "s")
    assert str(caught.value) == message


def test_operation_tags_round_trip_and_reject_bad_slots():
    for op in OPS:
        assert Operation.from_tag(op.tag) == op
    with pytest.raises(state.StateError, match="slot 'key3': the rule is key1 or key2"):
        Operation("revoke", "key3")
    with pytest.raises(state.StateError, match="only revoke names a slot"):
        Operation("rotate", "key1")


def test_a_published_version_carries_no_switch_or_finish_time_of_the_one_it_replaces():
    # Both date the drain before the retired key is regenerated: carried over, a new version
    # would claim consumers left the old key when the previous operation ended.
    old = {
        "CredentialId": "key1",
        "Consumers": "a",
        "RotationState": "idle",
        "RotatedAt": "2026-01-02T03:04:05+00:00",
        "SwitchedAt": "2026-01-02T03:04:05.000+00:00",
    }
    progress = Progress(Operation("both"), "key1", 1)
    tags = state.published_tags(old, progress, "key2")
    assert "RotatedAt" not in tags and "SwitchedAt" not in tags
    assert state.drain_since(tags, None) is None
    assert tags["CredentialId"] == "key2" and tags["Consumers"] == "a"
