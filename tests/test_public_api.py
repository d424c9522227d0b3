"""The public API: every name in every ``__all__`` imports, and every public function, class and
method says what it does (``help()`` on it is useful).

Public modules are those whose dotted path has no part starting with an underscore. Each listed
package must define ``__all__``; every module that defines one is checked against it. The
compiled kernels (rnnkit.kernels.rnn/lstm/gru) are left out: importing them starts Numba, and
they follow the cell contract documented in rnnkit.cells.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import rnnkit

# the packages a user imports; each must say what it exports
PACKAGES = (
    "rnnkit", "rnnkit.cells", "rnnkit.datasets", "rnnkit.diagnostics", "rnnkit.generation", "rnnkit.grad_mode",
    "rnnkit.kernels", "rnnkit.layers", "rnnkit.losses", "rnnkit.metrics", "rnnkit.models", "rnnkit.optim",
    "rnnkit.tasks", "rnnkit.training",
)
SKIPPED = {"rnnkit.__main__", "rnnkit.kernels.rnn", "rnnkit.kernels.lstm", "rnnkit.kernels.gru"}

def _public_modules() -> list[str]:
    names = {"rnnkit"}
    for info in pkgutil.walk_packages(rnnkit.__path__, "rnnkit."):
        if info.name in SKIPPED or any(part.startswith("_") for part in info.name.split(".")[1:]):
            continue
        names.add(info.name)
    return sorted(names)


MODULES = _public_modules()


def _exported(module_name: str) -> list[tuple[str, object]]:
    module = importlib.import_module(module_name)
    return [(name, getattr(module, name)) for name in getattr(module, "__all__", ())]


def _generated(obj) -> bool:
    """The docstring a dataclass or NamedTuple makes up from its fields: it says nothing."""
    doc = obj.__dict__.get("__doc__") or ""
    return "\n" not in doc.strip() and doc.startswith(f"{obj.__name__}(")


def _own_doc(obj) -> str:
    if inspect.isclass(obj):
        return "" if _generated(obj) else (obj.__dict__.get("__doc__") or "").strip()
    return (getattr(obj, "__doc__", None) or "").strip()


def _qualified(obj) -> str:
    return f"{obj.__module__}.{obj.__qualname__}"


def _documented_objects():
    """(qualified name, object) for every function and class that some __all__ exports, once."""
    seen = {}
    for module_name in MODULES:
        for _, obj in _exported(module_name):
            if (inspect.isfunction(obj) or inspect.isclass(obj)) and obj.__module__.startswith("rnnkit"):
                seen.setdefault(_qualified(obj), obj)
    return sorted(seen.items())


def _public_methods(cls):
    """(qualified name, method) for the public methods of cls that rnnkit's own classes define,
    each named after the class that defines it."""
    for name in dir(cls):
        if name.startswith("_"):
            continue
        owner = next(klass for klass in cls.__mro__ if name in vars(klass))
        member = vars(owner)[name]
        function = member.__func__ if isinstance(member, (classmethod, staticmethod)) else member
        if owner.__module__.startswith("rnnkit") and inspect.isfunction(function):
            yield f"{_qualified(owner)}.{name}", getattr(cls, name)


@pytest.mark.parametrize("package", PACKAGES)
def test_every_public_package_defines_all(package):
    module = importlib.import_module(package)
    assert isinstance(getattr(module, "__all__", None), list), f"{package} has no __all__ list"


@pytest.mark.parametrize("module_name", MODULES)
def test_all_names_exist_and_are_public(module_name):
    module = importlib.import_module(module_name)
    exported = getattr(module, "__all__", [])
    missing = [name for name in exported if not hasattr(module, name)]
    assert not missing, f"{module_name}.__all__ lists names the module lacks: {missing}"
    private = [name for name in exported if name.startswith("_") and name != "__version__"]
    assert not private, f"{module_name}.__all__ lists private names: {private}"
    repeated = sorted({name for name in exported if exported.count(name) > 1})
    assert not repeated, f"{module_name}.__all__ lists names twice: {repeated}"
    for name in exported:  # `from module import name` is what users write
        assert getattr(importlib.import_module(module_name), name) is getattr(module, name)


def test_star_imports_work():
    for module_name in MODULES:
        namespace: dict = {}
        exec(f"from {module_name} import *", namespace)  # noqa: S102 — our own module names
        assert set(getattr(importlib.import_module(module_name), "__all__", namespace)) <= set(namespace)


def test_exported_functions_and_classes_have_docstrings():
    undocumented = [name for name, obj in _documented_objects() if not _own_doc(obj)]
    assert not undocumented, f"public names without a docstring: {undocumented}"


def test_public_methods_have_docstrings():
    undocumented = []
    for _, cls in _documented_objects():
        if not inspect.isclass(cls):
            continue
        for name, method in _public_methods(cls):
            # inspect.getdoc finds an overridden method's docstring on the base class, as help() does
            if not (inspect.getdoc(method) or "").strip():
                undocumented.append(name)
    assert not undocumented, f"public methods without a docstring: {sorted(set(undocumented))}"


def test_top_level_names():
    """The names the README teaches are at the top level, and are the objects they stand for."""
    from rnnkit.diagnostics.check import gradcheck
    from rnnkit.kernels import backend, set_backend

    assert rnnkit.gradcheck is gradcheck  # the function, not the helpers module rnnkit/gradcheck.py
    assert rnnkit.set_backend is set_backend and rnnkit.backend is backend
    for name in ("Sequential", "EncoderDecoder", "Model", "load", "softmax", "sigmoid", "no_grad"):
        assert name in rnnkit.__all__
