"""JSON-LD documents read into a graph that reports can be built from (CASE/UCO is one).

Two readers, one interface (``Graph``):

- ``plain``: a document in plain JSON-LD (an inline ``@context`` that only names terms, node objects,
  references, literals and lists: what CASE documents are) is read as JSON, streamed element by element
  into a spill on disk: memory stays flat whatever the document's size;
- ``rdflib_reader``: anything else goes to rdflib's JSON-LD parser, in memory, bounded by
  ``ImportOptions.max_document_bytes``.

``document.read_graph`` reads a stream and decides between them while reading; ``context`` holds the
expansion rules the plain reader shares with rdflib, and ``literal`` the literal texts.
"""

from accord.intake.jsonld.document import read_graph
from accord.intake.jsonld.graph import Graph, Watch

__all__ = ["Graph", "Watch", "read_graph"]
