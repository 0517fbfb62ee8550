"""The JSON-RPC side of the server: every request with an id gets an answer.

pygls 2.1 structures each message inside ``json.loads``' object_hook. When that fails (a
position < 0 or >= 2**31, no params, a string where an object belongs, a message with an id and
no method) the exception leaves the read loop: pygls logs "Unable to handle message" with a
traceback and never answers, so the client waits forever. Here the read loop (transport.py)
hands over the message body; it is decoded, checked and structured in one place, and each fault
is answered with a short message (no traceback):

- not JSON -> ParseError (id null); not a JSON-RPC 2.0 object, an id that is not a string or a
  number, an id with neither a method nor a result -> InvalidRequest;
- a request before ``initialize`` -> ServerNotInitialized; a second ``initialize``, or any
  request after ``shutdown`` -> InvalidRequest (only ``exit`` is accepted then);
- params that do not fit the method's type -> InvalidParams, naming where and what;
- an unknown method -> MethodNotFound (pygls).

A handler that fails still answers InternalError, without the traceback (that goes to the log).
Notifications that do not fit are dropped with one warning line.

Also here: $/cancelRequest stops a running pair command too; a command's document is
snapshotted when its request arrives (see :meth:`PairProtocol.snapshot_for`); the workspace keeps
documents with LSP's line breaks (documents.py).
"""

from __future__ import annotations

import json
import logging
from concurrent.futures import Future
from typing import Any
from urllib.parse import unquote

import cattrs
from cattrs.v import format_exception
from lsprotocol import types
from pygls.exceptions import (
    JsonRpcException,
    JsonRpcInternalError,
    JsonRpcInvalidParams,
    JsonRpcInvalidRequest,
    JsonRpcParseError,
    JsonRpcRequestCancelled,
    JsonRpcServerNotInitialized,
)
from pygls.protocol import LanguageServerProtocol, lsp_method
from pygls.protocol.json_rpc import (
    JsonRPCNotification,
    JsonRPCRequestMessage,
    JsonRPCResponseMessage,
    MsgId,
    RPCRequest,
)

from pair_lsp.server.documents import LspWorkspace, Snapshot

log = logging.getLogger(__name__)
MAX_ERRORS = 3  # structuring errors named in one answer


def describe(exc: BaseException) -> str:
    """What is wrong with a message's fields, briefly: 'invalid value ... @ $.params.range'."""
    if isinstance(exc, cattrs.BaseValidationError):
        found = cattrs.transform_error(exc, path="$", format_exception=_format)
    else:
        found = [_format(exc, None)]
    more = f" (and {len(found) - MAX_ERRORS} more)" if len(found) > MAX_ERRORS else ""
    return ("; ".join(found[:MAX_ERRORS]) + more)[:400]


def _format(exc: BaseException, type_: Any) -> str:
    if isinstance(exc, ValueError) and exc.args and isinstance(exc.args[0], str):
        return exc.args[0][:160]  # lsprotocol's validators say what the range is
    return format_exception(exc, type_)[:160]


