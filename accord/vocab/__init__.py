"""Vocabularies as versioned data: the codes Accord accepts live in YAML beside this module.

Why data: partners agree on codes, not on Python enums; a new category is a reviewed YAML change,
and docs and OpenAPI enums are generated from the same files.
"""

from accord.vocab.loader import Term, Vocabularies, Vocabulary, load

__all__ = ["Term", "Vocabularies", "Vocabulary", "load"]
