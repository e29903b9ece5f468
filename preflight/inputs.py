"""Files given to ``preflight`` on the command line: read safely, parsed within limits, written
atomically.

Every problem is an ``InputError`` whose message is one line naming the input and the rule. Reading
never blocks and never takes unbounded memory: a path is checked with ``os.stat`` before it is
opened (a FIFO, a device or a directory is refused, not opened), opened with ``O_NONBLOCK`` and
checked again on the open descriptor (a path swapped for a FIFO in between is still refused), and
read up to a size limit. YAML is parsed as events first, so deep nesting and alias expansion
("billion laughs") are refused before any object is built. Standard library plus PyYAML (loaded
only when YAML is parsed), so the scanner, which has no dependencies, can use this module too.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import json
import os
import stat
import tempfile
from pathlib import Path
from typing import Any, NoReturn

MAX_INPUT_BYTES = 16 * 1024 * 1024  # a configuration file, not a data set
MAX_DEPTH = 64  # nesting levels of a YAML or JSON document
MAX_NODES = 100_000  # YAML nodes once aliases are expanded

_KIND_OF_MODE = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


class ArgumentParser(argparse.ArgumentParser):
    """argparse's parser, with its error line masked: an unrecognised argument or a bad choice is
    echoed by argparse, and a key pasted on the command line must not be."""

    def error(self, message: str) -> NoReturn:
        from policies.detection import redact

        super().error(redact(message))


class InputError(ValueError):
    """A file given to preflight cannot be used: one line naming the input and the rule."""


def display(path: os.PathLike[str] | str) -> str:
    """A path as a report or a message may print it: undecodable bytes of a file name (kept by
    Python as surrogate escapes) shown as ``\\xNN``, so printing it can never fail."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def _what(label: str, path: os.PathLike[str] | str) -> str:
    return f"{label} {display(path)!r}"


def kind_of(mode: int) -> str | None:
    """What a non-regular file is ("a FIFO", "a directory", ...), or None for a regular file."""
    for test, name in _KIND_OF_MODE:
        if test(mode):
            return name
    return None if stat.S_ISREG(mode) else "not a regular file"


def os_problem(error: OSError) -> str:
    """An OSError in a few words: "a symlink loop", "not found", "permission denied"."""
    if error.errno == errno.ELOOP:
        return "is a symlink loop"
    if error.errno == errno.ENOENT:
        return "not found"
    if error.errno == errno.ENAMETOOLONG:
        return "a name too long for the file system"
    return (error.strerror or str(error)).lower()


class FileProblem(Exception):
    """Why a path cannot be read as a regular file, without the path: "is a FIFO", "not found",
    "is a symlink loop", "cannot be read (permission denied)"."""

    @property
    def about_the_kind(self) -> bool:
        """True when the path is not a regular file (a rule to state), not when reading failed."""
        return not str(self).startswith(("cannot", "not found"))


def open_nonblocking(path: os.PathLike[str] | str) -> int:
    """A read-only descriptor of a regular file, never blocking: a FIFO, a device or a directory is
    refused from ``os.stat`` before it is opened (opening a FIFO waits for a writer), and again
    from ``os.fstat`` on the descriptor, opened with O_NONBLOCK, if the path changed in between."""
    try:
        mode = os.stat(path).st_mode
    except OSError as error:
        raise FileProblem(os_problem(error)) from None
    kind = kind_of(mode)
    if kind is not None:
        raise FileProblem(f"is {kind}")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as error:
        raise FileProblem(f"cannot be read ({os_problem(error)})") from None
    kind = kind_of(os.fstat(fd).st_mode)
    if kind is not None:
        os.close(fd)
        raise FileProblem(f"is {kind}")
    return fd


def open_regular(path: os.PathLike[str] | str, label: str) -> int:
    """``open_nonblocking``, its problem as a one-line ``InputError`` naming the input."""
    try:
        return open_nonblocking(path)
    except FileProblem as problem:
        rule = "; the rule is a regular file" if problem.about_the_kind else ""
        raise InputError(f"{_what(label, path)}: {problem}{rule}") from None


