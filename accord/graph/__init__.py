"""Network analytics: the graphs behind the reports, and where to act on them (DESIGN section 2, ``graph/``).

So far: reading plain edge lists, scoring a removal order (``dismantling``) and finding the key players
whose removal breaks a network fastest (``baselines``, ``reinsertion``, ``keyplayers``); the network of
entities behind the reports (``sightings``, ``network``), its communities (``communities``), money flows
through transfers (``rates``, ``money``), merged timelines (``timeline``), and entity resolution of
identifier records into people (``records``, ``resolve``, scored by ``resolve_eval``).
"""

from __future__ import annotations

__all__: list[str] = []
