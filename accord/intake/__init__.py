"""Intake: the pure rules a report passes before it is stored (vocabularies, triage score, digests, sealing split)."""