class PairProtocol(LanguageServerProtocol):
    def __init__(self, server: Any, converter: Any) -> None:
        super().__init__(server, converter)
        self.initialize_seen = False
        self.snapshots: dict[MsgId, Snapshot] = {}

    # ------------------------------------------------------------ receiving

    def receive(self, body: bytes) -> None:
        """Handle one message body as read from the connection."""
        try:
            data = json.loads(body)
        except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
            log.warning("a message that is not JSON was ignored: %s", str(exc)[:200])
            self.reply_error(None, JsonRpcParseError(f"the message is not JSON: {exc}"[:300]))
            return
        self.handle_raw(data)

    def handle_raw(self, data: Any) -> None:
        """Check and structure one decoded message, then dispatch it (pygls' handlers)."""
        if not isinstance(data, dict):
            self.reply_error(None, JsonRpcInvalidRequest("a message must be a JSON object"))
            return
        has_id = "id" in data
        msg_id: Any = data.get("id")
        if has_id and (isinstance(msg_id, bool) or not isinstance(msg_id, int | str)):
            if "result" in data or "error" in data:  # a response is never answered
                log.warning("a response with the id %r was ignored", str(msg_id)[:40])
            else:
                self.reply_error(None, JsonRpcInvalidRequest("'id' must be a string or a number"))
            return
        method = data.get("method")
        problem = self._refusal(data, method, has_id)
        if problem is not None:
            if has_id:
                self.reply_error(msg_id, problem)
            else:
                log.debug("notification ignored: %s", problem.message)
            return
        if method is None:
            self._receive_response(data)
            return
        try:
            default = JsonRPCRequestMessage if has_id else JsonRPCNotification
            message = self._converter.structure(data, self.get_message_type(method) or default)
        except Exception as exc:
            if has_id:
                self.reply_error(msg_id, JsonRpcInvalidParams(f"{method}: {describe(exc)}"))
            else:
                log.warning("notification %s ignored: %s", method, describe(exc))
            return
        if has_id and not isinstance(message, RPCRequest):
            self.reply_error(msg_id, JsonRpcInvalidRequest(
                f"{method} is a notification: it takes no id"))
            return
        if has_id:
            self._note_request(msg_id, method, message.params)
        self.handle_message(message)

    def _refusal(self, data: dict[str, Any], method: Any,
                 has_id: bool) -> JsonRpcException | None:
        """Why this message is refused before its params are looked at (None: it is not)."""
        if data.get("jsonrpc") != "2.0":
            return JsonRpcInvalidRequest("'jsonrpc' must be \"2.0\"")
        if method is None:
            if has_id and ("result" in data or "error" in data):
                return None  # a response to one of the server's requests
            return JsonRpcInvalidRequest("a request needs a 'method'")
        if not isinstance(method, str):
            return JsonRpcInvalidRequest("'method' must be a string")
        if method == types.EXIT:
            return None
        if self._shutdown:
            return JsonRpcInvalidRequest("the server is shutting down: only 'exit' is accepted")
        if method == types.INITIALIZE and has_id and self.initialize_seen:
            return JsonRpcInvalidRequest("the server is already initialized")
        if not self.initialize_seen and method != types.INITIALIZE:
            return JsonRpcServerNotInitialized("the server is not initialized yet")
        return None

    def _receive_response(self, data: dict[str, Any]) -> None:
        msg_id = data["id"]
        result_type = self._result_types.get(msg_id)
        try:
            message = self._converter.structure(
                data, types.ResponseErrorMessage if "error" in data
                else result_type or JsonRPCResponseMessage)
        except Exception as exc:  # the waiting request fails instead of waiting forever
            self._result_types.pop(msg_id, None)
            future = self._request_futures.pop(msg_id, None)
            log.warning("the client's answer to request %s did not fit: %s", msg_id,
                        describe(exc))
            if future is not None and not future.done():
                future.set_exception(JsonRpcInvalidParams(
                    f"the client's answer did not fit: {describe(exc)}"))
            return
        self._result_types.pop(msg_id, None)
        self.handle_message(message)

    def _handle_response(self, msg_id: MsgId, result: Any | None = None,
                         error: types.ResponseError | None = None) -> None:
        """pygls' version raises InvalidStateError for an answer to a request the server has
        given up on (cancelled at shutdown)."""
        future = self._request_futures.get(msg_id)
        if future is not None and future.done():
            self._request_futures.pop(msg_id, None)
            log.debug("an answer to request %s, which was given up, was ignored", msg_id)
            return
        super()._handle_response(msg_id, result, error)

    def _note_request(self, msg_id: MsgId, method: str, params: Any) -> None:
        if method == types.INITIALIZE:
            self.initialize_seen = True
        elif method == types.WORKSPACE_EXECUTE_COMMAND:
            self._snapshot(msg_id, params)

    # ------------------------------------------------------------- answering

    def reply_error(self, msg_id: MsgId | None, error: JsonRpcException) -> None:
        self._send_data({"jsonrpc": "2.0", "id": msg_id,
                         "error": {"code": error.code, "message": error.message}})

    def _send_handler_result(self, future: Future[Any], *, msg_id: MsgId) -> None:
        """pygls' version, with one log line for refused params and no traceback sent."""
        self._request_futures.pop(msg_id, None)
        self.snapshots.pop(msg_id, None)
        if future.cancelled():
            error: JsonRpcException = JsonRpcRequestCancelled(
                f'Request with id "{msg_id}" is canceled')
        elif (exc := future.exception()) is None:
            self._send_response(msg_id, result=future.result())
            return
        elif isinstance(exc, JsonRpcException):
            log.info("request %s answered with an error: %s", msg_id, exc.message)
            error = exc
        else:
            log.error("request %s failed", msg_id, exc_info=exc)
            error = JsonRpcInternalError(f"{type(exc).__name__}: {exc}"[:500])
        self._send_response(msg_id, error=types.ResponseError(code=error.code,
                                                              message=error.message))

    # ------------------------------------------------------------- cancelling

    def _handle_cancel_notification(self, msg_id: MsgId) -> None:
        """pygls' version logs an unknown id (a request already answered: routine) as an
        error; here it is debug. A running pair command is stopped too."""
        future = self._request_futures.pop(msg_id, None)
        if future is None:
            log.debug("cancel for request %s, which is not running", msg_id)
        elif future.cancel():
            log.debug("request %s cancelled", msg_id)
        sessions = getattr(self._server, "sessions", None)
        if sessions is not None:
            sessions.cancel_request(msg_id)
        for run in list(getattr(self._server, "change_runs", {}).values()):
            if getattr(run, "request_id", None) == msg_id:  # a change review or pairing
                run.cancel()

    # ------------------------------------------------------------- documents

    def _snapshot(self, msg_id: MsgId, params: Any) -> None:
        """A command runs as a task that starts after the messages already read are handled:
        keep its document as it is now, so that its range means what the client meant."""
        args = getattr(params, "arguments", None)
        first = args[0] if args else None
        uri = first.get("uri") if isinstance(first, dict) else None
        if not isinstance(uri, str) or self._workspace is None:
            return
        doc = self._workspace.text_documents.get(unquote(uri))
        if doc is not None:
            self.snapshots[msg_id] = Snapshot(uri, doc.version, doc.source, doc.language_id)

    def snapshot_for(self, uri: str) -> Snapshot | None:
        """The snapshot taken for the request being handled in this context, if it is of
        ``uri``."""
        snap = self.snapshots.get(self.msg_id) if self.msg_id is not None else None
        return snap if snap is not None and snap.uri == uri else None

    @lsp_method(types.INITIALIZE)
    def lsp_initialize(self, params: types.InitializeParams) -> Any:
        """pygls' initialize, with documents kept by LSP's line breaks (documents.py)."""
        steps = super().lsp_initialize(params)
        value = None
        while True:
            try:
                step = steps.send(value)
            except StopIteration as done:
                self._adopt_workspace()
                return done.value
            self._adopt_workspace()
            value = yield step

    @lsp_method(types.SHUTDOWN)
    def lsp_shutdown(self, *args: Any) -> Any:
        """pygls' shutdown, cancelling the requests still running over a copy of their table:
        pygls iterates the table itself, which a request ending meanwhile changes (a
        RuntimeError answered to the client's shutdown)."""
        if (user_handler := self.fm.features.get(types.SHUTDOWN)) is not None:
            yield user_handler, args, None
        current_id = self.msg_id
        for msg_id, future in list(self._request_futures.items()):
            if msg_id != current_id and not future.done():
                future.cancel()
        self._shutdown = True
        return None

    def _adopt_workspace(self) -> None:
        if self._workspace is not None and not isinstance(self._workspace, LspWorkspace):
            self._workspace = LspWorkspace.like(self._workspace,
                                                self._server._text_document_sync_kind)
