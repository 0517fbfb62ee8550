"""Files and folders only their owner can read: the cache and transcripts hold code and model
text. Folders are 0700, files 0600 (on POSIX; Windows keeps its per-user profile ACLs)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO


def owned_by_me(path: Path) -> bool:
    getuid = getattr(os, "getuid", None)
    return getuid is None or path.stat().st_uid == getuid()


def private_dir(directory: Path, *, tighten: bool = False) -> bool:
    """Create ``directory`` (and its parents) with mode 0700; with ``tighten``, also make an
    existing one of this user's 0700. Returns True when it was created here."""
    created = not directory.exists()
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    if created or (tighten and owned_by_me(directory)):
        os.chmod(directory, 0o700)
    return created


def private_file(path: Path, mode: str = "w") -> IO[str]:
    """Open ``path`` as UTF-8 text for writing ("w") or appending ("a"), mode 0600 (an existing
    file is tightened). Text that cannot be encoded (a lone surrogate) is replaced, not raised."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if mode == "a" else os.O_TRUNC)
    fd = os.open(path, flags, 0o600)
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(fd, 0o600)
        return os.fdopen(fd, mode, encoding="utf-8", errors="replace")
    except BaseException:
        os.close(fd)
        raise


def touch_private(path: Path) -> None:
    """Create ``path`` empty with mode 0600 when missing; tighten it when it exists."""
    os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
    os.chmod(path, 0o600)
