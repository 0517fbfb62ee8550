"""The proof: a command (no shell) run on a temporary copy of the workspace with the candidate
applied, before each review. The user's files are never written: the copy is made of real
copies (not hard links: a command that rewrites a file in place would write through a link into
the user's file). Its environment holds no API keys; its output is capped to its tail; it is
killed (its whole process group) at its timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from pair_lsp.config import ProofConfig

TAIL = 4096  # characters of output kept (the end: where test runners summarise)
SKIP_DIRS = {".git", ".venv", "venv", "node_modules", "__pycache__", ".mypy_cache",
             ".pytest_cache", ".ruff_cache", ".tox", ".pair"}
_SECRET = re.compile(r"(_API_KEY|_TOKEN|SECRET|PASSWORD|_KEY)$|SECRET", re.IGNORECASE)

# "the proof may fail", "failing tests are fine", ...: an instruction that lets a reviewer
# approve a failing proof
_FAILURE_ALLOWED = re.compile(
    r"\b(proof|tests?|checks?)\b[^.\n]{0,30}\b(may|can|might|is allowed to|are allowed to|"
    r"expected to)\s+(still\s+)?fail|\bfailing\s+(proof|tests?|checks?)\s+(is|are)\s+"
    r"(ok|okay|fine|expected|acceptable|allowed)", re.IGNORECASE)


def failure_allowed(instruction: str) -> bool:
    return bool(_FAILURE_ALLOWED.search(instruction))


@dataclass(frozen=True)
class ProofResult:
    command: tuple[str, ...]  # as run (placeholders expanded; the copy's paths)
    exit_code: int | None  # None: killed at the timeout, or could not start
    seconds: float
    output: str  # the output's tail (stdout and stderr together)
    timed_out: bool = False
    error: str = ""  # could not start: why

    @property
    def passed(self) -> bool:
        return self.exit_code == 0

    @property
    def message(self) -> str:
        """The progress line: "proof: passed (2.1 s)"."""
        if self.error:
            return f"proof: could not run ({self.error})"
        if self.timed_out:
            return f"proof: timed out ({self.seconds:.1f} s)"
        state = "passed" if self.passed else f"failed, exit {self.exit_code}"
        return f"proof: {state} ({self.seconds:.1f} s)"


def scrubbed_env(extra_secrets: Iterable[str] = ()) -> dict[str, str]:
    """The environment without API keys, tokens, secrets, and the roles' key variables."""
    drop = set(extra_secrets)
    return {k: v for k, v in os.environ.items() if k not in drop and not _SECRET.search(k)}


def workspace_files(root: Path) -> list[Path]:
    """The files to copy, relative to ``root``: in git, tracked and untracked-not-ignored ones;
    else all but the usual tool and dependency folders."""
    try:
        out = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=root,
                             capture_output=True, timeout=30, check=True,
                             env=scrubbed_env()).stdout
        return [Path(p) for p in out.decode("utf-8", "surrogateescape").split("\0") if p]
    except (OSError, subprocess.SubprocessError):
        pass
    files: list[Path] = []
    for folder, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if d not in SKIP_DIRS]
        files += [Path(folder, n).relative_to(root) for n in names]
    return files


def copy_workspace(root: Path, dest: Path) -> None:
    for rel in workspace_files(root):
        src = root / rel
        target = dest / rel
        if ".." in rel.parts or not (src.is_file() or src.is_symlink()):
            continue  # deleted in the work tree, or not a regular file
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            shutil.copy2(src, target, follow_symlinks=False)
        except OSError:
            continue  # unreadable: the proof runs without it


def expand(args: Iterable[str], file: str, workspace: str) -> list[str]:
    return [a.replace("{file}", file).replace("{workspace}", workspace) for a in args]


def prepare(copy: Path, workspace: Path | None, file: Path, new_text: str) -> Path:
    """Fill ``copy`` with the workspace and the candidate; return the candidate file's path."""
    copy.mkdir()
    rel = Path(file.name)  # no workspace, or a file outside it: at the copy's root
    if workspace is not None:
        root = workspace.resolve()
        copy_workspace(root, copy)
        path = file if file.is_absolute() else root / file
        with contextlib.suppress(ValueError):
            rel = path.resolve().relative_to(root)
    target = copy / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.is_symlink():
        target.unlink()
    target.write_bytes(new_text.encode("utf-8"))  # the document's own line endings
    return target


async def run_proof(config: ProofConfig, *, workspace: Path | None, file: Path,
                    new_text: str, secrets: Iterable[str] = ()) -> ProofResult:
    """Run ``config.command`` on a temporary copy of ``workspace`` in which ``file`` (absolute,
    or relative to ``workspace``) holds ``new_text``."""
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="pair-proof-") as tmp:
        copy = Path(tmp) / "workspace"
        target = await asyncio.to_thread(prepare, copy, workspace, file, new_text)
        args = expand(config.command, str(target), str(copy))
        cwd = copy / expand([config.cwd], str(target), str(copy))[0] if config.cwd else copy
        try:
            proc = await asyncio.create_subprocess_exec(
                *args, cwd=cwd, env=scrubbed_env(secrets), stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
                start_new_session=True)
        except OSError as exc:
            return ProofResult(tuple(args), None, time.monotonic() - started, "",
                               error=f"{args[0]}: {exc.strerror or exc}")
        tail = bytearray()

        async def read() -> None:
            assert proc.stdout is not None
            while chunk := await proc.stdout.read(65536):
                tail.extend(chunk)
                del tail[:-TAIL]

        timed_out = False
        try:
            await asyncio.wait_for(asyncio.gather(read(), proc.wait()), config.timeout)
        except TimeoutError:
            timed_out = True
        finally:
            if proc.returncode is None or timed_out:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGKILL)
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(proc.wait(), 5)
        output = tail.decode("utf-8", "replace").replace(str(copy), "{workspace}")
        return ProofResult(tuple(args), None if timed_out else proc.returncode,
                           time.monotonic() - started, output[-TAIL:], timed_out)
