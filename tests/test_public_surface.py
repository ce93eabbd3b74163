"""Every name a module declares public exists, and the core modules declare what is public (STYLE habit 9)."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import accord

MODULES = sorted(
    m.name
    for m in pkgutil.walk_packages(accord.__path__, "accord.")
    if ".migrations" not in m.name and not m.name.endswith("__main__")
)


@pytest.mark.parametrize("name", MODULES)
def test_all_names_exist(name: str) -> None:
    module = importlib.import_module(name)
    for public in getattr(module, "__all__", []):
        assert hasattr(module, public), f"{name}.__all__ names {public!r}, which it does not define"


CORE = [
    m
    for m in MODULES
    if m.split(".")[1] in {"model", "vocab", "safeguards", "intake", "custody", "store", "services", "exchange"}
    and not (importlib.import_module(m).__file__ or "").endswith("__init__.py")
]


@pytest.mark.parametrize("name", CORE)
def test_core_modules_declare_their_surface(name: str) -> None:
    assert hasattr(importlib.import_module(name), "__all__"), f"{name} has no __all__"
