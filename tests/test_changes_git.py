"""The change set from real git repositories: every scope, skips with reasons, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from pair_lsp.changes.excerpts import batches, plan, render
from pair_lsp.changes.git import ChangesError, collect
from tests.changes_repo import APP_PY_NEW, commit_all, git, init, make_repo


def test_uncommitted_lists_every_kind_of_change(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r")
    changes = collect(repo, "uncommitted")
    files = {f.path: f for f in changes.files}
    assert set(files) == {"src/app.py", "web/util.js", "main.go", "docs.txt", "moved.txt",
                          "logo.png", "old.c"}  # debug.log is ignored
    assert [f.path for f in changes.reviewable] == ["docs.txt", "main.go", "src/app.py",
                                                    "web/util.js"] or \
        {f.path for f in changes.reviewable} == {"docs.txt", "main.go", "src/app.py",
                                                 "web/util.js"}
    assert files["logo.png"].skipped == "binary file"
    assert files["old.c"].status == "deleted" and "deleted" in (files["old.c"].skipped or "")
    assert files["moved.txt"].skipped == "renamed from same.txt without changes"
    renamed = files["docs.txt"]  # a rename with an edit: its new path's hunks are reviewed
    assert renamed.status == "renamed" and renamed.old_path == "notes.txt"
    assert [h.added for h in renamed.hunks] == [(7,)]
    assert files["src/app.py"].text == APP_PY_NEW
    assert [h.added for h in files["src/app.py"].hunks] == [(5,)]


def test_untracked_files_are_additions_and_ignored_ones_are_not(tmp_path: Path) -> None:
    repo = init(tmp_path / "r")
    (repo / "a.py").write_text("x = 1\n")
    commit_all(repo)
    (repo / ".gitignore").write_text("build/\n")
    (repo / "build").mkdir()
    (repo / "build" / "out.py").write_text("y = 2\n")
    (repo / "new.rs").write_text("fn main() {}\n")
    (repo / "empty.txt").write_text("")
    (repo / "staged_empty.txt").write_text("")
    git(repo, "add", "staged_empty.txt")
    changes = collect(repo, "uncommitted")
    files = {f.path: f for f in changes.files}
    assert set(files) == {".gitignore", "new.rs", "empty.txt", "staged_empty.txt"}
    assert files["empty.txt"].skipped == files["staged_empty.txt"].skipped == "empty file"
    assert files["new.rs"].status == "added" and files["new.rs"].hunks[0].added == (1,)


def test_a_repository_without_commits(tmp_path: Path) -> None:
    repo = init(tmp_path / "r")
    (repo / "staged.py").write_text("a = 1\n")
    git(repo, "add", "staged.py")
    (repo / "staged.py").write_text("a = 1\nb = 2\n")  # unstaged work on top
    (repo / "loose.py").write_text("c = 3\n")
    changes = collect(repo, "uncommitted")
    assert {f.path: f.text for f in changes.files} == {"staged.py": "a = 1\nb = 2\n",
                                                       "loose.py": "c = 3\n"}
    staged = collect(repo, "staged")
    assert {f.path: f.text for f in staged.files} == {"staged.py": "a = 1\n"}


def test_staged_reviews_the_index_not_the_working_tree(tmp_path: Path) -> None:
    repo = init(tmp_path / "r")
    (repo / "a.py").write_text("a = 1\n")
    commit_all(repo)
    (repo / "a.py").write_text("a = 2\n")
    git(repo, "add", "a.py")
    (repo / "a.py").write_text("a = 3\n")
    (repo / "b.py").write_text("b = 1\n")  # untracked: not staged
    staged = collect(repo, "staged")
    assert [(f.path, f.text) for f in staged.files] == [("a.py", "a = 2\n")]


def test_base_and_commit_scopes(tmp_path: Path) -> None:
    repo = init(tmp_path / "r")
    (repo / "a.py").write_text("a = 1\n")
    commit_all(repo)
    git(repo, "checkout", "-q", "-b", "feature")
    (repo / "b.py").write_text("b = 1\n")
    sha = commit_all(repo, "add b")
    (repo / "c.py").write_text("c = 1\n")  # uncommitted work counts for base
    base = collect(repo, "base", "main")
    assert {f.path for f in base.files} == {"b.py", "c.py"}
    assert "main" in base.label
    one = collect(repo, "commit", sha[:8])
    assert [(f.path, f.text) for f in one.files] == [("b.py", "b = 1\n")]
    first = collect(repo, "commit", "main")  # the root commit: against the empty tree
    assert [f.path for f in first.files] == ["a.py"]


@pytest.mark.parametrize("scope,ref,expected", [
    ("base", "no-such-branch", "unknown ref 'no-such-branch'"),
    ("commit", "deadbeef", "unknown commit 'deadbeef'"),
    ("commit", "--output=x", "unknown commit '--output=x'"),
    ("staged", None, "no staged changes to review"),
    ("nope", None, "unknown scope"),
])
def test_clear_errors(tmp_path: Path, scope: str, ref: str | None, expected: str) -> None:
    repo = init(tmp_path / "r")
    (repo / "a.py").write_text("a = 1\n")
    commit_all(repo)
    with pytest.raises(ChangesError, match=expected.replace("(", r"\(")):
        collect(repo, scope, ref)


def test_not_a_repository_and_no_changes(tmp_path: Path) -> None:
    (tmp_path / "plain").mkdir()
    with pytest.raises(ChangesError, match="not inside a git repository"):
        collect(tmp_path / "plain", "uncommitted")
    repo = init(tmp_path / "r")
    (repo / "a.py").write_text("a = 1\n")
    commit_all(repo)
    with pytest.raises(ChangesError, match="no uncommitted changes to review"):
        collect(repo, "uncommitted")


def test_large_files_and_max_files_are_skipped_with_reasons(tmp_path: Path) -> None:
    repo = init(tmp_path / "r")
    (repo / "keep.txt").write_text("k\n")
    commit_all(repo)
    (repo / "huge.py").write_text("x = 1\n" * 100_000)
    for i in range(3):
        (repo / f"f{i}.py").write_text(f"v = {i}\n")
    changes = collect(repo, "uncommitted", max_files=2)
    reasons = {f.path: f.skipped for f in changes.files}
    assert reasons["huge.py"] == "larger than 512 KB"
    assert [p for p, r in reasons.items() if r and "maxFiles" in r] == ["f2.py"]


def test_excerpts_mark_changes_and_fit_the_budget(tmp_path: Path) -> None:
    repo = init(tmp_path / "r")
    lines = [f"line {i}" for i in range(1, 401)]
    (repo / "big.py").write_text("\n".join(lines) + "\n")
    (repo / "small.py").write_text("a = 1\n")
    commit_all(repo)
    lines[99] = "line 100 changed"
    lines[299] = "line 300 changed"
    del lines[199]
    for i in range(320, 390, 2):  # many changes at the end: too many for the budget
        lines[i] += " changed too"
    (repo / "big.py").write_text("\n".join(lines) + "\n")
    (repo / "small.py").write_text("a = 2\n")
    files = {f.path: f for f in collect(repo, "uncommitted").files}
    text, windows = render(files["big.py"], 2)
    assert "100 + line 100 changed" in text and "    - line 100" in text
    assert "    - line 200" in text and windows[0] == (95, 105)  # git's 3 lines + 2
    excerpts = {e.file.path: e for e in plan(list(files.values()), max_tokens=150, context=20)}
    assert excerpts["small.py"].cut is None
    cut = excerpts["big.py"].cut
    assert cut is not None and "summarised" in cut and "not shown" in excerpts["big.py"].text
    assert len(batches(list(excerpts.values()))) == 1
