"""The settings model: one place that knows every `pair.*` setting, its default and its check.

Settings arrive as plain dicts (LSP initializationOptions, workspace/configuration, a project
file, CLI flags). :func:`parse_settings` merges them in order and validates each value: an
invalid one yields a message naming the setting, and its default is kept.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

PROVIDERS = ("anthropic", "openai", "openai-chat", "local")
STRUCTURED_OUTPUT = ("auto", "json_schema", "json_object", "none")

DEFAULT_WORKER = ("openai", "gpt-5-codex")
DEFAULT_REVIEWER = ("anthropic", "claude-sonnet-4-5")


@dataclass(frozen=True)
class RoleConfig:
    provider: str = "openai"
    model: str = "gpt-5-codex"
    baseUrl: str | None = None  # setting names are the public camelCase contract
    apiKeyEnv: str | None = None  # None: the SDK's own (OPENAI_API_KEY, ...)
    apiKeyCommand: str | None = None  # a shell command printing the key
    structuredOutput: str = "auto"
    timeout: float = 120.0
    maxRetries: int = 2
    maxOutputTokens: int = 4096
    temperature: float | None = None
    modelPath: str | None = None  # local provider: a GGUF file
    contextSize: int = 4096  # local provider: n_ctx

    @property
    def label(self) -> str:
        return f"{self.provider}:{self.model}"

    def default_key_env(self) -> str | None:
        if self.apiKeyEnv:
            return self.apiKeyEnv
        return {"anthropic": "ANTHROPIC_API_KEY", "openai": "OPENAI_API_KEY",
                "openai-chat": "OPENAI_API_KEY"}.get(self.provider)


@dataclass(frozen=True)
class CacheConfig:
    enabled: bool = True
    directory: str | None = None  # default: the user cache dir
    sizeLimitMb: int = 256


@dataclass(frozen=True)
class TranscriptConfig:
    enabled: bool = True
    location: str = "state"  # "state" (user state dir) or "workspace" (.pair/ in the workspace)
    directory: str | None = None  # explicit override


@dataclass(frozen=True)
class ProofConfig:
    """``proof``: a command (argument list, no shell) run on a temporary copy of the workspace
    with the candidate applied, before each review. An empty command: no proof."""

    command: tuple[str, ...] = ()
    cwd: str | None = None  # relative to the copy's root ({workspace}); default: the root
    timeout: float = 120.0


@dataclass(frozen=True)
class RulesConfig:
    """Project rules files (AGENTS.md, CLAUDE.md, ...) sent to the models (issue 11)."""

    enabled: bool = True
    files: tuple[str, ...] = ()  # more rules files, workspace-relative


@dataclass(frozen=True)
class ChangesConfig:
    """Reviewing a change across files (issue 11)."""

    maxFiles: int = 100  # files beyond this are listed and skipped
    maxTokens: int = 60_000  # prompt budget for the change's code, split across files
    concurrency: int = 4  # file batches reviewed at once


@dataclass(frozen=True)
class Settings:
    worker: RoleConfig = field(default_factory=lambda: RoleConfig(*DEFAULT_WORKER))
    reviewer: RoleConfig = field(default_factory=lambda: RoleConfig(*DEFAULT_REVIEWER))
    maxRounds: int = 3
    maxTokens: int = 200_000  # per-session token budget; 0 = no budget
    matchRetries: int = 2  # worker retries when SEARCH blocks do not match
    contextLines: int = 20  # lines of surrounding code shown to both models
    localFallback: bool = True  # use the local model for a role with no key
    reviewOnSave: bool = False
    reviewOnSaveDelay: float = 1.5  # seconds of quiet before a save review
    cache: CacheConfig = field(default_factory=CacheConfig)
    transcript: TranscriptConfig = field(default_factory=TranscriptConfig)
    minSeverity: str = "info"  # findings below it are hidden everywhere
    rules: RulesConfig = field(default_factory=RulesConfig)
    changes: ChangesConfig = field(default_factory=ChangesConfig)
    # the loop in full (DESIGN.md): several reviewers, a proof
    reviewers: tuple[RoleConfig, ...] = ()  # when set, replaces `reviewer`
    selfReview: bool = False  # the worker's model reviews too
    proof: ProofConfig = field(default_factory=ProofConfig)
    plan: str = "off"  # off | auto (on for whole documents) | on: a reviewed plan first
    planRounds: int = 2
    planApproval: str = "auto"  # auto | ask: the session waits for the user after the plan
    planSave: bool = False  # write the agreed plan to .pair/PLAN.md in the workspace

    def review_roles(self) -> tuple[RoleConfig, ...]:
        """Every reviewer of a round: `reviewers` (or `reviewer`), plus the worker's role with
        `selfReview`."""
        roles = self.reviewers or (self.reviewer,)
        if self.selfReview and self.worker not in roles:
            roles = (*roles, self.worker)
        return roles


ECHO_LIMIT = 200  # characters of a bad value or name echoed back in a message


def cut(text: str) -> str:
    """``text`` cut to :data:`ECHO_LIMIT` characters: a 10 MB setting is not echoed whole."""
    if len(text) <= ECHO_LIMIT:
        return text
    return f"{text[:ECHO_LIMIT]}… ({len(text)} characters)"


def shown(value: Any) -> str:
    return cut(repr(value))


def _check(name: str, value: Any, current: Any) -> Any:
    """Return ``value`` coerced to the type of ``current``; raise ValueError naming the fix."""
    if name == "temperature":  # the one optional number
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ValueError(f"expected a number >= 0, got {shown(value)}")
        return float(value)
    if isinstance(current, bool):
        if isinstance(value, bool):
            return value
        raise ValueError(f"expected true or false, got {shown(value)}")
    if isinstance(current, int) and not isinstance(current, bool):
        if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value:
            raise ValueError(f"expected a whole number, got {shown(value)}")
        if value < 0:
            raise ValueError(f"expected a number >= 0, got {shown(value)}")
        return int(value)
    if isinstance(current, float):
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise ValueError(f"expected a positive number, got {shown(value)}")
        return float(value)
    if isinstance(current, tuple):  # a list of strings
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise ValueError(f"expected a list of strings, got {value!r}")
        return tuple(value)
    if isinstance(current, str) or current is None:
        if value is None and current is None:
            return None
        if not isinstance(value, str):
            raise ValueError(f"expected a string, got {shown(value)}")
        return value
    raise ValueError(f"unsupported value {shown(value)}")


_CHOICES = {"provider": PROVIDERS, "structuredOutput": STRUCTURED_OUTPUT,
            "location": ("state", "workspace"), "plan": ("off", "auto", "on"),
            "planApproval": ("auto", "ask"), "minSeverity": ("error", "warning", "info", "hint")}
_MINIMUM = {"maxRounds": 1, "planRounds": 1, "maxOutputTokens": 16, "contextSize": 512,
            "maxFiles": 1, "concurrency": 1}


def _merge_dataclass(obj: Any, data: Any, prefix: str, errors: list[str]) -> Any:
    if not isinstance(data, dict):
        errors.append(f"Setting '{prefix}' must be an object, got {shown(data)}; ignored.")
        return obj
    known = {f.name: f for f in fields(obj)}
    changes: dict[str, Any] = {}
    for key, value in data.items():
        path = f"{prefix}.{key}"
        if key not in known:
            errors.append(f"Unknown setting '{prefix}.{cut(str(key))}' ignored.")
            continue
        current = getattr(obj, key)
        if key == "reviewers" and isinstance(obj, Settings):
            changes[key] = _reviewers(value, obj.reviewer, path, errors)
            continue
        if key == "command" and isinstance(obj, ProofConfig):
            if isinstance(value, list | tuple) and value and \
                    all(isinstance(a, str) for a in value):
                changes[key] = tuple(value)
            else:
                errors.append(f"Setting '{path}': expected a non-empty list of strings (the "
                              f"program and its arguments), got {shown(value)}; no proof.")
            continue
        if hasattr(current, "__dataclass_fields__"):
            if isinstance(value, str) and key in ("worker", "reviewer"):
                try:
                    value = parse_role_spec(value)
                except ValueError as exc:
                    errors.append(f"Setting '{path}': {exc}; using the default.")
                    continue
            changes[key] = _merge_dataclass(current, value, path, errors)
            continue
        try:
            checked = _check(key, value, current)
            if key in _CHOICES and checked not in _CHOICES[key]:
                raise ValueError(
                    f"expected one of {', '.join(_CHOICES[key])}, got {shown(value)}")
            if key in _MINIMUM and checked < _MINIMUM[key]:
                raise ValueError(f"expected at least {_MINIMUM[key]}, got {shown(value)}")
        except ValueError as exc:
            errors.append(f"Setting '{path}': {exc}; using the default ({shown(current)}).")
            continue
        changes[key] = checked
    return replace(obj, **changes) if changes else obj


def _reviewers(value: Any, base: RoleConfig, path: str,
               errors: list[str]) -> tuple[RoleConfig, ...]:
    """`reviewers`: a list of role tables or "PROVIDER:MODEL" strings, each over the defaults of
    `reviewer` (a table that changes the provider without a model gets that provider's)."""
    if not isinstance(value, list | tuple):
        errors.append(f"Setting '{path}': expected a list of roles, got {shown(value)}; "
                      "using `reviewer`.")
        return ()
    roles: list[RoleConfig] = []
    for i, item in enumerate(value):
        where = f"{path}[{i}]"
        if isinstance(item, str):
            try:
                item = parse_role_spec(item)
            except ValueError as exc:
                errors.append(f"Setting '{where}': {exc}; ignored.")
                continue
        if not isinstance(item, dict):
            errors.append(f"Setting '{where}': expected a role table or \"PROVIDER:MODEL\", "
                          f"got {shown(item)}; ignored.")
            continue
        start = base
        if "provider" in item and item["provider"] != base.provider:
            start = RoleConfig()  # another provider: none of `reviewer`'s endpoint or key
            if "model" not in item:
                item = {**item, "model": default_model(str(item["provider"]))}
        roles.append(_merge_dataclass(start, item, where, errors))
    return tuple(roles)


def parse_role_spec(spec: str) -> dict[str, str]:
    """`PROVIDER:MODEL` (or just `PROVIDER`) -> a role dict. Raises ValueError when unknown."""
    provider, _, model = spec.partition(":")
    provider = provider.strip()
    if provider not in PROVIDERS:
        raise ValueError(
            f"unknown provider {shown(provider)} (choose from {', '.join(PROVIDERS)})")
    out = {"provider": provider}
    if model.strip():
        out["model"] = model.strip()
    elif provider == "local":
        out["model"] = "smollm2-135m"
    return out


def parse_settings(*layers: Any) -> tuple[Settings, list[str]]:
    """Merge setting layers (later wins) over the defaults; return settings and messages."""
    settings = Settings()
    errors: list[str] = []
    for layer in layers:
        if layer is None:
            continue
        if isinstance(layer, dict) and list(layer) == ["pair"]:  # a `pair` section
            layer = layer["pair"]
        # a role switching provider should not keep the previous provider's model name
        if isinstance(layer, dict):
            layer = _reset_model_on_provider_change(settings, layer)
        settings = _merge_dataclass(settings, layer, "pair", errors)
    return settings, errors


def _reset_model_on_provider_change(settings: Settings, layer: dict[str, Any]) -> dict[str, Any]:
    out = dict(layer)
    for role in ("worker", "reviewer"):
        value = out.get(role)
        if isinstance(value, str):
            try:
                value = parse_role_spec(value)
            except ValueError:
                continue
        if isinstance(value, dict) and "provider" in value and "model" not in value:
            current: RoleConfig = getattr(settings, role)
            if value["provider"] != current.provider:
                value = {**value, "model": default_model(str(value["provider"]))}
        if value is not None:
            out[role] = value
    return out


def default_model(provider: str) -> str:
    return {"anthropic": DEFAULT_REVIEWER[1], "openai": DEFAULT_WORKER[1],
            "openai-chat": "gpt-4o-mini", "local": "smollm2-135m"}.get(provider, "default")


def find_project_file(start: Path) -> Path | None:
    """The nearest `.pair-lsp.toml`, or a `pyproject.toml` with [tool.pair-lsp], above start."""
    start = start if start.is_dir() else start.parent
    for folder in (start, *start.parents):
        candidate = folder / ".pair-lsp.toml"
        if candidate.is_file():
            return candidate
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file():
            try:
                data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
                continue
            if isinstance(data.get("tool"), dict) and "pair-lsp" in data["tool"]:
                return pyproject
    return None


def load_project_file(path: Path) -> tuple[dict[str, Any], list[str]]:
    """Read settings from a project file; an unreadable file gives a message, never a crash."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        return {}, [f"Could not read {path}: {exc}; ignoring it."]
    if path.name == "pyproject.toml":
        tool = data.get("tool", {})
        data = tool.get("pair-lsp", {}) if isinstance(tool, dict) else {}
    if not isinstance(data, dict):
        return {}, [f"{path}: [tool.pair-lsp] must be a table, got {shown(data)}; ignoring it."]
    return data, []


# ------------------------------------------------------------------------------ trust

ROLES = ("worker", "reviewer")

# Settings that run a program, read or write outside the workspace, or send code or keys
# elsewhere. A project file (.pair-lsp.toml, [tool.pair-lsp]) sets them only when its workspace
# is trusted; user-level settings (editor, environment, flags) always can. `proof` runs a
# program; `reviewers` holds whole roles (their baseUrl, apiKeyCommand, ...).
TRUST_GATED: tuple[str, ...] = (
    *(f"{role}.{key}" for role in ROLES
      for key in ("apiKeyCommand", "apiKeyEnv", "baseUrl", "modelPath")),
    "cache.directory", "transcript.directory", "proof",
)


def user_config_file() -> Path:
    """The user's own pair-lsp file (holds `trustedWorkspaces`); never read from a project."""
    from platformdirs import user_config_dir

    return Path(user_config_dir("pair-lsp", appauthor=False)) / "config.toml"


def trusted_workspaces() -> tuple[list[Path], list[str]]:
    """The folders listed in the user config's `trustedWorkspaces`, and any message about it."""
    path = user_config_file()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return [], []
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        return [], [f"Could not read {path}: {cut(str(exc))}; no workspace is trusted by it."]
    listed = data.get("trustedWorkspaces", [])
    if not isinstance(listed, list) or not all(isinstance(x, str) for x in listed):
        return [], [f"{path}: trustedWorkspaces must be a list of folders, got {shown(listed)}."]
    return [Path(x).expanduser().resolve() for x in listed if x.strip()], []


def workspace_listed(folder: Path) -> tuple[bool, list[str]]:
    """True when ``folder`` is (inside) a folder of the user's `trustedWorkspaces`."""
    listed, messages = trusted_workspaces()
    folder = folder.expanduser().resolve()
    return any(folder == t or folder.is_relative_to(t) for t in listed), messages


def drop_untrusted(data: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """``data`` without the :data:`TRUST_GATED` settings, and the names of those it held."""
    wrapped = list(data) == ["pair"] and isinstance(data["pair"], dict)
    kept = dict(data["pair"] if wrapped else data)
    dropped: list[str] = []
    for name in TRUST_GATED:
        *parents, leaf = name.split(".")
        node = kept
        for part in parents:  # copy the path down to the leaf: the caller's dict stays whole
            child = node.get(part)
            if not isinstance(child, dict):
                break
            child = dict(child)
            node[part] = child
            node = child
        else:
            if leaf in node:
                del node[leaf]
                dropped.append(name)
    if isinstance(kept.get("reviewers"), list):  # each reviewer is a role: the same keys go
        gated = {n.split(".", 1)[1] for n in TRUST_GATED if n.startswith("reviewer.")}
        items = []
        for i, item in enumerate(kept["reviewers"]):
            if isinstance(item, dict) and gated & set(item):
                dropped += [f"reviewers[{i}].{k}" for k in sorted(gated & set(item))]
                item = {k: v for k, v in item.items() if k not in gated}
            items.append(item)
        kept["reviewers"] = items
    return ({"pair": kept} if wrapped else kept), dropped


def project_settings(path: Path, *, trusted: bool,
                     how_to_trust: str) -> tuple[dict[str, Any], list[str]]:
    """A project file's settings as a layer for :func:`parse_settings`: in full when the user
    trusts its workspace (``trusted``, or the folder is in `trustedWorkspaces`), else without
    the :data:`TRUST_GATED` settings and with ONE message naming them and ``how_to_trust``."""
    data, messages = load_project_file(path)
    if trusted or not data:
        return data, messages
    listed, errs = workspace_listed(path.parent)
    messages += errs
    if listed:
        return data, messages
    data, dropped = drop_untrusted(data)
    if dropped:
        messages.append(f"the workspace is not trusted: ignored {', '.join(dropped)} from "
                        f"{path}; {how_to_trust}, or list {path.parent} in trustedWorkspaces "
                        f"in {user_config_file()}")
    return data, messages


def env_layer() -> dict[str, Any]:
    """Settings from PAIR_LSP_WORKER / PAIR_LSP_REVIEWER (PROVIDER:MODEL), for CI and demos."""
    out: dict[str, Any] = {}
    for role in ("worker", "reviewer"):
        spec = os.environ.get(f"PAIR_LSP_{role.upper()}")
        if spec:
            out[role] = spec
    base = os.environ.get("PAIR_LSP_BASE_URL")
    if base:
        for role in ("worker", "reviewer"):
            value = out.get(role)
            role_dict = parse_role_spec(value) if isinstance(value, str) else {}
            out[role] = {**role_dict, "baseUrl": base}
    return out


def settings_to_dict(settings: Settings) -> dict[str, Any]:
    """A plain-dict view (for `pair.status` and `pair-lsp doctor`). Holds no key values: a key
    command shows its program only (its arguments may hold a key)."""
    from pair_lsp.secrets import redact_command

    def conv(obj: Any, name: str = "") -> Any:
        if hasattr(obj, "__dataclass_fields__"):
            return {f.name: conv(getattr(obj, f.name), f.name) for f in fields(obj)}
        if isinstance(obj, tuple):
            return [conv(x, name) for x in obj]
        if name == "apiKeyCommand" and obj:
            return redact_command(obj)
        return obj
    result: dict[str, Any] = conv(settings)
    return result
