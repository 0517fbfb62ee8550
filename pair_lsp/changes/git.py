"""The change under review, from the user's own `git`: scopes, diff parsing (unidiff), skips.

Scopes: ``uncommitted`` (staged + unstaged + untracked-not-ignored, against HEAD), ``staged``,
``base`` (the merge base with a ref, plus uncommitted work), ``commit`` (one commit). Binary
files, deletions, submodules, symlinks, files over the size cap and files beyond
``changes.maxFiles`` are listed with the reason they are skipped. git runs without a shell and
with options that keep its output parseable whatever the user's config says (no colour, no
external diff or textconv, a/ b/ prefixes).
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from unidiff import PatchedFile, PatchSet
from unidiff.errors import UnidiffParseError

SCOPES = ("uncommitted", "staged", "base", "commit")
MAX_FILE_BYTES = 512 * 1024  # larger files are listed and skipped

_DIFF = ("-c", "core.quotepath=off", "diff", "--no-color", "--no-ext-diff", "--no-textconv",
         "--no-relative", "-M", "--unified=3", "--src-prefix=a/", "--dst-prefix=b/")


class ChangesError(Exception):
    """Not a repository, no changes, an unknown ref: one message for the user."""


@dataclass(frozen=True)
class HunkLines:
    """One hunk in new-file terms: 1-based target lines, added lines, removed text by the
    target line it stood before."""

    target_start: int
    target_length: int
    added: tuple[int, ...]
    removed: tuple[tuple[int, str], ...]


@dataclass
class ChangedFile:
    path: str  # repository-relative, '/' separated (the new path for a rename)
    status: str  # added | modified | renamed | deleted
    old_path: str | None = None
    hunks: list[HunkLines] = field(default_factory=list)
    text: str | None = None  # the new file's text (None when skipped)
    skipped: str | None = None  # why this file is not reviewed

    @property
    def changed_lines(self) -> int:
        return sum(len(h.added) + len(h.removed) for h in self.hunks)


@dataclass
class ChangeSet:
    root: Path
    scope: str
    label: str  # e.g. "uncommitted changes", "changes since main (merge base 1a2b3c4)"
    files: list[ChangedFile]

    @property
    def reviewable(self) -> list[ChangedFile]:
        return [f for f in self.files if f.skipped is None]

    @property
    def skipped(self) -> list[ChangedFile]:
        return [f for f in self.files if f.skipped is not None]

    def get(self, path: str) -> ChangedFile | None:
        path = path.replace("\\", "/").removeprefix("./")
        return next((f for f in self.files if f.path == path), None)


def _git(cwd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0", "GIT_PAGER": "cat", "LC_ALL": "C"}
    try:
        out = subprocess.run(["git", *args], cwd=cwd, capture_output=True, env=env,
                             timeout=60, check=False)
    except FileNotFoundError:
        raise ChangesError("git is not installed (or not on PATH)") from None
    except subprocess.TimeoutExpired:
        raise ChangesError(f"git {args[0]} took longer than 60 s") from None
    if check and out.returncode != 0:
        raise ChangesError(f"git {' '.join(a for a in args if not a.startswith('-c'))} "
                           f"failed: {_err(out)}")
    return out


def _err(out: subprocess.CompletedProcess[bytes]) -> str:
    text = out.stderr.decode("utf-8", "replace").strip().splitlines()
    return text[0].removeprefix("fatal: ") if text else f"exit code {out.returncode}"


def repo_root(start: Path) -> Path:
    if not start.exists():
        raise ChangesError(f"no such directory: {start}")
    out = _git(start if start.is_dir() else start.parent, "rev-parse", "--show-toplevel",
               check=False)
    if out.returncode != 0:
        raise ChangesError(f"{start} is not inside a git repository")
    return Path(out.stdout.decode().strip())


def _resolve(root: Path, ref: str, what: str) -> str:
    if not ref or ref.startswith("-"):
        raise ChangesError(f"unknown {what} {ref!r}")
    out = _git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False)
    if out.returncode != 0:
        raise ChangesError(f"unknown {what} {ref!r}: git knows no commit by that name")
    return out.stdout.decode().strip()


def _head(root: Path) -> str | None:
    out = _git(root, "rev-parse", "--verify", "--quiet", "HEAD^{commit}", check=False)
    return out.stdout.decode().strip() if out.returncode == 0 else None


def _empty_tree(root: Path) -> str:
    return _git(root, "hash-object", "-t", "tree", os.devnull).stdout.decode().strip()


def collect(start: Path, scope: str, ref: str | None = None, *,
            max_files: int = 100) -> ChangeSet:
    """The change set of ``scope`` in the repository holding ``start``. Raises ChangesError."""
    if scope not in SCOPES:
        raise ChangesError(f"unknown scope {scope!r} (choose from {', '.join(SCOPES)})")
    root = repo_root(start)
    head = _head(root)
    untracked = False
    show: str | None = None  # where new texts come from: None = the working tree
    if scope == "uncommitted":
        args, label, untracked = [head or _empty_tree(root)], "uncommitted changes", True
    elif scope == "staged":
        args, label, show = ["--cached", head or _empty_tree(root)], "staged changes", ""
    elif scope == "base":
        if not ref:
            raise ChangesError("the base scope needs a ref (a branch, tag or commit)")
        target = _resolve(root, ref, "ref")
        if head is None:
            raise ChangesError("the repository has no commits yet: there is no merge base")
        mb = _git(root, "merge-base", target, head, check=False)
        if mb.returncode != 0:
            raise ChangesError(f"{ref} and HEAD have no common ancestor")
        base = mb.stdout.decode().strip()
        args, untracked = [base], True
        label = f"changes since {ref} (merge base {base[:7]}), with uncommitted work"
    else:
        if not ref:
            raise ChangesError("the commit scope needs a commit")
        sha = _resolve(root, ref, "commit")
        parent = _git(root, "rev-parse", "--verify", "--quiet", f"{sha}^", check=False)
        base = parent.stdout.decode().strip() if parent.returncode == 0 else _empty_tree(root)
        args, label, show = [base, sha], f"commit {sha[:7]}", sha
    out = _git(root, *_DIFF, *args)
    files = parse_diff(out.stdout.decode("utf-8", "replace"))
    if untracked:
        files += _untracked(root, {f.path for f in files})
    if not files:
        raise ChangesError(f"no {label} to review" if scope != "base"
                           else f"no changes since {ref}")
    for changed in files:
        if changed.skipped is None:
            _load_text(root, changed, show)
    for changed in [f for f in files if f.skipped is None][max_files:]:
        changed.skipped = f"beyond the first {max_files} files (pair.changes.maxFiles)"
    return ChangeSet(root, scope, label, files)


def parse_diff(text: str) -> list[ChangedFile]:
    """Changed files from `git diff` output; anything odd is skipped with a reason."""
    try:
        patch = PatchSet(text)
    except UnidiffParseError as exc:
        raise ChangesError(f"could not read git's diff: {exc}") from None
    return [_changed(pf) for pf in patch]


def _strip(name: str | None) -> str | None:
    if name is None or name == "/dev/null":
        return None
    return name[2:] if name[:2] in ("a/", "b/") else name


def _changed(pf: PatchedFile) -> ChangedFile:
    new = _strip(pf.target_file) or pf.path
    old = _strip(pf.source_file)
    if pf.is_rename:
        status = "renamed"
    elif pf.is_added_file:
        status = "added"
    elif pf.is_removed_file:
        status, new = "deleted", old or pf.path
    else:
        status = "modified"
    out = ChangedFile(new, status, old if status == "renamed" else None)
    if status == "deleted":
        out.skipped = "deleted (nothing left to review)"
    elif pf.is_binary_file:
        out.skipped = "binary file"
    elif getattr(pf, "is_submodule", False):
        out.skipped = "submodule (review it in its own repository)"
    elif getattr(pf, "is_symlink", False):
        out.skipped = "symbolic link"
    elif status == "renamed" and not len(pf):
        out.skipped = f"renamed from {old} without changes"
    elif status == "added" and not len(pf):
        out.skipped = "empty file"
    elif not len(pf):
        out.skipped = "mode change only"
    for hunk in pf:
        added: list[int] = []
        removed: list[tuple[int, str]] = []
        next_target = hunk.target_start
        for line in hunk:
            if line.target_line_no is not None:
                next_target = line.target_line_no + 1
            if line.is_added and line.target_line_no is not None:
                added.append(line.target_line_no)
            elif line.is_removed:
                removed.append((next_target, line.value.rstrip("\n")))
        out.hunks.append(HunkLines(hunk.target_start, hunk.target_length, tuple(added),
                                   tuple(removed)))
    return out


def _untracked(root: Path, known: set[str]) -> list[ChangedFile]:
    out = _git(root, "-c", "core.quotepath=off", "ls-files", "--others", "--exclude-standard",
               "-z")
    files: list[ChangedFile] = []
    for raw in out.stdout.split(b"\0"):
        path = raw.decode("utf-8", "replace")
        if not path or path in known:
            continue
        changed = ChangedFile(path, "added")
        full = root / path
        if full.is_symlink():
            changed.skipped = "symbolic link"
        elif full.is_dir():
            changed.skipped = "nested repository (review it in its own repository)"
        files.append(changed)
    return files


def _load_text(root: Path, changed: ChangedFile, show: str | None) -> None:
    """Fill ``changed.text`` from the working tree (show=None), the index (show="") or a
    commit; mark it skipped when it is binary, too large or unreadable."""
    try:
        if show is None:
            full = root / changed.path
            if full.stat().st_size > MAX_FILE_BYTES:
                changed.skipped = f"larger than {MAX_FILE_BYTES // 1024} KB"
                return
            data = full.read_bytes()
        else:
            data = _git(root, "cat-file", "blob", f"{show}:{changed.path}").stdout
    except (OSError, ChangesError) as exc:
        changed.skipped = f"could not be read ({getattr(exc, 'strerror', None) or exc})"
        return
    if len(data) > MAX_FILE_BYTES:
        changed.skipped = f"larger than {MAX_FILE_BYTES // 1024} KB"
        return
    if b"\0" in data[:8192]:
        changed.skipped = "binary file"
        return
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        changed.skipped = "not UTF-8 text"
        return
    changed.text = text.replace("\r\n", "\n")
    if not changed.hunks:  # an untracked file: every line is new
        count = len(changed.text.splitlines())
        if count == 0:
            changed.skipped = "empty file"
            return
        changed.hunks = [HunkLines(1, count, tuple(range(1, count + 1)), ())]
