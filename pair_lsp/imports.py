"""Importing the big libraries (lsprotocol, the SDKs) without paying for garbage collection.

Importing lsprotocol or an SDK allocates hundreds of thousands of objects that live as long as
the process; the collector would walk them again and again while they load (~60 ms of the
server's start-up, measured) and in every full collection after. So collection is paused while
they load, and what they allocated is moved out of the collector's sight (gc.freeze).
"""

from __future__ import annotations

import contextlib
import gc
import importlib
from collections.abc import Iterator
from types import ModuleType


@contextlib.contextmanager
def no_gc_while_loading(collect: bool = True) -> Iterator[None]:
    """Pause collection while the block loads, then freeze what exists.

    ``collect``: first unfreeze everything and collect once, so the garbage of this loading
    and of any earlier one is freed rather than kept. Start-up passes False: there the
    collection would cost ~60 ms (measured); the SDKs' loading, later, collects for both.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collect:
            gc.unfreeze()
            gc.collect()
        gc.freeze()
        if enabled:
            gc.enable()


def import_heavy(name: str) -> ModuleType:
    """``importlib.import_module`` for a large library (see above)."""
    with no_gc_while_loading():
        return importlib.import_module(name)
