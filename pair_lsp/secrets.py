"""API keys: resolved from an env var or a key command, held in memory only, never logged.

:class:`Redactor` scrubs any resolved key from text before it reaches a log, a transcript or a
message; every such writer goes through :func:`redact`.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import threading

from pair_lsp.config import RoleConfig

_known: set[str] = set()
_lock = threading.Lock()
_KEYLIKE = re.compile(r"\b(sk-(?:ant-)?[A-Za-z0-9_\-]{8,})\b")


class KeyResolutionError(Exception):
    pass


def remember(secret: str) -> None:
    if secret and len(secret) >= 4:
        with _lock:
            _known.add(secret)


def redact(text: str) -> str:
    with _lock:
        secrets = sorted(_known, key=len, reverse=True)
    for secret in secrets:
        text = text.replace(secret, "***")
    return _KEYLIKE.sub("sk-***", text)


def resolve_key(role: RoleConfig) -> str | None:
    """The role's key from its key command or env var, or None when there is none."""
    if role.apiKeyCommand:
        try:
            out = subprocess.run(
                shlex.split(role.apiKeyCommand), capture_output=True, text=True, timeout=30,
                check=False,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            raise KeyResolutionError(
                f"the key command for {role.label} failed to run: {exc}") from None
        if out.returncode != 0:
            raise KeyResolutionError(
                f"the key command for {role.label} exited with status {out.returncode}")
        key = out.stdout.strip()
        if not key:
            raise KeyResolutionError(f"the key command for {role.label} printed nothing")
        remember(key)
        return key
    env = role.default_key_env()
    if env:
        key = os.environ.get(env, "").strip()
        if key:
            remember(key)
            return key
    return None


def redact_command(command: str) -> str:
    """A key command as it may be shown: its program's name, and `***` for any arguments (a
    command may carry the key inline: `echo sk-...`, `sh -c 'printf KEY'`)."""
    try:
        words = shlex.split(command)
    except ValueError:
        return "***"
    if not words:
        return ""
    program = os.path.basename(words[0]) or "***"
    return redact(program) + (" ***" if len(words) > 1 else "")


def key_status(role: RoleConfig, *, command_run: bool = True) -> str:
    """'yes' / 'no' / 'from command' for doctor and checkhealth: never the key itself."""
    if role.provider == "local":
        return "not needed"
    if role.apiKeyCommand:
        return "from command" if command_run else "from command (not run)"
    env = role.default_key_env()
    return f"yes ({env})" if env and os.environ.get(env, "").strip() else f"no ({env})"
