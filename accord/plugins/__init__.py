"""Extension points (pluggy): formats and signal types; routers and notifiers join as they are built.

A third-party plugin is a module with ``@hookimpl`` functions, registered through the ``accord``
entry-point group of its distribution; built-in formats register the same way from
``accord.intake.importers`` and ``accord.intake.exporters``.
"""

from __future__ import annotations

from functools import cache

import pluggy

from accord.errors import Invalid
from accord.intake.formats import Exporter, Importer
from accord.plugins.hookspecs import FormatSpec, SignalSpec, hookimpl, hookspec
from accord.signals.signal_type import SignalType

__all__ = [
    "collect_signal_types",
    "exporter",
    "exporters",
    "hookimpl",
    "hookspec",
    "importer",
    "importers",
    "manager",
    "signal_type",
    "signal_types",
]

_BUILTIN = (
    "accord.intake.importers.native",
    "accord.intake.importers.csv",
    "accord.intake.importers.ncmec",
    "accord.intake.importers.stix",
    "accord.intake.importers.ftm",
    "accord.intake.importers.case",
    "accord.intake.exporters.native",
    "accord.intake.exporters.csv",
    "accord.intake.exporters.stix",
    "accord.intake.exporters.ftm",
    "accord.intake.exporters.case",
    "accord.intake.exporters.dsa",
    "accord.signals.signal_types.md5",
    "accord.signals.signal_types.sha256",
    "accord.signals.signal_types.pdq",
    "accord.signals.signal_types.url",
    "accord.signals.signal_types.vpdq",
)


@cache
def manager() -> pluggy.PluginManager:
    import importlib

    pm = pluggy.PluginManager("accord")
    pm.add_hookspecs(FormatSpec)
    pm.add_hookspecs(SignalSpec)
    for name in _BUILTIN:
        pm.register(importlib.import_module(name), name)
    pm.load_setuptools_entrypoints("accord")
    collect_signal_types(pm)  # two plugins claiming one name stop the node at startup, not at first use
    return pm


def collect_signal_types(pm: pluggy.PluginManager) -> dict[str, type[SignalType]]:
    """Every registered signal type by name; a name claimed twice is refused (names are storage keys)."""
    found: dict[str, type[SignalType]] = {}
    for group in pm.hook.accord_signal_types():
        for t in group:
            name = t.get_name()
            if name in found and found[name] is not t:
                raise ValueError(f"signal type {name!r} is registered twice ({found[name].__module__}, {t.__module__})")
            found[name] = t
    return found


def signal_types() -> dict[str, type[SignalType]]:
    return collect_signal_types(manager())


def signal_type(name: str, pointer: str = "/type") -> type[SignalType]:
    found = signal_types()
    if name not in found:
        raise Invalid.at(pointer, f"unknown signal type {name!r} (known: {', '.join(sorted(found))})")
    return found[name]


def importers() -> dict[str, Importer]:
    return {i.name: i for group in manager().hook.accord_importers() for i in group}


def exporters() -> dict[str, Exporter]:
    return {e.name: e for group in manager().hook.accord_exporters() for e in group}


def importer(name: str) -> Importer:
    found = importers()
    if name not in found:
        raise Invalid.at("/format", f"unknown import format {name!r} (known: {', '.join(sorted(found))})")
    return found[name]


def exporter(name: str) -> Exporter:
    found = exporters()
    if name not in found:
        raise Invalid.at("/format", f"unknown export format {name!r} (known: {', '.join(sorted(found))})")
    return found[name]
