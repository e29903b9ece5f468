"""`python -m preflight scan`: files found, findings located and masked, reports and exit codes.

Keys are generated at run time and written to temporary files only.
"""

from __future__ import annotations

import json
import os
import random
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from policies.detection import KINDS, mask
from preflight import scan
from tests.policies import corpus as c

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
