"""The graph view: one HTML page drawing a stored network result with Cytoscape.js (vendored under
``accord/api/static``, MIT licence beside it; no CDN), communities coloured, key players marked.

Why the data is inlined in the page rather than fetched by it: the page is served to an authenticated
request (an API key or a session's bearer token), and a script's own fetch would carry neither. The JSON
is embedded in a ``<script type="application/json">`` element with ``<``, ``>`` and ``&`` escaped, so no
entity id can close the element or inject markup.

A browser draws a few thousand elements comfortably, not a million: the page draws at most ``limit``
entities, the key players first, then the most connected, and says how many it left out.
"""

from __future__ import annotations

from html import escape
from typing import Any

import orjson

__all__ = ["select_elements", "view_page"]

PALETTE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22",
    "#aec7e8", "#ffbb78", "#98df8a", "#c5b0d5",
)  # fmt: skip


def select_elements(
    network: dict[str, Any],
    communities: dict[str, Any] | None,
    keyplayers: dict[str, Any] | None,
    limit: int,
) -> dict[str, Any]:
    """The elements to draw, each node carrying its community (``community``, -1 for none), colour and
    key-player rank (``rank``, 0 for none)."""
    elements = network["elements"]
    degree: dict[str, int] = {}
    for e in elements["edges"]:
        for end in (e["data"]["source"], e["data"]["target"]):
            degree[end] = degree.get(end, 0) + 1
    membership: dict[str, int] = (communities or {}).get("membership", {})
    ranks = {p["id"]: p["rank"] for p in (keyplayers or {}).get("ranking", [])}
    chosen_ids = {p["id"] for p in ((keyplayers or {}).get("choice") or {}).get("entities", [])}
    nodes = sorted(
        elements["nodes"],
        key=lambda n: (ranks.get(n["data"]["id"], 10**9), -degree.get(n["data"]["id"], 0), n["data"]["id"]),
    )[:limit]
    keep = {n["data"]["id"] for n in nodes}
    drawn_nodes = []
    for n in nodes:
        nid = n["data"]["id"]
        c = membership.get(nid, -1)
        drawn_nodes.append(
            {
                "data": {
                    **n["data"],
                    "degree": degree.get(nid, 0),
                    "community": c,
                    "colour": PALETTE[c % len(PALETTE)] if c >= 0 else "#999999",
                    "rank": ranks.get(nid, 0),
                    "chosen": nid in chosen_ids,
                }
            }
        )
    edges = [e for e in elements["edges"] if e["data"]["source"] in keep and e["data"]["target"] in keep]
    return {
        "nodes": drawn_nodes,
        "edges": edges,
        "total_nodes": len(elements["nodes"]),
        "total_edges": len(elements["edges"]),
    }


def _json_for_html(value: Any) -> str:
    text = orjson.dumps(value).decode()
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


_SCRIPT = """
const data = JSON.parse(document.getElementById('graph-data').textContent);
const cy = cytoscape({
  container: document.getElementById('graph'),
  elements: {nodes: data.nodes, edges: data.edges},
  style: [
    {selector: 'node', style: {'background-color': 'data(colour)', 'width': 14, 'height': 14,
      'label': '', 'font-size': 9}},
    {selector: 'node[rank > 0]', style: {'border-width': 3, 'border-color': '#d62728', 'width': 26,
      'height': 26, 'label': 'data(rank)', 'shape': 'diamond'}},
    {selector: 'node[?chosen]', style: {'border-color': '#000000', 'border-width': 5}},
    {selector: 'edge', style: {'width': 1, 'line-color': '#cccccc', 'curve-style': 'haystack'}},
    {selector: 'node:selected', style: {'label': 'data(id)', 'font-size': 11}},
  ],
  layout: {name: data.nodes.length > 1500 ? 'grid' : 'cose', animate: false, randomize: false},
});
cy.on('tap', 'node', (ev) => {
  const d = ev.target.data();
  document.getElementById('detail').textContent = JSON.stringify(d, null, 1);
});
window.accordGraph = cy;
"""


def view_page(run_id: str, drawn: dict[str, Any], stale: bool, sources: dict[str, str | None]) -> str:
    """The HTML page; ``sources`` names the communities and key-player runs it was coloured from."""
    shown, total = len(drawn["nodes"]), drawn["total_nodes"]
    notes = [f"{shown} of {total} entities, {len(drawn['edges'])} of {drawn['total_edges']} edges drawn"]
    notes += [f"{k}: {escape(v) if v else 'none on this data version'}" for k, v in sources.items()]
    if stale:
        notes.append("STALE: the organisation's reports changed since this run")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Accord network {escape(run_id)}</title>
<style>body{{font-family:sans-serif;margin:0}}header{{padding:6px 10px;background:#eee;font-size:13px}}
#graph{{position:absolute;top:48px;bottom:0;left:0;right:300px}}
#detail{{position:absolute;top:48px;right:0;width:290px;bottom:0;overflow:auto;font-size:11px;margin:0;padding:5px}}
</style></head><body>
<header><strong>Network run {escape(run_id)}</strong> &middot; {" &middot; ".join(notes)}
 &middot; colour: community; red diamond: key player (rank); black border: chosen to act on</header>
<div id="graph"></div><pre id="detail">Select an entity.</pre>
<script type="application/json" id="graph-data">{_json_for_html(drawn)}</script>
<script src="/v1/analytics/static/cytoscape.min.js"></script>
<script>{_SCRIPT}</script>
</body></html>
"""
