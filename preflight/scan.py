"""`python -m preflight scan [PATH ...]`: find hardcoded credentials in files.

Uses the same detection engine as the policy pack. Inside a git work tree, a directory is scanned
through ``git ls-files`` (tracked files plus untracked files that are not ignored); elsewhere it is
walked, skipping tool and dependency folders. Files named on the command line (as pre-commit passes
them) are always scanned. Exit status: 0 clean, 1 findings, 2 bad input.

A line holding ``preflight: allow`` (in any comment syntax) is not reported: mark a known false
positive there, with a word on why.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from policies.detection import KINDS, find_secrets

FORMATS = ("text", "json", "sarif")
ALLOW_MARKER = "preflight: allow"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
TOOL_NAME = "preflight-scan"

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
MAX_BYTES = 2_000_000  # larger files are data, not configuration
BINARY_SNIFF = 8192


class ScanInputError(Exception):
    """Bad input: one line naming the input, the value and the rule."""


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
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Scan the paths and print the report. 0 clean, 1 findings, 2 bad input."""
    try:
        if args.format not in FORMATS:
            raise ScanInputError(f"--format {args.format!r}: must be one of {', '.join(FORMATS)}")
        output = Path(args.output) if args.output else None
        if output is not None and not output.parent.is_dir():
            raise ScanInputError(f"--output {args.output!r}: its directory does not exist")
        files = list(collect_files(args.paths))
        # Every file is read before anything is reported: an unreadable one stops the scan.
        findings = [f for path in files for f in scan_file(path)]
    except ScanInputError as error:
        print(f"preflight scan: {error}", file=sys.stderr)
        return 2
    report = render(findings, args.format, files_scanned=len(files))
    if output is not None:
        tmp = output.with_name(output.name + ".tmp")
        tmp.write_text(report, encoding="utf-8")
        tmp.replace(output)
    else:
        sys.stdout.write(report)
    noun = "finding" if len(findings) == 1 else "findings"
    print(f"preflight scan: {len(findings)} {noun} in {len(files)} files", file=sys.stderr)
    return 1 if findings else 0


# --- which files ---------------------------------------------------------------------------------


def is_candidate(path: Path) -> bool:
    """Is this a file type that holds configuration or code worth scanning?"""
    name = path.name
    return (
        name in FILE_NAMES
        or name.startswith(".env")
        or name.endswith(".env")
        or path.suffix.lower() in SUFFIXES
    )


def collect_files(paths: list[str]) -> Iterator[Path]:
    """The files to scan, in a stable order. Every path is checked before any is scanned."""
    roots = [Path(p) for p in paths]
    for root, text in zip(roots, paths, strict=True):
        if not root.exists():
            raise ScanInputError(f"PATH {text!r}: does not exist")
        if not (root.is_file() or root.is_dir()):
            raise ScanInputError(f"PATH {text!r}: is neither a file nor a directory")
    seen: set[Path] = set()
    for root in roots:
        found = [root] if root.is_file() else sorted(_directory_files(root))
        for path in found:
            key = path.resolve()
            if key not in seen:
                seen.add(key)
                yield path


def _directory_files(root: Path) -> Iterator[Path]:
    listed = _git_files(root)
    if listed is None:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = [d for d in dirnames if d not in SKIP_DIRS]
            for name in filenames:
                path = Path(dirpath, name)
                if is_candidate(path):
                    yield path
        return
    for relative in listed:
        path = root / relative
        if (
            not SKIP_DIRS.intersection(Path(relative).parts)
            and is_candidate(path)
            and path.is_file()
        ):
            yield path


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
    return sorted({p for p in done.stdout.decode("utf-8", "replace").split("\0") if p})


# --- scanning ------------------------------------------------------------------------------------


def _is_pulumi_stack_file(path: Path) -> bool:
    return path.name.startswith("Pulumi.") and path.suffix in (".yaml", ".yml")


