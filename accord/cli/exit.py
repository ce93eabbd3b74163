"""Errors to one-line messages and exit codes: 2 for the user's input, 3 for a dependency that failed."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

import typer
from sqlalchemy.exc import OperationalError

from accord.errors import AccordError, Invalid, Unavailable

__all__ = ["DEPENDENCY_ERROR", "USER_ERROR", "fail", "reporting"]

USER_ERROR = 2
DEPENDENCY_ERROR = 3


def fail(message: str, code: int = USER_ERROR) -> typer.Exit:
    print(f"accord: {message}", file=sys.stderr)
    return typer.Exit(code)


@contextmanager
def reporting(where: str = "") -> Iterator[None]:
    """Run a command body, turning Accord errors into one line naming ``where`` (a file, a field)."""
    prefix = f"{where}: " if where else ""
    try:
        yield
    except Invalid as exc:
        fields = "; ".join(f"{p or '/'}: {m}" for p, m in exc.errors.items()) or exc.detail
        raise fail(f"{prefix}{fields}") from None
    except Unavailable as exc:
        raise fail(f"{prefix}{exc.detail}", DEPENDENCY_ERROR) from None
    except AccordError as exc:
        raise fail(f"{prefix}{exc.detail}") from None
    except OperationalError as exc:
        raise fail(f"{prefix}database unavailable: {exc.orig}", DEPENDENCY_ERROR) from None
