"""The proof (issue 12): a command run on a temporary copy of the workspace with the candidate
applied, before each review; its result reaches the reviewer; it never touches the user's files,
sees no API key, is killed at its timeout, and runs from a project file only when trusted."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pair_lsp.config import ProofConfig, parse_settings
from pair_lsp.loop import events as ev
from pair_lsp.loop.proof import failure_allowed, run_proof
from pair_lsp.loop.session import PairRequest
from pair_lsp.runner import SessionFactory
from pair_lsp.testing.fake_server import FakeModelServer
from tests.conftest import pair_settings
from tests.scripts import APPROVE, BUGGY, WORKER_R1

PY = sys.executable


def workspace(tmp: Path) -> Path:
    ws = tmp / "ws"
    (ws / "pkg").mkdir(parents=True)
    (ws / "pkg" / "m.py").write_bytes(BUGGY.encode())
    (ws / "README.md").write_text("hello\n")
    return ws


async def pair(fake: FakeModelServer, tmp: Path, ws: Path, proof: dict[str, Any],
               instruction: str = "") -> tuple[ev.Finished, list[ev.Event]]:
    settings, errors = parse_settings(pair_settings(fake, "openai", "anthropic", tmp,
                                                    proof=proof, maxRounds=1))
    assert errors == []
    factory = SessionFactory(settings, workspace=ws)
    session = factory.create(PairRequest(document=BUGGY, path=str(ws / "pkg" / "m.py"),
                                         language_id="python", instruction=instruction))
    events = [e async for e in session.run()]
    await factory.aclose()
    for event in events:
        json.dumps(event.to_json())
    assert isinstance(events[-1], ev.Finished)
    return events[-1], events


async def test_failing_proof_reaches_the_reviewer_and_blocks_approval(
        fake: FakeModelServer, tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    fake.script("w", [WORKER_R1])
    fake.script("r", [APPROVE])  # the reviewer approves anyway
    check = ("import sys; t = open(sys.argv[1]).read(); print('checked', len(t)); "
             "print('AssertionError: largest([]) raised IndexError'); sys.exit(3)")
    done, events = await pair(fake, tmp_path, ws, {"command": [PY, "-c", check, "{file}"]})
    assert done.status != "approved"
    body = json.dumps(next(r for r in fake.requests if r.model == "r").body)
    assert "FAILED (exit code 3)" in body and "largest([]) raised IndexError" in body
    assert "Do not approve" in body
    ran = [e for e in events if isinstance(e, ev.ProofRan)]
    assert len(ran) == 1 and ran[0].exit_code == 3 and not ran[0].passed
    assert ran[0].message.startswith("proof: failed, exit 3 (")
    final = [e for e in events if isinstance(e, ev.Reviewed)][-1]
    assert final.verdict == "revise" and "proof" in final.findings[-1].message
    # an instruction that allows a failing proof leaves the reviewer's approval standing
    fake.reset()
    fake.script("w", [WORKER_R1])
    fake.script("r", [APPROVE])
    done, _ = await pair(fake, tmp_path, ws, {"command": [PY, "-c", check, "{file}"]},
                         instruction="the tests may fail for now; just fix the start value")
    assert done.status == "approved"


async def test_proof_runs_on_a_copy_and_the_users_files_stay_identical(
        fake: FakeModelServer, tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    original = (ws / "pkg" / "m.py").read_bytes()
    record = tmp_path / "record.json"
    # inside the proof: the user's file as it is while the proof runs, and the copy's
    check = ("import json, os, sys; user, copy, root, out = sys.argv[1:]; "
             "json.dump({'user': open(user, 'rb').read().decode(), "
             "'copy': open(copy).read(), 'cwd': os.getcwd(), 'root': root, "
             "'readme': os.path.exists(os.path.join(root, 'README.md'))}, open(out, 'w')); "
             "open(copy, 'w').write('clobbered')")
    fake.script("w", [WORKER_R1])
    fake.script("r", [APPROVE])
    done, events = await pair(fake, tmp_path, ws, {
        "command": [PY, "-c", check, str(ws / "pkg" / "m.py"), "{file}", "{workspace}",
                    str(record)]})
    assert done.status == "approved"
    seen = json.loads(record.read_text())
    assert seen["user"] == original.decode()  # during the proof
    assert "best = values[0]" in seen["copy"] and seen["readme"]
    assert seen["cwd"] == seen["root"] != str(ws)
    assert (ws / "pkg" / "m.py").read_bytes() == original  # after
    assert not await asyncio.to_thread(os.path.exists, seen["root"])  # the copy is gone
    body = json.dumps(next(r for r in fake.requests if r.model == "r").body)
    assert "PASSED (exit code 0)" in body
    assert next(e.message for e in events if isinstance(e, ev.ProofRan)).startswith(
        "proof: passed (")


async def test_proof_copies_only_tracked_and_unignored_files_in_git(tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    (ws / ".gitignore").write_text("secret.env\n")
    (ws / "secret.env").write_text("x")
    await asyncio.to_thread(subprocess.run, ["git", "init", "-q"], cwd=ws, check=True)
    result = await run_proof(ProofConfig(command=(PY, "-c", "import os; print(sorted(os.listdir"
                                                  "('.')))")),
                             workspace=ws, file=ws / "pkg" / "m.py", new_text="x = 1\n")
    assert result.passed
    assert "pkg" in result.output and "README.md" in result.output
    assert "secret.env" not in result.output and ".git'" not in result.output


async def test_a_hanging_proof_is_killed_at_its_timeout(tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    pid_file = tmp_path / "child.pid"
    hang = ("import subprocess, sys, time; "
            "c = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); "
            f"open({str(pid_file)!r}, 'w').write(str(c.pid)); print('started', flush=True); "
            "time.sleep(60)")
    result = await run_proof(ProofConfig(command=(PY, "-c", hang), timeout=1.0), workspace=ws,
                             file=ws / "pkg" / "m.py", new_text=BUGGY)
    assert result.timed_out and not result.passed and result.exit_code is None
    assert "started" in result.output and result.message.startswith("proof: timed out")
    child = int(pid_file.read_text())
    for _ in range(50):  # the grandchild went with the process group
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            break
        await asyncio.sleep(0.1)
    else:
        pytest.fail("the proof's child process outlived the timeout")


async def test_no_api_key_reaches_the_proof(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {"OPENAI_API_KEY": "k1", "GITHUB_TOKEN": "k2", "MY_SECRET_THING": "k3",
                        "CUSTOM_ROLE_VAR": "k4"}.items():
        monkeypatch.setenv(name, value)
    ws = workspace(tmp_path)
    dump = "import json, os; print(json.dumps(dict(os.environ)))"
    result = await run_proof(ProofConfig(command=(PY, "-c", dump)), workspace=ws,
                             file=ws / "pkg" / "m.py", new_text=BUGGY,
                             secrets={"CUSTOM_ROLE_VAR"})
    env = json.loads(result.output)
    assert not {"OPENAI_API_KEY", "GITHUB_TOKEN", "MY_SECRET_THING", "CUSTOM_ROLE_VAR"} & set(env)
    assert not {"k1", "k2", "k3", "k4"} & set(env.values())
    assert "PATH" in env


async def test_a_proof_that_cannot_start_says_why(tmp_path: Path) -> None:
    result = await run_proof(ProofConfig(command=("no-such-program-xyz",)), workspace=None,
                             file=Path("m.py"), new_text="x")
    assert not result.passed and "no-such-program-xyz" in result.message


def test_failure_allowed_reads_the_instruction() -> None:
    assert failure_allowed("The tests may fail, that's fine")
    assert failure_allowed("failing tests are OK here")
    assert not failure_allowed("make the tests pass")


def test_proof_settings_and_trust(tmp_path: Path, fake: FakeModelServer) -> None:
    """A [proof] in an untrusted project file does not run; with --trust it does (real CLI)."""
    _, errors = parse_settings({"proof": {"command": "pytest"}})
    assert errors and "proof.command" in errors[0]
    project = tmp_path / "repo"
    project.mkdir()
    marker = tmp_path / "proof-ran"
    (project / "app.py").write_text(BUGGY)
    touch = f"open({str(marker)!r}, 'w').write('x')"
    command = json.dumps([PY, "-c", touch])
    (project / ".pair-lsp.toml").write_text(f"maxRounds = 1\n[proof]\ncommand = {command}\n")
    fake.script("w", [WORKER_R1])
    fake.script("r", [APPROVE])
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAIR_LSP_")}
    env.update(PAIR_LSP_WORKER="openai:w", PAIR_LSP_REVIEWER="anthropic:r",
               PAIR_LSP_BASE_URL=fake.url, OPENAI_API_KEY="k", ANTHROPIC_API_KEY="k",
               XDG_STATE_HOME=str(tmp_path / "state"), XDG_CACHE_HOME=str(tmp_path / "cache"),
               XDG_CONFIG_HOME=str(tmp_path / "config"))

    def run(*extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([PY, "-m", "pair_lsp", "run", "app.py", *extra], cwd=project,
                              env=env, capture_output=True, text=True, timeout=120,
                              check=False)

    untrusted = run()
    assert untrusted.returncode == 0, untrusted.stderr
    assert not marker.exists() and "proof" in untrusted.stderr  # named in the trust message
    trusted = run("--trust")
    assert trusted.returncode == 0, trusted.stderr
    assert marker.exists() and "proof: passed" in trusted.stderr
