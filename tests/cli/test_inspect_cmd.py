"""``takeback inspect`` end to end on real files: through the real ``takeback.cli.main`` in-process, and
as a real subprocess for stdin and terminal colours.

Until ``takeback.cli`` registers the command, :func:`with_commands` adds it to the real parser (the
subprocess does the same through :data:`RUNNER`); once registered it changes nothing.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

import takeback.cli as cli
from takeback.cli import check_cmd, inspect_cmd
from tests.observe.test_explain import INVITE_10_1, NOTIFY_10_5, REFER_SPELLINGS, refer

RUNNER = """
import sys
import takeback.cli as cli
from tests.cli.test_inspect_cmd import with_commands

cli.build_parser = with_commands(cli.build_parser)
sys.exit(cli.main(sys.argv[1:]))
"""


def with_commands(build: Callable[[], argparse.ArgumentParser]) -> Callable[[], argparse.ArgumentParser]:
    """``build_parser`` plus ``inspect`` and ``check`` when it lacks them."""

    def build_parser() -> argparse.ArgumentParser:
        parser = build()
        commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        for module, name in ((inspect_cmd, "inspect"), (check_cmd, "check")):
            if name not in commands.choices:
                module.register(commands)
        return parser

    return build_parser


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str


Takeback = Callable[..., Ran]


def in_process(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Takeback:
    monkeypatch.setattr(cli, "build_parser", with_commands(cli.build_parser))

    def run(*args: str) -> Ran:
        capsys.readouterr()
        code = cli.main(list(args))
        out, err = capsys.readouterr()
        return Ran(code, out, err)

    return run


@pytest.fixture
def takeback(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Takeback:
    return in_process(monkeypatch, capsys)


def run_cli(*args: str, stdin: bytes | None = None, color: bool = False) -> Ran:
    """The command as a real subprocess (``python -c RUNNER``), from the repository root."""
    env_code = "import os; os.environ['FORCE_COLOR'] = '1'\n" if color else ""
    result = subprocess.run(
        [sys.executable, "-c", env_code + RUNNER, *args],
        input=stdin,
        capture_output=True,
        timeout=60,
        check=False,
        cwd=Path(__file__).resolve().parents[2],
    )
    return Ran(result.returncode, result.stdout.decode(), result.stderr.decode())


def message_file(tmp_path: Path, text: str | bytes, name: str = "message.txt") -> str:
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return str(path)


def test_invite_human_output(tmp_path: Path) -> None:
    result = run_cli("inspect", message_file(tmp_path, INVITE_10_1))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.splitlines()[0] == "INVITE sip:+19999990001@203.0.113.10:5060 SIP/2.0"
    assert "Call.UUIData  'Case-12345'  from User-to-User" in out
    assert "type User-to-User, encoding hex, PD 00" in out
    assert "2c3b5a1e-7d4f-4f6e-9c1a-0e2b7b6f8a11" in out
    assert "PCMU/8000 (0), PCMA/8000 (8), telephone-event 101" in out
    assert "paste-content-length" in out


@pytest.mark.parametrize("spelling", list(REFER_SPELLINGS))
def test_refer_spellings_json(takeback: Takeback, tmp_path: Path, spelling: str) -> None:
    value, rfc_correct = REFER_SPELLINGS[spelling]
    result = takeback("inspect", message_file(tmp_path, refer(value)), "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["refer_to"]["spelling"] == spelling
    assert data["refer_to"]["rfc_correct"] is rfc_correct
    assert data["refer_to"]["number"] == "+33456456456"
    assert data["call_uui_data"] == "This is my data"


def test_refer_human_output_says_rfc_correctness(takeback: Takeback, tmp_path: Path) -> None:
    value, _ = REFER_SPELLINGS["unescaped-semicolon"]
    out = takeback("inspect", message_file(tmp_path, refer(value))).stdout
    assert "NOT RFC-correct" in out and "refer-to-spelling-unescaped-semicolon" in out
    assert "RFC-correct ✓" in takeback("inspect", message_file(tmp_path, refer())).stdout


def test_notify(takeback: Takeback, tmp_path: Path) -> None:
    result = takeback("inspect", message_file(tmp_path, NOTIFY_10_5))
    assert result.returncode == 0, result.stderr  # warnings do not change the exit code
    assert "sipfrag       SIP/2.0 100 Trying" in result.stdout
    assert "⚠ missing-via" in result.stdout


def test_stdin(tmp_path: Path) -> None:
    result = run_cli("inspect", "-", "--json", stdin=refer().encode())
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["method"] == "REFER"


def test_json_shape(takeback: Takeback, tmp_path: Path) -> None:
    data = json.loads(takeback("inspect", message_file(tmp_path, INVITE_10_1), "--json").stdout)
    assert data["ok"] is True
    for key in (
        "start_line", "kind", "method", "request_uri", "status", "call_id", "from", "to", "conversation_id",
        "uui_headers", "call_uui_data", "refer_to", "digest", "sdp", "notify", "findings", "warnings",
        "input_notes",
    ):  # fmt: skip
        assert key in data
    assert data["uui_headers"][0]["pd"] == "00"
    assert data["sdp"]["media"][0]["telephone_event"] == 101


@pytest.mark.parametrize(
    "text", ["hello world\n", "INVITE sip:x@y SIP/2.0\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\n\n", ""]
)
def test_unparseable_exits_1_with_one_line(takeback: Takeback, tmp_path: Path, text: str) -> None:
    result = takeback("inspect", message_file(tmp_path, text))
    assert result.returncode == 1
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith("takeback inspect: unparseable message: ")
    assert "Traceback" not in result.stderr


def test_unparseable_json(takeback: Takeback, tmp_path: Path) -> None:
    result = takeback("inspect", message_file(tmp_path, "hello\n"), "--json")
    assert result.returncode == 1
    assert json.loads(result.stdout) == {"ok": False, "error": "bad request line 'hello'", "status": 400}


def test_missing_file_is_a_usage_error(takeback: Takeback, tmp_path: Path) -> None:
    result = takeback("inspect", str(tmp_path / "nope.txt"))
    assert result.returncode == 2
    assert "cannot read" in result.stderr and "Traceback" not in result.stderr


def test_hostile_text_is_printed_literally(tmp_path: Path) -> None:
    hostile = (
        INVITE_10_1.replace('"+13175551234" <sip', '"[bold red]Mallory[/bold red]" <sip')
        .replace("2c3b5a1e-7d4f-4f6e-9c1a-0e2b7b6f8a11", "\x1b[31mred\x1b[0m\x1b]0;title\x07")
        .replace(
            "User-to-User: 00436173652D3132333435;encoding=hex",
            "x-User-to-User: <script>alert(1)</script>;encoding=ascii",
        )
    )
    result = run_cli("inspect", message_file(tmp_path, hostile))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert '"[bold red]Mallory[/bold red]"' in out  # not rich markup
    assert "\x1b" not in out and "\x07" not in out  # no terminal control from the message ...
    assert "\\x1b[31mred\\x1b[0m" in out  # ... shown escaped instead
    assert "'<script>alert(1)</script>'" in out
    data = json.loads(run_cli("inspect", message_file(tmp_path, hostile), "--json").stdout)
    assert data["conversation_id"] == "\x1b[31mred\x1b[0m\x1b]0;title\x07"  # JSON keeps the exact value


def test_forced_colour_still_escapes_the_message(tmp_path: Path) -> None:
    """With colours on, the only escape sequences are rich's own styles (SGR ``ESC[…m``)."""
    hostile = INVITE_10_1.replace("2c3b5a1e-7d4f-4f6e-9c1a-0e2b7b6f8a11", "\x1b]0;pwned\x07")
    result = run_cli("inspect", message_file(tmp_path, hostile), color=True)
    assert result.returncode == 0, result.stderr
    assert "\x1b[" in result.stdout  # colours are on
    assert "\x1b]" not in result.stdout and "\x07" not in result.stdout
    assert "\\x1b]0;pwned\\x07" in result.stdout
