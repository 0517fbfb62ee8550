"""Project rules the team already keeps, found for a set of changed files.

Read: ``AGENTS.md`` and ``CLAUDE.md`` (every one on the way from the workspace root down to a
changed file's folder, nearest last, as Codex reads them), ``.github/copilot-instructions.md``,
``.github/instructions/*.instructions.md`` (only when their ``applyTo`` globs match a changed
file), ``.cursor/rules/*.mdc`` (``alwaysApply: true`` or ``globs`` matching a changed file) and
the files named by the ``rules.files`` setting (inside the workspace only: a project file must
not be able to send, say, a key file to a model). They are sized (each file and all together) for
the prompt's stable prefix; what is cut is said.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pair_lsp.config import RulesConfig

MAX_FILE_CHARS = 8_000
MAX_TOTAL_CHARS = 24_000
_TREE_FILES = ("AGENTS.md", "CLAUDE.md")


@dataclass(frozen=True)
class RuleFile:
    name: str  # workspace-relative path, e.g. "pkg/AGENTS.md"
    scope: str  # "every file", "files under pkg/", "files matching **/*.ts"
    text: str


@dataclass
class Rules:
    files: list[RuleFile]
    notes: list[str]  # what was cut or could not be read

    def render(self) -> str:
        """The rules section of a system prompt ('' when there are none)."""
        if not self.files:
            return ""
        parts = ["PROJECT RULES — the team's own instructions for this code. Hold the change "
                 "to them; a finding that rests on one sets \"rule\" to the file's name, a "
                 "colon and the rule's words (e.g. \"AGENTS.md: no print in library code\")."]
        for rule in self.files:
            parts.append(f"### {rule.name} (applies to {rule.scope})\n{rule.text.strip()}")
        return "\n\n".join(parts)


def find_rules(root: Path, changed: Iterable[str], config: RulesConfig) -> Rules:
    """The rules for ``changed`` (workspace-relative paths) in the workspace at ``root``."""
    rules = Rules([], [])
    if not config.enabled:
        return rules
    paths = sorted(set(changed))
    found: list[tuple[Path, str]] = []  # (file, scope)
    folders = sorted({p.rsplit("/", 1)[0] if "/" in p else "" for p in paths},
                     key=lambda d: (d.count("/") + bool(d), d))
    seen_dirs: set[str] = set()
    for folder in folders:
        parts = folder.split("/") if folder else []
        for depth in range(len(parts) + 1):
            sub = "/".join(parts[:depth])
            if sub in seen_dirs:
                continue
            seen_dirs.add(sub)
            for name in _TREE_FILES:
                candidate = root / sub / name
                if candidate.is_file():
                    found.append((candidate, f"files under {sub}/" if sub else "every file"))
    copilot = root / ".github" / "copilot-instructions.md"
    if copilot.is_file():
        found.append((copilot, "every file"))
    for path in sorted((root / ".github" / "instructions").glob("*.instructions.md")):
        meta = _front_matter(_read(path) or "")[0]
        globs = _globs(meta.get("applyTo"))
        if globs and any(matches(g, p) for g in globs for p in paths):
            found.append((path, "files matching " + ", ".join(globs)))
    for path in sorted((root / ".cursor" / "rules").glob("*.mdc")):
        meta = _front_matter(_read(path) or "")[0]
        globs = _globs(meta.get("globs"))
        if str(meta.get("alwaysApply", "")).lower() == "true":
            found.append((path, "every file"))
        elif globs and any(matches(g, p) for g in globs for p in paths):
            found.append((path, "files matching " + ", ".join(globs)))
    for name in config.files:
        path = (root / name).resolve()
        if not path.is_relative_to(root.resolve()):  # never send files from elsewhere
            rules.notes.append(f"rules file {name} (pair.rules.files) is outside the "
                               "workspace; ignored")
        elif path.is_file():
            found.append((path, "every file"))
        else:
            rules.notes.append(f"rules file {name} (pair.rules.files) not found")
    total = 0
    for path, scope in dict.fromkeys(found):
        label = _label(root, path)
        if not path.resolve().is_relative_to(root.resolve()):
            rules.notes.append(f"rules file {label} links outside the workspace; ignored")
            continue
        text = _read(path)
        if text is None:
            rules.notes.append(f"rules file {label} could not be read")
            continue
        text = _front_matter(text)[1].strip()
        if not text:
            continue
        if len(text) > MAX_FILE_CHARS:
            rules.notes.append(f"rules file {label} cut to its first {MAX_FILE_CHARS} "
                               f"characters (of {len(text)})")
            text = text[:MAX_FILE_CHARS] + "\n… (cut)"
        if total + len(text) > MAX_TOTAL_CHARS:
            rules.notes.append(f"rules file {label} left out: the rules already fill their "
                               f"budget ({MAX_TOTAL_CHARS} characters)")
            continue
        total += len(text)
        rules.files.append(RuleFile(label, scope, text))
    return rules


def _label(root: Path, path: Path) -> str:
    for base, target in ((root, path), (root.resolve(), path.resolve())):
        if target.is_relative_to(base):
            return target.relative_to(base).as_posix()
    return str(path)


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def _front_matter(text: str) -> tuple[dict[str, object], str]:
    """YAML-style front matter (the simple forms these files use) and the body after it."""
    lines = text.replace("\r\n", "\n").split("\n")
    if not lines or lines[0].strip() != "---":
        return {}, text
    meta: dict[str, object] = {}
    key: str | None = None
    for i, line in enumerate(lines[1:], 1):
        if line.strip() == "---":
            return meta, "\n".join(lines[i + 1:])
        item = re.match(r"^\s+-\s*(.*)$", line)
        if item and key is not None:
            current = meta.get(key)
            values = current if isinstance(current, list) else []
            values.append(_unquote(item.group(1)))
            meta[key] = values
            continue
        m = re.match(r"^([A-Za-z_][\w-]*)\s*:\s*(.*)$", line)
        if m:
            key = m.group(1)
            meta[key] = _value(m.group(2).strip())
    return {}, text  # never closed: not front matter


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def _value(raw: str) -> object:
    if raw.startswith("[") and raw.endswith("]"):
        return [_unquote(v) for v in raw[1:-1].split(",") if v.strip()]
    return _unquote(raw)


def _globs(value: object) -> list[str]:
    if isinstance(value, list):
        items = [str(v) for v in value]
    elif isinstance(value, str):
        items = _split_commas(value)
    else:
        return []
    return [g.strip() for g in items if g.strip()]


def _split_commas(value: str) -> list[str]:
    """Split at commas outside {braces}."""
    out, depth, cur = [], 0, ""
    for ch in value:
        if ch == "," and depth == 0:
            out.append(cur)
            cur = ""
            continue
        depth += ch == "{"
        depth -= ch == "}"
        cur += ch
    return [*out, cur]


def matches(glob: str, path: str) -> bool:
    """Does a glob (``**``, ``*``, ``?``, ``{a,b}``) match a '/'-separated relative path? A glob
    without '/' matches the file's name in any folder."""
    glob = glob.strip().removeprefix("./").removeprefix("/")
    if "/" not in glob:
        glob = "**/" + glob
    return _compile(glob).fullmatch(path) is not None


@lru_cache(maxsize=256)
def _compile(glob: str) -> re.Pattern[str]:
    out, i = "", 0
    while i < len(glob):
        if glob.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif glob.startswith("**", i):
            out, i = out + ".*", i + 2
        elif glob[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif glob[i] == "?":
            out, i = out + "[^/]", i + 1
        elif glob[i] == "{":
            close = glob.find("}", i)
            if close < 0:
                out, i = out + re.escape("{"), i + 1
                continue
            options = glob[i + 1:close].split(",")
            out += "(?:" + "|".join(_compile(o).pattern for o in options) + ")"
            i = close + 1
        else:
            out, i = out + re.escape(glob[i]), i + 1
    return re.compile(out)