def scan_text(text: str, path: str, *, pulumi_stack: bool = False) -> list[FileFinding]:
    """Findings in a file's text. In a Pulumi stack file, ``secure:`` values (ciphertext) are
    skipped: they are how a stack is meant to hold a secret."""
    findings = []
    for number, line in enumerate(text.splitlines(), start=1):
        if ALLOW_MARKER in line:
            continue
        if pulumi_stack and line.lstrip().startswith("secure:"):
            continue
        for found in find_secrets(line):
            findings.append(
                FileFinding(
                    path=path,
                    line=number,
                    column=found.start + 1,
                    end_column=found.end + 1,
                    kind=found.kind,
                    masked=found.masked,
                    reason=found.reason,
                )
            )
    return findings


def scan_file(path: Path) -> list[FileFinding]:
    """Findings in one file; binary and oversized files are skipped. A file that cannot be read
    raises ScanInputError: an unscanned file must not pass as a clean one."""
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except OSError as error:
        raise ScanInputError(
            f"PATH {path.as_posix()!r}: cannot be read ({error.strerror})"
        ) from None
    if len(data) > MAX_BYTES or b"\0" in data[:BINARY_SNIFF]:
        return []
    return scan_text(
        data.decode("utf-8", "replace"), path.as_posix(), pulumi_stack=_is_pulumi_stack_file(path)
    )


# --- reports -------------------------------------------------------------------------------------


def render(findings: list[FileFinding], fmt: str, *, files_scanned: int) -> str:
    """The report in one of FORMATS."""
    if fmt == "text":
        return "".join(f"{f.path}:{f.line} {f.kind} {f.masked}\n" for f in findings)
    if fmt == "json":
        document = {
            "files_scanned": files_scanned,
            "findings": [
                {
                    "path": f.path,
                    "line": f.line,
                    "column": f.column,
                    "kind": f.kind,
                    "masked": f.masked,
                    "reason": f.reason,
                }
                for f in findings
            ],
        }
        return json.dumps(document, indent=2) + "\n"
    return json.dumps(sarif(findings), indent=2) + "\n"


def _rule_name(kind: str) -> str:
    return "".join(part.capitalize() for part in kind.split("-"))


def _fingerprint(finding: FileFinding, occurrence: int) -> str:
    # Stable across line moves: the file, the kind, the masked value and which occurrence it is.
    text = f"{finding.path}\0{finding.kind}\0{finding.masked}\0{occurrence}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def sarif(findings: list[FileFinding]) -> dict[str, Any]:
    """A SARIF 2.1.0 log with one rule per finding kind, as GitHub code scanning reads it."""
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
    for f in findings:
        key = (f.path, f.kind, f.masked)
        occurrences[key] = occurrences.get(key, 0) + 1
        results.append(
            {
                "ruleId": f.kind,
                "ruleIndex": kinds.index(f.kind),
                "level": "error",
                "message": {"text": f"{KINDS[f.kind]}: {f.masked} ({f.reason})"},
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": {"uri": _uri(f.path)},
                            "region": {
                                "startLine": f.line,
                                "startColumn": f.column,
                                "endColumn": f.end_column,
                            },
                        }
                    }
                ],
                "partialFingerprints": {"preflightSecret/v1": _fingerprint(f, occurrences[key])},
            }
        )
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
                "results": results,
            }
        ],
    }


def _uri(path: str) -> str:
    """A relative URI for a path, as code scanning expects (forward slashes, no './')."""
    if Path(path).is_absolute():
        return Path(path).as_uri()
    posix = Path(path).as_posix()
    while posix.startswith("./"):
        posix = posix[2:]
    return posix.replace("%", "%25").replace(" ", "%20")


def main(argv: list[str] | None = None) -> int:
    """`python -m preflight.scan`: the scanner alone, as the pre-commit hook runs it (standard
    library only, so the hook needs no dependencies)."""
    parser = argparse.ArgumentParser(prog="python -m preflight.scan", description=__doc__)
    add_arguments(parser)
    args = parser.parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
