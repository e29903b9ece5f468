"""The rotation state machine: slots, operations, their plans of steps and the secret's tags.

Pure functions only; the tag names and slots are the secret's contract (catalog/secret.py). The
engine (rotation/engine.py) performs a step, then records the next step's
index in the tags of the secret's latest version; a crash between the two repeats one step, and
every step is safe to repeat. Publishing writes the new version together with its tags, so the
progress record always travels with the latest version.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from catalog import secret
from catalog.secret import (
    PROGRESS_TAGS,
    SLOTS,
    TAG_OP,
    TAG_ROTATED_AT,
    TAG_RUN,
    TAG_SLOT,
    TAG_START,
    TAG_STATE,
    TAG_STEP,
    TAG_SWITCHED_AT,
)

# The fencing tag (RotationRun) names the run acting on the operation under way: every write of a
# run first checks that the latest version still names it, so a run that lost its lease never
# acts on another run's step.


class StateError(ValueError):
    """The secret's tags do not describe a state this machine knows; the message is one line."""


class StepKind(enum.StrEnum):
    """What a step does. Every kind is safe to repeat."""

    CONFIRM = "confirm"  # bring every consumer onto the latest version and confirm it
    REGENERATE = "regenerate"  # regenerate a slot no consumer uses any more
    PUBLISH = "publish"  # probe a slot's key until accepted, then write it as the new version


# The state name shown once a step of that kind has completed.
_STATE_AFTER: dict[StepKind, str] = {
    StepKind.CONFIRM: "confirmed",
    StepKind.REGENERATE: "regenerated",
    StepKind.PUBLISH: "published",
}


@dataclass(frozen=True)
class Step:
    """One step of a plan: its kind and, for regenerate and publish, the slot it acts on."""

    kind: StepKind
    slot: str | None = None

    def describe(self) -> str:
        """A short human description, e.g. 'regenerate key2'."""
        return f"{self.kind} {self.slot}" if self.slot else f"{self.kind} consumers"


@dataclass(frozen=True)
class Operation:
    """A rotation operation: 'rotate', 'both', or 'revoke' of one slot."""

    kind: str
    slot: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("rotate", "both", "revoke"):
            raise StateError(f"operation {self.kind!r}: the rule is one of rotate, both, revoke")
        if (self.kind == "revoke") != (self.slot is not None):
            raise StateError(f"operation {self.kind!r}: only revoke names a slot")
        if self.slot is not None:
            check_slot(self.slot, "slot")

    @property
    def tag(self) -> str:
        """The value stored in the rotationOp tag: rotate, both, revoke-key1, revoke-key2."""
        return f"revoke-{self.slot}" if self.slot else self.kind

    @classmethod
    def from_tag(cls, value: str) -> Operation:
        """Parse a rotationOp tag value."""
        if value.startswith("revoke-"):
            return cls("revoke", value.removeprefix("revoke-"))
        return cls(value)


@dataclass(frozen=True)
class Progress:
    """An operation under way: what it is, the slot active when it began, the next step's index."""

    op: Operation
    start_slot: str
    next_step: int

    @property
    def steps(self) -> tuple[Step, ...]:
        """The whole plan of the operation."""
        return plan(self.op, self.start_slot)


@dataclass(frozen=True)
class SecretState:
    """What the latest version's tags say: its slot and the operation under way, if any."""

    active_slot: str
    progress: Progress | None

    @property
    def state_name(self) -> str:
        """idle, started, or the kind of the last completed step (confirmed/regenerated/...)."""
        if self.progress is None:
            return secret.STATE_IDLE
        if self.progress.next_step == 0:
            return "started"
        return _STATE_AFTER[self.progress.steps[self.progress.next_step - 1].kind]


def check_slot(value: str, what: str) -> str:
    """Return value if it is a slot name, else raise a one-line StateError naming `what`."""
    if value not in SLOTS:
        raise StateError(f"{what} {value!r}: the rule is key1 or key2")
    return value


def other(slot: str) -> str:
    """The other slot of the pair."""
    return secret.other_slot(check_slot(slot, "slot"))


def plan(op: Operation, start_slot: str) -> tuple[Step, ...]:
    """The steps of `op` when `start_slot` is active.

    Every regenerate comes right after a confirm on a version holding the other slot, so no
    consumer can be using the key it replaces, and no publish ever holds a regenerated-away key.
    """
    active, standby = start_slot, other(start_slot)
    confirm = Step(StepKind.CONFIRM)
    if op.kind == "rotate":
        # The retired key stays valid until the next rotation, which regenerates it first.
        return (
            confirm,
            Step(StepKind.REGENERATE, standby),
            Step(StepKind.PUBLISH, standby),
            confirm,
        )
    if op.kind == "revoke" and op.slot == active:
        # Move everyone to the standby key as it is (it is valid), then kill the compromised one.
        return (Step(StepKind.PUBLISH, standby), confirm, Step(StepKind.REGENERATE, active))
    if op.kind == "revoke":
        return (confirm, Step(StepKind.REGENERATE, standby))
    # both: the secondary goes into use, the primary is renewed and switched back, then the
    # secondary is renewed in turn.
    return (
        Step(StepKind.PUBLISH, standby),
        confirm,
        Step(StepKind.REGENERATE, active),
        Step(StepKind.PUBLISH, active),
        confirm,
        Step(StepKind.REGENERATE, standby),
    )


