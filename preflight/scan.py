"""`python -m preflight scan [PATH ...]`: find hardcoded credentials in files.

Uses the same detection engine as the policy pack. Inside a git work tree, a directory is scanned
through ``git ls-files`` (tracked files plus untracked files that are not ignored); elsewhere it is
walked, skipping tool and dependency folders. Files named on the command line (as pre-commit passes
them) are always scanned.

Every file counted as scanned is read to its end, in bounded memory: text is streamed line by line,
and a line longer than a window is scanned in overlapping windows, so a credential on a boundary is
still found. A file with a NUL byte in its first 8 KB (and no UTF-16/32 byte-order mark) is binary:
its printable runs of text are scanned, as ``strings`` would show them. A file that cannot be read
(a FIFO, a device, a symlink loop or a dangling symlink, a permission error) is reported as not
scanned, with the reason, and fails the run unless ``--exclude`` names it.

Exit status: 0 clean, 1 findings, 2 bad input or a file not scanned (the report still lists every
finding). A line holding ``preflight: allow`` (in any comment syntax) is not reported: mark a known
false positive there, with a word on why.
"""

from __future__ import annotations

import argparse
import codecs
import errno
import fnmatch
import hashlib
import json
import os
import re
import stat
import subprocess
import sys
import tomllib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from policies.detection import KINDS, find_secrets, redact
from preflight.inputs import (
    ArgumentParser,
    FileProblem,
    InputError,
    check_output,
    display,
    kind_of,
    open_nonblocking,
    os_problem,
    read_text,
    write_atomically,
)

FORMATS = ("text", "json", "sarif")
ALLOW_MARKER = "preflight: allow"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
TOOL_NAME = "preflight-scan"
CONFIG_FILE = "pyproject.toml"  # [tool.preflight.scan] exclude = ["glob", ...]

SKIP_DIRS = frozenset(
    {
        ".git",
        ".venv",
        "venv",
        "node_modules",
        "__pycache__",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".hypothesis",
        ".tox",
        ".terraform",
        ".pulumi",
    }
)
SUFFIXES = frozenset(
    {
        ".env",
        ".py",
        ".json",
        ".jsonc",
        ".yaml",
        ".yml",
        ".tf",
        ".tfvars",
        ".bicep",
        ".bicepparam",
        ".toml",
        ".ini",
        ".cfg",
        ".conf",
        ".config",
        ".properties",
        ".xml",
        ".ps1",
        ".psm1",
        ".sh",
        ".bash",
        ".zsh",
        ".md",
        ".txt",
        ".js",
        ".ts",
        ".cs",
        ".ipynb",
        ".pem",
        ".key",
    }
)
FILE_NAMES = frozenset(
    {".env", ".envrc", ".npmrc", ".pypirc", ".netrc", "Dockerfile", "Jenkinsfile", "Makefile"}
)
BINARY_SNIFF = 8192  # a NUL byte in this much of a file makes it binary
CHUNK = 1 << 20  # bytes read at a time
WINDOW = 1 << 20  # characters of one line given to the engine at a time
OVERLAP = 64 * 1024  # characters two consecutive windows share: longer than any credential
CONTEXT = 1024  # characters before a value that its label may take
MIN_RUN = 8  # shortest printable run of a binary file worth scanning (the engine's minimum)
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_PRINTABLE_RUN = re.compile(rf"[\t\x20-\x7e]{{{MIN_RUN},}}")


READABLE = "the rule is a readable regular file"


class ScanInputError(Exception):
    """Bad input: one line naming the input, the value and the rule."""


class NotScanned(Exception):
    """A file that was not read to its end; the message is the reason."""


@dataclass(frozen=True)
class FileFinding:
    """A finding located in a file (1-based line and column)."""

    path: str
    line: int
    column: int
    end_column: int
    kind: str
    masked: str
    reason: str


@dataclass(frozen=True)
class Skipped:
    """A file not scanned, and why. ``excluded`` when an exclude pattern named it (that does not
    fail the run); otherwise it could not be read, and the run fails."""

    path: str
    reason: str
    excluded: bool = False


