"""Safeguards: permissions, credentials, the audit chain and sealing."""
