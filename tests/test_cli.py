"""`pair-lsp run` as a user runs it: a real subprocess, real SDKs, the fake model server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pair_lsp.testing.fake_server import FakeModelServer
from tests.scripts import APPROVE, BUGGY, REVISE_EMPTY, WORKER_R1, WORKER_R2


def cli(*args: str, env: dict[str, str] | None = None,
        cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items()
                if k not in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY")}
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "pair_lsp", *args], capture_output=True,
                          text=True, env=full_env, cwd=cwd, timeout=120, check=False)


def fake_env(fake: FakeModelServer, tmp: Path) -> dict[str, str]:
    return {"XDG_STATE_HOME": str(tmp / "state"), "XDG_CACHE_HOME": str(tmp / "cache")}


def fake_args(fake: FakeModelServer) -> list[str]:
    return ["--worker", "openai:w", "--worker-url", fake.openai_url,
            "--reviewer", "anthropic:r", "--reviewer-url", fake.anthropic_url]


def test_run_prints_the_approved_diff(fake: FakeModelServer, tmp_path: Path) -> None:
    fake.script("w", [WORKER_R1, WORKER_R2])
    fake.script("r", [REVISE_EMPTY, APPROVE])
    target = tmp_path / "m.py"
    target.write_text(BUGGY)
    out = cli("run", str(target), "--lines", "1-7", *fake_args(fake),
              env=fake_env(fake, tmp_path))
    assert out.returncode == 0, out.stderr
    assert "-    best = 0\n" in out.stdout and "+    for v in values[1:]:\n" in out.stdout
    assert "round 2 · reviewer: approve" in out.stderr
    assert "transcript:" in out.stderr
    assert target.read_text() == BUGGY  # no --apply: untouched


def test_run_apply_writes_the_file(fake: FakeModelServer, tmp_path: Path) -> None:
    fake.script("w", [WORKER_R1])
    fake.script("r", [APPROVE])
    target = tmp_path / "m.py"
    target.write_bytes(BUGGY.replace("\n", "\r\n").encode())
    out = cli("run", str(target), "--apply", "--no-cache", *fake_args(fake),
              env=fake_env(fake, tmp_path))
    assert out.returncode == 0, out.stderr
    assert target.read_bytes() == BUGGY.replace("best = 0", "best = values[0]").replace(
        "\n", "\r\n").encode()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".pair-tmp")]


def test_run_not_approved_exits_2(fake: FakeModelServer, tmp_path: Path) -> None:
    fake.script("w", [WORKER_R1, WORKER_R2])
    fake.script("r", [REVISE_EMPTY])
    target = tmp_path / "m.py"
    target.write_text(BUGGY)
    out = cli("run", str(target), "--apply", "--max-rounds", "2", "--no-cache",
              *fake_args(fake), env=fake_env(fake, tmp_path))
    assert out.returncode == 2, out.stderr
    assert out.stdout == "" and target.read_text() == BUGGY


@pytest.mark.parametrize("case", ["missing", "binary", "empty", "range", "provider", "key",
                                  "directory"])
def test_bad_input_one_clear_line(tmp_path: Path, case: str) -> None:
    target = tmp_path / "m.py"
    target.write_text(BUGGY)
    # no silent switch to the offline model: the missing key must be reported
    (tmp_path / ".pair-lsp.toml").write_text("localFallback = false\n")
    args = ["run", str(target)]
    expected = {"missing": "no such file", "binary": "binary file", "empty": "is empty",
                "range": "out of range", "provider": "unknown provider",
                "key": "No API key", "directory": "is a directory"}[case]
    if case == "missing":
        args = ["run", str(tmp_path / "nope.py")]
    elif case == "binary":
        target.write_bytes(b"\x00\x01\x02binary")
    elif case == "empty":
        target.write_text("")
    elif case == "range":
        args += ["--lines", "5-900"]
    elif case == "provider":
        args += ["--worker", "nosuch:model"]
    elif case == "directory":
        args = ["run", str(tmp_path)]
    before = target.read_bytes()
    out = cli(*args, env={"XDG_STATE_HOME": str(tmp_path / "s"),
                          "XDG_CACHE_HOME": str(tmp_path / "c")}, cwd=tmp_path)
    assert out.returncode == 1
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], out.stderr
    assert "Traceback" not in out.stderr
    assert target.read_bytes() == before