@dataclass
class ScanResult:
    """What a scan read and found."""

    findings: list[FileFinding] = field(default_factory=list)
    scanned: list[str] = field(default_factory=list)
    binary: list[str] = field(default_factory=list)  # scanned as printable runs
    skipped: list[Skipped] = field(default_factory=list)

    @property
    def unreadable(self) -> list[Skipped]:
        return [s for s in self.skipped if not s.excluded]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the ``scan`` options on its subparser."""
    parser.add_argument(
        "paths",
        nargs="*",
        default=["."],
        metavar="PATH",
        help="files or directories to scan (default: the current directory)",
    )
    parser.add_argument(
        "--format",
        default="text",
        metavar="{text,json,sarif}",
        help="report format (default: text); sarif is SARIF 2.1.0 for GitHub code scanning",
    )
    parser.add_argument(
        "--output", metavar="FILE", help="write the report to FILE instead of standard output"
    )
    parser.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="GLOB",
        help="do not scan files whose path or name matches GLOB (repeatable; also "
        f"[tool.preflight.scan] exclude in ./{CONFIG_FILE}); they are listed as excluded",
    )
    parser.set_defaults(run=run)


def _say(message: str) -> None:
    """One line on standard error, with any credential in it masked."""
    print(f"preflight scan: {redact(message)}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    """Scan the paths and print the report. 0 clean, 1 findings, 2 bad input or a file not
    scanned."""
    try:
        if args.format not in FORMATS:
            raise ScanInputError(f"--format {args.format!r}: must be one of {', '.join(FORMATS)}")
        if args.output is not None:
            check_output(args.output)
        excludes = [*configured_excludes(Path(CONFIG_FILE)), *args.exclude]
        targets = list(collect_files(args.paths))
        result = scan_files(targets, excludes)
        report = render(result, args.format)
        if args.output is not None:
            write_atomically(args.output, report)
    except (ScanInputError, InputError) as error:
        _say(str(error))
        return 2
    if args.output is None:
        try:
            sys.stdout.write(report)
            sys.stdout.flush()
        except BrokenPipeError:  # `preflight scan . | head`: the reader has what it wanted
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    for skipped in result.skipped:
        if not skipped.excluded:
            _say(f"{_path_text(skipped.path)}: not scanned: {skipped.reason}")
    noun = "finding" if len(result.findings) == 1 else "findings"
    summary = f"{len(result.findings)} {noun} in {len(result.scanned)} files"
    if result.binary:
        summary += f" ({len(result.binary)} binary, scanned as printable text runs)"
    if result.unreadable:
        summary += f"; {len(result.unreadable)} NOT scanned"
    excluded = len(result.skipped) - len(result.unreadable)
    if excluded:
        summary += f"; {excluded} excluded"
    _say(summary)
    if result.unreadable:
        return 2
    return 1 if result.findings else 0


def _path_text(path: str) -> str:
    return f"PATH {display(path)!r}"


def configured_excludes(config: Path) -> list[str]:
    """``[tool.preflight.scan] exclude`` of a pyproject.toml, if the file exists."""
    if not os.path.lexists(config):
        return []
    label = "config file"
    try:
        document = tomllib.loads(read_text(config, label))
    except tomllib.TOMLDecodeError as error:
        raise ScanInputError(f"{label} {display(config)!r}: not valid TOML ({error})") from None
    section = document.get("tool", {}).get("preflight", {}).get("scan", {})
    patterns = section.get("exclude", []) if isinstance(section, dict) else None
    if not isinstance(patterns, list) or not all(isinstance(p, str) and p for p in patterns):
        raise ScanInputError(
            f"{label} {display(config)!r}: [tool.preflight.scan] exclude: the rule is a list of "
            "glob strings"
        )
    return patterns


# --- which files ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """A file to scan: its path, and the path relative to the directory it was found in."""

    path: str
    relative: str


def is_candidate(path: Path) -> bool:
    """Is this a file type that holds configuration or code worth scanning?"""
    name = path.name
    return (
        name in FILE_NAMES
        or name.startswith(".env")
        or name.endswith(".env")
        or path.suffix.lower() in SUFFIXES
    )


def collect_files(paths: list[str]) -> Iterator[Target]:
    """The files to scan, in a stable order. Every path is checked before any is scanned: it must
    be a file or a directory (a FIFO, a device or a symlink loop named on the command line is bad
    input)."""
    for text in paths:
        try:
            mode = os.stat(text).st_mode
        except OSError as error:
            if error.errno == errno.ENOENT:
                raise ScanInputError(f"{_path_text(text)}: does not exist") from None
            raise ScanInputError(
                f"{_path_text(text)}: {os_problem(error)}; the rule is a file or a directory"
            ) from None
        if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
            raise ScanInputError(
                f"{_path_text(text)}: is {kind_of(mode)}; the rule is a file or a directory"
            )
    seen: set[str] = set()
    for text in paths:
        root = Path(text)
        if root.is_file():
            found: Iterable[Target] = [Target(text, root.name)]
        else:
            found = sorted(_directory_files(root), key=lambda t: t.relative)
        for target in found:
            key = os.path.realpath(target.path)
            if key not in seen:
                seen.add(key)
                yield target


def _directory_files(root: Path) -> Iterator[Target]:
    listed = _git_files(root)
    if listed is None:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = [d for d in dirnames if d not in SKIP_DIRS]
            for name in filenames:
                path = Path(dirpath, name)
                if is_candidate(path):
                    yield Target(str(path), path.relative_to(root).as_posix())
        return
    for relative in listed:
        path = root / relative
        if SKIP_DIRS.intersection(Path(relative).parts) or not is_candidate(path):
            continue
        try:
            mode = os.lstat(path).st_mode
        except OSError:
            continue  # listed by git but gone from the work tree: nothing to read
        if stat.S_ISDIR(mode) or (stat.S_ISLNK(mode) and os.path.isdir(path)):
            continue  # a submodule, or a link to a directory: not a file (as os.walk sees them)
        yield Target(str(path), relative)


def _git_files(root: Path) -> list[str] | None:
    """Tracked plus untracked-not-ignored files under root, or None outside a git work tree."""
    try:
        done = subprocess.run(
            [
                "git",
                "-C",
                str(root),
                "ls-files",
                "-z",
                "--cached",
                "--others",
                "--exclude-standard",
            ],
            capture_output=True,
            check=False,
            timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        return None
    # File names are bytes; os.fsdecode keeps undecodable ones openable (surrogate escapes).
    return sorted({os.fsdecode(p) for p in done.stdout.split(b"\0") if p})


def _excluded_by(target: Target, patterns: list[str]) -> str | None:
    names = (target.relative, Path(target.path).as_posix(), Path(target.path).name)
    for pattern in patterns:
        if any(fnmatch.fnmatchcase(name, pattern) for name in names):
            return pattern
    return None


# --- reading -------------------------------------------------------------------------------------


def _is_pulumi_stack_file(path: str) -> bool:
    name = Path(path).name
    return name.startswith("Pulumi.") and name.endswith((".yaml", ".yml"))


def _open(path: str) -> int:
    """A descriptor for reading, without blocking; NotScanned when the path is not a readable
    regular file."""
    try:
        return open_nonblocking(path)
    except FileProblem as problem:
        if str(problem) == "not found":  # listed, so the name exists: it points nowhere
            raise NotScanned(f"a dangling symlink; {READABLE}") from None
        reason = f"{problem}; {READABLE}" if problem.about_the_kind else str(problem)
        raise NotScanned(reason) from None


def _chunks(path: str) -> tuple[Iterator[str], bool]:
    """The file's text in chunks, and whether it is binary (then the text is its bytes as
    Latin-1, one character per byte, for printable runs to be picked out)."""
    fd = _open(path)
    handle = os.fdopen(fd, "rb", closefd=True)
    try:
        head = handle.read(BINARY_SNIFF)
    except OSError as error:
        handle.close()
        raise NotScanned(f"cannot be read ({os_problem(error)})") from None
    encoding = next((name for bom, name in _BOMS if head.startswith(bom)), None)
    binary = encoding is None and b"\0" in head
    decoder = codecs.getincrementaldecoder("latin-1" if binary else encoding or "utf-8")(
        errors="replace"
    )

    def chunks() -> Iterator[str]:
        with handle:
            data = head
            while data:
                yield decoder.decode(data)
                try:
                    data = handle.read(CHUNK)
                except OSError as error:
                    raise NotScanned(f"cannot be read to its end ({os_problem(error)})") from None
            yield decoder.decode(b"", final=True)

    return chunks(), binary


def pieces(chunks: Iterable[str]) -> Iterator[tuple[int, int, str, int, int]]:
    """``(line, column offset, text, lo, hi)`` for streamed text: whole lines, and lines longer
    than WINDOW as windows that overlap by OVERLAP characters. A finding belongs to the piece in
    which its start lies in ``[lo, hi)``, so each is reported once, with CONTEXT characters of
    the text before it in view; a credential of up to OVERLAP - CONTEXT characters is never cut.
    Memory is bounded by WINDOW + CHUNK characters."""
    number, offset, lo, pending = 1, 0, 0, ""
    step = WINDOW - OVERLAP
    for chunk in chunks:
        if not chunk:
            continue
        lines = (pending + chunk).split("\n")
        pending = lines.pop()
        for line in lines:
            line = line.removesuffix("\r")
            start = 0
            while len(line) - start > WINDOW:
                yield number, offset + start, line[start : start + WINDOW], lo, step + CONTEXT
                start += step
                lo = CONTEXT
            yield number, offset + start, line[start:], lo, len(line) + 1
            number, offset, lo = number + 1, 0, 0
        start = 0
        while len(pending) - start > WINDOW:  # an unfinished line: scan what it already fills
            yield number, offset + start, pending[start : start + WINDOW], lo, step + CONTEXT
            start += step
            lo = CONTEXT
        if start:
            pending, offset = pending[start:], offset + start
    if pending:
        yield number, offset, pending, lo, len(pending) + 1


def _runs(text: str, binary: bool) -> Iterator[tuple[int, str]]:
    if not binary:
        yield 0, text
        return
    for m in _PRINTABLE_RUN.finditer(text):
        yield m.start(), m.group()


def scan_stream(
    chunks: Iterable[str], path: str, *, binary: bool = False, pulumi_stack: bool = False
) -> list[FileFinding]:
    """Findings in streamed text. In a Pulumi stack file, ``secure:`` values (ciphertext) are
    skipped: they are how a stack is meant to hold a secret."""
    findings = []
    for number, offset, text, lo, hi in pieces(chunks):
        if ALLOW_MARKER in text:
            continue
        if pulumi_stack and offset == 0 and text.lstrip().startswith("secure:"):
            continue
        for at, run in _runs(text, binary):
            for found in find_secrets(run):
                if lo <= at + found.start < hi:
                    column = offset + at + found.start + 1
                    findings.append(
                        FileFinding(
                            path=path,
                            line=number,
                            column=column,
                            end_column=column + found.end - found.start,
                            kind=found.kind,
                            masked=found.masked,
                            reason=found.reason,
                        )
                    )
    return findings


def scan_text(text: str, path: str, *, pulumi_stack: bool = False) -> list[FileFinding]:
    """Findings in a file's whole text."""
    return scan_stream([text], path, pulumi_stack=pulumi_stack)


