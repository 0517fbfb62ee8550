"""Settings for the server: initializationOptions, then the project file, then
workspace/configuration (section `pair`), each merged over the last. Invalid values are named in
one message each (shown once) and fall back to their defaults. The project file's trust-gated
settings apply only when the client says the workspace is trusted (initializationOptions
`trusted: true`) or the user lists it in `trustedWorkspaces`.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from pair_lsp.config import (
    Settings,
    env_layer,
    find_project_file,
    parse_settings,
    project_settings,
)

if TYPE_CHECKING:
    from pair_lsp.server.core import PairServer

log = logging.getLogger(__name__)

HOW_TO_TRUST = "trust the workspace in your editor"


class SettingsSync:
    def __init__(self, server: PairServer):
        self.server = server
        self.settings = Settings()
        self.messages: list[str] = []
        self._shown: set[str] = set()
        self._init_options: Any = None
        self._client_config: Any = None
        self._root: Path | None = None
        self._project: Path | None = None
        self._trusted = False

    def workspace_root(self) -> Path | None:
        return self._root

    def set_initialization_options(self, options: Any, params: types.InitializeParams, *,
                                   trusted: bool = False) -> None:
        from pair_lsp.server.core import workspace_root_of

        self._init_options = options
        self._trusted = trusted
        self._root = workspace_root_of(params)
        if self._root is not None:
            self._project = find_project_file(self._root)
        self._rebuild()

    def note_document(self, uri: str) -> None:
        """Without a workspace folder, the first opened file's folder finds the project file."""
        if self._root is not None or self._project is not None:
            return
        from pygls.uris import to_fs_path

        path = to_fs_path(uri)
        if path:
            self._project = find_project_file(Path(path))
            if self._project is not None:
                self._rebuild()

    async def refresh(self, pushed: Any = None) -> None:
        """Pull section `pair` (or take what didChangeConfiguration pushed) and rebuild."""
        caps = self.server.client_capabilities.workspace
        if caps and caps.configuration:
            try:
                result = await self.server.workspace_configuration_async(
                    types.ConfigurationParams(items=[types.ConfigurationItem(section="pair")]))
                self._client_config = result[0] if result else None
            except Exception as exc:
                log.warning("workspace/configuration failed: %s", exc)
        elif isinstance(pushed, dict):
            self._client_config = pushed.get("pair", pushed)
        elif pushed is not None:
            self._client_config = pushed
        self._rebuild()

    def _rebuild(self) -> None:
        layers: list[Any] = []
        messages: list[str] = []
        try:
            layers.append(env_layer())
        except ValueError as exc:
            messages.append(f"PAIR_LSP_WORKER/PAIR_LSP_REVIEWER: {exc}")
        layers.append(self._init_options)
        if self._project is not None:
            data, errs = project_settings(self._project, trusted=self._trusted,
                                          how_to_trust=HOW_TO_TRUST)
            layers.append(data)
            messages += errs
        if self._client_config is not None:  # a non-object `pair` section gets a message
            layers.append(self._client_config)
        settings, errs = parse_settings(*layers)
        self.settings = settings
        self.messages = messages + errs
        for message in self.messages:
            if message not in self._shown:
                self._shown.add(message)
                self.server.show_warning(f"Pair: {message}")
