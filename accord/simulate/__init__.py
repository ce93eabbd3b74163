"""A seeded, deterministic synthetic world (DESIGN section 9): organisations, platforms, people with
noisy identifiers, offender networks with planted structure, hash-only media families and a stream
of reports over time, with a ground-truth file to score every analytic against.

Everything generated is neutral: category codes, generated ids and random hashes, never content.
The package depends only on the standard library, ``phonenumbers``, ``orjson``, ``accord.model``,
``accord.vocab`` and ``accord.graph.rates`` (to price transfers), so the demo and benchmarks can use it
without a store or a server.
"""

from accord.simulate.output import REPORTS_FILE, TRANSFERS_FILE, TRUTH_FILE, Summary, generate
from accord.simulate.reports import SimReport, stream_reports
from accord.simulate.truth import header as truth_header
from accord.simulate.world import DEFAULT_DAYS, DEFAULT_START, Scale, World, build_world

__all__ = [
    "DEFAULT_DAYS",
    "DEFAULT_START",
    "REPORTS_FILE",
    "TRANSFERS_FILE",
    "TRUTH_FILE",
    "Scale",
    "SimReport",
    "Summary",
    "World",
    "build_world",
    "generate",
    "stream_reports",
    "truth_header",
]
