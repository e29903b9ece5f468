"""Bad files given to `preflight`: one line naming the input and the rule, exit 2, no hang.

Each case is a file a user can really pass: a directory, a FIFO (opening one for reading waits for
a writer, so it must be refused from its ``os.stat``), a symlink loop (``ELOOP`` from the kernel),
bytes that are not UTF-8, YAML nested too deep or expanding through aliases ("billion laughs").
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import pytest

from policies.detection import mask
from preflight import inputs
from preflight.__main__ import main
from preflight.inputs import InputError

REPO = Path(__file__).resolve().parents[2]


pytestmark = pytest.mark.usefixtures("no_hang")


def _laughs(levels: int) -> str:
    """Each level is nine aliases of the one before: 9**levels scalars once expanded."""
    lines = ["config:", '  l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for n in range(1, levels):
        lines.append(f"  l{n}: &l{n} [" + ", ".join([f"*l{n - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


@pytest.fixture
def bad(tmp_path: Path) -> Path:
    (tmp_path / "dir").mkdir()
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "loop1").symlink_to("loop2")
    (tmp_path / "loop2").symlink_to("loop1")
    (tmp_path / "latin1.yaml").write_bytes(b"config:\n  a: caf\xe9\n")
    (tmp_path / "deep.yaml").write_text("config:\n  x: " + "[" * 100 + "]" * 100 + "\n")
    (tmp_path / "laughs.yaml").write_text(_laughs(9))
    (tmp_path / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    (tmp_path / "nested.json").write_text('{"a": ' * 65 + "1" + "}" * 65)
    return tmp_path


REGULAR = "the rule is a regular file"
CONFIG_CASES = {
    "dir": f"is a directory; {REGULAR}",
    "fifo": f"is a FIFO; {REGULAR}",
    "loop1": f"is a symlink loop; {REGULAR}",
    "latin1.yaml": "not UTF-8 (byte 0xe9 at offset 16); the rule is UTF-8 text",
    "deep.yaml": "nested deeper than 64 levels; the rule is at most 64",
    "laughs.yaml": "expands to more than 100,000 nodes (YAML aliases); the rule is at most 100,000",
    "missing.yaml": "not found",
}
POLICY_CONFIG_CASES = {
    "dir": f"is a directory; {REGULAR}",
    "fifo": f"is a FIFO; {REGULAR}",
    "loop1": f"is a symlink loop; {REGULAR}",
    "latin1.yaml": "not UTF-8 (byte 0xe9 at offset 16); the rule is UTF-8 text",
    "deep.json": "nested deeper than 64 levels; the rule is at most 64",
    "nested.json": "nested deeper than 64 levels; the rule is at most 64",
}


@pytest.mark.parametrize(("name", "problem"), CONFIG_CASES.items(), ids=list(CONFIG_CASES))
def test_a_bad_config_file_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], bad: Path, name: str, problem: str
) -> None:
    path = bad / name
    code = main(["preview", "--program", str(REPO), "--config", str(path)])
    assert (code, capsys.readouterr()) == (
        2,
        ("", f"preflight: config file '{path}': {problem}\n"),
    )


@pytest.mark.parametrize(
    ("name", "problem"), POLICY_CONFIG_CASES.items(), ids=list(POLICY_CONFIG_CASES)
)
def test_a_bad_policy_config_file_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], bad: Path, name: str, problem: str
) -> None:
    path = bad / name
    code = main(["preview", "--program", str(REPO), "--policy-config", str(path)])
    assert (code, capsys.readouterr()) == (
        2,
        ("", f"preflight: --policy-config '{path}': {problem}\n"),
    )


def test_alias_expansion_over_the_limit_is_refused_before_loading() -> None:
    """9**6 = 531,441 scalars once expanded: refused from the event stream. Loaded, the shared
    objects would be small, but every consumer that walks them (json.dumps of a config value)
    would expand them."""
    with pytest.raises(InputError) as error:
        inputs.load_yaml(_laughs(6), "config file", "x.yaml")
    assert str(error.value) == (
        "config file 'x.yaml': expands to more than 100,000 nodes (YAML aliases); the rule is at "
        "most 100,000"
    )


def test_aliases_within_the_limit_load_as_ordinary_yaml() -> None:
    document = inputs.load_yaml(_laughs(4), "config file", "x.yaml")  # 9**4 = 6,561 scalars
    assert len(document["config"]) == 4
    assert document["config"]["l3"][0][0][0] == document["config"]["l0"]


def test_nesting_at_the_limit_loads() -> None:
    text = "[" * inputs.MAX_DEPTH + "]" * inputs.MAX_DEPTH
    assert inputs.load_yaml(text, "config file", "x.yaml") is not None
    assert inputs.load_json(text, "--policy-config", "x.json") is not None
    with pytest.raises(InputError):
        inputs.load_json("[" + text + "]", "--policy-config", "x.json")


def test_a_file_over_the_size_limit_is_refused_without_reading_it_all(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text("a" * 101)
    with pytest.raises(InputError) as error:
        inputs.read_text(path, "config file", max_bytes=100)
    assert str(error.value) == (
        f"config file '{path}': larger than 100 bytes; the rule is a configuration file of at most "
        "that size"
    )


def test_a_path_swapped_for_a_fifo_after_the_check_is_still_refused(
    bad: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race os.stat cannot close: the descriptor is opened with O_NONBLOCK (so opening a FIFO
    returns at once) and checked again with fstat."""
    regular = bad / "regular.yaml"
    regular.write_text("config: {}\n")
    real_stat = os.stat

    def stat_sees_the_regular_file(path, *args, **kwargs):
        return real_stat(regular if str(path) == str(bad / "fifo") else path, *args, **kwargs)

    monkeypatch.setattr(os, "stat", stat_sees_the_regular_file)
    with pytest.raises(InputError) as error:
        inputs.read_text(bad / "fifo", "config file")
    assert str(error.value) == f"config file '{bad / 'fifo'}': is a FIFO; {REGULAR}"


def test_a_utf8_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.json"
    path.write_bytes(b'\xef\xbb\xbf{"a": 1}')
    assert inputs.load_json_file(path, "--policy-config") == {"a": 1}


def test_display_escapes_undecodable_bytes_of_a_name() -> None:
    name = os.fsdecode(b"caf\xe9.yaml")
    assert inputs.display(name) == "caf\\xe9.yaml"


@pytest.mark.parametrize(
    "argv",
    [["preview", "{key}"], ["scan", "--bogus={key}"], ["{key}"]],
    ids=["extra argument", "unknown option", "unknown command"],
)
def test_argparse_errors_mask_a_key_pasted_on_the_command_line(
    capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    key = secrets.token_hex(16)
    with pytest.raises(SystemExit) as done:
        main([arg.format(key=key) for arg in argv])
    err = capsys.readouterr().err
    assert done.value.code == 2
    assert key not in err
    assert mask(key) in err
