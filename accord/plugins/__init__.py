"""Extension points (pluggy). Formats first; matchers, routers and notifiers join as they are built.

A third-party plugin is a module with ``@hookimpl`` functions, registered through the ``accord``
entry-point group of its distribution; built-in formats register the same way from
``accord.intake.importers`` and ``accord.intake.exporters``.
"""

from __future__ import annotations

from functools import cache

import pluggy

from accord.errors import Invalid
from accord.intake.formats import Exporter, Importer
from accord.plugins.hookspecs import FormatSpec, hookimpl, hookspec

__all__ = ["exporter", "exporters", "hookimpl", "hookspec", "importer", "importers", "manager"]

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
)


@cache
def manager() -> pluggy.PluginManager:
    import importlib

    pm = pluggy.PluginManager("accord")
    pm.add_hookspecs(FormatSpec)
    for name in _BUILTIN:
        pm.register(importlib.import_module(name), name)
    pm.load_setuptools_entrypoints("accord")
    return pm


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
