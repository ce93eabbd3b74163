"""Running the real ``accord`` command in-process (CliRunner) or as a subprocess."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from accord.cli.main import app

TOKEN = re.compile(r"accord_key_[0-9A-Z]+_[A-Za-z0-9_-]+")


# Typer draws usage errors in a Rich box as wide as the terminal: at 80 columns a long temporary path (as
# under pytest-xdist) is cut, and a test looking for the file's name in the message fails by chance.
WIDE = {"COLUMNS": "400", "TERMINAL_WIDTH": "400"}


def run(args: list[str], env: dict[str, str] | None = None, input: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, args, env={**WIDE, **(env or {})}, input=input, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def token_in(text: str) -> str:
    m = TOKEN.search(text)
    assert m, text
    return m.group(0)


def subprocess_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACCORD_")}
    env.update(extra)
    return env


def accord_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "accord.cli", *args]


def run_sub(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(accord_cmd(*args), env=env, cwd=cwd, capture_output=True, text=True, timeout=300)
