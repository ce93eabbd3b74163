"""An application factory that reads its settings from the environment, for multi-process servers:
each uvicorn worker process builds its own node (its own connections and key cache)."""

from __future__ import annotations

from fastapi import FastAPI

from accord.api.app import create_app
from accord.services.node import open_node
from accord.settings import Settings

__all__ = ["app_from_env"]


def app_from_env() -> FastAPI:
    return create_app(open_node(Settings.from_env()))
