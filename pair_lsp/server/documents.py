"""The server's copy of open documents, kept in sync with LSP's idea of a line.

LSP lines end only at ``\\n``, ``\\r\\n`` and ``\\r``. pygls 2.1's ``TextDocument`` splits its
text with ``str.splitlines``, which also breaks at ``\\v``, ``\\f``, ``\\x1c``-``\\x1e``,
``\\x85``, U+2028 and U+2029: in a document holding one of those, an incremental change lands
on the wrong line or column and the server's text silently diverges from the editor's. Here
changes are applied through :class:`LineIndex` (LSP line breaks, the negotiated encoding), and
``lines`` (which pygls' position helpers use) splits the same way.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from lsprotocol import types
from pygls.workspace import TextDocument, Workspace

from pair_lsp.server.positions import LineIndex

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Snapshot:
    """A document's text at one moment (a ``str`` is immutable: nothing is copied)."""

    uri: str
    version: int | None
    text: str
    language_id: str | None


class LspTextDocument(TextDocument):
    @property
    def lines(self) -> Sequence[str]:
        text = self.source
        starts = LineIndex(text).starts
        ends = [*starts[1:], len(text)]
        lines = tuple(text[a:b] for a, b in zip(starts, ends, strict=True))
        return lines[:-1] if lines and not lines[-1] else lines  # as splitlines: no "" at the end

    def _apply_incremental_change(self, change: types.TextDocumentContentChangePartial) -> None:
        text = self.source
        encoding = self.position_codec.encoding
        index = LineIndex(text, str(getattr(encoding, "value", encoding) or "utf-16"))
        start = index.offset(change.range.start)
        end = max(start, index.offset(change.range.end))
        self._source = text[:start] + change.text + text[end:]


class LspWorkspace(Workspace):
    @classmethod
    def like(cls, other: Workspace, sync_kind: Any) -> LspWorkspace:
        """A workspace with ``other``'s root, folders and encoding (and no documents yet)."""
        return cls(other.root_uri, sync_kind, list(other.folders.values()),
                   other.position_encoding)

    def update_text_document(self, text_doc: types.VersionedTextDocumentIdentifier,
                             change: types.TextDocumentContentChangeEvent) -> None:
        """pygls' version raises KeyError (shown as "Error in server") for a document that is
        not open, e.g. a change that crosses a didClose; here it is ignored."""
        if unquote(text_doc.uri) not in self.text_documents:
            log.warning("a change to %s, which is not open, was ignored", text_doc.uri)
            return
        super().update_text_document(text_doc, change)

    def _create_text_document(self, doc_uri: str, source: str | None = None,
                              version: int | None = None,
                              language_id: str | None = None) -> TextDocument:
        return LspTextDocument(doc_uri, source=source, version=version, language_id=language_id,
                               sync_kind=self._sync_kind, position_codec=self.position_codec)
