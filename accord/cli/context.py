"""What a sub-command gets from the root command: the settings, and a node opened for one command."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer

from accord.cli.exit import reporting
from accord.services import admin
from accord.services.node import Node, open_node
from accord.settings import Settings

__all__ = ["command_node", "root_settings"]


def root_settings(ctx: typer.Context) -> Settings:
    """The settings the root command read (``accord --data-dir ... SUB COMMAND``)."""
    settings: Settings = ctx.find_root().obj
    return settings


@contextmanager
def command_node(ctx: typer.Context) -> Iterator[Node]:
    """The node for one command, its connections closed when the command ends."""
    with reporting():
        node = open_node(root_settings(ctx))
        try:
            admin.require_current_schema(node)
        except BaseException:
            node.close()
            raise
    try:
        yield node
    finally:
        node.close()
