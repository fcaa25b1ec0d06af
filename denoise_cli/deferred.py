"""Modules imported only when one of their attributes is first used.

``import torch`` runs ``torch._meta_registrations`` on every start: it
registers Python "meta" kernels, which compute the shapes of an operator's
results without data for meta tensors, FakeTensor, ``torch.compile`` and
``torch.export``. ``denoise clean`` runs eager CPU and CUDA kernels only and
never dispatches to them, yet the module took 0.25-0.3 s of a 1.0 s import on
these machines (``python -X importtime -c "import torch"``).

``defer(name)`` puts a stand-in for a submodule into ``sys.modules`` before its
package is imported. Importing it then binds the stand-in; the module itself
runs, with all its side effects, on the first access to any attribute the
stand-in lacks (``from torch._meta_registrations import f``, ``mod.f``, or
``hasattr(mod, "__path__")``), and from then on ``sys.modules`` and the package
hold the real module. What is lost until then is what the module does without
being asked: here, meta kernels for operators whose only meta kernel is in
Python. So only our own ``denoise clean`` processes (the CLI and the worker fork
server) defer it, never a library caller's process.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import sys
import types

TORCH_DEFERRED = ("torch._meta_registrations",)  # modules of torch that ``denoise clean`` never needs


class DeferredModule(types.ModuleType):
    """Stands in for a module; the first attribute it lacks imports the module and is read from it."""

    def __getattr__(self, attribute: str):
        return getattr(load(self.__name__), attribute)


def defer(name: str) -> bool:
    """Put a stand-in for ``name``, a module directly inside a top-level package, in
    ``sys.modules``, if the package is not imported yet and has that module; True where
    one was put there. Nothing is imported to find it.

    The package must import the module itself while it is imported (torch's
    ``__init__`` does: ``from torch import _meta_registrations``): an ``import
    package.module`` elsewhere finds the stand-in in ``sys.modules`` and leaves
    the package's attribute unset, where the real import would set it.
    """
    parent = name.rpartition(".")[0]
    if not parent or "." in parent:
        raise ValueError(f"{name}: only a module directly inside a top-level package can be deferred")
    if parent in sys.modules or name in sys.modules:
        return False
    package = importlib.util.find_spec(parent)  # a top-level package: found, not imported
    if package is None or not package.submodule_search_locations:
        return False
    spec = importlib.machinery.PathFinder.find_spec(name, list(package.submodule_search_locations))
    if spec is None:
        return False
    stand_in = DeferredModule(name)
    stand_in.__spec__, stand_in.__loader__, stand_in.__package__ = spec, spec.loader, parent
    stand_in.__file__ = spec.origin
    sys.modules[name] = stand_in
    return True


def load(name: str) -> types.ModuleType:
    """The real module ``name``, imported now if only its stand-in was (and then put in its place)."""
    if not is_deferred(name):
        return importlib.import_module(name)  # already imported: what sys.modules holds
    del sys.modules[name]
    module = importlib.import_module(name)
    parent, _, child = name.rpartition(".")
    if isinstance(getattr(sys.modules.get(parent), child, None), DeferredModule):
        setattr(sys.modules[parent], child, module)
    return module


def is_deferred(name: str) -> bool:
    """Whether ``name`` is still only a stand-in."""
    return isinstance(sys.modules.get(name), DeferredModule)


def defer_unused_torch_modules() -> None:
    """In our own ``denoise clean`` processes, before torch is imported: defer ``TORCH_DEFERRED``."""
    for name in TORCH_DEFERRED:
        defer(name)
