"""`pair-lsp run --uncommitted -m ... --apply`: the worker fixes the reviewer's findings across
files (path-labelled blocks), the reviewer checks; every file written byte-exact, or none."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pair_lsp.changes.pairing import split_blocks
from pair_lsp.testing.fake_server import FakeModelServer
from tests.changes_repo import APP_PY_NEW, UTIL_JS_NEW, by_file, make_repo, review
from tests.scripts import block
from tests.test_changes_cli import APP_F, JS_F
from tests.test_cli import cli, fake_env

WORKER = ("Guard the empty list and fix the name.\n"
          "src/app.py\n" + block("    return s / len(prices)",
                                 "    return s / len(prices) if prices else 0") +
          "\nweb/util.js\n" + block("  return 'hi ' + nam;", "  return 'hi ' + name;"))


def pair_args(fake: FakeModelServer, *extra: str) -> list[str]:
    return ["run", "--uncommitted", "-m", "fix what the reviewer finds", *extra,
            "--worker", "openai:w", "--worker-url", fake.openai_url,
            "--reviewer", "anthropic:r", "--reviewer-url", fake.anthropic_url, "--no-cache"]


def setup(tmp_path: Path) -> Path:
    repo = make_repo(tmp_path / "repo")
    (repo / "web" / "util.js").write_bytes(UTIL_JS_NEW.replace("\n", "\r\n").encode())
    return repo


def test_pair_on_uncommitted_applies_every_file(fake: FakeModelServer, tmp_path: Path) -> None:
    repo = setup(tmp_path)
    fake.script("r", [by_file({"src/app.py": [APP_F], "web/util.js": [JS_F]}), review()])
    fake.script("w", [WORKER])
    out = cli(*pair_args(fake, "--apply"), env=fake_env(fake, tmp_path), cwd=repo)
    assert out.returncode == 0, out.stderr
    assert "+    return s / len(prices) if prices else 0\n" in out.stdout
    assert "+  return 'hi ' + name;" in out.stdout
    assert (repo / "src" / "app.py").read_bytes() == APP_PY_NEW.replace(
        "len(prices)\n", "len(prices) if prices else 0\n").encode()
    assert (repo / "web" / "util.js").read_bytes() == UTIL_JS_NEW.replace(
        "nam;", "name;").replace("\n", "\r\n").encode()  # its CRLF endings kept
    assert not list(repo.rglob("*.pair-tmp"))
    worker_request = next(r for r in fake.requests if r.model == "w")
    assert "FILE: src/app.py" in str(worker_request.body)


def test_a_file_changed_mid_session_aborts_the_whole_write(fake: FakeModelServer,
                                                           tmp_path: Path) -> None:
    repo = setup(tmp_path)
    before = {p: (repo / p).read_bytes() for p in ("src/app.py", "web/util.js")}

    def worker(_: dict[str, Any]) -> str:  # the user edits a file while the worker works
        (repo / "src" / "app.py").write_text(APP_PY_NEW + "# edited meanwhile\n")
        return WORKER

    fake.script("r", [by_file({"src/app.py": [APP_F], "web/util.js": [JS_F]}), review()])
    fake.script("w", [worker])
    out = cli(*pair_args(fake, "--apply"), env=fake_env(fake, tmp_path), cwd=repo)
    assert out.returncode == 1
    assert "src/app.py changed on disk since the session started; nothing was written" in \
        out.stderr
    assert (repo / "web" / "util.js").read_bytes() == before["web/util.js"]
    assert (repo / "src" / "app.py").read_text().endswith("# edited meanwhile\n")


def test_blocks_need_a_path_in_a_multi_file_session() -> None:
    text = ("a.py\n" + block("x = 1", "x = 2") + block("y = 1", "y = 2") +
            "\nnot/in/change.py\n" + block("z", "w") + "\n" + block("q", "r").replace(
                "<<<<<<< SEARCH", "Here:\n<<<<<<< SEARCH", 1))
    pairs, problems = split_blocks(text, {"a.py", "b.py"})
    assert [(p, b.search) for p, b in pairs] == [("a.py", "x = 1"), ("a.py", "y = 1")]
    assert len(problems) == 2 and "'not/in/change.py'" in problems[0]
    assert "write the file's path there" in problems[1]


def test_run_needs_a_file_or_a_change(tmp_path: Path) -> None:
    out = cli("run", cwd=tmp_path)
    assert out.returncode == 1
    assert out.stderr.strip() == ("pair-lsp: error: run needs a FILE (or --resume SESSION_ID, or "
                                  "--uncommitted / --base REF for a change)")


def test_a_check_raising_only_files_outside_the_change_is_not_approval(
        fake: FakeModelServer, tmp_path: Path) -> None:
    repo = setup(tmp_path)
    outside = {"id": "F1", "file": "lib/other.py", "quote": "x", "line": 1, "severity": "error",
               "confidence": None, "message": "elsewhere", "rule": None, "suggestion": None}
    fake.script("r", [by_file({"src/app.py": [APP_F], "web/util.js": [JS_F]}),
                      review(outside)])
    fake.script("w", [WORKER])
    out = cli(*pair_args(fake, "--apply"), env=fake_env(fake, tmp_path), cwd=repo)
    assert out.returncode == 2, out.stderr
    assert "findings on files outside the change were dropped: lib/other.py" in out.stderr
    assert "exhausted (outside_change)" in out.stderr
    assert (repo / "src" / "app.py").read_text() == APP_PY_NEW  # nothing applied