def scan_file(path: str) -> tuple[list[FileFinding], bool]:
    """Findings in one file, read to its end, and whether it was read as binary. NotScanned when
    it cannot be read: an unscanned file must not pass as a clean one."""
    chunks, binary = _chunks(path)
    findings = scan_stream(chunks, path, binary=binary, pulumi_stack=_is_pulumi_stack_file(path))
    return findings, binary


def scan_files(targets: Iterable[Target], excludes: list[str]) -> ScanResult:
    """Scan every target not excluded; what cannot be read is recorded, not raised."""
    result = ScanResult()
    for target in targets:
        pattern = _excluded_by(target, excludes)
        if pattern is not None:
            result.skipped.append(Skipped(target.path, f"excluded by {pattern!r}", excluded=True))
            continue
        try:
            findings, binary = scan_file(target.path)
        except NotScanned as why:
            result.skipped.append(Skipped(target.path, str(why)))
            continue
        result.findings.extend(findings)
        result.scanned.append(target.path)
        if binary:
            result.binary.append(target.path)
    return result


# --- reports -------------------------------------------------------------------------------------
# Every path and message is printed through redact(): a credential in a file name is masked too.


def _shown(path: str) -> str:
    return redact(display(path))


def render(result: ScanResult, fmt: str) -> str:
    """The report in one of FORMATS."""
    if fmt == "text":
        return "".join(f"{_shown(f.path)}:{f.line} {f.kind} {f.masked}\n" for f in result.findings)
    if fmt == "json":
        document = {
            "files_scanned": len(result.scanned),
            "findings": [
                {
                    "path": _shown(f.path),
                    "line": f.line,
                    "column": f.column,
                    "kind": f.kind,
                    "masked": f.masked,
                    "reason": redact(f.reason),
                }
                for f in result.findings
            ],
            "binary_files": [_shown(p) for p in result.binary],
            "not_scanned": [
                {"path": _shown(s.path), "reason": s.reason, "excluded": s.excluded}
                for s in result.skipped
            ],
        }
        return json.dumps(document, indent=2) + "\n"
    return json.dumps(sarif(result), indent=2) + "\n"


