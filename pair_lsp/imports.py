"""Importing the big libraries (lsprotocol, the SDKs) without paying for what is not used.

Garbage collection: importing lsprotocol or an SDK allocates hundreds of thousands of objects
that live as long as the process; the collector would walk them again and again while they
load (~60 ms of the server's start-up, measured) and in every full collection after. So
collection is paused while they load, and what they allocated is moved out of the collector's
sight (gc.freeze).

Only what a call needs (:func:`import_sdk`): the SDKs' packages re-export every type and
resource they have from their ``__init__`` files (anthropic: ~4,000 modules, most of them
``anthropic.types.beta``; openai: ~2,000), so ``import anthropic`` builds thousands of pydantic
models that a streamed Messages call never touches. The SDK's own modules are loaded as
usual; only the package ``__init__`` files that do nothing but re-export (``from .x import
Y as Y`` lines, ``__all__``) are made lazy: a name is imported from its submodule when it is
first looked up. Any other package ``__init__`` (the top-level ``anthropic``/``openai`` ones
included) runs in full the first time something not a submodule is looked up on it, so code
that uses the SDK the usual way (``anthropic.AsyncAnthropic``) still gets all of it.
"""

from __future__ import annotations

import ast
import contextlib
import gc
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
import threading
from collections.abc import Iterator, Sequence
from types import ModuleType
from typing import Any, ClassVar

# client classes, by module: what a provider needs from each SDK
SDK_CLIENTS = {"anthropic": ("anthropic._client", "AsyncAnthropic"),
               "openai": ("openai._client", "AsyncOpenAI")}


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


def sdk_client_class(sdk: str) -> Any:
    """The async client class of ``sdk`` ("anthropic" | "openai"), loading only what it needs
    (see the module's docstring) unless the SDK is already imported in full."""
    module_name, class_name = SDK_CLIENTS[sdk]
    with no_gc_while_loading():
        if sdk not in sys.modules:
            _LeanFinder.install(sdk)
        return getattr(importlib.import_module(module_name), class_name)


def prefetch_sdks(sdks: Sequence[str]) -> threading.Thread | None:
    """Load the client classes of ``sdks`` in order on a background thread (a one-shot
    command: the first SDK is needed at once, the others while the first call's model
    thinks). A caller that needs one meanwhile waits on Python's import lock, not twice.
    ``PAIR_LSP_PREFETCH=0`` loads them on first use instead (`python -X importtime` cannot
    account for imports on two threads at once)."""
    if os.environ.get("PAIR_LSP_PREFETCH") == "0":
        return None
    wanted = [s for s in dict.fromkeys(sdks) if s in SDK_CLIENTS and s not in sys.modules]
    if not wanted:
        return None

    def load() -> None:
        for sdk in wanted:
            try:
                sdk_client_class(sdk)
            except Exception:  # the call that needs it reports the failure
                return
    thread = threading.Thread(target=load, name="pair-lsp-sdk-prefetch", daemon=True)
    thread.start()
    return thread


# ------------------------------------------------------------------ lazy package inits


def _reexports(path: str) -> dict[str, tuple[str | None, Any]] | None:
    """For a package ``__init__`` that only re-exports: name -> (submodule, name there), and
    ``__all__`` -> (None, its list). None if the file does anything else."""
    try:
        with open(path, encoding="utf-8") as fh:
            tree = ast.parse(fh.read())
    except (OSError, SyntaxError, ValueError):
        return None
    names: dict[str, tuple[str | None, Any]] = {}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom):
            if node.module == "__future__":
                continue
            if node.level != 1 or node.module is None or any(a.name == "*" for a in node.names):
                return None
            for alias in node.names:
                names[alias.asname or alias.name] = (node.module, alias.name)
        elif isinstance(node, ast.Import) and [a.name for a in node.names] == ["typing"]:
            continue  # `import typing as _t` for the TYPE_CHECKING block below
        elif isinstance(node, ast.If) and not node.orelse and \
                "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        elif isinstance(node, ast.Assign) and [ast.unparse(t) for t in node.targets] == \
                ["__all__"] and isinstance(node.value, ast.List | ast.Tuple) and \
                all(isinstance(e, ast.Constant) for e in node.value.elts):
            names["__all__"] = (None, [e.value for e in node.value.elts
                                       if isinstance(e, ast.Constant)])
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue  # a docstring
        else:
            return None
    return names


class _LazyPackage(ModuleType):
    """A package whose ``__init__`` runs (or whose re-exports resolve) on first look-up."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name != "__all__":
            raise AttributeError(name)
        state = self.__dict__
        exports = state.get("_lean_exports")
        if exports is not None and name in exports:
            submodule, attr = exports[name]
            value = attr if submodule is None else \
                getattr(importlib.import_module(f"{self.__name__}.{submodule}"), attr)
            state[name] = value
            return value
        if importlib.util.find_spec(f"{self.__name__}.{name}") is not None:
            return importlib.import_module(f"{self.__name__}.{name}")
        if state.get("_lean_full") or (exports is not None and name != "__all__"):
            raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}")
        state["_lean_full"] = True  # the usual import, into this module object
        with no_gc_while_loading():
            state["__loader__"].real.exec_module(self)
        return getattr(self, name)


class _LazyLoader(importlib.abc.Loader):
    def __init__(self, real: Any, exports: dict[str, tuple[str | None, Any]] | None):
        self.real = real
        self.exports = exports

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        return _LazyPackage(spec.name)

    def exec_module(self, module: ModuleType) -> None:
        module.__dict__["_lean_exports"] = self.exports
        module.__dict__["__loader__"] = self


class _LeanFinder(importlib.abc.MetaPathFinder):
    """Finds the SDKs' packages as :class:`_LazyPackage` (see the module's docstring)."""

    roots: ClassVar[set[str]] = set()

    @classmethod
    def install(cls, root: str) -> None:
        cls.roots.add(root)
        if not any(isinstance(f, cls) for f in sys.meta_path):
            sys.meta_path.insert(0, cls())

    def find_spec(self, fullname: str, path: Sequence[str] | None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        if fullname.partition(".")[0] not in self.roots:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.submodule_search_locations is None or not spec.origin \
                or not spec.origin.endswith("__init__.py"):
            return spec  # a module, or a package we do not know how to read: as usual
        exports = _reexports(spec.origin) if "." in fullname else None
        if "." in fullname and exports is None:
            return spec  # an __init__ that does more than re-export: as usual
        spec.loader = _LazyLoader(spec.loader, exports)
        return spec
