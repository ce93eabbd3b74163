"""Builds the C core of the PDQ match index (accord/signals/_pdq_index.c); everything else is in pyproject.toml.

``-mpopcnt`` only when this machine's CPU has the instruction: without it ``__builtin_popcountll`` compiles
to a portable (slower) routine, so the extension still builds and gives the same answers everywhere.
"""

from __future__ import annotations

import platform
from pathlib import Path

from setuptools import Extension, setup


def _has_popcnt() -> bool:
    if platform.machine() not in {"x86_64", "AMD64"}:
        return False
    try:
        return " popcnt" in Path("/proc/cpuinfo").read_text()
    except OSError:
        return False


setup(
    ext_modules=[
        Extension(
            "accord.signals._pdq_index",
            ["accord/signals/_pdq_index.c"],
            extra_compile_args=["-O3", "-std=c11", "-Wall", "-Wextra", *(["-mpopcnt"] if _has_popcnt() else [])],
        )
    ]
)