def _rule_name(kind: str) -> str:
    return "".join(part.capitalize() for part in kind.split("-"))


def _fingerprint(finding: FileFinding, occurrence: int) -> str:
    # Stable across line moves: the file, the kind, the masked value and which occurrence it is.
    text = f"{_shown(finding.path)}\0{finding.kind}\0{finding.masked}\0{occurrence}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _location(path: str, region: dict[str, int] | None = None) -> dict[str, Any]:
    physical: dict[str, Any] = {"artifactLocation": {"uri": _uri(path)}}
    if region is not None:
        physical["region"] = region
    return {"physicalLocation": physical}


def sarif(result: ScanResult) -> dict[str, Any]:
    """A SARIF 2.1.0 log with one rule per finding kind, as GitHub code scanning reads it; files
    not scanned are tool notifications (level error, or note when excluded), and make the
    invocation unsuccessful."""
    kinds = list(KINDS)
    rules = [
        {
            "id": kind,
            "name": _rule_name(kind),
            "shortDescription": {"text": f"Hardcoded credential: {kind}"},
            "fullDescription": {"text": KINDS[kind]},
            "help": {
                "text": "Move the value into Key Vault and reference it "
                "(@Microsoft.KeyVault(SecretUri=...)), then rotate it: it has been exposed. "
                f"For a known false positive, add '{ALLOW_MARKER}' on the line.",
            },
            "defaultConfiguration": {"level": "error"},
            "properties": {"tags": ["security", "secrets"], "security-severity": "9.0"},
        }
        for kind in kinds
    ]
    occurrences: dict[tuple[str, str, str], int] = {}
    results = []
    for f in result.findings:
        key = (f.path, f.kind, f.masked)
        occurrences[key] = occurrences.get(key, 0) + 1
        region = {"startLine": f.line, "startColumn": f.column, "endColumn": f.end_column}
        results.append(
            {
                "ruleId": f.kind,
                "ruleIndex": kinds.index(f.kind),
                "level": "error",
                "message": {"text": f"{KINDS[f.kind]}: {f.masked} ({redact(f.reason)})"},
                "locations": [_location(f.path, region)],
                "partialFingerprints": {"preflightSecret/v1": _fingerprint(f, occurrences[key])},
            }
        )
    notifications = [
        {
            "descriptor": {"id": "excluded" if s.excluded else "not-scanned"},
            "level": "note" if s.excluded else "error",
            "message": {"text": f"{_shown(s.path)}: not scanned: {s.reason}"},
            "locations": [_location(s.path)],
        }
        for s in result.skipped
    ]
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": TOOL_NAME,
                        "rules": rules,
                    }
                },
                "invocations": [
                    {
                        "executionSuccessful": not result.unreadable,
                        "toolExecutionNotifications": notifications,
                    }
                ],
                "results": results,
            }
        ],
    }


def _uri(path: str) -> str:
    """A relative URI for a path, as code scanning expects (forward slashes, no './'), with every
    byte that is not URI-safe percent-encoded (undecodable file names included)."""
    shown = _shown(path)
    if shown != display(path):
        return quote(shown)  # a credential in the name: the masked name, never the name
    if Path(path).is_absolute():
        return "file://" + quote(os.fsencode(Path(path).as_posix()))
    posix = Path(path).as_posix()
    while posix.startswith("./"):
        posix = posix[2:]
    return quote(os.fsencode(posix))


def main(argv: list[str] | None = None) -> int:
    """`python -m preflight.scan`: the scanner alone, as the pre-commit hook runs it (standard
    library only, so the hook needs no dependencies)."""
    parser = ArgumentParser(prog="python -m preflight.scan", description=__doc__)
    add_arguments(parser)
    args = parser.parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