def active_slot_before(steps: tuple[Step, ...], index: int, start_slot: str) -> str:
    """The slot the latest version holds just before step `index` runs."""
    active = start_slot
    for step in steps[:index]:
        if step.kind is StepKind.PUBLISH:
            active = step.slot or active
    return active


def parse_state(tags: Mapping[str, str] | None, secret: str) -> SecretState:
    """Read the state from the latest version's tags; a one-line StateError when they are wrong."""
    tags = tags or {}
    if TAG_SLOT not in tags:
        raise StateError(
            f"secret {secret!r}: tag {TAG_SLOT!r} is missing; the rule is: the latest version "
            "names the slot its key comes from (key1 or key2)"
        )
    active = check_slot(tags[TAG_SLOT], f"secret {secret!r} tag {TAG_SLOT!r}")
    op_tag = tags.get(TAG_OP, "")
    if not op_tag:
        return SecretState(active, None)
    op = Operation.from_tag(op_tag)
    start = check_slot(tags.get(TAG_START, ""), f"secret {secret!r} tag {TAG_START!r}")
    raw_step = tags.get(TAG_STEP, "")
    steps = plan(op, start)
    if not raw_step.isdigit() or not 0 <= int(raw_step) < len(steps):
        raise StateError(
            f"secret {secret!r} tag {TAG_STEP!r}: {raw_step!r} is not a step of {op.tag!r}; "
            f"the rule is an integer from 0 to {len(steps) - 1}"
        )
    step = int(raw_step)
    expected = active_slot_before(steps, step, start)
    if expected != active:
        raise StateError(
            f"secret {secret!r} tag {TAG_SLOT!r}: {active!r} at step {step} of {op.tag!r} "
            f"started on {start}; the rule is {expected!r}"
        )
    return SecretState(active, Progress(op, start, step))


def progress_tags(tags: Mapping[str, str], progress: Progress | None, slot: str) -> dict[str, str]:
    """The latest version's tags for `slot` and `progress`, every other tag carried over (the
    run tag too, until the operation is over)."""
    new = {k: v for k, v in tags.items() if k not in PROGRESS_TAGS}
    new[TAG_SLOT] = slot
    if progress is None:
        new.pop(TAG_RUN, None)
        new[TAG_STATE] = secret.STATE_IDLE
        return new
    new[TAG_OP] = progress.op.tag
    new[TAG_START] = progress.start_slot
    new[TAG_STEP] = str(progress.next_step)
    new[TAG_STATE] = SecretState(slot, progress).state_name
    return new


def finished_tags(tags: Mapping[str, str], slot: str, when: datetime) -> dict[str, str]:
    """The tags once an operation has completed: idle, with the time it completed."""
    new = progress_tags(tags, None, slot)
    new[TAG_ROTATED_AT] = when.isoformat(timespec="seconds")
    return new


def published_tags(tags: Mapping[str, str], progress: Progress | None, slot: str) -> dict[str, str]:
    """The tags of a newly published version: nobody has switched to it yet, and no operation
    has finished on it (the previous version's RotatedAt would date the drain too early)."""
    new = progress_tags(tags, progress, slot)
    new.pop(TAG_SWITCHED_AT, None)
    new.pop(TAG_ROTATED_AT, None)
    return new


def switched_tags(tags: Mapping[str, str], when: datetime) -> dict[str, str]:
    """Tags noting that consumers moved onto this version at `when`."""
    # Milliseconds: the drain before the next regeneration is measured from this moment.
    return {**tags, TAG_SWITCHED_AT: when.isoformat(timespec="milliseconds")}


def drain_since(tags: Mapping[str, str], created_on: datetime | None) -> datetime | None:
    """Since when no consumer has used the key the latest version replaced: the last switch onto
    it, else the end of the operation that published it, else its creation."""
    for name in (TAG_SWITCHED_AT, TAG_ROTATED_AT):
        if tags.get(name):
            try:
                return datetime.fromisoformat(tags[name])
            except ValueError:
                continue
    return created_on


def claimed_tags(tags: Mapping[str, str], run: str) -> dict[str, str]:
    """Tags naming `run` as the one acting on the operation under way."""
    return {**tags, TAG_RUN: run}


def advance(progress: Progress) -> Progress | None:
    """The progress after the current step completes, or None when the plan is done."""
    nxt = progress.next_step + 1
    return None if nxt >= len(progress.steps) else Progress(progress.op, progress.start_slot, nxt)
