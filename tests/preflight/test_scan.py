"""`python -m preflight scan`: files found, findings located and masked, reports and exit codes.

Keys are generated at run time and written to temporary files only.
"""

from __future__ import annotations

import errno
import json
import os
import random
import secrets
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import jsonschema
import pytest

from bench import corpus as c
from policies.detection import KINDS, mask
from preflight import scan

REPO = Path(__file__).resolve().parents[2]
SARIF_SCHEMA = Path(__file__).parent / "fixtures" / "sarif-schema-2.1.0.json"


def _column(path: Path, secret: str) -> int:
    """1-based column of a secret on its line."""
    (line,) = [line for line in path.read_text().splitlines() if secret in line]
    return line.index(secret) + 1


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = scan.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def keys() -> dict[str, str]:
    rng = random.Random(secrets.randbits(32))
    return {
        "hex": secrets.token_hex(16),
        "storage": c.storage_key(rng),
        "password": c.password(rng),
        "github": c.github_token(rng),
    }


@pytest.fixture
def tree(tmp_path: Path, keys: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Path:
    """A small project with credentials in three files and clean files around them."""
    (tmp_path / ".env").write_text(
        f"# local settings\nMODEL=gpt-4o\nAZURE_OPENAI_API_KEY={keys['hex']}\n"
    )
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "settings.json").write_text(
        json.dumps(
            {
                "endpoint": "https://ai1.openai.azure.com/",
                "storage": "DefaultEndpointsProtocol=https;AccountName=a;"
                f"AccountKey={keys['storage']}",
            },
            indent=2,
        )
    )
    password = keys["password"]
    (tmp_path / "app" / "main.py").write_text(
        "import os\n\nENDPOINT = os.environ['AZURE_OPENAI_ENDPOINT']\n"
        f"DB = 'Server=db;User ID=app;Password={password};'\n"
    )
    (tmp_path / "README.md").write_text("Settings come from Key Vault references.\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_text_report_lists_path_line_kind_and_masked_value_and_exits_1(
    capsys: pytest.CaptureFixture[str], tree: Path, keys: dict[str, str]
) -> None:
    code, out, err = _run(capsys, ".")
    assert code == 1
    assert out.splitlines() == [
        f".env:3 azure-ai-key {mask(keys['hex'])}",
        f"app/main.py:4 connection-string-password {mask(keys['password'])}",
        f"app/settings.json:3 storage-account-key {mask(keys['storage'])}",
    ]
    assert err == "preflight scan: 3 findings in 4 files\n"
    for key in keys.values():
        assert key not in out + err


def test_a_clean_tree_exits_0(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("KEY_VAULT_URI = 'https://kv-a1.vault.azure.net/'\n")
    (tmp_path / "Pulumi.dev.yaml").write_text("config:\n  azure-native:location: swedencentral\n")
    assert _run(capsys, str(tmp_path)) == (0, "", "preflight scan: 0 findings in 2 files\n")


def test_json_report(capsys: pytest.CaptureFixture[str], tree: Path, keys: dict[str, str]) -> None:
    code, out, _ = _run(capsys, "--format", "json", ".env")
    assert code == 1
    assert json.loads(out) == {
        "files_scanned": 1,
        "findings": [
            {
                "path": ".env",
                "line": 3,
                "column": _column(tree / ".env", keys["hex"]),
                "kind": "azure-ai-key",
                "masked": mask(keys["hex"]),
                "reason": "format: 32 hex characters under 'AZURE_OPENAI_API_KEY'",
            }
        ],
        "binary_files": [],
        "not_scanned": [],
    }


def test_sarif_report_is_valid_sarif_2_1_0_for_code_scanning(
    capsys: pytest.CaptureFixture[str], tree: Path, keys: dict[str, str]
) -> None:
    code, out, _ = _run(capsys, "--format", "sarif", ".")
    assert code == 1
    log = json.loads(out)
    schema = json.loads(SARIF_SCHEMA.read_text())
    jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker()).validate(log)

    (run,) = log["runs"]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == list(KINDS)
    results = run["results"]
    assert [
        (
            r["ruleId"],
            rules[r["ruleIndex"]]["id"],
            r["level"],
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            r["locations"][0]["physicalLocation"]["region"]["startLine"],
            r["locations"][0]["physicalLocation"]["region"]["startColumn"],
        )
        for r in results
    ] == [
        ("azure-ai-key", "azure-ai-key", "error", ".env", 3, _column(tree / ".env", keys["hex"])),
        (
            "connection-string-password",
            "connection-string-password",
            "error",
            "app/main.py",
            4,
            _column(tree / "app/main.py", keys["password"]),
        ),
        (
            "storage-account-key",
            "storage-account-key",
            "error",
            "app/settings.json",
            3,
            _column(tree / "app/settings.json", keys["storage"]),
        ),
    ]
    fingerprints = [r["partialFingerprints"]["preflightSecret/v1"] for r in results]
    assert len(set(fingerprints)) == 3
    for key in keys.values():
        assert key not in out