def read_text(path: os.PathLike[str] | str, label: str, *, max_bytes: int = MAX_INPUT_BYTES) -> str:
    """The UTF-8 text of a regular file of at most ``max_bytes`` (a UTF-8 BOM is dropped)."""
    fd = open_regular(path, label)
    try:
        with os.fdopen(fd, "rb", closefd=True) as handle:
            data = handle.read(max_bytes + 1)
    except OSError as error:
        raise InputError(f"{_what(label, path)}: cannot be read ({os_problem(error)})") from None
    if len(data) > max_bytes:
        raise InputError(
            f"{_what(label, path)}: larger than {max_bytes:,} bytes; the rule is a "
            "configuration file of at most that size"
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InputError(
            f"{_what(label, path)}: not UTF-8 (byte 0x{data[error.start]:02x} at offset "
            f"{error.start}); the rule is UTF-8 text"
        ) from None


def load_yaml(text: str, label: str, path: os.PathLike[str] | str) -> Any:
    """A YAML document, refused when nested deeper than MAX_DEPTH or expanding (through aliases)
    to more than MAX_NODES nodes. A syntax error raises ``yaml.YAMLError`` for the caller."""
    import yaml

    # Counted on the event stream (the parser is not recursive), before objects are built: the
    # size of each anchored node is known when it ends, and every alias adds that size again.
    sizes: dict[str, int] = {}
    stack: list[list[Any]] = [[None, 0]]  # [anchor, nodes so far] per open collection
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.CollectionStartEvent):
            stack.append([event.anchor, 0])
            if len(stack) - 1 > MAX_DEPTH:
                raise InputError(
                    f"{_what(label, path)}: nested deeper than {MAX_DEPTH} levels; the rule is at "
                    f"most {MAX_DEPTH}"
                )
            continue
        if isinstance(event, yaml.CollectionEndEvent):
            anchor, size = stack.pop()
            size += 1
        elif isinstance(event, yaml.ScalarEvent):
            anchor, size = event.anchor, 1
        elif isinstance(event, yaml.AliasEvent):
            anchor, size = None, sizes.get(event.anchor, 1)
        else:
            continue
        if anchor is not None:
            sizes[anchor] = size
        stack[-1][1] += size
        if stack[0][1] + sum(s for _, s in stack[1:]) > MAX_NODES:
            raise InputError(
                f"{_what(label, path)}: expands to more than {MAX_NODES:,} nodes (YAML aliases); "
                f"the rule is at most {MAX_NODES:,}"
            )
    return yaml.safe_load(text)


def load_yaml_file(path: os.PathLike[str] | str, label: str) -> Any:
    """The YAML document in a file: ``read_text`` then ``load_yaml``, a syntax error included in
    the one-line ``InputError`` (with its line)."""
    import yaml

    text = read_text(path, label)
    try:
        return load_yaml(text, label, path)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise InputError(f"{_what(label, path)}:{where} is not valid YAML") from None


def load_json_file(path: os.PathLike[str] | str, label: str) -> Any:
    """The JSON document in a file: ``read_text`` then ``load_json``, a syntax error included in
    the one-line ``InputError``."""
    text = read_text(path, label)
    try:
        return load_json(text, label, path)
    except json.JSONDecodeError as error:
        raise InputError(f"{_what(label, path)}: not valid JSON ({error.msg})") from None


def load_json(text: str, label: str, path: os.PathLike[str] | str) -> Any:
    """A JSON document, refused when nested deeper than MAX_DEPTH. A syntax error raises
    ``ValueError`` (``json.JSONDecodeError``) for the caller."""
    too_deep = InputError(
        f"{_what(label, path)}: nested deeper than {MAX_DEPTH} levels; the rule is at most "
        f"{MAX_DEPTH}"
    )
    try:
        document = json.loads(text)
    except RecursionError:
        raise too_deep from None
    level = [(document, 0)]
    while level:
        value, depth = level.pop()
        if isinstance(value, dict | list):
            if depth >= MAX_DEPTH:
                raise too_deep
            items = value.values() if isinstance(value, dict) else value
            level.extend((v, depth + 1) for v in items)
    return document


def check_output(path: os.PathLike[str] | str, label: str = "--output") -> None:
    """Refuse an output path that cannot take a report before any work is done: its directory must
    exist, and the path must be a regular file or not exist yet (a directory, a FIFO or a device
    is refused)."""
    target = Path(path)
    parent = target.parent
    if not parent.is_dir():
        raise InputError(f"{_what(label, path)}: its directory does not exist")
    try:
        mode = os.stat(target).st_mode
    except FileNotFoundError:
        return
    except OSError as error:
        raise InputError(f"{_what(label, path)}: {os_problem(error)}") from None
    kind = kind_of(mode)
    if kind is not None:
        raise InputError(
            f"{_what(label, path)}: is {kind}; the rule is a file path (a new file, or a regular "
            "file to replace)"
        )


def write_atomically(path: os.PathLike[str] | str, text: str, label: str = "--output") -> None:
    """Write ``text`` to ``path`` whole or not at all: a temporary file beside it, renamed over it;
    on any failure (a full disk, an interrupt) the temporary file is removed and the target is
    left as it was."""
    check_output(path, label)
    target = Path(path)
    fd, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            umask = os.umask(0o022)
            os.umask(umask)
            os.fchmod(handle.fileno(), 0o666 & ~umask)  # as a new file would be (mkstemp: 0600)
            handle.write(text)
        os.replace(temporary, target)
    except BaseException as error:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        if isinstance(error, OSError):
            raise InputError(
                f"{_what(label, path)}: cannot be written ({os_problem(error)})"
            ) from None
        raise
