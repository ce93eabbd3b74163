"""Hook specifications: what a plugin may provide. Built-in formats use the same hooks as third parties."""

from __future__ import annotations

from collections.abc import Sequence

import pluggy

from accord.intake.formats import Exporter, Importer
from accord.signals.signal_type import SignalType

__all__ = ["FormatSpec", "SignalSpec", "hookimpl", "hookspec"]

hookspec = pluggy.HookspecMarker("accord")
hookimpl = pluggy.HookimplMarker("accord")


class FormatSpec:
    @hookspec
    def accord_importers(self) -> Sequence[Importer]:  # type: ignore[empty-body]
        """Importers this plugin provides."""

    @hookspec
    def accord_exporters(self) -> Sequence[Exporter]:  # type: ignore[empty-body]
        """Exporters this plugin provides."""


class SignalSpec:
    @hookspec
    def accord_signal_types(self) -> Sequence[type[SignalType]]:  # type: ignore[empty-body]
        """Signal types this plugin provides (``accord.signals.signal_type.SignalType`` subclasses)."""