def test_sarif_fingerprint_survives_the_finding_moving_to_another_line(
    capsys: pytest.CaptureFixture[str], tree: Path
) -> None:
    def fingerprint() -> str:
        _, out, _ = _run(capsys, "--format", "sarif", ".env")
        return json.loads(out)["runs"][0]["results"][0]["partialFingerprints"]["preflightSecret/v1"]

    before = fingerprint()
    env = tree / ".env"
    env.write_text("# moved down\n\n" + env.read_text())
    assert fingerprint() == before


def test_output_file(capsys: pytest.CaptureFixture[str], tree: Path) -> None:
    code, out, _ = _run(capsys, "--format", "sarif", "--output", "scan.sarif", "app")
    assert (code, out) == (1, "")
    assert json.loads((tree / "scan.sarif").read_text())["version"] == "2.1.0"


def test_allow_comment_skips_only_its_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    allowed, flagged = secrets.token_hex(16), secrets.token_hex(16)
    (tmp_path / "fixtures.py").write_text(
        f"FIXTURE = '{allowed}'  # preflight: allow (test vector from the docs)\n"
        f"OTHER = '{flagged}'\n"
    )
    code, out, _ = _run(capsys, str(tmp_path))
    assert (code, out) == (1, f"{tmp_path}/fixtures.py:2 azure-ai-key {mask(flagged)}\n")


def test_pulumi_stack_secure_values_are_skipped_but_plaintext_keys_are_not(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Service-managed ciphertext is base64 that can have the shape of a storage key.
    ciphertext = c.storage_key(random.Random(secrets.randbits(32)))
    plaintext = secrets.token_hex(16)
    (tmp_path / "Pulumi.prod.yaml").write_text(
        "config:\n"
        "  secure-azure-ai:aiKey:\n"
        f"    secure: {ciphertext}\n"
        f"  secure-azure-ai:backupKey: {plaintext}\n"
    )
    code, out, _ = _run(capsys, str(tmp_path))
    assert (code, out) == (1, f"{tmp_path}/Pulumi.prod.yaml:4 azure-ai-key {mask(plaintext)}\n")


def test_skipped_folders_and_other_file_types_are_not_scanned(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    line = f"API_KEY={secrets.token_hex(16)}\n"
    for folder in (".venv", "node_modules", "__pycache__", ".git"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "settings.py").write_text(line)
    (tmp_path / "photo.png").write_text(line)
    (tmp_path / "notes.txt").write_text("nothing here\n")
    assert _run(capsys, str(tmp_path)) == (0, "", "preflight scan: 0 findings in 1 files\n")


def test_a_file_named_on_the_command_line_is_scanned_whatever_its_type(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    key = secrets.token_hex(16)
    target = tmp_path / "notes.unknown"
    target.write_text(f"key {key}\n")
    code, out, _ = _run(capsys, str(target))
    assert (code, out) == (1, f"{target}:1 azure-ai-key {mask(key)}\n")


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_in_a_git_work_tree_ignored_files_are_skipped_and_untracked_ones_scanned(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True, env=env)
    ignored, untracked = secrets.token_hex(16), secrets.token_hex(16)
    (tmp_path / ".gitignore").write_text("local.env\n")
    (tmp_path / "local.env").write_text(f"API_KEY={ignored}\n")
    (tmp_path / "new.env").write_text(f"API_KEY={untracked}\n")
    code, out, _ = _run(capsys, str(tmp_path))
    assert (code, out) == (1, f"{tmp_path}/new.env:1 azure-ai-key {mask(untracked)}\n")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["no/such/dir"], "preflight scan: PATH 'no/such/dir': does not exist\n"),
        (
            ["--format", "xml", "."],
            "preflight scan: --format 'xml': must be one of text, json, sarif\n",
        ),
        (
            ["--output", "missing/out.sarif", "."],
            "preflight scan: --output 'missing/out.sarif': its directory does not exist\n",
        ),
    ],
)
def test_bad_input_is_one_line_naming_it_and_exits_2_before_scanning(
    capsys: pytest.CaptureFixture[str], tree: Path, argv: list[str], message: str
) -> None:
    assert _run(capsys, *argv) == (2, "", message)


