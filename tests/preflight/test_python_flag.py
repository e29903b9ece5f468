"""`--python PATH`: the program runs in its own virtualenv, the policies here; and the CLI's exits.

The second virtualenv is made once per session with ``python -m venv``: it reaches this
environment's pulumi and providers through a ``.pth`` file (no download), and it alone holds
``preview_only_helper``, a package the program imports, so only a run inside that interpreter
can succeed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import textwrap
import venv
from pathlib import Path

import pytest

from preflight.__main__ import main

ROOT = Path(__file__).resolve().parents[2]
PROGRAM = """\
    import pulumi
    import preview_only_helper
    from pulumi_azure_native import resources, web
    rg = resources.ResourceGroup("rg", resource_group_name=preview_only_helper.GROUP)
    web.WebApp("app", resource_group_name=rg.name)
    print("the program's own output")
    pulumi.export("group", rg.name)
    """


@pytest.fixture(scope="session")
def program_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("program-venv")
    venv.EnvBuilder(with_pip=False).create(folder)
    (site,) = (folder / "lib").glob("python3*/site-packages")
    (site / "shared.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    (site / "preview_only_helper").mkdir()
    (site / "preview_only_helper" / "__init__.py").write_text('GROUP = "from-its-own-venv"\n')
    return folder / "bin" / "python"


@pytest.fixture
def program(tmp_path: Path) -> Path:
    (tmp_path / "Pulumi.yaml").write_text("name: own\nruntime: python\n")
    (tmp_path / "Pulumi.dev.yaml").write_text("config: {}\n")
    (tmp_path / "__main__.py").write_text(textwrap.dedent(PROGRAM))
    return tmp_path


def preview(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["preview", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_the_program_runs_in_its_own_virtualenv(capsys, program: Path, program_venv: Path):
    code, out, err = preview(
        capsys, "--program", str(program), "--python", str(program_venv), "--format", "json"
    )
    report = json.loads(out)
    assert (code, report["outputs"]) == (1, {"group": "from-its-own-venv"})
    assert err == "the program's own output\n"
    assert {(v["policy"], v["resource"]) for v in report["violations"] if v["resource"]} == {
        ("web-app-https-only", "app"),
        ("web-app-requires-tls-1-2", "app"),
        ("web-app-disables-ftp", "app"),
        ("web-app-uses-managed-identity", "app"),
        ("web-app-disables-basic-auth-publishing", "app"),
    }


def test_this_interpreter_lacks_the_package_so_the_run_above_proves_the_switch(
    capsys, program: Path
):
    code, out, err = preview(capsys, "--program", str(program))
    assert (code, out) == (3, "")
    assert err.splitlines()[-1] == (
        "preflight: the program failed: ModuleNotFoundError: No module named "
        f"'preview_only_helper' at {program}/__main__.py:2"
    )


def test_the_same_program_reports_the_same_from_either_interpreter(
    capsys, tmp_path: Path, program_venv: Path
):
    (tmp_path / "Pulumi.yaml").write_text("name: same\nruntime: python\n")
    (tmp_path / "Pulumi.dev.yaml").write_text("config: {}\n")
    (tmp_path / "__main__.py").write_text(
        "from pulumi_azure_native import resources, web\n"
        "rg = resources.ResourceGroup('rg')\n"
        "web.WebApp('app', resource_group_name=rg.name, https_only=False)\n"
    )
    here = preview(capsys, "--program", str(tmp_path), "--format", "json")
    there = preview(
        capsys, "--program", str(tmp_path), "--format", "json", "--python", str(program_venv)
    )
    assert here == there


@pytest.mark.parametrize(
    ("python", "message"),
    [
        (
            "/nonexistent/python",
            "preflight: --python '/nonexistent/python': not an executable file",
        ),
        ("/bin/false", "preflight: --python '/bin/false': the harness did not run there"),
    ],
)
def test_a_python_that_cannot_run_the_harness_is_bad_input(capsys, program, python, message):
    code, out, err = preview(capsys, "--program", str(program), "--python", python)
    assert (code, out) == (2, "")
    assert err.startswith(message) and err.count("\n") == 1


def test_a_python_without_pulumi_is_named_in_one_line(capsys, program):
    bare = Path(sys.base_prefix) / "bin" / "python3"  # the interpreter under this venv
    code, out, err = preview(capsys, "--program", str(program), "--python", str(bare))
    assert (code, out) == (2, "")
    assert err == (
        f"preflight: --python '{bare}': the harness did not run there (ModuleNotFoundError: "
        "No module named 'pulumi'); the rule is a Python 3.10+ with the program's pulumi "
        "packages installed\n"
    )


def test_nothing_is_printed_at_shutdown(program: Path):
    """The SDK's executor threads each made an event loop that nobody closed; collected at
    interpreter exit, one printed `Invalid file descriptor: -1`. ResourceWarning shows any
    such loop; the harness closes them all, so stderr holds only the program's own print."""
    (program / "__main__.py").write_text(
        "import pulumi\nfrom pulumi_azure_native import resources\n"
        "for i in range(5):\n    resources.ResourceGroup(f'rg{i}')\n"
    )
    command = ["-W", "always::ResourceWarning", "-m", "preflight", "preview", "--program"]
    done = subprocess.run(
        [sys.executable, *command, str(program)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("PULUMI_")},
        check=False,
    )
    assert (done.returncode, done.stderr) == (0, "")
