"""Write a change set: every file or none. Each file must still hold the text read when the
session started; then every new text is written to a temporary file beside its target and all
are renamed into place (each file atomically; a failure before the renames writes nothing)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from pair_lsp.changes.git import ChangesError
from pair_lsp.changes.pairing import FileProposal


def write_change_set(root: Path, proposals: list[FileProposal]) -> list[str]:
    """Write ``proposals`` under ``root``; ChangesError (nothing written) when a file changed
    on disk since the session read it. Returns the paths written."""
    for p in proposals:
        try:
            with open(root / p.path, encoding="utf-8", newline="") as fh:
                now = fh.read()
        except (OSError, UnicodeDecodeError):
            now = None
        if now != p.original:
            raise ChangesError(f"{p.path} changed on disk since the session started; nothing "
                               "was written")
    staged: list[tuple[str, Path]] = []
    try:
        for p in proposals:
            target = root / p.path
            fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".pair-tmp",
                                       dir=target.parent)
            staged.append((tmp, target))
            with os.fdopen(fd, "wb") as fh:
                fh.write(p.proposed.encode("utf-8"))
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, target.stat().st_mode & 0o7777)
    except OSError as exc:
        for tmp, _ in staged:
            Path(tmp).unlink(missing_ok=True)
        raise ChangesError(f"could not write the change set ({exc}); nothing was written") \
            from None
    for tmp, target in staged:
        os.replace(tmp, target)
    return [p.path for p in proposals]