def test_a_bad_path_among_good_ones_scans_nothing(
    capsys: pytest.CaptureFixture[str], tree: Path
) -> None:
    assert _run(capsys, ".env", "gone.env") == (
        2,
        "",
        "preflight scan: PATH 'gone.env': does not exist\n",
    )


def test_an_unreadable_file_is_reported_not_scanned_and_fails_the_run(
    capsys: pytest.CaptureFixture[str],
    tree: Path,
    keys: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Tests run as root here, so a permission error is injected where the scanner opens files
    (os.open, after the os.stat check); every other file is still scanned and reported."""
    real_open = os.open

    def refuse_main_py(path, flags, *args, **kwargs):
        if os.fspath(path).endswith("main.py"):
            raise PermissionError(13, "Permission denied")
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", refuse_main_py)
    code, out, err = _run(capsys, ".")
    assert (code, out) == (
        2,
        f".env:3 azure-ai-key {mask(keys['hex'])}\n"
        f"app/settings.json:3 storage-account-key {mask(keys['storage'])}\n",
    )
    assert err == (
        "preflight scan: PATH 'app/main.py': not scanned: cannot be read (permission denied)\n"
        "preflight scan: 2 findings in 3 files; 1 NOT scanned\n"
    )


def test_the_preflight_command_runs_the_scanner(tree: Path, keys: dict[str, str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "preflight", "scan", "--format", "text", ".env"],
        capture_output=True,
        text=True,
        cwd=tree,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        check=False,
    )
    assert (done.returncode, done.stdout) == (1, f".env:3 azure-ai-key {mask(keys['hex'])}\n")
    assert "Traceback" not in done.stderr


def test_the_repository_scans_clean(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, str(REPO))
    assert (code, out) == (0, "")


# --- every file counted is read to its end --------------------------------------------------------


def _validate_sarif(document: dict) -> None:
    schema = json.loads(SARIF_SCHEMA.read_text())
    jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker()).validate(document)


def test_a_key_at_the_end_of_a_large_file_is_found(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A 3 MB file (over the old 2 MB cut-off) is streamed, not skipped."""
    key = secrets.token_hex(16)
    lines = 60_000
    filler = "".join(f"setting_{i} = value number {i} of the data set\n" for i in range(lines))
    target = tmp_path / "big.txt"
    target.write_text(filler + f"AZURE_OPENAI_API_KEY={key}\n")
    assert target.stat().st_size > 2_500_000
    code, out, err = _run(capsys, str(target))
    assert (code, out, err) == (
        1,
        f"{target}:{lines + 1} azure-ai-key {mask(key)}\n",
        "preflight scan: 1 finding in 1 files\n",
    )


def test_keys_across_chunk_and_window_boundaries_are_found_once_at_their_column(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Small chunks and windows, and a key at every offset around their boundaries, on one long
    line and on short lines: each key is found exactly once, with its exact column."""
    monkeypatch.setattr(scan, "CHUNK", 64)
    monkeypatch.setattr(scan, "WINDOW", 256)
    monkeypatch.setattr(scan, "OVERLAP", 128)
    monkeypatch.setattr(scan, "CONTEXT", 40)
    keys, parts, expected = [], [], []
    column = 1
    for gap in range(0, 130, 3):
        key = secrets.token_hex(16)
        text = "x" * gap + " api_key=" + key + " "
        expected.append(f"long.txt:1 azure-ai-key {mask(key)}")
        keys.append((key, column + len(text) - len(key) - 1))
        column += len(text)
        parts.append(text)
    long_line = "".join(parts)
    assert len(long_line) > 10 * 256
    short = [secrets.token_hex(16) for _ in range(20)]
    (tmp_path / "long.txt").write_text(long_line + "\n" + "".join(f"k {k}\n" for k in short))
    monkeypatch.chdir(tmp_path)
    code, out, _ = _run(capsys, "--format", "json", "long.txt")
    findings = json.loads(out)["findings"]
    assert code == 1
    assert [(f["line"], f["column"], f["masked"]) for f in findings] == [
        *((1, col, mask(key)) for key, col in keys),
        *((n, 3, mask(k)) for n, k in enumerate(short, start=2)),
    ]


def test_pieces_never_hold_more_than_a_window() -> None:
    chunks = ("a" * 1000 for _ in range(20))  # one 20,000-character line, streamed
    sizes = [len(text) for _, _, text, _, _ in scan.pieces(chunks)]
    assert max(sizes) == scan.WINDOW or sum(sizes) == 20_000


def test_a_binary_file_is_scanned_through_its_printable_runs(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A NUL in the first 8 KB no longer hides the key in the text after it."""
    key = secrets.token_hex(16)
    (tmp_path / "blob.json").write_bytes(
        b"\0\1\2\xff" * 10 + b"\nheader\0\0" + f"API_KEY={key}".encode() + b"\0\x07tail\n"
    )
    monkeypatch.chdir(tmp_path)
    code, out, err = _run(capsys, "--format", "json", "blob.json")
    document = json.loads(out)
    assert code == 1
    assert [(f["line"], f["column"], f["masked"]) for f in document["findings"]] == [
        (2, 17, mask(key))
    ]
    assert (document["files_scanned"], document["binary_files"]) == (1, ["blob.json"])
    assert err == (
        "preflight scan: 1 finding in 1 files (1 binary, scanned as printable text runs)\n"
    )


def test_a_utf16_file_with_a_byte_order_mark_is_read_as_text(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Windows PowerShell writes UTF-16LE with a BOM: NUL bytes everywhere, yet text."""
    key = secrets.token_hex(16)
    target = tmp_path / "deploy.ps1"
    target.write_bytes(("\ufeff# deploy\r\n$apiKey = '" + key + "'\r\n").encode("utf-16-le"))
    assert _run(capsys, str(target)) == (
        1,
        f"{target}:2 azure-ai-key {mask(key)}\n",
        "preflight scan: 1 finding in 1 files\n",
    )


def _special_tree(root: Path) -> None:
    os.mkfifo(root / "pipe.env")
    (root / "loop1.env").symlink_to("loop2.env")
    (root / "loop2.env").symlink_to("loop1.env")
    (root / "dangling.env").symlink_to("gone.env")


def test_a_fifo_and_symlink_loops_in_a_tree_are_reported_not_scanned_and_fail_the_run(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_hang
) -> None:
    key = secrets.token_hex(16)
    (tmp_path / "app.env").write_text(f"API_KEY={key}\n")
    _special_tree(tmp_path)
    monkeypatch.chdir(tmp_path)
    code, out, err = _run(capsys, ".")
    rule = "the rule is a readable regular file"
    assert (code, out) == (2, f"app.env:1 azure-ai-key {mask(key)}\n")
    assert err == (
        f"preflight scan: PATH 'dangling.env': not scanned: a dangling symlink; {rule}\n"
        f"preflight scan: PATH 'loop1.env': not scanned: is a symlink loop; {rule}\n"
        f"preflight scan: PATH 'loop2.env': not scanned: is a symlink loop; {rule}\n"
        f"preflight scan: PATH 'pipe.env': not scanned: is a FIFO; {rule}\n"
        "preflight scan: 1 finding in 1 files; 4 NOT scanned\n"
    )


def test_not_scanned_files_are_sarif_notifications_and_the_invocation_fails(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_hang
) -> None:
    (tmp_path / "ok.env").write_text("MODEL=gpt-4o\n")
    os.mkfifo(tmp_path / "pipe.env")
    (tmp_path / "skip.env").write_text("MODEL=gpt-4o\n")
    monkeypatch.chdir(tmp_path)
    code, out, _ = _run(capsys, "--format", "sarif", "--exclude", "skip.*", ".")
    log = json.loads(out)
    _validate_sarif(log)
    (invocation,) = log["runs"][0]["invocations"]
    assert code == 2
    assert invocation["executionSuccessful"] is False
    assert [
        (
            n["descriptor"]["id"],
            n["level"],
            n["message"]["text"],
            n["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        )
        for n in invocation["toolExecutionNotifications"]
    ] == [
        (
            "not-scanned",
            "error",
            "pipe.env: not scanned: is a FIFO; the rule is a readable regular file",
            "pipe.env",
        ),
        ("excluded", "note", "skip.env: not scanned: excluded by 'skip.*'", "skip.env"),
    ]


def test_excluded_files_are_listed_and_do_not_fail_the_run(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_hang
) -> None:
    _special_tree(tmp_path)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "fixture.json").write_text(f'{{"API_KEY": "{secrets.token_hex(16)}"}}')
    (tmp_path / "pyproject.toml").write_text(
        '[tool.preflight.scan]\nexclude = ["data/*.json", "loop?.env"]\n'
    )
    monkeypatch.chdir(tmp_path)
    code, out, err = _run(capsys, "--format", "json", "--exclude", "*.env", ".")
    document = json.loads(out)
    assert (code, document["findings"], document["files_scanned"]) == (0, [], 1)
    assert [(s["path"], s["reason"], s["excluded"]) for s in document["not_scanned"]] == [
        ("dangling.env", "excluded by '*.env'", True),
        ("data/fixture.json", "excluded by 'data/*.json'", True),
        ("loop1.env", "excluded by 'loop?.env'", True),
        ("loop2.env", "excluded by 'loop?.env'", True),
        ("pipe.env", "excluded by '*.env'", True),
    ]
    assert err == "preflight scan: 0 findings in 1 files; 5 excluded\n"


def test_a_bad_exclude_configuration_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text("[tool.preflight.scan]\nexclude = 'data'\n")
    assert _run(capsys, ".") == (
        2,
        "",
        "preflight scan: config file 'pyproject.toml': [tool.preflight.scan] exclude: the rule "
        "is a list of glob strings\n",
    )
    (tmp_path / "pyproject.toml").write_bytes(b"[tool]\nname = '\xff'\n")
    assert _run(capsys, ".") == (
        2,
        "",
        "preflight scan: config file 'pyproject.toml': not UTF-8 (byte 0xff at offset 15); the "
        "rule is UTF-8 text\n",
    )


@pytest.mark.parametrize("kind", ["fifo", "loop"])
def test_a_fifo_or_loop_named_on_the_command_line_is_bad_input(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    kind,
    no_hang,
) -> None:
    _special_tree(tmp_path)
    monkeypatch.chdir(tmp_path)
    name, problem = {"fifo": ("pipe.env", "is a FIFO"), "loop": ("loop1.env", "is a symlink loop")}[
        kind
    ]
    assert _run(capsys, name) == (
        2,
        "",
        f"preflight scan: PATH '{name}': {problem}; the rule is a file or a directory\n",
    )


def test_a_non_utf8_file_name_is_reported_in_every_format(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = secrets.token_hex(16)
    raw = os.fsencode(tmp_path) + b"/caf\xe9.env"
    with open(raw, "w") as handle:
        handle.write(f"API_KEY={key}\n")
    monkeypatch.chdir(tmp_path)
    code, out, _ = _run(capsys, ".")
    assert (code, out) == (1, f"caf\\xe9.env:1 azure-ai-key {mask(key)}\n")
    code, out, _ = _run(capsys, "--format", "json", ".")
    assert [f["path"] for f in json.loads(out)["findings"]] == ["caf\\xe9.env"]
    code, out, _ = _run(capsys, "--format", "sarif", ".")
    log = json.loads(out)
    _validate_sarif(log)
    (result,) = log["runs"][0]["results"]
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "caf%E9.env"


def test_a_credential_in_a_file_name_is_masked(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name_key, key = secrets.token_hex(16), secrets.token_hex(16)
    (tmp_path / f"{name_key}.env").write_text(f"API_KEY={key}\n")
    monkeypatch.chdir(tmp_path)
    shown = f"{mask(name_key)}.env"
    code, out, err = _run(capsys, ".")
    assert (code, out) == (1, f"{shown}:1 azure-ai-key {mask(key)}\n")
    code, out, err = _run(capsys, "--format", "json", ".")
    assert [f["path"] for f in json.loads(out)["findings"]] == [shown]
    code, out, err = _run(capsys, "--format", "sarif", ".")
    (result,) = json.loads(out)["runs"][0]["results"]
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == quote(shown)
    assert name_key not in out + err


def test_output_to_a_directory_is_bad_input_and_writes_nothing(
    capsys: pytest.CaptureFixture[str], tree: Path
) -> None:
    (tree / "reports").mkdir()
    assert _run(capsys, "--output", "reports", ".env") == (
        2,
        "",
        "preflight scan: --output 'reports': is a directory; the rule is a file path (a new file, "
        "or a regular file to replace)\n",
    )
    assert list((tree / "reports").iterdir()) == []


def test_a_failed_write_leaves_no_temporary_file_and_the_old_report_intact(
    capsys: pytest.CaptureFixture[str], tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The disk fills up while the report is written: ENOSPC from the write."""
    (tree / "out").mkdir()
    (tree / "out" / "scan.sarif").write_text("previous report\n")

    real_fdopen = os.fdopen

    class FullDisk:
        def __init__(self, handle):
            self.handle = handle

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.handle.close()

        def fileno(self):
            return self.handle.fileno()

        def write(self, text):
            self.handle.write(text[:10])
            self.handle.flush()
            raise OSError(errno.ENOSPC, "No space left on device")

    def fdopen(fd, mode="r", *args, **kwargs):
        handle = real_fdopen(fd, mode, *args, **kwargs)
        return FullDisk(handle) if "w" in mode else handle

    monkeypatch.setattr(os, "fdopen", fdopen)
    assert _run(capsys, "--format", "sarif", "--output", "out/scan.sarif", ".env") == (
        2,
        "",
        "preflight scan: --output 'out/scan.sarif': cannot be written (no space left on device)\n",
    )
    assert sorted(p.name for p in (tree / "out").iterdir()) == ["scan.sarif"]
    assert (tree / "out" / "scan.sarif").read_text() == "previous report\n"


def test_an_interrupted_write_leaves_no_temporary_file(
    capsys: pytest.CaptureFixture[str], tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        _run(capsys, "--output", "scan.txt", ".env")
    assert sorted(p.name for p in tree.iterdir() if "scan" in p.name) == []


def test_the_written_report_is_whole_and_has_ordinary_permissions(
    capsys: pytest.CaptureFixture[str], tree: Path, keys: dict[str, str]
) -> None:
    assert _run(capsys, "--output", "scan.txt", ".env")[0] == 1
    assert (tree / "scan.txt").read_text() == f".env:3 azure-ai-key {mask(keys['hex'])}\n"
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE((tree / "scan.txt").stat().st_mode) == 0o666 & ~umask


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_in_a_git_work_tree_special_files_are_not_scanned_and_links_to_directories_not_files(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, no_hang
) -> None:
    """git lists a tracked symlink whatever it points to; untracked FIFOs it does not list."""
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True, env=env)
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "app.yaml").write_text("model: gpt-4o\n")
    (tmp_path / "linked.yaml").symlink_to("conf")
    (tmp_path / "loop1.env").symlink_to("loop2.env")
    (tmp_path / "loop2.env").symlink_to("loop1.env")
    code, out, err = _run(capsys, str(tmp_path))
    rule = "the rule is a readable regular file"
    assert (code, out) == (2, "")
    assert err == (
        f"preflight scan: PATH '{tmp_path}/loop1.env': not scanned: is a symlink loop; {rule}\n"
        f"preflight scan: PATH '{tmp_path}/loop2.env': not scanned: is a symlink loop; {rule}\n"
        "preflight scan: 0 findings in 1 files; 2 NOT scanned\n"
    )


def test_a_reader_that_stops_early_ends_the_report_quietly(
    capsys: pytest.CaptureFixture[str], tree: Path
) -> None:
    """`preflight scan . | head -1`: the pipe's reader is gone (Python ignores SIGPIPE, so the
    write fails with EPIPE); the scan still ends with its exit status and summary."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    with open(write_end, "w") as closed_pipe, pytest.MonkeyPatch.context() as patch:
        patch.setattr(sys, "stdout", closed_pipe)
        code = scan.main(["."])
    assert (code, capsys.readouterr().err) == (1, "preflight scan: 3 findings in 4 files\n")
