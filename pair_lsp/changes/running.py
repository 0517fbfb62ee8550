"""What a change review and a change pairing share: one run as a task that can be cancelled,
and the sinks their events go to (a broken sink never ends a session)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

from pair_lsp.loop.events import Event

Sink = Callable[[Event], None]
R = TypeVar("R")


class CancellableRun(Generic[R]):
    sinks: list[Sink]
    request_id: Any = None  # the LSP request running it, for $/cancelRequest
    _task: asyncio.Task[R] | None = None

    def _emit(self, event: Event) -> None:
        for sink in self.sinks:
            try:
                sink(event)
            except Exception:  # a broken sink must not end the session
                pass

    def cancel(self) -> None:
        """Stop the run; ``run()`` then returns a cancelled result."""
        if self._task is not None:
            self._task.cancel()

    async def _run_cancellable(self, body: Callable[[], Awaitable[R]],
                               cancelled: Callable[[], R]) -> R:
        self._task = asyncio.ensure_future(body())
        try:
            return await self._task
        except asyncio.CancelledError:
            return cancelled()
